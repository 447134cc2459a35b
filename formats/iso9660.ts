/**
 * A pure reader of ISO 9660 images with Rock Ridge and Joliet trees and an El Torito boot catalog, and the few
 * field encoders an in-place update needs (toolchains/open/iso-update.ts). No tools, no Pulumi; bytes come from a
 * `read(offset, length)` callback, so the reader works on a file, a buffer or a patched view of either.
 *
 * References (section numbers of the standards, cited where a field is read):
 * - ECMA-119, 4th edition (2019) = ISO 9660: volume descriptors from logical sector 16 (6.2.1, 6.7.1); the Primary
 *   Volume Descriptor (8.4), the Supplementary Volume Descriptor (8.5), the Boot Record (8.2), the Volume Descriptor
 *   Set Terminator (8.3); directory records (9.1) that never cross a logical sector, a zero length byte ending the
 *   records of a sector (6.8.1.1); numbers recorded in both byte orders (7.2.3, 7.3.3).
 * - "Joliet Specification" (Microsoft, 1995): an SVD whose escape sequences are `%/@`, `%/C` or `%/E` (UCS-2 levels
 *   1-3) and whose file identifiers are UCS-2 big-endian.
 * - IEEE P1281 (System Use Sharing Protocol, SUSP 1.12) and IEEE P1282 (Rock Ridge Interchange Protocol, RRIP
 *   1.12): system use entries (signature, length, version), `SP` (its skip length), `CE` (continuation area:
 *   block, offset, length), `NM` (the POSIX name, possibly in several parts).
 * - "El Torito" Bootable CD-ROM Format Specification 1.0 (Phoenix/IBM, 1995): the boot record volume descriptor
 *   (boot system identifier "EL TORITO SPECIFICATION", catalog pointer at byte 0x47), the catalog's validation
 *   entry (header id 1, key bytes 0x55 0xAA, checksum), initial/default entry, section headers (0x90, 0x91 for the
 *   last) and section entries (boot indicator, media type, load segment, system type, sector count, load RBA).
 */
import { WinpeError } from "../runtime/errors";

/** ECMA-119 logical block size as every image here uses it (the PVD's field is checked). */
export const ISO_BLOCK = 2048;
/** ECMA-119 6.2.1: the system area is logical sectors 0-15; the volume descriptor set starts at 16. */
export const FIRST_VD_SECTOR = 16;

/** Byte offsets inside a volume descriptor (ECMA-119 8.4; BP n = offset n - 1). */
export const VD = {
  type: 0,
  id: 1,
  version: 6,
  systemId: 8,
  volumeId: 40,
  /** 8.4.8, BP 81-88: Volume Space Size, both-byte order (7.3.3). */
  volumeSpaceSize: 80,
  /** 8.5.6, BP 89-120: escape sequences of an SVD. */
  escapeSequences: 88,
  /** 8.4.12, BP 129-132: Logical Block Size (7.2.3). */
  logicalBlockSize: 128,
  /** 8.4.18, BP 157-190: the root directory record. */
  rootRecord: 156,
  /** 8.4.21, BP 447-574: Data Preparer Identifier. */
  preparerId: 446,
  /** 8.4.22, BP 575-702: Application Identifier. */
  applicationId: 574,
  /** 8.4.26, BP 814-830: Volume Creation Date and Time (8.4.26.1 format). */
  creationDate: 813,
} as const;

/** Byte offsets inside a directory record (ECMA-119 9.1). */
export const DR = {
  length: 0,
  extAttrLength: 1,
  /** 9.1.3, BP 3-10: Location of Extent, both-byte order. */
  extent: 2,
  /** 9.1.4, BP 11-18: Data Length, both-byte order. */
  dataLength: 10,
  recordingDate: 18,
  /** 9.1.6, BP 26: File Flags (bit 1 directory, bit 7 multi-extent). */
  flags: 25,
  nameLength: 32,
  name: 33,
} as const;

export class IsoFormatError extends WinpeError {
  constructor(message: string) {
    super(message);
    this.name = "IsoFormatError";
  }
}

/** Reads `length` bytes at byte `offset` of the image (short reads past the end are an error of the callback). */
export type IsoReader = (offset: number, length: number) => Buffer;

/** ECMA-119 7.3.3: a 32-bit number in both byte orders (8 bytes: little-endian, then big-endian). */
export function bothEndian32(n: number): Buffer {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`${n} does not fit a 32-bit field`);
  const b = Buffer.alloc(8);
  b.writeUInt32LE(n, 0);
  b.writeUInt32BE(n, 4);
  return b;
}

/** Read a both-byte-order 32-bit number, checking the two halves agree. */
export function readBothEndian32(b: Buffer, at: number, what: string): number {
  const le = b.readUInt32LE(at);
  const be = b.readUInt32BE(at + 4);
  if (le !== be) throw new IsoFormatError(`${what}: both-byte-order field disagrees (${le} vs ${be})`);
  return le;
}

function readBothEndian16(b: Buffer, at: number, what: string): number {
  const le = b.readUInt16LE(at);
  const be = b.readUInt16BE(at + 2);
  if (le !== be) throw new IsoFormatError(`${what}: both-byte-order field disagrees (${le} vs ${be})`);
  return le;
}

/** A directory record as found in a directory's extent. */
export interface DirRecord {
  /** Absolute byte offset of the record in the image. */
  offset: number;
  /** The record's bytes (length byte included). */
  raw: Buffer;
  extent: number;
  size: number;
  isDir: boolean;
  multiExtent: boolean;
  /** The file identifier as recorded (ISO: d-characters with `;1`; Joliet: decoded UCS-2). */
  identifier: string;
  /** Rock Ridge NM name when present (ISO tree only). */
  rrName?: string;
  /** Rock Ridge entries present, by signature (PX, TF, NM, SL, ...), for checks. */
  susp: string[];
}

/** One file or directory of a tree, by its path (forward slashes, no leading slash). */
export interface TreeEntry {
  path: string;
  isDir: boolean;
  /** Every record of the entry (several for a multi-extent file, ECMA-119 6.5.1). */
  records: DirRecord[];
}

export interface VolumeDescriptorInfo {
  sector: number;
  type: number;
  volumeId: string;
  volumeSpaceSize: number;
  preparerId: string;
  applicationId: string;
  creationDate: string;
  root: DirRecord;
}

export interface BootEntry {
  /** Absolute byte offset of the 32-byte entry in the image. */
  offset: number;
  /** Platform of the validation entry or of the section header this entry is under (0 x86 BIOS, 0xEF UEFI). */
  platform: number;
  bootable: boolean;
  /** 0 = no emulation. */
  mediaType: number;
  loadSegment: number;
  systemType: number;
  /** Virtual (512-byte) sectors to load. */
  sectorCount: number;
  /** The boot image's first logical block. */
  loadRba: number;
}

export interface BootCatalog {
  sector: number;
  entries: BootEntry[];
}

export interface IsoImage {
  pvd: VolumeDescriptorInfo;
  joliet?: VolumeDescriptorInfo;
  bootCatalog?: BootCatalog;
  /** Sectors of the volume descriptor set (16 .. terminator). */
  descriptorSectors: number[];
  /** The ISO 9660 tree (names from Rock Ridge NM when present), every entry below the root. */
  isoTree: Map<string, TreeEntry>;
  /** The Joliet tree, when the image has one. */
  jolietTree?: Map<string, TreeEntry>;
  /** Every directory extent of both trees: [first block, block count]. */
  directoryExtents: Array<[number, number]>;
  /** Whether the ISO tree carries Rock Ridge (an SP entry in the root's "." record, SUSP 5.3). */
  rockRidge: boolean;
}

const ascii = (b: Buffer, start: number, len: number) => b.toString("latin1", start, start + len).replace(/ +$/, "");

function ucs2be(b: Buffer): string {
  let s = "";
  for (let i = 0; i + 1 < b.length; i += 2) s += String.fromCharCode(b.readUInt16BE(i));
  return s;
}

function parseRecord(buf: Buffer, at: number, absOffset: number, joliet: boolean, what: string): DirRecord {
  const len = buf[at + DR.length]!;
  if (len < 34 || at + len > buf.length) throw new IsoFormatError(`${what}: bad directory record length ${len}`);
  const raw = Buffer.from(buf.subarray(at, at + len));
  const nameLen = raw[DR.nameLength]!;
  if (DR.name + nameLen > len) throw new IsoFormatError(`${what}: file identifier runs past its record`);
  const idBytes = raw.subarray(DR.name, DR.name + nameLen);
  let identifier: string;
  if (nameLen === 1 && (idBytes[0] === 0 || idBytes[0] === 1)) identifier = idBytes[0] === 0 ? "." : "..";
  else identifier = joliet ? ucs2be(idBytes) : idBytes.toString("latin1");
  const flags = raw[DR.flags]!;
  return {
    offset: absOffset,
    raw,
    extent: readBothEndian32(raw, DR.extent, `${what}: extent`),
    size: readBothEndian32(raw, DR.dataLength, `${what}: data length`),
    isDir: (flags & 0x02) !== 0,
    multiExtent: (flags & 0x80) !== 0,
    identifier,
    susp: [],
  };
}

/** The System Use field of a record (9.1.13): after the identifier and its padding byte. */
function systemUse(r: DirRecord): Buffer {
  const nameLen = r.raw[DR.nameLength]!;
  const start = DR.name + nameLen + (nameLen % 2 === 0 ? 1 : 0);
  return r.raw.subarray(start);
}

/** Walk SUSP entries (following CE continuation areas), calling `each(signature, entry)`. */
function walkSusp(read: IsoReader, area: Buffer, skip: number, each: (sig: string, e: Buffer) => void): void {
  let buf = area.subarray(skip);
  for (let hops = 0; hops < 32; hops++) {
    let next: { block: number; offset: number; length: number } | undefined;
    let i = 0;
    while (i + 4 <= buf.length) {
      const sig = buf.toString("latin1", i, i + 2);
      const len = buf[i + 2]!;
      if (len < 4 || i + len > buf.length) break; // padding or the end
      const e = buf.subarray(i, i + len);
      if (sig === "ST") return; // SUSP 5.4: terminator
      if (sig === "CE" && len >= 28) {
        next = {
          block: readBothEndian32(e, 4, "SUSP CE block"),
          offset: readBothEndian32(e, 12, "SUSP CE offset"),
          length: readBothEndian32(e, 20, "SUSP CE length"),
        };
      } else each(sig, e);
      i += len;
    }
    if (!next) return;
    buf = read(next.block * ISO_BLOCK + next.offset, next.length);
  }
  throw new IsoFormatError("SUSP: more than 32 continuation areas");
}

function readDescriptor(b: Buffer, sector: number, joliet: boolean): VolumeDescriptorInfo {
  const what = `volume descriptor at sector ${sector}`;
  const blockSize = readBothEndian16(b, VD.logicalBlockSize, `${what}: logical block size`);
  if (blockSize !== ISO_BLOCK) throw new IsoFormatError(`${what}: logical block size ${blockSize}, not 2048`);
  const field = (at: number, len: number) =>
    joliet ? ucs2be(b.subarray(at, at + len)).replace(/[ \0]+$/, "") : ascii(b, at, len);
  return {
    sector,
    type: b[VD.type]!,
    volumeId: field(VD.volumeId, 32),
    volumeSpaceSize: readBothEndian32(b, VD.volumeSpaceSize, `${what}: volume space size`),
    preparerId: field(VD.preparerId, 128),
    applicationId: field(VD.applicationId, 128),
    creationDate: b.toString("latin1", VD.creationDate, VD.creationDate + 16),
    root: parseRecord(b, VD.rootRecord, sector * ISO_BLOCK + VD.rootRecord, joliet, `${what}: root record`),
  };
}

function isJolietSvd(b: Buffer): boolean {
  // Joliet: escape sequences %/@ (level 1), %/C (level 2), %/E (level 3) at BP 89-91
  const esc = b.toString("latin1", VD.escapeSequences, VD.escapeSequences + 3);
  return esc === "%/@" || esc === "%/C" || esc === "%/E";
}

function readBootCatalog(read: IsoReader, sector: number, volumeBlocks: number): BootCatalog {
  if (sector <= FIRST_VD_SECTOR || sector >= volumeBlocks)
    throw new IsoFormatError(`El Torito: boot catalog at block ${sector} lies outside the volume`);
  const b = read(sector * ISO_BLOCK, ISO_BLOCK);
  // validation entry: header id 1, key bytes 0x55 0xAA at 0x1E, the 16-bit words sum to 0
  if (b[0] !== 1 || b[0x1e] !== 0x55 || b[0x1f] !== 0xaa) throw new IsoFormatError("El Torito: no validation entry");
  let sum = 0;
  for (let i = 0; i < 32; i += 2) sum = (sum + b.readUInt16LE(i)) & 0xffff;
  if (sum !== 0) throw new IsoFormatError("El Torito: validation entry checksum is wrong");
  const entry = (at: number, platform: number): BootEntry => ({
    offset: sector * ISO_BLOCK + at,
    platform,
    bootable: b[at] === 0x88,
    mediaType: b[at + 1]! & 0x0f,
    loadSegment: b.readUInt16LE(at + 2),
    systemType: b[at + 4]!,
    sectorCount: b.readUInt16LE(at + 6),
    loadRba: b.readUInt32LE(at + 8),
  });
  const entries: BootEntry[] = [entry(32, b[1]!)];
  let at = 64;
  while (at + 32 <= ISO_BLOCK) {
    const h = b[at]!;
    if (h !== 0x90 && h !== 0x91) break;
    const platform = b[at + 1]!;
    const n = b.readUInt16LE(at + 2);
    at += 32;
    for (let i = 0; i < n && at + 32 <= ISO_BLOCK; i++, at += 32) {
      if (b[at] === 0x44) throw new IsoFormatError("El Torito: section entry extensions are not supported");
      entries.push(entry(at, platform));
    }
    if (h === 0x91) break;
  }
  return { sector, entries };
}

/**
 * Read an image's descriptors, both trees and the boot catalog. Throws IsoFormatError for anything that is not a
 * consistent ISO 9660 image (a reader for images we wrote: strict, not forgiving).
 */
export function readIsoImage(read: IsoReader, imageSize: number): IsoImage {
  if (imageSize < (FIRST_VD_SECTOR + 2) * ISO_BLOCK || imageSize % ISO_BLOCK !== 0)
    throw new IsoFormatError(`image size ${imageSize} is not a whole number of 2048-byte blocks after the system area`);
  let pvd: VolumeDescriptorInfo | undefined;
  let joliet: VolumeDescriptorInfo | undefined;
  let catalogSector: number | undefined;
  const descriptorSectors: number[] = [];
  for (let s = FIRST_VD_SECTOR; ; s++) {
    if ((s + 1) * ISO_BLOCK > imageSize) throw new IsoFormatError("no volume descriptor set terminator");
    const b = read(s * ISO_BLOCK, ISO_BLOCK);
    if (b.toString("latin1", VD.id, VD.id + 5) !== "CD001" || b[VD.version] !== 1)
      throw new IsoFormatError(`sector ${s} is not a volume descriptor (no CD001)`);
    descriptorSectors.push(s);
    const type = b[VD.type]!;
    if (type === 255) break;
    if (type === 1 && !pvd) pvd = readDescriptor(b, s, false);
    else if (type === 2 && !joliet && isJolietSvd(b)) joliet = readDescriptor(b, s, true);
    else if (type === 0 && b.toString("latin1", 7, 30) === "EL TORITO SPECIFICATION")
      catalogSector = b.readUInt32LE(0x47);
    if (descriptorSectors.length > 64) throw new IsoFormatError("more than 64 volume descriptors");
  }
  if (!pvd) throw new IsoFormatError("no primary volume descriptor");
  const blocks = imageSize / ISO_BLOCK;
  if (pvd.volumeSpaceSize !== blocks)
    throw new IsoFormatError(`the volume is ${pvd.volumeSpaceSize} blocks but the image holds ${blocks}`);
  if (joliet && joliet.volumeSpaceSize !== pvd.volumeSpaceSize)
    throw new IsoFormatError("the Joliet and primary volume descriptors disagree on the volume size");

  const directoryExtents: Array<[number, number]> = [];
  // Rock Ridge: SP in the System Use field of the root's "." record (SUSP 5.3), with the skip length
  const rootFirst = read(pvd.root.extent * ISO_BLOCK, ISO_BLOCK);
  const dot = parseRecord(rootFirst, 0, pvd.root.extent * ISO_BLOCK, false, "root '.' record");
  const su = systemUse(dot);
  const rockRidge = su.length >= 7 && su.toString("latin1", 0, 2) === "SP" && su[4] === 0xbe && su[5] === 0xef;
  const skip = rockRidge ? su[6]! : 0;

  const walk = (root: DirRecord, isJoliet: boolean): Map<string, TreeEntry> => {
    const tree = new Map<string, TreeEntry>();
    const seen = new Set<number>();
    const visit = (dir: DirRecord, prefix: string, depth: number) => {
      if (depth > 64) throw new IsoFormatError("directories nested deeper than 64");
      if (seen.has(dir.extent)) throw new IsoFormatError(`directory extent ${dir.extent} is reached twice`);
      seen.add(dir.extent);
      if (dir.size % ISO_BLOCK !== 0 || dir.size === 0)
        throw new IsoFormatError(`directory at block ${dir.extent}: size ${dir.size} is not whole blocks`);
      if (dir.extent + dir.size / ISO_BLOCK > blocks)
        throw new IsoFormatError(`directory at block ${dir.extent} lies outside the volume`);
      directoryExtents.push([dir.extent, dir.size / ISO_BLOCK]);
      const data = read(dir.extent * ISO_BLOCK, dir.size);
      const children: DirRecord[] = [];
      for (let sector = 0; sector < dir.size; sector += ISO_BLOCK) {
        let at = sector;
        // 6.8.1.1: records never cross a sector; a zero length byte ends the sector's records
        while (at < sector + ISO_BLOCK && data[at] !== 0) {
          const what = `${isJoliet ? "Joliet" : "ISO"} directory /${prefix} (block ${dir.extent})`;
          const r = parseRecord(data.subarray(0, sector + ISO_BLOCK), at, dir.extent * ISO_BLOCK + at, isJoliet, what);
          at += r.raw.length;
          if (r.identifier === "." || r.identifier === "..") continue;
          if (!isJoliet && rockRidge) {
            let nm = "";
            let hasNm = false;
            walkSusp(read, systemUse(r), skip, (sig, e) => {
              r.susp.push(sig);
              if (sig === "NM") {
                hasNm = true;
                nm += e.toString("utf8", 5);
              }
            });
            if (hasNm) r.rrName = nm;
          }
          children.push(r);
        }
      }
      for (const r of children) {
        const name = isJoliet
          ? r.identifier.replace(/;1$/, "")
          : (r.rrName ?? r.identifier.replace(/;1$/, "").replace(/\.$/, ""));
        const p = prefix ? `${prefix}/${name}` : name;
        const cur = tree.get(p);
        if (cur) {
          // 6.5.1: the records of a multi-extent file follow each other under one name
          if (cur.isDir || r.isDir || !cur.records[cur.records.length - 1]!.multiExtent)
            throw new IsoFormatError(`/${p} is recorded twice`);
          cur.records.push(r);
        } else tree.set(p, { path: p, isDir: r.isDir, records: [r] });
      }
      for (const r of children) {
        if (!r.isDir) continue;
        const name = isJoliet
          ? r.identifier.replace(/;1$/, "")
          : (r.rrName ?? r.identifier.replace(/;1$/, "").replace(/\.$/, ""));
        visit(r, prefix ? `${prefix}/${name}` : name, depth + 1);
      }
    };
    visit(root, "", 0);
    return tree;
  };
  const isoTree = walk(pvd.root, false);
  const jolietTree = joliet ? walk(joliet.root, true) : undefined;
  const bootCatalog = catalogSector !== undefined ? readBootCatalog(read, catalogSector, blocks) : undefined;
  return { pvd, joliet, bootCatalog, descriptorSectors, isoTree, jolietTree, directoryExtents, rockRidge };
}

/** A reader over an open file descriptor (positional reads; a short read is an error). */
export function fdReader(fd: number, readSync: (fd: number, b: Buffer, o: number, l: number, p: number) => number) {
  return (offset: number, length: number): Buffer => {
    const b = Buffer.alloc(length);
    let got = 0;
    while (got < length) {
      const n = readSync(fd, b, got, length - got, offset + got);
      if (n <= 0) throw new IsoFormatError(`short read at byte ${offset + got} (the image ends early)`);
      got += n;
    }
    return b;
  };
}
