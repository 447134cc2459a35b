/**
 * `DriverTest`: did my driver work? Runs the stack's test command in the image's folder, as the committed image
 * holds it, and records the verdict: `pass`, `fail`, or `not run` with the reason (a host that cannot run it, an
 * arm64 image under Wine, the adk toolchain; never a pass). The open toolchain runs it under Wine
 * (toolchains/open/driver-test.ts); the runner is chosen by toolchains/index.ts.
 *
 * It runs again only when what it tests changed (`contentDigest`: the committed files in the folder) or the test
 * settings did; a no-op up runs nothing. A `fail` with `onFail: error` fails the up with the output that shows why;
 * with `warn` the up finishes with a warning and `verdict: fail`.
 */
import * as path from "node:path";
import { z } from "zod";
import { declare, resourceClass } from "./declare";
import { MountRefSchema } from "./injected-files";

export const DriverTestArgsSchema = z
  .object({
    toolchain: z.enum(["adk", "open"]),
    arch: z.enum(["amd64", "arm64"]),
    /** The image (MountedImage's `ref`): the test's files are read out of its committed WIM. */
    mount: MountRefSchema,
    /** The image folder the command runs in (`Windows/Ioctl`: the stack's injectDir). */
    folder: z.string().min(1),
    /** A digest of what the image holds in `folder` (the committed files): the test runs again when it changes. */
    contentDigest: z.string().min(1),
    /** The program (a file in `folder`) and its arguments; empty: nothing to run (not run). */
    command: z.array(z.string().min(1)),
    /** Why there is no command (with an empty `command`). */
    noCommandReason: z.string().optional(),
    /** What counts as a pass. */
    pass: z
      .object({
        /** The exit code a pass needs; null: not checked. */
        exitCode: z.number().int().nullable(),
        /** A regular expression one output line must match; null: not checked. */
        output: z.string().nullable(),
      })
      .strict(),
    /** Seconds the command may run. */
    timeoutSec: z.number().int().min(1).max(3600),
    /** `error`: a fail fails the up; `warn`: the up finishes with a warning. */
    onFail: z.enum(["error", "warn"]),
    /** The stack's own folder for the test (the Wine prefix, the files read out); removed on delete. */
    workDir: z.string().min(1),
    /** Strings never shown in the output (the stack's secrets). */
    redact: z.array(z.string()).default([]),
  })
  .strict()
  .superRefine((a, ctx) => {
    const abs = a.toolchain === "adk" ? path.win32.isAbsolute : path.posix.isAbsolute;
    if (!abs(a.workDir)) ctx.addIssue({ code: "custom", path: ["workDir"], message: "must be an absolute path" });
    if (a.pass.output !== null) {
      try {
        new RegExp(a.pass.output);
      } catch (e) {
        ctx.addIssue({
          code: "custom",
          path: ["pass", "output"],
          message: `is not a valid regular expression: ${(e as Error).message}`,
        });
      }
    }
  });

export type DriverTestArgs = z.input<typeof DriverTestArgsSchema>;

export const VERDICTS = ["pass", "fail", "not run"] as const;
export type Verdict = (typeof VERDICTS)[number];

export const DriverTestDecl = declare({
  type: "DriverTest",
  provider: "driver-test",
  version: 1,
  args: DriverTestArgsSchema,
  outputs: {
    /** `pass`, `fail`, or `not run` (with `reason`). */
    verdict: z.enum(VERDICTS),
    /** Why it failed or did not run; "" for a pass. */
    reason: z.string(),
    /** The program's exit code; null when it did not run or was ended at the time limit. */
    exitCode: z.number().int().nullable(),
    /** The first lines of the output (bounded, secrets redacted). */
    outputHead: z.array(z.string()),
    /** The last lines of the output not in `outputHead` (bounded, secrets redacted). */
    outputTail: z.array(z.string()),
    /** How many lines the output had. */
    outputLines: z.number().int(),
    durationMs: z.number().int(),
    /** The image content it tested (`contentDigest` when it ran). */
    testedDigest: z.string(),
    /** What ran it (`wine-8.0 (Debian 8.0~repack-4), x64`), or `none`. */
    runner: z.string(),
  },
  updateOn: [
    "mount",
    "folder",
    "contentDigest",
    "command",
    "noCommandReason",
    "pass",
    "timeoutSec",
    "onFail",
    "arch",
    "toolchain",
  ],
  replaceOn: ["workDir"],
  deleteBeforeReplace: true,
  secrets: ["redact"],
});

export class DriverTest extends resourceClass(DriverTestDecl) {}

/* ------------------------------------------------------------------------------------------------ judging (pure) */

/** Lines kept at the start and at the end of the output, and the longest line kept. */
export const HEAD_LINES = 20;
export const TAIL_LINES = 20;
export const LINE_CHARS = 400;

/** The output as bounded lines: the first {@link HEAD_LINES}, and the last {@link TAIL_LINES} of the rest. */
export function boundLines(output: string): { head: string[]; tail: string[]; count: number } {
  const lines = output.replace(/\r\n?/g, "\n").replace(/\n+$/, "").split("\n");
  const all = output.trim().length === 0 ? [] : lines;
  const cut = (l: string) => (l.length > LINE_CHARS ? `${l.slice(0, LINE_CHARS)}...` : l);
  const head = all.slice(0, HEAD_LINES).map(cut);
  const rest = all.slice(HEAD_LINES);
  const tail = rest.slice(-TAIL_LINES).map(cut);
  return { head, tail, count: all.length };
}

/**
 * The verdict of a run: `pass` when the exit code is the one asked for (or not checked) and, when a pattern is
 * given, one output line matches it; `fail` otherwise, with the reason.
 */
export function judge(
  run: { exitCode: number | null; output: string; timedOut: boolean },
  pass: { exitCode: number | null; output: string | null },
  timeoutSec: number,
): { verdict: "pass" | "fail"; reason: string } {
  if (run.timedOut) return { verdict: "fail", reason: `did not finish within ${timeoutSec} s (ended)` };
  const problems: string[] = [];
  if (run.exitCode === null) problems.push("the program did not run");
  else if (pass.exitCode !== null && run.exitCode !== pass.exitCode)
    problems.push(`exit code ${run.exitCode}, expected ${pass.exitCode}`);
  if (pass.output !== null) {
    const re = new RegExp(pass.output);
    const lines = run.output.replace(/\r\n?/g, "\n").split("\n");
    if (!lines.some((l) => re.test(l))) problems.push(`no output line matches /${pass.output}/`);
  }
  return problems.length === 0 ? { verdict: "pass", reason: "" } : { verdict: "fail", reason: problems.join("; ") };
}
