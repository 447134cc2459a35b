/**
 * The kernel debugger of the open toolchain: ntoseye (PyPI, MIT), a WinDbg-like Windows kernel debugger for Linux,
 * installed by scripts/setup.sh into the project's own Python environment (`.tools/ntoseye`, pinned to
 * {@link NTOSEYE_VERSION}).
 *
 * ntoseye 0.52.0 takes the KDNET key only as `--kdnet-key <key>` on its command line, which any user of the host can
 * read in a process listing. So it is never started that way: a small launcher (Python, run by ntoseye's own
 * interpreter) reads the key from a pipe at fd 3 and calls ntoseye's entry point (`ntoseye._ntoseye._cli_main`,
 * which parses `sys.argv`) with the key added to `sys.argv` inside the process: the key is in no argv, no
 * environment, no file, no log.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { WinpeError } from "../../runtime/errors";
import { type RunResult, runTool } from "../../runtime/exec";
import { packageRoot } from "../../runtime/paths";
import type { DebugTransport } from "../types";

/** The ntoseye release scripts/setup.sh installs. */
export const NTOSEYE_VERSION = "0.52.0";

/** ntoseye could not be found. */
export class DebuggerMissingError extends WinpeError {
  constructor(message: string) {
    super(message);
    this.name = "DebuggerMissingError";
  }
}

/** The ntoseye installation: the Python interpreter of its environment and its console script. */
export interface NtoseyeInstall {
  python: string;
  script: string;
}

function interpreterOf(script: string): string | undefined {
  try {
    const first = fs.readFileSync(script, "utf8").split("\n", 1)[0] ?? "";
    const m = /^#!\s*(\S+)\s*$/.exec(first);
    return m && fs.existsSync(m[1]!) ? m[1] : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Find ntoseye: `$WINPE_NTOSEYE` (its console script), `.tools/ntoseye/bin/ntoseye` (scripts/setup.sh) of the
 * project folder and of winpe-lab's own folder (a checkout), then `ntoseye` on PATH. The interpreter is the script's
 * `#!` line (its virtual environment's Python).
 *
 * @param root - the project folder
 * @throws DebuggerMissingError with what to do
 */
export function findNtoseye(root: string, env: NodeJS.ProcessEnv = process.env): NtoseyeInstall {
  const candidates: string[] = [];
  if (env.WINPE_NTOSEYE) candidates.push(env.WINPE_NTOSEYE);
  else {
    for (const r of new Set([root, packageRoot()]))
      candidates.push(path.join(r, ".tools", "ntoseye", "bin", "ntoseye"));
    for (const dir of (env.PATH ?? "").split(path.delimiter)) if (dir) candidates.push(path.join(dir, "ntoseye"));
  }
  for (const script of candidates) {
    if (!fs.existsSync(script)) continue;
    const python = interpreterOf(script);
    if (python) return { python, script };
  }
  throw new DebuggerMissingError(
    env.WINPE_NTOSEYE
      ? `ntoseye was not found at WINPE_NTOSEYE=${env.WINPE_NTOSEYE} (a console script of a Python environment with ntoseye ${NTOSEYE_VERSION})`
      : `ntoseye is not installed: run 'npm run setup' (it installs ntoseye ${NTOSEYE_VERSION} into .tools/ntoseye), or put ntoseye on PATH`,
  );
}

/**
 * The launcher: reads the KDNET key (when one is sent) from fd 3, puts `--kdnet-key <key>` into `sys.argv` after the
 * program name, and runs ntoseye's command-line entry point in this process.
 */
export const LAUNCHER = [
  "import os, sys",
  "argv = ['ntoseye'] + sys.argv[1:]",
  "if os.environ.pop('WINPE_KEY_ON_FD3', '') == '1':",
  "    key = b''",
  "    while True:",
  "        chunk = os.read(3, 256)",
  "        if not chunk: break",
  "        key += chunk",
  "    os.close(3)",
  "    argv[1:1] = ['--kdnet-key', key.decode().strip()]",
  "sys.argv = argv",
  "from ntoseye._ntoseye import _cli_main",
  "sys.exit(_cli_main())",
].join("\n");

/** One debugger session. */
export interface DebugSession {
  transport: DebugTransport;
  /** The KD socket, the KDNET listen address, or the gdbstub address. */
  connect: string;
  /** The KDNET key (net). Never put on a command line. */
  key?: string;
  /** Folders with the build's PDBs (`--sympath-append`). */
  symbolPath: string[];
  /** The project folder (`--srcpath`). */
  sourcePath?: string;
  /** Debugger commands run after attaching (`-c`, each a `;`-separated list). */
  commands: string[];
  /** Quit after the commands (`--batch`). */
  batch: boolean;
  /** kd/kdnet: seconds to wait for the first handshake (`--kd-handshake-timeout`). */
  handshakeTimeoutSec?: number;
}

/** ntoseye's arguments for a session (without the key, which the launcher adds). */
export function ntoseyeArgs(s: DebugSession): string[] {
  const backend = s.transport === "net" ? "kdnet" : s.transport === "serial" ? "kd" : "gdb";
  const args = ["--backend", backend, "--connect", s.connect];
  for (const d of s.symbolPath) args.push("--sympath-append", d);
  if (s.sourcePath) args.push("--srcpath", s.sourcePath);
  if (s.handshakeTimeoutSec !== undefined && s.transport !== "gdb")
    args.push("--kd-handshake-timeout", String(s.handshakeTimeoutSec));
  for (const c of s.commands) args.push("-c", c);
  if (s.batch) args.push("--batch");
  return args;
}

/**
 * Run ntoseye for a session: interactive (the terminal is the debugger's) or `batch` (output captured, each line
 * passed to `onLine` with the key redacted). Resolves with ntoseye's exit code and, in batch mode, its output.
 */
export async function runNtoseye(
  install: NtoseyeInstall,
  s: DebugSession,
  opts: { resource?: string; onLine?: (line: string) => void; timeoutMs?: number } = {},
): Promise<{ exitCode: number; output: string }> {
  if (s.transport === "net" && !s.key) throw new Error("the net transport needs the KDNET key");
  const secrets = s.key ? [s.key] : [];
  let r: RunResult;
  try {
    r = await runTool(install.python, ["-c", LAUNCHER, ...ntoseyeArgs(s)], {
      resource: opts.resource ?? "winpe debug",
      env: { WINPE_KEY_ON_FD3: s.key ? "1" : undefined },
      fd3Input: s.key ? `${s.key}\n` : undefined,
      secrets,
      inheritStdio: !s.batch,
      okExitCodes: Array.from({ length: 256 }, (_, i) => i),
      timeoutMs: opts.timeoutMs,
      onLine: opts.onLine,
    });
  } catch (e) {
    throw new Error(`ntoseye could not run: ${(e as Error).message.split("\n")[0]}`);
  }
  return { exitCode: r.exitCode, output: `${r.stdout}${r.stderr}` };
}
