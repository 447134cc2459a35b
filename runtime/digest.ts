/**
 * Content digests (sha256, hex). Digests of files are cached by (path, size, mtime, inode, ctime), so an
 * unchanged big file is never hashed twice in one process, nor across processes when a cache file is used.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "./atomic";
import { type StatId, sameStat, statId, statIdOf } from "./stat-id";

export function sha256(data: Uint8Array | string): string {
  return crypto.createHash("sha256").update(data).digest("hex");
}

/** SHA-1 (hex): what a WIM records for a file's data (wimlib-imagex dir --detailed shows it). */
export function sha1(data: Uint8Array | string): string {
  return crypto.createHash("sha1").update(data).digest("hex");
}

/** A cached digest of a file while it has the identity (runtime/stat-id.ts) the entry holds. */
interface CacheEntry extends StatId {
  digest: string;
  /** absent when only the sha256 was asked for ({@link fileSha256}) */
  sha1?: string;
}

const memoryCache = new Map<string, CacheEntry>();

export interface FileDigests {
  sha256: string;
  /** SHA-1, the hash WIM files use for their streams. */
  sha1: string;
  size: number;
}

/** sha256 of a file's content; streams the file (no size limit), cached by path+size+mtime+ctime+inode. */
export function sha256File(file: string): string {
  return fileSha256(file).sha256;
}

/**
 * sha256 and size of a file, cached like {@link fileDigests} but without the SHA-1 (what a WIM's or an ISO's
 * identity needs: one hash of a 400 MB file instead of two).
 */
export function fileSha256(file: string): { sha256: string; size: number } {
  const k = statIdOf(fs.statSync(file, { bigint: true }));
  const hit = memoryCache.get(file);
  if (hit && sameStat(hit, k)) return { sha256: hit.digest, size: hit.size };
  const [digest] = hashFile(file, ["sha256"]);
  memoryCache.set(file, { ...k, digest });
  return { sha256: digest, size: k.size };
}

/** sha256 and SHA-1 of a file in one pass, cached like {@link sha256File}. */
export function fileDigests(file: string): FileDigests {
  const k = statIdOf(fs.statSync(file, { bigint: true }));
  const hit = memoryCache.get(file);
  if (hit?.sha1 !== undefined && sameStat(hit, k)) return { sha256: hit.digest, sha1: hit.sha1, size: hit.size };
  const [digest, sha1] = hashFile(file, ["sha256", "sha1"]);
  memoryCache.set(file, { ...k, digest, sha1 });
  return { sha256: digest, sha1, size: k.size };
}

/** The file's digests (hex) with each algorithm, in one streamed pass. */
function hashFile(file: string, algorithms: readonly string[]): string[] {
  const hashes = algorithms.map((a) => crypto.createHash(a));
  const fd = fs.openSync(file, "r");
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n <= 0) break;
      for (const h of hashes) h.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return hashes.map((h) => h.digest("hex"));
}

// ---------------------------------------------------------------------------------------------------------------
// tree digests: the identity of a big file that is changed in place (the ISO)

/** Bytes per piece of a {@link fileTreeDigest}. */
export const TREE_CHUNK_BYTES = 1 << 20;
/** How a tree digest is written: `sha256-1m:<64 hex>` (a plain 64-hex digest is a sha256 of the whole file). */
export const TREE_DIGEST_PREFIX = "sha256-1m:";

/** A file's tree digest, with the sha256 (hex) of each of its 1 MiB pieces. */
export interface TreeDigest {
  /** `sha256-1m:` + sha256 of the concatenated 32-byte sha256 digests of the pieces, in order. */
  digest: string;
  size: number;
  /** sha256 (hex) of bytes `[i * 1 MiB, min((i + 1) * 1 MiB, size))`; none for an empty file. */
  chunks: string[];
}

/**
 * The tree digest of `chunks` (sha256 hex of each 1 MiB piece): sha256 over their 32-byte values in order,
 * written `sha256-1m:<hex>`. A change of any byte changes its piece's digest and so the tree digest; a file
 * changed in place needs only its changed pieces hashed again (toolchains/open/iso-update.ts).
 */
export function treeDigestOf(chunks: readonly string[]): string {
  const h = crypto.createHash("sha256");
  for (const c of chunks) h.update(Buffer.from(c, "hex"));
  return `${TREE_DIGEST_PREFIX}${h.digest("hex")}`;
}

const treeCache = new Map<string, { key: StatId; tree: TreeDigest }>();

/**
 * The tree digest of a file, cached by its identity like {@link fileSha256}. `reuse`: pieces known from an earlier
 * state of the file (e.g. before an append that keeps them, toolchains/open/wim-appends.ts): piece `i` is taken
 * from `reuse.chunks` where `reuse.keep(i)`, every other piece is read and hashed.
 * @throws when the file is shorter than its size said while it is read (it changed meanwhile)
 */
export function fileTreeDigest(
  file: string,
  reuse?: { chunks: readonly string[]; keep: (piece: number) => boolean },
): TreeDigest {
  const k = statIdOf(fs.statSync(file, { bigint: true }));
  const hit = treeCache.get(file);
  if (hit && sameStat(hit.key, k)) return hit.tree;
  const chunks: string[] = [];
  const fd = fs.openSync(file, "r");
  try {
    const buf = Buffer.allocUnsafe(TREE_CHUNK_BYTES);
    for (let i = 0; i * TREE_CHUNK_BYTES < k.size; i++) {
      const known = reuse?.keep(i) ? reuse.chunks[i] : undefined;
      if (known !== undefined) {
        chunks.push(known);
        continue;
      }
      const n = Math.min(TREE_CHUNK_BYTES, k.size - i * TREE_CHUNK_BYTES);
      for (let got = 0; got < n; ) {
        const r = fs.readSync(fd, buf, got, n - got, i * TREE_CHUNK_BYTES + got);
        if (r <= 0) throw new Error(`${file} changed while it was hashed (ends before byte ${k.size})`);
        got += r;
      }
      chunks.push(sha256(buf.subarray(0, n)));
    }
  } finally {
    fs.closeSync(fd);
  }
  const tree = { digest: treeDigestOf(chunks), size: k.size, chunks };
  treeCache.set(file, { key: k, tree });
  return tree;
}

/**
 * The digest of `file` of the same kind as `like`: its tree digest when `like` is one (`sha256-1m:`), else its
 * sha256 (hex). What compares a file with a digest recorded earlier, whichever kind was recorded.
 */
export function fileDigestLike(file: string, like: string): string {
  return like.startsWith(TREE_DIGEST_PREFIX) ? fileTreeDigest(file).digest : fileSha256(file).sha256;
}

// ---------------------------------------------------------------------------------------------------------------
// vouchers: "these files had these digests while they had these identities", for a later process

/** How many voucher files a folder keeps (the newest; one per distinct list of files and digests). */
const VOUCHERS_KEPT = 32;

/** The voucher file of exactly this list of files and digests in `dir`. */
export function voucherFile(dir: string, files: readonly { path: string; sha256: string }[]): string {
  const key = sha256(stableStringify([...files].map((f) => [f.path, f.sha256]).sort())).slice(0, 32);
  return path.join(dir, `${key}.json`);
}

/**
 * Record, in `dir`, the identity ({@link StatId}: device, inode, size, mtime, ctime) each of `files` has now,
 * when its content is the recorded sha256 (hashed now, between two identical stats; a file that differs or
 * changes meanwhile is left out). A later process ({@link changedFiles}) takes a file with the same identity as
 * unchanged without reading it: the digest cache's rule, across processes. Bookkeeping only (errors ignored);
 * written atomically; the folder keeps the newest {@link VOUCHERS_KEPT}.
 */
export function vouchFor(dir: string, files: readonly { path: string; sha256: string }[]): void {
  try {
    const stats: Record<string, StatId> = {};
    for (const f of files) {
      const a = statId(f.path);
      if (!a || fileSha256(f.path).sha256 !== f.sha256) continue;
      if (sameStat(a, statId(f.path))) stats[f.path] = a;
    }
    fs.mkdirSync(dir, { recursive: true });
    const file = voucherFile(dir, files);
    writeFileAtomic(file, `${JSON.stringify({ version: 1, stats })}\n`);
    const all = fs
      .readdirSync(dir)
      .filter((n) => n.endsWith(".json"))
      .map((n) => ({ n, t: fs.statSync(path.join(dir, n)).mtimeMs }))
      .sort((x, y) => y.t - x.t);
    for (const old of all.slice(VOUCHERS_KEPT)) fs.rmSync(path.join(dir, old.n), { force: true });
  } catch {
    // without a voucher the next check hashes the files
  }
}

/**
 * The paths among `files` whose content is no longer the recorded sha256 (missing or unreadable ones too). A file
 * whose identity is the one vouched for in `dir` ({@link vouchFor}, for exactly this list) is not read.
 */
export function changedFiles(files: readonly { path: string; sha256: string }[], dir?: string): string[] {
  let vouched: Record<string, StatId> = {};
  if (dir) {
    try {
      const v = JSON.parse(fs.readFileSync(voucherFile(dir, files), "utf8")) as {
        version: number;
        stats: Record<string, StatId>;
      };
      if (v?.version === 1 && v.stats && typeof v.stats === "object") vouched = v.stats;
    } catch {
      // no voucher: hash
    }
  }
  const changed: string[] = [];
  for (const f of files) {
    try {
      const v = vouched[f.path];
      if (v && sameStat(v, statId(f.path))) continue;
      if (fileSha256(f.path).sha256 !== f.sha256) changed.push(f.path);
    } catch {
      changed.push(f.path);
    }
  }
  return changed;
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

/**
 * A digest cache kept in a file (JSON), so that separate processes (each `pulumi up`) never rehash an unchanged
 * big file: an entry is reused while the file's size, mtime, ctime and inode are unchanged.
 */
export class PersistentDigestCache {
  private entries: Record<string, CacheEntry> = {};
  private dirty = false;

  constructor(readonly file: string) {
    try {
      const data = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, CacheEntry>;
      if (data && typeof data === "object") this.entries = data;
    } catch {
      // no cache yet, or unreadable: start empty
    }
  }

  /** sha256 (and SHA-1) of `file`, from the cache when its stat matches. */
  digests(file: string): FileDigests {
    const k = statIdOf(fs.statSync(file, { bigint: true }));
    const hit = this.entries[file];
    if (hit?.sha1 !== undefined && sameStat(hit, k)) return { sha256: hit.digest, sha1: hit.sha1, size: hit.size };
    const d = fileDigests(file);
    this.entries[file] = { ...k, digest: d.sha256, sha1: d.sha1 };
    this.dirty = true;
    return d;
  }

  /** Write the cache back (atomically) when something was added. */
  save(): void {
    if (!this.dirty) return;
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    writeFileAtomic(this.file, `${JSON.stringify(sortKeys(this.entries))}\n`);
    this.dirty = false;
  }
}
