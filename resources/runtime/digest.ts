/**
 * Content digests (sha256, hex). Digests of files are cached by (path, size, mtime, inode, ctime), so an
 * unchanged big file is never hashed twice in one process, nor across processes when a cache file is used.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";

export function sha256(data: Uint8Array | string): string {
  return crypto.createHash("sha256").update(data).digest("hex");
}

interface CacheEntry {
  size: number;
  mtimeNs: string;
  ctimeNs: string;
  ino: number;
  digest: string;
}

const memoryCache = new Map<string, CacheEntry>();

function keyOf(st: fs.BigIntStats): Omit<CacheEntry, "digest"> {
  return { size: Number(st.size), mtimeNs: st.mtimeNs.toString(), ctimeNs: st.ctimeNs.toString(), ino: Number(st.ino) };
}

/** sha256 of a file's content; streams the file (no size limit), cached by path+size+mtime+ctime+inode. */
export function sha256File(file: string): string {
  const st = fs.statSync(file, { bigint: true });
  const k = keyOf(st);
  const hit = memoryCache.get(file);
  if (hit && hit.size === k.size && hit.mtimeNs === k.mtimeNs && hit.ctimeNs === k.ctimeNs && hit.ino === k.ino) {
    return hit.digest;
  }
  const hash = crypto.createHash("sha256");
  const fd = fs.openSync(file, "r");
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n <= 0) break;
      hash.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  const digest = hash.digest("hex");
  memoryCache.set(file, { ...k, digest });
  return digest;
}

/** Stable JSON (sorted keys) for hashing and for deterministic outputs. */
export function stableStringify(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object" && !(value instanceof Buffer)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value as Record<string, unknown>).sort()) {
      out[k] = sortKeys((value as Record<string, unknown>)[k]);
    }
    return out;
  }
  return value;
}
