/**
 * Turn the samples into bench/results.json, bench/results.md (tables: median, min, max, ratios, tool runs;
 * the targets of issue 9, met or not) and the chart's SVG (bench/run.ts converts it to bench/results.png).
 */
import { median, type Sample, type Samples, type Scale, type Scenario, type Variant } from "./common";

export interface Stat {
  median: number;
  min: number;
  max: number;
  n: number;
  toolsMedian: number;
  toolsMax: number;
}

function stat(xs: Sample[] | undefined): Stat | undefined {
  if (!xs || xs.length === 0) return undefined;
  const ms = xs.map((x) => x.ms);
  const tools = xs.map((x) => x.tools);
  return {
    median: median(ms),
    min: Math.min(...ms),
    max: Math.max(...ms),
    n: xs.length,
    toolsMedian: median(tools),
    toolsMax: Math.max(...tools),
  };
}

export type Stats = Partial<Record<Scale, Partial<Record<Scenario, Partial<Record<Variant, Stat>>>>>>;

export function statsOf(samples: Samples): Stats {
  const out: Stats = {};
  for (const [scale, byScenario] of Object.entries(samples) as Array<[Scale, Samples[Scale]]>) {
    for (const [scenario, byVariant] of Object.entries(byScenario ?? {}) as Array<
      [Scenario, Record<Variant, Sample[]>]
    >) {
      for (const [variant, xs] of Object.entries(byVariant) as Array<[Variant, Sample[]]>) {
        const s = stat(xs);
        if (!s) continue;
        const byScenario = out[scale] ?? {};
        out[scale] = byScenario;
        const byVariant = byScenario[scenario] ?? {};
        byScenario[scenario] = byVariant;
        byVariant[variant] = s;
      }
    }
  }
  return out;
}

/** Median of a derived number over the runs of one scenario/variant. */
export function medianOf(
  samples: Samples,
  scale: Scale,
  scenario: Scenario,
  variant: Variant,
  f: (s: Sample) => number | undefined,
): number {
  const xs = (samples[scale]?.[scenario]?.[variant] ?? []).map(f).filter((x): x is number => x !== undefined);
  return median(xs);
}

export interface Target {
  /** The issue that set the target (9: the first bench; 18: the edit loop at the speed of its tools). */
  issue?: number;
  id: string;
  text: string;
  value: string;
  limit: string;
  met: boolean;
  detail: string;
}

const injectCommit = (s: Sample) =>
  (s.steps?.["InjectedFiles.update"] ?? 0) +
  (s.steps?.["ImageCommit.update"] ?? 0) +
  (s.steps?.["InjectedFiles.create"] ?? 0) +
  (s.steps?.["ImageCommit.create"] ?? 0);

const r2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : "n/a");
const sec = (ms: number) => (Number.isFinite(ms) ? (ms / 1000).toFixed(2) : "n/a");

export function evaluateTargets(samples: Samples, stats: Stats): Target[] {
  const t: Target[] = [];
  const m = (scale: Scale, sc: Scenario, v: Variant) => stats[scale]?.[sc]?.[v]?.median ?? Number.NaN;
  const hasBig = !!stats.big;

  // 1. no-op up: zero tools, <= 1.25x floor
  const noopTools = Math.max(
    ...(["small", "big"] as Scale[]).flatMap((s) => (samples[s]?.noop?.lab ?? []).map((x) => x.tools)),
  );
  t.push({
    id: "noop-tools",
    text: "no-op `up` runs zero external tools",
    value: `${noopTools} (max over runs and scales)`,
    limit: "0",
    met: noopTools === 0,
    detail: "",
  });
  const noopRatio = m("small", "noop", "lab") / m("small", "noop", "floor");
  const provNoop = medianOf(samples, "small", "noop", "lab", (s) => s.steps?.providerTotal);
  const progLab = medianOf(samples, "small", "noop", "lab", (s) => s.steps?.program);
  const progFloor = medianOf(samples, "small", "noop", "floor", (s) => s.steps?.program);
  t.push({
    id: "noop-vs-floor",
    text: "no-op `up` <= 1.25x the engine floor",
    value: `${r2(noopRatio)}x (${sec(m("small", "noop", "lab"))} s vs ${sec(m("small", "noop", "floor"))} s)`,
    limit: "<= 1.25x",
    met: noopRatio <= 1.25,
    detail:
      `gap ${sec(m("small", "noop", "lab") - m("small", "noop", "floor"))} s; program process lifetime ${sec(progLab)} s vs floor ${sec(progFloor)} s; ` +
      `provider calls ${sec(provNoop)} s in total; ` +
      (stats.small?.["noop-dist"]
        ? `probe with the program loaded from dist/: ${sec(m("small", "noop-dist", "lab"))} s = ${r2(m("small", "noop-dist", "lab") / m("small", "noop", "floor"))}x the floor`
        : "the program runs from dist/ already (no probe)"),
  });
  if (hasBig) {
    const r = m("big", "noop", "lab") / m("small", "noop", "lab");
    t.push({
      id: "noop-big-vs-small",
      text: "no-op `up` with the 400 MB WIM <= 1.1x the small-WIM no-op",
      value: `${r2(r)}x (${sec(m("big", "noop", "lab"))} s vs ${sec(m("small", "noop", "lab"))} s)`,
      limit: "<= 1.1x",
      met: r <= 1.1,
      detail: `provider calls ${sec(medianOf(samples, "big", "noop", "lab", (s) => s.steps?.providerTotal))} s vs ${sec(provNoop)} s`,
    });
  }
  // 2. one-source edit
  for (const scale of hasBig ? (["small", "big"] as Scale[]) : (["small"] as Scale[])) {
    const lab = m(scale, "edit", "lab");
    const ref = m(scale, "edit", "refNecessary");
    const floor = m(scale, "edit", "floor");
    const prov = medianOf(samples, scale, "edit", "lab", (s) => s.steps?.providerTotal);
    const tools = medianOf(samples, scale, "edit", "lab", (s) =>
      Object.values(s.toolMs ?? {}).reduce((a, b) => a + b, 0),
    );
    t.push({
      id: `edit-vs-reference-${scale}`,
      text: `one-source-edit \`up\` <= 1.2x the reference script's necessary steps, ${scale} WIM`,
      value: `${r2(lab / ref)}x (${sec(lab)} s vs ${sec(ref)} s)`,
      limit: "<= 1.2x",
      met: lab / ref <= 1.2,
      detail:
        `the engine floor alone takes ${sec(floor)} s (${r2(floor / ref)}x the script); winpe-lab adds ${sec(lab - floor)} s ` +
        `over the floor; provider calls ${sec(prov)} s, of which tool runs ${sec(tools)} s ` +
        `(${stats[scale]?.edit?.lab?.toolsMedian} runs vs the script's ${stats[scale]?.edit?.refNecessary?.toolsMedian})`,
    });
  }
  for (const scale of hasBig ? (["small", "big"] as Scale[]) : (["small"] as Scale[])) {
    const r = m(scale, "edit", "lab") / m(scale, "cold", "lab");
    t.push({
      id: `edit-vs-cold-${scale}`,
      text: `one-source-edit \`up\` <= 0.5x a full rebuild (cold \`up\`), ${scale} WIM`,
      value: `${r2(r)}x (${sec(m(scale, "edit", "lab"))} s vs ${sec(m(scale, "cold", "lab"))} s)`,
      limit: "<= 0.5x",
      met: r <= 0.5,
      detail: `floor edit/cold ${r2(m(scale, "edit", "floor") / m(scale, "cold", "floor"))}x`,
    });
  }
  if (hasBig) {
    const big = medianOf(samples, "big", "edit", "lab", injectCommit);
    const small = medianOf(samples, "small", "edit", "lab", injectCommit);
    const refBig = medianOf(samples, "big", "edit", "refNecessary", (s) => s.toolMs?.["wimlib-imagex"]);
    const refSmall = medianOf(samples, "small", "edit", "refNecessary", (s) => s.toolMs?.["wimlib-imagex"]);
    const wimBig = medianOf(samples, "big", "edit", "lab", (s) => s.toolMs?.["wimlib-imagex"]);
    const wimSmall = medianOf(samples, "small", "edit", "lab", (s) => s.toolMs?.["wimlib-imagex"]);
    t.push({
      id: "inject-commit-big-vs-small",
      text: "inject+commit step with the 400 MB WIM <= 1.5x the small-WIM one",
      value: `${r2(big / small)}x (${sec(big)} s vs ${sec(small)} s)`,
      limit: "<= 1.5x",
      met: big / small <= 1.5,
      detail:
        `wimlib-imagex time in the step ${sec(wimBig)} s vs ${sec(wimSmall)} s; ` +
        `the reference's wimlib-imagex update ${sec(refBig)} s vs ${sec(refSmall)} s`,
    });
    const isoBytes = medianOf(samples, "big", "edit", "lab", (s) => s.extra?.isoBytes);
    const xo = medianOf(samples, "big", "edit", "lab", (s) => s.extra?.xorrisoMs);
    const cp = medianOf(samples, "big", "edit", "lab", (s) => s.extra?.cpMs);
    const step = medianOf(samples, "big", "edit", "lab", (s) => s.extra?.isoStepMs);
    const cpSync = medianOf(samples, "big", "edit", "lab", (s) => s.extra?.cpSyncMs);
    const mbps = (ms: number) => (isoBytes / 1e6 / (ms / 1000)).toFixed(0);
    t.push({
      id: "iso-throughput",
      text: "writing the ISO (a full write: the cold `up`) >= 0.7x the throughput of `cp` of the same bytes",
      value: `${r2(cp / xo)}x (xorriso ${mbps(xo)} MB/s vs cp ${mbps(cp)} MB/s, ${(isoBytes / 1e6).toFixed(0)} MB)`,
      limit: ">= 0.7x",
      met: cp / xo >= 0.7,
      detail: `whole WinPeIso step (xorriso + fsync + the ISO's tree digest) ${mbps(step)} MB/s = ${r2(cpSync / step)}x of cp + fsync (${mbps(cpSync)} MB/s)`,
    });
  }
  const previewTools = Math.max(
    ...(["small", "big"] as Scale[]).flatMap((s) =>
      (["preview-noop", "preview-edit", "preview-flip"] as Scenario[]).flatMap((sc) =>
        (samples[s]?.[sc]?.lab ?? []).map((x) => x.tools),
      ),
    ),
  );
  const previewCount = (["small", "big"] as Scale[]).reduce(
    (n, s) =>
      n +
      (["preview-noop", "preview-edit", "preview-flip"] as Scenario[]).reduce(
        (m, sc) => m + (samples[s]?.[sc]?.lab ?? []).length,
        0,
      ),
    0,
  );
  t.push({
    id: "preview-tools",
    text: "`preview` runs no build, mount, commit or ISO write (zero tool lines)",
    value: previewCount > 0 ? `${previewTools} (max over ${previewCount} previews)` : "not measured (--no-previews)",
    limit: "0",
    met: previewCount > 0 && previewTools === 0,
    detail: "previews of: no change, one source edited, testsigning flipped",
  });
  return [...t, ...issue18Targets(samples, stats)];
}

/** Median ms per resource (all its provider methods) in one scenario, largest first: "DriverBuild 650, ...". */
function byResource(samples: Samples, scale: Scale, sc: Scenario, n = 4): string {
  const types = new Set<string>();
  for (const x of samples[scale]?.[sc]?.lab ?? [])
    for (const k of Object.keys(x.steps ?? {})) if (k.includes(".")) types.add(k.split(".")[0]!);
  return [...types]
    .map((type) => {
      const v = medianOf(samples, scale, sc, "lab", (x) =>
        Object.entries(x.steps ?? {})
          .filter(([k]) => k.startsWith(`${type}.`))
          .reduce((a, [, ms]) => a + ms, 0),
      );
      return [type, v] as const;
    })
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([type, v]) => `${type} ${Math.round(v)} ms`)
    .join(", ");
}

/** Tool runs by tool of one scenario (median counts): "clang 5, lld-link 3". */
function toolRuns(samples: Samples, scale: Scale, sc: Scenario, v: Variant): string {
  const tools = new Set<string>();
  for (const x of samples[scale]?.[sc]?.[v] ?? []) for (const k of Object.keys(x.toolCounts ?? {})) tools.add(k);
  return [...tools]
    .sort()
    .map((tool) => `${tool} ${medianOf(samples, scale, sc, v, (x) => x.toolCounts?.[tool] ?? 0)}`)
    .join(", ");
}

/** The WinPeIso step's parts from the ISO's record (in place or whole; version, plan, journal, hash, apply). */
function isoParts(samples: Samples, scale: Scale, sc: Scenario): string {
  const e = (k: string) => medianOf(samples, scale, sc, "lab", (x) => x.extra?.[k]);
  const inPlace = e("isoInPlace");
  if (!Number.isFinite(inPlace)) return "not recorded";
  if (inPlace < 1) return `written whole (${Math.round(e("iso_totalMs"))} ms)`;
  const parts = ["version", "plan", "journal", "hash", "apply"]
    .filter((k) => Number.isFinite(e(`iso_${k}Ms`)))
    .map((k) => `${k} ${Math.round(e(`iso_${k}Ms`))}`)
    .join(", ");
  const kept = e("isoKeptByRecord");
  const how = !Number.isFinite(kept)
    ? ""
    : kept >= 1
      ? "boot.wim's kept part known from the record of its appends; "
      : "boot.wim's kept part compared byte for byte; ";
  return `in place, ${(e("isoWritten") / 1024).toFixed(0)} KiB written; ${how}${parts} ms`;
}

/**
 * Issue 18's targets: the edit loop at the speed of the tools it must run. Each one not met says where the time
 * goes (measured in the same run).
 */
export function issue18Targets(samples: Samples, stats: Stats): Target[] {
  const t: Target[] = [];
  const m = (scale: Scale, sc: Scenario, v: Variant) => stats[scale]?.[sc]?.[v]?.median ?? Number.NaN;
  const hasBig = !!stats.big;
  const top: Scale = hasBig ? "big" : "small";
  const topName = hasBig ? "400 MiB WIM" : "small WIM (no big WIM measured)";

  // 1. one-source edit: (lab - floor) / script necessary
  {
    const lab = m(top, "edit", "lab");
    const floor = m(top, "edit", "floor");
    const ref = m(top, "edit", "refNecessary");
    const r = (lab - floor) / ref;
    const prov = medianOf(samples, top, "edit", "lab", (s) => s.steps?.providerTotal);
    const prog = medianOf(samples, top, "edit", "lab", (s) => s.steps?.program);
    const progFloor = medianOf(samples, top, "edit", "floor", (s) => s.steps?.program);
    const tools = medianOf(samples, top, "edit", "lab", (s) =>
      Object.values(s.toolMs ?? {}).reduce((a, b) => a + b, 0),
    );
    t.push({
      issue: 18,
      id: "i18-edit-over-floor-vs-script",
      text: `one-source edit, ${topName}: (lab − floor) / script-necessary`,
      value: `${r2(r)}x ((${sec(lab)} − ${sec(floor)}) s vs ${sec(ref)} s)`,
      limit: "<= 1.0x",
      met: r <= 1.0,
      detail:
        `winpe-lab adds ${sec(lab - floor)} s over the floor: provider calls ${sec(prov)} s (${byResource(samples, top, "edit")}), ` +
        `of which tool runs ${sec(tools)} s; the program process lives ${sec(prog)} s vs the floor's ${sec(progFloor)} s`,
    });
  }
  // 2. one-source edit: tool runs lab vs script
  {
    const lab = Math.max(...(["small", "big"] as Scale[]).map((s) => stats[s]?.edit?.lab?.toolsMedian ?? 0));
    const ref = Math.max(...(["small", "big"] as Scale[]).map((s) => stats[s]?.edit?.refNecessary?.toolsMedian ?? 0));
    t.push({
      issue: 18,
      id: "i18-edit-tool-runs",
      text: "one-source edit: tool runs, lab vs script",
      value: `${lab} vs ${ref}`,
      limit: "<= 6",
      met: lab <= 6,
      detail: `lab: ${toolRuns(samples, "small", "edit", "lab")}; script: ${toolRuns(samples, "small", "edit", "refNecessary")}`,
    });
  }
  // 3. the ISO step after an edit, big vs small
  if (hasBig) {
    const step = (scale: Scale, sc: Scenario) =>
      medianOf(samples, scale, sc, "lab", (s) => s.steps?.["WinPeIso.update"]);
    const big = step("big", "edit");
    const small = step("small", "edit");
    const e = (k: string) => medianOf(samples, "big", "edit", "lab", (x) => x.extra?.[k]);
    t.push({
      issue: 18,
      id: "i18-iso-step-big-vs-small",
      text: "ISO step (WinPeIso update) after an edit, 400 MiB vs small WIM",
      value: `${r2(big / small)}x (${Math.round(big)} ms vs ${Math.round(small)} ms)`,
      limit: "<= 2x",
      met: big / small <= 2,
      detail:
        `big: ${isoParts(samples, "big", "edit")}; small: ${isoParts(samples, "small", "edit")}; ` +
        `a sha256 of the ${(e("isoBytes") / 1e6).toFixed(0)} MB ISO alone takes ${Math.round(e("isoSha256Ms"))} ms here, reading it ${Math.round(e("isoReadMs"))} ms ` +
        `(an update hashes only the 1 MiB pieces it changes: the ISO's identity is a tree digest); ` +
        `after the testsigning flip: ${Math.round(step("big", "flip"))} ms vs ${Math.round(step("small", "flip"))} ms (${isoParts(samples, "big", "flip")}); ` +
        `the full write before (cold up): ${Math.round(medianOf(samples, "big", "cold", "lab", (s) => s.steps?.["WinPeIso.create"]))} ms`,
    });
  }
  // 4. no-op up vs the engine floor
  {
    const r = m("small", "noop", "lab") / m("small", "noop", "floor");
    t.push({
      issue: 18,
      id: "i18-noop-vs-floor",
      text: "no-op `up` / engine floor",
      value: `${r2(r)}x (${sec(m("small", "noop", "lab"))} s vs ${sec(m("small", "noop", "floor"))} s)`,
      limit: "<= 1.1x",
      met: r <= 1.1,
      detail:
        `program process ${sec(medianOf(samples, "small", "noop", "lab", (s) => s.steps?.program))} s vs the floor's ` +
        `${sec(medianOf(samples, "small", "noop", "floor", (s) => s.steps?.program))} s; provider calls ` +
        `${sec(medianOf(samples, "small", "noop", "lab", (s) => s.steps?.providerTotal))} s (${byResource(samples, "small", "noop")}); ` +
        (stats.small?.["noop-dist"]
          ? `the probe with the program loaded from dist/: ${r2(m("small", "noop-dist", "lab") / m("small", "noop", "floor"))}x`
          : "the program already runs from dist/ (no probe)"),
    });
  }
  // 5. cold up, big WIM, vs the script's full run
  {
    const lab = m(top, "cold", "lab");
    const ref = m(top, "cold", "refFull");
    const r = lab / ref;
    t.push({
      issue: 18,
      id: "i18-cold-vs-script-full",
      text: `cold \`up\`, ${topName} / script full`,
      value: `${r2(r)}x (${sec(lab)} s vs ${sec(ref)} s)`,
      limit: "<= 1.5x",
      met: r <= 1.5,
      detail:
        `the engine floor alone ${sec(m(top, "cold", "floor"))} s; provider calls ` +
        `${sec(medianOf(samples, top, "cold", "lab", (s) => s.steps?.providerTotal))} s (${byResource(samples, top, "cold")}); ` +
        `tool runs ${stats[top]?.cold?.lab?.toolsMedian} vs the script's ${stats[top]?.cold?.refFull?.toolsMedian}`,
    });
  }
  return t;
}

const LABELS: Record<Scenario, string> = {
  cold: "cold `up`",
  noop: "no-op `up`",
  edit: "one source edited",
  flip: "testsigning flipped",
  destroy: "`destroy`",
  "preview-noop": "`preview`, no change",
  "preview-edit": "`preview`, source edited",
  "preview-flip": "`preview`, testsigning flipped",
  "noop-dist": "no-op `up`, program from dist/ (fix probe)",
};
const ORDER: Scenario[] = [
  "cold",
  "noop",
  "edit",
  "flip",
  "destroy",
  "preview-noop",
  "preview-edit",
  "preview-flip",
  "noop-dist",
];

function cell(s: Stat | undefined): string {
  if (!s) return "—";
  return `${sec(s.median)} (${sec(s.min)}–${sec(s.max)})`;
}

function ratio(a: Stat | undefined, b: Stat | undefined): string {
  if (!a || !b || b.median <= 0) return "—";
  return `${r2(a.median / b.median)}x`;
}

export function markdown(
  stats: Stats,
  samples: Samples,
  targets: Target[],
  meta: { arch: string; runs: number; scales: Scale[]; bigMiB: number; load: string; machine: string[] },
): string {
  const lines: string[] = [];
  lines.push(`# winpe-lab benchmark (${meta.arch}, ${meta.runs} run(s) per scenario)`);
  lines.push("");
  lines.push(
    "Seconds: median (min–max). **lab**: winpe-lab's demo stack (the project's `pulumi` CLI: `up --yes --skip-preview`, " +
      "`preview`, `destroy`; open toolchain, no QEMU boot check); **floor**: the same resource graph with every provider returning at once (bench/floor-program.ts); " +
      "**script**: the manual workflow's tools run directly (bench/reference.ts), *necessary* = only the steps the change needs, " +
      "*full* = a script's rerun of everything. Tools: external tool runs (WINPE_TOOL_LOG lines), median. " +
      "See bench/README.md for the method and the analysis.",
  );
  lines.push("");
  for (const scale of meta.scales) {
    const by = stats[scale];
    if (!by) continue;
    lines.push(
      `## ${scale === "small" ? "small boot.wim (synthetic, ~10 KB)" : `big boot.wim (+${meta.bigMiB} MiB incompressible, LZX)`}`,
    );
    lines.push("");
    lines.push(
      "| scenario | lab s | tools | floor s | lab/floor | script necessary s | tools | lab/necessary | script full s | tools | lab/full |",
    );
    lines.push("|---|---|---|---|---|---|---|---|---|---|---|");
    for (const sc of ORDER) {
      const v = by[sc];
      if (!v) continue;
      lines.push(
        `| ${LABELS[sc]} | ${cell(v.lab)} | ${v.lab?.toolsMedian ?? "—"} | ${cell(v.floor)} | ${ratio(v.lab, v.floor)} | ` +
          `${cell(v.refNecessary)} | ${v.refNecessary?.toolsMedian ?? "—"} | ${ratio(v.lab, v.refNecessary)} | ` +
          `${cell(v.refFull)} | ${v.refFull?.toolsMedian ?? "—"} | ${ratio(v.lab, v.refFull)} |`,
      );
    }
    lines.push("");
    // where the time goes (lab, medians)
    const cols = ["cold", "noop", "edit", "flip", "destroy"] as Scenario[];
    const med = (sc: Scenario, f: (s: Sample) => number | undefined) => medianOf(samples, scale, sc, "lab", f);
    const fmt = (x: number) => (Number.isFinite(x) ? String(Math.round(x)) : "");
    lines.push(
      "Where winpe-lab's time goes (median ms): *program* = the program process's lifetime (language host: TypeScript load of " +
        "the program, composition, waiting for resources); *providers* = time inside provider calls (incl. their tools); " +
        "*tools* = summed tool durations; *lab − floor* = what winpe-lab adds to the engine's own cost.",
    );
    lines.push("");
    lines.push(`| | ${cols.join(" | ")} |`);
    lines.push(`|---|${cols.map(() => "---").join("|")}|`);
    const rows: Array<[string, (sc: Scenario) => number]> = [
      ["lab (total)", (sc) => stats[scale]?.[sc]?.lab?.median ?? Number.NaN],
      ["floor (total)", (sc) => stats[scale]?.[sc]?.floor?.median ?? Number.NaN],
      [
        "lab − floor",
        (sc) => (stats[scale]?.[sc]?.lab?.median ?? Number.NaN) - (stats[scale]?.[sc]?.floor?.median ?? Number.NaN),
      ],
      ["program (lab)", (sc) => med(sc, (s) => s.steps?.program)],
      ["program (floor)", (sc) => medianOf(samples, scale, sc, "floor", (s) => s.steps?.program)],
      ["providers (lab)", (sc) => med(sc, (s) => s.steps?.providerTotal ?? 0)],
      ["tools (lab)", (sc) => med(sc, (s) => Object.values(s.toolMs ?? {}).reduce((a, b) => a + b, 0))],
    ];
    for (const [label, f] of rows) lines.push(`| ${label} | ${cols.map((sc) => fmt(f(sc))).join(" | ")} |`);
    lines.push("");
    lines.push("Provider time by resource (lab, median ms, all methods incl. the first load of its module):");
    lines.push("");
    lines.push(`| resource | ${cols.join(" | ")} |`);
    lines.push(`|---|${cols.map(() => "---").join("|")}|`);
    const types = new Set<string>();
    for (const sc of cols)
      for (const x of samples[scale]?.[sc]?.lab ?? [])
        for (const k of Object.keys(x.steps ?? {})) if (k.includes(".")) types.add(k.split(".")[0]);
    for (const type of [...types].sort()) {
      const vals = cols.map((sc) => {
        const total = med(sc, (x) =>
          Object.entries(x.steps ?? {})
            .filter(([k]) => k.startsWith(`${type}.`))
            .reduce((a, [, v]) => a + v, 0),
        );
        const main = (["create", "update", "delete"] as const)
          .map((m) => [m, med(sc, (x) => x.steps?.[`${type}.${m}`])] as const)
          .find(([, v]) => Number.isFinite(v) && v > 0);
        return `${fmt(total)}${main ? ` (${main[0]} ${fmt(main[1])})` : ""}`;
      });
      lines.push(`| ${type} | ${vals.join(" | ")} |`);
    }
    lines.push("");
    lines.push("Tool runs by tool (lab, median count / summed ms):");
    lines.push("");
    lines.push(`| tool | ${cols.join(" | ")} |`);
    lines.push(`|---|${cols.map(() => "---").join("|")}|`);
    const tools = new Set<string>();
    for (const sc of cols)
      for (const s of samples[scale]?.[sc]?.lab ?? []) for (const k of Object.keys(s.toolCounts ?? {})) tools.add(k);
    for (const tool of [...tools].sort()) {
      const vals = cols.map((sc) => {
        const c = medianOf(samples, scale, sc, "lab", (s) => s.toolCounts?.[tool] ?? 0);
        const ms = medianOf(samples, scale, sc, "lab", (s) => s.toolMs?.[tool] ?? 0);
        return c ? `${c} / ${Math.round(ms)}` : "";
      });
      lines.push(`| ${tool} | ${vals.join(" | ")} |`);
    }
    lines.push("");
  }
  for (const issue of [18, 9]) {
    const these = targets.filter((x) => (x.issue ?? 9) === issue);
    if (these.length === 0) continue;
    lines.push(`## Targets (issue ${issue})`);
    lines.push("");
    lines.push("| target | value | limit | met | details |");
    lines.push("|---|---|---|---|---|");
    for (const x of these)
      lines.push(`| ${x.text} | ${x.value} | ${x.limit} | ${x.met ? "yes" : "**no**"} | ${x.detail} |`);
    lines.push("");
  }
  lines.push(`Load average during the run: ${meta.load}`);
  lines.push("");
  lines.push("Machine:");
  lines.push("");
  lines.push("```");
  lines.push(...meta.machine);
  lines.push("```");
  lines.push("");
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------------
// Chart
// ---------------------------------------------------------------------------------------------------

const COLORS: Record<Variant, string> = {
  lab: "#1f6fb4",
  floor: "#9aa5b1",
  refNecessary: "#2e9d57",
  refFull: "#e0892b",
};
const VARIANT_LABEL: Record<Variant, string> = {
  lab: "winpe-lab (pulumi up)",
  floor: "engine floor",
  refNecessary: "script, necessary steps",
  refFull: "script, full rerun",
};

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** A grouped horizontal bar chart (median bar, min–max whisker) per scale, as SVG. */
export function chartSvg(stats: Stats, scales: Scale[], title: string, bigMiB: number): string {
  const scenarios: Scenario[] = ["cold", "noop", "edit", "flip", "destroy", "preview-edit"];
  const variants: Variant[] = ["lab", "floor", "refNecessary", "refFull"];
  const barH = 11;
  const groupGap = 14;
  const panelW = 520;
  const labelW = 150;
  const top = 92;
  const panels = scales.filter((s) => stats[s]);
  const groupH = variants.length * barH + groupGap;
  const height = top + scenarios.length * groupH + 60;
  const width = Math.max(760, labelW + panels.length * (panelW + 80) + 20);
  let maxMs = 0;
  for (const s of panels)
    for (const sc of scenarios) for (const v of variants) maxMs = Math.max(maxMs, stats[s]?.[sc]?.[v]?.max ?? 0);
  const maxS = Math.max(1, Math.ceil(maxMs / 1000 / 5) * 5);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, sans-serif">`,
  );
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  out.push(`<text x="12" y="24" font-size="17" font-weight="bold">${esc(title)}</text>`);
  // legend: one row of swatches, the reading hint below
  let lx = 12;
  for (const v of variants) {
    out.push(`<rect x="${lx}" y="36" width="12" height="12" fill="${COLORS[v]}"/>`);
    out.push(`<text x="${lx + 16}" y="46" font-size="12">${esc(VARIANT_LABEL[v])}</text>`);
    lx += 28 + Math.round(VARIANT_LABEL[v].length * 6.6);
  }
  out.push(
    `<text x="12" y="66" font-size="11" fill="#444">bar: median; black line: min–max over the runs; seconds. ` +
      `Script "necessary" of a no-op is nothing to do.</text>`,
  );
  panels.forEach((scale, pi) => {
    const x0 = labelW + pi * (panelW + 80);
    const px = (ms: number) => x0 + (ms / 1000 / maxS) * panelW;
    const name = scale === "small" ? "small boot.wim" : `boot.wim + ${bigMiB} MiB`;
    out.push(`<text x="${x0}" y="${top - 6}" font-size="13" font-weight="bold">${esc(name)}</text>`);
    for (let s = 0; s <= maxS; s += maxS <= 20 ? 2 : 5) {
      const x = px(s * 1000);
      out.push(`<line x1="${x}" y1="${top}" x2="${x}" y2="${top + scenarios.length * groupH}" stroke="#e3e3e3"/>`);
      out.push(
        `<text x="${x}" y="${top + scenarios.length * groupH + 16}" font-size="11" text-anchor="middle">${s}</text>`,
      );
    }
    out.push(
      `<text x="${x0 + panelW / 2}" y="${top + scenarios.length * groupH + 34}" font-size="12" text-anchor="middle">seconds</text>`,
    );
    scenarios.forEach((sc, si) => {
      const gy = top + si * groupH;
      if (pi === 0) {
        out.push(
          `<text x="${labelW - 8}" y="${gy + (variants.length * barH) / 2 + 4}" font-size="12" text-anchor="end">${esc(LABELS[sc].replace(/`/g, ""))}</text>`,
        );
      }
      variants.forEach((v, vi) => {
        const st = stats[scale]?.[sc]?.[v];
        const y = gy + vi * barH;
        if (!st) return;
        out.push(
          `<rect x="${x0}" y="${y + 1}" width="${Math.max(1, px(st.median) - x0)}" height="${barH - 2}" fill="${COLORS[v]}"/>`,
        );
        out.push(
          `<line x1="${px(st.min)}" y1="${y + barH / 2}" x2="${px(st.max)}" y2="${y + barH / 2}" stroke="#222" stroke-width="1"/>`,
        );
        out.push(
          `<text x="${px(st.max) + 4}" y="${y + barH - 2}" font-size="9" fill="#333">${(st.median / 1000).toFixed(2)}</text>`,
        );
      });
    });
  });
  out.push("</svg>");
  return out.join("\n");
}
