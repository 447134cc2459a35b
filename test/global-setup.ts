/**
 * vitest global set-up: the engine tests need the Pulumi engine (built by `npm run setup`) and the compiled
 * providers in dist/ (dynamic providers load them at call time). A missing engine is an error, never a skip;
 * a stale dist/ is rebuilt here so that a plain `npx vitest run` tests the current code.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { runTool } from "../resources/runtime/exec";

const ROOT = path.resolve(__dirname, "..");

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (e.name.endsWith(".ts")) newest = Math.max(newest, fs.statSync(p).mtimeMs);
  }
  return newest;
}

export default async function setup(): Promise<void> {
  if (!fs.existsSync(path.join(ROOT, ".tools", "bin", "pulumi"))) {
    throw new Error("the Pulumi engine is not built (.tools/bin/pulumi is missing): run 'npm run setup' first");
  }
  const stamp = path.join(ROOT, "dist", ".stamp");
  const built = fs.existsSync(stamp) ? fs.statSync(stamp).mtimeMs : 0;
  if (newestMtime(path.join(ROOT, "resources")) > built) {
    await runTool(path.join(ROOT, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.build.json"], {
      cwd: ROOT,
      resource: "test/global-setup",
    });
    fs.writeFileSync(stamp, "");
  }
}
