/**
 * Atomic file replacement: write to a temporary file in the same folder, fsync it, rename it over the
 * target, fsync the folder. Readers see the old file or the new one, never a half-written one.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { pidAlive } from "./locks";

/** Prefix of every temporary file this project writes; leftovers from a crash are found by it. */
export const TEMP_PREFIX = ".winpe-tmp-";

/** A temporary path beside `target` (same folder, so `rename` is atomic). */
export function tempPathFor(target: string): string {
  const dir = path.dirname(target);
  const rand = crypto.randomBytes(4).toString("hex");
  return path.join(dir, `${TEMP_PREFIX}${path.basename(target)}.${process.pid}.${rand}`);
}

function fsyncDir(dir: string): void {
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
      fs.writeSync(fd, typeof data === "string" ? Buffer.from(data) : data);
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
    const fd = fs.openSync(tmp, "r+");
    try {
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

/**
 * Produce `target` through a temporary path: `produce(tmp)` writes the temp file (e.g. a tool's output),
 * then it is fsynced and renamed over `target`. On failure the temp file is removed and `target` is untouched.
 */
export async function produceAtomically<T>(target: string, produce: (tmpPath: string) => Promise<T>): Promise<T> {
  const tmp = tempPathFor(target);
  try {
    const result = await produce(tmp);
    const fd = fs.openSync(tmp, "r+");
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, target);
    fsyncDir(path.dirname(target));
    return result;
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
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
