/** Provider logic of {@link BcdSettings} (loaded at call time by the shell in resources/bcd-settings.ts). */
import * as fs from "node:fs";
import * as path from "node:path";
import type * as dynamic from "@pulumi/pulumi/dynamic";
import type { z } from "zod";
import { type BcdStore, decodeIpv4, openStore } from "../../formats/bcd";
import { copyFileAtomic, removeStaleTemps, replaceFilesAtomically } from "../../runtime/atomic";
import { fileDigests, sha256 } from "../../runtime/digest";
import { withLock } from "../../runtime/locks";
import { report } from "../../runtime/progress";
import type { BcdFlag } from "../../toolchains/adk/bcdedit";
import { BCD_FLAGS, planBcdSettings, planBcdSettingsRestore } from "../../toolchains/adk/plan";
import { assertWindows, runAdk } from "../../toolchains/adk/run";
import { type AppliedElementSchema, type AppliedStoreSchema, BcdSettingsDecl } from "../bcd-settings";
import { InputError } from "./errors";
import { argsOf, checkArgs, diffArgs, stateFor, stateOf } from "./kit";

const D = BcdSettingsDecl;
const TYPE = D.type;
const DBGSETTINGS = "{dbgsettings}";

type Args = ReturnType<typeof parse>;

type AppliedElement = z.output<typeof AppliedElementSchema>;
type AppliedStore = z.output<typeof AppliedStoreSchema>;

function parse(inputs: Record<string, unknown>) {
  return argsOf(D, inputs);
}

/** The elements the args ask for, as bcdedit text values (object alias, element name, value words). */
export function desiredSettings(a: Args): Array<{ object: string; name: string; text: string[]; secret: boolean }> {
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
function display(store: BcdStore, e: AppliedElement, v: { regType: number; hex: string } | null): string {
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

function currentOf(store: BcdStore, e: AppliedElement): { regType: number; hex: string } | null {
  if (!store.hasObject(e.object)) return null;
  const cur = store.getElement(e.object, Number.parseInt(e.id, 16));
  return cur ? { regType: cur.regType, hex: cur.hex } : null;
}

function same(a: { regType: number; hex: string } | null, b: { regType: number; hex: string } | null): boolean {
  return a === b || (!!a && !!b && a.regType === b.regType && a.hex === b.hex);
}

function backupPathFor(stateDir: string, storeFile: string): string {
  return path.join(stateDir, `pristine-${sha256(path.resolve(storeFile)).slice(0, 16)}.bcd`);
}

/** Temporary files of a store write (and of its pristine copy) that a killed run left: never part of the media. */
function removeInterruptedWrites(file: string, stateDir: string): void {
  const left = [...removeStaleTemps(path.dirname(file), path.basename(file))];
  if (stateDir) left.push(...removeStaleTemps(stateDir));
  for (const t of left) void report(TYPE, `removed ${t}, left by an interrupted write`, "warning");
}

/** Put the store back: the pristine copy when the store is exactly as we left it, else element by element. */
function restoreStore(file: string, applied: AppliedStore, who: string): void {
  let cur: string | undefined;
  try {
    cur = fileDigests(file).sha256;
  } catch {
    throw new Error(`${TYPE}: the store ${file} is gone; nothing to restore`);
  }
  // the pristine copy, when the store is as we left it or differs from the copy only in what we manage
  const ours = () =>
    !!applied.pristine &&
    pristineStillValid(
      applied.pristine,
      openStore(file),
      new Set(Object.keys(applied.elements)),
      new Set(applied.createdObjects),
    );
  if (applied.pristine && fs.existsSync(applied.pristine.backup) && (cur === applied.writtenSha256 || ours())) {
    if (fileDigests(applied.pristine.backup).sha256 === applied.pristine.sha256) {
      copyFileAtomic(applied.pristine.backup, file);
      fs.rmSync(applied.pristine.backup, { force: true });
      void report(who, `restored ${file} byte for byte`, "info", true);
      return;
    }
  }
  const store = openStore(file);
  for (const e of Object.values(applied.elements)) {
    if (!store.hasObject(e.object)) continue;
    const id = Number.parseInt(e.id, 16);
    if (e.previous) store.setElementRaw(e.object, id, e.previous.hex, e.previous.regType);
    else store.deleteElement(e.object, id);
  }
  for (const o of applied.createdObjects) if (store.hasObject(o)) store.deleteObject(o);
  store.save();
  if (applied.pristine) fs.rmSync(applied.pristine.backup, { force: true });
  void report(who, `restored the elements we changed in ${file}`, "info", true);
}

/**
 * The pristine copy a create left when it was killed after keeping the copy (and maybe after writing the store)
 * but before Pulumi recorded the resource: a readable store from which `store` differs only in the elements
 * (`managed`, `{guid}/{id}`) and created objects (`objects`) this resource manages. That copy, not the store as the
 * interrupted run left it, is what destroy must put back. Anything else (unreadable, other differences) is not
 * adopted: the store as it is now becomes the pristine copy, as for a first create.
 */
function leftoverPristine(
  backup: string,
  store: BcdStore,
  managed: ReadonlySet<string>,
  objects: ReadonlySet<string>,
): BcdStore | undefined {
  if (!fs.existsSync(backup)) return undefined;
  let old: BcdStore;
  try {
    old = openStore(backup);
  } catch {
    return undefined;
  }
  const inOld = new Set(old.listObjects().map((o) => o.id));
  const inNow = new Set(store.listObjects().map((o) => o.id));
  for (const o of new Set([...inOld, ...inNow])) {
    if (!inOld.has(o) && objects.has(o)) continue; // created by the interrupted run
    if (!inOld.has(o) || !inNow.has(o)) return undefined;
    const was = new Map(old.listElements(o).map((e) => [e.idHex, e]));
    const now = new Map(store.listElements(o).map((e) => [e.idHex, e]));
    for (const id of new Set([...was.keys(), ...now.keys()])) {
      if (managed.has(`${o}/${id}`)) continue;
      const x = was.get(id);
      const y = now.get(id);
      if (!x || !y || x.regType !== y.regType || x.hex !== y.hex) return undefined;
    }
  }
  return old;
}

/** Whether the kept pristine copy is intact and `store` differs from it only in the elements and objects we manage. */
function pristineStillValid(
  pristine: { backup: string; sha256: string },
  store: BcdStore,
  managed: ReadonlySet<string>,
  objects: ReadonlySet<string>,
): boolean {
  try {
    if (fileDigests(pristine.backup).sha256 !== pristine.sha256) return false;
  } catch {
    return false;
  }
  return leftoverPristine(pristine.backup, store, managed, objects) !== undefined;
}

/** One store changed in memory, ready to be written with the others (see {@link run}). */
interface PreparedStore {
  applied: AppliedStore;
  /** The new bytes, or undefined when the store does not change. */
  bytes: Buffer | undefined;
  /** A pristine copy this run made (removed again when the write fails). */
  newPristine?: string;
}

/**
 * Apply the desired elements to one store in memory, starting from what we applied before (or nothing), and keep
 * its pristine copy aside on a first write. Nothing of the store itself is written here.
 */
function applyStore(a: Args, file: string, prev: AppliedStore | undefined): PreparedStore {
  let store: BcdStore;
  try {
    store = openStore(file);
  } catch (e) {
    throw new InputError(`${TYPE}: 'stores' ${file}: ${(e as Error).message}`);
  }
  const before = fileDigests(file).sha256;
  // first create, but a pristine copy is there: an interrupted create's; its values are the previous ones
  let adopted: BcdStore | undefined;
  if (!prev) {
    const managed = new Set<string>();
    const objects = new Set<string>();
    for (const want of desiredSettings(a)) {
      try {
        const guid = store.resolve(want.object, { mustExist: false });
        objects.add(guid);
        managed.add(`${guid}/${store.elementId(guid, want.name).toString(16).padStart(8, "0")}`);
      } catch {
        // reported by the loop below
      }
    }
    adopted = leftoverPristine(backupPathFor(a.stateDir, file), store, managed, objects);
    if (adopted) void report(TYPE, `${file}: keeping the pristine copy an interrupted run left`, "warning");
  }
  const base = adopted ?? store;
  const elements: Record<string, AppliedElement> = {};
  const createdObjects = [...(prev?.createdObjects ?? [])];
  for (const want of desiredSettings(a)) {
    let guid: string;
    try {
      guid = store.resolve(want.object, { mustExist: want.object !== DBGSETTINGS });
    } catch (e) {
      throw new InputError(`${TYPE}: 'object' ${want.object} in ${file}: ${(e as Error).message}`);
    }
    const existed = base.hasObject(guid);
    if (!store.hasObject(guid)) store.createObject(want.object, 0x20100000);
    if (!existed && !createdObjects.includes(guid)) createdObjects.push(guid);
    const id = store.elementId(guid, want.name);
    const enc = store.encodeText(guid, id, want.text);
    const idHex = id.toString(16).padStart(8, "0");
    const key = `${guid}/${idHex}`;
    const old = prev?.elements[key];
    const e: AppliedElement = {
      object: guid,
      id: idHex,
      name: want.name,
      desired: { regType: enc.regType, hex: enc.data.toString("hex") },
      previous: old ? old.previous : currentOf(base, { object: guid, id: idHex } as AppliedElement),
      secret: want.secret,
    };
    elements[key] = e;
    store.setElementRaw(guid, id, e.desired.hex, e.desired.regType);
  }
  // elements we managed before but no longer want: back to their previous value
  for (const [key, old] of Object.entries(prev?.elements ?? {})) {
    if (key in elements || !store.hasObject(old.object)) continue;
    const id = Number.parseInt(old.id, 16);
    if (old.previous) store.setElementRaw(old.object, id, old.previous.hex, old.previous.regType);
    else store.deleteElement(old.object, id);
  }
  // everything resolved and encoded (in memory): only now keep the pristine copy aside, then write.
  // The pristine copy stays valid while nobody else wrote the store since our last write, or what changed since
  // is only elements we manage (our own write whose run was killed before Pulumi recorded it, a hand edit of one
  // of them); otherwise restoring it would undo someone else's change: it is dropped (and its file removed).
  let pristine = prev?.pristine ?? null;
  if (prev && pristine && before !== prev.writtenSha256) {
    const managed = new Set([...Object.keys(prev.elements), ...Object.keys(elements)]);
    if (!pristineStillValid(pristine, store, managed, new Set(createdObjects))) {
      fs.rmSync(pristine.backup, { force: true });
      pristine = null;
    }
  }
  let newPristine: string | undefined;
  if (!prev) {
    fs.mkdirSync(a.stateDir, { recursive: true });
    const backup = backupPathFor(a.stateDir, file);
    if (adopted) pristine = { backup, sha256: fileDigests(backup).sha256 };
    else {
      copyFileAtomic(file, backup);
      newPristine = backup;
      pristine = { backup, sha256: before };
    }
  }
  const bytes = store.pendingBytes();
  const writtenSha256 = bytes ? sha256(bytes) : before;
  return { applied: { elements, createdObjects, pristine, writtenSha256 }, bytes, newPristine };
}

/* adk with `writer: "bcdedit"`: previous values are read with our module (a store is a file, readable on any
 * host), the writes are bcdedit's (the commands of planBcdSettings, also what `winpe plan` prints). Restore: each
 * flag back with `bcdedit /set` or `/deletevalue` (planBcdSettingsRestore); the {dbgsettings} elements, objects we
 * created and any value that is not an on/off flag are put back by our module (bcdedit cannot write back an absent
 * element of /dbgsettings or a raw value). No pristine copy is kept: bcdedit, not a file copy, restores. */

/** `on`/`off` of a boolean element value; undefined when it is not one. */
function flagText(v: { regType: number; hex: string }): "on" | "off" | undefined {
  if (v.regType !== 3 || v.hex.length !== 2) return undefined;
  return v.hex === "00" ? "off" : "on";
}

/** Put elements (and created objects) of one store back: flags with bcdedit, the rest with our module. */
async function restoreWithBcdedit(
  file: string,
  object: string,
  elements: readonly AppliedElement[],
  createdObjects: readonly string[],
  resource: string,
): Promise<void> {
  assertWindows(`restoring ${file} with bcdedit`);
  const store = openStore(file);
  const byObject = new Map<string, Partial<Record<BcdFlag, "on" | "off" | null>>>();
  const viaModule: AppliedElement[] = [];
  for (const e of elements) {
    if (!store.hasObject(e.object)) continue;
    const prev = e.previous ? flagText(e.previous) : null;
    if (!(BCD_FLAGS as readonly string[]).includes(e.name) || prev === undefined) {
      viaModule.push(e);
      continue;
    }
    // /deletevalue of an element that is gone already would fail: nothing to do then
    if (prev === null && !currentOf(store, e)) continue;
    const rec = byObject.get(e.object) ?? {};
    rec[e.name as BcdFlag] = prev;
    byObject.set(e.object, rec);
  }
  for (const [guid, previous] of byObject) {
    // the configured object ({default}) when it still names the element's object, else its GUID
    let arg = guid;
    try {
      if (store.resolve(object) === guid) arg = object;
    } catch {
      // the alias no longer resolves: use the GUID
    }
    for (const c of planBcdSettingsRestore(file, arg, previous)) await runAdk(c, { resource });
  }
  if (viaModule.length > 0 || createdObjects.length > 0) {
    const after = openStore(file);
    for (const e of viaModule) {
      if (!after.hasObject(e.object)) continue;
      const id = Number.parseInt(e.id, 16);
      if (e.previous) after.setElementRaw(e.object, id, e.previous.hex, e.previous.regType);
      else after.deleteElement(e.object, id);
    }
    for (const o of createdObjects) if (after.hasObject(o)) after.deleteObject(o);
    after.save();
  }
}

/** Apply the desired elements to one store with bcdedit, recording previous values (read with our module). */
async function applyStoreWithBcdedit(
  a: Args,
  file: string,
  prev: AppliedStore | undefined,
  resource: string,
): Promise<AppliedStore> {
  assertWindows(`writing ${file} with bcdedit`);
  let store: BcdStore;
  try {
    store = openStore(file);
  } catch (e) {
    throw new InputError(`${TYPE}: 'stores' ${file}: ${(e as Error).message}`);
  }
  const elements: Record<string, AppliedElement> = {};
  const createdObjects = [...(prev?.createdObjects ?? [])];
  for (const want of desiredSettings(a)) {
    let guid: string;
    try {
      guid = store.resolve(want.object, { mustExist: want.object !== DBGSETTINGS });
    } catch (e) {
      throw new InputError(`${TYPE}: 'object' ${want.object} in ${file}: ${(e as Error).message}`);
    }
    // bcdedit /dbgsettings makes {dbgsettings} when the store has none: ours to delete on restore
    if (!store.hasObject(guid) && !createdObjects.includes(guid)) createdObjects.push(guid);
    const id = store.elementId(guid, want.name);
    const enc = store.encodeText(guid, id, want.text);
    const idHex = id.toString(16).padStart(8, "0");
    const key = `${guid}/${idHex}`;
    const old = prev?.elements[key];
    elements[key] = {
      object: guid,
      id: idHex,
      name: want.name,
      desired: { regType: enc.regType, hex: enc.data.toString("hex") },
      previous: old ? old.previous : currentOf(store, { object: guid, id: idHex } as AppliedElement),
      secret: want.secret,
    };
  }
  // elements we managed before but no longer want: back to their previous value first
  const dropped = Object.entries(prev?.elements ?? {})
    .filter(([key]) => !(key in elements))
    .map(([, e]) => e);
  if (dropped.length > 0) await restoreWithBcdedit(file, a.object, dropped, [], resource);
  for (const c of planBcdSettings({ ...a, stores: [file] })) await runAdk(c, { resource });
  if (prev?.pristine) fs.rmSync(prev.pristine.backup, { force: true });
  const after = openStore(file);
  const differ = Object.values(elements).filter((e) => !same(currentOf(after, e), e.desired));
  if (differ.length > 0) {
    void report(
      TYPE,
      `bcdedit wrote ${differ.map((e) => e.name).join(", ")} of ${file} differently than expected; refresh will report it as drift`,
      "warning",
    );
  }
  return { elements, createdObjects, pristine: null, writtenSha256: fileDigests(file).sha256, writer: "bcdedit" };
}

/** Put one store back, the way it was written. */
async function restoreAny(file: string, applied: AppliedStore, object: string, who: string): Promise<void> {
  if (applied.writer === "bcdedit") {
    await restoreWithBcdedit(file, object, Object.values(applied.elements), applied.createdObjects, who);
    void report(who, `restored the elements we changed in ${file} (bcdedit)`, "info", true);
  } else {
    restoreStore(file, applied, who);
  }
}

function effectiveOf(file: string, applied: AppliedStore): Record<string, string> {
  const store = openStore(file);
  const out: Record<string, string> = {};
  for (const e of Object.values(applied.elements)) {
    const label = e.object.includes("4636856e") ? `dbgsettings.${e.name}` : e.name;
    out[label] = display(store, e, currentOf(store, e));
  }
  return out;
}

/** A store we are about to write must be a writable file in a writable folder: say which, before any write. */
function assertWritable(file: string): void {
  try {
    fs.accessSync(file, fs.constants.W_OK);
    fs.accessSync(path.dirname(file), fs.constants.W_OK);
  } catch {
    throw new InputError(`${TYPE}: 'stores' ${file} is read-only (or its folder is): make it writable`);
  }
}

/** Hold the `kind` locks of every subject (in a fixed order, so two runs never wait for each other). */
async function withLocks<T>(
  kind: string,
  subjects: readonly string[],
  holder: string,
  fn: () => Promise<T>,
): Promise<T> {
  const sorted = [...new Set(subjects)].sort();
  const step = (i: number): Promise<T> =>
    i === sorted.length ? fn() : withLock(kind, sorted[i], holder, () => step(i + 1));
  return step(0);
}

/** Open every store and resolve and encode every wanted element, writing nothing: bad input fails here. */
function validateStores(a: Args): void {
  for (const file of a.stores) {
    if (!fs.existsSync(file)) {
      throw new InputError(
        `${TYPE}: 'stores' ${file} does not exist: make the WinPE working folder first (winpe copype)`,
      );
    }
    if (!fs.statSync(file).isFile()) throw new InputError(`${TYPE}: 'stores' ${file} is not a file`);
    let store: BcdStore;
    try {
      store = openStore(file);
    } catch (e) {
      // the format errors start with the file name already
      const msg = (e as Error).message.replace(`${file}: `, "");
      throw new InputError(`${TYPE}: 'stores' ${file}: ${msg}`);
    }
    for (const want of desiredSettings(a)) {
      try {
        const guid = store.resolve(want.object, { mustExist: want.object !== DBGSETTINGS });
        store.encodeText(guid, store.elementId(guid, want.name), want.text);
      } catch (e) {
        const prop = want.object === DBGSETTINGS ? (a.serial ? "serial" : "kdnet") : "object";
        throw new InputError(`${TYPE}: '${prop}' ${want.object} in ${file}: ${(e as Error).message}`);
      }
    }
  }
}

async function run(olds: Record<string, unknown> | undefined, news: Record<string, unknown>) {
  const a = parse(news);
  validateStores(a);
  const old = olds ? stateOf(D, olds) : undefined;
  const oldApplied: Record<string, AppliedStore> = old?.applied ?? {};
  const who = `${TYPE}`;
  const applied: Record<string, AppliedStore> = {};
  if (a.writer === "bcdedit") {
    for (const file of a.stores) {
      await withLock("bcd", file, "BcdSettings", async () => {
        removeInterruptedWrites(file, a.stateDir);
        applied[file] = await applyStoreWithBcdedit(a, file, oldApplied[file], `${TYPE}(${file})`);
      });
    }
  } else {
    // every store is changed in memory first, then all are written as one change: a failure (a full disk, a
    // read-only file) leaves every store as it was, and removes the pristine copies this run made
    await withLocks("bcd", a.stores, "BcdSettings", async () => {
      const prepared: Array<[string, PreparedStore]> = [];
      try {
        for (const file of a.stores) {
          removeInterruptedWrites(file, a.stateDir);
          prepared.push([file, applyStore(a, file, oldApplied[file])]);
        }
        const writes = prepared.filter(([, p]) => p.bytes).map(([file, p]) => ({ target: file, data: p.bytes! }));
        for (const w of writes) assertWritable(w.target);
        replaceFilesAtomically(writes);
      } catch (e) {
        for (const [, p] of prepared) if (p.newPristine) fs.rmSync(p.newPristine, { force: true });
        if (e instanceof InputError) throw e;
        const err = e as NodeJS.ErrnoException;
        const why = err.code === "ENOSPC" ? "no space left on the device" : err.message;
        throw new InputError(
          `${TYPE}: cannot write the BCD stores (${a.stores.join(", ")}): ${why}; every store is unchanged`,
        );
      }
      for (const [file, p] of prepared) applied[file] = p.applied;
    });
  }
  for (const [file, prev] of Object.entries(oldApplied)) {
    if (!(file in applied)) {
      await withLock("bcd", file, "BcdSettings", async () => restoreAny(file, prev, old?.object ?? a.object, who));
    }
  }
  const effective: Record<string, Record<string, string>> = {};
  const storeHashes: Record<string, string> = {};
  for (const file of a.stores) {
    effective[file] = effectiveOf(file, applied[file]);
    storeHashes[file] = applied[file].writtenSha256;
  }
  return stateFor(D, a, { applied, effective, storeHashes, drift: [] });
}

export async function check(
  _olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<dynamic.CheckResult> {
  return checkArgs(D, news);
}

export async function diff(
  _id: string,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<dynamic.DiffResult> {
  // elements found changed by hand by the last refresh are set again
  return diffArgs(D, olds, news, stateOf(D, olds).drift.length > 0);
}

export async function create(inputs: Record<string, unknown>): Promise<dynamic.CreateResult> {
  const outs = await run(undefined, inputs);
  return { id: `bcd:${(outs.stores as string[]).join("|")}`, outs };
}

export async function update(
  _id: string,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<dynamic.UpdateResult> {
  return { outs: await run(olds, news) };
}

/** Refresh: the managed elements as the stores hold them now; differences are drift. */
export async function read(id: string, props: Record<string, unknown>): Promise<dynamic.ReadResult> {
  const s = stateOf(D, props);
  const applied = s.applied;
  const drift: string[] = [];
  const effective: Record<string, Record<string, string>> = {};
  const storeHashes: Record<string, string> = {};
  for (const [file, ap] of Object.entries(applied)) {
    if (!fs.existsSync(file)) {
      drift.push(`${file}: store missing`);
      continue;
    }
    let store: BcdStore;
    try {
      store = openStore(file);
    } catch (e) {
      // a damaged store is drift, not a crash of the refresh: the next up says what is wrong with it
      drift.push(`${file}: unreadable (${(e as Error).message.replace(`${file}: `, "")})`);
      continue;
    }
    for (const e of Object.values(ap.elements)) {
      const cur = currentOf(store, e);
      if (!same(cur, e.desired)) drift.push(`${e.name}: ${display(store, e, e.desired)} -> ${display(store, e, cur)}`);
    }
    effective[file] = effectiveOf(file, ap);
    storeHashes[file] = fileDigests(file).sha256;
  }
  if (drift.length > 0) void report(TYPE, `changed by hand: ${drift.join("; ")}`, "warning");
  return { id, props: { ...s, drift, effective, storeHashes } };
}

export async function del(_id: string, props: Record<string, unknown>): Promise<void> {
  const s = stateOf(D, props);
  const applied = s.applied;
  for (const [file, ap] of Object.entries(applied)) {
    if (!fs.existsSync(file)) continue;
    await withLock("bcd", file, "BcdSettings", async () => {
      removeInterruptedWrites(file, s.stateDir);
      await restoreAny(file, ap, s.object, TYPE);
    });
  }
}
export { del as delete };
