/** Provider logic of {@link WinPeIso} (loaded at call time by the shell in resources/winpe-iso.ts). */
import * as fs from "node:fs";
import * as path from "node:path";
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { fileDigestLike, fileTreeDigest } from "../../runtime/digest";
import { withLock } from "../../runtime/locks";
import { NotOursError, OutputLedger } from "../../runtime/owned";
import { progressReporter, report } from "../../runtime/progress";
import { isoBackend } from "../../toolchains";
import type { IsoWritten } from "../../toolchains/types";
import { WinPeIsoDecl } from "../winpe-iso";
import { InputError } from "./errors";
import { argsOf, checkArgs, diffArgs, stateFor, stateOf } from "./kit";

const D = WinPeIsoDecl;
const TYPE = D.type;

/** Our bookkeeping of which ISO paths we wrote (runtime/owned.ts): in the working folder's `.winpe-lab`. */
function ledgerOf(workspace: string): OutputLedger {
  return new OutputLedger(path.join(workspace, ".winpe-lab"));
}

async function write(inputs: Record<string, unknown>, olds?: Record<string, unknown>) {
  const a = argsOf(D, inputs);
  const who = `${TYPE} ${a.isoPath}`;
  const onProgress = progressReporter(who);
  if (fs.existsSync(a.isoPath) && fs.statSync(a.isoPath).isDirectory()) {
    throw new InputError(`${TYPE}: 'isoPath' ${a.isoPath} is a folder; name a file ending in .iso`);
  }
  const ledger = ledgerOf(a.workspace);
  try {
    ledger.assertMayWrite(a.isoPath, `${TYPE}: 'isoPath'`);
  } catch (e) {
    if (e instanceof NotOursError) throw new InputError(e.message);
    throw e;
  }
  const backend = await isoBackend(a.toolchain);
  // the ISO the state records there (present, same path and toolchain): a backend may update it in place
  const old = olds ? stateOf(D, olds) : undefined;
  const previous =
    old && old.state === "present" && old.digest && old.isoPath === a.isoPath && old.toolchain === a.toolchain
      ? { digest: old.digest }
      : undefined;
  let written: IsoWritten | undefined;
  try {
    await withLock("iso", a.isoPath, who, async () => {
      ledger.intend(a.isoPath, who);
      for (const t of backend.cleanInterrupted(a.isoPath)) void report(who, t, "warning");
      written = await backend.write(
        { ...a, previous },
        {
          resource: `${TYPE}(${a.isoPath})`,
          onProgress,
          // e.g. why an ISO is written whole rather than updated in place: kept in the update's output
          onNotice: (m) => void report(who, m, "info"),
          // an in-place update: from its first byte on, the ISO there is the new one (or, killed, made so)
          beforeInPlace: (digest) => ledger.record(a.isoPath, digest, who),
        },
      );
    });
  } catch (e) {
    ledger.abandon(a.isoPath);
    throw e;
  }
  const d = written ?? fileTreeDigest(a.isoPath);
  ledger.record(a.isoPath, d.digest, who);
  const how = written?.how === "update" ? "updated in place" : "wrote";
  void report(who, `${how} ${a.isoPath} (${d.size} bytes, digest ${d.digest.slice(0, 22)})`, "info", true);
  return stateFor(D, a, { size: d.size, digest: d.digest, state: "present" });
}

export async function check(
  _olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<dynamic.CheckResult> {
  return checkArgs(D, news);
}

/** The declared inputs, or an ISO found missing or altered by the last refresh. No tool runs. */
export async function diff(
  _id: string,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<dynamic.DiffResult> {
  return diffArgs(D, olds, news, stateOf(D, olds).state !== "present");
}

export async function create(inputs: Record<string, unknown>): Promise<dynamic.CreateResult> {
  const outs = await write(inputs);
  return { id: String(outs.isoPath), outs };
}

export async function update(
  _id: string,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<dynamic.UpdateResult> {
  return { outs: await write(news, olds) };
}

/** Refresh: the ISO deleted or altered by hand is drift (the next up writes it again). */
export async function read(id: string, props: Record<string, unknown>): Promise<dynamic.ReadResult> {
  const s = stateOf(D, props);
  if (!fs.existsSync(s.isoPath)) {
    void report(TYPE, `${s.isoPath} is gone; the next up writes it again`, "warning");
    return { id, props: { ...s, state: "missing", size: 0, digest: "" } };
  }
  const journal = (await isoBackend(s.toolchain)).interrupted?.(s.isoPath);
  if (journal) {
    void report(
      TYPE,
      `${s.isoPath}: an in-place update was interrupted (${journal}); the next up finishes it`,
      "warning",
    );
    return { id, props: { ...s, state: "altered" } };
  }
  // the digest of the kind the state holds (a tree digest; a plain sha256 in a state from before v2)
  const digest = fileDigestLike(s.isoPath, s.digest);
  const state = digest === s.digest ? "present" : "altered";
  if (state !== "present")
    void report(TYPE, `${s.isoPath} was changed outside winpe-lab; the next up writes it again`, "warning");
  return { id, props: { ...s, state, size: fs.statSync(s.isoPath).size, digest } };
}

export async function del(_id: string, props: Record<string, unknown>): Promise<void> {
  const s = stateOf(D, props);
  const iso = s.isoPath;
  await withLock("iso", iso, TYPE, async () => {
    const backend = await isoBackend(s.toolchain);
    backend.cleanInterrupted(iso);
    backend.forget?.({ workspace: s.workspace, isoPath: iso });
    // only the ISO as we wrote it: a file changed by someone else since stays
    const kept = ledgerOf(s.workspace).remove(iso, [s.digest]);
    if (kept) void report(TYPE, kept, "warning");
  });
}
export { del as delete };
