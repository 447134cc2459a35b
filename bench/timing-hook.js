/**
 * Bench-only timing hook, preloaded into the engine's Node processes with `NODE_OPTIONS=--require <this file>`
 * (never by the product). When `WINPE_BENCH_TIMING` names a file it appends one JSON line per:
 * - provider method call (`check`, `diff`, `create`, `update`, `read`, `delete`) of a compiled provider module
 *   (`winpe-lab/providers/<name>`, or a path under `dist/resources/providers/`), with its duration:
 *   {pid, role, module, method, startMs, ms};
 * - first load of such a module (require time, e.g. zod and the toolchain modules): method "load";
 * - process exit: {pid, role, method: "exit", ms: process uptime} (role: program | provider | other).
 * The provider shells call `require(...)` on every method call (cached by Node after the first), so wrapping what
 * `Module._load` returns sees every call. Adds microseconds per call.
 */
const file = process.env.WINPE_BENCH_TIMING;
if (file) {
  const fs = require("node:fs");
  const Module = require("node:module");
  const { performance } = require("node:perf_hooks");
  const isProvider = process.argv.some((a) => a.includes("dynamic-provider"));
  const isProgram = !isProvider && process.argv.some((a) => /[\\/]cmd[\\/]run/.test(a));
  const role = isProvider ? "provider" : isProgram ? "program" : "other";
  const now = () => performance.timeOrigin + performance.now();
  const write = (o) => {
    try {
      fs.appendFileSync(file, `${JSON.stringify({ pid: process.pid, role, ...o })}\n`);
    } catch {
      // diagnostics only
    }
  };
  // the shells load `winpe-lab/providers/<name>` (module resolution, since issue 19); older ones a dist/ path
  const PROVIDER_RE = /(?:dist[\\/]resources[\\/]providers[\\/]|^winpe-lab\/providers\/)([\w-]+)(?:\.js)?$/;
  const wrapped = new Map();
  const origLoad = Module._load;
  // WINPE_BENCH_TIMING_LOADS=<ms>: also record every module load in the program process slower than <ms>
  const slowLoad = role === "program" ? Number(process.env.WINPE_BENCH_TIMING_LOADS ?? 0) : 0;
  let depth = 0;
  Module._load = function load(request, ...rest) {
    const m = typeof request === "string" ? PROVIDER_RE.exec(request) : null;
    if (!m && slowLoad > 0) {
      const t0 = now();
      depth++;
      try {
        return origLoad.call(this, request, ...rest);
      } finally {
        depth--;
        const ms = now() - t0;
        if (ms >= slowLoad) write({ module: String(request), method: "require", depth, startMs: t0, ms });
      }
    }
    if (!m) return origLoad.call(this, request, ...rest);
    const hit = wrapped.get(request);
    if (hit) return hit;
    const t0 = now();
    const exp = origLoad.call(this, request, ...rest);
    write({ module: m[1], method: "load", startMs: t0, ms: now() - t0 });
    const proxy = {};
    for (const k of Object.keys(exp)) {
      const v = exp[k];
      if (typeof v !== "function" || !["check", "diff", "create", "update", "read", "delete"].includes(k)) {
        proxy[k] = v;
        continue;
      }
      proxy[k] = async (...args) => {
        const s = now();
        try {
          return await v(...args);
        } finally {
          write({ module: m[1], method: k, startMs: s, ms: now() - s });
        }
      };
    }
    wrapped.set(request, proxy);
    return proxy;
  };
  process.on("exit", () => write({ method: "exit", argv1: process.argv[1] ?? "", ms: performance.now() }));
}
