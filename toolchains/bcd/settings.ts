/**
 * What the two BCD writers share (toolchains/bcd/module-writer.ts: our REGF/BCD module, on any host;
 * toolchains/adk/bcdedit-writer.ts: bcdedit, Windows only): the settings a BcdSettings resource asks for, as
 * bcdedit's text values, the record of what was applied to a store (and what was there before), reading them back,
 * and the checks every store passes before the first write. No Pulumi.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { type BcdStore, decodeIpv4, openStore } from "../../formats/bcd";
import { WinpeError } from "../../runtime/errors";

/** Bad input or a failed write of BcdSettings (the message names the property or the store). */
export class BcdSettingsError extends WinpeError {}

export const DBGSETTINGS = "{dbgsettings}";

/** What a writer needs of BcdSettings' args. */
export interface BcdWriteArgs {
  stores: readonly string[];
  /** The object whose flags are set: `{default}` or a GUID. */
  object: string;
  flags: Partial<Record<"testsigning" | "nointegritychecks" | "debug" | "bootdebug", "on" | "off">>;
  kdnet?: { hostIp: string; port: number; key: string };
  serial?: { debugport: number; baudrate: number };
  /** Where pristine copies of the stores are kept. */
  stateDir: string;
}

/** An element value as the hive holds it. */
export interface ElementValue {
  regType: number;
  hex: string;
}

/** One element we manage: where, what we want, and what was there before us. */
export interface AppliedElement {
  /** Object GUID (resolved). */
  object: string;
  /** Element id, 8 hex digits. */
  id: string;
  /** bcdedit name, for messages. */
  name: string;
  desired: ElementValue;
  /** The value before we first changed it, or null when the element was absent. */
  previous: ElementValue | null;
  secret: boolean;
}

/** What we did to one store. */
export interface AppliedStore {
  elements: Record<string, AppliedElement>;
  /** Objects we had to create (e.g. `{dbgsettings}` in a store without it); deleted on restore. */
  createdObjects: string[];
  /** The untouched store, kept aside, and its sha256; null once someone else changed the store. */
  pristine: { backup: string; sha256: string } | null;
  /** sha256 of the store right after our last write. */
  writtenSha256: string;
  /** Who wrote the store: bcdedit, or our module when absent. */
  writer?: "bcdedit";
}

/** The elements the args ask for, as bcdedit text values (object alias, element name, value words). */
export function desiredSettings(
  a: BcdWriteArgs,
): Array<{ object: string; name: string; text: string[]; secret: boolean }> {
  const out: Array<{ object: string; name: string; text: string[]; secret: boolean }> = [];
  for (const [name, v] of Object.entries(a.flags))
    if (v) out.push({ object: a.object, name, text: [v], secret: false });
  if (a.kdnet) {
    out.push({ object: DBGSETTINGS, name: "debugtype", text: ["NET"], secret: false });
    out.push({ object: DBGSETTINGS, name: "hostip", text: [a.kdnet.hostIp], secret: false });
    out.push({ object: DBGSETTINGS, name: "port", text: [String(a.kdnet.port)], secret: false });
    out.push({ object: DBGSETTINGS, name: "key", text: [a.kdnet.key], secret: true });
  }
  if (a.serial) {
    out.push({ object: DBGSETTINGS, name: "debugtype", text: ["SERIAL"], secret: false });
    out.push({ object: DBGSETTINGS, name: "debugport", text: [String(a.serial.debugport)], secret: false });
    out.push({ object: DBGSETTINGS, name: "baudrate", text: [String(a.serial.baudrate)], secret: false });
  }
  return out;
}

/** Human form of an element value (never a secret's value). */
export function display(store: BcdStore, e: AppliedElement, v: { regType: number; hex: string } | null): string {
  if (!v) return "(absent)";
  if (e.secret) return "[secret]";
  const data = Buffer.from(v.hex, "hex");
  if (v.regType === 3 && data.length === 1) return data[0] ? "on" : "off";
  if (e.name === "hostip" && data.length === 8) return decodeIpv4(data);
  if (e.name === "debugtype" && data.length === 8) {
    const t = Number(data.readBigUInt64LE());
    return ["Serial", "1394", "USB", "NET", "Local"][t] ?? String(t);
  }
  if (v.regType === 3 && data.length === 8) return data.readBigUInt64LE().toString();
  if (v.regType === 1) return data.toString("utf16le").replace(/\0+$/, "");
  void store;
  return v.hex;
}

export function currentOf(store: BcdStore, e: AppliedElement): { regType: number; hex: string } | null {
  if (!store.hasObject(e.object)) return null;
  const cur = store.getElement(e.object, Number.parseInt(e.id, 16));
  return cur ? { regType: cur.regType, hex: cur.hex } : null;
}

export function same(a: { regType: number; hex: string } | null, b: { regType: number; hex: string } | null): boolean {
  return a === b || (!!a && !!b && a.regType === b.regType && a.hex === b.hex);
}

export function effectiveOf(file: string, applied: AppliedStore): Record<string, string> {
  const store = openStore(file);
  const out: Record<string, string> = {};
  for (const e of Object.values(applied.elements)) {
    const label = e.object.includes("4636856e") ? `dbgsettings.${e.name}` : e.name;
    out[label] = display(store, e, currentOf(store, e));
  }
  return out;
}

/** A store we are about to write must be a writable file in a writable folder: say which, before any write. */
export function assertWritable(file: string): void {
  try {
    fs.accessSync(file, fs.constants.W_OK);
    fs.accessSync(path.dirname(file), fs.constants.W_OK);
  } catch {
    throw new BcdSettingsError(`BcdSettings: 'stores' ${file} is read-only (or its folder is): make it writable`);
  }
}

/** Open every store and resolve and encode every wanted element, writing nothing: bad input fails here. */
export function validateStores(a: BcdWriteArgs): void {
  for (const file of a.stores) {
    if (!fs.existsSync(file)) {
      throw new BcdSettingsError(
        `BcdSettings: 'stores' ${file} does not exist: make the WinPE working folder first (winpe copype)`,
      );
    }
    if (!fs.statSync(file).isFile()) throw new BcdSettingsError(`BcdSettings: 'stores' ${file} is not a file`);
    let store: BcdStore;
    try {
      store = openStore(file);
    } catch (e) {
      // the format errors start with the file name already
      const msg = (e as Error).message.replace(`${file}: `, "");
      throw new BcdSettingsError(`BcdSettings: 'stores' ${file}: ${msg}`);
    }
    for (const want of desiredSettings(a)) {
      try {
        const guid = store.resolve(want.object, { mustExist: want.object !== DBGSETTINGS });
        store.encodeText(guid, store.elementId(guid, want.name), want.text);
      } catch (e) {
        const prop = want.object === DBGSETTINGS ? (a.serial ? "serial" : "kdnet") : "object";
        throw new BcdSettingsError(`BcdSettings: '${prop}' ${want.object} in ${file}: ${(e as Error).message}`);
      }
    }
  }
}
