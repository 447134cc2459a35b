/**
 * BCD stores (Boot Configuration Data) on top of the REGF module: objects, aliases, typed elements,
 * inheritance, bcdedit-style text, and the WinPE media store. No Pulumi imports.
 *
 * ```ts
 * createWinPeMediaStore("BCD", { firmware: "uefi", description: "WinPE" });
 * const store = openStore("BCD");
 * store.setElement("{default}", "testsigning", true);
 * store.getElement("{default}", "testsigning")?.hex; // "01"
 * store.save(); // atomic; false (no write) when nothing changed
 * ```
 */
export {
  bytesToGuid,
  type DecodedDevice,
  decodeDevice,
  encodeBootDevice,
  encodeRamdiskDevice,
  formatDevice,
  guidToBytes,
} from "./device";
export {
  ALIAS_OF,
  ELEMENT_DEFS,
  type ElementDef,
  type ElementFormat,
  elementById,
  elementByName,
  elementKeyName,
  formatOf,
  ObjectType,
  parseElementId,
  WELL_KNOWN_OBJECTS,
  WINPE_LOADER_ID,
  WINPE_RAMDISK_OPTIONS_ID,
} from "./elements";
export {
  type BcdEffectiveElement,
  type BcdElement,
  type BcdElementValue,
  BcdError,
  type BcdObjectInfo,
  type BcdSetValue,
  BcdStore,
  createEmptyStore,
  decodeElementData,
  decodeIpv4,
  encodeInteger,
  encodeIpv4,
  type NewStoreOptions,
  newStoreHive,
  openStore,
} from "./store";
export { buildWinPeMediaStore, createWinPeMediaStore, type WinPeStoreOptions } from "./winpe";

/**
 * A KDNET key as bcdedit takes it (`/dbgsettings net key:a.b.c.d`): four dot-separated words of letters and
 * digits, each at most 13 characters (a word is a 64-bit number in base 36, as bcdedit's `newkey` prints it).
 */
export const KDNET_KEY_RE = /^[0-9a-z]{1,13}\.[0-9a-z]{1,13}\.[0-9a-z]{1,13}\.[0-9a-z]{1,13}$/i;
