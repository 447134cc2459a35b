/** Provider logic of {@link ImageCommit} (loaded at call time by the shell in resources/image-commit.ts). */
import * as fs from "node:fs";
import * as path from "node:path";
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { readWimFacts, WimFormatError } from "../../formats/wim";
import { fileDigestLike, fileTreeDigest } from "../../runtime/digest";
import { report } from "../../runtime/progress";
import { imageBackend } from "../../toolchains";
import type { ImageChange, StepContext } from "../../toolchains/types";
import { ImageCommitDecl } from "../image-commit";
import type { StagedFile } from "../injected-files";
import type { MountRef } from "../mounted-image";
import { argsOf, checkArgs, diffArgs, stateFor, stateOf } from "./kit";

const D = ImageCommitDecl;
const TYPE = D.type;

function ctxFor(mount: MountRef): StepContext {
  return {
    resource: `${TYPE}(${mount.wim})`,
    onProgress: (l) => void report(TYPE, l, "info", true),
    onNotice: (m) => void report(TYPE, m, "warning"),
  };
}

/** The image changes that take the WIM from `committed` to `desired` (pure). */
export function changesBetween(
  mount: MountRef,
  committed: Record<string, StagedFile>,
  desired: Record<string, StagedFile>,
  force: ReadonlySet<string> = new Set(),
): ImageChange[] {
  const changes: ImageChange[] = [];
  for (const [d, s] of Object.entries(desired)) {
    if (!committed[d] || committed[d].sha1 !== s.sha1 || force.has(d)) {
      changes.push({ op: "add", source: path.join(mount.mountDir, ...d.split("/")), dest: d });
    }
  }
  const leftFolders = new Set<string>();
  for (const [d, s] of Object.entries(committed)) {
    if (d in desired) continue;
    changes.push(s.original ? { op: "add", source: s.original.backup, dest: d } : { op: "delete", dest: d });
    for (const f of s.createdFolders ?? []) leftFolders.add(f);
  }
  // folders we created that no file of ours needs any more: deepest first, after their files
  const kept = Object.keys(desired).map((d) => d.toLowerCase());
  const gone = [...leftFolders]
    .filter((f) => !kept.some((d) => d.startsWith(`${f.toLowerCase()}/`)))
    .sort((a, b) => b.split("/").length - a.split("/").length || (a < b ? -1 : 1));
  for (const f of gone) changes.push({ op: "delete", dest: f, folder: true });
  return changes;
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
  // image paths found changed by the last refresh are committed again
  return diffArgs(D, olds, news, stateOf(D, olds).drift.length > 0);
}

async function commit(olds: Record<string, unknown> | undefined, news: Record<string, unknown>) {
  const a = argsOf(D, news);
  const ctx = ctxFor(a.mount);
  const backend = await imageBackend(a.mount.toolchain);
  const old = olds ? stateOf(D, olds) : undefined;
  const committed: Record<string, StagedFile> = old?.committed ?? {};
  const force = new Set(old?.drift ?? []);
  const changes = changesBetween(a.mount, committed, a.files, force);
  if (changes.length > 0) {
    void report(TYPE, `committing ${changes.length} change(s) into ${a.mount.wim}`, "info", true);
    await backend.commit(a.mount, changes, ctx);
  }
  // verify with the image's own view of the files (wimlib's stream hashes / the mount's files)
  const dests = Object.keys(a.files);
  const seen = await backend.imageFileHashes(a.mount, dests, ctx);
  const wrong = dests.filter((d) => seen[d]?.sha1 !== a.files[d].sha1);
  if (wrong.length > 0) {
    throw new Error(`${TYPE}: after the commit the image does not hold the expected content at ${wrong.join(", ")}`);
  }
  // after wimlib's append, known from the pieces it changed (toolchains/open/wim-appends.ts) without a full read
  const w = fileTreeDigest(a.mount.wim);
  return stateFor(D, a, { committed: a.files, wimDigest: w.digest, wimSize: w.size, drift: [] });
}

export async function create(inputs: Record<string, unknown>): Promise<dynamic.CreateResult> {
  const outs = await commit(undefined, inputs);
  const m = outs.mount as MountRef;
  return { id: `${m.wim}#${m.index}`, outs };
}

export async function update(
  _id: string,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<dynamic.UpdateResult> {
  return { outs: await commit(olds, news) };
}

/** Refresh: compares the image's files and the WIM's digest with what was committed. */
export async function read(id: string, props: Record<string, unknown>): Promise<dynamic.ReadResult> {
  const s = stateOf(D, props);
  const { mount, committed } = s;
  const drift: string[] = [];
  let wimDigest = "";
  let wimSize = 0;
  try {
    // of the kind the state holds (a tree digest; a plain sha256 in a state from before v2)
    wimDigest = fileDigestLike(mount.wim, s.wimDigest);
    wimSize = fs.statSync(mount.wim).size;
  } catch {
    return { id, props: { ...s, drift: ["<wim>"], wimDigest: "", wimSize: 0 } };
  }
  const damaged = wimDamage(mount);
  if (damaged) {
    void report(TYPE, damaged, "warning");
    return { id, props: { ...s, drift: ["<wim>"], wimDigest, wimSize } };
  }
  const dests = Object.keys(committed);
  const seen = await (await imageBackend(mount.toolchain)).imageFileHashes(mount, dests, ctxFor(mount));
  for (const d of dests) if (seen[d]?.sha1 !== committed[d].sha1) drift.push(d);
  if (drift.length > 0)
    void report(TYPE, `the WIM no longer holds what was committed at: ${drift.join(", ")}`, "warning");
  return { id, props: { ...s, drift, wimDigest, wimSize } };
}

/**
 * What is wrong with the WIM file when it is no longer a whole WIM (truncated, replaced by something else), for a
 * message; undefined when it is whole. Checked without a tool (formats/wim.ts).
 */
function wimDamage(mount: MountRef): string | undefined {
  if (mount.toolchain !== "open") return undefined;
  try {
    readWimFacts(mount.wim);
    return undefined;
  } catch (e) {
    if (!(e instanceof WimFormatError)) throw e;
    return (
      `${mount.wim} ${e.message}: the files winpe-lab committed cannot be read or taken out; ` +
      `make the working folder again (copype) or put a good boot.wim back`
    );
  }
}

export async function del(_id: string, props: Record<string, unknown>): Promise<void> {
  const { mount, committed } = stateOf(D, props);
  // a damaged WIM cannot be changed: say so and let destroy finish (nothing of ours can be taken out of it)
  const damaged = fs.existsSync(mount.wim) ? wimDamage(mount) : `${mount.wim} is gone: nothing to take out`;
  if (damaged) {
    void report(TYPE, damaged, "warning");
    return;
  }
  const changes = changesBetween(mount, committed, {});
  if (changes.length > 0) await (await imageBackend(mount.toolchain)).commit(mount, changes, ctxFor(mount));
}
export { del as delete };
