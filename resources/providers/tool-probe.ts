/** Provider logic of {@link ToolProbe} (loaded at call time by the shell in resources/tool-probe.ts). */
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { runTool } from "../../runtime/exec";
import { ToolProbeArgsSchema, type ToolProbeOutputs } from "../tool-probe";
import { checkWith, parseInputs } from "./errors";

async function probe(tool: string, args: string[]): Promise<string> {
  const r = await runTool(tool, args, { resource: `ToolProbe(${tool})` });
  const line = `${r.stdout}\n${r.stderr}`.split(/\r?\n/).find((l) => l.trim().length > 0) ?? "";
  return line.trim();
}

export async function check(
  _olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<dynamic.CheckResult> {
  return checkWith(ToolProbeArgsSchema, news, ["version"]);
}

export async function diff(
  _id: string,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<dynamic.DiffResult> {
  const replaces: string[] = [];
  if (olds.tool !== news.tool) replaces.push("tool");
  const changes = replaces.length > 0 || JSON.stringify(olds.args) !== JSON.stringify(news.args);
  return { changes, replaces };
}

export async function create(inputs: Record<string, unknown>): Promise<dynamic.CreateResult> {
  const args = parseInputs(ToolProbeArgsSchema, { tool: inputs.tool, args: inputs.args }, "ToolProbe");
  const outs: ToolProbeOutputs = { ...args, version: await probe(args.tool, args.args) };
  return { id: args.tool, outs };
}

export async function update(
  _id: string,
  _olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<dynamic.UpdateResult> {
  const args = parseInputs(ToolProbeArgsSchema, { tool: news.tool, args: news.args }, "ToolProbe");
  return { outs: { ...args, version: await probe(args.tool, args.args) } };
}

export async function read(id: string, props: Record<string, unknown>): Promise<dynamic.ReadResult> {
  const args = parseInputs(ToolProbeArgsSchema, { tool: props.tool, args: props.args }, "ToolProbe");
  return { id, props: { ...args, version: await probe(args.tool, args.args) } };
}
