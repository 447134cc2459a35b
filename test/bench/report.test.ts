/**
 * The benchmark harness's pure parts (no engine, no tools): the CLI change-summary parser, the floor providers'
 * derived outputs (the same resources must update as in the real program), the statistics and target checks,
 * and the chart's SVG.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Sample, Samples } from "../../bench/common";
import { parseChanges } from "../../bench/engine-runs";
import { chartSvg, evaluateTargets, statsOf } from "../../bench/report";

describe("bench: pulumi CLI change summaries", () => {
  it("reads up, preview and destroy summaries", () => {
    expect(parseChanges("Updating (x):\n...\nResources:\n    + 9 created\n\nDuration: 5s\n")).toEqual({ create: 9 });
    expect(parseChanges("Resources:\n    ~ 5 updated\n    4 unchanged\n\nDuration: 3s\n")).toEqual({
      update: 5,
      same: 4,
    });
    expect(parseChanges("Previewing update (x):\nResources:\n    ~ 3 to update\n    6 unchanged\n")).toEqual({
      update: 3,
      same: 6,
    });
    expect(parseChanges("Resources:\n    - 9 deleted\n\nDuration: 1s\n")).toEqual({ delete: 9 });
    expect(parseChanges("no summary here")).toEqual({});
  });
});

describe("bench: floor providers", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "winpe-bench-floor-"));
  const shapes = {
    InjectedFiles: { extraOutputs: { staged: { "Windows/Ioctl/a.sys": { original: null, size: 10 } }, drift: [] } },
    BcdSettings: { extraOutputs: { effective: {}, storeHashes: {} } },
  };
  fs.writeFileSync(path.join(dir, "shapes.json"), JSON.stringify(shapes));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  process.env.WINPE_FLOOR_SHAPES = path.join(dir, "shapes.json");
  // biome-ignore lint/suspicious/noExplicitAny: plain JS module
  const floor = require("../../bench/floor-provider.js") as (kind: string) => any;

  it("returns at once with outputs that follow the inputs that feed other resources", async () => {
    const inject = floor("InjectedFiles");
    const a = { mount: { wim: "/w" }, files: { "Windows/Ioctl/a.sys": { source: "/b/a.sys", revision: "r1" } } };
    const b = { ...a, files: { "Windows/Ioctl/a.sys": { source: "/b/a.sys", revision: "r2" } } };
    const ca = await inject.create(a);
    const cb = await inject.create(b);
    expect(ca.outs.contentHash).toMatch(/^[0-9a-f]{64}$/);
    expect(ca.outs.contentHash).not.toBe(cb.outs.contentHash);
    expect((await inject.diff("id", ca.outs, a)).changes).toBe(false);
    expect((await inject.diff("id", ca.outs, b)).changes).toBe(true);
    const bcd = floor("BcdSettings");
    const on = await bcd.create({ stores: ["/m/BCD"], flags: { testsigning: "on" } });
    const off = await bcd.create({ stores: ["/m/BCD"], flags: { testsigning: "off" } });
    expect(on.outs.storeHashes["/m/BCD"]).not.toBe(off.outs.storeHashes["/m/BCD"]);
  });
});

describe("bench: statistics, targets, chart", () => {
  const s = (ms: number, extra: Partial<Sample> = {}): Sample => ({ ms, tools: 0, ...extra });
  const samples: Samples = {
    small: {
      noop: { lab: [s(1200), s(1100), s(1300)], floor: [s(1000), s(1000), s(1000)] },
      cold: { lab: [s(4000)], floor: [s(1500)] },
      edit: { lab: [s(1900, { tools: 6 })], refNecessary: [s(1800, { tools: 6 })], floor: [s(1100)] },
      "preview-edit": { lab: [s(900)] },
    },
  };

  it("medians, min and max; targets met or not from the ratios", () => {
    const stats = statsOf(samples);
    expect(stats.small?.noop?.lab).toMatchObject({ median: 1200, min: 1100, max: 1300, n: 3 });
    const t = Object.fromEntries(evaluateTargets(samples, stats).map((x) => [x.id, x.met]));
    expect(t["noop-tools"]).toBe(true);
    expect(t["noop-vs-floor"]).toBe(true); // 1.2x
    expect(t["edit-vs-reference-small"]).toBe(true); // 1.06x
    expect(t["edit-vs-cold-small"]).toBe(true); // 0.475x
    expect(t["preview-tools"]).toBe(true);
  });

  it("issue 18's targets: edit over the floor vs the script, tool runs, the ISO step big vs small, no-op, cold", () => {
    const iso = (upMs: number, stepMs: number, extra: Record<string, number>) =>
      s(upMs, { tools: 15, steps: { "WinPeIso.update": stepMs, providerTotal: 900 }, extra });
    const all: Samples = {
      small: {
        ...samples.small,
        noop: { lab: [s(1050)], floor: [s(1000)] },
        edit: {
          lab: [iso(4000, 60, { isoInPlace: 1, isoWritten: 4096, iso_hashMs: 5 })],
          floor: [s(2500)],
          refNecessary: [s(300, { tools: 6 })],
        },
      },
      big: {
        cold: { lab: [s(8000)], refFull: [s(3000)], floor: [s(2700)] },
        edit: {
          lab: [
            iso(5500, 480, { isoInPlace: 1, isoWritten: 450_000, iso_hashMs: 400, isoBytes: 421e6, isoSha256Ms: 300 }),
          ],
          floor: [s(2500)],
          refNecessary: [s(2000, { tools: 6 })],
        },
      },
    };
    const t = evaluateTargets(all, statsOf(all)).filter((x) => x.issue === 18);
    const by = Object.fromEntries(t.map((x) => [x.id, x]));
    expect(Object.keys(by).sort()).toEqual([
      "i18-cold-vs-script-full",
      "i18-edit-over-floor-vs-script",
      "i18-edit-tool-runs",
      "i18-iso-step-big-vs-small",
      "i18-noop-vs-floor",
    ]);
    expect(by["i18-iso-step-big-vs-small"]!.met).toBe(false); // 8x
    expect(by["i18-iso-step-big-vs-small"]!.detail).toMatch(/big: in place, 439 KiB written; .*hash 400/);
    expect(by["i18-edit-tool-runs"]!.value).toBe("15 vs 6");
    expect(by["i18-edit-tool-runs"]!.met).toBe(false);
    expect(by["i18-noop-vs-floor"]!.met).toBe(true); // 1.05x
    expect(by["i18-cold-vs-script-full"]!.met).toBe(false); // 2.67x
    expect(by["i18-edit-over-floor-vs-script"]!.value).toMatch(/^1\.50x/); // (5.5 - 2.5) / 2
    expect(by["i18-edit-over-floor-vs-script"]!.met).toBe(false);
  });

  it("draws an SVG with the scenarios and the variants", () => {
    const svg = chartSvg(statsOf(samples), ["small"], "title", 400);
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain("no-op up");
    expect(svg).toContain("engine floor");
    expect(svg.trim().endsWith("</svg>")).toBe(true);
  });
});
