/**
 * Atomic file replacement: write to a temporary file in the same folder, fsync it, rename it over the
 * target, fsync the folder. Readers see the old file or the new one, never a half-written one.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { pidAlive } from "./locks";
import { writeAll } from "./write-all";

export { writeAll };

/** Prefix of every temporary file this project writes; leftovers from a crash are found by it. */
export const TEMP_PREFIX = ".winpe-tmp-";

/** A temporary path beside `target` (same folder, so `rename` is atomic). */
export function tempPathFor(target: string): string {
  const dir = path.dirname(target);
  const rand = crypto.randomBytes(4).toString("hex");
  return path.join(dir, `${TEMP_PREFIX}${path.basename(target)}.${process.pid}.${rand}`);
}

/** fsync a file by path. */
function fsyncFile(file: string): void {
  const fd = fs.openSync(file, "r+");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** fsync a folder (after a rename in it); a filesystem that refuses it is not an error. */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, "r");
    fs.fsyncSync(fd);
  } catch {
    // some filesystems refuse fsync on a directory; the rename is still atomic
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Replace `target` with `data` atomically. `mode` defaults to the existing file's mode, or 0o644. */
export function writeFileAtomic(target: string, data: Uint8Array | string, mode?: number): void {
  const tmp = tempPathFor(target);
  let m = mode;
  if (m === undefined) {
    try {
      m = fs.statSync(target).mode & 0o7777;
    } catch {
      m = 0o644;
    }
  }
  const fd = fs.openSync(tmp, "wx", m);
  try {
    try {
      writeAll(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, target);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fsyncDir(path.dirname(target));
}

/** Copy `source` to `target` atomically (through a temp file beside the target). */
export function copyFileAtomic(source: string, target: string): void {
  const tmp = tempPathFor(target);
  try {
    fs.copyFileSync(source, tmp);
    assertSameSize(source, tmp);
    fsyncFile(tmp);
    fs.renameSync(tmp, target);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fsyncDir(path.dirname(target));
}

/**
 * Produce `target` through a temporary path: `produce(tmp)` writes the temp file (e.g. a tool's output),
 * then it is fsynced and renamed over `target`. On failure the temp file is removed and `target` is untouched.
 */
export async function produceAtomically<T>(target: string, produce: (tmpPath: string) => Promise<T>): Promise<T> {
  const tmp = tempPathFor(target);
  try {
    const result = await produce(tmp);
    fsyncFile(tmp);
    fs.renameSync(tmp, target);
    fsyncDir(path.dirname(target));
    return result;
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/** A copy that came out shorter than its source (a tool or a copy that stopped early) is an error, not a result. */
function assertSameSize(source: string, copy: string): void {
  const want = fs.statSync(source).size;
  const got = fs.statSync(copy).size;
  if (got !== want) {
    const err = new Error(`copy of ${source} is ${got} of ${want} bytes (disk full?)`) as NodeJS.ErrnoException;
    err.code = "ENOSPC";
    throw err;
  }
}

/**
 * Replace several files as one change: every new content is written and fsynced to a temporary file beside its
 * target first (a failure there, e.g. a full disk, removes the temporary files and leaves every target as it was);
 * only then are they renamed over their targets. Each existing target is hard-linked aside before its rename, so
 * a rename that fails puts the targets already replaced back. Entries whose `data` is the target's content already
 * may be passed: they are written like the others.
 */
export function replaceFilesAtomically(entries: ReadonlyArray<{ target: string; data: Uint8Array }>): void {
  const staged: Array<{ target: string; tmp: string; keep?: string }> = [];
  try {
    for (const e of entries) {
      const tmp = tempPathFor(e.target);
      let mode = 0o644;
      try {
        mode = fs.statSync(e.target).mode & 0o7777;
      } catch {
        // new file
      }
      staged.push({ target: e.target, tmp });
      const fd = fs.openSync(tmp, "wx", mode);
      try {
        writeAll(fd, e.data);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }
  } catch (e) {
    for (const s of staged) fs.rmSync(s.tmp, { force: true });
    throw e;
  }
  const done: typeof staged = [];
  try {
    for (const s of staged) {
      if (fs.existsSync(s.target)) {
        s.keep = tempPathFor(s.target);
        fs.linkSync(s.target, s.keep);
      }
      fs.renameSync(s.tmp, s.target);
      done.push(s);
    }
  } catch (e) {
    for (const s of done.reverse()) {
      if (s.keep) fs.renameSync(s.keep, s.target);
      else fs.rmSync(s.target, { force: true });
    }
    for (const s of staged) {
      fs.rmSync(s.tmp, { force: true });
      if (s.keep) fs.rmSync(s.keep, { force: true });
    }
    throw e;
  }
  for (const s of staged) if (s.keep) fs.rmSync(s.keep, { force: true });
  for (const dir of new Set(staged.map((s) => path.dirname(s.target)))) fsyncDir(dir);
}

/** Temporary files of ours left in `dir` by a crash (not recursive). */
export function findLeftoverTemps(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir)
      .filter((n) => n.startsWith(TEMP_PREFIX))
      .map((n) => path.join(dir, n));
  } catch {
    return [];
  }
}

/**
 * Remove the temporary files a crashed writer left in `dir` (a process killed between writing the temporary file
 * and renaming it): ours, for `name` when given (`.winpe-tmp-<name>.<pid>.<rand>`), whose writer process (the pid
 * in the name) is no longer running. Temporary files of a live process are left alone. Returns what was removed.
 */
export function removeStaleTemps(dir: string, name?: string): string[] {
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const n of entries) {
    if (!n.startsWith(TEMP_PREFIX)) continue;
    // a temp of a temp (writeFileAtomic onto a temp path) starts with the prefix twice
    const base = n.startsWith(TEMP_PREFIX + TEMP_PREFIX)
      ? n.slice(TEMP_PREFIX.length * 2)
      : n.slice(TEMP_PREFIX.length);
    if (name !== undefined && !base.startsWith(`${name}.`)) continue;
    const parts = n.split(".");
    const pid = Number(parts[parts.length - 2]);
    if (!Number.isInteger(pid) || pid <= 0 || pidAlive(pid)) continue; // not our naming, or its writer is alive
    const p = path.join(dir, n);
    fs.rmSync(p, { recursive: true, force: true });
    removed.push(p);
  }
  return removed;
}
