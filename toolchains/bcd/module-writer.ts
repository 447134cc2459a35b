/**
 * Our BCD writer (the default on both toolchains): the stores are changed in memory with our REGF/BCD module, every
 * store first, then all written as one change (runtime/atomic.ts replaceFilesAtomically: a full disk or a
 * read-only file leaves every store as it was). A pristine copy of each store is kept aside (outside media/) on the
 * first write and put back on restore when nobody else changed the store, so destroy restores it byte for byte;
 * else element by element.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { type BcdStore, openStore } from "../../formats/bcd";
import { copyFileAtomic, removeStaleTemps, replaceFilesAtomically } from "../../runtime/atomic";
import { fileDigests, sha256 } from "../../runtime/digest";
import { report } from "../../runtime/progress";
import type { BcdWriter } from "../types";
import {
  type AppliedElement,
  type AppliedStore,
  assertWritable,
  BcdSettingsError,
  type BcdWriteArgs,
  currentOf,
  DBGSETTINGS,
  desiredSettings,
} from "./settings";

function backupPathFor(stateDir: string, storeFile: string): string {
  return path.join(stateDir, `pristine-${sha256(path.resolve(storeFile)).slice(0, 16)}.bcd`);
}

/** Temporary files of a store write (and of its pristine copy) that a killed run left: never part of the media. */
function removeInterruptedWrites(file: string, stateDir: string): void {
  const left = [...removeStaleTemps(path.dirname(file), path.basename(file))];
  if (stateDir) left.push(...removeStaleTemps(stateDir));
  for (const t of left) void report("BcdSettings", `removed ${t}, left by an interrupted write`, "warning");
}

/** Put the store back: the pristine copy when the store is exactly as we left it, else element by element. */
function restoreStore(file: string, applied: AppliedStore, who: string): void {
  let cur: string | undefined;
  try {
    cur = fileDigests(file).sha256;
  } catch {
    throw new Error(`BcdSettings: the store ${file} is gone; nothing to restore`);
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
function applyStore(a: BcdWriteArgs, file: string, prev: AppliedStore | undefined): PreparedStore {
  let store: BcdStore;
  try {
    store = openStore(file);
  } catch (e) {
    throw new BcdSettingsError(`BcdSettings: 'stores' ${file}: ${(e as Error).message}`);
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
    if (adopted) void report("BcdSettings", `${file}: keeping the pristine copy an interrupted run left`, "warning");
  }
  const base = adopted ?? store;
  const elements: Record<string, AppliedElement> = {};
  const createdObjects = [...(prev?.createdObjects ?? [])];
  for (const want of desiredSettings(a)) {
    let guid: string;
    try {
      guid = store.resolve(want.object, { mustExist: want.object !== DBGSETTINGS });
    } catch (e) {
      throw new BcdSettingsError(`BcdSettings: 'object' ${want.object} in ${file}: ${(e as Error).message}`);
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

export const moduleBcdWriter: BcdWriter = {
  writer: "module",

  async apply(a, previous) {
    const prepared: Array<[string, PreparedStore]> = [];
    try {
      for (const file of a.stores) {
        removeInterruptedWrites(file, a.stateDir);
        prepared.push([file, applyStore(a, file, previous[file])]);
      }
      const writes = prepared.filter(([, p]) => p.bytes).map(([file, p]) => ({ target: file, data: p.bytes! }));
      for (const w of writes) assertWritable(w.target);
      replaceFilesAtomically(writes);
    } catch (e) {
      for (const [, p] of prepared) if (p.newPristine) fs.rmSync(p.newPristine, { force: true });
      if (e instanceof BcdSettingsError) throw e;
      const err = e as NodeJS.ErrnoException;
      const why = err.code === "ENOSPC" ? "no space left on the device" : err.message;
      throw new BcdSettingsError(
        `BcdSettings: cannot write the BCD stores (${a.stores.join(", ")}): ${why}; every store is unchanged`,
      );
    }
    const applied: Record<string, AppliedStore> = {};
    for (const [file, p] of prepared) applied[file] = p.applied;
    return applied;
  },

  async restore(file, applied, _object, ctx) {
    removeInterruptedWrites(file, applied.pristine ? path.dirname(applied.pristine.backup) : "");
    restoreStore(file, applied, ctx.resource);
  },
};
