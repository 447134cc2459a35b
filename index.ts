/**
 * The winpe-lab program: reads the stack config (validated by one zod schema, errors name the config key) and
 * composes TestCertificate -> DriverBuild -> BcdSettings -> MountedImage -> InjectedFiles -> ImageCommit ->
 * WinPeIso -> VmBootMedia (resources/program.ts).
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, parseStackConfig, rawConfigToObject } from "./resources/config";
import { composeStack } from "./resources/program";

function fail(message: string): never {
  // RunError: Pulumi prints the message once, without a stack trace.
  throw new pulumi.RunError(message);
}

const stack = pulumi.getStack();
const raw = rawConfigToObject(pulumi.runtime.allConfig());
if (raw.toolchain === "adk" && process.platform !== "win32") {
  fail(
    `stack '${stack}' uses the adk toolchain (MSBuild/WDK, DISM, MakeWinPEMedia, Hyper-V), which needs Windows; ` +
      `on Linux use a demo stack (npm run demo) or set 'winpe-lab:toolchain' to 'open'. ` +
      `'npm run -s winpe -- plan --stack ${stack}' prints the commands this stack runs on Windows.`,
  );
}
let config: ReturnType<typeof parseStackConfig>;
try {
  config = parseStackConfig(raw);
} catch (e) {
  if (e instanceof ConfigError) fail(`invalid stack config for '${stack}':\n${e.message}`);
  throw e;
}

let outputs: ReturnType<typeof composeStack>;
try {
  // the project folder: relative config paths are resolved against it (this file runs as dist/index.js)
  const root = path.basename(__dirname) === "dist" ? path.dirname(__dirname) : __dirname;
  outputs = composeStack(config, root, stack, `${pulumi.getProject()}/${stack}`);
} catch (e) {
  fail(`stack '${stack}': ${(e as Error).message}`);
}

export const isoPath = outputs.isoPath;
export const isoSha256 = outputs.isoSha256;
export const isoSize = outputs.isoSize;
export const builtFiles = outputs.builtFiles;
export const symbolFiles = outputs.symbolFiles;
export const injectedFiles = outputs.injectedFiles;
export const bcdSettings = outputs.bcdSettings;
export const vmStartCommand = outputs.vmStartCommand;
export const bootCheck = outputs.bootCheck;
export const debuggerCommand = outputs.debuggerCommand;
