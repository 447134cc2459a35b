/** Provider logic of {@link WorkspaceClaim} (loaded at call time by the shell in resources/workspace-claim.ts). */
import * as fs from "node:fs";
import * as path from "node:path";
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { claimWorkspace, NotOursError, releaseWorkspace } from "../../runtime/owned";
import { WorkspaceClaimDecl } from "../workspace-claim";
import { InputError } from "./errors";
import { argsOf, checkArgs, diffArgs, stateFor, stateOf } from "./kit";

const D = WorkspaceClaimDecl;
const TYPE = D.type;

/** Files in the bookkeeping folder that belong to the claim itself (removed with it). */
const OWN_FILES = ["digests.json"];

function claim(inputs: Record<string, unknown>) {
  const a = argsOf(D, inputs);
  try {
    claimWorkspace(a.stateDir, a.holder, a.workspace);
  } catch (e) {
    if (e instanceof NotOursError) throw new InputError(`${TYPE}: 'workspace' ${e.message}`);
    throw e;
  }
  return a;
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
  return diffArgs(D, olds, news);
}

export async function create(inputs: Record<string, unknown>): Promise<dynamic.CreateResult> {
  const a = claim(inputs);
  return { id: `${a.workspace}|${a.holder}`, outs: stateFor(D, a, {}) };
}

export async function read(id: string, props: Record<string, unknown>): Promise<dynamic.ReadResult> {
  return { id, props: stateOf(D, props) };
}

export async function del(_id: string, props: Record<string, unknown>): Promise<void> {
  const s = stateOf(D, props);
  for (const f of OWN_FILES) fs.rmSync(path.join(s.stateDir, f), { force: true });
  releaseWorkspace(s.stateDir, s.holder);
}
export { del as delete };
