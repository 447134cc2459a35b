/**
 * `npm run bench [-- --arch amd64|arm64] [--runs N] [--scales small,big] [--big-mib N] [--no-previews] [--keep] | --report-only`
 *
 * Runs each scenario (cold up, no-op up, one driver source edited, testsigning flipped, destroy, and the previews)
 * N times for winpe-lab's demo stack, the engine floor and the reference script, with the synthetic boot.wim and
 * with a big one, and writes bench/results.json, bench/results.md and bench/results.png. Needs the set-up
 * (scripts/bench.sh runs it: dist/ must be current, the providers load it at call time).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runTool } from "../runtime/exec";
import { REPO_ROOT, scratchDir } from "../test/helpers/pulumi";
import { copype } from "../toolchains/open/copype";
import { ensureBigWim } from "./bigwim";
import {
  type Arch,
  BENCH_DIR,
  log,
  median,
  nowMs,
  OUT_DIR,
  push,
  type Samples,
  type Scale,
  type Scenario,
} from "./common";
import { runFloor, runLab } from "./engine-runs";
import { runReference } from "./reference";
import { chartSvg, evaluateTargets, markdown, statsOf } from "./report";

interface Options {
  arch: Arch;
  runs: number;
  scales: Scale[];
  bigMiB: number;
  previews: boolean;
  keep: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { arch: "amd64", runs: 3, scales: ["small", "big"], bigMiB: 400, previews: true, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--arch") {
      const v = next();
      if (v === "x64" || v === "amd64") o.arch = "amd64";
      else if (v === "arm64" || v === "aarch64") o.arch = "arm64";
      else throw new Error(`--arch must be amd64 or arm64 (got ${v})`);
    } else if (a === "--runs") {
      o.runs = Number(next());
      if (!Number.isInteger(o.runs) || o.runs < 1 || o.runs > 20) throw new Error("--runs must be 1 to 20");
    } else if (a === "--scales") {
      const v = next().split(",");
      if (v.some((s) => s !== "small" && s !== "big") || v.length === 0)
        throw new Error("--scales takes small, big or small,big");
      o.scales = v as Scale[];
    } else if (a === "--big-mib") {
      o.bigMiB = Number(next());
      if (!Number.isInteger(o.bigMiB) || o.bigMiB < 1 || o.bigMiB > 4096)
        throw new Error("--big-mib must be 1 to 4096");
    } else if (a === "--no-previews") o.previews = false;
    else if (a === "--keep") o.keep = true;
    else if (a === "--help" || a === "-h") {
      console.log(
        "usage: npm run bench [-- --arch amd64|arm64] [--runs N] [--scales small,big] [--big-mib N] [--no-previews] [--keep]",
      );
      process.exit(0);
    } else throw new Error(`unknown argument ${a} (see --help)`);
  }
  return o;
}

async function machineInfo(): Promise<string[]> {
  const out: string[] = [];
  const cmd = async (label: string, tool: string, args: string[], keep = 100) => {
    try {
      const r = await runTool(tool, args, { resource: "bench(machine)" });
      out.push(`$ ${label}`, ...r.stdout.trimEnd().split("\n").slice(0, keep));
    } catch (e) {
      out.push(`$ ${label}: ${(e as Error).message}`);
    }
  };
  await cmd("nproc", "nproc", []);
  await cmd("lscpu | head -16", "lscpu", [], 16);
  await cmd(`df -h ${REPO_ROOT}`, "df", ["-h", REPO_ROOT]);
  await cmd("free -m", "free", ["-m"]);
  out.push(`node ${process.version}, ${os.type()} ${os.release()}`);
  return out;
}

function loadavg(): string {
  return os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");
}

/** How long a fresh Node process takes to load the program's modules, TypeScript (as the engine runs it) vs dist/. */
async function programLoadDiagnostics(): Promise<Record<string, number>> {
  const node = process.execPath;
  const time = async (args: string[]) => {
    const xs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = nowMs();
      await runTool(node, args, { cwd: REPO_ROOT, env: { TS_NODE_TRANSPILE_ONLY: "true" }, resource: "bench(diag)" });
      xs.push(nowMs() - t0);
    }
    return Math.round(median(xs));
  };
  return {
    nodeBareMs: await time(["-e", "0"]),
    pulumiSdkMs: await time(["-e", 'require("@pulumi/pulumi")']),
    programTsMs: await time([
      "-r",
      "ts-node/register/transpile-only",
      "-e",
      'require("@pulumi/pulumi"); require("./resources/program"); require("./stack/config")',
    ]),
    programDistMs: await time([
      "-e",
      'require("@pulumi/pulumi"); require("./dist/resources/program.js"); require("./dist/stack/config.js")',
    ]),
    floorTsMs: await time([
      "-r",
      "ts-node/register/transpile-only",
      "-e",
      'require("@pulumi/pulumi"); require("./resources/providers/shell")',
    ]),
  };
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  delete process.env.WINPE_TOOL_LOG; // tool logs are per stack / per reference workspace
  const started = nowMs();
  const loads: string[] = [`start ${loadavg()}`];
  log(`arch ${o.arch}, ${o.runs} run(s), scales ${o.scales.join(",")}, load average ${loadavg()}`);
  fs.mkdirSync(OUT_DIR, { recursive: true });

  let bigWim: string | undefined;
  if (o.scales.includes("big")) {
    const tmp = scratchDir("bench-bigwim");
    try {
      const cp = await copype(o.arch, path.join(tmp, "ws"));
      bigWim = await ensureBigWim(o.arch, cp.bootWim, o.bigMiB);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }

  const samples: Samples = {};
  const shapesFile = path.join(OUT_DIR, `floor-shapes-${o.arch}.json`);
  for (let run = 1; run <= o.runs; run++) {
    for (const scale of o.scales) {
      log(`run ${run}/${o.runs}, ${scale} WIM (load average ${loadavg()})`);
      const lab = await runLab({
        arch: o.arch,
        scale,
        bigWim: scale === "big" ? bigWim : undefined,
        shapesFile: run === 1 && scale === o.scales[0] ? shapesFile : undefined,
        previews: o.previews,
        keep: o.keep,
      });
      for (const [sc, s] of Object.entries(lab.samples)) push(samples, scale, sc as Scenario, "lab", s);
      const ref = await runReference({ arch: o.arch, scale, bigWim: scale === "big" ? bigWim : undefined });
      for (const [sc, s] of Object.entries(ref.full)) push(samples, scale, sc as Scenario, "refFull", s);
      for (const [sc, s] of Object.entries(ref.necessary)) push(samples, scale, sc as Scenario, "refNecessary", s);
      if (scale === o.scales[0]) {
        // the floor touches no file: one floor run per round serves both scales
        const floor = await runFloor({ shapesFile, previews: o.previews, keep: o.keep });
        for (const s of o.scales)
          for (const [sc, x] of Object.entries(floor.samples)) push(samples, s, sc as Scenario, "floor", x);
      }
    }
    loads.push(`after run ${run} ${loadavg()}`);
  }

  log("diagnostics: program load time in a fresh Node process");
  const diagnostics = await programLoadDiagnostics();
  const machine = await machineInfo();
  const totalSeconds = Math.round((nowMs() - started) / 1000);
  const meta: Meta = {
    arch: o.arch,
    runs: o.runs,
    scales: o.scales,
    bigMiB: o.bigMiB,
    load: loads.join("; "),
    machine,
    totalSeconds,
    date: new Date().toISOString(),
  };
  await writeResults(meta, samples, diagnostics);
  log(`wrote bench/results.json, bench/results.md, bench/results.png in ${totalSeconds} s`);
}

interface Meta {
  arch: Arch;
  runs: number;
  scales: Scale[];
  bigMiB: number;
  load: string;
  machine: string[];
  totalSeconds: number;
  date: string;
}

/** results.json, results.md (printed too) and results.png from the samples. */
async function writeResults(meta: Meta, samples: Samples, diagnostics: Record<string, number>): Promise<void> {
  const stats = statsOf(samples);
  const targets = evaluateTargets(samples, stats);
  fs.writeFileSync(
    path.join(BENCH_DIR, "results.json"),
    `${JSON.stringify({ meta, stats, targets, diagnostics, samples }, null, 1)}\n`,
  );
  let md = markdown(stats, samples, targets, meta);
  md += `Program load in a fresh Node process (median of 3, ms): ${Object.entries(diagnostics)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ")}.\n\nTotal bench time: ${meta.totalSeconds} s (${meta.date}).\n`;
  fs.writeFileSync(path.join(BENCH_DIR, "results.md"), md);
  const svg = chartSvg(
    stats,
    meta.scales,
    `winpe-lab iteration loop, ${meta.arch} (median of ${meta.runs})`,
    meta.bigMiB,
  );
  const svgFile = path.join(OUT_DIR, "results.svg");
  fs.mkdirSync(OUT_DIR, { recursive: true });
  fs.writeFileSync(svgFile, svg);
  await runTool(
    "rsvg-convert",
    ["--format", "png", "--zoom", "1.4", "--output", path.join(BENCH_DIR, "results.png"), svgFile],
    {
      resource: "bench(chart)",
    },
  );
  console.log(md);
}

/** `--report-only`: rewrite results.md and results.png from bench/results.json (after a change to the report). */
async function reportOnly(): Promise<void> {
  const data = JSON.parse(fs.readFileSync(path.join(BENCH_DIR, "results.json"), "utf8")) as {
    meta: Meta;
    samples: Samples;
    diagnostics: Record<string, number>;
  };
  await writeResults(data.meta, data.samples, data.diagnostics);
}

(process.argv.includes("--report-only") ? reportOnly() : main()).catch((e) => {
  console.error(`[bench] failed: ${(e as Error).stack ?? e}`);
  process.exit(1);
});
