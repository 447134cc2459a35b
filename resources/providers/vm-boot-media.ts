/**
 * Provider logic of {@link VmBootMedia} (loaded at call time by the shell in resources/vm-boot-media.ts). The work is
 * the toolchain's VM backend (toolchains/index.ts `vmBackend`): a QEMU definition and boot check (open), Hyper-V
 * commands (adk).
 */
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { progressReporter, report } from "../../runtime/progress";
import { vmBackend } from "../../toolchains/index";
import type { StepContext, VmSpec } from "../../toolchains/types";
import { VmBootMediaDecl } from "../vm-boot-media";
import { argsOf, checkArgs, diffArgs, stateFor, stateOf } from "./kit";

const D = VmBootMediaDecl;
const TYPE = D.type;

type Args = ReturnType<typeof parse>;

function parse(inputs: Record<string, unknown>) {
  return argsOf(D, inputs);
}

/** The backend's view of the args. */
export function vmSpecOf(a: Args): VmSpec {
  return {
    name: a.name,
    arch: a.arch,
    isoPath: a.isoPath,
    isoDigest: a.isoDigest,
    vmDir: a.vmDir,
    memoryMb: a.memoryMb,
    createVm: a.createVm,
    accel: a.accel,
    switchName: a.switchName,
    debug: a.debug,
  };
}

function contextOf(a: Args): StepContext {
  const who = `${TYPE} ${a.name}`;
  return {
    resource: `${TYPE}(${a.name})`,
    onProgress: progressReporter(who),
    onNotice: (m) => void report(who, m, "info"),
  };
}

async function attach(olds: Record<string, unknown> | undefined, inputs: Record<string, unknown>) {
  const a = parse(inputs);
  const old = olds ? stateOf(D, olds) : undefined;
  const spec = vmSpecOf(a);
  const ctx = contextOf(a);
  if (a.bootCheck)
    void report(`${TYPE} ${a.name}`, `boot check: booting the ISO in QEMU (${a.arch}) ...`, "info", true);
  const r = await (await vmBackend(a.toolchain)).attach(
    spec,
    old?.createdVm ?? false,
    a.bootCheck ? { timeoutSec: a.bootTimeoutSec, pattern: a.bootPattern } : undefined,
    ctx,
  );
  return stateFor(D, a, {
    createdVm: r.createdVm,
    startCommand: r.definition.startCommand,
    startArgv: r.definition.startArgv,
    bootCheckLine: r.bootCheckLine,
    state: "attached",
  });
}

export async function check(
  _olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<dynamic.CheckResult> {
  return checkArgs(D, news);
}

/** The declared inputs, or a definition found missing or detached by the last refresh. No tool runs. */
export async function diff(
  _id: string,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<dynamic.DiffResult> {
  return diffArgs(D, olds, news, stateOf(D, olds).state !== "attached");
}

export async function create(inputs: Record<string, unknown>): Promise<dynamic.CreateResult> {
  const outs = await attach(undefined, inputs);
  return { id: `${outs.toolchain}:${outs.name}`, outs };
}

export async function update(
  _id: string,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<dynamic.UpdateResult> {
  return { outs: await attach(olds, news) };
}

/** Refresh: the definition gone, or pointing at another ISO, is drift (open). adk: reported as is. */
export async function read(id: string, props: Record<string, unknown>): Promise<dynamic.ReadResult> {
  const s = stateOf(D, props);
  const spec = vmSpecOf(s);
  const state = await (await vmBackend(s.toolchain)).status(spec, contextOf(s));
  if (state !== "attached")
    void report(TYPE, `the VM definition of ${s.name} is ${state}; the next up writes it again`, "warning");
  return { id, props: { ...s, state } };
}

export async function del(_id: string, props: Record<string, unknown>): Promise<void> {
  const s = stateOf(D, props);
  await (await vmBackend(s.toolchain)).detach(vmSpecOf(s), s.createdVm, contextOf(s));
}
export { del as delete };
