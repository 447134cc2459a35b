/**
 * REGF (Windows registry hive) reader and in-place writer.
 *
 * Format: msuhanov, "Windows registry file format specification". A hive is a 4096-byte base block followed by
 * hive bins (`hbin`, multiples of 4096 bytes) tiled with cells (4-byte signed size, negative = allocated, 8-byte
 * aligned). Cell offsets stored in the file are relative to the first hbin (file offset 4096).
 *
 * Reading: {@link Hive.parse} checks the whole file before anything is returned (base block, checksum, every hbin
 * and cell, and the key tree reachable from the root with its subkey lists, value lists, values, big data, classes
 * and security cells). Every cell may be referenced once (security cells excepted), which rules out cycles and
 * shared structures; a problem is a {@link RegfError} naming the file offset.
 *
 * Writing: changes are made in place, cell by cell, in a private copy of the bytes: new cells come from free cells
 * (first fit, split) or from a new hbin appended at the end; released cells are marked free and merged with free
 * neighbours in the same hbin. Bytes of untouched cells stay identical. {@link Hive.serialize} sets both sequence
 * numbers to the next value and recomputes the base-block checksum. Timestamps are left alone unless a clock is
 * given (deterministic output); new keys then take the base block's timestamp.
 */
import { RegfError } from "./errors";

/** Registry value types. */
export const RegType = {
  NONE: 0,
  SZ: 1,
  EXPAND_SZ: 2,
  BINARY: 3,
  DWORD: 4,
  DWORD_BIG_ENDIAN: 5,
  LINK: 6,
  MULTI_SZ: 7,
  RESOURCE_LIST: 8,
  FULL_RESOURCE_DESCRIPTOR: 9,
  RESOURCE_REQUIREMENTS_LIST: 10,
  QWORD: 11,
} as const;

/** A value as read from a hive: name ("" for the default value), type and a copy of its data bytes. */
export interface RegValue {
  name: string;
  type: number;
  data: Buffer;
}

/** Options of {@link Hive.parse} and {@link Hive.create}. */
export interface HiveOptions {
  /** File name used in error messages. */
  file?: string;
  /**
   * Clock for key timestamps (a Windows FILETIME: 100 ns units since 1601). When given, keys that are created or
   * changed and the base block get its time; when absent, timestamps are never changed and new keys copy the base
   * block's timestamp, so output is deterministic.
   */
  clock?: () => bigint;
}

/** Options of {@link Hive.create}. */
export interface CreateHiveOptions extends HiveOptions {
  /** Name of the root key. @default "ROOT" */
  rootName?: string;
  /** Minor version (BCD stores are 1.3). @default 3 */
  minorVersion?: number;
  /** Base block timestamp (FILETIME). @default 0 */
  timestamp?: bigint;
  /** Name written into the base block's file-name field (last 31 characters are kept). */
  embeddedFileName?: string;
  /** Self-relative security descriptor for the root key. @default owner Administrators, full control for Administrators and SYSTEM */
  securityDescriptor?: Uint8Array;
}

const BASE = 4096;
const HBIN_HEADER = 32;
const NONE = 0xffffffff;
const BIG_DATA_SEGMENT = 16344;
const LEAF_MAX = 500; // entries per lf leaf before an ri index is used (Windows splits leaves well below 1012)

// nk flags
const KEY_HIVE_ENTRY = 0x0004;
const KEY_NO_DELETE = 0x0008;
const KEY_COMP_NAME = 0x0020;
// vk flags
const VALUE_COMP_NAME = 0x0001;

/** FILETIME (100 ns since 1601-01-01) of a Date. */
export function fileTimeOf(date: Date): bigint {
  return (BigInt(date.getTime()) + 11644473600000n) * 10000n;
}

function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** Upper-case one UTF-16 code unit the way the registry compares names (ordinal, per code unit). */
function upcaseUnit(c: number): number {
  if (c < 0x61) return c;
  if (c <= 0x7a) return c - 0x20;
  if (c < 0x80) return c;
  const u = String.fromCharCode(c).toUpperCase();
  return u.length === 1 ? u.charCodeAt(0) : c;
}

/** Compare two key names as Windows orders subkey lists (case-insensitive, by upper-cased UTF-16 code units). */
export function compareKeyNames(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = upcaseUnit(a.charCodeAt(i)) - upcaseUnit(b.charCodeAt(i));
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

function namesEqual(a: string, b: string): boolean {
  return a.length === b.length && compareKeyNames(a, b) === 0;
}

/** The `lh` hash of a key name. */
export function lhHash(name: string): number {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (Math.imul(h, 37) + upcaseUnit(name.charCodeAt(i))) >>> 0;
  return h;
}

/** Whether a name can be stored "compressed" (one byte per character). */
function compressible(name: string): boolean {
  for (let i = 0; i < name.length; i++) if (name.charCodeAt(i) > 0xff) return false;
  return true;
}

function encodeName(name: string): { bytes: Buffer; compressed: boolean } {
  if (compressible(name)) return { bytes: Buffer.from(name, "latin1"), compressed: true };
  return { bytes: Buffer.from(name, "utf16le"), compressed: false };
}

/** Split a key path ("A\\B\\C", leading/trailing backslashes ignored) into names. */
export function splitKeyPath(path: string | readonly string[]): string[] {
  const parts = typeof path === "string" ? path.split("\\") : [...path];
  return parts.filter((p) => p.length > 0);
}

/** XOR checksum of the first 508 bytes of a base block, as Windows computes it. */
export function baseBlockChecksum(buf: Uint8Array): number {
  const view = new DataView(buf.buffer, buf.byteOffset, 508);
  let x = 0;
  for (let i = 0; i < 508; i += 4) x ^= view.getUint32(i, true);
  x >>>= 0;
  if (x === 0) return 1;
  if (x === 0xffffffff) return 0xfffffffe;
  return x;
}

/** Default security descriptor: owner Administrators, group SYSTEM, DACL: full control for Administrators and SYSTEM. */
function defaultSecurityDescriptor(): Buffer {
  const sidAdmins = Buffer.from("01020000000000052000000020020000", "hex"); // S-1-5-32-544
  const sidSystem = Buffer.from("010100000000000512000000", "hex"); // S-1-5-18
  const ace = (sid: Buffer) => {
    const b = Buffer.alloc(8 + sid.length);
    b.writeUInt8(0, 0); // ACCESS_ALLOWED_ACE_TYPE
    b.writeUInt8(0, 1);
    b.writeUInt16LE(b.length, 2);
    b.writeUInt32LE(0x000f003f, 4); // KEY_ALL_ACCESS
    sid.copy(b, 8);
    return b;
  };
  const aces = Buffer.concat([ace(sidAdmins), ace(sidSystem)]);
  const acl = Buffer.alloc(8);
  acl.writeUInt8(2, 0); // ACL_REVISION
  acl.writeUInt16LE(8 + aces.length, 2);
  acl.writeUInt16LE(2, 4);
  const dacl = Buffer.concat([acl, aces]);
  const head = Buffer.alloc(20);
  head.writeUInt8(1, 0); // revision
  head.writeUInt16LE(0x8004, 2); // SE_SELF_RELATIVE | SE_DACL_PRESENT
  head.writeUInt32LE(20 + dacl.length, 4); // owner
  head.writeUInt32LE(20 + dacl.length + sidAdmins.length, 8); // group
  head.writeUInt32LE(0, 12); // sacl
  head.writeUInt32LE(20, 16); // dacl
  return Buffer.concat([head, dacl, sidAdmins, sidSystem]);
}

interface Bin {
  start: number; // cell offset of the hbin header
  end: number; // cell offset just past the hbin
}

interface Leaf {
  kind: "lf" | "lh" | "li";
  cell: number;
}

/** Parsed subkey-list structure of one key: the list cells and the child key offsets in list order. */
interface SubkeyList {
  root: number; // NONE when the key has no subkeys
  kind: "lf" | "lh" | "li" | "ri" | "none";
  leaves: Leaf[];
  children: number[];
}

/** A key of a {@link Hive}, by the offset of its `nk` cell. Handles stay valid until the key is deleted. */
export class RegKey {
  /** @internal */
  constructor(
    private readonly hive: Hive,
    /** Cell offset of the key's `nk` record (relative to the first hbin). */
    readonly offset: number,
  ) {}

  /** The key's name. */
  get name(): string {
    return this.hive.keyNameAt(this.offset);
  }

  /** Last-written timestamp (FILETIME). */
  get lastWritten(): bigint {
    return this.hive.keyTimestampAt(this.offset);
  }

  /** Subkeys in the order of the hive's subkey list (Windows keeps them sorted case-insensitively). */
  subkeys(): RegKey[] {
    return this.hive.subkeyOffsetsAt(this.offset).map((o) => new RegKey(this.hive, o));
  }

  /** The subkey called `name` (case-insensitive), if any. */
  subkey(name: string): RegKey | undefined {
    const o = this.hive.findSubkeyAt(this.offset, name);
    return o === undefined ? undefined : new RegKey(this.hive, o);
  }

  /** All values, in the order of the key's value list. */
  values(): RegValue[] {
    return this.hive.valuesAt(this.offset);
  }

  /** The value called `name` (case-insensitive; "" is the default value), if any. */
  value(name: string): RegValue | undefined {
    return this.hive.valuesAt(this.offset).find((v) => namesEqual(v.name, name));
  }
}

/**
 * A registry hive held in memory. Create one with {@link Hive.parse} (existing bytes) or {@link Hive.create}
 * (a new, empty hive); read it through {@link Hive.root} / {@link Hive.getKey}; change it with
 * {@link Hive.createKey}, {@link Hive.deleteKey}, {@link Hive.setValue}, {@link Hive.deleteValue}; get the bytes
 * to write with {@link Hive.serialize}.
 */
export class Hive {
  private buf: Buffer;
  private binsSize: number;
  private bins: Bin[] = [];
  /** allocated cells: cell offset -> cell size (positive, including the 4-byte size field) */
  private used = new Map<number, number>();
  /** free cells: cell offset -> size, and end offset -> start (for merging with the previous neighbour) */
  private free = new Map<number, number>();
  private freeByEnd = new Map<number, number>();
  /** number of keys referring to each security cell */
  private skUsers = new Map<number, number>();
  private readonly file?: string;
  private readonly clock?: () => bigint;
  private modified = false;
  /** The bytes as parsed or last serialized: a hive whose bytes are back to these counts as unmodified. */
  private original: Buffer;
  private rootOffset: number;
  private readonly minor: number;

  private constructor(buf: Buffer, opts: HiveOptions, validate: boolean) {
    this.buf = buf;
    this.original = Buffer.from(buf);
    this.file = opts.file;
    this.clock = opts.clock;
    const { binsSize, rootOffset, minor } = this.checkBaseBlock();
    this.binsSize = binsSize;
    this.rootOffset = rootOffset;
    this.minor = minor;
    this.scanBins();
    if (validate) this.checkTree();
  }

  /**
   * Parse and check a whole hive. The bytes are copied; the caller's buffer is never changed.
   * @throws RegfError when anything in the file is out of bounds or inconsistent
   */
  static parse(data: Uint8Array, opts: HiveOptions = {}): Hive {
    return new Hive(Buffer.from(data), opts, true);
  }

  /** A new hive holding only a root key (and its security cell). */
  static create(opts: CreateHiveOptions = {}): Hive {
    const minor = opts.minorVersion ?? 3;
    if (!Number.isInteger(minor) || minor < 3 || minor > 6)
      throw new RegfError(-1, `minor version ${minor} is not supported (3..6)`);
    const buf = Buffer.alloc(BASE + 4096);
    buf.write("regf", 0, "latin1");
    buf.writeUInt32LE(1, 4);
    buf.writeUInt32LE(1, 8);
    buf.writeBigUInt64LE(opts.timestamp ?? 0n, 12);
    buf.writeUInt32LE(1, 20); // major
    buf.writeUInt32LE(minor, 24);
    buf.writeUInt32LE(0, 28); // primary file
    buf.writeUInt32LE(1, 32); // direct memory load format
    buf.writeUInt32LE(0x20, 36); // root cell (first cell of the first hbin)
    buf.writeUInt32LE(4096, 40);
    buf.writeUInt32LE(1, 44); // clustering factor
    if (opts.embeddedFileName) {
      const name = opts.embeddedFileName.slice(-31);
      buf.write(name, 48, "utf16le");
    }
    // the hbin, with one free cell
    buf.write("hbin", BASE, "latin1");
    buf.writeUInt32LE(0, BASE + 4);
    buf.writeUInt32LE(4096, BASE + 8);
    buf.writeBigUInt64LE(opts.timestamp ?? 0n, BASE + 20);
    buf.writeInt32LE(4096 - HBIN_HEADER, BASE + HBIN_HEADER);
    buf.writeUInt32LE(baseBlockChecksum(buf), 508);
    const hive = new Hive(buf, opts, false);
    // root key and its security cell, built with the ordinary allocator
    const { bytes, compressed } = encodeName(opts.rootName ?? "ROOT");
    const nk = hive.alloc(76 + bytes.length);
    if (nk !== 0x20) throw new RegfError(-1, "internal: root key not at the first cell");
    hive.writeNk(nk, bytes, compressed, NONE, KEY_HIVE_ENTRY | KEY_NO_DELETE | (compressed ? KEY_COMP_NAME : 0));
    const sd = opts.securityDescriptor ? Buffer.from(opts.securityDescriptor) : defaultSecurityDescriptor();
    const sk = hive.alloc(20 + sd.length);
    const p = hive.fo(sk) + 4;
    hive.buf.write("sk", p, "latin1");
    hive.buf.writeUInt32LE(sk, p + 4); // flink: the list of one
    hive.buf.writeUInt32LE(sk, p + 8); // blink
    hive.buf.writeUInt32LE(1, p + 12); // references
    hive.buf.writeUInt32LE(sd.length, p + 16);
    sd.copy(hive.buf, p + 20);
    hive.buf.writeUInt32LE(sk, hive.fo(nk) + 4 + 44);
    hive.skUsers.set(sk, 1);
    hive.rootOffset = nk;
    hive.modified = true;
    return hive;
  }

  // ---------------------------------------------------------------- low-level helpers

  private err(cellOrFileOffset: number, problem: string, isCell = true): RegfError {
    return new RegfError(isCell ? cellOrFileOffset + BASE : cellOrFileOffset, problem, this.file);
  }

  /** File offset of a cell offset. */
  private fo(cell: number): number {
    return cell + BASE;
  }

  private u16(fo: number): number {
    return this.buf.readUInt16LE(fo);
  }

  private u32(fo: number): number {
    return this.buf.readUInt32LE(fo);
  }

  /** Data start (file offset) and data length of the allocated cell at `cell`; checks it exists and is big enough. */
  private cell(cell: number, what: string, minLen = 0): { p: number; len: number } {
    const size = this.used.get(cell);
    if (size === undefined) {
      if (this.free.has(cell)) throw this.err(cell, `${what} points to a free cell`);
      throw this.err(
        cell,
        `${what} points to ${cell === NONE ? "nothing (0xffffffff)" : "no cell start"} (offset ${hex(cell)} is not the start of an allocated cell)`,
      );
    }
    const len = size - 4;
    if (len < minLen) throw this.err(cell, `${what}: cell holds ${len} bytes, needs at least ${minLen}`);
    return { p: this.fo(cell) + 4, len };
  }

  private sig(p: number): string {
    return this.buf.toString("latin1", p, p + 2);
  }

  // ---------------------------------------------------------------- checking

  private checkBaseBlock(): { binsSize: number; rootOffset: number; minor: number } {
    const b = this.buf;
    if (b.length < BASE) throw this.err(0, `file is ${b.length} bytes, shorter than the 4096-byte base block`, false);
    if (b.toString("latin1", 0, 4) !== "regf")
      throw this.err(0, "missing 'regf' signature: not a registry hive", false);
    const major = b.readUInt32LE(20);
    const minor = b.readUInt32LE(24);
    if (major !== 1 || minor < 2 || minor > 6)
      throw this.err(20, `unsupported format version ${major}.${minor} (1.2 to 1.6 are known)`, false);
    const type = b.readUInt32LE(28);
    if (type !== 0)
      throw this.err(28, `file type ${type} is not a primary hive (0); transaction logs are not hives`, false);
    const format = b.readUInt32LE(32);
    if (format !== 1) throw this.err(32, `file format ${format} is not 1 (direct memory load)`, false);
    const stored = b.readUInt32LE(508);
    const computed = baseBlockChecksum(b);
    if (stored !== computed)
      throw this.err(508, `base block checksum mismatch: stored ${hex(stored)}, computed ${hex(computed)}`, false);
    const binsSize = b.readUInt32LE(40);
    if (binsSize === 0 || binsSize % 4096 !== 0)
      throw this.err(40, `hive bins data size ${hex(binsSize)} is not a positive multiple of 4096`, false);
    if (BASE + binsSize > b.length)
      throw this.err(
        40,
        `hive bins data size ${hex(binsSize)} runs past the end of the file (${b.length} bytes): the file is truncated`,
        false,
      );
    return { binsSize, rootOffset: b.readUInt32LE(36), minor };
  }

  private scanBins(): void {
    const b = this.buf;
    let pos = 0;
    while (pos < this.binsSize) {
      const f = this.fo(pos);
      if (b.toString("latin1", f, f + 4) !== "hbin") throw this.err(pos, "missing 'hbin' signature");
      const off = b.readUInt32LE(f + 4);
      if (off !== pos) throw this.err(pos + 4, `hbin offset field says ${hex(off)}, the hbin is at ${hex(pos)}`);
      const size = b.readUInt32LE(f + 8);
      if (size < 4096 || size % 4096 !== 0)
        throw this.err(pos + 8, `hbin size ${hex(size)} is not a positive multiple of 4096`);
      if (pos + size > this.binsSize)
        throw this.err(pos + 8, `hbin of size ${hex(size)} runs past the hive bins data size ${hex(this.binsSize)}`);
      const bin = { start: pos, end: pos + size };
      this.bins.push(bin);
      let c = pos + HBIN_HEADER;
      let prevFree = -1;
      while (c < bin.end) {
        if (c + 4 > bin.end) throw this.err(c, "cell header crosses the end of its hbin");
        const raw = b.readInt32LE(this.fo(c));
        const size2 = Math.abs(raw);
        if (size2 < 8 || size2 % 8 !== 0) throw this.err(c, `cell size ${raw} is not a multiple of 8 of at least 8`);
        if (c + size2 > bin.end)
          throw this.err(c, `cell of ${size2} bytes crosses the end of its hbin at ${hex(bin.end)}`);
        if (raw < 0) {
          this.used.set(c, size2);
          prevFree = -1;
        } else if (prevFree >= 0) {
          // two adjacent free cells: treat them as one (Windows merges them too)
          const merged = (this.free.get(prevFree) ?? 0) + size2;
          this.freeByEnd.delete(c);
          this.free.set(prevFree, merged);
          this.freeByEnd.set(prevFree + merged, prevFree);
        } else {
          this.free.set(c, size2);
          this.freeByEnd.set(c + size2, c);
          prevFree = c;
        }
        c += size2;
      }
      pos = bin.end;
    }
  }

  /** Walk the whole tree from the root, checking every structure and that no cell is used twice. */
  private checkTree(): void {
    const owner = new Map<number, string>();
    const claim = (cell: number, what: string) => {
      const prev = owner.get(cell);
      if (prev !== undefined)
        throw this.err(cell, `cell used twice: as ${prev} and as ${what} (a cycle or a corrupted reference)`);
      owner.set(cell, what);
    };
    const root = this.rootOffset;
    const { p } = this.cell(root, "root key offset in the base block", 76);
    if (this.sig(p) !== "nk") throw this.err(root, "root key cell is not an 'nk' record");
    const stack: Array<{ cell: number; parent: number }> = [{ cell: root, parent: -1 }];
    while (stack.length > 0) {
      const { cell, parent } = stack.pop()!;
      claim(cell, "key");
      const nk = this.readNk(cell);
      if (parent >= 0 && nk.parent !== parent)
        throw this.err(
          cell + 4 + 16,
          `key's parent field ${hex(nk.parent)} does not point back to its parent ${hex(parent)}`,
        );
      // security
      if (nk.sk === NONE) {
        // allowed in old or hand-made hives
      } else {
        this.checkSk(nk.sk);
        this.skUsers.set(nk.sk, (this.skUsers.get(nk.sk) ?? 0) + 1);
      }
      // class name
      if (nk.classLen > 0 && nk.classOff !== NONE) {
        this.cell(nk.classOff, "key class name", nk.classLen);
        claim(nk.classOff, "class name");
      }
      // values
      if (nk.nValues > 0) {
        const list = this.cell(nk.valueList, "value list", nk.nValues * 4);
        claim(nk.valueList, "value list");
        for (let i = 0; i < nk.nValues; i++) {
          const vk = this.u32(list.p + i * 4);
          this.checkVk(vk, claim);
        }
      }
      // subkeys
      if (nk.nSubkeys > 0) {
        const sl = this.readSubkeyList(nk.subkeyList, nk.nSubkeys);
        claim(sl.root, `subkey list (${sl.kind})`);
        if (sl.kind === "ri") for (const leaf of sl.leaves) claim(leaf.cell, `subkey list (${leaf.kind})`);
        for (const child of sl.children) {
          const { p: cp } = this.cell(child, "subkey list entry", 76);
          if (this.sig(cp) !== "nk") throw this.err(child, "subkey list entry does not point to an 'nk' record");
          stack.push({ cell: child, parent: cell });
        }
      }
    }
  }

  private checkSk(sk: number): void {
    const { p, len } = this.cell(sk, "key security offset", 20);
    if (this.sig(p) !== "sk") throw this.err(sk, "key security cell is not an 'sk' record");
    const dlen = this.u32(p + 16);
    if (20 + dlen > len) throw this.err(sk, `security descriptor of ${dlen} bytes overruns its ${len}-byte cell`);
    // the security cells form a circular list; its links must name security cells (we relink them on deletes)
    for (const [field, what] of [
      [4, "forward"],
      [8, "backward"],
    ] as const) {
      const link = this.u32(p + field);
      const l = this.cell(link, `security cell ${what} link`, 20);
      if (this.sig(l.p) !== "sk")
        throw this.err(sk + 4 + field, `security cell ${what} link does not point to an 'sk' record`);
    }
  }

  private checkVk(vk: number, claim: (cell: number, what: string) => void): void {
    const { p, len } = this.cell(vk, "value list entry", 20);
    if (this.sig(p) !== "vk") throw this.err(vk, "value list entry does not point to a 'vk' record");
    claim(vk, "value");
    const nameLen = this.u16(p + 2);
    if (20 + nameLen > len) throw this.err(vk, `value name of ${nameLen} bytes overruns its ${len}-byte cell`);
    const flags = this.u16(p + 16);
    if (!(flags & VALUE_COMP_NAME) && nameLen % 2 !== 0)
      throw this.err(vk, `UTF-16 value name has odd length ${nameLen}`);
    const rawSize = this.u32(p + 4);
    const size = rawSize & 0x7fffffff;
    const inline = (rawSize & 0x80000000) !== 0;
    if (inline) {
      if (size > 4) throw this.err(vk + 8, `value data marked inline but ${size} bytes long (at most 4 fit)`);
      return;
    }
    if (size === 0) return;
    const dataOff = this.u32(p + 8);
    if (this.isBigData(size)) {
      const db = this.cell(dataOff, "big data record", 8);
      if (this.sig(db.p) !== "db") throw this.err(dataOff, `value of ${size} bytes needs a 'db' big data record`);
      claim(dataOff, "big data record");
      const n = this.u16(db.p + 2);
      const segList = this.u32(db.p + 4);
      if (n * BIG_DATA_SEGMENT < size) throw this.err(dataOff, `big data: ${n} segments cannot hold ${size} bytes`);
      const sl = this.cell(segList, "big data segment list", n * 4);
      claim(segList, "big data segment list");
      let left = size;
      for (let i = 0; i < n && left > 0; i++) {
        const seg = this.u32(sl.p + i * 4);
        const want = Math.min(left, BIG_DATA_SEGMENT);
        this.cell(seg, "big data segment", want);
        claim(seg, "big data segment");
        left -= want;
      }
      return;
    }
    this.cell(dataOff, "value data", size);
    claim(dataOff, "value data");
  }

  private isBigData(size: number): boolean {
    return this.minor >= 4 && size > BIG_DATA_SEGMENT;
  }

  private readNk(cell: number) {
    const { p, len } = this.cell(cell, "key", 76);
    if (this.sig(p) !== "nk") throw this.err(cell, "expected an 'nk' key record");
    const flags = this.u16(p + 2);
    const nameLen = this.u16(p + 72);
    if (76 + nameLen > len) throw this.err(cell, `key name of ${nameLen} bytes overruns its ${len}-byte cell`);
    if (!(flags & KEY_COMP_NAME) && nameLen % 2 !== 0)
      throw this.err(cell, `UTF-16 key name has odd length ${nameLen}`);
    return {
      p,
      flags,
      parent: this.u32(p + 16),
      nSubkeys: this.u32(p + 20),
      subkeyList: this.u32(p + 28),
      nValues: this.u32(p + 36),
      valueList: this.u32(p + 40),
      sk: this.u32(p + 44),
      classOff: this.u32(p + 48),
      nameLen,
      classLen: this.u16(p + 74),
    };
  }

  /** Read a subkey list (leaf or ri index of leaves) and check it holds exactly `expected` entries. */
  private readSubkeyList(root: number, expected: number): SubkeyList {
    if (expected > this.used.size) throw this.err(root, `key claims ${expected} subkeys, more than the hive has cells`);
    const { p, len } = this.cell(root, "subkey list", 4);
    const kind = this.sig(p);
    const readLeaf = (cell: number, lp: number, llen: number, k: string): number[] => {
      const n = this.u16(lp + 2);
      const step = k === "li" ? 4 : 8;
      if (4 + n * step > llen) throw this.err(cell, `${k} list of ${n} entries overruns its ${llen}-byte cell`);
      const out: number[] = [];
      for (let i = 0; i < n; i++) out.push(this.u32(lp + 4 + i * step));
      return out;
    };
    if (kind === "lf" || kind === "lh" || kind === "li") {
      const children = readLeaf(root, p, len, kind);
      if (children.length !== expected)
        throw this.err(root, `subkey list holds ${children.length} entries, the key says ${expected}`);
      return { root, kind, leaves: [{ kind, cell: root }], children };
    }
    if (kind === "ri") {
      const n = this.u16(p + 2);
      if (4 + n * 4 > len) throw this.err(root, `ri index of ${n} entries overruns its ${len}-byte cell`);
      const leaves: Leaf[] = [];
      const children: number[] = [];
      const seen = new Set<number>();
      for (let i = 0; i < n; i++) {
        const leaf = this.u32(p + 4 + i * 4);
        if (seen.has(leaf) || leaf === root)
          throw this.err(root, `ri index names the list at ${hex(leaf + BASE)} twice`);
        seen.add(leaf);
        const l = this.cell(leaf, "ri index entry", 4);
        const lk = this.sig(l.p);
        if (lk !== "lf" && lk !== "lh" && lk !== "li")
          throw this.err(leaf, `ri index entry is '${lk.replace(/[^\x20-\x7e]/g, "?")}', not an lf/lh/li list`);
        leaves.push({ kind: lk, cell: leaf });
        for (const c of readLeaf(leaf, l.p, l.len, lk)) {
          children.push(c);
          if (children.length > expected)
            throw this.err(root, `subkey lists hold more entries than the key's ${expected}`);
        }
      }
      if (children.length !== expected)
        throw this.err(root, `subkey lists hold ${children.length} entries, the key says ${expected}`);
      return { root, kind: "ri", leaves, children };
    }
    throw this.err(root, `subkey list has unknown signature '${kind.replace(/[^\x20-\x7e]/g, "?")}'`);
  }

  // ---------------------------------------------------------------- reading

  /** The root key. */
  root(): RegKey {
    return new RegKey(this, this.rootOffset);
  }

  /** The key at `path` below the root (names are case-insensitive), or undefined. */
  getKey(path: string | readonly string[]): RegKey | undefined {
    let cur = this.rootOffset;
    for (const name of splitKeyPath(path)) {
      const next = this.findSubkeyAt(cur, name);
      if (next === undefined) return undefined;
      cur = next;
    }
    return new RegKey(this, cur);
  }

  /** The value `name` of the key at `path`, or undefined when the key or the value is absent. */
  getValue(path: string | readonly string[], name: string): RegValue | undefined {
    return this.getKey(path)?.value(name);
  }

  /** Whether the hive's bytes differ from those parsed, created or last serialized (so a save would write). */
  isModified(): boolean {
    return this.modified && !this.buf.equals(this.original);
  }

  /** Minor format version (BCD stores: 3). */
  get minorVersion(): number {
    return this.minor;
  }

  /** @internal */
  keyNameAt(cell: number): string {
    const nk = this.readNk(cell);
    const start = nk.p + 76;
    return nk.flags & KEY_COMP_NAME
      ? this.buf.toString("latin1", start, start + nk.nameLen)
      : this.buf.toString("utf16le", start, start + nk.nameLen);
  }

  /** @internal */
  keyTimestampAt(cell: number): bigint {
    return this.buf.readBigUInt64LE(this.readNk(cell).p + 4);
  }

  /** @internal */
  subkeyOffsetsAt(cell: number): number[] {
    const nk = this.readNk(cell);
    if (nk.nSubkeys === 0) return [];
    return this.readSubkeyList(nk.subkeyList, nk.nSubkeys).children;
  }

  /** @internal */
  findSubkeyAt(cell: number, name: string): number | undefined {
    for (const c of this.subkeyOffsetsAt(cell)) if (namesEqual(this.keyNameAt(c), name)) return c;
    return undefined;
  }

  private valueOffsets(cell: number): number[] {
    const nk = this.readNk(cell);
    if (nk.nValues === 0) return [];
    const list = this.cell(nk.valueList, "value list", nk.nValues * 4);
    const out: number[] = [];
    for (let i = 0; i < nk.nValues; i++) out.push(this.u32(list.p + i * 4));
    return out;
  }

  private readVk(vk: number): RegValue {
    const { p } = this.cell(vk, "value", 20);
    if (this.sig(p) !== "vk") throw this.err(vk, "expected a 'vk' value record");
    const nameLen = this.u16(p + 2);
    const flags = this.u16(p + 16);
    const name =
      flags & VALUE_COMP_NAME
        ? this.buf.toString("latin1", p + 20, p + 20 + nameLen)
        : this.buf.toString("utf16le", p + 20, p + 20 + nameLen);
    return { name, type: this.u32(p + 12), data: this.readVkData(vk, p) };
  }

  private readVkData(vk: number, p: number): Buffer {
    const rawSize = this.u32(p + 4);
    const size = rawSize & 0x7fffffff;
    if (rawSize & 0x80000000) {
      if (size > 4) throw this.err(vk + 8, `value data marked inline but ${size} bytes long`);
      return Buffer.from(this.buf.subarray(p + 8, p + 8 + size));
    }
    if (size === 0) return Buffer.alloc(0);
    const dataOff = this.u32(p + 8);
    if (this.isBigData(size)) {
      const db = this.cell(dataOff, "big data record", 8);
      const n = this.u16(db.p + 2);
      const sl = this.cell(this.u32(db.p + 4), "big data segment list", n * 4);
      const parts: Buffer[] = [];
      let left = size;
      for (let i = 0; i < n && left > 0; i++) {
        const want = Math.min(left, BIG_DATA_SEGMENT);
        const seg = this.cell(this.u32(sl.p + i * 4), "big data segment", want);
        parts.push(Buffer.from(this.buf.subarray(seg.p, seg.p + want)));
        left -= want;
      }
      if (left > 0) throw this.err(dataOff, `big data: segments hold ${size - left} of ${size} bytes`);
      return Buffer.concat(parts);
    }
    const d = this.cell(dataOff, "value data", size);
    return Buffer.from(this.buf.subarray(d.p, d.p + size));
  }

  /** @internal */
  valuesAt(cell: number): RegValue[] {
    return this.valueOffsets(cell).map((v) => this.readVk(v));
  }

  /** Every key path below (and including) the root, depth first in list order, with its values. */
  *walk(): Generator<{ path: string[]; key: RegKey }> {
    const stack: Array<{ cell: number; path: string[] }> = [{ cell: this.rootOffset, path: [] }];
    while (stack.length > 0) {
      const { cell, path } = stack.pop()!;
      yield { path, key: new RegKey(this, cell) };
      const kids = this.subkeyOffsetsAt(cell);
      for (let i = kids.length - 1; i >= 0; i--)
        stack.push({ cell: kids[i], path: [...path, this.keyNameAt(kids[i])] });
    }
  }

  // ---------------------------------------------------------------- allocation

  private binOf(cell: number): Bin {
    let lo = 0;
    let hi = this.bins.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const b = this.bins[mid];
      if (cell < b.start) hi = mid - 1;
      else if (cell >= b.end) lo = mid + 1;
      else return b;
    }
    throw this.err(cell, "internal: cell outside every hbin");
  }

  private addFree(start: number, size: number): void {
    this.free.set(start, size);
    this.freeByEnd.set(start + size, start);
    this.buf.writeInt32LE(size, this.fo(start));
  }

  private removeFree(start: number): void {
    const size = this.free.get(start);
    if (size === undefined) return;
    this.free.delete(start);
    this.freeByEnd.delete(start + size);
  }

  /** Allocate a cell with room for `dataLen` bytes; its data is zeroed. Returns the cell offset. */
  private alloc(dataLen: number): number {
    const need = align(dataLen + 4, 8);
    let best = -1;
    for (const [off, size] of this.free) {
      if (size >= need && (best < 0 || off < best)) best = off;
    }
    if (best < 0) best = this.appendBin(need);
    const size = this.free.get(best)!;
    this.removeFree(best);
    let take = size;
    if (size - need >= 16) {
      this.addFree(best + need, size - need);
      take = need;
    }
    this.used.set(best, take);
    const p = this.fo(best);
    this.buf.writeInt32LE(-take, p);
    this.buf.fill(0, p + 4, p + take);
    this.modified = true;
    return best;
  }

  /** Append an hbin big enough for a cell of `need` bytes; returns the offset of its free cell. */
  private appendBin(need: number): number {
    const size = align(need + HBIN_HEADER, 4096);
    if (BASE + this.binsSize + size > 0x7fffffff) throw new RegfError(-1, "hive would grow past 2 GiB", this.file);
    const start = this.binsSize;
    const grown = Buffer.alloc(BASE + start + size);
    this.buf.copy(grown, 0, 0, BASE + start); // anything after the last hbin (slack) is dropped
    const f = BASE + start;
    grown.write("hbin", f, "latin1");
    grown.writeUInt32LE(start, f + 4);
    grown.writeUInt32LE(size, f + 8);
    this.buf = grown;
    this.binsSize = start + size;
    this.buf.writeUInt32LE(this.binsSize, 40);
    this.bins.push({ start, end: start + size });
    this.addFree(start + HBIN_HEADER, size - HBIN_HEADER);
    return start + HBIN_HEADER;
  }

  /** Release an allocated cell, merging it with free neighbours in the same hbin. */
  private release(cell: number): void {
    const size = this.used.get(cell);
    if (size === undefined) throw this.err(cell, "internal: releasing a cell that is not allocated");
    this.used.delete(cell);
    // free space keeps no old content: a deleted value (a KDNET key, say) must not stay readable in the file
    this.buf.fill(0, this.fo(cell) + 4, this.fo(cell) + size);
    const bin = this.binOf(cell);
    let start = cell;
    let total = size;
    const next = cell + size;
    if (next < bin.end && this.free.has(next)) {
      total += this.free.get(next)!;
      this.removeFree(next);
    }
    const prev = this.freeByEnd.get(cell);
    if (prev !== undefined && prev >= bin.start) {
      total += this.free.get(prev)!;
      this.removeFree(prev);
      start = prev;
    }
    this.addFree(start, total);
    this.modified = true;
  }

  /** Data capacity of an allocated cell. */
  private capacity(cell: number): number {
    return (this.used.get(cell) ?? 4) - 4;
  }

  // ---------------------------------------------------------------- writing

  private guardWritable(): void {
    const b = this.buf;
    if (b.readUInt32LE(4) !== b.readUInt32LE(8))
      throw new RegfError(
        4,
        "sequence numbers differ: the hive was not written cleanly and its .LOG files hold changes; refusing to edit it",
        this.file,
      );
  }

  private now(): bigint | undefined {
    return this.clock?.();
  }

  private touch(cell: number): void {
    const t = this.now();
    if (t !== undefined) this.buf.writeBigUInt64LE(t, this.fo(cell) + 4 + 4);
  }

  private writeNk(cell: number, name: Buffer, compressed: boolean, parent: number, flags: number): void {
    const p = this.fo(cell) + 4;
    const b = this.buf;
    b.write("nk", p, "latin1");
    b.writeUInt16LE(flags | (compressed ? KEY_COMP_NAME : 0), p + 2);
    b.writeBigUInt64LE(this.now() ?? b.readBigUInt64LE(12), p + 4);
    b.writeUInt32LE(2, p + 12); // access bits, as in bcdedit-made stores
    b.writeUInt32LE(parent, p + 16);
    b.writeUInt32LE(0, p + 20);
    b.writeUInt32LE(0, p + 24);
    b.writeUInt32LE(NONE, p + 28);
    b.writeUInt32LE(NONE, p + 32);
    b.writeUInt32LE(0, p + 36);
    b.writeUInt32LE(NONE, p + 40);
    b.writeUInt32LE(NONE, p + 44);
    b.writeUInt32LE(NONE, p + 48);
    b.writeUInt16LE(name.length, p + 72);
    b.writeUInt16LE(0, p + 74);
    name.copy(b, p + 76);
  }

  /** Write a subkey list for `children` (already in order) of key `nk`, reusing or releasing `old`. */
  private writeSubkeyList(nkCell: number, old: SubkeyList, children: number[]): void {
    const p = this.fo(nkCell) + 4;
    const releaseOld = () => {
      if (old.kind === "ri") for (const l of old.leaves) this.release(l.cell);
      if (old.root !== NONE) this.release(old.root);
    };
    if (children.length === 0) {
      releaseOld();
      this.buf.writeUInt32LE(0, p + 20);
      this.buf.writeUInt32LE(NONE, p + 28);
      return;
    }
    const kind: "lf" | "lh" | "li" = old.kind === "lh" || old.kind === "li" ? old.kind : "lf";
    const step = kind === "li" ? 4 : 8;
    const fillLeaf = (cell: number, entries: number[]) => {
      const lp = this.fo(cell) + 4;
      this.buf.write(kind, lp, "latin1");
      this.buf.writeUInt16LE(entries.length, lp + 2);
      entries.forEach((child, i) => {
        const e = lp + 4 + i * step;
        this.buf.writeUInt32LE(child, e);
        if (kind === "li") return;
        const name = this.keyNameAt(child);
        if (kind === "lh") this.buf.writeUInt32LE(lhHash(name), e + 4);
        else {
          const hint = Buffer.alloc(4);
          for (let j = 0; j < 4 && j < name.length; j++) hint[j] = name.charCodeAt(j) & 0xff;
          hint.copy(this.buf, e + 4);
        }
      });
    };
    let root: number;
    if (children.length <= LEAF_MAX) {
      const need = 4 + children.length * step;
      if (old.kind !== "ri" && old.root !== NONE && this.capacity(old.root) >= need) {
        root = old.root;
      } else {
        root = this.alloc(need);
        releaseOld();
      }
      fillLeaf(root, children);
    } else {
      const groups: number[][] = [];
      for (let i = 0; i < children.length; i += LEAF_MAX) groups.push(children.slice(i, i + LEAF_MAX));
      const leaves = groups.map((g) => {
        const c = this.alloc(4 + g.length * step);
        fillLeaf(c, g);
        return c;
      });
      root = this.alloc(4 + leaves.length * 4);
      const rp = this.fo(root) + 4;
      this.buf.write("ri", rp, "latin1");
      this.buf.writeUInt16LE(leaves.length, rp + 2);
      for (const [i, l] of leaves.entries()) this.buf.writeUInt32LE(l, rp + 4 + i * 4);
      releaseOld();
    }
    this.buf.writeUInt32LE(children.length, p + 20);
    this.buf.writeUInt32LE(root, p + 28);
  }

  private listOf(nkCell: number): SubkeyList {
    const nk = this.readNk(nkCell);
    if (nk.nSubkeys === 0) return { root: NONE, kind: "none", leaves: [], children: [] };
    return this.readSubkeyList(nk.subkeyList, nk.nSubkeys);
  }

  private bumpMax(fieldFo: number, value: number): void {
    const cur = this.buf.readUInt32LE(fieldFo);
    // the low 16 bits of "largest subkey name length" hold the length; the high bits are flags in newer hives
    const low = cur & 0xffff;
    if (value > low) this.buf.writeUInt32LE(((cur & 0xffff0000) | Math.min(value, 0xffff)) >>> 0, fieldFo);
  }

  /**
   * Create the key at `path` and any missing parents (like `reg add`). New keys share their parent's security
   * cell and are inserted in the parent's subkey list in Windows order (`lf` lists for new lists).
   * @returns the key (existing or new)
   */
  createKey(path: string | readonly string[]): RegKey {
    let cur = this.rootOffset;
    for (const name of splitKeyPath(path)) {
      const next = this.findSubkeyAt(cur, name);
      cur = next ?? this.addSubkey(cur, name);
    }
    return new RegKey(this, cur);
  }

  private addSubkey(parent: number, name: string): number {
    this.guardWritable();
    if (name.length === 0 || name.length > 255 || name.includes("\\"))
      throw new RegfError(-1, `key name '${name}' is not allowed (1 to 255 characters, no backslash)`, this.file);
    const { bytes, compressed } = encodeName(name);
    const cell = this.alloc(76 + bytes.length);
    this.writeNk(cell, bytes, compressed, parent, 0);
    const pnk = this.readNk(parent);
    if (pnk.sk !== NONE) {
      const skp = this.fo(pnk.sk) + 4;
      this.buf.writeUInt32LE(Math.min(this.u32(skp + 12) + 1, 0xffffffff), skp + 12); // saturate a hostile count
      this.buf.writeUInt32LE(pnk.sk, this.fo(cell) + 4 + 44);
      this.skUsers.set(pnk.sk, (this.skUsers.get(pnk.sk) ?? 0) + 1);
    }
    const old = this.listOf(parent);
    const children = [...old.children];
    let at = children.length;
    for (let i = 0; i < children.length; i++) {
      if (compareKeyNames(name, this.keyNameAt(children[i])) < 0) {
        at = i;
        break;
      }
    }
    children.splice(at, 0, cell);
    this.writeSubkeyList(parent, old, children);
    this.bumpMax(pnk.p + 52, name.length * 2);
    this.touch(parent);
    this.modified = true;
    return cell;
  }

  /**
   * Delete the key at `path`. A key with subkeys is deleted only with `recursive`. The root cannot be deleted.
   * @returns false when the key did not exist
   */
  deleteKey(path: string | readonly string[], opts: { recursive?: boolean } = {}): boolean {
    const names = splitKeyPath(path);
    if (names.length === 0) throw new RegfError(-1, "the root key cannot be deleted", this.file);
    const parentKey = this.getKey(names.slice(0, -1));
    if (!parentKey) return false;
    const cell = this.findSubkeyAt(parentKey.offset, names[names.length - 1]);
    if (cell === undefined) return false;
    this.guardWritable();
    if (!opts.recursive && this.readNk(cell).nSubkeys > 0)
      throw new RegfError(
        this.fo(cell),
        `key '${names.join("\\")}' has subkeys; delete them first or pass recursive`,
        this.file,
      );
    const old = this.listOf(parentKey.offset);
    this.freeKeyTree(cell);
    this.writeSubkeyList(
      parentKey.offset,
      old,
      old.children.filter((c) => c !== cell),
    );
    this.touch(parentKey.offset);
    this.modified = true;
    return true;
  }

  private freeKeyTree(top: number): void {
    const order: number[] = [];
    const stack = [top];
    while (stack.length > 0) {
      const c = stack.pop()!;
      order.push(c);
      for (const k of this.subkeyOffsetsAt(c)) stack.push(k);
    }
    for (let i = order.length - 1; i >= 0; i--) this.freeKey(order[i]);
  }

  /** Release one key's cells (its subkeys are already gone or released by the caller). */
  private freeKey(cell: number): void {
    const nk = this.readNk(cell);
    for (const v of this.valueOffsets(cell)) this.freeValue(v);
    if (nk.nValues > 0) this.release(nk.valueList);
    if (nk.nSubkeys > 0) {
      const sl = this.readSubkeyList(nk.subkeyList, nk.nSubkeys);
      if (sl.kind === "ri") for (const l of sl.leaves) this.release(l.cell);
      this.release(sl.root);
    }
    if (nk.classLen > 0 && nk.classOff !== NONE && this.used.has(nk.classOff)) this.release(nk.classOff);
    if (nk.sk !== NONE) this.unrefSk(nk.sk);
    this.release(cell);
  }

  private unrefSk(sk: number): void {
    const p = this.fo(sk) + 4;
    const refs = this.u32(p + 12);
    this.buf.writeUInt32LE(refs > 0 ? refs - 1 : 0, p + 12);
    const users = (this.skUsers.get(sk) ?? 1) - 1;
    this.skUsers.set(sk, users);
    if (users > 0 || refs > 1) return;
    // last user: unlink it from the circular list of security cells and release it
    const flink = this.u32(p + 4);
    const blink = this.u32(p + 8);
    if (flink !== sk && this.used.has(flink) && this.used.has(blink)) {
      this.buf.writeUInt32LE(flink, this.fo(blink) + 4 + 4);
      this.buf.writeUInt32LE(blink, this.fo(flink) + 4 + 8);
    }
    this.skUsers.delete(sk);
    this.release(sk);
  }

  private freeValue(vk: number): void {
    const p = this.fo(vk) + 4;
    this.freeValueData(p);
    this.release(vk);
  }

  private freeValueData(vkp: number): void {
    const rawSize = this.u32(vkp + 4);
    const size = rawSize & 0x7fffffff;
    if (rawSize & 0x80000000 || size === 0) return;
    const dataOff = this.u32(vkp + 8);
    if (this.isBigData(size)) {
      const db = this.cell(dataOff, "big data record", 8);
      const n = this.u16(db.p + 2);
      const segList = this.u32(db.p + 4);
      const sl = this.cell(segList, "big data segment list", n * 4);
      const segs: number[] = [];
      for (let i = 0; i < n; i++) segs.push(this.u32(sl.p + i * 4));
      for (const s of segs) if (this.used.has(s)) this.release(s);
      this.release(segList);
      this.release(dataOff);
      return;
    }
    this.release(dataOff);
  }

  /** Store `data` as the data of the value record at `vk` (replacing what it had). */
  private storeValueData(vk: number, data: Buffer): void {
    const p = this.fo(vk) + 4;
    const rawSize = this.u32(p + 4);
    const oldSize = rawSize & 0x7fffffff;
    const oldInline = (rawSize & 0x80000000) !== 0 || oldSize === 0;
    const oldCell = oldInline || this.isBigData(oldSize) ? NONE : this.u32(p + 8);
    if (data.length <= 4) {
      if (!oldInline) this.freeValueData(p);
      const field = Buffer.alloc(4);
      data.copy(field);
      this.buf.writeUInt32LE((0x80000000 | data.length) >>> 0, p + 4);
      field.copy(this.buf, p + 8);
      return;
    }
    if (this.isBigData(data.length)) {
      if (!oldInline) this.freeValueData(p);
      const n = Math.ceil(data.length / BIG_DATA_SEGMENT);
      const segs: number[] = [];
      for (let i = 0; i < n; i++) {
        const chunk = data.subarray(i * BIG_DATA_SEGMENT, (i + 1) * BIG_DATA_SEGMENT);
        const s = this.alloc(chunk.length);
        chunk.copy(this.buf, this.fo(s) + 4);
        segs.push(s);
      }
      const list = this.alloc(n * 4);
      for (const [i, s] of segs.entries()) this.buf.writeUInt32LE(s, this.fo(list) + 4 + i * 4);
      const db = this.alloc(8);
      const dp = this.fo(db) + 4;
      this.buf.write("db", dp, "latin1");
      this.buf.writeUInt16LE(n, dp + 2);
      this.buf.writeUInt32LE(list, dp + 4);
      this.buf.writeUInt32LE(data.length, p + 4);
      this.buf.writeUInt32LE(db, p + 8);
      return;
    }
    let cell: number;
    if (oldCell !== NONE && this.capacity(oldCell) >= data.length) {
      cell = oldCell;
      // no old bytes (e.g. a longer secret) may survive behind the new data
      this.buf.fill(0, this.fo(cell) + 4 + data.length, this.fo(cell) + 4 + this.capacity(cell));
    } else {
      cell = this.alloc(data.length);
      if (!oldInline) this.freeValueData(p);
    }
    data.copy(this.buf, this.fo(cell) + 4);
    this.buf.writeUInt32LE(data.length, p + 4);
    this.buf.writeUInt32LE(cell, p + 8);
  }

  /**
   * Set value `name` of the existing key at `path` to `type` and `data`, creating the value when absent (it is
   * appended to the key's value list, as Windows does). Setting the same type and bytes changes nothing.
   * @returns whether the hive changed
   * @throws RegfError when the key does not exist
   */
  setValue(path: string | readonly string[], name: string, type: number, data: Uint8Array): boolean {
    const key = this.getKey(path);
    if (!key) throw new RegfError(-1, `key '${splitKeyPath(path).join("\\")}' does not exist`, this.file);
    if (!Number.isInteger(type) || type < 0 || type > 0xffffffff)
      throw new RegfError(-1, `value type ${type} is not a 32-bit number`, this.file);
    if (name.length > 16383) throw new RegfError(-1, "value name longer than 16383 characters", this.file);
    if (data.length > 0x40000000)
      throw new RegfError(-1, `value data of ${data.length} bytes is too large (1 GiB at most)`, this.file);
    const bytes = Buffer.from(data);
    const offsets = this.valueOffsets(key.offset);
    const existing = offsets.find((v) => namesEqual(this.readVk(v).name, name));
    if (existing !== undefined) {
      const cur = this.readVk(existing);
      if (cur.type === type && cur.data.equals(bytes)) return false;
      this.guardWritable();
      const p = this.fo(existing) + 4;
      this.storeValueData(existing, bytes);
      this.buf.writeUInt32LE(type, p + 12);
    } else {
      this.guardWritable();
      const { bytes: nb, compressed } = encodeName(name);
      const vk = this.alloc(20 + nb.length);
      const p = this.fo(vk) + 4;
      this.buf.write("vk", p, "latin1");
      this.buf.writeUInt16LE(nb.length, p + 2);
      this.buf.writeUInt32LE(0x80000000, p + 4);
      this.buf.writeUInt32LE(type, p + 12);
      this.buf.writeUInt16LE(compressed ? VALUE_COMP_NAME : 0, p + 16);
      nb.copy(this.buf, p + 20);
      this.storeValueData(vk, bytes);
      this.writeValueList(key.offset, [...offsets, vk]);
      this.bumpMax(this.fo(key.offset) + 4 + 60, name.length * 2);
    }
    const nkp = this.fo(key.offset) + 4;
    if (bytes.length > this.u32(nkp + 64)) this.buf.writeUInt32LE(bytes.length, nkp + 64);
    this.touch(key.offset);
    this.modified = true;
    return true;
  }

  private writeValueList(nkCell: number, offsets: number[]): void {
    const nk = this.readNk(nkCell);
    const old = nk.nValues > 0 ? nk.valueList : NONE;
    let list = NONE;
    if (offsets.length > 0) {
      const need = offsets.length * 4;
      if (old !== NONE && this.capacity(old) >= need) list = old;
      else list = this.alloc(need);
      for (const [i, v] of offsets.entries()) this.buf.writeUInt32LE(v, this.fo(list) + 4 + i * 4);
    }
    if (old !== NONE && old !== list) this.release(old);
    this.buf.writeUInt32LE(offsets.length, nk.p + 36);
    this.buf.writeUInt32LE(list, nk.p + 40);
  }

  /**
   * Delete value `name` of the key at `path`.
   * @returns false when the key or the value did not exist (nothing changed)
   */
  deleteValue(path: string | readonly string[], name: string): boolean {
    const key = this.getKey(path);
    if (!key) return false;
    const offsets = this.valueOffsets(key.offset);
    const vk = offsets.find((v) => namesEqual(this.readVk(v).name, name));
    if (vk === undefined) return false;
    this.guardWritable();
    this.writeValueList(
      key.offset,
      offsets.filter((v) => v !== vk),
    );
    this.freeValue(vk);
    this.touch(key.offset);
    this.modified = true;
    return true;
  }

  // ---------------------------------------------------------------- output

  /**
   * The hive's bytes. When it was modified: both sequence numbers set to the next value, checksum recomputed
   * (and the base block timestamp set when a clock was given). The hive then counts as unmodified.
   */
  serialize(): Buffer {
    if (this.isModified()) {
      const b = this.buf;
      const seq = (b.readUInt32LE(4) + 1) >>> 0;
      b.writeUInt32LE(seq, 4);
      b.writeUInt32LE(seq, 8);
      const t = this.now();
      if (t !== undefined) b.writeBigUInt64LE(t, 12);
      b.writeUInt32LE(baseBlockChecksum(b), 508);
      this.original = Buffer.from(b);
    }
    this.modified = false;
    return Buffer.from(this.buf);
  }

  /** Re-check the current bytes as a fresh parse would (for tests and paranoia). @throws RegfError */
  check(): void {
    const copy = Buffer.from(this.buf);
    copy.writeUInt32LE(baseBlockChecksum(copy), 508);
    Hive.parse(copy, { file: this.file });
  }

  /** Statistics about cell usage (for tests and diagnostics). */
  stats(): { bins: number; size: number; usedCells: number; freeCells: number; freeBytes: number } {
    let freeBytes = 0;
    for (const s of this.free.values()) freeBytes += s;
    return {
      bins: this.bins.length,
      size: BASE + this.binsSize,
      usedCells: this.used.size,
      freeCells: this.free.size,
      freeBytes,
    };
  }
}
