/**
 * The WinPeIso provider's in-place update (open toolchain) called directly on a real synthetic workspace: an
 * update after a boot.wim change (wimlib-imagex update) and a BCD change is done in place, says so, reports the
 * ISO's real sha256 and records it in the output ledger; refresh sees an interrupted update as drift and writes
 * nothing; a provider update killed inside the in-place phase is finished by delete, which then removes the ISO
 * (the ledger knew the new ISO before its first byte was written) and leaves no record, journal or bookkeeping.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "../../formats/bcd/store";
import * as isoP from "../../resources/providers/winpe-iso";
import { OutputLedger } from "../../runtime/owned";
import { setProgressFallback } from "../../runtime/progress";
import { copype } from "../../toolchains/open/copype";
import { isoRecordFile, journalPath } from "../../toolchains/open/iso-update";
import { wimUpdate } from "../../toolchains/open/wim";
import { treeDigestHere } from "../helpers/tree-digest";

type Props = Record<string, unknown>;
const REPO = path.resolve(__dirname, "..", "..");

describe("WinPeIso provider: in-place update (open toolchain, real files)", () => {
  let dir: string;
  let ws: string;
  let iso: string;
  const lines: string[] = [];

  beforeAll(async () => {
    setProgressFallback((l) => lines.push(l));
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "winpe-iso-update-p-"));
    process.env.WINPE_LAB_LOCK_DIR = path.join(dir, "locks");
    ws = path.join(dir, "ws");
    iso = path.join(dir, "out", "winpe.iso");
    fs.mkdirSync(path.dirname(iso));
    await copype("amd64", ws);
  }, 120_000);
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    delete process.env.WINPE_LAB_LOCK_DIR;
  });

  const inputs = async (hashes: Record<string, string>) =>
    (await isoP.check({}, { toolchain: "open", arch: "amd64", workspace: ws, isoPath: iso, contentHashes: hashes }))
      .inputs as Props;

  let n = 0;
  async function change(): Promise<void> {
    const src = path.join(dir, `src-${++n}`);
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, "f.bin"), Buffer.alloc(70_000 + n * 1000, n));
    await wimUpdate(
      path.join(ws, "media", "sources", "boot.wim"),
      1,
      [{ op: "add", source: "f.bin", dest: `f${n}.bin` }],
      {
        cwd: src,
        resource: "test",
      },
    );
    const s = openStore(path.join(ws, "media", "EFI", "Microsoft", "Boot", "BCD"));
    s.setElementText("{default}", "testsigning", [n % 2 === 1 ? "on" : "off"]);
    s.save();
  }

  const ledger = () => new OutputLedger(path.join(ws, ".winpe-lab"));

  let outs: Props;

  it("create writes the whole ISO; update after an edit changes it in place and says so", async () => {
    outs = (await isoP.create(await inputs({ wim: "0" }))).outs as Props;
    expect(outs.digest).toBe(treeDigestHere(fs.readFileSync(iso)));
    expect(fs.existsSync(isoRecordFile(path.join(ws, ".winpe-lab"), iso))).toBe(true);
    await change();
    lines.length = 0;
    outs = (await isoP.update("id", outs, await inputs({ wim: "1" }))).outs as Props;
    expect(outs.digest).toBe(treeDigestHere(fs.readFileSync(iso)));
    expect(outs.size).toBe(fs.statSync(iso).size);
    expect(lines.join("\n")).toMatch(/updated .*winpe\.iso in place \(sources\/boot\.wim/);
    expect(lines.join("\n")).toMatch(/updated in place .*winpe\.iso \(\d+ bytes, digest sha256-1m:/);
    // the ledger knows the ISO as it is now: a later delete removes it
    expect(ledger().isOurs(iso)).toBe(true);
  }, 120_000);

  it("an ISO found altered by refresh is written whole (the state no longer names the file there)", async () => {
    fs.appendFileSync(iso, "x");
    const r = await isoP.read("id", outs);
    expect(r.props?.state).toBe("altered");
    await change();
    lines.length = 0;
    outs = (await isoP.update("id", r.props as Props, await inputs({ wim: "2" }))).outs as Props;
    expect(outs.digest).toBe(treeDigestHere(fs.readFileSync(iso)));
    expect(lines.join("\n")).toMatch(/wrote .*winpe\.iso/);
  }, 120_000);

  it("killed inside its in-place phase: refresh reports it and writes nothing; delete finishes it and removes the ISO", async () => {
    await change();
    const news = await inputs({ wim: "3" });
    const signal = path.join(dir, "signal");
    const script = [
      `const p = require(${JSON.stringify(path.join(REPO, "dist", "resources", "providers", "winpe-iso.js"))});`,
      `p.update("id", ${JSON.stringify(outs)}, ${JSON.stringify(news)}).then(() => console.log("done"), (e) => { console.error(e); process.exit(1); });`,
    ].join("\n");
    const child = spawn(process.execPath, ["-e", script], {
      env: { ...process.env, WINPE_LAB_FAULT_ISO_UPDATE: "3", WINPE_LAB_FAULT_SIGNAL: signal },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const exited = new Promise<void>((r) => child.on("exit", () => r()));
    const deadline = Date.now() + 60_000;
    while (!fs.existsSync(signal) && child.exitCode === null && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(fs.existsSync(signal), out).toBe(true);
    child.kill("SIGKILL");
    await exited;
    expect(fs.existsSync(journalPath(iso))).toBe(true);

    // refresh: drift, and nothing written (the ISO and its journal as the kill left them)
    const before = fs.readFileSync(iso);
    const r = await isoP.read("id", outs);
    expect(r.props?.state).toBe("altered");
    expect(fs.readFileSync(iso).equals(before)).toBe(true);
    expect(fs.existsSync(journalPath(iso))).toBe(true);

    // delete with the old state (the killed update never returned): the journal finished, the ISO removed
    await isoP.delete("id", outs);
    expect(fs.existsSync(iso)).toBe(false);
    expect(fs.existsSync(journalPath(iso))).toBe(false);
    expect(fs.readdirSync(path.dirname(iso))).toEqual([]);
    expect(fs.existsSync(path.join(ws, ".winpe-lab", "iso"))).toBe(false);
    expect(fs.existsSync(path.join(ws, ".winpe-lab", "owned"))).toBe(false);
  }, 120_000);
});
