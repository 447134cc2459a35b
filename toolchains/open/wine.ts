/**
 * Wine (Debian's wine64): an x64 Windows user space that loads kernel drivers into its winedevice.exe host, so a
 * test app that installs its driver through the service manager (examples/ioctl's ioctlapp, Microsoft's ioctlapp)
 * runs here as it runs in WinPE. Used by the driver test's pre-flight (toolchains/open/driver-test.ts).
 *
 * - A prefix is made once (`wineboot -i`, then `wineserver -w`: it waits until wineboot's services have shut
 *   down; a service manager still busy answered StartService with 1055, database locked) and marked ready; it is
 *   reused by later runs and removed with the stack.
 * - The app starts the service, talks to the driver and stops it in one process, so no extra wineserver is kept
 *   alive. Output is read through runTool's pipes; every step is guarded by `wineserver -k`, which ends every
 *   process of the prefix (a hung app's children would otherwise keep the pipes open).
 * - No desktop integration: winemenubuilder is disabled (it would write menu entries into the user's home), and
 *   Mono/Gecko are not installed (no download prompt).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "../../runtime/atomic";
import { runTool } from "../../runtime/exec";

const WINE_CANDIDATES = ["/usr/lib/wine/wine64", "/usr/bin/wine64", "/usr/bin/wine"];
const WINESERVER_CANDIDATES = ["/usr/lib/wine/wineserver", "/usr/bin/wineserver"];
const READY = ".winpe-lab-ready";

/** The Wine loader and server, or undefined when Wine is not installed. */
export function findWine(): { wine: string; wineserver: string } | undefined {
  const wine = WINE_CANDIDATES.find((p) => fs.existsSync(p));
  const wineserver = WINESERVER_CANDIDATES.find((p) => fs.existsSync(p));
  return wine && wineserver ? { wine, wineserver } : undefined;
}

/** Why Wine cannot run x64 Windows programs on this host (no tool runs), or undefined when it can. */
export function wineUnavailable(): string | undefined {
  if (process.platform !== "linux" || process.arch !== "x64")
    return `Wine runs x64 Windows programs on an x86-64 Linux host; this host is ${process.platform}/${process.arch}`;
  if (!findWine())
    return "Wine is not installed on this host (no /usr/lib/wine/wine64): 'npm run setup' installs the Debian package wine64";
  return undefined;
}

/** Throw a clear error when Wine is missing. */
export function requireWine(): { wine: string; wineserver: string } {
  const w = findWine();
  if (!w) throw new Error(wineUnavailable() ?? "Wine is not installed");
  return w;
}

/** The environment of every Wine process of a prefix. */
export function wineEnv(prefix: string): Record<string, string | undefined> {
  return {
    WINEPREFIX: prefix,
    WINEDEBUG: "-all",
    WINEDLLOVERRIDES: "mscoree,mshtml=;winemenubuilder.exe=d",
    DISPLAY: undefined,
    WAYLAND_DISPLAY: undefined,
  };
}

/** End every process of the prefix (never throws). */
export async function killPrefix(prefix: string, resource: string): Promise<void> {
  const w = findWine();
  if (!w || !fs.existsSync(prefix)) return;
  await runTool(w.wineserver, ["-k"], { env: wineEnv(prefix), resource, okExitCodes: [0, 1], timeoutMs: 30_000 }).catch(
    () => undefined,
  );
}

/** Run `p`, and end every process of the prefix if it takes longer than `ms` (then `hit()` is true). */
async function guarded<T>(prefix: string, resource: string, ms: number, p: Promise<T>) {
  let hit = false;
  const timer = setTimeout(() => {
    hit = true;
    void killPrefix(prefix, resource);
  }, ms);
  try {
    return { value: await p, hit: () => hit };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Make the prefix at `prefix` when it is not there (or was left half made): `wineboot -i`, `wineserver -w`, then
 * a ready mark. A ready prefix is reused as it is.
 */
export async function ensurePrefix(prefix: string, resource: string, onProgress?: (l: string) => void): Promise<void> {
  if (fs.existsSync(path.join(prefix, READY))) return;
  const { wine, wineserver } = requireWine();
  await killPrefix(prefix, resource);
  fs.rmSync(prefix, { recursive: true, force: true });
  fs.mkdirSync(prefix, { recursive: true });
  const env = wineEnv(prefix);
  onProgress?.(`making the Wine prefix ${prefix} (wineboot -i)`);
  try {
    await guarded(prefix, resource, 240_000, runTool(wine, ["wineboot", "-i"], { env, resource }));
    await guarded(prefix, resource, 120_000, runTool(wineserver, ["-w"], { env, resource }));
  } catch (e) {
    await killPrefix(prefix, resource);
    fs.rmSync(prefix, { recursive: true, force: true });
    throw e;
  }
  writeFileAtomic(path.join(prefix, READY), "made by winpe-lab (wineboot -i)\n");
}

/** What a program run under Wine gave. */
export interface WineRun {
  /** The exit code (the low byte, as Linux reports it); null when the run was ended at its time limit. */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  timedOut: boolean;
}

const ANY_EXIT = Array.from({ length: 256 }, (_, i) => i);

/**
 * Run `argv` (a Windows program and its arguments) under Wine in `prefix`, in the folder `cwd`, for at most
 * `timeoutSec` seconds; every process of the prefix is ended afterwards. Any exit code is a result, not an error.
 */
export async function runUnderWine(
  prefix: string,
  cwd: string,
  argv: readonly string[],
  opts: { timeoutSec: number; resource: string; secrets?: readonly string[] },
): Promise<WineRun> {
  const { wine } = requireWine();
  const started = Date.now();
  try {
    const g = await guarded(
      prefix,
      opts.resource,
      opts.timeoutSec * 1000,
      runTool(wine, [...argv], {
        env: wineEnv(prefix),
        cwd,
        resource: opts.resource,
        okExitCodes: ANY_EXIT,
        secrets: [...(opts.secrets ?? [])],
      }),
    );
    const timedOut = g.hit();
    return {
      exitCode: timedOut ? null : g.value.exitCode,
      stdout: g.value.stdout,
      stderr: g.value.stderr,
      durationMs: Date.now() - started,
      timedOut,
    };
  } finally {
    await killPrefix(prefix, opts.resource);
  }
}

/** The Wine version (`wine64 --version`, e.g. `wine-8.0 (Debian 8.0~repack-4)`). */
export async function wineVersion(resource: string): Promise<string> {
  const { wine } = requireWine();
  const r = await runTool(wine, ["--version"], { resource, okExitCodes: [0] });
  return r.stdout.trim();
}
