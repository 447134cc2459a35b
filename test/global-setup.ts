/**
 * vitest global set-up: the engine tests need the Pulumi engine (built by `npm run setup`) and the compiled
 * providers in dist/ (dynamic providers load them at call time). A missing engine is an error, never a skip;
 * a stale dist/ is rebuilt here so that a plain `npx vitest run` tests the current code.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { runTool } from "../runtime/exec";

const ROOT = path.resolve(__dirname, "..");

export default async function setup(): Promise<void> {
  if (!fs.existsSync(path.join(ROOT, ".tools", "bin", "pulumi"))) {
    throw new Error("the Pulumi engine is not built (.tools/bin/pulumi is missing): run 'npm run setup' first");
  }
  // scripts/build-dist.sh compiles only when a source is newer than the last build
  await runTool("bash", [path.join(ROOT, "scripts", "build-dist.sh"), "--quiet"], {
    cwd: ROOT,
    resource: "test/global-setup",
  });
}
