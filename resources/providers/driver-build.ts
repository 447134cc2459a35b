/** Provider logic of {@link DriverBuild} (loaded at call time by the shell in resources/driver-build.ts). */
import * as fs from "node:fs";
import * as path from "node:path";
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { readPeHeaders } from "../../formats/pe";
import { removeStaleTemps } from "../../runtime/atomic";
import { fileDigests, stableStringify } from "../../runtime/digest";
import { NotOursError, OutputLedger, removeEmptyDir } from "../../runtime/owned";
import { progressReporter, report } from "../../runtime/progress";
import { planDriverBuild, readAdkProjectFacts } from "../../toolchains/adk/plan";
import { runAdk } from "../../toolchains/adk/run";
import { type BuildInputFile, buildProject, changedInputs } from "../../toolchains/open/build";
import { signFile, verifySignature } from "../../toolchains/open/sign";
import { DriverBuildArgsSchema, type DriverBuildOutput, type DriverBuildSymbols } from "../driver-build";
import { installEngineLog } from "./engine-log";
import { checkWith, InputError, parseInputs } from "./errors";

installEngineLog();

const TYPE = "DriverBuild";
const OUTPUT_KEYS = ["files", "symbols", "outDirCreated", "inputsHash", "inputs", "toolchainVersion", "drift"] as const;
const MACHINES: Record<number, string> = { 34404: "x64", 43620: "ARM64", 332: "x86" };
const SUBSYSTEMS: Record<number, string> = { 1: "native", 2: "windows", 3: "console", 10: "efi-application" };

function parse(inputs: Record<string, unknown>) {
  const c = { ...inputs };
  for (const k of OUTPUT_KEYS) delete c[k];
  return parseInputs(DriverBuildArgsSchema, c, TYPE);
}

function describe(file: string, project: string, kind: "driver" | "application"): DriverBuildOutput {
  const pe = readPeHeaders(file);
  const d = fileDigests(file);
  return {
    path: file,
    size: d.size,
    sha256: d.sha256,
    machine: MACHINES[pe.machine] ?? `0x${pe.machine.toString(16)}`,
    subsystem: SUBSYSTEMS[pe.subsystem] ?? String(pe.subsystem),
    kind,
    signed: pe.signed,
    project,
  };
}

async function build(olds: Record<string, unknown> | undefined, news: Record<string, unknown>) {
  const a = parse(news);
  const who = `${TYPE} ${path.basename(a.project)} ${a.configuration}|${a.platform}`;
  const resource = `${TYPE}(${path.basename(a.project)})`;
  const onProgress = progressReporter(who, 1000);
  if (a.toolchain === "adk") return buildWithAdk(a, resource, onProgress);
  // outputs are copied/signed in through temporary files: a killed build leaves them in the output folder
  for (const t of removeStaleTemps(a.outDir)) void report(who, `removed ${t}, left by an interrupted build`, "warning");
  const ledger = ledgerOf(a);
  const outDirCreated = olds ? olds.outDirCreated === true : !fs.existsSync(a.outDir);
  let intended: readonly string[] = [];
  const r = await buildProject({
    project: a.project,
    configuration: a.configuration,
    platform: a.platform,
    outDir: a.outDir,
    cacheDir: a.cacheDir,
    onProgress,
    resource,
    beforeWrite: (targets) => {
      // never replace a file of the user's that happens to have an output's name
      for (const t of targets) {
        try {
          ledger.assertMayWrite(t, `${TYPE}: 'outDir' holds ${path.basename(t)}:`);
        } catch (e) {
          if (e instanceof NotOursError) throw new InputError(e.message);
          throw e;
        }
      }
      for (const t of targets) ledger.intend(t, who);
      intended = targets;
    },
  }).catch((e) => {
    for (const t of intended) ledger.abandon(t);
    throw e;
  });
  const files: Record<string, DriverBuildOutput> = {};
  const symbols: Record<string, DriverBuildSymbols> = {};
  const root = path.dirname(a.project);
  // keyed by the path inside outDir (the file name, or <project folder>/<name> when two projects share a name)
  const key = (p: string) => path.relative(a.outDir, p).split(path.sep).join("/");
  for (const o of r.outputs) {
    if (a.signing && o.kind === "driver") {
      await signFile(o.path, a.signing, { resource });
      const v = await verifySignature(o.path, a.signing.certPem, { resource });
      if (!v.valid) throw new Error(`${TYPE}: osslsigncode could not verify the signature of ${o.path}:\n${v.output}`);
    }
    files[key(o.path)] = describe(o.path, path.relative(root, o.project).split(path.sep).join("/"), o.kind);
    ledger.record(o.path, files[key(o.path)].sha256, who);
  }
  for (const s of r.symbols) {
    symbols[key(s.path)] = { path: s.path, size: s.size, sha256: s.sha256, binary: key(s.binary) };
    ledger.record(s.path, s.sha256, who);
  }
  // files an earlier build produced that this one did not: remove them (as we wrote them only)
  const earlier = [
    ...Object.entries((olds?.files ?? {}) as Record<string, DriverBuildOutput>).filter(([n]) => !(n in files)),
    ...Object.entries((olds?.symbols ?? {}) as Record<string, DriverBuildSymbols>).filter(([n]) => !(n in symbols)),
  ];
  for (const [, f] of earlier) {
    const kept = ledger.remove(f.path, [f.sha256]);
    if (kept) void report(who, kept, "warning");
  }
  void report(who, `built ${[...Object.keys(files), ...Object.keys(symbols)].join(", ")}`, "info", true);
  return {
    ...a,
    files,
    symbols,
    outDirCreated,
    inputsHash: r.inputsHash,
    inputs: r.inputs,
    toolchainVersion: r.toolchainVersion,
    drift: [] as string[],
  };
}

/**
 * adk: MSBuild (after `nuget restore` when the project uses NuGet), then signtool with the store certificate: the
 * commands of `planDriverBuild` (toolchains/adk/plan.ts, also what `winpe plan` prints).
 */
async function buildWithAdk(a: ReturnType<typeof parse>, resource: string, onProgress: (l: string) => void) {
  const facts = readAdkProjectFacts(a.project, a.configuration, a.platform);
  const signing = a.signing ? { thumbprint: a.signing.thumbprint } : null;
  for (const c of planDriverBuild({ ...a, signing }, facts)) await runAdk(c, { resource, onLine: onProgress });
  const files: Record<string, DriverBuildOutput> = {};
  for (const o of facts.outputs) {
    const file = path.win32.join(a.outDir, o.name);
    files[o.name] = describe(file, path.relative(path.dirname(a.project), o.projectFile), o.kind);
  }
  const inputs = Object.values(files).map((f) => ({ path: f.path, sha256: f.sha256 }));
  const symbols: Record<string, DriverBuildSymbols> = {};
  return { ...a, files, symbols, inputsHash: "", inputs, toolchainVersion: "msbuild", drift: [] as string[] };
}

export async function check(
  _olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<dynamic.CheckResult> {
  return checkWith(DriverBuildArgsSchema, news, OUTPUT_KEYS);
}

/** Rebuild when an argument changed, a recorded input's content changed, or an output drifted. No tool runs. */
export async function diff(
  _id: string,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<dynamic.DiffResult> {
  const keys = ["toolchain", "project", "configuration", "platform", "outDir", "revisions"];
  const changed = keys.some((k) => stableStringify(olds[k] ?? null) !== stableStringify(news[k] ?? null));
  const thumb = (s: unknown) => (s && typeof s === "object" ? (s as { thumbprint?: string }).thumbprint : null) ?? null;
  const signing = thumb(olds.signing) !== thumb(news.signing);
  const inputs = changedInputs((olds.inputs ?? []) as BuildInputFile[]).length > 0;
  const drift = ((olds.drift ?? []) as string[]).length > 0;
  const replaces = stableStringify(olds.outDir) !== stableStringify(news.outDir) ? ["outDir"] : [];
  return { changes: changed || signing || inputs || drift, replaces };
}

export async function create(inputs: Record<string, unknown>): Promise<dynamic.CreateResult> {
  const outs = await build(undefined, inputs);
  return { id: `${outs.project}|${outs.configuration}|${outs.platform}`, outs };
}

export async function update(
  _id: string,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<dynamic.UpdateResult> {
  return { outs: await build(olds, news) };
}

/** Refresh: outputs deleted or altered by hand are drift. */
export async function read(id: string, props: Record<string, unknown>): Promise<dynamic.ReadResult> {
  const files = {
    ...((props.files ?? {}) as Record<string, DriverBuildOutput>),
    ...((props.symbols ?? {}) as Record<string, DriverBuildSymbols>),
  };
  const drift: string[] = [];
  for (const [name, f] of Object.entries(files)) {
    try {
      if (fileDigests(f.path).sha256 !== f.sha256) drift.push(`${name}: altered`);
    } catch {
      drift.push(`${name}: missing`);
    }
  }
  if (drift.length > 0) void report(TYPE, `outputs changed outside winpe-lab: ${drift.join(", ")}`, "warning");
  return { id, props: { ...props, drift } };
}

/**
 * Delete: exactly the files the build produced, as it produced them (a file changed outside winpe-lab since stays,
 * with a notice), and the output folder when we created it and that leaves it empty.
 */
export async function del(_id: string, props: Record<string, unknown>): Promise<void> {
  const files = [
    ...Object.values((props.files ?? {}) as Record<string, DriverBuildOutput>),
    ...Object.values((props.symbols ?? {}) as Record<string, DriverBuildSymbols>),
  ];
  const outDir = String(props.outDir ?? "");
  const ledger = ledgerOf({ outDir, stateDir: props.stateDir as string | undefined });
  for (const f of files) {
    const kept = ledger.remove(f.path, [f.sha256]);
    if (kept) void report(TYPE, kept, "warning");
  }
  if (outDir && props.toolchain === "open") removeStaleTemps(outDir);
  // a state written before outDirCreated was recorded: the folder is removed when empty, as then
  if (outDir && props.outDirCreated !== false) removeEmptyDir(outDir);
}

/** Our record of which output paths we wrote (runtime/owned.ts). */
function ledgerOf(a: { outDir: string; stateDir?: string }): OutputLedger {
  return new OutputLedger(a.stateDir ?? path.join(a.outDir, ".winpe-lab"));
}

export { del as delete };
