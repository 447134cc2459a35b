/** Provider logic of {@link WorkspaceClaim} (loaded at call time by the shell in resources/workspace-claim.ts). */
import * as fs from "node:fs";
import * as path from "node:path";
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { stableStringify } from "../../runtime/digest";
import { claimWorkspace, NotOursError, releaseWorkspace } from "../../runtime/owned";
import { WorkspaceClaimArgsSchema } from "../workspace-claim";
import { checkWith, InputError, parseInputs } from "./errors";

const TYPE = "WorkspaceClaim";

/** Files in the bookkeeping folder that belong to the claim itself (removed with it). */
const OWN_FILES = ["digests.json"];

function claim(inputs: Record<string, unknown>) {
  const a = parseInputs(WorkspaceClaimArgsSchema, inputs, TYPE);
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
  return checkWith(WorkspaceClaimArgsSchema, news, []);
}

export async function diff(
  _id: string,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<dynamic.DiffResult> {
  const keys = ["workspace", "stateDir", "holder"];
  const changed = keys.filter((k) => stableStringify(olds[k] ?? null) !== stableStringify(news[k] ?? null));
  return { changes: changed.length > 0, replaces: changed, deleteBeforeReplace: true };
}

export async function create(inputs: Record<string, unknown>): Promise<dynamic.CreateResult> {
  const a = claim(inputs);
  return { id: `${a.workspace}|${a.holder}`, outs: a };
}

export async function read(id: string, props: Record<string, unknown>): Promise<dynamic.ReadResult> {
  return { id, props };
}

export async function del(_id: string, props: Record<string, unknown>): Promise<void> {
  const stateDir = String(props.stateDir);
  for (const f of OWN_FILES) fs.rmSync(path.join(stateDir, f), { force: true });
  releaseWorkspace(stateDir, String(props.holder));
}
export { del as delete };
