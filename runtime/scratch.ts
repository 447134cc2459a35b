/**
 * Private scratch folders for a step's temporary files (objects of a build, key material of the signing step, a
 * boot check's firmware variables): `<parent>/winpe-<kind>-<pid>-XXXXXX`, mode 0700, removed by the step that made
 * it. A step killed with SIGKILL cannot remove its own, so every new scratch folder first removes the scratch
 * folders whose writer process is gone: a killed signing step's private key copy does not stay in TMPDIR for good.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pidAlive } from "./locks";

/** The kinds of scratch folder winpe-lab makes (part of the folder name). */
export type ScratchKind = "build" | "sign" | "boot" | "survey";

const NAME = /^winpe-(build|sign|boot|survey)-(\d+)-[A-Za-z0-9]{6}$/;

/** Make a new private scratch folder of `kind` under `parent` (default: the OS temp folder), after sweeping. */
export function scratchDir(kind: ScratchKind, parent: string = os.tmpdir()): string {
  sweepScratch(parent);
  const dir = fs.mkdtempSync(path.join(parent, `winpe-${kind}-${process.pid}-`));
  fs.chmodSync(dir, 0o700);
  return dir;
}

/**
 * Remove the scratch folders under `parent` (of `kind`, or of every kind) left by processes that no longer run.
 * Only real folders owned by this user are touched (never a link, never another user's). Returns what was removed.
 */
export function sweepScratch(parent: string = os.tmpdir(), kind?: ScratchKind): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(parent);
  } catch {
    return [];
  }
  const uid = typeof process.getuid === "function" ? process.getuid() : undefined;
  const removed: string[] = [];
  for (const n of names) {
    const m = n.match(NAME);
    if (!m || (kind !== undefined && m[1] !== kind)) continue;
    const pid = Number(m[2]);
    if (pid === process.pid || pidAlive(pid)) continue;
    const p = path.join(parent, n);
    try {
      const st = fs.lstatSync(p);
      if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) continue;
      fs.rmSync(p, { recursive: true, force: true });
      removed.push(p);
    } catch {
      // gone meanwhile, or not ours to remove: left as it is
    }
  }
  return removed;
}
