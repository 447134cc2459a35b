/**
 * winpe-lab's resources, for use in your own Pulumi program:
 *
 * ```ts
 * import { BcdSettings, MountedImage, InjectedFiles, ImageCommit, WinPeIso } from "winpe-lab/resources";
 * ```
 * See README "Use the resources in your own program".
 */

export { ConfigError, parseStackConfig, type StackConfig, StackConfigSchema } from "../stack/config";
export { BcdSettings, type BcdSettingsArgs } from "./bcd-settings";
export { DriverBuild, type DriverBuildArgs, type DriverBuildOutput, projectRevisions } from "./driver-build";
export { ImageCommit, type ImageCommitArgs } from "./image-commit";
export { InjectedFiles, type InjectedFilesArgs } from "./injected-files";
export { MountedImage, type MountedImageArgs, type MountRef } from "./mounted-image";
export { TestCertificate, type TestCertificateArgs } from "./test-certificate";
export { ToolProbe, type ToolProbeArgs } from "./tool-probe";
export { VmBootMedia, type VmBootMediaArgs } from "./vm-boot-media";
export { WinPeIso, type WinPeIsoArgs } from "./winpe-iso";
