/** Provider logic of {@link BcdSettings} (loaded at call time by the shell in resources/bcd-settings.ts). */
import * as fs from "node:fs";
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { type BcdStore, openStore } from "../../formats/bcd";
import { fileDigests } from "../../runtime/digest";
import { withLock } from "../../runtime/locks";
import { report } from "../../runtime/progress";
import { bcdWriter } from "../../toolchains";
import {
  type AppliedStore,
  currentOf,
  display,
  effectiveOf,
  same,
  validateStores,
} from "../../toolchains/bcd/settings";
import { BcdSettingsDecl } from "../bcd-settings";
import { argsOf, checkArgs, diffArgs, stateFor, stateOf } from "./kit";

const D = BcdSettingsDecl;
const TYPE = D.type;

function parse(inputs: Record<string, unknown>) {
  return argsOf(D, inputs);
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

async function run(olds: Record<string, unknown> | undefined, news: Record<string, unknown>) {
  const a = parse(news);
  validateStores(a);
  const old = olds ? stateOf(D, olds) : undefined;
  const oldApplied: Record<string, AppliedStore> = old?.applied ?? {};
  const who = `${TYPE}`;
  // the writer (our module, or bcdedit) applies to every store under every store's lock
  const writer = await bcdWriter(a.writer);
  const applied = await withLocks("bcd", a.stores, TYPE, () => writer.apply(a, oldApplied, { resource: TYPE }));
  for (const [file, prev] of Object.entries(oldApplied)) {
    if (!(file in applied)) {
      await withLock("bcd", file, TYPE, async () => restoreAny(file, prev, old?.object ?? a.object, who));
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
      await restoreAny(file, ap, s.object, TYPE);
    });
  }
}
export { del as delete };

/** Put one store back, with the writer that wrote it. */
async function restoreAny(file: string, applied: AppliedStore, object: string, who: string): Promise<void> {
  const writer = await bcdWriter(applied.writer === "bcdedit" ? "bcdedit" : "module");
  await writer.restore(file, applied, object, { resource: who });
}
