/** Encoders and decoders for string value data (REG_SZ, REG_EXPAND_SZ, REG_MULTI_SZ: UTF-16LE, NUL-terminated). */

/** REG_SZ data for `s` (UTF-16LE with a terminating NUL). */
export function encodeString(s: string): Buffer {
  return Buffer.from(`${s}\0`, "utf16le");
}

/** The string in REG_SZ data: up to the first NUL (an odd trailing byte is ignored). */
export function decodeString(data: Uint8Array): string {
  const b = Buffer.from(data.buffer, data.byteOffset, data.length - (data.length % 2));
  const s = b.toString("utf16le");
  const nul = s.indexOf("\0");
  return nul >= 0 ? s.slice(0, nul) : s;
}

/** REG_MULTI_SZ data for `items` (each NUL-terminated, then one more NUL). */
export function encodeMultiString(items: readonly string[]): Buffer {
  return Buffer.from(`${items.map((i) => `${i}\0`).join("")}\0`, "utf16le");
}

/** The strings in REG_MULTI_SZ data (empty strings, which end the list, are dropped). */
export function decodeMultiString(data: Uint8Array): string[] {
  const b = Buffer.from(data.buffer, data.byteOffset, data.length - (data.length % 2));
  return b
    .toString("utf16le")
    .split("\0")
    .filter((s) => s.length > 0);
}
