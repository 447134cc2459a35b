/**
 * Update an ISO written by makeMedia (toolchains/open/makemedia.ts) in place, so that it becomes byte for byte the
 * ISO a full write of the media would produce, at the cost of what changed rather than of the ISO's size.
 *
 * Why it can: the full writer's layout (makemedia.ts, {@link ISO_LAYOUT}) puts boot.wim's data after every other
 * media file and the BCD stores after boot.wim; `wimlib-imagex update` (ImageCommit) appends to boot.wim and
 * rewrites its header. So after an edit, a full write differs from the old ISO only in: the volume size of the
 * primary and Joliet volume descriptors (ECMA-119 8.4.8), the extent and data length of the changed files'
 * directory records in both trees (9.1.3, 9.1.4), boot.wim's first block and everything from the block holding its
 * old end (its appended part, the BCD stores, which move, and the padding), and the data of any other changed file
 * that keeps its block count. This module checks every assumption that makes that true on the ISO itself, and
 * says why not (a full write follows) when one fails:
 *
 * - the ISO is the one we wrote last: our record of it (`<workspace>/.winpe-lab/iso/<key>.json`, written after each
 *   write) has its tree digest (runtime/digest.ts: sha256 over its 1 MiB pieces; the record keeps each piece's
 *   sha256, so an update hashes only the pieces it changes), equal to what the resource's state says, and its size, inode, mtime and ctime, equal to
 *   the file's now (the digest cache's rule, runtime/digest.ts);
 * - it has our layout: application identifier {@link ISO_LAYOUT}, the label, the fixed date, Rock Ridge and Joliet,
 *   the data preparer identifier of the xorriso, libisoburn, libisofs and libburn installed now (another version
 *   could lay the same media out differently: known from the record while {@link writerKey} is unchanged, else from
 *   `xorriso -version`), El Torito entries whose images are the workspace's boot images now (compared byte for
 *   byte), and every file's extent where the layout puts it;
 * - the media have the same files and folders, with the same names;
 * - each file is unchanged (its size, inode, mtime and ctime as recorded when the ISO was written; else compared
 *   with the ISO's copy), or keeps its block count, or is in the tail (boot.wim, the BCD stores);
 * - boot.wim was only appended to: wimlib's in-place append (wimlib src/write.c, `overwrite_wim_inplace`: "(OLD)
 *   Resources ... (OLD) Blob table ... (NEW) Resources ..."; it seeks to the end of the old XML data, or of the
 *   old integrity table, or of the old blob table when no image changed, and rewrites the header) keeps every byte
 *   between the header and the end of the old blob table, which the old header (the ISO's copy) locates. Those
 *   bytes, from boot.wim's second block to the block holding that end, are kept in the ISO; the first block and
 *   everything after are written anew. That they are unchanged is known from the record of the appends our
 *   commits ran (wim-appends.ts: same file, header checked after each) from the boot.wim the ISO holds to the one
 *   there now; without such a record they are read and compared with the ISO's copy (the new ISO's changed pieces
 *   are hashed in the same pass).
 *
 * Crash safety (ext4 has no reflink, so no copy-on-write clone): a redo/undo journal beside the ISO
 * (`.<name>.winpe-lab-journal`) holds every byte to write, the old bytes it replaces, the ISO's inode and a sha256
 * of itself; it is written to a temporary file, fsynced and renamed before the first byte of the ISO changes, and
 * removed (and the folder fsynced) after the ISO is fsynced. The apply IS the replay of the journal: first the
 * bytes past the old end (growth; a full disk fails here, and the ISO is truncated back, untouched), fsync, then
 * the bytes inside the old ISO, a truncate to the new size, fsync. {@link recoverIsoJournal} (run by the next write
 * and by delete, under the ISO lock) replays a journal a killed update left: forward (the new ISO), or, when that
 * fails (e.g. no space), backward from the undo bytes (the old ISO); a journal whose ISO was replaced since (another
 * inode) is dropped. What a reader sees: until the journal is renamed in, the old ISO; while the bytes past the old
 * end are written, still the old ISO (its volume ends where it ended); while the bytes inside it are written (a few
 * writes, milliseconds), a mix; after that, the new ISO. After a kill in that window the file stays a mix until the
 * next `up` or `destroy` (refresh reports it as drift, and writes nothing).
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  bothEndian32,
  DR,
  fdReader,
  ISO_BLOCK,
  IsoFormatError,
  type IsoImage,
  readIsoImage,
  type TreeEntry,
  VD,
} from "../../formats/iso9660";
import { WIM_HEADER_BYTES, wimKeptEnd } from "../../formats/wim";
import { fsyncDir, removeStaleTemps, tempPathFor, writeAll, writeFileAtomic } from "../../runtime/atomic";
import { TREE_CHUNK_BYTES, treeDigestOf } from "../../runtime/digest";
import { runTool } from "../../runtime/exec";
import { type StatId, sameStat, statId } from "../../runtime/stat-id";
import {
  DEFAULT_ISO_EPOCH,
  dataOrder,
  ISO_LAYOUT,
  ISO_PADDING_BLOCKS,
  type MakeMediaOptions,
  type MediaPlan,
  planMedia,
  xorrisoTime,
} from "./makemedia";
import { MediaError, WORKSPACE } from "./media";
import { keptSince, wimAppendsDir } from "./wim-appends";

// ---------------------------------------------------------------------------------------------------------------
// identities and our record of the last write

export { type StatId, sameStat, statId };

/** Our record of the ISO we wrote last at a path (the basis of the next in-place update). */
export interface IsoRecord {
  version: 2;
  iso: string;
  layout: string;
  /** The ISO's tree digest (runtime/digest.ts `treeDigestOf`). */
  digest: string;
  /** sha256 (hex) of each 1 MiB piece of the ISO (what `digest` is made of). */
  chunks: string[];
  size: number;
  /** The ISO file right after our write. */
  stat: StatId;
  /** The media files the ISO holds, as they were when they were read for it (relative path -> identity). */
  files: Record<string, StatId>;
  /** How that write went (diagnostics, e.g. for `npm run bench`: where an update's time went). */
  last?: { how: "full" | "update"; written: number; ms: Record<string, number>; keptBy?: "record" | "compare" };
  /**
   * The xorriso that wrote it: {@link writerKey} then, and the data preparer identifier it writes (read from the
   * ISO). While the key is the same, an update needs no `xorriso -version` to know the writer has not changed.
   */
  writer?: { key: string; preparer: string };
}

/**
 * What identifies the installed xorriso without running it: the binary `xorriso` resolves to on PATH (its real
 * path and identity), Debian's package database (`/var/lib/dpkg/status` changes whenever a package, libisofs or
 * libburn among them, is installed, upgraded or removed) and LD_LIBRARY_PATH. Undefined where there is no dpkg
 * database or no xorriso on PATH (then `xorriso -version` is asked every time).
 */
export function writerKey(): string | undefined {
  let exe: string | undefined;
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, "xorriso");
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) {
        exe = fs.realpathSync(p);
        break;
      }
    } catch {
      // next
    }
  }
  const dpkg = statId("/var/lib/dpkg/status");
  const bin = exe ? statId(exe) : undefined;
  if (!exe || !bin || !dpkg) return undefined;
  return crypto
    .createHash("sha256")
    .update(JSON.stringify({ exe, bin, dpkg, ld: process.env.LD_LIBRARY_PATH ?? "" }))
    .digest("hex");
}

/** The data preparer identifier an ISO carries (its primary volume descriptor), or undefined. */
export function isoPreparer(iso: string): string | undefined {
  try {
    const fd = fs.openSync(iso, "r");
    try {
      return readIsoImage(fdReader(fd, fs.readSync), fs.fstatSync(fd).size).pvd.preparerId;
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

/** Where the record of `iso` lives: `<stateDir>/iso/<sha256(path)[:24]>.json` (stateDir: `<workspace>/.winpe-lab`). */
export function isoRecordFile(stateDir: string, iso: string): string {
  const key = crypto.createHash("sha256").update(path.resolve(iso)).digest("hex").slice(0, 24);
  return path.join(stateDir, "iso", `${key}.json`);
}

export function readIsoRecord(stateDir: string, iso: string): IsoRecord | undefined {
  try {
    const r = JSON.parse(fs.readFileSync(isoRecordFile(stateDir, iso), "utf8")) as IsoRecord;
    // version 1 (a whole-file sha256, no pieces) cannot be updated cheaply: the next write is a full one
    return r && r.version === 2 && r.iso === path.resolve(iso) && Array.isArray(r.chunks) ? r : undefined;
  } catch {
    return undefined;
  }
}

/** Write the record (atomically: temporary file, fsync, rename). */
export function writeIsoRecord(stateDir: string, r: IsoRecord): void {
  const file = isoRecordFile(stateDir, r.iso);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomic(file, `${JSON.stringify(r)}\n`, 0o644);
}

/** Remove the record of `iso` (and its folder when empty). */
export function forgetIsoRecord(stateDir: string, iso: string): void {
  const file = isoRecordFile(stateDir, iso);
  fs.rmSync(file, { force: true });
  removeStaleTemps(path.dirname(file));
  try {
    fs.rmdirSync(path.dirname(file));
  } catch {
    // not empty (another ISO's record) or gone
  }
}

// ---------------------------------------------------------------------------------------------------------------
// the media as they are now

export interface MediaScan {
  /** relative path (media case) -> absolute path and identity, taken before anything is read. */
  files: Map<string, { abs: string; stat: StatId }>;
  dirs: Set<string>;
  /** Entries that are neither files nor folders (symbolic links, devices): the ISO cannot be updated in place. */
  others: string[];
}

export function scanMedia(media: string): MediaScan {
  const files = new Map<string, { abs: string; stat: StatId }>();
  const dirs = new Set<string>();
  const others: string[] = [];
  const walk = (abs: string, rel: string) => {
    for (const e of fs.readdirSync(abs, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      const p = path.join(abs, e.name);
      if (e.isDirectory()) {
        dirs.add(r);
        walk(p, r);
      } else if (e.isFile()) {
        const st = statId(p);
        if (st) files.set(r, { abs: p, stat: st });
      } else others.push(r);
    }
  };
  walk(media, "");
  return { files, dirs, others };
}

/** The media file identities to record after a full write: those unchanged from before to after the write. */
export function stableFiles(before: MediaScan, after: MediaScan): Record<string, StatId> {
  const out: Record<string, StatId> = {};
  for (const [rel, b] of before.files) {
    const a = after.files.get(rel);
    if (a && sameStat(a.stat, b.stat)) out[rel] = b.stat;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// low-level I/O

function readFully(fd: number, b: Buffer, position: number, what: string): void {
  let got = 0;
  while (got < b.length) {
    const n = fs.readSync(fd, b, got, b.length - got, position + got);
    if (n <= 0) throw new IsoFormatError(`${what}: short read at byte ${position + got}`);
    got += n;
  }
}

const CHUNK = 4 << 20;
const ZEROS = Buffer.alloc(CHUNK);
const blocksOf = (n: number) => Math.ceil(n / ISO_BLOCK);

// ---------------------------------------------------------------------------------------------------------------
// the journal

const JOURNAL_MAGIC = Buffer.from("WINPE-LAB ISO JOURNAL 1\n", "latin1");

/** One range of the new ISO: its new bytes (`payload` offset in the journal, or zeros) and, inside the old size, the old. */
interface JournalOp {
  offset: number;
  length: number;
  /** Offset of the new bytes in the payload area; -1 for zeros. */
  payload: number;
  /** Offset of the old bytes (undo) in the payload area; -1 past the old end. */
  undo: number;
  /** A field of the volume descriptors or of a directory record (written last). */
  meta: boolean;
}

interface JournalHeader {
  iso: string;
  dev: string;
  ino: string;
  oldSize: number;
  newSize: number;
  /**
   * sha256 of the ISO's first `length` bytes that no op writes (its descriptors, path tables, directories, boot
   * catalog and boot image, less the fields the update changes): a file that took the ISO's place (even under the
   * same, reused inode number) is not replayed onto.
   */
  guard: { length: number; sha256: string };
  ops: JournalOp[];
}

/** Bytes of the ISO the journal's guard covers. */
const GUARD_BYTES = 1 << 20;

/** sha256 of `[0, length)` of the file `fd` without the ranges of `ops`. */
function guardHash(fd: number, length: number, ops: ReadonlyArray<{ offset: number; length: number }>): string {
  const h = crypto.createHash("sha256");
  const b = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const n = fs.readSync(fd, b, got, length - got, got);
    if (n <= 0) break;
    got += n;
  }
  let cur = 0;
  for (const op of [...ops].sort((x, y) => x.offset - y.offset)) {
    if (op.offset >= length) break;
    if (op.offset > cur) h.update(b.subarray(cur, op.offset));
    cur = Math.max(cur, op.offset + op.length);
  }
  if (cur < length) h.update(b.subarray(cur, length));
  h.update(`${got}`);
  return h.digest("hex");
}

/** The journal of `iso`: beside it, hidden, not a temporary file (removeStaleTemps must never take it). */
export function journalPath(iso: string): string {
  return path.join(path.dirname(iso), `.${path.basename(iso)}.winpe-lab-journal`);
}

interface ParsedJournal {
  header: JournalHeader;
  /** Byte offset of the payload area in the journal file. */
  payloadStart: number;
}

/** Read and check a journal (magic, header, its sha256 trailer); undefined when it is not whole. */
function readJournal(fd: number, size: number): ParsedJournal | undefined {
  if (size < JOURNAL_MAGIC.length + 4 + 32) return undefined;
  const head = Buffer.alloc(JOURNAL_MAGIC.length + 4);
  readFully(fd, head, 0, "journal");
  if (!head.subarray(0, JOURNAL_MAGIC.length).equals(JOURNAL_MAGIC)) return undefined;
  const hlen = head.readUInt32LE(JOURNAL_MAGIC.length);
  const payloadStart = JOURNAL_MAGIC.length + 4 + hlen;
  if (payloadStart + 32 > size) return undefined;
  // the trailer: sha256 of everything before it
  const h = crypto.createHash("sha256");
  const buf = Buffer.allocUnsafe(CHUNK);
  for (let at = 0; at < size - 32; ) {
    const n = Math.min(CHUNK, size - 32 - at);
    readFully(fd, buf.subarray(0, n), at, "journal");
    h.update(buf.subarray(0, n));
    at += n;
  }
  const trailer = Buffer.alloc(32);
  readFully(fd, trailer, size - 32, "journal");
  if (!h.digest().equals(trailer)) return undefined;
  const hb = Buffer.alloc(hlen);
  readFully(fd, hb, JOURNAL_MAGIC.length + 4, "journal");
  return { header: JSON.parse(hb.toString("utf8")) as JournalHeader, payloadStart };
}

/**
 * Test hook (the fault campaign, test/toolchains/iso-update.test.ts): with `WINPE_LAB_FAULT_ISO_UPDATE` set, the
 * update stops (writes `WINPE_LAB_FAULT_SIGNAL`, then waits to be killed) at that point: `journal` (the journal
 * written and fsynced as a temporary file, not yet put in place), `0` (the journal in place, the ISO untouched) or
 * `n` (after the n-th write into the ISO).
 */
function faultPoint(n: number | "journal"): void {
  const want = process.env.WINPE_LAB_FAULT_ISO_UPDATE;
  if (want === undefined || want === "" || want !== String(n)) return;
  const signal = process.env.WINPE_LAB_FAULT_SIGNAL;
  if (signal) fs.writeFileSync(signal, `${process.pid} iso-update ${n}\n`);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 600_000);
}

type ReplayOutcome = "forward" | "back" | "dropped";

/**
 * Apply a journal to its ISO (see the module comment for the order) and remove it. On a failure of the forward
 * replay the old bytes are put back and the ISO truncated to its old size (`back`; `throwOnBack` rethrows the
 * failure after that). A journal that is not whole, or whose ISO is gone or is another file now, is removed
 * (`dropped`): the ISO was not touched by it, or is not the file it was for.
 */
function replayJournal(
  jpath: string,
  opts: { faults: boolean; throwOnBack: boolean },
): { outcome: ReplayOutcome; why?: string; written: number } {
  const jfd = fs.openSync(jpath, "r");
  let parsed: ParsedJournal | undefined;
  try {
    parsed = readJournal(jfd, fs.fstatSync(jfd).size);
  } catch {
    parsed = undefined;
  }
  const drop = (why: string) => {
    fs.closeSync(jfd);
    fs.rmSync(jpath, { force: true });
    fsyncDir(path.dirname(jpath));
    return { outcome: "dropped" as const, why, written: 0 };
  };
  if (!parsed) return drop("the journal is not whole (it was never put in place: the ISO is untouched)");
  const { header: h, payloadStart } = parsed;
  const st = statId(h.iso);
  if (!st) return drop(`${h.iso} is gone`);
  if (st.dev !== h.dev || st.ino !== h.ino) return drop(`${h.iso} was replaced since`);
  const fd = fs.openSync(h.iso, "r+");
  if (guardHash(fd, h.guard.length, h.ops) !== h.guard.sha256) {
    fs.closeSync(fd);
    return drop(`${h.iso} was replaced since (its volume descriptors and directories are another ISO's)`);
  }
  let written = 0;
  const buf = Buffer.allocUnsafe(CHUNK);
  const put = (op: JournalOp, from: number | "zeros") => {
    for (let at = 0; at < op.length; ) {
      const n = Math.min(CHUNK, op.length - at);
      let data: Buffer;
      if (from === "zeros") data = ZEROS.subarray(0, n);
      else {
        readFully(jfd, buf.subarray(0, n), payloadStart + from + at, "journal");
        data = buf.subarray(0, n);
      }
      writeAll(fd, data, op.offset + at);
      at += n;
      written++;
      if (opts.faults) faultPoint(written);
    }
  };
  const growth = h.ops.filter((o) => o.offset >= h.oldSize);
  const inside = h.ops.filter((o) => o.offset < h.oldSize);
  const order = [...inside.filter((o) => !o.meta), ...inside.filter((o) => o.meta)];
  try {
    try {
      if (opts.faults) faultPoint(0);
      for (const op of growth) put(op, op.payload < 0 ? "zeros" : op.payload);
      fs.fsyncSync(fd);
      for (const op of order) put(op, op.payload < 0 ? "zeros" : op.payload);
      if (fs.fstatSync(fd).size !== h.newSize) fs.ftruncateSync(fd, h.newSize);
      fs.fsyncSync(fd);
    } catch (e) {
      // put the old ISO back: the old bytes of every range inside it, its old size
      for (const op of inside) {
        if (op.undo < 0) continue;
        const undoOp = { ...op, length: Math.min(op.length, h.oldSize - op.offset) };
        put(undoOp, op.undo);
      }
      fs.ftruncateSync(fd, h.oldSize);
      fs.fsyncSync(fd);
      fs.closeSync(jfd);
      fs.rmSync(jpath, { force: true });
      fsyncDir(path.dirname(jpath));
      if (opts.throwOnBack) {
        const err = new Error(
          `${h.iso}: the in-place update failed (${(e as Error).message}); the old ISO was put back`,
        ) as NodeJS.ErrnoException;
        err.code = (e as NodeJS.ErrnoException).code;
        throw err;
      }
      return { outcome: "back", why: (e as Error).message, written };
    }
  } finally {
    fs.closeSync(fd);
  }
  fs.closeSync(jfd);
  fs.rmSync(jpath, { force: true });
  fsyncDir(path.dirname(jpath));
  return { outcome: "forward", written };
}

/**
 * Finish or undo what a killed in-place update of `iso` left (its journal), and remove the journal's own leftover
 * temporary files. Run under the ISO lock, before any write and before delete. Returns what it did, for notices.
 */
export function recoverIsoJournal(iso: string): string[] {
  const notes: string[] = [];
  const jpath = journalPath(iso);
  for (const t of removeStaleTemps(path.dirname(iso), path.basename(jpath)))
    notes.push(`removed ${t}, an ISO journal never put in place (the ISO was not touched)`);
  if (!fs.existsSync(jpath)) return notes;
  const r = replayJournal(jpath, { faults: false, throwOnBack: false });
  if (r.outcome === "forward") notes.push(`completed the interrupted in-place update of ${iso} (journal ${jpath})`);
  else if (r.outcome === "back")
    notes.push(`undid the interrupted in-place update of ${iso}: the old ISO is back (${r.why})`);
  else notes.push(`removed the journal ${jpath} of an interrupted update: ${r.why}`);
  return notes;
}

/** Whether an interrupted in-place update left its journal beside `iso` (for refresh: drift, nothing written). */
export function interruptedUpdate(iso: string): string | undefined {
  const j = journalPath(iso);
  return fs.existsSync(j) ? j : undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// planning

/** The data preparer identifier xorriso writes (ECMA-119 8.4.21), from `xorriso -version` of the one installed. */
export async function xorrisoPreparer(resource: string): Promise<string> {
  const r = await runTool("xorriso", ["-version"], { resource });
  const v = (label: RegExp) => {
    const m = label.exec(r.stdout);
    if (!m) throw new MediaError(`xorriso -version did not say ${label.source}`);
    return m[1]!;
  };
  const x = v(/^xorriso version\s*:\s*(\S+)/m);
  const ts = v(/^Version timestamp\s*:\s*(\S+)/m);
  const isoburn = v(/^libisoburn\s+in use\s*:\s*(\S+)/m);
  const isofs = v(/^libisofs\s+in use\s*:\s*(\S+)/m);
  const burn = v(/^libburn\s+in use\s*:\s*(\S+)/m);
  return `XORRISO-${x} ${ts}, LIBISOBURN-${isoburn}, LIBISOFS-${isofs}, LIBBURN-${burn}`;
}

/** Where the new bytes of a range come from while planning. */
type Source = { kind: "zeros" } | { kind: "buf"; buf: Buffer } | { kind: "file"; file: string; offset: number };

interface PlanOp {
  offset: number;
  length: number;
  src: Source;
  meta: boolean;
}

/**
 * Processes holding a lock on `file` (from /proc/locks: POSIX, OFD and flock locks, e.g. QEMU's image locks on a
 * `-cdrom` it runs from): their pids (-1 for an OFD lock, which has no owner process). Empty where /proc/locks
 * cannot be read.
 */
export function lockHolders(file: string): number[] {
  let text: string;
  let dev: bigint;
  let ino: bigint;
  try {
    const st = fs.statSync(file, { bigint: true });
    dev = st.dev;
    ino = st.ino;
    text = fs.readFileSync("/proc/locks", "utf8");
  } catch {
    return [];
  }
  // glibc's dev_t: major = bits 8-19 and 32-43, minor = bits 0-7 and 20-31
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  const out: number[] = [];
  for (const line of text.split("\n")) {
    const m = /^\d+:\s+(?:->\s+)?\S+\s+\S+\s+\S+\s+(-?\d+)\s+([0-9a-f]+):([0-9a-f]+):(\d+)\s/.exec(line);
    if (!m) continue;
    if (BigInt(`0x${m[2]}`) === major && BigInt(`0x${m[3]}`) === minor && BigInt(m[4]!) === ino) out.push(Number(m[1]));
  }
  return out;
}

/** What an in-place update will do. */
export interface UpdatePlan {
  iso: string;
  oldSize: number;
  newSize: number;
  ops: PlanOp[];
  /**
   * boot.wim bytes kept in place that no record of appends vouches for: compared with the media's boot.wim while
   * the new ISO's changed pieces are hashed.
   */
  keep?: { isoOffset: number; wimFile: string; wimOffset: number; length: number };
  /** How boot.wim's kept part is known to be unchanged: `record` (wim-appends.ts), `compare`, or none kept. */
  keptBy?: "record" | "compare";
  /** The old ISO's pieces (its record): those no write touches are the new ISO's too. */
  oldChunks: string[];
  /** The record to write after the update (digest and the ISO's identity filled in then). */
  files: Record<string, StatId>;
  /** For the progress line: what changed. */
  changed: string[];
}

export type PlanResult = { plan: UpdatePlan } | { fallback: string };

interface PlanInput {
  plan: MediaPlan;
  iso: string;
  record: IsoRecord | undefined;
  previousDigest: string;
  preparer: string;
  epoch: number;
  /**
   * How much of boot.wim (`wim`) as it was at `from` (the copy in the ISO) is unchanged in the one there now, by
   * the record of our appends (wim-appends.ts `keptSince`): bytes `[208, end)`; undefined when unknown.
   */
  wimKept?: (wim: string, from: StatId, now: StatId) => number | undefined;
}

/** Build the list of writes that turn the ISO into a full write of the media now, or say why it cannot. */
export function planUpdate(inp: PlanInput): PlanResult {
  const { plan, iso, record } = inp;
  const fallback = (why: string): PlanResult => ({ fallback: why });
  if (!record) return fallback("no record of an earlier write of this ISO by winpe-lab");
  if (record.layout !== ISO_LAYOUT) return fallback(`the ISO has layout '${record.layout}', not '${ISO_LAYOUT}'`);
  if (record.digest !== inp.previousDigest) return fallback("the ISO is not the one the stack's state records");
  const isoStat = statId(iso);
  if (!sameStat(isoStat, record.stat))
    return fallback("the ISO file changed since winpe-lab wrote it (size, inode or times differ)");
  const oldSize = isoStat!.size;
  if (record.chunks.length !== Math.ceil(oldSize / TREE_CHUNK_BYTES))
    return fallback("the record's pieces do not cover the ISO");

  const fd = fs.openSync(iso, "r");
  try {
    const read = fdReader(fd, fs.readSync);
    let img: IsoImage;
    try {
      img = readIsoImage(read, oldSize);
    } catch (e) {
      return fallback(`the ISO cannot be read as ours: ${(e as Error).message}`);
    }
    // our layout, options and writer
    if (img.pvd.applicationId !== ISO_LAYOUT) return fallback("the ISO does not carry winpe-lab's layout identifier");
    if (img.pvd.preparerId !== inp.preparer)
      return fallback(`the ISO was written by ${img.pvd.preparerId}; the xorriso here is ${inp.preparer}`);
    if (img.pvd.volumeId !== plan.label) return fallback(`the ISO's label is ${img.pvd.volumeId}, not ${plan.label}`);
    if (img.pvd.creationDate !== xorrisoTime(inp.epoch)) return fallback("the ISO's dates are not the fixed date");
    if (!img.rockRidge || !img.joliet || !img.jolietTree) return fallback("the ISO lacks Rock Ridge or Joliet");

    // El Torito: the same entries, whose images are the workspace's boot images now
    const cat = img.bootCatalog;
    const wantImages = [...(plan.bios ? [{ platform: 0, file: plan.bios }] : []), { platform: 0xef, file: plan.uefi }];
    if (!cat || cat.entries.length !== wantImages.length) return fallback("the ISO's boot entries differ");
    const hidden: Array<[number, number]> = [];
    for (const [i, w] of wantImages.entries()) {
      const e = cat.entries[i]!;
      if (e.platform !== w.platform) return fallback("the ISO's boot entries differ");
      const want = fs.readFileSync(w.file);
      if (!read(e.loadRba * ISO_BLOCK, want.length).equals(want))
        return fallback(`the boot image ${path.basename(w.file)} is not the one in the ISO`);
      hidden.push([e.loadRba, blocksOf(want.length)]);
    }

    // the same files and folders
    const scan = scanMedia(plan.media);
    if (scan.others.length > 0) return fallback(`the media hold ${scan.others[0]}, neither a file nor a folder`);
    const isoPaths = [...img.isoTree.keys()].sort();
    const mediaPaths = [...scan.files.keys(), ...scan.dirs].sort();
    const jolietPaths = [...img.jolietTree.keys()].sort();
    if (isoPaths.join("\n") !== mediaPaths.join("\n") || jolietPaths.join("\n") !== mediaPaths.join("\n"))
      return fallback("files or folders were added, removed or renamed");
    for (const d of scan.dirs) {
      if (!img.isoTree.get(d)!.isDir || !img.jolietTree.get(d)!.isDir)
        return fallback(`${d} is a folder, the ISO has a file`);
    }
    const entryOf = (rel: string): { iso: TreeEntry; joliet: TreeEntry } | string => {
      const a = img.isoTree.get(rel)!;
      const b = img.jolietTree!.get(rel)!;
      if (a.isDir || b.isDir) return `${rel} is a file, the ISO has a folder`;
      if (a.records.length !== 1 || b.records.length !== 1) return `${rel} has several extents in the ISO`;
      if (a.records[0]!.extent !== b.records[0]!.extent || a.records[0]!.size !== b.records[0]!.size)
        return `the ISO's trees disagree about ${rel}`;
      return { iso: a, joliet: b };
    };

    // every file where the layout puts it: dataOrder, consecutive whole blocks, then the padding
    const order = dataOrder([...scan.files.keys()].sort());
    const entries = new Map<string, { iso: TreeEntry; joliet: TreeEntry }>();
    for (const rel of order) {
      const e = entryOf(rel);
      if (typeof e === "string") return fallback(e);
      entries.set(rel, e);
    }
    const ext = (rel: string) => entries.get(rel)!.iso.records[0]!.extent;
    const sizeIn = (rel: string) => entries.get(rel)!.iso.records[0]!.size;
    if (order.some((rel) => sizeIn(rel) === 0 || scan.files.get(rel)!.stat.size === 0))
      return fallback("the media hold an empty file (its place in the layout is not fixed)");
    let pos = ext(order[0]!);
    const lastHidden = hidden.reduce((m, [s, n]) => Math.max(m, s + n), 0);
    if (pos < lastHidden) return fallback("the ISO's files do not follow its boot images");
    for (const rel of order) {
      if (ext(rel) !== pos) return fallback(`${rel} is not where the layout puts it (an ISO of another layout)`);
      pos += blocksOf(sizeIn(rel));
    }
    if (pos + ISO_PADDING_BLOCKS !== img.pvd.volumeSpaceSize) return fallback("the ISO's padding is not xorriso's");

    // what changed
    const wimRel = order.find((r) => r.toLowerCase() === WORKSPACE.bootWim.toLowerCase());
    if (!wimRel) return fallback("the media have no sources/boot.wim");
    const wimIndex = order.indexOf(wimRel);
    const head = order.slice(0, wimIndex);
    const tail = order.slice(wimIndex + 1); // the BCD stores
    const ops: PlanOp[] = [];
    const changed: string[] = [];
    const files: Record<string, StatId> = {};
    const newPlace = new Map<string, { extent: number; size: number }>();
    const sameAsIso = (rel: string, abs: string, size: number): boolean => {
      if (size !== sizeIn(rel)) return false;
      const a = Buffer.allocUnsafe(Math.min(CHUNK, size));
      const b = Buffer.allocUnsafe(a.length);
      const f = fs.openSync(abs, "r");
      try {
        for (let at = 0; at < size; at += a.length) {
          const n = Math.min(a.length, size - at);
          readFully(f, a.subarray(0, n), at, abs);
          readFully(fd, b.subarray(0, n), ext(rel) * ISO_BLOCK + at, iso);
          if (!a.subarray(0, n).equals(b.subarray(0, n))) return false;
        }
      } finally {
        fs.closeSync(f);
      }
      return true;
    };
    for (const rel of head) {
      const m = scan.files.get(rel)!;
      files[rel] = m.stat;
      if (sameStat(m.stat, record.files[rel]) || sameAsIso(rel, m.abs, m.stat.size)) continue;
      const data = fs.readFileSync(m.abs);
      if (blocksOf(data.length) !== blocksOf(sizeIn(rel)))
        return fallback(`${rel} changed its size from ${sizeIn(rel)} to ${data.length} bytes (its block count)`);
      changed.push(rel);
      ops.push({ offset: ext(rel) * ISO_BLOCK, length: data.length, src: { kind: "buf", buf: data }, meta: false });
      const pad = blocksOf(data.length) * ISO_BLOCK - data.length;
      if (pad > 0)
        ops.push({ offset: ext(rel) * ISO_BLOCK + data.length, length: pad, src: { kind: "zeros" }, meta: false });
      if (data.length !== sizeIn(rel)) newPlace.set(rel, { extent: ext(rel), size: data.length });
    }

    // boot.wim: its first block and what follows its old end are new; the rest must be the ISO's copy
    const wim = scan.files.get(wimRel)!;
    files[wimRel] = wim.stat;
    const wimStart = ext(wimRel) * ISO_BLOCK;
    const oldWim = sizeIn(wimRel);
    const newWim = wim.stat.size;
    const wimChanged = !sameStat(wim.stat, record.files[wimRel]);
    if (newWim >= 0xffffffff - ISO_BLOCK) return fallback("boot.wim reaches 4 GiB (several extents)");
    let keep: UpdatePlan["keep"];
    let keptBy: UpdatePlan["keptBy"];
    // the tail region rewritten from `rewriteFrom` to the new end: boot.wim's new part, the BCD stores, the padding
    let rewriteFrom: number | undefined;
    const tailSources: PlanOp[] = [];
    if (wimChanged) {
      // where the old WIM's own data end (its header, WIM format: blob table resource header at 0x30)
      const oldKeep = wimKeptEnd(read(wimStart, Math.min(oldWim, WIM_HEADER_BYTES)), oldWim);
      if (oldKeep === undefined) return fallback("boot.wim in the ISO has no WIM header that locates its blob table");
      if (newWim < oldKeep)
        return fallback(`boot.wim shrank from ${oldWim} to ${newWim} bytes (rebuilt?): its copy cannot be kept`);
      const keptBlocks = Math.floor(oldKeep / ISO_BLOCK);
      changed.push(`${wimRel} (${oldWim} -> ${newWim} bytes)`);
      const from = record.files[wimRel];
      const vouched = from && inp.wimKept ? inp.wimKept(wim.abs, from, wim.stat) : undefined;
      if (keptBlocks >= 1) {
        ops.push({ offset: wimStart, length: ISO_BLOCK, src: { kind: "file", file: wim.abs, offset: 0 }, meta: false });
        if (keptBlocks >= 2 && vouched !== undefined && vouched >= keptBlocks * ISO_BLOCK) keptBy = "record";
        else if (keptBlocks >= 2) {
          keptBy = "compare";
          keep = {
            isoOffset: wimStart + ISO_BLOCK,
            wimFile: wim.abs,
            wimOffset: ISO_BLOCK,
            length: (keptBlocks - 1) * ISO_BLOCK,
          };
        }
      }
      const newFrom = keptBlocks >= 1 ? keptBlocks * ISO_BLOCK : 0;
      rewriteFrom = wimStart + newFrom;
      if (newWim > newFrom)
        tailSources.push({
          offset: wimStart + newFrom,
          length: newWim - newFrom,
          src: { kind: "file", file: wim.abs, offset: newFrom },
          meta: false,
        });
      if (newWim !== oldWim) newPlace.set(wimRel, { extent: ext(wimRel), size: newWim });
    }
    let at = ext(wimRel) + blocksOf(newWim);
    for (const rel of tail) {
      const m = scan.files.get(rel)!;
      files[rel] = m.stat;
      const data = fs.readFileSync(m.abs);
      if (data.length === 0) return fallback(`${rel} is empty`);
      const moved = at !== ext(rel) || data.length !== sizeIn(rel);
      const differs = moved || !read(ext(rel) * ISO_BLOCK, data.length).equals(data);
      if (differs) {
        if (rewriteFrom === undefined) rewriteFrom = at * ISO_BLOCK;
        if (!moved) changed.push(rel);
        else changed.push(`${rel} (${at === ext(rel) ? "resized" : "moved"})`);
      }
      if (at !== ext(rel) || data.length !== sizeIn(rel)) newPlace.set(rel, { extent: at, size: data.length });
      tailSources.push({ offset: at * ISO_BLOCK, length: data.length, src: { kind: "buf", buf: data }, meta: false });
      at += blocksOf(data.length);
    }
    const newVolume = at + ISO_PADDING_BLOCKS;
    const newSize = newVolume * ISO_BLOCK;
    if (rewriteFrom !== undefined) {
      // everything from rewriteFrom to the new end: the sources in order, zeros between them and after them
      let cur = rewriteFrom;
      for (const s of tailSources) {
        if (s.offset + s.length <= cur) continue;
        if (s.offset > cur) {
          ops.push({ offset: cur, length: s.offset - cur, src: { kind: "zeros" }, meta: false });
          cur = s.offset;
        }
        const skip = cur - s.offset;
        const src: Source =
          s.src.kind === "buf"
            ? { kind: "buf", buf: s.src.buf.subarray(skip) }
            : s.src.kind === "file"
              ? { kind: "file", file: s.src.file, offset: s.src.offset + skip }
              : s.src;
        ops.push({ offset: cur, length: s.length - skip, src, meta: false });
        cur = s.offset + s.length;
      }
      if (newSize > cur) ops.push({ offset: cur, length: newSize - cur, src: { kind: "zeros" }, meta: false });
    }

    // metadata: the volume size in both descriptors, extent and data length in both trees
    if (newVolume !== img.pvd.volumeSpaceSize) {
      for (const vd of [img.pvd, img.joliet])
        ops.push({
          offset: vd.sector * ISO_BLOCK + VD.volumeSpaceSize,
          length: 8,
          src: { kind: "buf", buf: bothEndian32(newVolume) },
          meta: true,
        });
    }
    for (const [rel, p] of newPlace) {
      const e = entries.get(rel)!;
      for (const r of [e.iso.records[0]!, e.joliet.records[0]!]) {
        const field = Buffer.concat([bothEndian32(p.extent), bothEndian32(p.size)]);
        ops.push({ offset: r.offset + DR.extent, length: 16, src: { kind: "buf", buf: field }, meta: true });
      }
    }
    // the system area, descriptors, path tables, catalog and directories stay where they are: none may lie in the
    // rewritten region (they precede the files in this layout, checked above), and the ranges must not overlap
    ops.sort((a, b) => a.offset - b.offset);
    for (let i = 1; i < ops.length; i++) {
      const p = ops[i - 1]!;
      if (p.offset + p.length > ops[i]!.offset) throw new Error(`iso-update: overlapping writes at ${ops[i]!.offset}`);
    }
    if (ops.length > 0 && ops[ops.length - 1]!.offset + ops[ops.length - 1]!.length < newSize)
      throw new Error("iso-update: the new end is not covered by the writes");
    return { plan: { iso, oldSize, newSize, ops, keep, keptBy, oldChunks: record.chunks, files, changed } };
  } finally {
    fs.closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// the update

/**
 * A piece of the new ISO to hash (at `pos`, never across a 1 MiB boundary): bytes of `fd` at `at` (the old ISO or
 * the journal), or zeros (no fd).
 */
interface HashChunk {
  pos: number;
  fd?: number;
  at?: number;
  n: number;
  /** boot.wim bytes (at `at` in the media's boot.wim) that must equal this chunk's bytes from `skip` on. */
  cmp?: { at: number; n: number; skip: number };
}

function readAsync(fd: number, b: Buffer, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (got: number) => {
      if (got >= b.length) return resolve();
      fs.read(fd, b, got, b.length - got, position + got, (err, n) => {
        if (err) return reject(err);
        if (n <= 0) return reject(new IsoFormatError(`short read at byte ${position + got}`));
        step(got + n);
      });
    };
    step(0);
  });
}

/**
 * Feed `chunks` to `sink` in order, comparing each chunk's boot.wim part with `wimFd`; reads are issued one chunk
 * ahead (double buffers). Returns the boot.wim offset of the first chunk that differs, or undefined.
 */
async function hashChunks(
  chunks: HashChunk[],
  sink: (c: HashChunk, data: Buffer) => void,
  wimFd: number | undefined,
): Promise<number | undefined> {
  const sets = [0, 1].map(() => ({ a: Buffer.allocUnsafe(CHUNK), b: Buffer.allocUnsafe(CHUNK) }));
  const load = (i: number): Promise<unknown> => {
    const c = chunks[i]!;
    const set = sets[i % 2]!;
    const reads: Promise<void>[] = [];
    if (c.fd !== undefined) reads.push(readAsync(c.fd, set.a.subarray(0, c.n), c.at!));
    if (c.cmp && wimFd !== undefined) reads.push(readAsync(wimFd, set.b.subarray(0, c.cmp.n), c.cmp.at));
    return Promise.all(reads);
  };
  let next = chunks.length > 0 ? load(0) : undefined;
  try {
    for (let i = 0; i < chunks.length; i++) {
      await next;
      next = i + 1 < chunks.length ? load(i + 1) : undefined;
      const c = chunks[i]!;
      const set = sets[i % 2]!;
      const data = c.fd === undefined ? ZEROS.subarray(0, c.n) : set.a.subarray(0, c.n);
      if (c.cmp && !set.b.subarray(0, c.cmp.n).equals(data.subarray(c.cmp.skip, c.cmp.skip + c.cmp.n))) return c.cmp.at;
      sink(c, data);
    }
    return undefined;
  } finally {
    // never leave a read running into a buffer, or on a descriptor the caller closes
    await next?.catch(() => undefined);
  }
}

/** Split ops at the old end (each range wholly inside or wholly past the old ISO). */
function splitAt(ops: PlanOp[], at: number): PlanOp[] {
  const out: PlanOp[] = [];
  for (const op of ops) {
    if (op.offset < at && op.offset + op.length > at) {
      const first = at - op.offset;
      const rest: Source =
        op.src.kind === "buf"
          ? { kind: "buf", buf: op.src.buf.subarray(first) }
          : op.src.kind === "file"
            ? { kind: "file", file: op.src.file, offset: op.src.offset + first }
            : op.src;
      const head: Source = op.src.kind === "buf" ? { kind: "buf", buf: op.src.buf.subarray(0, first) } : op.src;
      out.push({ ...op, length: first, src: head }, { ...op, offset: at, length: op.length - first, src: rest });
    } else out.push(op);
  }
  return out;
}

export interface IsoUpdateResult {
  /** The new ISO's tree digest, and its pieces. */
  digest: string;
  chunks: string[];
  size: number;
  /** Bytes written into the ISO. */
  written: number;
  /** Write calls into the ISO (the fault hook counts these). */
  writes: number;
  /**
   * Where the time went (ms): `version` (xorriso -version), `plan` (reading the ISO's trees, comparing boot images
   * and changed files), `journal` (writing and fsyncing it), `hash` (the new ISO's changed pieces hashed, and
   * boot.wim's kept part compared when no record vouches for it), `apply` (the journal replayed into the ISO, fsyncs).
   */
  ms: Record<string, number>;
  changed: string[];
  /** How boot.wim's kept part was known unchanged (see {@link UpdatePlan.keptBy}). */
  keptBy?: "record" | "compare";
}

/**
 * Write the journal of `plan` (temporary file), hash the new ISO's changed 1 MiB pieces from the journal and the old
 * ISO's kept bytes (comparing boot.wim's kept part with the media's boot.wim on the way when `plan.keep` says so;
 * the other pieces are the old ISO's, from its record), then, when it all holds, put the journal
 * in place and replay it. Returns undefined (nothing written, the journal removed) when boot.wim's kept part
 * differs: a full write follows.
 */
export async function applyUpdate(
  plan: UpdatePlan,
  hooks: { beforeCommit?: (digest: string, size: number) => void } = {},
): Promise<IsoUpdateResult | { fallback: string }> {
  const { iso, oldSize, newSize } = plan;
  const t0 = performance.now();
  const ms: Record<string, number> = {};
  const ops = splitAt(plan.ops, oldSize);
  const jpath = journalPath(iso);
  const tmp = tempPathFor(jpath);
  const isoFd = fs.openSync(iso, "r");
  const isoSt = fs.fstatSync(isoFd, { bigint: true });
  let jfd: number | undefined;
  const files = new Map<string, number>();
  const openSrc = (f: string) => {
    let d = files.get(f);
    if (d === undefined) {
      d = fs.openSync(f, "r");
      files.set(f, d);
    }
    return d;
  };
  try {
    // 1. the journal: header, new bytes, old bytes, sha256 trailer
    let payload = 0;
    const jops: JournalOp[] = ops.map((op) => {
      const j: JournalOp = { offset: op.offset, length: op.length, payload: -1, undo: -1, meta: op.meta };
      if (op.src.kind !== "zeros") {
        j.payload = payload;
        payload += op.length;
      }
      return j;
    });
    for (const j of jops) {
      if (j.offset < oldSize) {
        j.undo = payload;
        payload += Math.min(j.length, oldSize - j.offset);
      }
    }
    const header: JournalHeader = {
      iso,
      dev: isoSt.dev.toString(),
      ino: isoSt.ino.toString(),
      oldSize,
      newSize,
      guard: { length: Math.min(oldSize, GUARD_BYTES), sha256: guardHash(isoFd, Math.min(oldSize, GUARD_BYTES), jops) },
      ops: jops,
    };
    const hb = Buffer.from(JSON.stringify(header), "utf8");
    const lenb = Buffer.alloc(4);
    lenb.writeUInt32LE(hb.length);
    jfd = fs.openSync(tmp, "wx+", 0o600);
    const jh = crypto.createHash("sha256");
    let jat = 0;
    const jwrite = (b: Buffer) => {
      writeAll(jfd!, b, jat);
      jh.update(b);
      jat += b.length;
    };
    jwrite(JOURNAL_MAGIC);
    jwrite(lenb);
    jwrite(hb);
    const payloadStart = jat;
    const buf = Buffer.allocUnsafe(CHUNK);
    for (const op of ops) {
      if (op.src.kind === "buf") jwrite(op.src.buf.subarray(0, op.length));
      else if (op.src.kind === "file") {
        const sfd = openSrc(op.src.file);
        for (let at = 0; at < op.length; ) {
          const n = Math.min(CHUNK, op.length - at);
          readFully(sfd, buf.subarray(0, n), op.src.offset + at, op.src.file);
          jwrite(buf.subarray(0, n));
          at += n;
        }
      }
    }
    for (const j of jops) {
      if (j.undo < 0) continue;
      const len = Math.min(j.length, oldSize - j.offset);
      for (let at = 0; at < len; ) {
        const n = Math.min(CHUNK, len - at);
        readFully(isoFd, buf.subarray(0, n), j.offset + at, iso);
        jwrite(buf.subarray(0, n));
        at += n;
      }
    }
    writeAll(jfd, jh.digest(), jat);

    ms.journal = Math.round(performance.now() - t0);
    // 2. the new ISO's pieces that a write touches (or that the size change cuts), from the journal's new bytes and
    // the old ISO's kept ones; boot.wim's kept part compared with the media's boot.wim on the way when no record
    // vouches for it. Reads run on libuv's thread pool one piece ahead while this thread hashes and compares.
    const T = TREE_CHUNK_BYTES;
    const newCount = Math.ceil(newSize / T);
    const touched = new Set<number>();
    for (const j of jops) for (let c = Math.floor(j.offset / T); c * T < j.offset + j.length; c++) touched.add(c);
    if (newSize !== oldSize) for (let c = Math.floor(Math.min(oldSize, newSize) / T); c < newCount; c++) touched.add(c);
    const keep = plan.keep;
    const wimFd = keep ? openSrc(keep.wimFile) : undefined;
    const chunks: HashChunk[] = [];
    const nextBoundary = (pos: number) => (Math.floor(pos / T) + 1) * T;
    const oldChunks = (from: number, to: number) => {
      for (let at = from; at < to; ) {
        const n = Math.min(to, nextBoundary(at)) - at;
        const c: HashChunk = { pos: at, fd: isoFd, at, n };
        if (keep && at < keep.isoOffset + keep.length && at + n > keep.isoOffset) {
          const st = Math.max(at, keep.isoOffset);
          const en = Math.min(at + n, keep.isoOffset + keep.length);
          c.cmp = { at: keep.wimOffset + (st - keep.isoOffset), n: en - st, skip: st - at };
        }
        if (c.cmp || touched.has(Math.floor(at / T))) chunks.push(c);
        at += n;
      }
    };
    let cur = 0;
    for (const j of jops) {
      if (j.offset > cur) oldChunks(cur, j.offset);
      for (let at = 0; at < j.length; ) {
        const pos = j.offset + at;
        const n = Math.min(j.offset + j.length, nextBoundary(pos)) - pos;
        chunks.push(j.payload < 0 ? { pos, n } : { pos, fd: jfd, at: payloadStart + j.payload + at, n });
        at += n;
      }
      cur = j.offset + j.length;
    }
    if (cur < newSize) oldChunks(cur, newSize);
    const hashers = new Map<number, { h: crypto.Hash; n: number }>();
    for (const c of touched) if (c < newCount) hashers.set(c, { h: crypto.createHash("sha256"), n: 0 });
    const differs = await hashChunks(
      chunks,
      (c, data) => {
        const e = hashers.get(Math.floor(c.pos / T));
        if (!e) return;
        e.h.update(data);
        e.n += data.length;
      },
      wimFd,
    );
    if (differs !== undefined)
      return {
        fallback: `boot.wim changed before the end of its old data (byte ${differs} onward differs from the ISO's copy: rebuilt or edited, not only appended to by wimlib)`,
      };
    const newChunks = plan.oldChunks.slice(0, newCount);
    for (const [c, e] of hashers) {
      const want = Math.min(T, newSize - c * T);
      if (e.n !== want) throw new Error(`iso-update: piece ${c} of ${iso} hashed ${e.n} of ${want} bytes`);
      newChunks[c] = e.h.digest("hex");
    }
    if (newChunks.length !== newCount || newChunks.some((c) => typeof c !== "string"))
      throw new Error(`iso-update: the new pieces of ${iso} are not all known`);
    const digest = treeDigestOf(newChunks);
    fs.fsyncSync(jfd);
    fs.closeSync(jfd);
    jfd = undefined;

    ms.hash = Math.round(performance.now() - t0 - ms.journal);
    // 3. commit: the journal in place (the point from which the new ISO is what recovery makes), then replay it
    faultPoint("journal");
    hooks.beforeCommit?.(digest, newSize);
    fs.renameSync(tmp, jpath);
    fsyncDir(path.dirname(jpath));
    const r = replayJournal(jpath, { faults: true, throwOnBack: true });
    if (r.outcome !== "forward") throw new Error(`iso-update: the journal of ${iso} was dropped: ${r.why}`);
    const written = ops.reduce((n, op) => n + op.length, 0);
    ms.apply = Math.round(performance.now() - t0 - ms.journal - ms.hash);
    return {
      digest,
      chunks: newChunks,
      size: newSize,
      written,
      writes: r.written,
      changed: plan.changed,
      ms,
      ...(plan.keptBy ? { keptBy: plan.keptBy } : {}),
    };
  } finally {
    if (jfd !== undefined) fs.closeSync(jfd);
    fs.rmSync(tmp, { force: true });
    fs.closeSync(isoFd);
    for (const d of files.values()) fs.closeSync(d);
  }
}

export interface UpdateIsoOptions {
  /** The copype working folder. */
  workDir: string;
  isoPath: string;
  /** Our bookkeeping folder (`<workspace>/.winpe-lab`): the record of the last write lives in its `iso/`. */
  stateDir: string;
  /** The digest the stack's state has for the ISO (the one the update starts from). */
  previousDigest: string;
  arch?: MakeMediaOptions["arch"];
  prompt?: boolean;
  resource: string;
  onProgress?: (line: string) => void;
  /** Called with the new ISO's digest and size before the first byte of the ISO changes (e.g. the output ledger). */
  beforeCommit?: (digest: string, size: number) => void;
}

/**
 * Update the ISO in place when it can be (see the module comment), recording the result for the next update.
 * Returns the new ISO's digest and size, or `{ fallback }` with the reason a full write is needed (nothing was
 * changed then).
 */
export async function updateIso(
  o: UpdateIsoOptions,
): Promise<(IsoUpdateResult & { record: IsoRecord }) | { fallback: string }> {
  const plan = planMedia(o.workDir, { arch: o.arch, prompt: o.prompt });
  const iso = path.resolve(o.isoPath);
  const record = readIsoRecord(o.stateDir, iso);
  if (!record) return { fallback: "no record of an earlier write of this ISO by winpe-lab" };
  if (!fs.existsSync(iso)) return { fallback: "the ISO is not there" };
  const holders = lockHolders(iso);
  if (holders.length > 0)
    return {
      fallback:
        `another process holds a lock on the ISO (${holders.map((p) => (p > 0 ? `pid ${p}` : "an open file")).join(", ")}: ` +
        "a VM running from it?); a new file is renamed over it, so that process keeps reading the old one",
    };
  let t = performance.now();
  // the writer: from the record while xorriso and the package database are what they were, else xorriso's word
  const key = writerKey();
  const known = key !== undefined && record.writer?.key === key ? record.writer.preparer : undefined;
  const preparer = known ?? (await xorrisoPreparer(o.resource));
  const version = Math.round(performance.now() - t);
  t = performance.now();
  const p = planUpdate({
    plan,
    iso,
    record,
    previousDigest: o.previousDigest,
    wimKept: (wim, from, now) => keptSince(wimAppendsDir(o.stateDir), wim, from, now),
    preparer,
    epoch: DEFAULT_ISO_EPOCH,
  });
  if ("fallback" in p) return p;
  const planMs = Math.round(performance.now() - t);
  const r = await applyUpdate(p.plan, { beforeCommit: o.beforeCommit });
  if ("fallback" in r) return r;
  r.ms = { ...(known ? {} : { version }), plan: planMs, ...r.ms };
  const st = statId(iso)!;
  const rec: IsoRecord = {
    version: 2,
    iso,
    layout: ISO_LAYOUT,
    digest: r.digest,
    chunks: r.chunks,
    size: r.size,
    stat: st,
    files: p.plan.files,
    last: { how: "update", written: r.written, ms: r.ms, ...(r.keptBy ? { keptBy: r.keptBy } : {}) },
    ...(key ? { writer: { key, preparer } } : {}),
  };
  return { ...r, record: rec };
}
