/**
 * REGF registry hives: parse, walk, edit in place, write back atomically. No Pulumi imports.
 *
 * ```ts
 * const hive = readHive("BCD");
 * hive.createKey("Objects\\{guid}\\Elements\\16000049");
 * hive.setValue("Objects\\{guid}\\Elements\\16000049", "Element", RegType.BINARY, Buffer.from([1]));
 * saveHive(hive, "BCD"); // atomic; no write when nothing changed
 * ```
 */
import * as fs from "node:fs";
import { writeFileAtomic } from "../../runtime/atomic";
import { RegfError } from "./errors";
import { Hive, type HiveOptions } from "./hive";

export { RegfError } from "./errors";
export {
  baseBlockChecksum,
  type CreateHiveOptions,
  compareKeyNames,
  fileTimeOf,
  Hive,
  type HiveOptions,
  lhHash,
  RegKey,
  RegType,
  type RegValue,
  splitKeyPath,
} from "./hive";
export { decodeMultiString, decodeString, encodeMultiString, encodeString } from "./values";

/** Largest hive file we read (registry hives are limited to 2 GiB; BCD stores are a few KiB). */
export const MAX_HIVE_BYTES = 1 << 30;

/**
 * Read and check the hive in `file`.
 * @throws RegfError for a malformed hive (naming the file and the offset); Node's errors for a missing file
 */
export function readHive(file: string, opts: Omit<HiveOptions, "file"> = {}): Hive {
  const st = fs.statSync(file);
  if (!st.isFile()) throw new RegfError(-1, "not a regular file", file);
  if (st.size > MAX_HIVE_BYTES) throw new RegfError(-1, `file is ${st.size} bytes, larger than any hive we read`, file);
  const data = fs.readFileSync(file);
  try {
    return Hive.parse(data, { ...opts, file });
  } catch (e) {
    if (e instanceof RegfError) throw e.withFile(file);
    throw e;
  }
}

/**
 * Write `hive` to `file` atomically (temp file beside it, fsync, rename) when it was modified.
 * @returns whether the file was written (false: nothing changed, the file is left byte-identical)
 */
export function saveHive(hive: Hive, file: string): boolean {
  if (!hive.isModified()) return false;
  writeFileAtomic(file, hive.serialize());
  return true;
}
