/**
 * BCD device elements (format 1, REG_BINARY): a 16-byte "additional options" object GUID followed by a boot
 * environment device descriptor `{ DeviceType u32, Flags u32, Size u32, Reserved u32, union }` (layout as in
 * ReactOS's boot environment headers: DeviceType 0 = local disk-class device, 5 = the boot device, 6 = a
 * partition, 8 = locate).
 *
 * What is derived from the bcdedit-made fixtures (`ramdisk-wim-nodefault.bcd`, `ntloader-multi.bcd`):
 * - `boot` (e.g. `ramdisksdidevice boot`, element 31000003): zero GUID + `{5, 0, 0x48, 0}` + 56 zero bytes (88 bytes).
 * - `ramdisk=[X]\path,{options}`: options GUID + `{0 (local), 1, Size, 0}` + local type 3 (ramdisk) + 20 zero bytes
 *   (image base, size, offset) + a file path descriptor `{Version 1, Length, PathType 5}` holding the descriptor
 *   of the parent device X (72 bytes) and the path in UTF-16LE with a NUL; Size = 24 + Length, Length = 12 + 72 +
 *   path bytes. The fixture's parent device is a partition (type 6) patched by ntloader; for `[boot]` we put the
 *   `boot` descriptor above. That combination (parent `[boot]`) is not present byte-for-byte in the fixtures and is
 *   unverified against Windows bcdedit.
 */
import { ALIAS_OF } from "./elements";

/** GUID text ("{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}") to its 16 mixed-endian bytes. */
export function guidToBytes(guid: string): Buffer {
  const m = guid.match(/^\{?([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})\}?$/i);
  if (!m) throw new Error(`'${guid}' is not a GUID`);
  const b = Buffer.alloc(16);
  b.writeUInt32LE(Number.parseInt(m[1], 16), 0);
  b.writeUInt16LE(Number.parseInt(m[2], 16), 4);
  b.writeUInt16LE(Number.parseInt(m[3], 16), 6);
  Buffer.from(m[4] + m[5], "hex").copy(b, 8);
  return b;
}

/** 16 GUID bytes to "{xxxxxxxx-...}" (lower case). */
export function bytesToGuid(b: Uint8Array, at = 0): string {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.length);
  const d1 = buf.readUInt32LE(at).toString(16).padStart(8, "0");
  const d2 = buf
    .readUInt16LE(at + 4)
    .toString(16)
    .padStart(4, "0");
  const d3 = buf
    .readUInt16LE(at + 6)
    .toString(16)
    .padStart(4, "0");
  const d4 = buf.subarray(at + 8, at + 10).toString("hex");
  const d5 = buf.subarray(at + 10, at + 16).toString("hex");
  return `{${d1}-${d2}-${d3}-${d4}-${d5}}`;
}

const ZERO_GUID = "{00000000-0000-0000-0000-000000000000}";

/** The 72-byte descriptor of the boot device (`boot`, `[boot]`). */
function bootDescriptor(): Buffer {
  const d = Buffer.alloc(0x48);
  d.writeUInt32LE(5, 0); // BootDevice
  d.writeUInt32LE(0, 4);
  d.writeUInt32LE(0x48, 8);
  return d;
}

/** Device element bytes for `boot`. */
export function encodeBootDevice(): Buffer {
  return Buffer.concat([Buffer.alloc(16), bootDescriptor()]);
}

/** Device element bytes for `ramdisk=[boot]<path>,<optionsGuid>` (see the module comment for the layout). */
export function encodeRamdiskDevice(path: string, optionsGuid: string): Buffer {
  const pathBytes = Buffer.from(`${path}\0`, "utf16le");
  const parent = bootDescriptor();
  const filePathLength = 12 + parent.length + pathBytes.length;
  const head = Buffer.alloc(16 + 16 + 24 + 12);
  guidToBytes(optionsGuid).copy(head, 0);
  head.writeUInt32LE(0, 16); // DeviceType: local (disk class)
  head.writeUInt32LE(1, 20); // Flags, as bcdedit writes for ramdisks
  head.writeUInt32LE(16 + 24 + filePathLength, 24); // Size: this 16-byte header + local type + ramdisk fields + file path (fixture: 0x27a = 16 + 4 + 20 + 0x252)
  head.writeUInt32LE(0, 28);
  head.writeUInt32LE(3, 32); // local device type: ramdisk
  // 36..55: image base, image size, image offset (zero)
  head.writeUInt32LE(1, 56); // file path descriptor version
  head.writeUInt32LE(filePathLength, 60);
  head.writeUInt32LE(5, 64); // path type
  return Buffer.concat([head, parent, pathBytes]);
}

/** What a device element holds, as far as we decode it. */
export type DecodedDevice =
  | { kind: "boot"; options?: string }
  | { kind: "ramdisk"; parent: string; path: string; options?: string }
  | { kind: "partition"; options?: string }
  | { kind: "locate"; options?: string }
  | { kind: "unknown"; options?: string };

function parentName(d: Buffer, at: number): string {
  if (at + 16 > d.length) return "unknown";
  switch (d.readUInt32LE(at)) {
    case 5:
      return "boot";
    case 8:
      return "locate";
    default:
      return "unknown";
  }
}

/** Decode a device element; never throws (malformed bytes decode as `unknown`). */
export function decodeDevice(data: Uint8Array): DecodedDevice {
  const d = Buffer.from(data.buffer, data.byteOffset, data.length);
  if (d.length < 32) return { kind: "unknown" };
  const g = bytesToGuid(d, 0);
  const options = g === ZERO_GUID ? undefined : g;
  const type = d.readUInt32LE(16);
  if (type === 5) return { kind: "boot", options };
  if (type === 6 || type === 2) return { kind: "partition", options };
  if (type === 8) return { kind: "locate", options };
  if (type === 0 && d.length >= 68 && d.readUInt32LE(32) === 3) {
    const fpLen = d.readUInt32LE(60);
    const parentAt = 68;
    if (parentAt + 16 <= d.length && fpLen >= 12) {
      const parentSize = d.readUInt32LE(parentAt + 8);
      const pathAt = parentAt + parentSize;
      const end = Math.min(d.length, 56 + fpLen);
      if (parentSize >= 16 && pathAt <= end) {
        const raw = d.subarray(pathAt, end - ((end - pathAt) % 2)).toString("utf16le");
        const nul = raw.indexOf("\0");
        return { kind: "ramdisk", parent: parentName(d, parentAt), path: nul >= 0 ? raw.slice(0, nul) : raw, options };
      }
    }
  }
  return { kind: "unknown", options };
}

/** bcdedit's text for a device element (`boot`, `ramdisk=[boot]\sources\boot.wim,{guid}`, `unknown`). */
export function formatDevice(data: Uint8Array, verbose = false): string {
  const dev = decodeDevice(data);
  const opt = (g: string | undefined) => {
    if (!g) return "";
    const alias = verbose ? undefined : ALIAS_OF.get(g);
    return `,${alias ? `{${alias}}` : g}`;
  };
  switch (dev.kind) {
    case "boot":
      return "boot";
    case "ramdisk":
      return `ramdisk=[${dev.parent}]${dev.path}${opt(dev.options)}`;
    case "locate":
      return "locate";
    default:
      return "unknown";
  }
}
