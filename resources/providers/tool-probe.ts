/** Provider logic of {@link ToolProbe} (loaded at call time by the shell in resources/tool-probe.ts). */
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { runTool } from "../../runtime/exec";
import { ToolProbeDecl } from "../tool-probe";
import { argsOf, checkArgs, diffArgs, stateFor, stateOf } from "./kit";

const D = ToolProbeDecl;

async function probe(tool: string, args: string[]): Promise<string> {
  const r = await runTool(tool, args, { resource: `ToolProbe(${tool})` });
  const line = `${r.stdout}\n${r.stderr}`.split(/\r?\n/).find((l) => l.trim().length > 0) ?? "";
  return line.trim();
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
  const a = argsOf(D, inputs);
  return { id: a.tool, outs: stateFor(D, a, { version: await probe(a.tool, a.args) }) };
}

export async function update(
  _id: string,
  _olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<dynamic.UpdateResult> {
  const a = argsOf(D, news);
  return { outs: stateFor(D, a, { version: await probe(a.tool, a.args) }) };
}

export async function read(id: string, props: Record<string, unknown>): Promise<dynamic.ReadResult> {
  const s = stateOf(D, props);
  return { id, props: stateFor(D, s, { version: await probe(s.tool, s.args) }) };
}
