/**
 * What identifies a file's content without reading it: device, inode, size, mtime and ctime (nanoseconds). The
 * digest cache's rule (runtime/digest.ts): while all five are unchanged, the content is taken to be unchanged
 * (a write through any path changes mtime/ctime; a replacement changes the inode).
 */
import * as fs from "node:fs";

export interface StatId {
  dev: string;
  ino: string;
  size: number;
  mtimeNs: string;
  ctimeNs: string;
}

/** The identity in `st` (a `{ bigint: true }` stat). */
export function statIdOf(st: fs.BigIntStats): StatId {
  return {
    dev: st.dev.toString(),
    ino: st.ino.toString(),
    size: Number(st.size),
    mtimeNs: st.mtimeNs.toString(),
    ctimeNs: st.ctimeNs.toString(),
  };
}

/** The identity of `file` now, or undefined when it cannot be stat'ed. */
export function statId(file: string): StatId | undefined {
  try {
    return statIdOf(fs.statSync(file, { bigint: true }));
  } catch {
    return undefined;
  }
}

/** Whether two identities are the same file with the same content (both known). */
export function sameStat(a: StatId | undefined, b: StatId | undefined): boolean {
  return (
    !!a &&
    !!b &&
    a.dev === b.dev &&
    a.ino === b.ino &&
    a.size === b.size &&
    a.mtimeNs === b.mtimeNs &&
    a.ctimeNs === b.ctimeNs
  );
}
