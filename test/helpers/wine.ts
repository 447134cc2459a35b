/**
 * Wine: an x64 Windows user space that loads kernel drivers into its winedevice.exe host. Used by the tests that
 * run our test app, which installs the driver through the service manager and sends the IOCTLs.
 *
 * `wineboot -i` makes a fresh prefix; `wineserver -w` waits until wineboot's services have shut down (a service
 * manager still busy answered StartService with 1055, database locked). The app starts the service, talks to the
 * driver and stops it in one process, so no extra wineserver is kept alive (toolchains.md's `wineserver -p` is not
 * needed, and started through runTool it kept the pipes open). Every step is guarded by `wineserver -k`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { PassThrough } from "node:stream";
import { runTool } from "../../runtime/exec";

export const WINE = ["/usr/lib/wine/wine64", "/usr/bin/wine64", "/usr/bin/wine"].find((p) => fs.existsSync(p));
export const WINESERVER = ["/usr/lib/wine/wineserver", "/usr/bin/wineserver"].find((p) => fs.existsSync(p));

/** Throw a clear error when Wine is missing (the project's set-up installs the Debian package wine64). */
export function requireWine(): { wine: string; wineserver: string } {
  if (!WINE || !WINESERVER) {
    throw new Error("Wine is not installed (no /usr/lib/wine/wine64): run 'npm run setup' (Debian package wine64)");
  }
  return { wine: WINE, wineserver: WINESERVER };
}

/** What {@link runAppUnderWine} returns. */
export interface WineRun {
  /** The app's standard output. */
  stdout: string;
  /** Its standard error: Wine's own messages (FIXME lines for stubs when `debug` enables them). */
  stderr: string;
  /** Why the run ended early (the timeout), when it did. */
  error?: string;
  /** The app's exit code; null when it was stopped (`stopWhen`, or the timeout). */
  exitCode: number | null;
}

/**
 * Run a console app from `runDir` under Wine with a fresh prefix in `prefixDir`. The prefix's processes are always
 * killed afterwards.
 *
 * @param opts.app the .exe in `runDir`; opts.args its arguments; opts.input bytes for its standard input;
 *   opts.debug WINEDEBUG channels (`fixme+all` shows which Wine functions are stubs) @default "-all";
 *   opts.stopWhen ends the app (every process of the prefix) once its output so far satisfies it, for apps that
 *   loop until a key is pressed; opts.timeoutMs ends it likewise, with what it printed until then;
 *   opts.type writes `text` to the app's standard input `afterMs` after its output first satisfies `when` (a user
 *   typing at the app's prompt), then closes it
 */
export async function runAppUnderWine(
  runDir: string,
  prefixDir: string,
  opts: {
    app: string;
    args?: string[];
    input?: string;
    debug?: string;
    resource?: string;
    timeoutMs?: number;
    stopWhen?: (stdout: string) => boolean;
    type?: { when: (stdout: string) => boolean; afterMs: number; text: string };
  },
): Promise<WineRun> {
  const { wine, wineserver } = requireWine();
  const resource = opts.resource ?? "test/wine";
  const env = {
    WINEPREFIX: prefixDir,
    WINEDEBUG: opts.debug ?? "-all",
    WINEDLLOVERRIDES: "mscoree,mshtml=",
    DISPLAY: undefined,
  };
  const kill = () =>
    runTool(wineserver, ["-k"], { env, resource, okExitCodes: [0, 1], timeoutMs: 30_000 }).catch(() => undefined);
  // a wine process that hangs keeps runTool's pipes open through its children; `wineserver -k` ends them all
  const guarded = async <T>(ms: number, p: Promise<T>): Promise<T> => {
    const timer = setTimeout(() => void kill(), ms);
    try {
      return await p;
    } finally {
      clearTimeout(timer);
    }
  };
  try {
    await guarded(180_000, runTool(wine, ["wineboot", "-i"], { env: { ...env, WINEDEBUG: "-all" }, resource }));
    await guarded(120_000, runTool(wineserver, ["-w"], { env, resource }));
    const okExitCodes = Array.from({ length: 256 }, (_, i) => i);
    let stdout = "";
    let stderr = "";
    let stopped = false;
    const stdin = opts.type ? new PassThrough() : undefined;
    let typed = false;
    const typing: NodeJS.Timeout[] = [];
    const run = runTool(wine, [opts.app, ...(opts.args ?? [])], {
      env,
      cwd: path.resolve(runDir),
      resource,
      okExitCodes,
      input: opts.input,
      stdin,
      onLine: (line, stream) => {
        if (stream === "stdout") stdout += `${line}\n`;
        else stderr += `${line}\n`;
        if (stdin && opts.type && !typed && stream === "stdout" && opts.type.when(stdout)) {
          typed = true;
          const { text, afterMs } = opts.type;
          typing.push(setTimeout(() => stdin.end(text), afterMs));
        }
        if (!stopped && stream === "stdout" && opts.stopWhen?.(stdout)) {
          stopped = true;
          void kill();
        }
      },
    });
    try {
      const r = await guarded(opts.timeoutMs ?? 120_000, run);
      return { stdout: r.stdout, stderr: r.stderr, exitCode: stopped ? null : r.exitCode };
    } catch (e) {
      // stopped on purpose (or timed out): what it printed until then
      return { stdout, stderr, exitCode: null, ...(stopped ? {} : { error: (e as Error).message }) };
    } finally {
      for (const t of typing) clearTimeout(t);
      stdin?.end();
    }
  } finally {
    await kill();
  }
}

/**
 * Run `ioctlapp.exe` in `runDir` (which also holds `sioctl.sys`) under Wine with a fresh prefix in `prefixDir`;
 * returns the app's standard output. The prefix's processes are always killed afterwards.
 */
export async function runIoctlAppUnderWine(runDir: string, prefixDir: string, resource = "test/wine"): Promise<string> {
  return (await runAppUnderWine(runDir, prefixDir, { app: "ioctlapp.exe", resource })).stdout;
}
