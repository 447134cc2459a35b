/**
 * Test helpers for driving the real Pulumi engine (built by scripts/build-engine.sh) through the Automation API,
 * with the project's offline defaults: a local file backend in a scratch folder, no update checks, no plugin
 * downloads, the fixed test passphrase.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { LocalWorkspace, PulumiCommand, type Stack } from "@pulumi/pulumi/automation";

export const REPO_ROOT = path.resolve(__dirname, "..", "..");
export const TOOLS_BIN = path.join(REPO_ROOT, ".tools", "bin");
export const TEST_PASSPHRASE = "winpe-lab-test";

/** A scratch folder inside the repo's ignored `.work/tmp/` (so programs there resolve our node_modules). */
export function scratchDir(prefix: string): string {
  const base = path.join(REPO_ROOT, ".work", "tmp");
  fs.mkdirSync(base, { recursive: true });
  return fs.mkdtempSync(path.join(base, `${prefix}-`));
}

/**
 * Write a program folder that runs the real winpe-lab program (`winpeProgram` of the compiled dist/, exactly what
 * `index.ts` calls) with `programDir` as the project folder: a Pulumi.yaml (`name`) and an index.js. No copy or
 * rewrite of the program's source. The test set-up builds dist/.
 */
export function writeWinpeProgram(programDir: string, name = "winpe-lab"): void {
  const lib = path.join(REPO_ROOT, "dist", "resources", "program.js");
  if (!fs.existsSync(lib)) throw new Error(`${lib} is missing: run scripts/build-dist.sh (the test set-up does)`);
  fs.mkdirSync(programDir, { recursive: true });
  fs.writeFileSync(
    path.join(programDir, "Pulumi.yaml"),
    [
      `name: ${name}`,
      "runtime:",
      "  name: nodejs",
      "  options:",
      "    typescript: false",
      "main: index.js",
      "plugins:",
      "  providers:",
      "    - name: command",
      "      version: 1.2.1",
      `      path: ${TOOLS_BIN}`,
      "",
    ].join("\n"),
  );
  fs.writeFileSync(
    path.join(programDir, "index.js"),
    `module.exports = () => require(${JSON.stringify(lib)}).winpeProgram(__dirname);\n`,
  );
}

/** The environment every engine run in tests gets. */
export function engineEnv(stateDir: string, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {
    PATH: `${TOOLS_BIN}:${process.env.PATH ?? ""}`,
    PULUMI_BACKEND_URL: `file://${stateDir}`,
    PULUMI_HOME: path.join(stateDir, ".pulumi-home"),
    PULUMI_CONFIG_PASSPHRASE: TEST_PASSPHRASE,
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
    PULUMI_NODEJS_TRANSPILE_ONLY: "true",
    // the CLI runs `git status` for update metadata; without this it may write .git/index.lock in the checkout
    GIT_OPTIONAL_LOCKS: "0",
    // read only by provider shells serialized into states written before the providers were found by module
    // resolution (a recorded old state's refresh or destroy); today's shells never read it
    WINPE_LAB_ROOT: REPO_ROOT,
    ...extra,
  };
  if (process.env.WINPE_TOOL_LOG && !("WINPE_TOOL_LOG" in extra)) env.WINPE_TOOL_LOG = process.env.WINPE_TOOL_LOG;
  return env;
}

/** The project's own CLI, as an Automation API command. */
export async function pulumiCommand(): Promise<PulumiCommand> {
  if (!fs.existsSync(path.join(TOOLS_BIN, "pulumi"))) {
    throw new Error(`the Pulumi engine is not built (${TOOLS_BIN}/pulumi missing): run 'npm run setup'`);
  }
  return PulumiCommand.get({ root: path.join(REPO_ROOT, ".tools"), skipVersionCheck: true });
}

/** Create (or select) a stack of the program in `workDir`. */
export async function openStack(
  workDir: string,
  stackName: string,
  stateDir: string,
  extraEnv: Record<string, string> = {},
): Promise<Stack> {
  fs.mkdirSync(stateDir, { recursive: true });
  return LocalWorkspace.createOrSelectStack(
    { stackName, workDir },
    { pulumiCommand: await pulumiCommand(), envVars: engineEnv(stateDir, extraEnv) },
  );
}

/** Lines of a JSONL tool log (0 when it does not exist). */
export function readToolLog(file: string): Array<Record<string, unknown>> {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim().length > 0)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
