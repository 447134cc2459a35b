/**
 * The one place that starts external tools.
 *
 * Every tool runs with an argv array through `child_process.spawn` (never a shell), and every run is
 * recorded as one JSON line in the file named by `WINPE_TOOL_LOG` (when set): tool, argv, cwd, exit code,
 * duration, resource. Secrets passed in `secrets` are redacted from the log and from error messages.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Readable } from "node:stream";
import { WinpeError } from "./errors";

export interface RunOptions {
  /** Working directory of the tool. @default process.cwd() */
  cwd?: string;
  /** Extra environment variables, merged over `process.env`. */
  env?: Record<string, string | undefined>;
  /** Name of the resource (or command) on whose behalf the tool runs; recorded in the tool log. */
  resource?: string;
  /** Bytes written to the tool's standard input. */
  input?: string | Buffer;
  /** A stream piped to the tool's standard input instead (for input written while the tool runs). */
  stdin?: Readable;
  /** Kill the tool (SIGKILL) after this many milliseconds. @default no limit */
  timeoutMs?: number;
  /** Exit codes that count as success. @default [0] */
  okExitCodes?: number[];
  /** Strings that must never appear in logs or errors (keys, passphrases); replaced by `[secret]`. */
  secrets?: string[];
  /** Called for each complete line the tool prints (progress reporting). */
  onLine?: (line: string, stream: "stdout" | "stderr") => void;
  /** Keep stdout as a Buffer (binary output). @default false */
  binaryStdout?: boolean;
  /**
   * Stop the tool early: when the signal aborts, the tool is killed (SIGKILL) and the run rejects with a
   * {@link ToolError} saying it was aborted (the tool-log line is still written).
   */
  signal?: AbortSignal;
  /** Give the tool this process's terminal (stdin, stdout, stderr: an interactive program); nothing is captured. */
  inheritStdio?: boolean;
  /**
   * Bytes written to a pipe at the tool's fd 3, which is then closed: how a secret reaches a tool without its
   * argv (world-readable in a process listing) or its environment.
   */
  fd3Input?: string | Buffer;
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stdoutBuffer: Buffer;
  stderr: string;
  durationMs: number;
}

/** Raised when a tool cannot be started or exits with a code that is not accepted. */
export class ToolError extends WinpeError {
  constructor(
    message: string,
    readonly tool: string,
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(message);
    this.name = "ToolError";
  }
}

/** Debian package that provides a tool, for the "not found" hint. */
const TOOL_PACKAGES: Record<string, string> = {
  "wimlib-imagex": "wimtools",
  xorriso: "xorriso",
  mcopy: "mtools",
  mmd: "mtools",
  mdir: "mtools",
  "mkfs.fat": "dosfstools",
  hivexget: "libhivex-bin",
  hivexsh: "libhivex-bin",
  reglookup: "reglookup",
  "qemu-system-x86_64": "qemu-system-x86",
  "qemu-system-aarch64": "qemu-system-arm",
  clang: "clang",
  "lld-link": "lld",
  "llvm-readobj": "llvm",
  "llvm-dlltool": "llvm",
  "llvm-rc": "llvm",
  "llvm-lib": "llvm",
  "llvm-nm": "llvm",
  "llvm-objdump": "llvm",
  osslsigncode: "osslsigncode",
  openssl: "openssl",
  fusermount3: "fuse3",
  wine64: "wine64",
  wine: "wine64",
};

export function redact(text: string, secrets: readonly string[] | undefined): string {
  if (!secrets) return text;
  let out = text;
  for (const s of secrets) {
    if (s.length > 0) out = out.split(s).join("[secret]");
  }
  return out;
}

/** Append one JSON line to `WINPE_TOOL_LOG` (when set). Never throws. */
export function recordToolRun(entry: {
  tool: string;
  argv: string[];
  cwd: string;
  exitCode: number | null;
  durationMs: number;
  resource?: string;
  error?: string;
}): void {
  const file = process.env.WINPE_TOOL_LOG;
  if (!file) return;
  const line = `${JSON.stringify({
    tool: entry.tool,
    argv: entry.argv,
    cwd: entry.cwd,
    exitCode: entry.exitCode,
    durationMs: Math.round(entry.durationMs),
    resource: entry.resource ?? null,
    pid: process.pid,
    ...(entry.error ? { error: entry.error } : {}),
  })}\n`;
  try {
    // O_APPEND writes of one small line are atomic enough between processes on a local disk.
    fs.appendFileSync(file, line);
  } catch {
    // the log is a diagnostic aid; failing to write it must not fail the run
  }
}

function lastLines(text: string, n: number): string {
  const lines = text.trimEnd().split(/\r?\n/);
  return lines.slice(-n).join("\n");
}

/**
 * Run `tool` with `argv` (no shell). Resolves with the output when the exit code is accepted, otherwise
 * rejects with a {@link ToolError} whose message names the tool, the exit code and the last lines of stderr.
 */
export function runTool(tool: string, argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  if (!Array.isArray(argv)) throw new TypeError("runTool: argv must be an array");
  const cwd = opts.cwd ?? process.cwd();
  const okCodes = opts.okExitCodes ?? [0];
  const secrets = opts.secrets ?? [];
  const loggedArgv = argv.map((a) => redact(a, secrets));
  const started = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - started) / 1e6;

  return new Promise<RunResult>((resolve, reject) => {
    const env = { ...process.env, ...opts.env };
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(tool, [...argv], {
        cwd,
        env: env as NodeJS.ProcessEnv,
        stdio: [
          ...((opts.inheritStdio ? ["inherit", "inherit", "inherit"] : ["pipe", "pipe", "pipe"]) as Array<
            "inherit" | "pipe"
          >),
          ...(opts.fd3Input !== undefined ? (["pipe"] as const) : []),
        ],
        shell: false,
        windowsHide: true,
      });
    } catch (e) {
      const msg = `could not start '${tool}': ${(e as Error).message}`;
      recordToolRun({
        tool,
        argv: loggedArgv,
        cwd,
        exitCode: null,
        durationMs: elapsed(),
        resource: opts.resource,
        error: msg,
      });
      reject(new ToolError(msg, tool, null, ""));
      return;
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let errBytes = 0;
    const pending: Record<"stdout" | "stderr", string> = { stdout: "", stderr: "" };
    const feed = (stream: "stdout" | "stderr", chunk: Buffer) => {
      if (!opts.onLine) return;
      const text = pending[stream] + chunk.toString("utf8");
      const parts = text.split(/\r?\n|\r/);
      pending[stream] = parts.pop() ?? "";
      for (const p of parts) if (p.length > 0) opts.onLine(redact(p, secrets), stream);
    };
    child.stdout?.on("data", (c: Buffer) => {
      out.push(c);
      if (!opts.binaryStdout) feed("stdout", c);
    });
    child.stderr?.on("data", (c: Buffer) => {
      // keep at most 1 MiB of stderr
      if (errBytes < 1 << 20) {
        err.push(c);
        errBytes += c.length;
      }
      feed("stderr", c);
    });
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    let aborted = false;
    const onAbort = () => {
      aborted = true;
      child.kill("SIGKILL");
    };
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener("abort", onAbort, { once: true });
    if (opts.timeoutMs) {
      timer = setTimeout(() => {
        timedOut = true;
        child.kill("SIGKILL");
      }, opts.timeoutMs);
    }
    child.on("error", (e: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
      const pkg = TOOL_PACKAGES[path.basename(tool)];
      const msg =
        e.code === "ENOENT"
          ? `'${tool}' was not found on PATH${pkg ? ` (Debian package ${pkg})` : ""}: run 'npm run setup' to install the open toolchain`
          : `could not start '${tool}': ${e.message}`;
      recordToolRun({
        tool,
        argv: loggedArgv,
        cwd,
        exitCode: null,
        durationMs: elapsed(),
        resource: opts.resource,
        error: msg,
      });
      reject(new ToolError(msg, tool, null, ""));
    });
    child.on("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
      const exitCode = code ?? (signal ? 128 : -1);
      const stdoutBuffer = Buffer.concat(out);
      const stderr = redact(Buffer.concat(err).toString("utf8"), secrets);
      const durationMs = elapsed();
      recordToolRun({ tool, argv: loggedArgv, cwd, exitCode, durationMs, resource: opts.resource });
      if (okCodes.includes(exitCode) && !timedOut && !aborted) {
        resolve({
          exitCode,
          stdout: opts.binaryStdout ? "" : redact(stdoutBuffer.toString("utf8"), secrets),
          stdoutBuffer,
          stderr,
          durationMs,
        });
      } else {
        const why = timedOut
          ? `timed out after ${opts.timeoutMs} ms`
          : aborted
            ? "was aborted"
            : signal
              ? `was killed by ${signal}`
              : `exited with code ${exitCode}`;
        const detail = lastLines(stderr || redact(stdoutBuffer.toString("utf8"), secrets), 8);
        reject(new ToolError(`'${path.basename(tool)}' ${why}${detail ? `:\n${detail}` : ""}`, tool, exitCode, stderr));
      }
    });
    if (opts.fd3Input !== undefined) {
      const fd3 = child.stdio[3] as NodeJS.WritableStream | null | undefined;
      fd3?.on("error", () => undefined); // the tool may close it first
      fd3?.end(opts.fd3Input);
    }
    if (opts.stdin !== undefined && child.stdin) {
      child.stdin.on("error", () => undefined); // the tool may exit before reading it all
      opts.stdin.pipe(child.stdin);
    } else if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}
