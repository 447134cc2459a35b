/**
 * The open toolchain's driver test (the pre-flight): the image folder is read out of the committed WIM with
 * wimlib (exactly what the image holds there, not the build folder), and the command runs in it under Wine, in a
 * prefix of the stack's own, where the read-out image root is drive X: (WinPE's system drive): the app runs in
 * `X:\Windows\Ioctl` as in WinPE. It loads the driver itself, through the service manager, as it does in WinPE.
 *
 * Wine runs x64 Windows programs: an arm64 image, or a host without Wine, gets "not run" with the reason (never a
 * pass); the boot-time test in WinPE covers those.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { StepContext, TestBackend, TestRunOutcome, TestRunSpec } from "../types";
import { wimExtract } from "./wim";
import { ensurePrefix, killPrefix, runUnderWine, wineUnavailable, wineVersion } from "./wine";

/** The Wine prefix and the image folder's copy inside the test's work folder. */
export function testPaths(workDir: string): { prefix: string; image: string } {
  return { prefix: path.join(workDir, "wineprefix"), image: path.join(workDir, "image") };
}

/** The file in `dir` named `name` ignoring case (Windows semantics), or undefined. */
function findCaseInsensitive(dir: string, name: string): string | undefined {
  try {
    return fs.readdirSync(dir).find((n) => n.toLowerCase() === name.toLowerCase());
  } catch {
    return undefined;
  }
}

export const openTestBackend: TestBackend = {
  toolchain: "open",

  cannotRun(arch) {
    if (arch !== "amd64")
      return (
        "the image is arm64 and Wine runs x64 Windows programs only: the pre-flight cannot run its app and " +
        "driver on this host (the boot-time test in WinPE, winpe-lab:test.boot, runs them)"
      );
    return wineUnavailable();
  },

  async run(spec: TestRunSpec, ctx: StepContext): Promise<TestRunOutcome> {
    const why = this.cannotRun(spec.arch);
    if (why) return { ran: false, reason: why, runner: "none" };
    const { prefix, image } = testPaths(spec.workDir);
    const runner = `${await wineVersion(ctx.resource)}, x64`;
    // the folder as the committed image holds it
    fs.rmSync(image, { recursive: true, force: true });
    fs.mkdirSync(image, { recursive: true });
    await wimExtract(spec.wim, spec.index, [spec.folder], image, { resource: ctx.resource });
    const cwd = path.join(image, ...spec.folder.split("/"));
    const program = findCaseInsensitive(cwd, spec.command[0]!);
    if (!program) {
      return {
        ran: true,
        exitCode: null,
        output: `winpe-lab: ${spec.command[0]} is not in the image's ${spec.folder} (it holds: ${
          fs.existsSync(cwd) ? fs.readdirSync(cwd).sort().join(", ") || "nothing" : "no such folder"
        })`,
        durationMs: 0,
        timedOut: false,
        runner,
      };
    }
    await ensurePrefix(prefix, ctx.resource, ctx.onProgress);
    // the image root is drive X: in the prefix, as in WinPE: the app sees X:\Windows\Ioctl (Wine names a folder
    // by the deepest drive root above it)
    const x = path.join(prefix, "dosdevices", "x:");
    fs.rmSync(x, { force: true });
    fs.symlinkSync(image, x);
    ctx.onProgress?.(`running ${spec.command.join(" ")} in ${spec.folder} under Wine`);
    const r = await runUnderWine(prefix, cwd, [program, ...spec.command.slice(1)], {
      timeoutSec: spec.timeoutSec,
      resource: ctx.resource,
      secrets: spec.secrets,
    });
    const output =
      r.stderr.trim().length > 0 ? `${r.stdout}${r.stdout.endsWith("\n") ? "" : "\n"}${r.stderr}` : r.stdout;
    return { ran: true, exitCode: r.exitCode, output, durationMs: r.durationMs, timedOut: r.timedOut, runner };
  },

  async clean(workDir, ctx) {
    await killPrefix(testPaths(workDir).prefix, ctx.resource);
    fs.rmSync(workDir, { recursive: true, force: true });
  },
};
