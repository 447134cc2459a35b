/**
 * The bad-input corpus (issue 8, part 2): every case in cases.ts is refused with one clear message naming the
 * field or file, and leaves its scratch workspace (copype working folders with their WIMs and BCD stores, the
 * fixture stores, the example project, the lock folder) byte-identical. Prints the case table at the end.
 */
import * as fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setProgressFallback } from "../../resources/runtime/progress";
import { type BadInputCase, CASES } from "./cases";
import { EngineProgram } from "./engine";
import { failed, messageOf, type Outcome, Scratch, snapshot, snapshotDiff, summarize } from "./workspace";

const STACK_TRACE = /^\s+at .+(\(.*:\d+:\d+\)|:\d+:\d+)$/m;

describe("bad-input corpus", () => {
  const scratch = new Scratch();
  const engine = new EngineProgram();
  const engineReady = EngineProgram.available();
  const table: Array<{ c: BadInputCase; outcome: string; verdict: string }> = [];
  const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");
  const progress: string[] = [];
  const savedLockDir = process.env.WINPE_LAB_LOCK_DIR;

  beforeAll(async () => {
    setProgressFallback((l) => progress.push(l));
    await scratch.init();
  });

  afterAll(async () => {
    await engine.dispose();
    scratch.dispose();
    if (savedLockDir === undefined) delete process.env.WINPE_LAB_LOCK_DIR;
    else process.env.WINPE_LAB_LOCK_DIR = savedLockDir;
    const rows = table.map(
      (r) => `| ${cell(r.c.name)} | ${cell(r.c.via)} | ${cell(r.c.bad)} | ${cell(r.verdict)} | ${cell(r.outcome)} |`,
    );
    const text = [
      `bad-input corpus: ${table.length} cases`,
      "| case | via | what is bad | verdict | outcome |",
      "| --- | --- | --- | --- | --- |",
      ...rows,
    ].join("\n");
    console.log(text);
    // BAD_INPUTS_TABLE=<file>: also write the table there (for reports)
    if (process.env.BAD_INPUTS_TABLE) fs.writeFileSync(process.env.BAD_INPUTS_TABLE, `${text}\n`);
  });

  it("has at least 40 cases with unique names, covering every area", () => {
    expect(CASES.length).toBeGreaterThanOrEqual(40);
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
    const areas = new Set(CASES.map((c) => c.area));
    for (const a of ["config", "engine", "bcd", "wim", "project", "arch", "destination", "iso", "tool"]) {
      expect(areas, a).toContain(a);
    }
  });

  for (const c of CASES) {
    const title = c.knownBug ? `[KNOWN BUG] ${c.name}` : c.name;
    const skip = c.area === "engine" && !engineReady;
    const test = skip ? it.skip : c.knownBug ? it.fails : it;
    test(title, async () => {
      const ws = scratch.workspace();
      process.env.WINPE_LAB_LOCK_DIR = ws.locks;
      await c.setup?.(ws);
      const before = snapshot(ws.root);
      let outcome: Outcome | undefined;
      let verdict = "FAILED";
      let failure = "";
      try {
        outcome = await c.run({ ws, engine });
        const after = snapshot(ws.root);
        const message = messageOf(outcome);
        const pattern = typeof c.expect === "function" ? c.expect(ws) : c.expect;
        const why = `${c.name}\n${summarize(outcome)}\n${message}`;
        expect(failed(outcome), why).toBe(true);
        expect(message, why).toMatch(pattern);
        expect(message.split("\n").length, why).toBeLessThanOrEqual(c.maxLines ?? 1);
        expect(message, why).not.toMatch(STACK_TRACE);
        if (outcome.kind === "engine") expect(outcome.output, why).not.toMatch(STACK_TRACE);
        if (outcome.kind === "exit") expect(outcome.code, why).toBeLessThan(128);
        const changed = snapshotDiff(before, after);
        if (changed.length > 0) failure = `the workspace changed: ${changed.join(", ")}`;
        expect(changed, `${why}\nthe workspace changed`).toEqual([]);
        verdict = "refused, nothing changed";
      } catch (e) {
        // the assertion that failed, in words (the line after the case's own summary)
        const lines = String((e as Error).message ?? e).split("\n");
        failure ||=
          lines.find((l) => /^(the workspace changed|expected )/.test(l) || /: expected /.test(l)) ?? lines[0] ?? "";
        throw e;
      } finally {
        if (c.knownBug) verdict = verdict === "FAILED" ? `KNOWN BUG: ${failure.slice(0, 400)}` : "KNOWN BUG FIXED?";
        else if (verdict === "FAILED") verdict = `FAILED: ${failure.slice(0, 200)}`;
        table.push({ c, outcome: outcome ? summarize(outcome) : "threw", verdict });
        if (c.area === "engine") await engine.reset();
      }
    });
  }
});
