/** Shared types and small helpers of the benchmark harness (`npm run bench`, bench/run.ts). */
import * as fs from "node:fs";
import * as path from "node:path";

export const BENCH_DIR = __dirname;
export const OUT_DIR = path.join(BENCH_DIR, "out");
export const TIMING_HOOK = path.join(BENCH_DIR, "timing-hook.js");

export type Arch = "amd64" | "arm64";
export type Scale = "small" | "big";
export const SCENARIOS = [
  "cold",
  "noop",
  "edit",
  "flip",
  "destroy",
  "preview-noop",
  "preview-edit",
  "preview-flip",
  "noop-dist",
] as const;
export type Scenario = (typeof SCENARIOS)[number];
/** lab: winpe-lab (`pulumi up` of a demo stack); floor: the short-circuited program; ref*: the reference script. */
export type Variant = "lab" | "floor" | "refFull" | "refNecessary";

/** One timed run of one scenario. */
export interface Sample {
  ms: number;
  /** External tool runs (WINPE_TOOL_LOG lines) during the scenario. */
  tools: number;
  /** Tool runs by tool name. */
  toolCounts?: Record<string, number>;
  /** Summed tool durations by tool name (ms, from WINPE_TOOL_LOG's durationMs). */
  toolMs?: Record<string, number>;
  /** Engine's resource change summary (`{same: 4, update: 5}`). */
  changes?: Record<string, number>;
  /** Provider time by resource type and method (`InjectedFiles.update`: ms), from the bench timing hook. */
  steps?: Record<string, number>;
  /** Other numbers (ISO bytes, cp timings, program process lifetime ...). */
  extra?: Record<string, number>;
}

export type Samples = Partial<Record<Scale, Partial<Record<Scenario, Partial<Record<Variant, Sample[]>>>>>>;

export function push(all: Samples, scale: Scale, scenario: Scenario, variant: Variant, s: Sample): void {
  const byScenario = all[scale] ?? {};
  all[scale] = byScenario;
  const byVariant = byScenario[scenario] ?? {};
  byScenario[scenario] = byVariant;
  const list = byVariant[variant] ?? [];
  byVariant[variant] = list;
  list.push(s);
}

export function log(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** JSON lines of a file from line `from` on ([] when missing). */
export function readJsonLines(file: string, from = 0): Array<Record<string, unknown>> {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim().length > 0)
    .slice(from)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

export function lineCount(file: string): number {
  return readJsonLines(file).length;
}

/** Tool-log lines summarized: count and summed durations by tool. */
export function summarizeTools(lines: Array<Record<string, unknown>>): Pick<Sample, "tools" | "toolCounts" | "toolMs"> {
  const toolCounts: Record<string, number> = {};
  const toolMs: Record<string, number> = {};
  for (const l of lines) {
    const t = path.basename(String(l.tool));
    toolCounts[t] = (toolCounts[t] ?? 0) + 1;
    toolMs[t] = (toolMs[t] ?? 0) + Number(l.durationMs ?? 0);
  }
  return { tools: lines.length, toolCounts, toolMs };
}

const MODULE_TYPES: Record<string, string> = {
  "test-certificate": "TestCertificate",
  "driver-build": "DriverBuild",
  "bcd-settings": "BcdSettings",
  "mounted-image": "MountedImage",
  "injected-files": "InjectedFiles",
  "image-commit": "ImageCommit",
  "winpe-iso": "WinPeIso",
  "vm-boot-media": "VmBootMedia",
  "workspace-claim": "WorkspaceClaim",
};

/** Timing-hook lines summarized: provider ms by `Type.method`, plus `program` (program process lifetime). */
export function summarizeTiming(lines: Array<Record<string, unknown>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of lines) {
    if (l.method === "exit") {
      if (l.role === "program") out.program = (out.program ?? 0) + Number(l.ms);
      continue;
    }
    if (l.role !== "provider") continue;
    const type = MODULE_TYPES[String(l.module)] ?? String(l.module);
    const k = `${type}.${String(l.method)}`;
    out[k] = (out[k] ?? 0) + Number(l.ms);
    out.providerTotal = (out.providerTotal ?? 0) + Number(l.ms);
  }
  for (const k of Object.keys(out)) out[k] = Math.round(out[k] * 10) / 10;
  return out;
}

export function median(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
