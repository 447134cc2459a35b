/**
 * The timed scenarios on the real engine (Automation API, as `pulumi up`/`preview`/`destroy` would run them):
 * winpe-lab's demo stack ("lab") and the short-circuited floor program ("floor"). Each scenario is timed from the
 * call to its result; tool runs come from the stack's WINPE_TOOL_LOG and provider times from the bench timing hook.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { projectRevisions } from "../resources/driver-build";
import { mediaFingerprint } from "../resources/formats/media-tree";
import { PersistentDigestCache } from "../resources/runtime/digest";
import { runTool } from "../resources/runtime/exec";
import { planBuild } from "../resources/toolchains/open/build";
import { type DemoStack, openDemoStack } from "../test/helpers/demo-stack";
import {
  type Arch,
  lineCount,
  log,
  nowMs,
  readJsonLines,
  type Sample,
  type Scale,
  type Scenario,
  summarizeTiming,
  summarizeTools,
  TIMING_HOOK,
} from "./common";
import { captureShapes, openFloorStack } from "./floor";

interface Target {
  label: string;
  stack: Stack;
  toolLog: string;
  timing: string;
}

/** Milliseconds since 1970 with sub-millisecond precision (the timing hook's clock). */
function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

function attachHook(stack: Stack, timing: string): void {
  stack.workspace.envVars.NODE_OPTIONS = `--require ${TIMING_HOOK}`;
  stack.workspace.envVars.WINPE_BENCH_TIMING = timing;
  const loads = process.env.WINPE_BENCH_TIMING_LOADS;
  if (loads) stack.workspace.envVars.WINPE_BENCH_TIMING_LOADS = loads;
}

type Result = { summary?: { resourceChanges?: Record<string, number> }; changeSummary?: Record<string, number> };

/** Time one engine operation; tool runs and provider times are those written while it ran. */
async function timed(t: Target, what: string, op: () => Promise<Result>): Promise<Sample> {
  const toolMark = lineCount(t.toolLog);
  const timingMark = lineCount(t.timing);
  const mark = (method: string) =>
    fs.appendFileSync(t.timing, `${JSON.stringify({ role: "harness", method, name: what, startMs: epochMs() })}\n`);
  mark("begin");
  const t0 = nowMs();
  const r = await op();
  const ms = nowMs() - t0;
  mark("end");
  const tools = summarizeTools(readJsonLines(t.toolLog, toolMark));
  const steps = summarizeTiming(readJsonLines(t.timing, timingMark));
  const changes = (r.summary?.resourceChanges ?? r.changeSummary ?? {}) as Record<string, number>;
  log(
    `  ${t.label} ${what}: ${(ms / 1000).toFixed(2)} s, ${tools.tools} tool run(s), changes ${JSON.stringify(changes)}`,
  );
  return { ms: Math.round(ms), ...tools, changes, steps };
}

export interface LabRun {
  samples: Partial<Record<Scenario, Sample>>;
}

/** winpe-lab's demo stack: cold up, previews, no-op up, one source edit, testsigning flip, destroy. */
export async function runLab(opts: {
  arch: Arch;
  scale: Scale;
  bigWim?: string;
  shapesFile?: string;
  previews: boolean;
  /** Keep the scratch folder (tool log, timing log) for a look afterwards. */
  keep?: boolean;
}): Promise<LabRun> {
  const d: DemoStack = await openDemoStack(opts.arch, { bootCheck: false, name: `bench-${opts.arch}-${opts.scale}` });
  const t: Target = {
    label: `lab/${opts.scale}`,
    stack: d.stack,
    toolLog: d.toolLog,
    timing: path.join(d.dir, "timing.jsonl"),
  };
  attachHook(d.stack, t.timing);
  const samples: Partial<Record<Scenario, Sample>> = {};
  try {
    if (opts.bigWim) fs.copyFileSync(opts.bigWim, d.wim);
    samples.cold = await timed(t, "cold up", () => d.stack.up());
    if (opts.shapesFile) await captureShapes(d.stack, opts.shapesFile);
    if (opts.previews) samples["preview-noop"] = await timed(t, "preview (no change)", () => d.stack.preview());
    samples.noop = await timed(t, "no-op up", () => d.stack.up());
    samples.noop.extra = programWork(d);

    const file = path.join(d.src, "sys", "sioctl.c");
    fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace('"Debug build"', '"Debug build (bench edit)"'));
    if (opts.previews) samples["preview-edit"] = await timed(t, "preview (one source edited)", () => d.stack.preview());
    samples.edit = await timed(t, "up (one source edited)", () => d.stack.up());
    samples.edit.extra = await isoThroughput(d, samples.edit);

    await d.stack.setConfig("winpe-lab:bcd", {
      value: JSON.stringify({ stores: opts.arch === "amd64" ? "both" : "efi", testsigning: false, debug: true }),
    });
    if (opts.previews) samples["preview-flip"] = await timed(t, "preview (testsigning off)", () => d.stack.preview());
    samples.flip = await timed(t, "up (testsigning off)", () => d.stack.up());
    samples.destroy = await timed(t, "destroy", () => d.stack.destroy());
  } finally {
    if (opts.keep) log(`  kept ${d.dir}`);
    else await d.cleanup();
  }
  return { samples };
}

/** The program's own work before it registers anything (in this process, for the record): parse + hash. */
function programWork(d: DemoStack): Record<string, number> {
  const t0 = nowMs();
  const plan = planBuild({
    project: path.join(d.src, "ioctl.sln"),
    configuration: "Debug",
    platform: d.arch === "amd64" ? "x64" : "ARM64",
  });
  projectRevisions(plan.projects, plan.rootDir, { toolchain: "open", configuration: "Debug", platform: "x" });
  const t1 = nowMs();
  const cache = new PersistentDigestCache(path.join(d.workspace, ".winpe-lab", "digests.json"));
  mediaFingerprint(d.mediaDir, ["sources/boot.wim"], cache);
  const t2 = nowMs();
  return { programRevisionsMs: Math.round((t1 - t0) * 10) / 10, programMediaMs: Math.round((t2 - t1) * 10) / 10 };
}

/** ISO size, xorriso's time, the WinPeIso step, and `cp` (and `cp` + fsync) of the same bytes on the same disk. */
async function isoThroughput(d: DemoStack, s: Sample): Promise<Record<string, number>> {
  const isoBytes = fs.statSync(d.isoPath).size;
  const copy = path.join(path.dirname(d.isoPath), "cp-copy.iso");
  const t0 = nowMs();
  await runTool("cp", [d.isoPath, copy]);
  const cpMs = nowMs() - t0;
  fs.rmSync(copy, { force: true });
  const t1 = nowMs();
  await runTool("cp", [d.isoPath, copy]);
  await runTool("sync", [copy]);
  const cpSyncMs = nowMs() - t1;
  fs.rmSync(copy, { force: true });
  return {
    isoBytes,
    xorrisoMs: s.toolMs?.xorriso ?? 0,
    isoStepMs: s.steps?.["WinPeIso.update"] ?? 0,
    cpMs: Math.round(cpMs),
    cpSyncMs: Math.round(cpSyncMs),
  };
}

/** The floor program on the same engine: the same scenarios, driven by config instead of files. */
export async function runFloor(opts: { shapesFile: string; previews: boolean; keep?: boolean }): Promise<LabRun> {
  const f = await openFloorStack(opts.shapesFile, "bench-floor");
  const toolLog = path.join(f.dir, "tools.jsonl");
  f.stack.workspace.envVars.WINPE_TOOL_LOG = toolLog;
  const t: Target = { label: "floor", stack: f.stack, toolLog, timing: path.join(f.dir, "timing.jsonl") };
  attachHook(f.stack, t.timing);
  const samples: Partial<Record<Scenario, Sample>> = {};
  try {
    await f.stack.setAllConfig({ "floor:rev": { value: "0" }, "floor:testsigning": { value: "on" } });
    samples.cold = await timed(t, "cold up", () => f.stack.up());
    if (opts.previews) samples["preview-noop"] = await timed(t, "preview (no change)", () => f.stack.preview());
    samples.noop = await timed(t, "no-op up", () => f.stack.up());
    await f.stack.setConfig("floor:rev", { value: "1" });
    if (opts.previews) samples["preview-edit"] = await timed(t, "preview (edit)", () => f.stack.preview());
    samples.edit = await timed(t, "up (edit)", () => f.stack.up());
    await f.stack.setConfig("floor:testsigning", { value: "off" });
    if (opts.previews) samples["preview-flip"] = await timed(t, "preview (flip)", () => f.stack.preview());
    samples.flip = await timed(t, "up (flip)", () => f.stack.up());
    samples.destroy = await timed(t, "destroy", () => f.stack.destroy());
  } finally {
    if (opts.keep) log(`  kept ${f.dir}`);
    else await f.cleanup();
  }
  return { samples };
}
