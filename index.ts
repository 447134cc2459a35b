/**
 * The winpe-lab program: reads the stack config (validated by one zod schema) and composes
 * TestCertificate -> DriverBuild -> BcdSettings -> MountedImage -> InjectedFiles -> ImageCommit -> WinPeIso -> VmBootMedia.
 */
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, parseStackConfig, rawConfigToObject } from "./resources/config";

function fail(message: string): never {
  // RunError: Pulumi prints the message once, without a stack trace.
  throw new pulumi.RunError(message);
}

let config: ReturnType<typeof parseStackConfig>;
try {
  config = parseStackConfig(rawConfigToObject(pulumi.runtime.allConfig()));
} catch (e) {
  if (e instanceof ConfigError) fail(`invalid stack config for '${pulumi.getStack()}':\n${e.message}`);
  throw e;
}

if (config.toolchain === "adk" && process.platform !== "win32") {
  fail(
    `stack '${pulumi.getStack()}' uses the adk toolchain (MSBuild/WDK, DISM, MakeWinPEMedia, Hyper-V), which needs Windows; ` +
      `on Linux use a demo stack (npm run demo) or set 'winpe-lab:toolchain' to 'open'. ` +
      `'npm run -s winpe -- plan --stack ${pulumi.getStack()}' prints the commands this stack runs on Windows.`,
  );
}

export const toolchain = config.toolchain;
