/**
 * Boot check: boot an ISO in QEMU (OVMF for amd64, AAVMF for arm64; TCG is fine), with Secure Boot off, watch the
 * serial console and resolve as soon as a line matches (by default the stand-in EFI application's marker). QEMU is always killed and the temporary folder (firmware variables copy, serial log)
 * always removed: on success, failure, timeout, and when the parent gets SIGINT/SIGTERM or exits.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { runTool, ToolError } from "../../runtime/exec";
import { scratchDir } from "../../runtime/scratch";
import type { VmDebugTarget } from "../types";
import { standinMarker } from "./efi-app";
import { ARCH_INFO, type Arch, assertArch, MediaError } from "./media";
import { DEFAULT_FIRMWARE, type FirmwarePaths, kdSocketPath, qemuArgv } from "./qemu";

export { DEFAULT_FIRMWARE, type FirmwarePaths, qemuOptionValue } from "./qemu";

const FIRMWARE_PACKAGE: Record<Arch, string> = { amd64: "ovmf", arm64: "qemu-efi-aarch64" };

/** Options of {@link bootCheck}. */
export interface BootCheckOptions {
  /** Architecture of the media: amd64 boots `qemu-system-x86_64 -machine q35`, arm64 `qemu-system-aarch64 -M virt`. */
  arch: Arch;
  /** Give up (and kill QEMU) after this many seconds without a matching console line. @default 60 */
  timeoutSec?: number;
  /**
   * What to wait for on the serial console, matched against each line (escape sequences removed). A string is
   * a regular expression.
   * @default the stand-in's marker, `WINPE-LAB STAND-IN BOOT OK arch=<arch>`
   */
  pattern?: string | RegExp;
  /** Each console line as it arrives, and QEMU's own messages (prefixed `qemu: `). */
  onProgress?: (line: string) => void;
  /** Guest memory in MiB. @default 512 (amd64), 1024 (arm64) */
  memoryMiB?: number;
  /** Firmware code and variables template. @default {@link DEFAULT_FIRMWARE} for the architecture */
  firmware?: FirmwarePaths;
  /** Parent of the temporary folder (firmware variables, serial log). @default os.tmpdir() */
  tmpDir?: string;
  /** Name recorded in the tool log. @default "boot" */
  resource?: string;
  /**
   * The VM's debug transport (the VM definition's, toolchains/open/qemu.ts): the boot check boots the same VM, its
   * console moved off the debug port (serial: COM1 is the debugger's socket, the console is on COM2), its COM1
   * socket in the temporary folder and its gdbstub on a free loopback port. @default none
   */
  debug?: VmDebugTarget;
  /** QEMU's accelerator. @default "tcg" */
  accel?: "tcg" | "kvm";
}

/** A successful boot check. */
export interface BootCheckResult {
  /** The console line that matched. */
  matchedLine: string;
  /** Seconds from starting QEMU to the match. */
  seconds: number;
  /** The last console lines (up to 20). */
  consoleTail: string[];
}

/** The boot check did not see its pattern; `consoleTail` holds the last console lines. */
export class BootCheckError extends MediaError {
  constructor(
    message: string,
    readonly consoleTail: string[],
  ) {
    super(message);
    this.name = "BootCheckError";
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Remove terminal escape sequences and control characters the firmware writes around its text. */
function cleanConsole(line: string): string {
  return line
    .replace(/\x1b\[[0-9;?=]*[A-Za-z]/g, "")
    .replace(/\x1b[()][A-Za-z0-9]/g, "")
    .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, "")
    .trimEnd();
}

/** Whether `file` is an ISO 9660 image: a volume descriptor (`CD001`) at byte 0x8001 (ECMA-119, 8.1). */
function isIso9660(file: string): boolean {
  const fd = fs.openSync(file, "r");
  try {
    const b = Buffer.alloc(5);
    return fs.readSync(fd, b, 0, 5, 0x8001) === 5 && b.toString("latin1") === "CD001";
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Boot `isoPath` in QEMU and wait until a serial console line matches `pattern` (by default the stand-in
 * EFI application's marker for `arch`).
 *
 * amd64: `qemu-system-x86_64 -machine q35 -m 512` with OVMF_CODE_4M.fd and a temporary copy of OVMF_VARS_4M.fd;
 * arm64: `qemu-system-aarch64 -M virt -cpu max -m 1024` with AAVMF_CODE.fd and a copy of AAVMF_VARS.fd. Both run
 * with `-display none -monitor none -no-reboot`, the console in a log file, Secure Boot off: the command line of
 * the VM definition (toolchains/open/qemu.ts), whose debug transport `opts.debug` adds.
 *
 * Resolves as soon as the line appears (QEMU is then killed, unless it already powered off). Rejects with a
 * {@link BootCheckError} carrying the last console lines when `timeoutSec` passes or QEMU exits first, and with a
 * {@link MediaError} for bad input (checked before QEMU starts). QEMU is always killed and the temporary folder
 * removed, also on SIGINT/SIGTERM of this process.
 *
 * @param isoPath the ISO to boot (read-only: QEMU sees it as a CD-ROM).
 */
export async function bootCheck(isoPath: string, opts: BootCheckOptions): Promise<BootCheckResult> {
  // ---- validate everything before starting anything
  assertArch(opts?.arch, "arch");
  const arch = opts.arch;
  const info = ARCH_INFO[arch];
  const timeoutSec = opts.timeoutSec ?? 60;
  if (typeof timeoutSec !== "number" || !Number.isFinite(timeoutSec) || timeoutSec <= 0 || timeoutSec > 86400) {
    throw new MediaError(`'timeoutSec' must be a number of seconds between 0 and 86400 (got ${String(timeoutSec)})`);
  }
  let pattern: RegExp;
  if (opts.pattern === undefined) pattern = new RegExp(escapeRegExp(standinMarker(arch)));
  else if (opts.pattern instanceof RegExp)
    pattern = new RegExp(opts.pattern.source, opts.pattern.flags.replace(/[gy]/g, ""));
  else {
    try {
      pattern = new RegExp(opts.pattern);
    } catch (e) {
      throw new MediaError(`'pattern' is not a valid regular expression: ${(e as Error).message}`);
    }
  }
  if (typeof isoPath !== "string" || isoPath === "") throw new MediaError("'isoPath' must name an ISO file");
  const iso = path.resolve(isoPath);
  if (!fs.existsSync(iso) || !fs.statSync(iso).isFile())
    throw new MediaError(`'isoPath' ${iso} is not an existing file`);
  if (!isIso9660(iso))
    throw new MediaError(
      `'isoPath' ${iso} is not an ISO 9660 image (no CD001 volume descriptor at sector 16): make one with winpe makemedia`,
    );
  const fw = opts.firmware ?? DEFAULT_FIRMWARE[arch];
  for (const [label, f] of [
    ["firmware.code", fw.code],
    ["firmware.vars", fw.vars],
  ] as const) {
    if (!fs.existsSync(f)) {
      throw new MediaError(
        `'${label}' ${f} does not exist: install the Debian package ${FIRMWARE_PACKAGE[arch]} (npm run setup)`,
      );
    }
    if (/\.ms\.fd$|secboot|snakeoil/.test(f)) {
      throw new MediaError(`'${label}' ${f} enforces Secure Boot; WinPE test media need it off: use the plain build`);
    }
  }
  const memory = opts.memoryMiB ?? (arch === "amd64" ? 512 : 1024);
  if (!Number.isInteger(memory) || memory < 64 || memory > 65536) {
    throw new MediaError(`'memoryMiB' must be a whole number of MiB between 64 and 65536 (got ${memory})`);
  }
  const tmpParent = path.resolve(opts.tmpDir ?? os.tmpdir());
  if (!fs.existsSync(tmpParent) || !fs.statSync(tmpParent).isDirectory()) {
    throw new MediaError(`'tmpDir' ${tmpParent} is not an existing folder`);
  }
  const resource = opts.resource ?? "boot";
  const say = (line: string) => opts.onProgress?.(line);

  // ---- temporary folder: vars copy, serial log, a comma-free link to the ISO
  const tmp = scratchDir("boot", tmpParent);
  const abort = new AbortController();
  const removeTmp = () => fs.rmSync(tmp, { recursive: true, force: true });
  const emergency = (sig?: NodeJS.Signals) => {
    abort.abort(); // kills QEMU synchronously (SIGKILL)
    removeTmp();
    detach();
    // re-raise when nobody else handles it, so the process still ends as the signal asks
    if (sig && process.listenerCount(sig) === 0) process.kill(process.pid, sig);
  };
  const onSigint = () => emergency("SIGINT");
  const onSigterm = () => emergency("SIGTERM");
  const onExit = () => emergency();
  const detach = () => {
    process.removeListener("SIGINT", onSigint);
    process.removeListener("SIGTERM", onSigterm);
    process.removeListener("exit", onExit);
  };
  process.once("SIGINT", onSigint);
  process.once("SIGTERM", onSigterm);
  process.once("exit", onExit);

  let qemu: Promise<unknown> | undefined;
  let fd: number | undefined;
  try {
    const vars = path.join(tmp, "vars.fd");
    fs.copyFileSync(fw.vars, vars);
    fs.chmodSync(vars, 0o600);
    const log = path.join(tmp, "serial.log");
    fs.writeFileSync(log, "");
    const debug = opts.debug;
    const gdbPort = debug?.transport === "gdb" ? await freeLoopbackPort() : undefined;
    const argv = qemuArgv(
      { arch, memoryMb: memory, isoPath: iso, accel: opts.accel ?? "tcg", debug, firmware: fw },
      {
        vars,
        console: { kind: "file", path: log },
        kdSocket: debug?.transport === "serial" ? kdSocketPath(tmp) : undefined,
        gdbPort,
        noReboot: true,
      },
    ).slice(1);

    // ---- console watcher
    const lines: string[] = [];
    let offset = 0;
    let pending = "";
    let matched: string | undefined;
    fd = fs.openSync(log, "r");
    const buf = Buffer.alloc(64 * 1024);
    const readNew = () => {
      for (;;) {
        const n = fs.readSync(fd!, buf, 0, buf.length, offset);
        if (n <= 0) break;
        offset += n;
        const parts = (pending + buf.toString("latin1", 0, n)).split(/\r?\n|\r/);
        pending = parts.pop() ?? "";
        for (const raw of parts) {
          const line = cleanConsole(raw);
          if (line === "") continue;
          lines.push(line);
          if (lines.length > 200) lines.shift();
          say(line);
          if (matched === undefined && pattern.test(line)) matched = line;
        }
      }
      const partial = cleanConsole(pending);
      if (matched === undefined && partial !== "" && pattern.test(partial)) matched = partial;
    };
    const tail = () => {
      const t = lines.slice(-20);
      const partial = cleanConsole(pending);
      if (partial !== "") t.push(partial);
      return t;
    };

    const started = Date.now();
    say(`boot: ${info.qemu} (${arch}) booting ${iso}, waiting up to ${timeoutSec} s for /${pattern.source}/`);
    let exitInfo: { error?: unknown } | undefined;
    qemu = runTool(info.qemu, argv, {
      resource,
      signal: abort.signal,
      timeoutMs: Math.ceil(timeoutSec * 1000) + 30_000, // backstop; the watcher below decides first
      onLine: (line) => say(`qemu: ${line}`),
    }).then(
      () => {
        exitInfo = {};
      },
      (error: unknown) => {
        exitInfo = { error };
      },
    );
    const outcome = await new Promise<"matched" | "timeout" | "exited">((resolve) => {
      const finish = (o: "matched" | "timeout" | "exited") => {
        clearInterval(poll);
        clearTimeout(deadline);
        resolve(o);
      };
      const poll = setInterval(() => {
        readNew();
        if (matched !== undefined) finish("matched");
      }, 200);
      const deadline = setTimeout(() => {
        readNew();
        finish(matched !== undefined ? "matched" : "timeout");
      }, timeoutSec * 1000);
      void qemu!.then(() => {
        readNew();
        finish(matched !== undefined ? "matched" : "exited");
      });
    });
    const seconds = Math.round((Date.now() - started) / 100) / 10;
    if (outcome === "matched") {
      say(`boot: matched after ${seconds} s: ${matched}`);
      return { matchedLine: matched!, seconds, consoleTail: tail() };
    }
    const shown = tail();
    const consoleText =
      shown.length > 0 ? `; last console lines:\n  ${shown.join("\n  ")}` : "; the serial console stayed empty";
    if (outcome === "timeout") {
      throw new BootCheckError(
        `boot check of ${iso} (${arch}) timed out after ${timeoutSec} s without a console line matching /${pattern.source}/${consoleText}`,
        shown,
      );
    }
    const err = exitInfo?.error;
    if (err instanceof ToolError && err.exitCode === null) throw err; // QEMU could not start (not installed)
    const why =
      err instanceof ToolError && err.stderr.trim() !== ""
        ? `${err.message.split("\n")[0]} ${err.stderr.trim().split("\n").slice(-3).join(" | ")}`
        : err instanceof Error
          ? err.message.split("\n")[0]
          : "QEMU powered off";
    throw new BootCheckError(
      `boot check of ${iso} (${arch}): QEMU ended after ${seconds} s (${why}) without a console line matching /${pattern.source}/${consoleText}`,
      shown,
    );
  } finally {
    abort.abort();
    if (qemu) await qemu; // never rejects (handled above); waits until QEMU is really gone
    if (fd !== undefined) fs.closeSync(fd);
    removeTmp();
    detach();
  }
}

/** A TCP port on 127.0.0.1 that is free now (the kernel picks it). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const a = srv.address();
      const port = typeof a === "object" && a ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
