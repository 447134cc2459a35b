/** Provider logic of {@link DriverBuild} (loaded at call time by the shell in resources/driver-build.ts). */
import * as fs from "node:fs";
import * as path from "node:path";
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { readPeHeaders } from "../../formats/pe";
import { fileDigests } from "../../runtime/digest";
import { NotOursError, OutputLedger, removeEmptyDir } from "../../runtime/owned";
import { progressReporter, report } from "../../runtime/progress";
import { buildBackend } from "../../toolchains";
import type { PreviousBuildOutput } from "../../toolchains/types";
import { DriverBuildDecl, type DriverBuildOutput, type DriverBuildSymbols } from "../driver-build";
import { InputError } from "./errors";
import { argsOf, checkArgs, diffArgs, stateFor, stateOf } from "./kit";

const D = DriverBuildDecl;
const TYPE = D.type;
const MACHINES: Record<number, string> = { 34404: "x64", 43620: "ARM64", 332: "x86" };
const SUBSYSTEMS: Record<number, string> = { 1: "native", 2: "windows", 3: "console", 10: "efi-application" };

function describe(file: string, project: string, kind: "driver" | "application", linkKey: string): DriverBuildOutput {
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
    linkKey,
  };
}

/** The thumbprint of a `signing` input (or null). */
function thumbprintOf(s: unknown): string | null {
  return (s && typeof s === "object" ? (s as { thumbprint?: string }).thumbprint : null) ?? null;
}

/** What the previous build left in outDir, as the backend wants it (see BuildRequest.previous). */
function previousOutputs(old: ReturnType<typeof stateOf<typeof D.args, typeof D.outputs>>): PreviousBuildOutput[] {
  const pdbOf = new Map(Object.values(old.symbols).map((s) => [s.binary, s]));
  const signer = thumbprintOf(old.signing);
  return Object.entries(old.files).map(([key, f]) => {
    const pdb = pdbOf.get(key);
    return {
      path: f.path,
      sha256: f.sha256,
      linkKey: f.linkKey,
      kind: f.kind,
      signedWith: f.signed ? (signer ?? "unknown") : null,
      pdb: pdb ? { path: pdb.path, sha256: pdb.sha256 } : null,
    };
  });
}

/** Our record of which output paths we wrote (runtime/owned.ts). */
function ledgerOf(a: { outDir: string; stateDir?: string }): OutputLedger {
  return new OutputLedger(a.stateDir ?? path.join(a.outDir, ".winpe-lab"));
}

async function build(olds: Record<string, unknown> | undefined, news: Record<string, unknown>) {
  const a = argsOf(D, news);
  const old = olds ? stateOf(D, olds) : undefined;
  const who = `${TYPE} ${path.basename(a.project)} ${a.configuration}|${a.platform}`;
  const resource = `${TYPE}(${path.basename(a.project)})`;
  const backend = await buildBackend(a.toolchain);
  for (const t of backend.cleanInterrupted(a.outDir))
    void report(who, `removed ${t}, left by an interrupted build`, "warning");
  const ledger = ledgerOf(a);
  const outDirCreated = old ? old.outDirCreated : !fs.existsSync(a.outDir);
  let intended: readonly string[] = [];
  const r = await backend
    .build(
      { ...a, previous: old ? previousOutputs(old) : [] },
      {
        resource,
        onNotice: (m) => void report(who, m, "warning"),
        onProgress: progressReporter(who, 1000),
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
      },
    )
    .catch((e) => {
      for (const t of intended) ledger.abandon(t);
      throw e;
    });
  const p = a.toolchain === "adk" ? path.win32 : path;
  const root = p.dirname(a.project);
  // keyed by the path inside outDir (the file name, or <project folder>/<name> when two projects share a name)
  const key = (f: string) => p.relative(a.outDir, f).split(p.sep).join("/");
  const files: Record<string, DriverBuildOutput> = {};
  const symbols: Record<string, DriverBuildSymbols> = {};
  // a binary left as it was (and its PDB) is already in the ledger as we wrote it
  const reused = new Set(r.binaries.filter((o) => o.reused).map((o) => o.path));
  for (const o of r.binaries) {
    files[key(o.path)] = describe(o.path, p.relative(root, o.project).split(p.sep).join("/"), o.kind, o.linkKey ?? "");
    if (!reused.has(o.path)) ledger.record(o.path, files[key(o.path)]!.sha256, who);
  }
  for (const s of r.symbols) {
    symbols[key(s.path)] = { path: s.path, size: s.size, sha256: s.sha256, binary: key(s.binary) };
    if (!reused.has(s.binary)) ledger.record(s.path, s.sha256, who);
  }
  // files an earlier build produced that this one did not: remove them (as we wrote them only)
  const earlier = [
    ...Object.entries(old?.files ?? {}).filter(([n]) => !(n in files)),
    ...Object.entries(old?.symbols ?? {}).filter(([n]) => !(n in symbols)),
  ];
  for (const [, f] of earlier) {
    const kept = ledger.remove(f.path, [f.sha256]);
    if (kept) void report(who, kept, "warning");
  }
  const unchanged = new Set(Object.keys(files).filter((n) => reused.has(files[n]!.path)));
  const made = [
    ...Object.keys(files).filter((n) => !unchanged.has(n)),
    ...Object.keys(symbols).filter((n) => !unchanged.has(symbols[n]!.binary)),
  ];
  void report(
    who,
    `built ${made.length > 0 ? made.join(", ") : "nothing new"}${r.summary ? ` (${r.summary})` : ""}`,
    "info",
    true,
  );
  return stateFor(D, a, {
    files,
    symbols,
    outDirCreated,
    inputsHash: r.inputsHash,
    inputs: r.inputs,
    toolchainVersion: r.toolchainVersion,
    drift: [],
  });
}

export async function check(
  _olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<dynamic.CheckResult> {
  return checkArgs(D, news);
}

/**
 * Rebuild when a declared input changed, the signing certificate changed (by thumbprint), a recorded input file's
 * content changed, or an output drifted. No tool runs.
 */
export async function diff(
  _id: string,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<dynamic.DiffResult> {
  const old = stateOf(D, olds);
  const signing = thumbprintOf(old.signing) !== thumbprintOf(news.signing);
  const inputs = (await buildBackend(old.toolchain)).changedInputs(old.inputs, old.cacheDir).length > 0;
  return diffArgs(D, olds, news, signing || inputs || old.drift.length > 0);
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
  const s = stateOf(D, props);
  const drift: string[] = [];
  for (const [name, f] of Object.entries({ ...s.files, ...s.symbols })) {
    try {
      if (fileDigests(f.path).sha256 !== f.sha256) drift.push(`${name}: altered`);
    } catch {
      drift.push(`${name}: missing`);
    }
  }
  if (drift.length > 0) void report(TYPE, `outputs changed outside winpe-lab: ${drift.join(", ")}`, "warning");
  return { id, props: { ...s, drift } };
}

/**
 * Delete: exactly the files the build produced, as it produced them (a file changed outside winpe-lab since stays,
 * with a notice), and the output folder when we created it and that leaves it empty.
 */
export async function del(_id: string, props: Record<string, unknown>): Promise<void> {
  const s = stateOf(D, props);
  const ledger = ledgerOf(s);
  for (const f of [...Object.values(s.files), ...Object.values(s.symbols)]) {
    const kept = ledger.remove(f.path, [f.sha256]);
    if (kept) void report(TYPE, kept, "warning");
  }
  (await buildBackend(s.toolchain)).cleanInterrupted(s.outDir);
  if (s.outDirCreated) removeEmptyDir(s.outDir);
}
export { del as delete };
