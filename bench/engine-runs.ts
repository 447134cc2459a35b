/**
 * The timed scenarios on the real engine (Automation API, as `pulumi up`/`preview`/`destroy` would run them):
 * winpe-lab's demo stack ("lab") and the short-circuited floor program ("floor"). Each scenario is timed from the
 * call to its result; tool runs come from the stack's WINPE_TOOL_LOG and provider times from the bench timing hook.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { mediaFingerprint } from "../formats/media-tree";
import { projectRevisions } from "../resources/driver-build";
import { PersistentDigestCache } from "../runtime/digest";
import { runTool } from "../runtime/exec";
import { type DemoStack, openDemoStack } from "../test/helpers/demo-stack";
import { planBuild } from "../toolchains/open/build";
import { readIsoRecord } from "../toolchains/open/iso-update";
import {
  type Arch,
  lineCount,
  log,
  median,
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

type Result = { changes: Record<string, number> };

const WORDS: Record<string, string> = {
  created: "create",
  create: "create",
  updated: "update",
  update: "update",
  deleted: "delete",
  delete: "delete",
  replaced: "replace",
  replace: "replace",
  unchanged: "same",
};

/** The change summary of `pulumi up/preview/destroy` text output ("~ 5 updated", "4 unchanged", "~ 5 to update"). */
export function parseChanges(stdout: string): Record<string, number> {
  const out: Record<string, number> = {};
  const block = stdout.split(/^Resources:\s*$/m)[1] ?? "";
  for (const m of block.matchAll(
    /^\s*[-+~]?\s*(\d+) (?:to )?(created|updated|deleted|replaced|unchanged|create|update|delete|replace)\b/gm,
  )) {
    out[WORDS[m[2]]] = Number(m[1]);
  }
  return out;
}

/**
 * Run the project's `pulumi` CLI on a stack exactly as a user's `pulumi up --yes --skip-preview` (or preview, or
 * destroy) would, with the workspace's environment. Not the Automation API's `up()`, which adds two more CLI runs
 * (`stack output`, `stack history`) after the update.
 */
async function cli(stack: Stack, args: string[]): Promise<Result> {
  const ws = stack.workspace as LocalWorkspace;
  const r = await runTool(ws.pulumiCommand.command, [...args, "--non-interactive", "--stack", stack.name], {
    cwd: ws.workDir,
    env: { ...ws.envVars },
    resource: "bench(pulumi)",
  });
  return { changes: parseChanges(r.stdout) };
}
const up = (s: Stack) => cli(s, ["up", "--yes", "--skip-preview"]);
const preview = (s: Stack) => cli(s, ["preview"]);
const destroy = (s: Stack) => cli(s, ["destroy", "--yes", "--skip-preview"]);

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
  const changes = r.changes;
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
  // The media loop the script does too: no QEMU boot check, no driver test (the script runs neither; the driver
  // test's Wine run is measured by its own suites, and its cost is named in bench/README.md). The lab's graph is
  // then the floor's graph.
  const d: DemoStack = await openDemoStack(opts.arch, {
    bootCheck: false,
    test: { enabled: false },
    name: `bench-${opts.arch}-${opts.scale}`,
  });
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
    samples.cold = await timed(t, "cold up", () => up(d.stack));
    if (opts.shapesFile) await captureShapes(d.stack, opts.shapesFile);
    if (opts.previews) samples["preview-noop"] = await timed(t, "preview (no change)", () => preview(d.stack));
    samples.noop = await timed(t, "no-op up", () => up(d.stack));
    samples.noop.extra = programWork(d);

    const file = path.join(d.src, "sys", "sioctl.c");
    fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace('"Debug build"', '"Debug build (bench edit)"'));
    if (opts.previews) samples["preview-edit"] = await timed(t, "preview (one source edited)", () => preview(d.stack));
    samples.edit = await timed(t, "up (one source edited)", () => up(d.stack));
    // the full write's throughput is the cold up's (an edit updates the ISO in place, xorriso only says its version)
    samples.edit.extra = { ...(await isoThroughput(d, samples.cold)), ...isoAnatomy(d) };

    await d.stack.setConfig("winpe-lab:bcd", {
      value: JSON.stringify({ stores: opts.arch === "amd64" ? "both" : "efi", testsigning: false, debug: true }),
    });
    if (opts.previews) samples["preview-flip"] = await timed(t, "preview (testsigning off)", () => preview(d.stack));
    samples.flip = await timed(t, "up (testsigning off)", () => up(d.stack));
    samples.flip.extra = isoAnatomy(d);
    const probe = await noopFromDist(d, t);
    if (probe) samples["noop-dist"] = probe;
    samples.destroy = await timed(t, "destroy", () => destroy(d.stack));
  } finally {
    if (opts.keep) log(`  kept ${d.dir}`);
    else await d.cleanup();
  }
  return { samples };
}

/**
 * A probe of a proposed fix: the same no-op `up` with the program's modules loaded from the compiled dist/ (what
 * `npm run setup` builds for the providers anyway) instead of being transpiled from resources/*.ts by ts-node at
 * every run. Same resources, same inputs: the engine sees no change.
 */
async function noopFromDist(d: DemoStack, t: Target): Promise<Sample | undefined> {
  const index = path.join(d.dir, "program", "index.ts");
  // since issue 19 the test program is already `index.js` requiring dist/: nothing to probe
  if (!fs.existsSync(index)) return undefined;
  const original = fs.readFileSync(index, "utf8");
  fs.writeFileSync(index, original.replace(/(["'])((?:\.\.\/)+)resources\//g, "$1$2dist/resources/"));
  try {
    return await timed(t, "no-op up, program from dist/ (probe)", () => up(d.stack));
  } finally {
    fs.writeFileSync(index, original);
  }
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

/**
 * ISO size, xorriso's time and the WinPeIso step of the full write in `s` (the cold up), and `cp` (and `cp` +
 * `sync` of the copy) of the same bytes to the same folder, each the median of three.
 */
async function isoThroughput(d: DemoStack, s: Sample): Promise<Record<string, number>> {
  const isoBytes = fs.statSync(d.isoPath).size;
  const copy = path.join(path.dirname(d.isoPath), "cp-copy.iso");
  const cp: number[] = [];
  const cpSync: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = nowMs();
    await runTool("cp", [d.isoPath, copy]);
    cp.push(nowMs() - t0);
    fs.rmSync(copy, { force: true });
    const t1 = nowMs();
    await runTool("cp", [d.isoPath, copy]);
    await runTool("sync", [copy]);
    cpSync.push(nowMs() - t1);
    fs.rmSync(copy, { force: true });
  }
  return {
    isoBytes,
    xorrisoMs: s.toolMs?.xorriso ?? 0,
    isoStepMs: s.steps?.["WinPeIso.create"] ?? s.steps?.["WinPeIso.update"] ?? 0,
    cpMs: Math.round(median(cp)),
    cpSyncMs: Math.round(median(cpSync)),
  };
}

/**
 * How the last WinPeIso write went, from the ISO's record (toolchains/open/iso-update.ts: in place or whole, bytes
 * written, ms per part, how boot.wim's kept part was known), and what reading and hashing the whole ISO costs here
 * now (in this process, page cache warm): what an update that read every byte would cost (the ISO's identity is a
 * tree digest: an update hashes only the pieces it changes).
 */
function isoAnatomy(d: DemoStack): Record<string, number> {
  const rec = readIsoRecord(path.join(d.workspace, ".winpe-lab"), d.isoPath);
  const out: Record<string, number> = {};
  if (rec?.last) {
    out.isoInPlace = rec.last.how === "update" ? 1 : 0;
    out.isoWritten = rec.last.written;
    for (const [k, v] of Object.entries(rec.last.ms)) out[`iso_${k}Ms`] = v;
    if (rec.last.keptBy) out.isoKeptByRecord = rec.last.keptBy === "record" ? 1 : 0;
  }
  const fd = fs.openSync(d.isoPath, "r");
  try {
    const buf = Buffer.allocUnsafe(4 << 20);
    let t0 = nowMs();
    for (let at = 0; ; ) {
      const n = fs.readSync(fd, buf, 0, buf.length, at);
      if (n <= 0) break;
      at += n;
    }
    out.isoReadMs = Math.round(nowMs() - t0);
    t0 = nowMs();
    const h = crypto.createHash("sha256");
    for (let at = 0; ; ) {
      const n = fs.readSync(fd, buf, 0, buf.length, at);
      if (n <= 0) break;
      h.update(buf.subarray(0, n));
      at += n;
    }
    h.digest();
    out.isoSha256Ms = Math.round(nowMs() - t0);
  } finally {
    fs.closeSync(fd);
  }
  return out;
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
    samples.cold = await timed(t, "cold up", () => up(f.stack));
    if (opts.previews) samples["preview-noop"] = await timed(t, "preview (no change)", () => preview(f.stack));
    samples.noop = await timed(t, "no-op up", () => up(f.stack));
    await f.stack.setConfig("floor:rev", { value: "1" });
    if (opts.previews) samples["preview-edit"] = await timed(t, "preview (edit)", () => preview(f.stack));
    samples.edit = await timed(t, "up (edit)", () => up(f.stack));
    await f.stack.setConfig("floor:testsigning", { value: "off" });
    if (opts.previews) samples["preview-flip"] = await timed(t, "preview (flip)", () => preview(f.stack));
    samples.flip = await timed(t, "up (flip)", () => up(f.stack));
    samples.destroy = await timed(t, "destroy", () => destroy(f.stack));
  } finally {
    if (opts.keep) log(`  kept ${f.dir}`);
    else await f.cleanup();
  }
  return { samples };
}
