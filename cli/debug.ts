/**
 * `winpe debug --stack <name> [-c "<commands>"]... [--batch] [--timeout <sec>] [--cwd <project folder>]`
 * `winpe debug --stack <name> --stop`
 *
 * Kernel debugging of a stack's VM from this host (open toolchain): reads the stack output `debugTarget`
 * (`pulumi stack output debugTarget --json --show-secrets`; in a checkout through scripts/pulumi.sh, which knows the
 * demo stacks' passphrase), starts the stack's VM in the background when it is not running (the VM definition an
 * `up` wrote; with the gdb transport frozen until the debugger continues it), and attaches ntoseye with the stack's
 * transport, its KDNET key (through a pipe, never on a command line), the build folder on the symbol path and the
 * project folder as the source path. `--stop` stops the VM it started.
 *
 * Exit codes: ntoseye's (0 when it ended cleanly), 1 for a stack that cannot be debugged (one line saying why),
 * 2 for bad usage.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { DebugTarget } from "../resources/program";
import { WinpeError } from "../runtime/errors";
import { runTool, ToolError } from "../runtime/exec";
import { DebuggerMissingError, findNtoseye, runNtoseye } from "../toolchains/open/debugger";
import { readDefinition, runningVm, startVm, stopVm } from "../toolchains/open/vm";

const USAGE =
  'usage: winpe debug --stack <name> [-c "bp sioctl!DriverEntry; g"]... [--batch] [--timeout <sec>] [--cwd <project folder>] | --stop';

/** A stack that cannot be debugged: one line saying why and what to do. */
export class DebugError extends WinpeError {
  constructor(message: string) {
    super(message);
    this.name = "DebugError";
  }
}

/** Read the stack output `debugTarget` ("" when the stack has no debug transport). */
export async function readDebugTarget(stack: string, cwd: string): Promise<DebugTarget | ""> {
  const viaScript = fs.existsSync(path.join(cwd, "scripts", "pulumi.sh"));
  const [tool, args] = viaScript ? ["bash", [path.join("scripts", "pulumi.sh")]] : ["pulumi", [] as string[]];
  let out: string;
  try {
    const r = await runTool(tool, [...args, "stack", "output", "--json", "--show-secrets", "--stack", stack], {
      cwd,
      resource: "winpe debug",
    });
    out = r.stdout;
  } catch (e) {
    const why = e instanceof ToolError ? (e.stderr.trim().split("\n").pop() ?? e.message) : (e as Error).message;
    throw new DebugError(`cannot read the outputs of stack '${stack}' (run 'pulumi up' for it first): ${why}`);
  }
  let outputs: Record<string, unknown>;
  try {
    outputs = JSON.parse(out) as Record<string, unknown>;
  } catch {
    throw new DebugError(`the outputs of stack '${stack}' are not JSON: run 'pulumi up' for it first`);
  }
  if (!("debugTarget" in outputs)) {
    throw new DebugError(`stack '${stack}' has no outputs of winpe-lab's program: run 'pulumi up' for it first`);
  }
  const t = outputs.debugTarget;
  return typeof t === "object" && t !== null ? (t as DebugTarget) : "";
}

/** Everything checked before anything starts: the reasons a debug session cannot begin, as one line each. */
export function checkTarget(stack: string, t: DebugTarget | ""): DebugTarget {
  if (t === "") {
    throw new DebugError(
      `stack '${stack}' has no debug settings: set winpe-lab:debug.transport (net, serial or gdb) and run 'pulumi up'`,
    );
  }
  if (t.toolchain !== "open") {
    throw new DebugError(
      `stack '${stack}' uses the adk toolchain: debug its Hyper-V VM with WinDbg on Windows (the stack output 'debuggerCommand')`,
    );
  }
  if (t.transport === "gdb" && t.accel !== "kvm") {
    throw new DebugError(
      `stack '${stack}': ntoseye's gdb backend reads the guest's memory from a KVM VM process, and this VM runs without KVM (winpe-lab:vm.accel tcg): set winpe-lab:vm.accel to kvm on a host whose KVM works, or use the serial or net transport`,
    );
  }
  return t;
}

interface Parsed {
  stack?: string;
  commands: string[];
  batch: boolean;
  stop: boolean;
  timeoutSec?: number;
  cwd: string;
}

function parseArgs(args: string[]): Parsed | string {
  const p: Parsed = { commands: [], batch: false, stop: false, cwd: process.cwd() };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const value = () => {
      const v = args[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    try {
      if (a === "--stack" || a === "-s") p.stack = value();
      else if (a === "-c" || a === "--command") p.commands.push(value());
      else if (a === "--batch") p.batch = true;
      else if (a === "--stop") p.stop = true;
      else if (a === "--cwd") p.cwd = path.resolve(value());
      else if (a === "--timeout") {
        const v = value();
        if (!/^\d+$/.test(v) || Number(v) < 1) return `--timeout must be a whole number of seconds (got '${v}')`;
        p.timeoutSec = Number(v);
      } else return `unknown option '${a}'`;
    } catch (e) {
      return (e as Error).message;
    }
  }
  if (!p.stack) return "--stack <name> is required";
  return p;
}

/** Run the subcommand; returns the exit code. */
export async function run(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  const p = parseArgs(args);
  if (typeof p === "string") {
    console.error(`winpe debug: ${p}\n${USAGE}`);
    return 2;
  }
  const stack = p.stack!;
  try {
    const target = checkTarget(stack, await readDebugTarget(stack, p.cwd));
    if (p.stop) {
      const stopped = await stopVm(target.vmDir);
      console.log(stopped ? `stopped the VM ${target.vmName}` : `the VM ${target.vmName} is not running`);
      return 0;
    }
    // the debugger first: nothing is started when it is missing
    const install = findNtoseye(p.cwd);
    const def = readDefinition(target.vmDir);
    if (!def) {
      throw new DebugError(`the VM definition of stack '${stack}' (${target.vmDir}) is missing: run 'pulumi up'`);
    }
    if ((def.spec.debug?.transport ?? "none") !== target.transport) {
      throw new DebugError(
        `the VM definition of stack '${stack}' is for transport ${def.spec.debug?.transport ?? "none"}, the stack says ${target.transport}: run 'pulumi up'`,
      );
    }
    const running = runningVm(target.vmDir);
    if (running && running.transport !== target.transport) {
      throw new DebugError(
        `the VM ${target.vmName} is already running (pid ${running.pid}) on transport ${running.transport}, and stack '${stack}' now uses ${target.transport}: stop it first (winpe debug --stack ${stack} --stop)`,
      );
    }
    if (!running) {
      const vm = await startVm(def.spec, { frozen: target.transport === "gdb" });
      console.error(
        `winpe debug: started the VM ${target.vmName} (pid ${vm.pid}, ${target.transport}${target.transport === "gdb" ? ", frozen until the debugger continues it" : ""}); console: ${vm.consoleLog}`,
      );
    } else {
      console.error(`winpe debug: the VM ${target.vmName} is running (pid ${running.pid}, ${running.transport})`);
    }
    const r = await runNtoseye(
      install,
      {
        transport: target.transport,
        connect: target.connect,
        key: target.key,
        symbolPath: target.symbolPath,
        sourcePath: target.sourcePath,
        commands: p.commands,
        batch: p.batch,
        handshakeTimeoutSec: p.timeoutSec,
      },
      { onLine: p.batch ? (line) => console.log(line) : undefined },
    );
    return r.exitCode;
  } catch (e) {
    if (e instanceof DebugError || e instanceof DebuggerMissingError) {
      console.error(`winpe debug: ${e.message}`);
      return 1;
    }
    throw e;
  }
}
