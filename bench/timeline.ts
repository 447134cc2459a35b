/**
 * Print the timeline of a kept bench run (`npm run bench -- --keep`): for each scenario, every provider call and
 * process exit recorded by the timing hook, with its start relative to the scenario's start, and the gaps in
 * between (engine and program time).
 *   node -r ts-node/register/transpile-only bench/timeline.ts <scratch dir>/timing.jsonl [scenario substring]
 */
import { readJsonLines } from "./common";

const file = process.argv[2];
if (!file) {
  console.error("usage: bench/timeline.ts <timing.jsonl> [scenario substring]");
  process.exit(2);
}
const only = process.argv[3];
const lines = readJsonLines(file);
let begin: number | undefined;
let name = "";
let lastEnd = 0;
for (const l of lines) {
  const start = Number(l.startMs ?? 0);
  if (l.role === "harness" && l.method === "begin") {
    begin = start;
    name = String(l.name);
    lastEnd = start;
    if (!only || name.includes(only)) console.log(`\n== ${name}`);
    continue;
  }
  if (begin === undefined || (only && !name.includes(only))) continue;
  if (l.role === "harness" && l.method === "end") {
    console.log(`${((start - begin) / 1000).toFixed(3).padStart(8)} s  end (gap ${(start - lastEnd).toFixed(0)} ms)`);
    begin = undefined;
    continue;
  }
  if (l.method === "exit") {
    console.log(
      `          ${l.role} process ${l.pid} exits after ${Number(l.ms).toFixed(0)} ms ${String(l.argv1 ?? "")}`,
    );
    continue;
  }
  const gap = start - lastEnd;
  console.log(
    `${((start - begin) / 1000).toFixed(3).padStart(8)} s  +${gap.toFixed(0).padStart(5)} ms gap  ${String(l.module).padEnd(17)} ${String(l.method).padEnd(7)} ${Number(l.ms).toFixed(1)} ms`,
  );
  lastEnd = Math.max(lastEnd, start + Number(l.ms));
}
