/**
 * The disk-full campaign (issue 13): the kill campaign's twin for a full disk. The amd64 demo stack's working
 * folder (and, in a second part, its ISO folder) sits on a small tmpfs filled up to leave a given number of bytes
 * free. At each level:
 *
 * 1. `pulumi up` either succeeds or is refused with a message naming the lack of space, and everything it wrote is
 *    whole: the BCD stores are readable hives (hivexregedit) and both still pristine or both changed (one change),
 *    boot.wim passes `wimlib-imagex verify`, the ISO is absent or a valid El Torito image (xorriso), no temporary
 *    file is left;
 * 2. with the space back, `pulumi up` converges to a clean run's media (same ISO files, same WIM content, same BCD
 *    registry content: test/faults/media.ts);
 * 3. with the disk full again, `pulumi destroy` either succeeds or is refused, and again everything is whole;
 * 4. with the space back, `pulumi destroy` converges: BCD stores byte-identical to copype's, boot.wim's content as
 *    copype made it, no ISO, no bookkeeping folder, no temporary file.
 *
 * Mounting a tmpfs needs root (CI runs as root, like this machine). A machine that cannot mount one fails this
 * test with the reason: it never skips.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runTool } from "../../runtime/exec";
import { listAll } from "../helpers/demo-stack";
import { scratchDir } from "../helpers/pulumi";
import { wimContent } from "../helpers/wim";
import { compareMedia, type MediaSnapshot, registryContent, snapshotMedia } from "./media";
import { type FaultStack, makeTemplate, openFaultStack, pulumiCli, type Template } from "./stack";

const KiB = 1024;
/** Free bytes left on the working folder's file system: from nothing to enough for a whole `up`. */
const WORKSPACE_LEVELS = [0, 8 * KiB, 32 * KiB, 96 * KiB, 512 * KiB, 1536 * KiB];
/** Free bytes left in the ISO's folder (the synthetic ISO is about 2 MiB). */
const ISO_LEVELS = [0, 1024 * KiB, 3 * 1024 * KiB];

function mountTmpfs(dir: string, bytes: number): Promise<unknown> {
  fs.mkdirSync(dir, { recursive: true });
  const size = Math.ceil(bytes / 4096) * 4096;
  return runTool("mount", ["-t", "tmpfs", "-o", `size=${size},mode=0755`, "tmpfs", dir]).catch((e: Error) => {
    throw new Error(
      `the disk-full campaign needs a small tmpfs and could not mount one at ${dir} (run the tests as root, as CI ` +
        `does): ${e.message}`,
    );
  });
}

function freeBytes(dir: string): number {
  const s = fs.statfsSync(dir);
  return s.bavail * s.bsize;
}

/** Fill the file system of `dir` until `free` bytes are left (the filler lives at `dir/.filler`). */
function fillTo(dir: string, free: number): void {
  const filler = path.join(dir, ".filler");
  fs.rmSync(filler, { force: true });
  const want = freeBytes(dir) - free;
  if (want <= 0) return;
  const fd = fs.openSync(filler, "w");
  try {
    const chunk = Buffer.alloc(Math.min(want, 1 << 20));
    let left = want;
    while (left > 0) {
      const n = fs.writeSync(fd, chunk, 0, Math.min(left, chunk.length));
      left -= n;
    }
  } catch {
    // full already: as full as it gets
  } finally {
    fs.closeSync(fd);
  }
}

function unfill(dir: string): void {
  fs.rmSync(path.join(dir, ".filler"), { force: true });
}

const temps = (dir: string) => (fs.existsSync(dir) ? listAll(dir).filter((f) => f.includes(".winpe-tmp-")) : []);

/** Everything winpe-lab wrote is whole (see the module comment); returns what is not. */
async function wholeness(s: FaultStack, t: Template): Promise<string[]> {
  const bad: string[] = [];
  for (const f of [...temps(s.workspace), ...temps(path.dirname(s.isoPath))]) bad.push(`temporary file left: ${f}`);
  const changed: boolean[] = [];
  for (const store of s.stores) {
    const rel = path.relative(s.mediaDir, store).split(path.sep).join("/");
    try {
      const now = await registryContent(store);
      const pristine = fs.readFileSync(store).equals(t.pristineStores[rel]!);
      changed.push(!pristine);
      if (!now.includes("Objects")) bad.push(`${rel}: no Objects key`);
    } catch (e) {
      bad.push(`${rel}: not a readable hive (${(e as Error).message.split("\n")[0]})`);
    }
  }
  if (new Set(changed).size > 1) bad.push(`BCD stores half changed: ${changed.join(", ")}`);
  const v = await runTool("wimlib-imagex", ["verify", s.wim], { okExitCodes: [0, 1, 2, 3, 4, 5, 6, 18, 19, 72, 74] });
  if (v.exitCode !== 0) bad.push(`boot.wim does not verify (exit ${v.exitCode}): ${v.stderr.trim().slice(0, 200)}`);
  if (fs.existsSync(s.isoPath)) {
    const r = await runTool("xorriso", ["-indev", s.isoPath, "-report_el_torito", "plain"], {
      okExitCodes: [0, 1, 5, 32],
    });
    if (r.exitCode !== 0 || !/El Torito boot img/.test(r.stdout)) bad.push(`the ISO is not a valid El Torito image`);
  }
  return bad;
}

interface LevelResult {
  part: string;
  free: number;
  up: string;
  destroy: string;
  problems: string[];
}

describe("disk-full campaign: up and destroy on a nearly full disk end whole, and converge", () => {
  let root: string;
  let t: Template;
  let clean: MediaSnapshot;
  const results: LevelResult[] = [];

  beforeAll(async () => {
    root = scratchDir("disk-full");
    t = await makeTemplate("amd64", root);
    // a clean run on an ordinary disk: what every level must converge to
    const s = await openFaultStack(t, { root, label: "clean", bootCheck: false });
    const up = await pulumiCli(s, ["up", "--yes"]);
    if (up.code !== 0) throw new Error(`the clean run failed:\n${up.output}`);
    clean = await snapshotMedia(s.isoPath, s.certFile, root);
    await pulumiCli(s, ["destroy", "--yes"]);
    await s.cleanup();
  }, 300_000);

  afterAll(async () => {
    const table = [
      "| part | free bytes | up on the full disk | destroy on the full disk | problems |",
      "| --- | --- | --- | --- | --- |",
      ...results.map((r) => `| ${r.part} | ${r.free} | ${r.up} | ${r.destroy} | ${r.problems.join("; ") || "none"} |`),
    ].join("\n");
    console.log(`disk-full campaign (amd64 demo stack, synthetic media):\n${table}`);
    if (root) {
      for (const m of fs.readdirSync(root).filter((n) => n.startsWith("mnt-"))) {
        await runTool("umount", [path.join(root, m)]).catch(() => undefined);
      }
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  /** One level: see the module comment. `full` is the folder on the small tmpfs. */
  async function level(part: string, free: number, s: FaultStack, full: string): Promise<void> {
    const r: LevelResult = { part, free, up: "", destroy: "", problems: [] };
    results.push(r);
    fillTo(full, free);
    const up = await pulumiCli(s, ["up", "--yes"]);
    r.up = up.code === 0 ? "succeeded" : "refused";
    if (up.code !== 0 && !/no space left/i.test(up.output))
      r.problems.push(`up refused without saying why: ${up.output.slice(-400)}`);
    r.problems.push(...(await wholeness(s, t)).map((p) => `after up: ${p}`));

    unfill(full);
    const again = await pulumiCli(s, ["up", "--yes"]);
    if (again.code !== 0) r.problems.push(`up with space back failed: ${again.output.slice(-400)}`);
    else {
      const diffs = compareMedia(clean, await snapshotMedia(s.isoPath, s.certFile, root));
      r.problems.push(...diffs.map((d) => `converged media: ${d}`));
    }

    fillTo(full, free);
    const down = await pulumiCli(s, ["destroy", "--yes"]);
    r.destroy = down.code === 0 ? "succeeded" : "refused";
    if (down.code !== 0 && !/no space left/i.test(down.output))
      r.problems.push(`destroy refused without saying why: ${down.output.slice(-400)}`);
    r.problems.push(...(await wholeness(s, t)).map((p) => `after destroy: ${p}`));

    unfill(full);
    const down2 = await pulumiCli(s, ["destroy", "--yes"]);
    if (down2.code !== 0) r.problems.push(`destroy with space back failed: ${down2.output.slice(-400)}`);
    for (const store of s.stores) {
      const rel = path.relative(s.mediaDir, store).split(path.sep).join("/");
      if (!fs.readFileSync(store).equals(t.pristineStores[rel]!))
        r.problems.push(`${rel} not byte-identical after destroy`);
    }
    const wim = await wimContent(s.wim, root);
    if (JSON.stringify(wim) !== JSON.stringify(await wimContentOfTemplate()))
      r.problems.push("boot.wim content differs");
    if (fs.existsSync(s.isoPath)) r.problems.push("the ISO is still there after destroy");
    if (fs.existsSync(path.join(s.workspace, ".winpe-lab"))) r.problems.push(".winpe-lab is still there after destroy");
    for (const f of [...temps(s.workspace), ...temps(path.dirname(s.isoPath))]) r.problems.push(`temporary file ${f}`);
    expect(r.problems, `${part}, ${free} bytes free`).toEqual([]);
  }

  let templateWim: Record<string, string> | undefined;
  async function wimContentOfTemplate(): Promise<Record<string, string>> {
    templateWim ??= await wimContent(path.join(t.dir, "WinPE_amd64", "media", "sources", "boot.wim"), root);
    return templateWim;
  }

  it.each(WORKSPACE_LEVELS)(
    "the working folder on a tmpfs with %i bytes free",
    async (free) => {
      const mnt = path.join(root, `mnt-ws-${free}`);
      const wsSize = listAll(path.join(t.dir, "WinPE_amd64")).reduce(
        (n, f) => n + fs.statSync(path.join(t.dir, "WinPE_amd64", f)).size,
        0,
      );
      await mountTmpfs(mnt, wsSize + 2 * 1024 * KiB);
      try {
        const workspace = path.join(mnt, "WinPE_amd64");
        fs.cpSync(path.join(t.dir, "WinPE_amd64"), workspace, { recursive: true });
        const s = await openFaultStack(t, { root, label: `ws-${free}`, bootCheck: false, workspace });
        await level("working folder", free, s, mnt);
        await s.cleanup();
      } finally {
        await runTool("umount", [mnt]);
      }
    },
    300_000,
  );

  it.each(ISO_LEVELS)(
    "the ISO folder on a tmpfs with %i bytes free",
    async (free) => {
      const mnt = path.join(root, `mnt-iso-${free}`);
      await mountTmpfs(mnt, 4 * 1024 * KiB);
      try {
        const s = await openFaultStack(t, {
          root,
          label: `iso-${free}`,
          bootCheck: false,
          isoPath: path.join(mnt, "winpe_amd64.iso"),
        });
        await level("ISO folder", free, s, mnt);
        await s.cleanup();
      } finally {
        await runTool("umount", [mnt]);
      }
    },
    300_000,
  );
});
