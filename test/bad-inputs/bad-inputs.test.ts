/**
 * The bad-input corpus (issue 8, part 2): every case in cases.ts is refused with one clear message naming the
 * field or file, and leaves its scratch workspace (copype working folders with their WIMs and BCD stores, the
 * fixture stores, the example project, the lock folder) byte-identical. Prints the case table at the end.
 */
import * as fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setProgressFallback } from "../../runtime/progress";
import { type BadInputCase, CASES } from "./cases";
import { EngineProgram } from "./engine";
import { failed, messageOf, type Outcome, Scratch, snapshot, snapshotDiff, summarize } from "./workspace";

const STACK_TRACE = /^\s+at .+(\(.*:\d+:\d+\)|:\d+:\d+)$/m;

describe("bad-input corpus", () => {
  const scratch = new Scratch();
  const engine = new EngineProgram();
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
    it(title, async () => {
      const ws = scratch.workspace();
      process.env.WINPE_LAB_LOCK_DIR = ws.locks;
      await c.setup?.(ws);
      const before = snapshot(ws.root);
      let outcome: Outcome | undefined;
      const problems: string[] = [];
      try {
        outcome = await c.run({ ws, engine });
        const changed = snapshotDiff(before, snapshot(ws.root));
        const message = messageOf(outcome);
        const pattern = typeof c.expect === "function" ? c.expect(ws) : c.expect;
        const lines = message.split("\n").length;
        if (!failed(outcome)) problems.push(`not refused: ${summarize(outcome)}`);
        if (!pattern.test(message)) problems.push(`the message does not match ${pattern}: ${JSON.stringify(message)}`);
        if (lines > (c.maxLines ?? 1)) problems.push(`the message has ${lines} lines: ${JSON.stringify(message)}`);
        if (STACK_TRACE.test(message) || (outcome.kind === "engine" && STACK_TRACE.test(outcome.output)))
          problems.push("a stack trace is shown");
        if (outcome.kind === "exit" && outcome.code >= 128) problems.push(`exit code ${outcome.code} (a signal?)`);
        if (changed.length > 0) problems.push(`the workspace changed: ${changed.join(", ")}`);
      } finally {
        const verdict = c.knownBug
          ? c.knownBug.symptom.test(problems.join("\n"))
            ? `KNOWN BUG: ${problems.join("; ").slice(0, 400)}`
            : `KNOWN BUG FIXED? ${problems.join("; ").slice(0, 300)}`
          : problems.length === 0
            ? "refused, nothing changed"
            : `FAILED: ${problems.join("; ").slice(0, 300)}`;
        table.push({ c, outcome: outcome ? summarize(outcome) : "threw", verdict });
        await c.teardown?.(ws);
        if (c.area === "engine") await engine.reset();
      }
      const why = `${c.name}\n${outcome ? summarize(outcome) : ""}`;
      if (c.knownBug) {
        // passes while the documented bug shows exactly its symptom; fails (asking for an update) once it is fixed
        expect(
          problems.join("\n"),
          `${why}\nthe known bug no longer shows (${c.knownBug.where}): make this a normal case`,
        ).toMatch(c.knownBug.symptom);
      } else {
        expect(problems, why).toEqual([]);
      }
    });
  }
});
