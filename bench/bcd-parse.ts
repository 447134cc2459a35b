/**
 * Benchmark: parse + check + one edit + serialize of the 24 KiB bcdedit-made fixture (target: well under 50 ms).
 *   node -r ts-node/register/transpile-only bench/bcd-parse.ts [store-file] [iterations]
 * Prints one JSON line: median and p95 per iteration in milliseconds (not a timed test).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { BcdStore } from "../formats/bcd/index";
import { Hive } from "../formats/regf/index";

const file =
  process.argv[2] ??
  process.env.WINPE_BCD_FIXTURE ??
  path.resolve(__dirname, "../../shared/fixtures/bcd/ntloader-multi.bcd");
const iterations = Number(process.argv[3] ?? 200);
const bytes = fs.readFileSync(file);

function once(): number {
  const t0 = process.hrtime.bigint();
  const hive = Hive.parse(bytes, { file });
  const store = new BcdStore(file, hive);
  store.setElement("{default}", "testsigning", true);
  const out = hive.serialize();
  Hive.parse(out); // the rewritten hive checks out too
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

for (let i = 0; i < 20; i++) once(); // warm-up (JIT)
const times: number[] = [];
for (let i = 0; i < iterations; i++) times.push(once());
times.sort((a, b) => a - b);
const pick = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
console.log(
  JSON.stringify({
    bench: "bcd-parse",
    file: path.basename(file),
    bytes: bytes.length,
    iterations,
    medianMs: Number(pick(0.5).toFixed(3)),
    p95Ms: Number(pick(0.95).toFixed(3)),
    maxMs: Number(times[times.length - 1].toFixed(3)),
  }),
);
