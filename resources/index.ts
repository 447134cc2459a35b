/**
 * winpe-lab's public surface (the package's main export), for use in your own Pulumi program:
 *
 * ```ts
 * import { BcdSettings, MountedImage, InjectedFiles, ImageCommit, WinPeIso } from "winpe-lab";
 * import { winpeProgram } from "winpe-lab"; // the whole stack from its config: export = () => winpeProgram(__dirname)
 * ```
 * See README "Use the resources in your own program".
 */

export {
  CONFIG_NAMESPACE,
  ConfigError,
  parseStackConfig,
  rawConfigToObject,
  type StackConfig,
  type StackConfigInput,
  StackConfigSchema,
} from "../stack/config";
export { PreflightError } from "../stack/preflight";
export { type ResolvedStack, resolveStack } from "../stack/resolve";
export { BcdSettings, type BcdSettingsArgs } from "./bcd-settings";
export { DriverBuild, type DriverBuildArgs, type DriverBuildOutput, projectRevisions } from "./driver-build";
export { DriverTest, type DriverTestArgs } from "./driver-test";
export { DriverVerifier, type DriverVerifierArgs } from "./driver-verifier";
export { ImageCommit, type ImageCommitArgs } from "./image-commit";
export { InjectedFiles, type InjectedFilesArgs } from "./injected-files";
export { MountedImage, type MountedImageArgs, type MountRef } from "./mounted-image";
export { composeStack, type DriverTestSummary, type StackOutputs, winpeProgram } from "./program";
export { TestCertificate, type TestCertificateArgs } from "./test-certificate";
export { ToolProbe, type ToolProbeArgs } from "./tool-probe";
export { VmBootMedia, type VmBootMediaArgs } from "./vm-boot-media";
export { WinPeIso, type WinPeIsoArgs } from "./winpe-iso";
