/** Complete writes: the one loop every writer of ours uses (see {@link writeAll}). */
import * as fs from "node:fs";

/**
 * Write every byte of `data` to `fd` (at the file's current offset, or at `position` when given). `write(2)` may
 * write fewer bytes than asked (a nearly full disk does exactly that before it fails with ENOSPC): loop until all
 * is written; a write that cannot make progress throws.
 */
export function writeAll(fd: number, data: Uint8Array | string, position?: number): void {
  const buf = typeof data === "string" ? Buffer.from(data) : data;
  let off = 0;
  while (off < buf.length) {
    const n = fs.writeSync(fd, buf, off, buf.length - off, position === undefined ? null : position + off);
    if (n <= 0) {
      const err = new Error(`ENOSPC: no space left on device, write`) as NodeJS.ErrnoException;
      err.code = "ENOSPC";
      throw err;
    }
    off += n;
  }
}
