/**
 * The bcdedit BCD writer (adk, `writer: "bcdedit"`): previous values are read with our module (a store is a file,
 * readable on any host), the writes are bcdedit's (the commands of planBcdSettings, also what `winpe plan` prints).
 * Restore: each flag back with `bcdedit /set` or `/deletevalue` (planBcdSettingsRestore); the {dbgsettings}
 * elements, objects we created and any value that is not an on/off flag are put back by our module (bcdedit cannot
 * write back an absent element of /dbgsettings or a raw value). No pristine copy is kept: bcdedit, not a file copy,
 * restores. Windows only.
 */
import * as fs from "node:fs";
import { type BcdStore, openStore } from "../../formats/bcd";
import { fileDigests } from "../../runtime/digest";
import { report } from "../../runtime/progress";
import {
  type AppliedElement,
  type AppliedStore,
  BcdSettingsError,
  type BcdWriteArgs,
  currentOf,
  DBGSETTINGS,
  desiredSettings,
  same,
} from "../bcd/settings";
import type { BcdWriter } from "../types";
import type { BcdFlag } from "./bcdedit";
import { BCD_FLAGS, planBcdSettings, planBcdSettingsRestore } from "./plan";
import { assertWindows, runAdk } from "./run";

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
  a: BcdWriteArgs,
  file: string,
  prev: AppliedStore | undefined,
  resource: string,
): Promise<AppliedStore> {
  assertWindows(`writing ${file} with bcdedit`);
  let store: BcdStore;
  try {
    store = openStore(file);
  } catch (e) {
    throw new BcdSettingsError(`BcdSettings: 'stores' ${file}: ${(e as Error).message}`);
  }
  const elements: Record<string, AppliedElement> = {};
  const createdObjects = [...(prev?.createdObjects ?? [])];
  for (const want of desiredSettings(a)) {
    let guid: string;
    try {
      guid = store.resolve(want.object, { mustExist: want.object !== DBGSETTINGS });
    } catch (e) {
      throw new BcdSettingsError(`BcdSettings: 'object' ${want.object} in ${file}: ${(e as Error).message}`);
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
      "BcdSettings",
      `bcdedit wrote ${differ.map((e) => e.name).join(", ")} of ${file} differently than expected; refresh will report it as drift`,
      "warning",
    );
  }
  return { elements, createdObjects, pristine: null, writtenSha256: fileDigests(file).sha256, writer: "bcdedit" };
}

export const bcdeditWriter: BcdWriter = {
  writer: "bcdedit",

  async apply(a, previous, ctx) {
    const applied: Record<string, AppliedStore> = {};
    for (const file of a.stores)
      applied[file] = await applyStoreWithBcdedit(a, file, previous[file], `${ctx.resource}(${file})`);
    return applied;
  },

  async restore(file, applied, object, ctx) {
    await restoreWithBcdedit(file, object, Object.values(applied.elements), applied.createdObjects, ctx.resource);
    void report(ctx.resource, `restored the elements we changed in ${file} (bcdedit)`, "info", true);
  },
};
