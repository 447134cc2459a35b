/**
 * The in-place ISO update (toolchains/open/iso-update.ts) with the real tools, on real synthetic workspaces:
 * after a boot.wim change (`wimlib-imagex update`, as ImageCommit runs it), a BCD change (our BCD module), both,
 * a BCD store that grows, an edited media file, the ISO is updated in place and is byte-identical to a fresh full
 * write of the same media (makeMedia: xorriso), and xorriso reads it back (El Torito report, every file extracted
 * and compared with the media). The fallbacks (a file added, boot.wim rebuilt, the ISO altered by hand, another
 * state, no record, another boot image) write the whole ISO and say why. A child process doing the update is
 * SIGKILLed at every point (journal written, journal in place, after each write into the ISO); the recovery (the
 * next write's cleanInterrupted) leaves the old ISO or the new one, byte for byte, and xorriso reads it. A full
 * disk during the growth leaves the old ISO. An updated ISO boots in QEMU (amd64 and arm64).
 *
 * Needs root for the full-disk case (a small tmpfs, as test/faults/disk-full.test.ts; CI runs as root): it fails,
 * never skips, elsewhere.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "../../formats/bcd/store";
import { fileTreeDigest, sha256 } from "../../runtime/digest";
import { runTool } from "../../runtime/exec";
import { bootCheck } from "../../toolchains/open/boot";
import { copype } from "../../toolchains/open/copype";
import { openIsoBackend } from "../../toolchains/open/iso";
import {
  isoRecordFile,
  journalPath,
  lockHolders,
  readIsoRecord,
  statId,
  writeIsoRecord,
  writerKey,
  xorrisoPreparer,
} from "../../toolchains/open/iso-update";
import { makeMedia } from "../../toolchains/open/makemedia";
import type { Arch } from "../../toolchains/open/media";
import { wimUpdate } from "../../toolchains/open/wim";
import { afterAppend, beforeAppend, wimAppendsDir } from "../../toolchains/open/wim-appends";
import type { IsoWritten } from "../../toolchains/types";
import { treeDigestHere } from "../helpers/tree-digest";

const REPO = path.resolve(__dirname, "..", "..");
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "winpe-iso-update-"));
afterAll(() => {
  makeWritable(scratch);
  fs.rmSync(scratch, { recursive: true, force: true });
});

function makeWritable(dir: string): void {
  if (!fs.existsSync(dir)) return;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      fs.chmodSync(p, 0o755);
      makeWritable(p);
    }
  }
}

const tool = (name: string, argv: string[]) => runTool(name, argv, { resource: "test:iso-update" });

interface Ws {
  arch: Arch;
  dir: string;
  media: string;
  iso: string;
  stateDir: string;
  lines: string[];
}

async function workspace(arch: Arch, name: string, opts: { bios?: boolean } = {}): Promise<Ws> {
  const dir = path.join(scratch, name);
  await copype(arch, dir, { kind: "synthetic" });
  // the synthetic folder has no BIOS boot image; a stand-in one makes the ISO carry a BIOS entry too
  if (opts.bios) fs.writeFileSync(path.join(dir, "fwfiles", "etfsboot.com"), Buffer.alloc(4096, 0xeb));
  return {
    arch,
    dir,
    media: path.join(dir, "media"),
    iso: path.join(scratch, `${name}.iso`),
    stateDir: path.join(dir, ".winpe-lab"),
    lines: [],
  };
}

async function write(w: Ws, previous?: IsoWritten, noPrompt = true): Promise<IsoWritten> {
  w.lines = [];
  const r = await openIsoBackend.write(
    {
      arch: w.arch,
      workspace: w.dir,
      isoPath: w.iso,
      noPrompt,
      previous: previous ? { digest: previous.digest } : undefined,
    },
    { resource: "test:iso-update", onProgress: (l) => w.lines.push(l), onNotice: (l) => w.lines.push(l) },
  );
  if (!r) throw new Error("the open backend returned no digest");
  return r;
}

/** A fresh full write of the same media (xorriso), elsewhere: what the updated ISO must equal. */
async function reference(w: Ws, noPrompt = true): Promise<Buffer> {
  const ref = path.join(scratch, `ref-${path.basename(w.iso)}`);
  await makeMedia(w.dir, ref, { force: true, arch: w.arch, prompt: !noPrompt });
  const b = fs.readFileSync(ref);
  fs.rmSync(ref);
  return b;
}

let addCount = 0;
/**
 * Add a file to boot.wim with `wimlib-imagex update` (appends, keeps LZX). `recorded`: as ImageCommit's open image
 * backend does it, with the record of the append (wim-appends.ts); else wimlib alone (no record: the ISO update
 * compares boot.wim's kept part).
 */
async function addToWim(w: Ws, bytes: number, recorded = false): Promise<void> {
  const src = path.join(scratch, `payload-${++addCount}`);
  fs.mkdirSync(src, { recursive: true });
  // deterministic, incompressible-ish content
  const b = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i += 32)
    sha256(`${addCount}:${i}`)
      .slice(0, 32)
      .split("")
      .forEach((c, j) => {
        if (i + j < bytes) b[i + j] = c.charCodeAt(0) ^ (i >> 5);
      });
  fs.writeFileSync(path.join(src, "f.bin"), b);
  const wim = path.join(w.media, "sources", "boot.wim");
  const before = recorded ? beforeAppend(wim) : undefined;
  await wimUpdate(wim, 1, [{ op: "add", source: "f.bin", dest: `Windows/Ioctl/f${addCount}.bin` }], {
    cwd: src,
    resource: "test:iso-update",
  });
  if (recorded) {
    expect(afterAppend(wimAppendsDir(w.stateDir), wim, before)).toBe(true);
    // the WIM's tree digest the record made (only the changed pieces hashed when it had the previous ones) is the
    // one of every byte, computed here
    expect(fileTreeDigest(wim).digest).toBe(treeDigestHere(fs.readFileSync(wim)));
  }
}

/** Set testsigning in every BCD store of the media (our BCD module, as BcdSettings does). */
function setTestsigning(w: Ws, on: boolean): void {
  for (const rel of ["EFI/Microsoft/Boot/BCD", "Boot/BCD"]) {
    const f = path.join(w.media, rel);
    if (!fs.existsSync(f)) continue;
    const s = openStore(f);
    s.setElementText("{default}", "testsigning", [on ? "on" : "off"]);
    s.save();
  }
}

/** Every file of the media, by relative path -> sha256. */
function mediaFiles(media: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (abs: string, rel: string) => {
    for (const e of fs.readdirSync(abs, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(abs, e.name), r);
      else out[r] = sha256(fs.readFileSync(path.join(abs, e.name)));
    }
  };
  walk(media, "");
  return out;
}

let extractCount = 0;
/** The independent reader: xorriso's El Torito report and every file it extracts, by path -> sha256. */
async function readBack(iso: string): Promise<{ eltorito: string; files: Record<string, string> }> {
  const et = await tool("xorriso", ["-indev", iso, "-report_el_torito", "plain"]);
  const dir = path.join(scratch, `extract-${++extractCount}`);
  await tool("xorriso", ["-osirrox", "on", "-indev", iso, "-extract", "/", dir]);
  makeWritable(dir);
  const files = mediaFiles(dir);
  fs.rmSync(dir, { recursive: true, force: true });
  const eltorito = et.stdout
    .split("\n")
    .filter((l) => /^El Torito (boot img|img path|catalog|images)/.test(l))
    .join("\n");
  return { eltorito, files };
}

async function expectSameAsFullWrite(w: Ws, r: IsoWritten, how: "update" | "full", noPrompt = true): Promise<void> {
  expect(r.how, w.lines.join("\n")).toBe(how);
  const got = fs.readFileSync(w.iso);
  const want = await reference(w, noPrompt);
  expect(got.length).toBe(want.length);
  expect(got.equals(want), "the updated ISO differs from a full write of the same media").toBe(true);
  expect(r.digest).toBe(treeDigestHere(got));
  expect(r.size).toBe(got.length);
  expect(fs.existsSync(journalPath(w.iso))).toBe(false);
  const back = await readBack(w.iso);
  expect(back.files).toEqual(mediaFiles(w.media));
  expect(back.eltorito).toMatch(/UEFI/);
}

describe.each([
  ["amd64", true],
  ["arm64", false],
] as const)("%s: in-place update equals a full write", (arch, bios) => {
  let w: Ws;
  let cur: IsoWritten;

  beforeAll(async () => {
    w = await workspace(arch, `ws-${arch}`, { bios });
    cur = await write(w);
    expect(cur.how).toBe("full");
    expect(readIsoRecord(w.stateDir, w.iso)?.digest).toBe(cur.digest);
  }, 120_000);

  it("a file added to boot.wim (wimlib-imagex update): only its growth and the moved BCD stores are written", async () => {
    const before = fs.statSync(w.iso).size;
    await addToWim(w, 200_000);
    cur = await write(w, cur);
    await expectSameAsFullWrite(w, cur, "update");
    expect(fs.statSync(w.iso).size).toBeGreaterThan(before);
    expect(w.lines.join("\n")).toMatch(/updated .* in place \(sources\/boot\.wim \(\d+ -> \d+ bytes\)/);
    const written = Number(/: (\d+) of \d+ bytes written/.exec(w.lines.join("\n"))![1]);
    expect(written).toBeLessThan(200_000 + 400_000); // the growth + BCDs + padding, not the ISO
  }, 120_000);

  it("a file added through the image backend's path (append recorded): boot.wim is not re-read, same ISO", async () => {
    await addToWim(w, 150_000, true);
    await addToWim(w, 60_000, true); // a chain of two appends since the ISO was written
    cur = await write(w, cur);
    await expectSameAsFullWrite(w, cur, "update");
    expect(w.lines.join("\n")).toMatch(/kept part known unchanged from the record of its appends/);
  }, 120_000);

  it("an append recorded, then boot.wim changed by something else: the record vouches for nothing, bytes compared", async () => {
    await addToWim(w, 40_000, true);
    // a byte inside boot.wim's kept part, changed outside winpe-lab (its identity changes: no chain to it)
    const wim = path.join(w.media, "sources", "boot.wim");
    const fd = fs.openSync(wim, "r+");
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, 5000);
    fs.writeSync(fd, Buffer.from([b[0]! ^ 0xff]), 0, 1, 5000);
    fs.closeSync(fd);
    cur = await write(w, cur);
    await expectSameAsFullWrite(w, cur, "full");
    expect(w.lines.join("\n")).toMatch(/boot\.wim changed before the end of its old data/);
    // the byte back (the WIM whole again for the tests that follow): compared again, differs from the ISO's copy
    const fd2 = fs.openSync(wim, "r+");
    fs.writeSync(fd2, b, 0, 1, 5000);
    fs.closeSync(fd2);
    cur = await write(w, cur);
    await expectSameAsFullWrite(w, cur, "full");
  }, 120_000);

  it("boot.wim with bytes after its XML data (wimlib writes over them at its next append)", async () => {
    // wimlib's append starts at the end of the old XML data, not at the end of the file (a WIM made by an
    // interrupted or foreign writer can carry more): the kept part ends at the old blob table's end
    fs.appendFileSync(path.join(w.media, "sources", "boot.wim"), Buffer.alloc(50_000, 0x5a));
    cur = await write(w, cur);
    await expectSameAsFullWrite(w, cur, "update");
    await addToWim(w, 20_000);
    cur = await write(w, cur);
    await expectSameAsFullWrite(w, cur, "update");
  }, 120_000);

  it("a BCD change (testsigning on): only the BCD stores are written", async () => {
    setTestsigning(w, true);
    cur = await write(w, cur);
    await expectSameAsFullWrite(w, cur, "update");
    expect(w.lines.join("\n")).toMatch(/EFI\/Microsoft\/Boot\/BCD/);
  }, 120_000);

  it("boot.wim and the BCD stores changed together, three rounds in a row", async () => {
    for (let i = 0; i < 3; i++) {
      await addToWim(w, 50_000 + i * 70_000);
      setTestsigning(w, i % 2 !== 0);
      cur = await write(w, cur);
      await expectSameAsFullWrite(w, cur, "update");
    }
  }, 240_000);

  it("a BCD store that grows moves after boot.wim and is still updated in place", async () => {
    const efiBcd = path.join(w.media, "EFI", "Microsoft", "Boot", "BCD");
    const bigger = path.join(REPO, "test", "fixtures", "bcd", "ntloader-multi.bcd");
    expect(fs.statSync(bigger).size).not.toBe(fs.statSync(efiBcd).size);
    fs.copyFileSync(bigger, efiBcd);
    cur = await write(w, cur);
    await expectSameAsFullWrite(w, cur, "update");
  }, 120_000);

  it("nothing changed: no write, the same ISO", async () => {
    const before = fs.readFileSync(w.iso);
    cur = await write(w, cur);
    expect(cur.how).toBe("update");
    expect(w.lines.join("\n")).toMatch(/in place \(no change\): 0 of/);
    expect(fs.readFileSync(w.iso).equals(before)).toBe(true);
  }, 60_000);

  it("a media file edited within its blocks is patched in place; past them, the whole ISO is written", async () => {
    const f = path.join(w.media, "WINPE-LAB-STANDIN.txt");
    const text = fs.readFileSync(f, "utf8");
    fs.writeFileSync(f, text.replace(/stand-in/i, "STAND-IN"));
    cur = await write(w, cur);
    await expectSameAsFullWrite(w, cur, "update");
    fs.writeFileSync(f, `${text}\n${"x".repeat(4096)}`);
    cur = await write(w, cur);
    await expectSameAsFullWrite(w, cur, "full");
    expect(w.lines.join("\n")).toMatch(
      /writing the whole ISO \(no in-place update: WINPE-LAB-STANDIN\.txt changed its size/,
    );
  }, 120_000);
});

describe("fallbacks: the whole ISO is written, and the progress says why", () => {
  let w: Ws;
  let cur: IsoWritten;
  const why = () => w.lines.find((l) => l.startsWith("writing the whole ISO")) ?? "(no fallback line)";

  beforeAll(async () => {
    w = await workspace("amd64", "ws-fallback", { bios: true });
    cur = await write(w);
  }, 120_000);

  it("a file added to the media", async () => {
    fs.writeFileSync(path.join(w.media, "EFI", "extra.txt"), "added\n");
    cur = await write(w, cur);
    await expectSameAsFullWrite(w, cur, "full");
    expect(why()).toMatch(/files or folders were added, removed or renamed/);
  }, 60_000);

  it("boot.wim rebuilt (wimlib-imagex update --rebuild rewrites it)", async () => {
    await addToWim(w, 30_000);
    cur = await write(w, cur);
    expect(cur.how).toBe("update");
    const src = path.join(scratch, "rebuild-src");
    fs.mkdirSync(src, { recursive: true });
    fs.writeFileSync(path.join(src, "g.bin"), Buffer.alloc(3000, 7));
    await wimUpdate(
      path.join(w.media, "sources", "boot.wim"),
      1,
      [{ op: "add", source: "g.bin", dest: "Windows/g.bin" }],
      {
        cwd: src,
        resource: "test:iso-update",
        rebuild: true,
      },
    );
    cur = await write(w, cur);
    await expectSameAsFullWrite(w, cur, "full");
    expect(why()).toMatch(/boot\.wim (shrank|changed before the end of its old data)/);
  }, 120_000);

  it("boot.wim edited in the middle (same size): the compare of its kept part catches it", async () => {
    const wim = path.join(w.media, "sources", "boot.wim");
    const fd = fs.openSync(wim, "r+");
    const at = Math.floor(fs.fstatSync(fd).size / 3);
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, at);
    b[0] ^= 0xff;
    fs.writeSync(fd, b, 0, 1, at);
    fs.closeSync(fd);
    cur = await write(w, cur);
    await expectSameAsFullWrite(w, cur, "full");
    expect(why()).toMatch(/boot\.wim changed before the end of its old data \(byte \d+ onward differs/);
  }, 120_000);

  it("the ISO altered by hand since it was written", async () => {
    const fd = fs.openSync(w.iso, "r+");
    fs.writeSync(fd, Buffer.from([0x55]), 0, 1, 100); // the system area: readers do not care, we do
    fs.closeSync(fd);
    setTestsigning(w, true);
    cur = await write(w, cur);
    await expectSameAsFullWrite(w, cur, "full");
    expect(why()).toMatch(/the ISO file changed since winpe-lab wrote it/);
  }, 60_000);

  it("the stack's state names another ISO (its digest)", async () => {
    setTestsigning(w, false);
    cur = await write(w, { ...cur, digest: `sha256-1m:${"0".repeat(64)}` });
    await expectSameAsFullWrite(w, cur, "full");
    expect(why()).toMatch(/not the one the stack's state records/);
  }, 60_000);

  it("no record of an earlier write", async () => {
    fs.rmSync(isoRecordFile(w.stateDir, w.iso));
    setTestsigning(w, true);
    cur = await write(w, cur);
    await expectSameAsFullWrite(w, cur, "full");
    expect(why()).toMatch(/no record of an earlier write/);
  }, 60_000);

  it("another UEFI boot image (the prompting efisys.bin)", async () => {
    // the synthetic folder's two images are the same file: make the prompting one differ (a byte of its boot sector)
    const efisys = path.join(w.dir, "fwfiles", "efisys.bin");
    const b = fs.readFileSync(efisys);
    b[3] ^= 0x20; // the OEM name
    fs.writeFileSync(efisys, b);
    cur = await write(w, cur, false);
    await expectSameAsFullWrite(w, cur, "full", false);
    expect(why()).toMatch(/the boot image efisys\.bin is not the one in the ISO/);
    cur = await write(w, cur, true);
    expect(cur.how).toBe("full");
  }, 60_000);

  it("the writer: known from the record while xorriso is the same, asked again otherwise; another writer's ISO is rewritten", async () => {
    setTestsigning(w, false);
    cur = await write(w, cur);
    expect(cur.how).toBe("update");
    const rec = readIsoRecord(w.stateDir, w.iso)!;
    expect(rec.writer?.preparer).toBe(await xorrisoPreparer("test:iso-update"));
    expect(rec.writer?.key).toBe(writerKey());
    // the same xorriso: no tool run (no "version" part in the time breakdown)
    setTestsigning(w, true);
    cur = await write(w, cur);
    expect(cur.how).toBe("update");
    expect(w.lines.join("\n")).not.toMatch(/\(version \d+/);
    // another key (xorriso or a library upgraded): xorriso is asked; still the same writer here, so in place
    writeIsoRecord(w.stateDir, { ...readIsoRecord(w.stateDir, w.iso)!, writer: { key: "other", preparer: "x" } });
    setTestsigning(w, false);
    cur = await write(w, cur);
    await expectSameAsFullWrite(w, cur, "update");
    expect(w.lines.join("\n")).toMatch(/\(version \d+/);
    // an ISO whose preparer names another xorriso (as if written before an upgrade): written whole
    const fd = fs.openSync(w.iso, "r+");
    fs.writeSync(fd, Buffer.from("XORRISO-0.0.1"), 0, 13, 16 * 2048 + 446);
    fs.closeSync(fd);
    writeIsoRecord(w.stateDir, { ...readIsoRecord(w.stateDir, w.iso)!, stat: statId(w.iso)!, writer: undefined });
    setTestsigning(w, true);
    cur = await write(w, { ...cur });
    await expectSameAsFullWrite(w, cur, "full");
    expect(why()).toMatch(/the ISO was written by XORRISO-0\.0\.1 .*; the xorriso here is XORRISO-/);
  }, 120_000);

  it("a VM running from the ISO (QEMU locks it): the whole ISO is written and renamed, the VM keeps its file", async () => {
    const qemu = spawn(
      "qemu-system-x86_64",
      ["-machine", "q35", "-m", "128", "-cdrom", w.iso, "-display", "none", "-serial", "none", "-net", "none", "-S"],
      { stdio: "ignore" },
    );
    const exited = new Promise<void>((r) => qemu.on("exit", () => r()));
    try {
      const deadline = Date.now() + 30_000;
      while (lockHolders(w.iso).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(lockHolders(w.iso).length).toBeGreaterThan(0);
      const inode = fs.statSync(w.iso).ino;
      setTestsigning(w, false);
      cur = await write(w, cur);
      await expectSameAsFullWrite(w, cur, "full");
      expect(why()).toMatch(/another process holds a lock on the ISO .*a VM running from it/);
      expect(fs.statSync(w.iso).ino).not.toBe(inode);
      expect(qemu.exitCode).toBeNull(); // still running, on the old file
    } finally {
      qemu.kill("SIGKILL");
      await exited;
    }
    // the VM gone, the next edit is in place again
    setTestsigning(w, true);
    cur = await write(w, cur);
    await expectSameAsFullWrite(w, cur, "update");
  }, 120_000);

  it("delete's forget removes the record (and its folder)", () => {
    expect(fs.existsSync(isoRecordFile(w.stateDir, w.iso))).toBe(true);
    openIsoBackend.forget?.({ workspace: w.dir, isoPath: w.iso });
    expect(fs.existsSync(path.join(w.stateDir, "iso"))).toBe(false);
  });
});

/** Run an update in a child process (the compiled backend in dist/) that stops at `point`; SIGKILL it there. */
async function killedUpdate(w: Ws, previous: IsoWritten, point: string): Promise<{ fired: boolean; out: string }> {
  const signal = path.join(scratch, `signal-${process.pid}-${point}`);
  fs.rmSync(signal, { force: true });
  const script = [
    `const { openIsoBackend } = require(${JSON.stringify(path.join(REPO, "dist", "toolchains", "open", "iso.js"))});`,
    `openIsoBackend.write(${JSON.stringify({ arch: w.arch, workspace: w.dir, isoPath: w.iso, noPrompt: true, previous: { digest: previous.digest } })},`,
    `  { resource: "test:iso-update:child", onProgress: (l) => console.log(l) })`,
    "  .then((r) => console.log(JSON.stringify(r)), (e) => { console.error(e); process.exit(1); });",
  ].join("\n");
  const child = spawn(process.execPath, ["-e", script], {
    env: { ...process.env, WINPE_LAB_FAULT_ISO_UPDATE: point, WINPE_LAB_FAULT_SIGNAL: signal },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const exited = new Promise<void>((r) => child.on("exit", () => r()));
  const deadline = Date.now() + 60_000;
  let fired = false;
  while (Date.now() < deadline) {
    if (fs.existsSync(signal) && fs.readFileSync(signal, "utf8").includes("iso-update")) {
      fired = true;
      break;
    }
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill("SIGKILL");
  await exited;
  return { fired, out };
}

describe("a killed update leaves the old ISO or the new one once recovery runs", () => {
  let w: Ws;
  let old: IsoWritten;
  let oldBytes: Buffer;
  let oldFiles: Record<string, string>;
  let newBytes: Buffer;
  let newFiles: Record<string, string>;
  let oldRecord: ReturnType<typeof readIsoRecord>;
  let writes = 0;

  /** The ISO as it was before the update, with our record of it (as after its full write). */
  function restoreOld(): void {
    fs.rmSync(w.iso, { force: true });
    fs.writeFileSync(w.iso, oldBytes);
    writeIsoRecord(w.stateDir, { ...oldRecord!, stat: statId(w.iso)! });
  }

  beforeAll(async () => {
    w = await workspace("amd64", "ws-kill", { bios: true });
    old = await write(w);
    oldBytes = fs.readFileSync(w.iso);
    oldFiles = mediaFiles(w.media);
    oldRecord = readIsoRecord(w.stateDir, w.iso);
    // the change every point is killed in: a file appended to boot.wim, testsigning on (the BCD stores move)
    await addToWim(w, 9 * 1024 * 1024); // a tail of several 4 MiB writes
    setTestsigning(w, true);
    newBytes = await reference(w);
    newFiles = mediaFiles(w.media);
    // an undisturbed update first: how many writes it makes (the kill points below cover them all)
    const r = await write(w, old);
    expect(r.how).toBe("update");
    expect(fs.readFileSync(w.iso).equals(newBytes)).toBe(true);
    writes = Number(/\((\d+) writes\)/.exec(w.lines.join("\n"))![1]);
    expect(writes).toBeGreaterThanOrEqual(4);
  }, 180_000);

  it("every point: the kill, what a reader sees, the recovery", async () => {
    const points = ["journal", ...Array.from({ length: writes + 1 }, (_, i) => String(i))];
    const seen: string[] = [];
    const states: string[] = [];
    for (const point of points) {
      restoreOld();
      const k = await killedUpdate(w, old, point);
      expect(k.fired, `point ${point} never fired:\n${k.out}`).toBe(true);
      const atKill = fs.readFileSync(w.iso);
      // until the journal is in place, and while only the growth past the old end is written, readers see the
      // old ISO (the file starts with it byte for byte; its volume ends where it ended): the first bytes inside it
      // are the first a reader can see change
      const state = atKill.equals(oldBytes)
        ? "old"
        : atKill.equals(newBytes)
          ? "new"
          : atKill.subarray(0, oldBytes.length).equals(oldBytes)
            ? "old volume + growth past its end"
            : "mix";
      states.push(state);
      if (point === "journal" || point === "0") expect(state).toBe("old");
      const notes = openIsoBackend.cleanInterrupted(w.iso);
      const after = fs.readFileSync(w.iso);
      const result = after.equals(oldBytes) ? "old" : after.equals(newBytes) ? "new" : "mix";
      seen.push(`${point}: ${state} at the kill -> ${result} (${notes.join("; ")})`);
      expect(result, seen.join("\n")).not.toBe("mix");
      // the journal point is before the commit: the old ISO; from the journal in place on: the new ISO
      expect(result).toBe(point === "journal" ? "old" : "new");
      expect(fs.existsSync(journalPath(w.iso))).toBe(false);
      expect(fs.readdirSync(scratch).filter((n) => n.startsWith(".winpe-tmp-"))).toEqual([]);
      const back = await readBack(w.iso);
      expect(back.files).toEqual(result === "old" ? oldFiles : newFiles);
    }
    console.log(`iso-update kill points:\n  ${seen.join("\n  ")}`);
    // the order readers see: the old ISO, then (growth) still the old volume, then a mix, then the new ISO
    const rank = { old: 0, "old volume + growth past its end": 1, mix: 2, new: 3 } as Record<string, number>;
    const ranks = states.map((st) => rank[st]!);
    expect(ranks, states.join(", ")).toEqual([...ranks].sort((a, b) => a - b));
    expect(states).toContain("old volume + growth past its end");
    expect(states[states.length - 1]).toBe("new");
  }, 600_000);

  it("after a kill, the next write completes the update, then updates in place again", async () => {
    restoreOld();
    const k = await killedUpdate(w, old, "2");
    expect(k.fired).toBe(true);
    // the next write (the provider's: cleanInterrupted under the lock, then write) starts from the new ISO; its
    // state still names the old one, so it writes the whole ISO: the same bytes
    for (const n of openIsoBackend.cleanInterrupted(w.iso)) expect(n).toMatch(/completed the interrupted/);
    const r = await write(w, old);
    expect(r.how).toBe("full");
    expect(fs.readFileSync(w.iso).equals(newBytes)).toBe(true);
    setTestsigning(w, false);
    const r2 = await write(w, r);
    await expectSameAsFullWrite(w, r2, "update");
  }, 120_000);

  it("a journal whose ISO was replaced since is dropped, the new file untouched", async () => {
    restoreOld();
    const k = await killedUpdate(w, old, "0");
    expect(k.fired).toBe(true);
    fs.rmSync(w.iso);
    fs.writeFileSync(w.iso, "someone else's file\n");
    const notes = openIsoBackend.cleanInterrupted(w.iso);
    expect(notes.join("\n")).toMatch(/was replaced since/);
    expect(fs.readFileSync(w.iso, "utf8")).toBe("someone else's file\n");
    expect(fs.existsSync(journalPath(w.iso))).toBe(false);
  }, 60_000);
});

describe("a full disk during the update leaves the old ISO", () => {
  it("at every free-space level: the new ISO, or the old one and an error saying no space", async () => {
    const w = await workspace("amd64", "ws-full");
    const mnt = path.join(scratch, "mnt-full");
    fs.mkdirSync(mnt);
    await tool("mount", ["-t", "tmpfs", "-o", "size=12m,mode=0755", "tmpfs", mnt]).catch((e: Error) => {
      throw new Error(`this test needs a small tmpfs (run as root, as CI does): ${e.message}`);
    });
    const outcomes: string[] = [];
    try {
      w.iso = path.join(mnt, "winpe.iso");
      const old = await write(w);
      const oldBytes = fs.readFileSync(w.iso);
      const oldRecord = readIsoRecord(w.stateDir, w.iso)!;
      await addToWim(w, 3 * 1024 * 1024);
      const newBytes = await reference(w);
      const grow = newBytes.length - oldBytes.length;
      const filler = path.join(mnt, "filler");
      // free space from none to the journal plus the growth (the journal holds the growth's bytes too)
      for (let free = 0; free <= 2 * grow + 1024 * 1024; free += 256 * 1024) {
        fs.rmSync(filler, { force: true });
        fs.rmSync(w.iso, { force: true });
        fs.writeFileSync(w.iso, oldBytes);
        writeIsoRecord(w.stateDir, { ...oldRecord, stat: statId(w.iso)! });
        const s = fs.statfsSync(mnt);
        fs.writeFileSync(filler, Buffer.alloc(Math.max(0, s.bavail * s.bsize - free)));
        let outcome: string;
        try {
          const r = await write(w, old);
          expect(r.how).toBe("update");
          expect(fs.readFileSync(w.iso).equals(newBytes)).toBe(true);
          outcome = "updated";
        } catch (e) {
          expect((e as Error).message).toMatch(/no space left/i);
          expect(fs.readFileSync(w.iso).equals(oldBytes), `free ${free}: not the old ISO`).toBe(true);
          outcome = /the old ISO was put back/.test((e as Error).message)
            ? "growth failed, put back"
            : "journal failed";
        }
        expect(fs.existsSync(journalPath(w.iso))).toBe(false);
        expect(fs.readdirSync(mnt).filter((n) => n.startsWith(".winpe-tmp-"))).toEqual([]);
        outcomes.push(`${free}: ${outcome}`);
      }
    } finally {
      fs.rmSync(path.join(mnt, "filler"), { force: true });
      await tool("umount", [mnt]);
    }
    console.log(`iso-update on a full disk:\n  ${outcomes.join("\n  ")}`);
    const kinds = new Set(outcomes.map((o) => o.split(": ")[1]));
    expect([...kinds].sort()).toEqual(["growth failed, put back", "journal failed", "updated"]);
  }, 300_000);
});

describe.each(["amd64", "arm64"] as const)("%s: an updated ISO boots (QEMU)", (arch) => {
  it("boot check of an ISO updated in place after a boot.wim and BCD change", async () => {
    const w = await workspace(arch, `ws-boot-${arch}`);
    let r = await write(w);
    await addToWim(w, 100_000);
    setTestsigning(w, true);
    r = await write(w, r);
    expect(r.how).toBe("update");
    const b = await bootCheck(w.iso, { arch, timeoutSec: 120, tmpDir: scratch });
    expect(b.matchedLine).toContain(`WINPE-LAB STAND-IN BOOT OK arch=${arch}`);
  }, 240_000);
});
