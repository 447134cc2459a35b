/**
 * A WIM file's header and XML data, read without any tool: how many images, which architecture each is for, and
 * whether the file is whole (every resource the header names lies inside the file). Used to refuse a bad
 * `boot.wim` (not a WIM, a missing image index, another architecture, a truncated file) before anything is
 * written. No Pulumi, no tools.
 *
 * Format: Microsoft, "Windows Imaging File Format (WIM)" (WIM_HEADER_V1_2, 208 bytes) as implemented by wimlib
 * (`include/wimlib/header.h`, `resource.h`): magic `MSWIM\0\0\0`, then cbSize u32, dwVersion u32, dwFlags u32,
 * dwCompressionSize u32, GUID[16], usPartNumber u16, usTotalParts u16, dwImageCount u32, then four
 * RESHDR_DISK_SHORT (24 bytes each: 7-byte compressed size, 1 flag byte, u64 offset, u64 original size) for the
 * lookup table, the XML data and the boot metadata, dwBootIndex u32, and the integrity table's RESHDR.
 * The XML data is UTF-16LE: `<WIM><IMAGE INDEX="n"><WINDOWS><ARCH>9</ARCH>...` (ARCH: 0 x86, 5 ARM, 6 IA64,
 * 9 AMD64, 12 ARM64; the element is there only when the image holds a Windows installation).
 */
import * as fs from "node:fs";
import { WinpeError } from "../runtime/errors";

export class WimFormatError extends WinpeError {
  constructor(message: string) {
    super(message);
    this.name = "WimFormatError";
  }
}

export interface WimResource {
  offset: number;
  size: number;
  originalSize: number;
}

export interface WimImageFacts {
  index: number;
  name?: string;
  /** `amd64`, `arm64`, `x86`, `arm`, `ia64`, or undefined when the XML data does not say. */
  arch?: string;
}

export interface WimFacts {
  fileSize: number;
  imageCount: number;
  bootIndex: number;
  /** `none`, `xpress`, `lzx`, `lzms` (from the header flags). */
  compression: string;
  images: WimImageFacts[];
}

const MAGIC = Buffer.from("MSWIM\0\0\0", "latin1");
const HEADER_SIZE = 208;
const ARCH_NAMES: Record<string, string> = { "0": "x86", "5": "arm", "6": "ia64", "9": "amd64", "12": "arm64" };
const FLAG_COMPRESSION = 0x2;
const COMPRESSION_FLAGS: Array<[number, string]> = [
  [0x20000, "xpress"],
  [0x40000, "lzx"],
  [0x80000, "lzms"],
];

function resource(b: Buffer, at: number): WimResource {
  const size = b.readUIntLE(at, 6) + b.readUInt8(at + 6) * 2 ** 48;
  return { size, offset: Number(b.readBigUInt64LE(at + 8)), originalSize: Number(b.readBigUInt64LE(at + 16)) };
}

/**
 * Read the facts of `file`, checking that it is a whole WIM.
 * @throws WimFormatError naming what is wrong (not a WIM, truncated, split, unreadable XML data)
 */
export function readWimFacts(file: string): WimFacts {
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new WimFormatError(code === "ENOENT" ? "does not exist" : `cannot be read (${code})`);
  }
  try {
    const fileSize = fs.fstatSync(fd).size;
    const h = Buffer.alloc(HEADER_SIZE);
    const n = fs.readSync(fd, h, 0, HEADER_SIZE, 0);
    if (n < 8 || !h.subarray(0, 8).equals(MAGIC)) {
      throw new WimFormatError("is not a WIM file (no MSWIM signature at its start)");
    }
    if (n < HEADER_SIZE) throw new WimFormatError(`is truncated: ${fileSize} bytes, shorter than a WIM header`);
    const flags = h.readUInt32LE(16);
    const part = h.readUInt16LE(40);
    const parts = h.readUInt16LE(42);
    if (parts !== 1 || part !== 1) {
      throw new WimFormatError(`is part ${part} of a split WIM of ${parts} parts: use a whole WIM`);
    }
    const imageCount = h.readUInt32LE(44);
    const lookup = resource(h, 48);
    const xml = resource(h, 72);
    const bootIndex = h.readUInt32LE(120);
    for (const [label, r] of [
      ["lookup table", lookup],
      ["XML data", xml],
    ] as const) {
      if (r.offset + r.size > fileSize) {
        throw new WimFormatError(
          `is truncated or damaged: its ${label} lies at bytes ${r.offset}-${r.offset + r.size}, but the file has ` +
            `${fileSize} bytes`,
        );
      }
    }
    let compression = "none";
    if (flags & FLAG_COMPRESSION) compression = COMPRESSION_FLAGS.find(([f]) => flags & f)?.[1] ?? "unknown";
    const images: WimImageFacts[] = [];
    if (xml.size > 0) {
      if (xml.size > 64 * 1024 * 1024) throw new WimFormatError(`has XML data of ${xml.size} bytes: not a WIM we read`);
      const x = Buffer.alloc(xml.size);
      fs.readSync(fd, x, 0, xml.size, xml.offset);
      let text = x.toString("utf16le");
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      if (!/^\s*<WIM>/.test(text)) throw new WimFormatError("has XML data that does not start with <WIM>: damaged");
      for (const m of text.matchAll(/<IMAGE\s+INDEX="(\d+)"\s*>([\s\S]*?)<\/IMAGE>/g)) {
        const body = m[2];
        const arch = /<ARCH>\s*(\d+)\s*<\/ARCH>/.exec(body)?.[1];
        const name = /<NAME>([^<]*)<\/NAME>/.exec(body)?.[1];
        images.push({
          index: Number(m[1]),
          ...(name !== undefined ? { name } : {}),
          ...(arch !== undefined ? { arch: ARCH_NAMES[arch] ?? `ARCH ${arch}` } : {}),
        });
      }
    }
    return { fileSize, imageCount, bootIndex, compression, images };
  } finally {
    fs.closeSync(fd);
  }
}

/** Bytes of a WIM header (wimlib `struct wim_header_disk`). */
export const WIM_HEADER_BYTES = HEADER_SIZE;

/** The resource headers a WIM header locates (wimlib `struct wim_header_disk`: 0x30 blob table, 0x48 XML data, 0xA0 integrity table). */
export function wimHeaderResources(
  h: Buffer,
): { blobTable: WimResource; xml: WimResource; integrity: WimResource } | undefined {
  if (h.length < HEADER_SIZE || !h.subarray(0, 8).equals(MAGIC)) return undefined;
  return { blobTable: resource(h, 0x30), xml: resource(h, 0x48), integrity: resource(h, 0xa0) };
}

/**
 * The end of what wimlib's in-place append keeps of a WIM: the end of its blob table (wimlib src/write.c,
 * `overwrite_wim_inplace`: "(OLD) Resources ... (OLD) Blob table ... (NEW) Resources ..."; new data is written
 * from the end of the old XML data, of the old integrity table, or of the old blob table when no image changed,
 * and the header is rewritten), or the header's end when it has none. Undefined when `h` is not a WIM header or
 * the blob table lies outside the file.
 */
export function wimKeptEnd(h: Buffer, fileSize: number): number | undefined {
  const r = wimHeaderResources(h);
  if (!r) return undefined;
  const end = r.blobTable.offset === 0 ? HEADER_SIZE : r.blobTable.offset + r.blobTable.size;
  return end >= HEADER_SIZE && end <= fileSize ? end : undefined;
}
