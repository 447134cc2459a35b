/**
 * The adk toolchain's VM backend: a Hyper-V Generation 2 VM booting the ISO (toolchains/adk/plan.ts planVm /
 * planVmDestroy, built from toolchains/adk/hyperv.ts), as a kernel-debug target: KDNET over the VM's network
 * adapter (joined to a virtual switch), or KD over COM1 as a named pipe. The commands are pure builders; they run
 * only on Windows (toolchains/adk/run.ts).
 */
import type { StepContext, VmAttachResult, VmBackend, VmDefinition, VmSpec } from "../types";
import { adkDebugEndpoint, startVm } from "./hyperv";
import { planVm, planVmDestroy } from "./plan";
import { renderCommand } from "./quote";
import { runAdk } from "./run";
import type { AdkCommand } from "./types";

function definition(spec: VmSpec): VmDefinition {
  return { startArgv: [], startCommand: renderCommand(startVm(spec.name)), debug: adkDebugEndpoint(spec) };
}

function commands(spec: VmSpec, action: "attach" | "detach", createdVm: boolean): AdkCommand[] {
  return action === "attach" ? planVm(spec, createdVm) : planVmDestroy(spec, createdVm);
}

async function attach(spec: VmSpec, createdVm: boolean, _check: unknown, ctx: StepContext): Promise<VmAttachResult> {
  for (const c of commands(spec, "attach", createdVm)) await runAdk(c, { resource: ctx.resource });
  return { definition: definition(spec), createdVm: createdVm || spec.createVm, bootCheckLine: "" };
}

async function detach(spec: VmSpec, createdVm: boolean, ctx: StepContext): Promise<void> {
  for (const c of commands(spec, "detach", createdVm)) await runAdk(c, { resource: ctx.resource });
}

export const adkVmBackend: VmBackend = {
  toolchain: "adk",
  definition,
  debugEndpoint: adkDebugEndpoint,
  attach,
  // Hyper-V's state is not read back here (Get-VM would need Windows): reported as attached
  status: async () => "attached",
  detach,
  commands,
};
