/** Provider logic of {@link DriverVerifier} (loaded at call time by the shell in resources/driver-verifier.ts). */
import * as fs from "node:fs";
import * as nodePath from "node:path";
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { Hive } from "../../formats/regf/index";
import {
  applyVerifierValues,
  currentControlSet,
  readVerifierValues,
  restoreVerifierValues,
  SYSTEM_HIVE_PATH,
} from "../../formats/verifier";
import { writeFileAtomic } from "../../runtime/atomic";
import { fileTreeDigest, sha1 } from "../../runtime/digest";
import { report } from "../../runtime/progress";
import { imageBackend } from "../../toolchains";
import type { ImageBackend, StepContext } from "../../toolchains/types";
import { DriverVerifierDecl } from "../driver-verifier";
import type { MountRef } from "../mounted-image";
import { InputError } from "./errors";
import { argsOf, checkArgs, diffArgs, stateFor, stateOf } from "./kit";

const D = DriverVerifierDecl;
const TYPE = D.type;
const HIVE = SYSTEM_HIVE_PATH;

function ctxFor(mount: MountRef): StepContext {
  return {
    resource: `${TYPE}(${mount.wim})`,
    onProgress: (l) => void report(TYPE, l, "info", true),
    onNotice: (m) => void report(TYPE, m, "warning"),
  };
}

function pathApi(mount: MountRef): typeof nodePath.posix {
  return mount.toolchain === "adk" ? nodePath.win32 : nodePath.posix;
}

/** The stack's files: the untouched hive, the edited one, a scratch folder for reading the image's. */
function files(mount: MountRef, stateDir: string) {
  const p = pathApi(mount);
  return {
    original: p.join(stateDir, "SYSTEM.original"),
    edited: p.join(stateDir, "SYSTEM.edited"),
    scratch: p.join(stateDir, "read"),
    staged: p.join(mount.mountDir, ...HIVE.split("/")),
  };
}

/** The hive as the image holds it now. */
async function readImageHive(backend: ImageBackend, mount: MountRef, stateDir: string, ctx: StepContext) {
  const f = files(mount, stateDir);
  fs.rmSync(f.scratch, { recursive: true, force: true });
  await backend.backupOriginals(mount, [HIVE], f.scratch, ctx);
  const bytes = fs.readFileSync(pathApi(mount).join(f.scratch, ...HIVE.split("/")));
  fs.rmSync(f.scratch, { recursive: true, force: true });
  return bytes;
}

/** Put `file` into the image at the hive's path and commit it. */
async function commitHive(backend: ImageBackend, mount: MountRef, file: string, ctx: StepContext): Promise<void> {
  await backend.stage(mount, file, HIVE, ctx);
  await backend.commit(mount, [{ op: "add", source: files(mount, "").staged, dest: HIVE }], ctx);
}

function noHive(mount: MountRef): InputError {
  return new InputError(
    `${TYPE}: the image ${mount.wim} (index ${mount.index}) has no registry hive at ${HIVE}: ` +
      "'winpe-lab:test.verifier' writes Driver Verifier's settings there (every WinPE image has one; " +
      "'winpe copype --synthetic' makes a stand-in): use a real WinPE working folder, or remove 'test.verifier'",
  );
}

export async function check(
  _olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<dynamic.CheckResult> {
  return checkArgs(D, news);
}

/** The declared inputs, or the hive found changed by the last refresh. No tool runs. */
export async function diff(
  _id: string,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<dynamic.DiffResult> {
  return diffArgs(D, olds, news, stateOf(D, olds).drift.length > 0);
}

async function apply(olds: Record<string, unknown> | undefined, news: Record<string, unknown>) {
  const a = argsOf(D, news);
  const m = a.mount;
  const ctx = ctxFor(m);
  const backend = await imageBackend(m.toolchain);
  const f = files(m, a.stateDir);
  const seen = (await backend.imageFileHashes(m, [HIVE], ctx))[HIVE];
  if (!seen) throw noHive(m);
  const old = olds ? stateOf(D, olds) : undefined;
  fs.mkdirSync(a.stateDir, { recursive: true });
  const current = await readImageHive(backend, m, a.stateDir, ctx);
  let hive: Hive;
  try {
    hive = Hive.parse(current, { file: `${m.wim}:${HIVE}` });
    currentControlSet(hive);
  } catch (e) {
    throw new InputError(`${TYPE}: ${HIVE} in ${m.wim} cannot be used: ${(e as Error).message}`);
  }
  let previous = old?.previous;
  let originalSha1 = old?.originalSha1 ?? "";
  let pristineKept = old?.pristineKept ?? false;
  if (!old) {
    // first write: keep the untouched hive (destroy puts it back byte for byte) and what the two values were
    writeFileAtomic(f.original, current);
    previous = readVerifierValues(hive);
    originalSha1 = sha1(current);
    pristineKept = true;
  } else if (seen.sha1 !== old.writtenSha1 && seen.sha1 !== old.originalSha1) {
    // somebody else changed the hive since: the untouched copy would undo their change, so only the values go back
    void report(
      TYPE,
      `${HIVE} in ${m.wim} was changed since winpe-lab wrote it: destroy will restore only the Driver Verifier values`,
      "warning",
    );
    pristineKept = false;
    fs.rmSync(f.original, { force: true });
  }
  const controlSet = currentControlSet(hive);
  applyVerifierValues(hive, a.values);
  const edited = hive.isModified() ? hive.serialize() : current;
  const writtenSha1 = sha1(edited);
  if (writtenSha1 !== seen.sha1) {
    writeFileAtomic(f.edited, edited);
    void report(
      TYPE,
      `writing VerifyDrivers=${JSON.stringify(a.values.VerifyDrivers)} VerifyDriverLevel=0x${a.values.VerifyDriverLevel.toString(16)} ` +
        `into ${controlSet}\\Control\\Session Manager\\Memory Management of ${HIVE}`,
      "info",
      true,
    );
    await commitHive(backend, m, f.edited, ctx);
    const after = (await backend.imageFileHashes(m, [HIVE], ctx))[HIVE];
    if (after?.sha1 !== writtenSha1)
      throw new Error(`${TYPE}: after the commit the image does not hold the edited hive at ${HIVE}`);
  }
  const w = fileTreeDigest(m.wim);
  return stateFor(D, a, {
    controlSet,
    previous: previous!,
    originalSha1,
    writtenSha1,
    pristineKept,
    wimDigest: w.digest,
    wimSize: w.size,
    drift: [],
  });
}

export async function create(inputs: Record<string, unknown>): Promise<dynamic.CreateResult> {
  const outs = await apply(undefined, inputs);
  const m = outs.mount as MountRef;
  return { id: `${m.wim}#${m.index}:${HIVE}`, outs };
}

export async function update(
  _id: string,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<dynamic.UpdateResult> {
  return { outs: await apply(olds, news) };
}

/** Refresh: the image's hive no longer what winpe-lab committed is drift (the next up writes the values again). */
export async function read(id: string, props: Record<string, unknown>): Promise<dynamic.ReadResult> {
  const s = stateOf(D, props);
  if (!fs.existsSync(s.mount.wim)) return { id, props: { ...s, drift: ["hive"] } };
  const seen = (await (await imageBackend(s.mount.toolchain)).imageFileHashes(s.mount, [HIVE], ctxFor(s.mount)))[HIVE];
  const drift = seen?.sha1 === s.writtenSha1 ? [] : ["hive"];
  if (drift.length > 0) void report(TYPE, `${HIVE} in ${s.mount.wim} is not what winpe-lab wrote`, "warning");
  return { id, props: { ...s, drift } };
}

/**
 * Delete: the untouched hive back byte for byte when the image still holds what winpe-lab wrote; else the two
 * values back as they were (absent ones removed), leaving whatever else changed.
 */
export async function del(_id: string, props: Record<string, unknown>): Promise<void> {
  const s = stateOf(D, props);
  const m = s.mount;
  const ctx = ctxFor(m);
  const f = files(m, s.stateDir);
  if (fs.existsSync(m.wim)) {
    const backend = await imageBackend(m.toolchain);
    const seen = (await backend.imageFileHashes(m, [HIVE], ctx))[HIVE];
    let restored: string | undefined;
    const pristine =
      s.pristineKept && fs.existsSync(f.original) && sha1(fs.readFileSync(f.original)) === s.originalSha1;
    if (!seen) {
      void report(TYPE, `${HIVE} is no longer in ${m.wim}: nothing to put back`, "warning");
    } else if (seen.sha1 === s.originalSha1) {
      // already as it was
    } else if (seen.sha1 === s.writtenSha1 && pristine) {
      await commitHive(backend, m, f.original, ctx);
      restored = f.original;
    } else {
      const hive = Hive.parse(await readImageHive(backend, m, s.stateDir, ctx));
      restoreVerifierValues(hive, s.previous);
      if (hive.isModified()) {
        fs.mkdirSync(s.stateDir, { recursive: true });
        writeFileAtomic(f.edited, hive.serialize());
        await commitHive(backend, m, f.edited, ctx);
        restored = f.edited;
      }
      void report(
        TYPE,
        `${HIVE} was changed by someone else after winpe-lab wrote it: only VerifyDrivers and VerifyDriverLevel were put back`,
        "warning",
      );
    }
    // the staging copy (open) goes; on adk the mount is the image, which now holds the restored file
    if (restored) await backend.unstage(m, HIVE, restored, ctx);
  }
  fs.rmSync(s.stateDir, { recursive: true, force: true });
}
export { del as delete };
