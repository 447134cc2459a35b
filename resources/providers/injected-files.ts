/** Provider logic of {@link InjectedFiles} (loaded at call time by the shell in resources/injected-files.ts). */
import * as fs from "node:fs";
import * as path from "node:path";
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { normalizeImagePath } from "../../formats/image-path";
import { binaryKindProblem, PE_MACHINE, PeFormatError, readPeHeaders } from "../../formats/pe";
import { writeFileAtomic } from "../../runtime/atomic";
import { fileDigests, sha256, stableStringify } from "../../runtime/digest";
import { report } from "../../runtime/progress";
import { imageBackend } from "../../toolchains";
import { ancestorsOf } from "../../toolchains/folders";
import type { StepContext } from "../../toolchains/types";
import { InjectedFilesDecl, type StagedFile } from "../injected-files";
import type { MountRef } from "../mounted-image";
import { InputError } from "./errors";
import { argsOf, checkArgs, diffArgs, stateFor, stateOf } from "./kit";

const D = InjectedFilesDecl;
const TYPE = D.type;

type FileSpec = { source?: string; content?: string; revision?: string };

/** Where a file given by its content is written before it is staged (the mount's private folder). */
function inlinePath(mount: MountRef, dest: string): string {
  const p = mount.toolchain === "adk" ? path.win32 : path;
  return p.join(mount.privateDir, "inline", ...dest.split("/"));
}

/** The file each destination is staged from: its source, or where its content is written. */
function sourcesOf(mount: MountRef, files: Record<string, FileSpec>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [d, spec] of Object.entries(files))
    out[d] = spec.content !== undefined ? inlinePath(mount, d) : spec.source!;
  return out;
}

/** The args with destinations normalized (`Windows\Ioctl\x.sys` -> `Windows/Ioctl/x.sys`). */
function parse(inputs: Record<string, unknown>): {
  mount: MountRef;
  files: Record<string, FileSpec>;
  arch?: "amd64" | "arm64";
} {
  const a = argsOf(D, inputs);
  const files: Record<string, FileSpec> = {};
  for (const [dest, spec] of Object.entries(a.files)) files[normalizeImagePath(dest)] = spec;
  return { mount: a.mount, files: sortRecord(files), ...(a.arch ? { arch: a.arch } : {}) };
}

const MACHINE_OF = { amd64: PE_MACHINE.amd64, arm64: PE_MACHINE.arm64 } as const;

/** Windows binaries must be of the image's machine and of the kind their name says (before anything is staged). */
function checkBinaries(sources: Record<string, string>, arch: "amd64" | "arm64" | undefined): void {
  for (const [d, source] of Object.entries(sources)) {
    if (!/\.(sys|exe|dll|efi)$/i.test(d)) continue;
    let problem: string | undefined;
    try {
      problem = binaryKindProblem(readPeHeaders(source), d, arch ? MACHINE_OF[arch] : undefined);
    } catch (e) {
      if (!(e instanceof PeFormatError)) throw e;
      problem = "is not a Windows binary (no valid PE header)";
    }
    if (problem) throw new InputError(`${TYPE}: 'files["${d}"].source' ${source} ${problem}`);
  }
}

function sortRecord<T>(r: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(r).sort()) out[k] = r[k];
  return out;
}

function ctxFor(mount: MountRef): StepContext {
  return {
    resource: `${TYPE}(${mount.mountDir})`,
    onProgress: (l) => void report(TYPE, l, "info", true),
    onNotice: (m) => void report(TYPE, m, "warning"),
  };
}

/** Digest of the staged set that ImageCommit keys on (content + originals, not paths on this machine). */
export function contentHashOf(staged: Record<string, StagedFile>): string {
  const view: Record<string, unknown> = {};
  for (const [d, s] of Object.entries(staged))
    view[d] = { sha1: s.sha1, size: s.size, original: s.original?.sha1 ?? null };
  return sha256(stableStringify(view));
}

export async function check(
  _olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<dynamic.CheckResult> {
  const r = checkArgs(D, news);
  if (r.failures || !r.inputs || !r.inputs.files || typeof r.inputs.files !== "object") return r;
  const files: Record<string, unknown> = {};
  for (const [d, s] of Object.entries(r.inputs.files as Record<string, unknown>)) files[normalizeImagePath(d)] = s;
  return { inputs: { ...r.inputs, files: sortRecord(files) } };
}

/** Which image paths an update would add, replace or remove (pure; hashes sources without a revision). */
export function planFileChanges(
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): { added: string[]; replaced: string[]; removed: string[] } {
  const oldFiles = (olds.files ?? {}) as Record<string, FileSpec>;
  const oldStaged = (olds.staged ?? {}) as Record<string, StagedFile>;
  const newFiles = (news.files ?? {}) as Record<string, FileSpec>;
  const drift = new Set((olds.drift ?? []) as string[]);
  const added: string[] = [];
  const replaced: string[] = [];
  for (const [d, spec] of Object.entries(newFiles)) {
    const prev = oldFiles[d];
    if (!prev || !oldStaged[d]) {
      added.push(d);
      continue;
    }
    let changed =
      prev.source !== spec.source || prev.content !== spec.content || prev.revision !== spec.revision || drift.has(d);
    if (!changed && spec.revision === undefined) {
      try {
        const now =
          spec.content !== undefined ? sha256(Buffer.from(spec.content, "utf8")) : fileDigests(spec.source!).sha256;
        changed = now !== oldStaged[d].sha256;
      } catch {
        changed = true;
      }
    }
    if (changed) replaced.push(d);
  }
  const removed = Object.keys(oldFiles).filter((d) => !(d in newFiles));
  return { added, replaced, removed };
}

export async function diff(
  _id: string,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<dynamic.DiffResult> {
  const p = planFileChanges(stateOf(D, olds), news);
  return diffArgs(D, olds, news, p.added.length + p.replaced.length + p.removed.length > 0);
}

async function apply(olds: Record<string, unknown> | undefined, news: Record<string, unknown>) {
  const { mount, files, arch } = parse(news);
  const ctx = ctxFor(mount);
  const backend = await imageBackend(mount.toolchain);
  const m = { ...mount };
  for (const [d, spec] of Object.entries(files)) {
    if (spec.content !== undefined) continue;
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(spec.source!);
    } catch {
      // reported below
    }
    if (!st?.isFile()) {
      throw new InputError(`${TYPE}: 'files["${d}"].source' ${spec.source} does not exist or is not a file`);
    }
  }
  const sources = sourcesOf(mount, files);
  // files given by their content are written (into the mount's private folder) before anything is staged
  for (const [d, spec] of Object.entries(files)) {
    if (spec.content === undefined) continue;
    const data = Buffer.from(spec.content, "utf8");
    let same = false;
    try {
      same = fs.readFileSync(sources[d]!).equals(data);
    } catch {
      // not written yet
    }
    if (!same) {
      fs.mkdirSync(path.dirname(sources[d]!), { recursive: true });
      writeFileAtomic(sources[d]!, data);
    }
  }
  checkBinaries(sources, arch);
  if (!fs.existsSync(mount.mountDir)) {
    throw new InputError(
      `${TYPE}: the mount folder ${mount.mountDir} does not exist: the MountedImage is stale; run 'pulumi up' again after a refresh`,
    );
  }
  const oldStaged: Record<string, StagedFile> = olds ? stateOf(D, olds).staged : {};
  const plan = planFileChanges(olds ?? {}, { files });
  const fresh = Object.keys(files).filter((d) => !oldStaged[d]);
  // originals: what the image holds at paths we are about to take over for the first time
  const originals: Record<string, StagedFile["original"]> = {};
  // folders the fresh paths create in the image (taken out again with the last file of ours in them)
  const missing = fresh.length > 0 ? new Set(await backend.missingFolders(m, fresh, ctx)) : new Set<string>();
  if (fresh.length > 0) {
    const inImage = await backend.imageFileHashes(m, fresh, ctx);
    const present = fresh.filter((d) => inImage[d]);
    if (present.length > 0) {
      const dir = path.join(mount.privateDir, "originals");
      await backend.backupOriginals(m, present, dir, ctx);
      for (const d of present) {
        const h = inImage[d]!;
        originals[d] = { sha1: h.sha1, size: h.size, backup: path.join(dir, ...d.split("/")) };
      }
    }
  }
  const staged: Record<string, StagedFile> = {};
  const changed = new Set([...plan.added, ...plan.replaced]);
  for (const d of Object.keys(files)) {
    const source = sources[d]!;
    const dg = fileDigests(source);
    const prev = oldStaged[d];
    const stagedPath = path.join(mount.mountDir, ...d.split("/"));
    let upToDate = !!prev && prev.sha256 === dg.sha256 && !changed.has(d);
    if (upToDate) {
      try {
        upToDate = fileDigests(stagedPath).sha256 === dg.sha256;
      } catch {
        upToDate = false;
      }
    }
    if (!upToDate) {
      await backend.stage(m, source, d, ctx);
      void report(TYPE, `${prev ? "replaced" : "added"} ${d} (sha256 ${dg.sha256.slice(0, 12)})`, "info", true);
    }
    staged[d] = {
      source,
      sha256: dg.sha256,
      sha1: dg.sha1,
      size: dg.size,
      original: prev ? prev.original : (originals[d] ?? null),
    };
    const created = prev ? (prev.createdFolders ?? []) : ancestorsOf(d).filter((f) => missing.has(f));
    if (created.length > 0) staged[d].createdFolders = created;
  }
  for (const d of plan.removed) {
    const prev = oldStaged[d];
    await backend.unstage(m, d, prev?.original?.backup ?? null, ctx);
    void report(TYPE, `removed ${d}`, "info", true);
  }
  return stateFor(
    D,
    { mount, files, ...(arch ? { arch } : {}) },
    { staged, contentHash: contentHashOf(staged), drift: [] },
  );
}

export async function create(inputs: Record<string, unknown>): Promise<dynamic.CreateResult> {
  const outs = await apply(undefined, inputs);
  return { id: `${(outs.mount as MountRef).mountDir}#files`, outs };
}

export async function update(
  _id: string,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<dynamic.UpdateResult> {
  return { outs: await apply(olds, news) };
}

/** Refresh: a staged file changed or removed in the mount folder is drift. */
export async function read(id: string, props: Record<string, unknown>): Promise<dynamic.ReadResult> {
  const s = stateOf(D, props);
  const { mount, staged } = s;
  const drift: string[] = [];
  for (const [d, s] of Object.entries(staged)) {
    try {
      if (fileDigests(path.join(mount.mountDir, ...d.split("/"))).sha256 !== s.sha256) drift.push(d);
    } catch {
      drift.push(d);
    }
  }
  if (drift.length > 0) void report(TYPE, `changed or missing in the mount folder: ${drift.join(", ")}`, "warning");
  return { id, props: { ...s, drift } };
}

export async function del(_id: string, props: Record<string, unknown>): Promise<void> {
  const { mount, staged } = stateOf(D, props);
  const ctx = ctxFor(mount);
  const backend = await imageBackend(mount.toolchain);
  for (const [d, s] of Object.entries(staged)) await backend.unstage(mount, d, s.original?.backup ?? null, ctx);
}
export { del as delete };
