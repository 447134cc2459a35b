/** Provider logic of {@link DriverTest} (loaded at call time by the shell in resources/driver-test.ts). */
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { redact } from "../../runtime/exec";
import { report } from "../../runtime/progress";
import { testBackend } from "../../toolchains";
import type { StepContext } from "../../toolchains/types";
import { boundLines, DriverTestDecl, judge } from "../driver-test";
import { argsOf, checkArgs, diffArgs, stateFor, stateOf } from "./kit";

const D = DriverTestDecl;
const TYPE = D.type;

function ctxFor(folder: string): StepContext {
  return {
    resource: `${TYPE}(${folder})`,
    onProgress: (l) => void report(TYPE, l, "info", true),
    onNotice: (m) => void report(TYPE, m, "warning"),
  };
}

/** Raised when the test failed and `onFail` is `error`: its message holds the output that shows why. */
export class DriverTestFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DriverTestFailed";
  }
}

export async function check(
  _olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<dynamic.CheckResult> {
  return checkArgs(D, news);
}

/**
 * The declared inputs; and a test recorded as `not run` because of this host (no Wine) runs once the host can
 * run it. No tool runs.
 */
export async function diff(
  _id: string,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<dynamic.DiffResult> {
  const old = stateOf(D, olds);
  let nowRunnable = false;
  if (old.verdict === "not run" && old.command.length > 0) {
    nowRunnable = (await testBackend(old.toolchain)).cannotRun(old.arch) === undefined;
  }
  return diffArgs(D, olds, news, nowRunnable);
}

async function runTest(inputs: Record<string, unknown>) {
  const a = argsOf(D, inputs);
  const ctx = ctxFor(a.folder);
  const secrets = a.redact.filter((s) => s.length > 0);
  const notRun = (reason: string, runner = "none") => {
    void report(TYPE, `the driver test did not run: ${reason}`, "warning");
    return stateFor(D, a, {
      verdict: "not run",
      reason,
      exitCode: null,
      outputHead: [],
      outputTail: [],
      outputLines: 0,
      durationMs: 0,
      testedDigest: a.contentDigest,
      runner,
    });
  };
  if (a.command.length === 0) return notRun(a.noCommandReason ?? "there is no command to run (winpe-lab:test.command)");
  const backend = await testBackend(a.toolchain);
  const r = await backend.run(
    {
      wim: a.mount.wim,
      index: a.mount.index,
      holder: a.mount.holder,
      folder: a.folder,
      command: a.command,
      timeoutSec: a.timeoutSec,
      arch: a.arch,
      workDir: a.workDir,
      secrets,
    },
    ctx,
  );
  if (!r.ran) return notRun(r.reason, r.runner);
  const output = redact(r.output, secrets);
  const { verdict, reason } = judge({ ...r, output }, a.pass, a.timeoutSec);
  const lines = boundLines(output);
  const cmd = a.command.join(" ");
  if (verdict === "fail") {
    const shown = [...lines.head, ...(lines.tail.length > 0 ? ["...", ...lines.tail] : [])].slice(-40);
    const text =
      `the driver test failed: ${cmd} in ${a.folder} (${r.runner}): ${reason}\n` +
      (shown.length > 0 ? `its output:\n${shown.map((l) => `  ${l}`).join("\n")}` : "it printed nothing");
    if (a.onFail === "error") throw new DriverTestFailed(`${TYPE}: ${text}`);
    void report(TYPE, `${text}\n(winpe-lab:test.onFail is warn: the up goes on)`, "warning");
  } else {
    void report(TYPE, `pass: ${cmd} in ${a.folder} (${r.runner}, ${(r.durationMs / 1000).toFixed(1)} s)`, "info");
  }
  return stateFor(D, a, {
    verdict,
    reason,
    exitCode: r.exitCode,
    outputHead: lines.head,
    outputTail: lines.tail,
    outputLines: lines.count,
    durationMs: Math.round(r.durationMs),
    testedDigest: a.contentDigest,
    runner: r.runner,
  });
}

export async function create(inputs: Record<string, unknown>): Promise<dynamic.CreateResult> {
  const outs = await runTest(inputs);
  return { id: `driver-test:${outs.folder as string}`, outs };
}

export async function update(
  _id: string,
  _olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<dynamic.UpdateResult> {
  return { outs: await runTest(news) };
}

/** Refresh: the verdict is a record of a run, not a file; nothing drifts. */
export async function read(id: string, props: Record<string, unknown>): Promise<dynamic.ReadResult> {
  return { id, props: stateOf(D, props) };
}

/** Delete: the stack's test folder (the Wine prefix, the files read out) goes. */
export async function del(_id: string, props: Record<string, unknown>): Promise<void> {
  const s = stateOf(D, props);
  await (await testBackend(s.toolchain)).clean(s.workDir, ctxFor(s.folder));
}
export { del as delete };
