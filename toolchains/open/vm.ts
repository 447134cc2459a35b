/**
 * The open toolchain's VM backend: a QEMU VM definition kept in the VM's folder (a private copy of the firmware
 * variables, `vm.json` with the VM's spec and its interactive command line), the boot check, and the VM that
 * `winpe debug` starts in the background (its pid in `qemu.pid`, its transport in `running.json`, its console in
 * `console.log`). Every command line comes from toolchains/open/qemu.ts: the interactive start command, the boot
 * check and the background VM are the same definition with other host ends.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { copyFileAtomic, writeFileAtomic } from "../../runtime/atomic";
import { runTool } from "../../runtime/exec";
import type { RunningVm, StepContext, VmAttachResult, VmBackend, VmBootCheck, VmDefinition, VmSpec } from "../types";
import { bootCheck } from "./boot";
import {
  DEFAULT_FIRMWARE,
  kdSocketPath,
  openDebugEndpoint,
  type QemuInstance,
  type QemuMachine,
  qemuArgv,
  qemuBinary,
  shellQuote,
} from "./qemu";

/** The definition file in the VM's folder. */
export const DEFINITION_FILE = "vm.json";
const PID_FILE = "qemu.pid";
const RUNNING_FILE = "running.json";
const CONSOLE_LOG = "console.log";

function machineOf(spec: VmSpec): QemuMachine {
  return { arch: spec.arch, memoryMb: spec.memoryMb, isoPath: spec.isoPath, accel: spec.accel, debug: spec.debug };
}

/** The host ends of the VM's own instance (its variables file and COM1 socket in its folder). */
function instanceOf(spec: VmSpec, extra: Partial<QemuInstance> = {}): QemuInstance {
  return {
    vars: path.join(spec.vmDir, "vars.fd"),
    console: { kind: "stdio" },
    kdSocket: kdSocketPath(spec.vmDir),
    ...extra,
  };
}

/** The VM definition (pure). */
export function openVmDefinition(spec: VmSpec): VmDefinition {
  const startArgv = qemuArgv(machineOf(spec), instanceOf(spec));
  return { startArgv, startCommand: startArgv.map(shellQuote).join(" "), debug: openDebugEndpoint(spec) };
}

/** What `vm.json` holds: the spec (read back by `winpe debug`) and the interactive command line. */
export interface DefinitionFile {
  spec: VmSpec;
  argv: string[];
}

/** The definition written by the last attach, or undefined when there is none (or it cannot be read). */
export function readDefinition(vmDir: string): DefinitionFile | undefined {
  try {
    const d = JSON.parse(fs.readFileSync(path.join(vmDir, DEFINITION_FILE), "utf8")) as DefinitionFile;
    return d && typeof d === "object" && d.spec && Array.isArray(d.argv) ? d : undefined;
  } catch {
    return undefined;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The VM `winpe debug` started for `vmDir` when it still runs (its pid names a QEMU of this folder). */
export function runningVm(vmDir: string): RunningVm | undefined {
  let pid: number;
  try {
    pid = Number.parseInt(fs.readFileSync(path.join(vmDir, PID_FILE), "utf8").trim(), 10);
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !pidAlive(pid)) return undefined;
  try {
    // a reused pid is not our VM: its command line must name this VM's folder
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
    if (!cmdline.includes(vmDir) || !cmdline.includes("qemu-system")) return undefined;
  } catch {
    return undefined;
  }
  let transport: RunningVm["transport"] = "none";
  try {
    transport = (JSON.parse(fs.readFileSync(path.join(vmDir, RUNNING_FILE), "utf8")) as RunningVm).transport;
  } catch {
    // started by an older winpe-lab, or the file is gone: no transport known
  }
  return { pid, transport, consoleLog: path.join(vmDir, CONSOLE_LOG) };
}

/**
 * Start the VM of `spec` in the background (QEMU `-daemonize`), the console in `console.log` of its folder.
 * `frozen`: the CPU waits at its first instruction until a debugger continues it (the gdb transport's way in).
 * The definition must exist (an `up` wrote it).
 */
export async function startVm(spec: VmSpec, opts: { frozen?: boolean; resource?: string } = {}): Promise<RunningVm> {
  if (!fs.existsSync(path.join(spec.vmDir, "vars.fd"))) {
    throw new Error(`the VM definition in ${spec.vmDir} is missing: run 'pulumi up' for the stack first`);
  }
  const pidfile = path.join(spec.vmDir, PID_FILE);
  const consoleLog = path.join(spec.vmDir, CONSOLE_LOG);
  fs.rmSync(pidfile, { force: true });
  if (spec.debug?.transport === "serial") fs.rmSync(kdSocketPath(spec.vmDir), { force: true });
  writeFileAtomic(consoleLog, "");
  const argv = qemuArgv(
    machineOf(spec),
    instanceOf(spec, {
      console: { kind: "file", path: consoleLog },
      daemonize: { pidfile },
      frozen: opts.frozen,
    }),
  );
  await runTool(qemuBinary(spec.arch), argv.slice(1), { resource: opts.resource ?? "winpe debug" });
  const pid = Number.parseInt(fs.readFileSync(pidfile, "utf8").trim(), 10);
  const transport = spec.debug?.transport ?? "none";
  writeFileAtomic(path.join(spec.vmDir, RUNNING_FILE), `${JSON.stringify({ pid, transport })}\n`);
  return { pid, transport, consoleLog };
}

/** Stop the background VM of `vmDir` (SIGTERM, then SIGKILL after 5 s); nothing when none runs. */
export async function stopVm(vmDir: string): Promise<boolean> {
  const vm = runningVm(vmDir);
  if (!vm) return false;
  try {
    process.kill(vm.pid, "SIGTERM");
  } catch {
    // gone already
  }
  for (let i = 0; i < 50 && pidAlive(vm.pid); i++) await new Promise((r) => setTimeout(r, 100));
  if (pidAlive(vm.pid)) {
    try {
      process.kill(vm.pid, "SIGKILL");
    } catch {
      // gone already
    }
  }
  fs.rmSync(path.join(vmDir, PID_FILE), { force: true });
  fs.rmSync(path.join(vmDir, RUNNING_FILE), { force: true });
  return true;
}

async function attach(
  spec: VmSpec,
  _createdVm: boolean,
  check: VmBootCheck | undefined,
  ctx: StepContext,
): Promise<VmAttachResult> {
  if (!fs.existsSync(spec.isoPath)) throw new Error(`'isoPath' ${spec.isoPath} does not exist`);
  const definition = openVmDefinition(spec); // refuses a COM1 socket path that is too long, before any write
  fs.mkdirSync(spec.vmDir, { recursive: true });
  const vars = path.join(spec.vmDir, "vars.fd");
  if (!fs.existsSync(vars)) copyFileAtomic(DEFAULT_FIRMWARE[spec.arch].vars, vars);
  const file: DefinitionFile = { spec, argv: definition.startArgv };
  writeFileAtomic(path.join(spec.vmDir, DEFINITION_FILE), `${JSON.stringify(file, null, 2)}\n`);
  let bootCheckLine = "";
  if (check) {
    const r = await bootCheck(spec.isoPath, {
      arch: spec.arch,
      memoryMiB: spec.memoryMb,
      accel: spec.accel,
      debug: spec.debug,
      timeoutSec: check.timeoutSec,
      pattern: check.pattern,
      tmpDir: spec.vmDir,
      resource: ctx.resource,
      onProgress: ctx.onProgress,
    });
    bootCheckLine = r.matchedLine.trim();
    ctx.onNotice?.(`boot check passed in ${r.seconds.toFixed(1)} s: ${bootCheckLine}`);
  }
  return { definition, createdVm: false, bootCheckLine };
}

async function status(spec: VmSpec): Promise<"attached" | "missing" | "detached"> {
  const d = readDefinition(spec.vmDir);
  if (!d) return "missing";
  // a definition written before the ISO's identity was renamed holds it as `isoSha256` (the same value)
  const recorded = d.spec.isoDigest ?? (d.spec as { isoSha256?: string }).isoSha256;
  return d.spec.isoPath === spec.isoPath && recorded === spec.isoDigest ? "attached" : "detached";
}

async function detach(spec: VmSpec, _createdVm: boolean, ctx: StepContext): Promise<void> {
  if (await stopVm(spec.vmDir)) ctx.onNotice?.(`stopped the VM ${spec.name} that winpe debug had started`);
  fs.rmSync(spec.vmDir, { recursive: true, force: true });
}

export const openVmBackend: VmBackend = {
  toolchain: "open",
  definition: openVmDefinition,
  debugEndpoint: openDebugEndpoint,
  attach,
  status,
  detach,
  commands: () => [],
};
