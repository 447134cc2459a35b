/**
 * What a WIM kept across `wimlib-imagex update`: a small record, per WIM, of each in-place append we ran, so that
 * the ISO update (iso-update.ts) knows which part of boot.wim is still the copy in the ISO without reading and
 * comparing 400 MB.
 *
 * wimlib's in-place append (wimlib src/write.c, `overwrite_wim_inplace`) keeps every byte between the header and
 * the end of the old blob table (formats/wim.ts {@link wimKeptEnd}) and writes new resources, a new blob table,
 * the XML data and the header. When it cannot append, it rebuilds into a new file renamed over the WIM (another
 * inode). So an update that ran under our WIM lock, after which the WIM has the same device and inode, is at least
 * as long as the old kept end, and whose new header locates its XML data (and a new blob table) at or past that
 * end, appended: the record says "from identity A to identity B, bytes [header end, keptEnd) unchanged". Anything
 * else records nothing (the ISO update then compares the bytes, as before). Identities are {@link StatId}s: a
 * later write by anyone changes the WIM's mtime/ctime, so a record never vouches for a WIM changed since.
 *
 * The same record keeps the WIM's tree digest (runtime/digest.ts: sha256 over its 1 MiB pieces, the WIM's identity
 * in ImageCommit's state): after an append only the pieces holding the header and those from the old kept end on
 * are hashed again, the others are the recorded ones (the appended WIM keeps those bytes, as above).
 *
 * Where: `<stateDir>/wim-appends/<sha256(path)[:24]>.json` (stateDir: the working folder's `.winpe-lab`), the
 * last {@link KEEP} appends, written atomically.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { WIM_HEADER_BYTES, wimHeaderResources, wimKeptEnd } from "../../formats/wim";
import { writeFileAtomic } from "../../runtime/atomic";
import { fileTreeDigest, TREE_CHUNK_BYTES, type TreeDigest } from "../../runtime/digest";
import { type StatId, sameStat, statId } from "../../runtime/stat-id";

/** How many appends a record keeps (a chain longer than this since the ISO was written falls back to a compare). */
const KEEP = 16;

export interface WimAppend {
  from: StatId;
  to: StatId;
  /** Bytes `[208, keptEnd)` of the WIM at `to` are those of the WIM at `from`. */
  keptEnd: number;
}

interface WimAppendRecord {
  version: 1;
  wim: string;
  appends: WimAppend[];
  /** The WIM's tree digest pieces (runtime/digest.ts) at `stat`: the next append rehashes only what it changed. */
  tree?: { stat: StatId; chunks: string[] };
}

/** The folder of the records of a working folder's WIMs. */
export function wimAppendsDir(stateDir: string): string {
  return path.join(stateDir, "wim-appends");
}

function recordFile(dir: string, wim: string): string {
  const key = crypto.createHash("sha256").update(path.resolve(wim)).digest("hex").slice(0, 24);
  return path.join(dir, `${key}.json`);
}

function readRecord(dir: string, wim: string): WimAppendRecord | undefined {
  try {
    const r = JSON.parse(fs.readFileSync(recordFile(dir, wim), "utf8")) as WimAppendRecord;
    return r?.version === 1 && r.wim === path.resolve(wim) && Array.isArray(r.appends) ? r : undefined;
  } catch {
    return undefined;
  }
}

function readHeader(wim: string): Buffer | undefined {
  try {
    const fd = fs.openSync(wim, "r");
    try {
      const h = Buffer.alloc(WIM_HEADER_BYTES);
      return fs.readSync(fd, h, 0, h.length, 0) === h.length ? h : undefined;
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

/** The WIM before an update: its identity and the end of what an in-place append keeps. */
export interface BeforeAppend {
  stat: StatId;
  keptEnd: number;
  blobTable: { offset: number; size: number };
}

/** Take the WIM's identity and kept end before `wimlib-imagex update` (undefined: not a WIM we can vouch for). */
export function beforeAppend(wim: string): BeforeAppend | undefined {
  const stat = statId(wim);
  const h = readHeader(wim);
  if (!stat || !h) return undefined;
  const keptEnd = wimKeptEnd(h, stat.size);
  const r = wimHeaderResources(h);
  if (keptEnd === undefined || !r) return undefined;
  return { stat, keptEnd, blobTable: { offset: r.blobTable.offset, size: r.blobTable.size } };
}

/**
 * After a successful `wimlib-imagex update` of `wim` (run under the WIM lock): record the append when the WIM is
 * the same file, no shorter than the kept end, and its new header puts the XML data (and a blob table that
 * changed) at or past the kept end; otherwise drop any record of it (a rebuild or something unexpected). Returns
 * whether an append was recorded. Bookkeeping only: a failure to write it costs the next ISO update a compare.
 */
export function afterAppend(dir: string, wim: string, before: BeforeAppend | undefined): boolean {
  const file = recordFile(dir, wim);
  const now = statId(wim);
  const h = readHeader(wim);
  const r = h ? wimHeaderResources(h) : undefined;
  const appended =
    !!before &&
    !!now &&
    !!r &&
    now.dev === before.stat.dev &&
    now.ino === before.stat.ino &&
    now.size >= before.keptEnd &&
    r.xml.offset >= before.keptEnd &&
    ((r.blobTable.offset === before.blobTable.offset && r.blobTable.size === before.blobTable.size) ||
      r.blobTable.offset >= before.keptEnd) &&
    (r.integrity.offset === 0 || r.integrity.offset >= before.keptEnd);
  try {
    if (!appended) {
      fs.rmSync(file, { force: true });
      return false;
    }
    const prior = readRecord(dir, wim);
    const tree = appendedTree(wim, now!, before!, prior?.tree);
    const rec: WimAppendRecord = {
      version: 1,
      wim: path.resolve(wim),
      appends: [...(prior?.appends ?? []), { from: before!.stat, to: now!, keptEnd: before!.keptEnd }].slice(-KEEP),
      ...(tree ? { tree: { stat: now!, chunks: tree.chunks } } : {}),
    };
    fs.mkdirSync(dir, { recursive: true });
    writeFileAtomic(file, `${JSON.stringify(rec)}\n`, 0o644);
    return true;
  } catch {
    return false;
  }
}

/**
 * The appended WIM's tree digest: with the recorded pieces of the WIM before the append (when the record has them
 * for that identity), the first piece (the rewritten header) and every piece from the old kept end on are hashed
 * again, the others kept; else every piece is hashed. Cached in this process (runtime/digest.ts) for the provider
 * that asks next. Undefined when the WIM changed while it was read.
 */
function appendedTree(
  wim: string,
  now: StatId,
  before: BeforeAppend,
  prior: WimAppendRecord["tree"],
): TreeDigest | undefined {
  const T = TREE_CHUNK_BYTES;
  const usable = prior && sameStat(prior.stat, before.stat) && prior.chunks.length === Math.ceil(before.stat.size / T);
  const tree = fileTreeDigest(
    wim,
    usable ? { chunks: prior.chunks, keep: (i) => i >= 1 && (i + 1) * T <= before.keptEnd } : undefined,
  );
  return sameStat(statId(wim), now) && tree.size === now.size ? tree : undefined;
}

/**
 * How much of the WIM as it was at `from` the WIM now (`now`) still holds unchanged, by the recorded appends:
 * the smallest kept end along the chain of appends from `from` to `now` (bytes `[208, end)`), or undefined when
 * no such chain is recorded (the WIM was rebuilt, changed by something else, or the record is gone).
 */
export function keptSince(dir: string, wim: string, from: StatId, now: StatId): number | undefined {
  const rec = readRecord(dir, wim);
  if (!rec) return undefined;
  let cur = now;
  let kept = Number.POSITIVE_INFINITY;
  for (let i = rec.appends.length - 1; i >= 0; i--) {
    const a = rec.appends[i]!;
    if (!sameStat(a.to, cur)) continue;
    kept = Math.min(kept, a.keptEnd);
    cur = a.from;
    if (sameStat(cur, from)) return kept;
  }
  return undefined;
}

/** Drop the record of `wim` (the stack let go of the WIM: unmount), and the folder once empty. */
export function forgetAppends(dir: string, wim: string): void {
  fs.rmSync(recordFile(dir, wim), { force: true });
  try {
    fs.rmdirSync(dir);
  } catch {
    // another WIM's record, or gone
  }
}
