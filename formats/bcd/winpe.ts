/**
 * The BCD store of WinPE media, built from scratch (no Windows, no template file).
 *
 * Objects (as the ADK's media stores have them; element bytes as bcdedit encodes them):
 * - `{bootmgr}` (0x10100002): description "Windows Boot Manager", locale en-US, inherit {globalsettings},
 *   default and displayorder -> the WinPE loader, timeout 0.
 * - WinPE loader {7619dcc9-fafe-11d9-b411-000476eba25f} (0x10200003): device and osdevice
 *   `ramdisk=[boot]\sources\boot.wim,{7619dcc8-...}`, path winload.efi (uefi) or winload.exe (bios) under
 *   \windows\system32\boot, description, locale en-US, inherit {bootloadersettings}, systemroot \windows,
 *   detecthal Yes, winpe Yes.
 * - Ramdisk options {7619dcc8-fafe-11d9-b411-000476eba25f} (0x30000000): description "Ramdisk Options",
 *   ramdisksdidevice boot, ramdisksdipath \boot\boot.sdi.
 * - {bootloadersettings} (0x20200003): inherit {globalsettings}. ({hypervisorsettings} is left out.)
 * - {globalsettings} (0x20100000): inherit {dbgsettings}.
 * - {dbgsettings} (0x20100000): debugtype Serial, debugport 1, baudrate 115200 (bcdedit's defaults).
 *
 * Device bytes: `boot` is byte-for-byte what bcdedit wrote in the fixtures; the ramdisk device copies the
 * structure of the fixture's WIM-booting loader with the parent device set to `boot` and the options GUID
 * adjusted (see ./device.ts). The `[boot]` parent inside a ramdisk device is unverified against Windows.
 *
 * Output is deterministic: all key timestamps are zero.
 */
import { saveHive } from "../regf";
import { encodeBootDevice, encodeRamdiskDevice } from "./device";
import { ObjectType, WELL_KNOWN_OBJECTS, WINPE_LOADER_ID, WINPE_RAMDISK_OPTIONS_ID } from "./elements";
import { BcdError, BcdStore, newStoreHive } from "./store";

/** Options of {@link createWinPeMediaStore}. */
export interface WinPeStoreOptions {
  /** Firmware the media boots with: selects winload.efi or winload.exe. */
  firmware: "uefi" | "bios";
  /** Description of the WinPE loader (the boot menu entry). */
  description: string;
}

/** Build the store in memory (see the module comment); `file` is only its name for {@link BcdStore.save}. */
export function buildWinPeMediaStore(file: string, opts: WinPeStoreOptions): BcdStore {
  if (opts.firmware !== "uefi" && opts.firmware !== "bios")
    throw new BcdError(`'firmware' must be "uefi" or "bios", not ${JSON.stringify(opts.firmware)}`);
  if (typeof opts.description !== "string" || opts.description.length === 0)
    throw new BcdError("'description' must be a non-empty string");
  const store = new BcdStore(file, newStoreHive({ keyName: "BCD00000000", system: true }));
  const W = WELL_KNOWN_OBJECTS;
  const wim = encodeRamdiskDevice("\\sources\\boot.wim", WINPE_RAMDISK_OPTIONS_ID);

  store.createObject(W.bootmgr, ObjectType.BOOTMGR);
  store.setElement(W.bootmgr, "description", "Windows Boot Manager");
  store.setElement(W.bootmgr, "locale", "en-US");
  store.setElement(W.bootmgr, "inherit", [W.globalsettings]);
  store.setElement(W.bootmgr, "timeout", 0n);

  store.createObject(WINPE_LOADER_ID, ObjectType.OSLOADER);
  store.setElement(WINPE_LOADER_ID, "device", wim);
  store.setElement(
    WINPE_LOADER_ID,
    "path",
    opts.firmware === "uefi" ? "\\windows\\system32\\boot\\winload.efi" : "\\windows\\system32\\boot\\winload.exe",
  );
  store.setElement(WINPE_LOADER_ID, "description", opts.description);
  store.setElement(WINPE_LOADER_ID, "locale", "en-US");
  store.setElement(WINPE_LOADER_ID, "inherit", [W.bootloadersettings]);
  store.setElement(WINPE_LOADER_ID, "osdevice", wim);
  store.setElement(WINPE_LOADER_ID, "systemroot", "\\windows");
  store.setElement(WINPE_LOADER_ID, "detecthal", true);
  store.setElement(WINPE_LOADER_ID, "winpe", true);

  // bootmgr's default and display order name the loader, which exists now
  store.setElement(W.bootmgr, "default", WINPE_LOADER_ID);
  store.setElement(W.bootmgr, "displayorder", [WINPE_LOADER_ID]);

  store.createObject(WINPE_RAMDISK_OPTIONS_ID, ObjectType.DEVICE);
  store.setElement(WINPE_RAMDISK_OPTIONS_ID, "description", "Ramdisk Options");
  store.setElement(WINPE_RAMDISK_OPTIONS_ID, "ramdisksdidevice", encodeBootDevice());
  store.setElement(WINPE_RAMDISK_OPTIONS_ID, "ramdisksdipath", "\\boot\\boot.sdi");

  store.createObject(W.bootloadersettings, ObjectType.INHERIT_OSLOADER);
  store.setElement(W.bootloadersettings, "inherit", [W.globalsettings]);

  store.createObject(W.globalsettings, ObjectType.INHERIT_ANY);
  store.setElement(W.globalsettings, "inherit", [W.dbgsettings]);

  store.createObject(W.dbgsettings, ObjectType.INHERIT_ANY);
  store.setElement(W.dbgsettings, "debugtype", 0n);
  store.setElement(W.dbgsettings, "debugport", 1n);
  store.setElement(W.dbgsettings, "baudrate", 115200n);
  return store;
}

/**
 * Write a fresh WinPE media BCD store to `file` (atomically; an existing file is replaced).
 * @throws BcdError for bad options (nothing is written)
 */
export function createWinPeMediaStore(file: string, opts: { firmware: "uefi" | "bios"; description: string }): void {
  const store = buildWinPeMediaStore(file, opts);
  saveHive(store.hive, file);
}
