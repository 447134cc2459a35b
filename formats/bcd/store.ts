/**
 * BCD stores: objects, aliases, typed elements and inheritance on top of the REGF module.
 *
 * Layout: `Description` (KeyName ...), `Objects\{guid}\Description\Type` (REG_DWORD object type),
 * `Objects\{guid}\Elements\<8 lower-case hex>\Element` (the element's data).
 *
 * Encodings (as bcdedit writes them): boolean = REG_BINARY 1 byte; integer = REG_BINARY 8 bytes little-endian;
 * integer list = REG_BINARY 8 bytes each; string = REG_SZ; object = REG_SZ "{guid}"; object list = REG_MULTI_SZ;
 * device = REG_BINARY structure (see ./device.ts).
 *
 * `hostip` (1500001a) is an integer element holding the IPv4 address's four bytes in network order in the low
 * four bytes of the 8-byte little-endian integer (192.168.0.1 -> c0 a8 00 01 00 00 00 00). That byte order is
 * unverified against Windows (no Windows-made store with hostip was available).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { WinpeError } from "../../runtime/errors";
import {
  decodeMultiString,
  decodeString,
  encodeMultiString,
  encodeString,
  Hive,
  RegType,
  readHive,
  saveHive,
} from "../regf";
import { decodeDevice, encodeBootDevice, encodeRamdiskDevice, formatDevice } from "./device";
import {
  ALIAS_OF,
  type ElementDef,
  type ElementFormat,
  elementById,
  elementByName,
  elementKeyName,
  formatOf,
  objectHeading,
  parseElementId,
  regTypeOf,
  WELL_KNOWN_OBJECTS,
} from "./elements";

/** A problem with a BCD request (unknown object or element, bad value, missing default, ...). */
export class BcdError extends WinpeError {
  constructor(message: string) {
    super(message);
    this.name = "BcdError";
  }
}

const GUID_RE = /^\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}$/i;
const BOOTMGR = WELL_KNOWN_OBJECTS.bootmgr;
const DEFAULT_ELEMENT = 0x23000003;
const INHERIT_ELEMENT = 0x14000006;

/** An object of a store. */
export interface BcdObjectInfo {
  /** "{guid}" in lower case. */
  id: string;
  /** The registry key name under `Objects` (as stored; usually the same as `id`). */
  keyName: string;
  /** Object type (`Description\Type`); undefined when absent or not a DWORD. */
  type: number | undefined;
  /** bcdedit alias without braces (`bootmgr`, `dbgsettings`, ...) for well-known objects. */
  alias?: string;
  /** Whether {bootmgr}'s `default` names this object. */
  isDefault: boolean;
  /** bcdedit's section heading (`Windows Boot Loader`, ...). */
  heading: string;
}

/** Decoded element data. Device and malformed data stay raw bytes. */
export type BcdElementValue = boolean | bigint | string | string[] | bigint[] | Buffer;

/** One element of one object. */
export interface BcdElement {
  /** Element id (e.g. 0x16000049). */
  id: number;
  /** The id as 8 lower-case hex digits (the registry key name). */
  idHex: string;
  /** bcdedit name (`testsigning`) or `custom:16000049` for elements without a name. */
  name: string;
  format: ElementFormat;
  /** Registry value type of the stored data. */
  regType: number;
  /** The stored bytes. */
  data: Buffer;
  /** The stored bytes as lower-case hex. */
  hex: string;
  /** Decoded value (raw bytes when the data does not match the element's format). */
  value: BcdElementValue;
  /** Whether the stored data has the registry type and size bcdedit would write for this format. */
  wellFormed: boolean;
}

/** An element found through inheritance. */
export interface BcdEffectiveElement {
  element: BcdElement;
  /** Object that holds the element. */
  from: string;
  /** Objects visited from the asked object to `from` (both included), following `inherit` lists depth first. */
  via: string[];
}

/** Values accepted by {@link BcdStore.setElement}, checked against the element's format. */
export type BcdSetValue = boolean | number | bigint | string | readonly string[] | readonly bigint[] | Uint8Array;

function lc(s: string): string {
  return s.toLowerCase();
}

/** Encode a 64-bit unsigned integer as 8 bytes little-endian. */
export function encodeInteger(v: bigint | number): Buffer {
  const n = typeof v === "number" ? BigInt(v) : v;
  if (n < 0n || n > 0xffffffffffffffffn) throw new BcdError(`integer ${n} does not fit in 64 bits`);
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b;
}

/** Encode an IPv4 address as bcdedit's hostip integer (network-order bytes in the low 4 bytes; unverified). */
export function encodeIpv4(ip: string): Buffer {
  const m = ip.trim().match(/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/);
  if (!m) throw new BcdError(`'${ip}' is not an IPv4 address (a.b.c.d)`);
  const parts = m.slice(1).map((x) => Number(x));
  if (parts.some((p) => p > 255)) throw new BcdError(`'${ip}' is not an IPv4 address (each part 0-255)`);
  const b = Buffer.alloc(8);
  parts.forEach((p, i) => {
    b[i] = p;
  });
  return b;
}

/** The dotted IPv4 text of a hostip integer element. */
export function decodeIpv4(data: Uint8Array): string {
  return `${data[0]}.${data[1]}.${data[2]}.${data[3]}`;
}

/** Normalize an object id written as a GUID: braces, lower case. */
function normGuid(id: string): string | undefined {
  const t = id.trim();
  const withBraces = t.startsWith("{") ? t : `{${t}}`;
  return GUID_RE.test(withBraces) ? lc(withBraces) : undefined;
}

/** Decode stored element data according to the element's format. */
export function decodeElementData(
  id: number,
  regType: number,
  data: Buffer,
): { value: BcdElementValue; wellFormed: boolean } {
  const format = formatOf(id);
  switch (format) {
    case "boolean":
      if (regType === RegType.BINARY && data.length === 1) return { value: data[0] !== 0, wellFormed: true };
      if (regType === RegType.BINARY && data.length === 8)
        return { value: data.readBigUInt64LE() !== 0n, wellFormed: false };
      break;
    case "integer":
      if (regType === RegType.BINARY && data.length === 8) return { value: data.readBigUInt64LE(), wellFormed: true };
      if (regType === RegType.BINARY && data.length === 4)
        return { value: BigInt(data.readUInt32LE()), wellFormed: false };
      break;
    case "integerlist":
      if (regType === RegType.BINARY && data.length % 8 === 0) {
        const out: bigint[] = [];
        for (let i = 0; i < data.length; i += 8) out.push(data.readBigUInt64LE(i));
        return { value: out, wellFormed: true };
      }
      break;
    case "string":
    case "object":
      if (regType === RegType.SZ || regType === RegType.EXPAND_SZ)
        return { value: decodeString(data), wellFormed: regType === RegType.SZ };
      break;
    case "objectlist":
      if (regType === RegType.MULTI_SZ) return { value: decodeMultiString(data), wellFormed: true };
      break;
    case "device":
      return { value: Buffer.from(data), wellFormed: regType === RegType.BINARY };
  }
  return { value: Buffer.from(data), wellFormed: false };
}

/**
 * An open BCD store. Obtain one with {@link openStore}; change it with {@link BcdStore.setElement} and friends;
 * write it with {@link BcdStore.save} (atomic; no write when nothing changed).
 */
export class BcdStore {
  /** @internal */
  constructor(
    /** The store file. */
    readonly file: string,
    /** The underlying hive (for tools that need registry-level access). */
    readonly hive: Hive,
  ) {}

  // ------------------------------------------------------------------ objects

  private objectKeys(): Map<string, string> {
    const out = new Map<string, string>();
    const objects = this.hive.getKey("Objects");
    if (!objects) return out;
    for (const k of objects.subkeys()) {
      const id = normGuid(k.name);
      if (id && !out.has(id)) out.set(id, k.name);
    }
    return out;
  }

  private keyNameOf(id: string): string | undefined {
    return this.objectKeys().get(lc(id));
  }

  /** Whether the store has `Objects\{guid}` for this (already resolved) id. */
  hasObject(id: string): boolean {
    return this.keyNameOf(id) !== undefined;
  }

  /** Type of object `id` (resolved GUID), or undefined when it has no `Description\Type` DWORD. */
  objectType(id: string): number | undefined {
    const key = this.keyNameOf(id);
    if (!key) return undefined;
    const v = this.hive.getValue(["Objects", key, "Description"], "Type");
    if (!v || v.data.length < 4 || (v.type !== RegType.DWORD && v.type !== RegType.BINARY)) return undefined;
    return v.data.readUInt32LE(0);
  }

  /** The GUID {bootmgr}'s `default` (23000003) names, if any. */
  defaultId(): string | undefined {
    const key = this.keyNameOf(BOOTMGR);
    if (!key) return undefined;
    const v = this.hive.getValue(["Objects", key, "Elements", elementKeyName(DEFAULT_ELEMENT)], "Element");
    if (!v) return undefined;
    return normGuid(decodeString(v.data));
  }

  /** All objects, sorted: {bootmgr} first, then by GUID. */
  listObjects(): BcdObjectInfo[] {
    const def = this.defaultId();
    const out: BcdObjectInfo[] = [];
    for (const [id, keyName] of this.objectKeys()) {
      const type = this.objectType(id);
      const alias = ALIAS_OF.get(id);
      out.push({ id, keyName, type, alias, isDefault: id === def, heading: objectHeading(type ?? 0, alias) });
    }
    return out.sort((a, b) => (a.id === BOOTMGR ? -1 : b.id === BOOTMGR ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /**
   * Resolve an object identifier as bcdedit does: `{bootmgr}`, `{default}`, `{dbgsettings}`, ... or a GUID in
   * braces (case-insensitive). `{current}` is refused: a store file has no running system.
   * @param opts.mustExist - require the object to exist in the store (default true)
   * @returns the object's GUID, lower case with braces
   * @throws BcdError naming what is wrong
   */
  resolve(id: string, opts: { mustExist?: boolean } = {}): string {
    const mustExist = opts.mustExist ?? true;
    const t = id.trim();
    const lower = lc(t);
    if (lower === "{current}")
      throw new BcdError(
        "{current} names the entry of the running system, and a store file has no running system; name the object by its GUID or {default}",
      );
    let guid: string | undefined;
    if (lower === "{default}") {
      if (!this.hasObject(BOOTMGR))
        throw new BcdError(
          "the store has no {bootmgr} object, so it has no default boot entry; name the object by its GUID",
        );
      guid = this.defaultId();
      if (!guid)
        throw new BcdError(
          "the store has no default boot entry ({bootmgr} element 23000003 is absent); name the object by its GUID",
        );
    } else {
      const m = lower.match(/^\{([a-z]+)\}$/);
      if (m) {
        guid = WELL_KNOWN_OBJECTS[m[1]];
        if (!guid)
          throw new BcdError(
            `'${t}' is not a known identifier: use a GUID in braces or one of ${Object.keys(WELL_KNOWN_OBJECTS)
              .map((a) => `{${a}}`)
              .join(", ")}, {default}`,
          );
      } else {
        guid = GUID_RE.test(t) ? lower : undefined;
        if (!guid)
          throw new BcdError(
            `'${t}' is not a valid identifier: use a GUID in braces ({xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}) or an alias such as {bootmgr}`,
          );
      }
    }
    if (mustExist && !this.hasObject(guid))
      throw new BcdError(`the store has no object ${t}${lc(t) === guid ? "" : ` (${guid})`}`);
    return guid;
  }

  /**
   * Create object `id` (GUID or alias) of `type` with its `Description\Type` and an empty `Elements` key.
   * @throws BcdError when it exists already
   */
  createObject(id: string, type: number): string {
    const guid = this.resolve(id, { mustExist: false });
    if (this.hasObject(guid)) throw new BcdError(`the store already has an object ${guid}`);
    this.hive.createKey(["Objects", guid, "Description"]);
    this.hive.setValue(["Objects", guid, "Description"], "Type", RegType.DWORD, u32(type));
    this.hive.createKey(["Objects", guid, "Elements"]);
    return guid;
  }

  /** Delete object `id` and all its elements. @returns false when absent */
  deleteObject(id: string): boolean {
    const guid = this.resolve(id, { mustExist: false });
    const key = this.keyNameOf(guid);
    if (!key) return false;
    return this.hive.deleteKey(["Objects", key], { recursive: true });
  }

  // ------------------------------------------------------------------ elements

  /**
   * Look up an element id by bcdedit name or hex id (`testsigning`, `16000049`, `0x16000049`, `custom:16000049`)
   * for object `obj` (a resolved GUID or undefined for no object context).
   * @throws BcdError for an unknown name
   */
  elementId(obj: string | undefined, nameOrId: string | number): number {
    if (typeof nameOrId === "number") {
      if (!Number.isInteger(nameOrId) || nameOrId < 0 || nameOrId > 0xffffffff)
        throw new BcdError(`element id ${nameOrId} is not a 32-bit number`);
      return nameOrId;
    }
    const byId = parseElementId(nameOrId);
    if (byId !== undefined) return byId;
    const type = obj ? this.objectType(obj) : undefined;
    const d = elementByName(nameOrId, type);
    if (d) return d.id;
    const anywhere = elementByName(nameOrId, undefined);
    if (anywhere && type !== undefined)
      throw new BcdError(
        `element '${nameOrId}' does not apply to ${this.describe(obj!)} (object type 0x${type.toString(16)})`,
      );
    throw new BcdError(
      `'${nameOrId}' is not a known element name: use a bcdedit name (e.g. testsigning) or the 8-digit hex id`,
    );
  }

  /** The element definition (name, enum names) of `id` on `obj`. */
  elementDef(obj: string | undefined, id: number): ElementDef | undefined {
    return elementById(id, obj ? this.objectType(obj) : undefined);
  }

  private describe(guid: string): string {
    const a = ALIAS_OF.get(guid);
    return a ? `{${a}}` : guid;
  }

  private elementPath(obj: string, id: number): string[] {
    const key = this.keyNameOf(obj);
    if (!key) throw new BcdError(`the store has no object ${obj}`);
    return ["Objects", key, "Elements", elementKeyName(id)];
  }

  private makeElement(obj: string, id: number, regType: number, data: Buffer): BcdElement {
    const d = this.elementDef(obj, id);
    const { value, wellFormed } = decodeElementData(id, regType, data);
    return {
      id,
      idHex: elementKeyName(id),
      name: d?.name ?? `custom:${elementKeyName(id)}`,
      format: formatOf(id),
      regType,
      data,
      hex: data.toString("hex"),
      value,
      wellFormed,
    };
  }

  /**
   * Element `nameOrId` of object `obj` (alias or GUID) as stored on that object (no inheritance).
   * @returns undefined when the object does not have it
   */
  getElement(obj: string, nameOrId: string | number): BcdElement | undefined {
    const guid = this.resolve(obj);
    const id = this.elementId(guid, nameOrId);
    const v = this.hive.getValue(this.elementPath(guid, id), "Element");
    return v ? this.makeElement(guid, id, v.type, v.data) : undefined;
  }

  /** All elements of object `obj`, sorted by id (elements keys without an `Element` value are skipped). */
  listElements(obj: string): BcdElement[] {
    const guid = this.resolve(obj);
    const key = this.hive.getKey(["Objects", this.keyNameOf(guid)!, "Elements"]);
    if (!key) return [];
    const out: BcdElement[] = [];
    for (const k of key.subkeys()) {
      const id = parseElementId(k.name);
      const v = k.value("Element");
      if (id === undefined || !v) continue;
      out.push(this.makeElement(guid, id, v.type, v.data));
    }
    return out.sort((a, b) => a.id - b.id);
  }

  /**
   * Element `nameOrId` as the boot applications see it: on the object itself, else on the objects it inherits
   * from (`inherit`, 14000006), depth first in list order; cycles and missing objects are skipped.
   * @returns the element and where it comes from, or undefined
   */
  getEffectiveElement(obj: string, nameOrId: string | number): BcdEffectiveElement | undefined {
    const start = this.resolve(obj);
    const id = this.elementId(start, nameOrId);
    const seen = new Set<string>();
    const visit = (guid: string, via: string[]): BcdEffectiveElement | undefined => {
      if (seen.has(guid) || !this.hasObject(guid)) return undefined;
      seen.add(guid);
      const path = [...via, guid];
      const v = this.hive.getValue(this.elementPath(guid, id), "Element");
      if (v) return { element: this.makeElement(guid, id, v.type, v.data), from: guid, via: path };
      const inh = this.hive.getValue(this.elementPath(guid, INHERIT_ELEMENT), "Element");
      if (!inh || inh.type !== RegType.MULTI_SZ) return undefined;
      for (const next of decodeMultiString(inh.data)) {
        const g = normGuid(next);
        if (!g) continue;
        const found = visit(g, path);
        if (found) return found;
      }
      return undefined;
    };
    return visit(start, []);
  }

  /** Encode `value` for element `id` of `obj` (typed API). */
  encodeValue(obj: string | undefined, id: number, value: BcdSetValue): { regType: number; data: Buffer } {
    const format = formatOf(id);
    const regType = regTypeOf(format);
    const bad = (what: string) => new BcdError(`element ${elementKeyName(id)} (${format}) needs ${what}`);
    switch (format) {
      case "boolean":
        if (typeof value !== "boolean") throw bad("true or false");
        return { regType, data: Buffer.from([value ? 1 : 0]) };
      case "integer": {
        if (typeof value === "string") {
          const d = this.elementDef(obj, id);
          if (d?.ipv4) return { regType, data: encodeIpv4(value) };
          throw bad("a number");
        }
        if (typeof value !== "number" && typeof value !== "bigint") throw bad("a number");
        if (typeof value === "number" && !Number.isSafeInteger(value)) throw bad("a whole number");
        return { regType, data: encodeInteger(value) };
      }
      case "integerlist":
        if (!Array.isArray(value)) throw bad("a list of numbers");
        return { regType, data: Buffer.concat((value as readonly (bigint | number)[]).map((v) => encodeInteger(v))) };
      case "string":
        if (typeof value !== "string") throw bad("a string");
        return { regType, data: encodeString(value) };
      case "object":
        if (typeof value !== "string") throw bad("an object identifier");
        return { regType, data: encodeString(this.objectRef(value)) };
      case "objectlist": {
        const list = typeof value === "string" ? [value] : value;
        if (!Array.isArray(list) || list.some((x) => typeof x !== "string")) throw bad("a list of object identifiers");
        return { regType, data: encodeMultiString((list as readonly string[]).map((x) => this.objectRef(x))) };
      }
      case "device":
        if (value instanceof Uint8Array) return { regType, data: Buffer.from(value) };
        if (typeof value === "string") return { regType, data: this.parseDevice(value) };
        throw bad("device bytes or a device text (boot, ramdisk=[boot]\\path,{options})");
      default:
        if (value instanceof Uint8Array) return { regType: RegType.BINARY, data: Buffer.from(value) };
        throw bad("raw bytes (unknown format)");
    }
  }

  /** An object reference for an object/object-list element: a GUID (any case) or alias, stored as "{guid}". */
  private objectRef(text: string): string {
    return this.resolve(text, { mustExist: lc(text.trim()) === "{default}" });
  }

  /** Device text to bytes: `boot`, `ramdisk=[boot]\path,{options}`. */
  parseDevice(text: string): Buffer {
    const t = text.trim();
    if (lc(t) === "boot") return encodeBootDevice();
    const m = t.match(/^ramdisk=\[boot\](\\[^,]*),(\{[^}]+\})$/i);
    if (m) return encodeRamdiskDevice(m[1], this.resolve(m[2], { mustExist: false }));
    throw new BcdError(
      `device '${t}' is not supported here: use boot or ramdisk=[boot]\\path\\file.wim,{options-guid}`,
    );
  }

  /**
   * Parse bcdedit's text for a value of element `id` on `obj` (`on`/`off`/`yes`/`no`/`true`/`false`, decimal or
   * 0x numbers, enum names such as `net`, IPv4 for hostip, object ids, device text) and encode it.
   */
  encodeText(obj: string | undefined, id: number, args: readonly string[]): { regType: number; data: Buffer } {
    const format = formatOf(id);
    const d = this.elementDef(obj, id);
    const name = d?.name ?? `custom:${elementKeyName(id)}`;
    if (args.length === 0) throw new BcdError(`no value given for ${name}`);
    const one = () => {
      if (args.length !== 1) throw new BcdError(`${name} takes one value, got ${args.length}: ${args.join(" ")}`);
      return args[0];
    };
    switch (format) {
      case "boolean": {
        const v = lc(one());
        if (["on", "yes", "true", "1"].includes(v)) return this.encodeValue(obj, id, true);
        if (["off", "no", "false", "0"].includes(v)) return this.encodeValue(obj, id, false);
        throw new BcdError(`${name} is a boolean: use on/off, yes/no or true/false, not '${args[0]}'`);
      }
      case "integer": {
        const v = one();
        if (d?.ipv4) return this.encodeValue(obj, id, v);
        if (d?.enumNames) {
          const hit = Object.entries(d.enumNames).find(([k]) => lc(k) === lc(v));
          if (hit) return this.encodeValue(obj, id, BigInt(hit[1]));
        }
        return this.encodeValue(obj, id, parseNumber(v, name, d));
      }
      case "integerlist":
        return this.encodeValue(
          obj,
          id,
          args.map((a) => parseNumber(a, name, d)),
        );
      case "string":
        return this.encodeValue(obj, id, one());
      case "object":
        return this.encodeValue(obj, id, one());
      case "objectlist":
        return this.encodeValue(obj, id, args);
      case "device":
        return this.encodeValue(obj, id, one());
      default:
        throw new BcdError(`element ${elementKeyName(id)} has an unknown data format; it cannot be set from text`);
    }
  }

  /**
   * Set element `nameOrId` of `obj` to a typed value (see {@link BcdSetValue}); creates the element key when
   * absent. Setting the value it already has changes nothing.
   * @returns whether the store changed
   */
  setElement(obj: string, nameOrId: string | number, value: BcdSetValue): boolean {
    const guid = this.resolve(obj);
    const id = this.elementId(guid, nameOrId);
    const { regType, data } = this.encodeValue(guid, id, value);
    return this.writeElement(guid, id, regType, data);
  }

  /** Set element `nameOrId` of `obj` from bcdedit's text form (as `/set` does). @returns whether the store changed */
  setElementText(obj: string, nameOrId: string | number, args: readonly string[]): boolean {
    const guid = this.resolve(obj);
    const id = this.elementId(guid, nameOrId);
    const { regType, data } = this.encodeText(guid, id, args);
    return this.writeElement(guid, id, regType, data);
  }

  /**
   * Set element `nameOrId` of `obj` to raw bytes (a Buffer or a hex string), e.g. to restore a value read with
   * {@link BcdElement.hex}. `regType` defaults to the type bcdedit uses for the element's format.
   * @returns whether the store changed
   */
  setElementRaw(obj: string, nameOrId: string | number, data: Uint8Array | string, regType?: number): boolean {
    const guid = this.resolve(obj);
    const id = this.elementId(guid, nameOrId);
    let bytes: Buffer;
    if (typeof data === "string") {
      const h = data.replace(/[\s:,]/g, "");
      if (!/^(?:[0-9a-f]{2})*$/i.test(h)) throw new BcdError(`'${data}' is not hex bytes`);
      bytes = Buffer.from(h, "hex");
    } else bytes = Buffer.from(data);
    return this.writeElement(guid, id, regType ?? regTypeOf(formatOf(id)), bytes);
  }

  private writeElement(guid: string, id: number, regType: number, data: Buffer): boolean {
    const path = this.elementPath(guid, id);
    const cur = this.hive.getValue(path, "Element");
    if (cur && cur.type === regType && cur.data.equals(data)) return false;
    this.hive.createKey(path);
    return this.hive.setValue(path, "Element", regType, data);
  }

  /**
   * Delete element `nameOrId` of `obj` (its whole `Elements\<id>` key, as bcdedit does).
   * @returns false when the object does not have the element (nothing changed)
   */
  deleteElement(obj: string, nameOrId: string | number): boolean {
    const guid = this.resolve(obj);
    const id = this.elementId(guid, nameOrId);
    return this.hive.deleteKey(this.elementPath(guid, id), { recursive: true });
  }

  // ------------------------------------------------------------------ text

  /** bcdedit's display text of an element value (Yes/No, numbers, names, devices, object aliases). */
  formatElement(obj: string, e: BcdElement, opts: { verbose?: boolean } = {}): string[] {
    const verbose = opts.verbose ?? false;
    const def = this.defaultId();
    const ref = (g: string) => {
      const n = normGuid(g);
      if (!n || verbose) return g;
      const a = ALIAS_OF.get(n);
      if (a) return `{${a}}`;
      if (n === def) return "{default}";
      return n;
    };
    if (!e.wellFormed && e.format !== "device") return [e.hex];
    switch (e.format) {
      case "boolean":
        return [e.value ? "Yes" : "No"];
      case "integer": {
        const d = this.elementDef(obj, e.id);
        const n = e.value as bigint;
        if (d?.ipv4) return [decodeIpv4(e.data)];
        if (d?.enumNames) {
          const hit = Object.entries(d.enumNames).find(([, v]) => BigInt(v) === n);
          if (hit) return [hit[0]];
        }
        return [n.toString()];
      }
      case "integerlist":
        return (e.value as bigint[]).map((n) => `0x${n.toString(16)}`);
      case "string":
        return [e.value as string];
      case "object":
        return [ref(e.value as string)];
      case "objectlist": {
        const list = e.value as string[];
        return list.length > 0 ? list.map(ref) : [""];
      }
      case "device":
        return [formatDevice(e.data, verbose)];
      default:
        return [e.hex];
    }
  }

  /**
   * bcdedit-style listing of objects: heading, dashes, `identifier`, then one line per element.
   * @param ids - resolved object GUIDs, in output order
   */
  formatObjects(ids: readonly string[], opts: { verbose?: boolean } = {}): string {
    const verbose = opts.verbose ?? false;
    const def = this.defaultId();
    const infos = new Map(this.listObjects().map((o) => [o.id, o]));
    const blocks: string[] = [];
    for (const id of ids) {
      const info = infos.get(id);
      if (!info) continue;
      const lines = [info.heading, "-".repeat(info.heading.length)];
      const ident = verbose ? id : info.alias ? `{${info.alias}}` : id === def ? "{default}" : id;
      lines.push(`${"identifier".padEnd(24)}${ident}`);
      for (const e of this.listElements(id)) {
        const text = this.formatElement(id, e, { verbose });
        lines.push(`${e.name.padEnd(24)}${text[0]}`);
        for (const more of text.slice(1)) lines.push(`${"".padEnd(24)}${more}`);
      }
      blocks.push(lines.join("\n"));
    }
    return blocks.join("\n\n");
  }

  // ------------------------------------------------------------------ saving

  /** Whether there are unsaved changes. */
  isModified(): boolean {
    return this.hive.isModified();
  }

  /**
   * The store's new bytes when it changed (for a caller that writes several files as one change), else undefined.
   * After this the store counts as saved.
   */
  pendingBytes(): Buffer | undefined {
    return this.hive.isModified() ? this.hive.serialize() : undefined;
  }

  /**
   * Write the store back to its file atomically when it changed.
   * @returns whether the file was written (false: nothing changed, the file is byte-identical)
   */
  save(): boolean {
    if (!this.hive.isModified()) return false;
    return writeStore(this.hive, this.file);
  }
}

/** Save `hive` to `file` (atomically), with errors that name the store rather than the temporary file. */
function writeStore(hive: Hive, file: string): boolean {
  try {
    const st = fs.statSync(file);
    if ((st.mode & 0o222) === 0) throw new BcdError(`cannot write ${file}: the file is read-only`);
  } catch (e) {
    if (e instanceof BcdError) throw e;
    const dir = path.dirname(path.resolve(file));
    if (!fs.existsSync(dir)) throw new BcdError(`cannot write ${file}: the folder ${dir} does not exist`);
  }
  try {
    return saveHive(hive, file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why =
      err.code === "EACCES" || err.code === "EPERM"
        ? "permission denied"
        : err.code === "ENOSPC"
          ? "no space left"
          : err.message;
    throw new BcdError(`cannot write ${file}: ${why}; the file is unchanged`);
  }
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

function parseNumber(text: string, name: string, d: ElementDef | undefined): bigint {
  const t = text.trim();
  if (/^0x[0-9a-f]+$/i.test(t) || /^\d+$/.test(t)) {
    const n = BigInt(t);
    if (n > 0xffffffffffffffffn) throw new BcdError(`${name}: ${t} does not fit in 64 bits`);
    return n;
  }
  const names = d?.enumNames ? ` or one of ${Object.keys(d.enumNames).join(", ")}` : "";
  throw new BcdError(`${name} needs a number (decimal or 0x hex)${names}, not '${text}'`);
}

/**
 * Open the BCD store in `file` (the whole hive is read and checked first).
 * @throws RegfError for a malformed hive; BcdError when it is not a BCD store
 */
export function openStore(file: string): BcdStore {
  const hive = readHive(file);
  if (!hive.getKey("Description") && !hive.getKey("Objects"))
    throw new BcdError(`${file}: a registry hive, but not a BCD store (no Description or Objects key)`);
  return new BcdStore(file, hive);
}

/** Options for new stores. */
export interface NewStoreOptions {
  /** Description\KeyName. @default "BCD00000001" (what bcdedit /createstore writes, as the fixtures show) */
  keyName?: string;
  /** Also write Description\System = 1 and TreatAsSystem = 1 (as system stores and media stores have). */
  system?: boolean;
}

/** A new store in memory: root `NewStoreRoot` (as bcdedit names it), `Description` with `KeyName`. */
export function newStoreHive(opts: NewStoreOptions = {}): Hive {
  const hive = Hive.create({ rootName: "NewStoreRoot", minorVersion: 3 });
  hive.createKey("Description");
  hive.setValue("Description", "KeyName", RegType.SZ, encodeString(opts.keyName ?? "BCD00000001"));
  if (opts.system) {
    hive.setValue("Description", "System", RegType.DWORD, u32(1));
    hive.setValue("Description", "TreatAsSystem", RegType.DWORD, u32(1));
  }
  return hive;
}

/**
 * Create an empty store in `file` like `bcdedit /createstore`: only the `Description` key.
 * @throws BcdError when the file exists already (bcdedit refuses too)
 */
export function createEmptyStore(file: string, opts: NewStoreOptions = {}): void {
  if (fs.existsSync(file)) throw new BcdError(`${file} exists already; /createstore makes a new file only`);
  writeStore(newStoreHive(opts), file);
}

export { decodeDevice, formatDevice };
