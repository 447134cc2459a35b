/**
 * The adk toolchain's command builders in one place. Each builder is a pure function returning an
 * {@link AdkCommand}; rendering is in `quote.ts`. Nothing here runs on Linux, and nothing pretends to:
 * the tests check the rendered strings against Microsoft's documented syntax.
 *
 * `build.ts` (MSBuild, nuget, signtool, certificates) lives beside these files and is exported separately.
 */
export {
  type BcdFlag,
  bcdeditDbgSettingsNet,
  bcdeditDeleteValue,
  bcdeditEnum,
  bcdeditSet,
  type KdnetSettings,
} from "./bcdedit";
export { windbgKdnet } from "./debugger";
export {
  type DismMountSpec,
  dismCleanupMountpoints,
  dismCommitImage,
  dismGetMountedImageInfo,
  dismMountImage,
  dismRemountImage,
  dismUnmountImage,
} from "./dism";
export { copyIntoImage, makeImageDir, removeFromImage } from "./files";
export {
  addDvdDrive,
  bootFromDvd,
  disableSecureBoot,
  ejectDvd,
  newVm,
  psMemoryLiteral,
  removeVm,
  setDvdDrive,
  startVm,
  stopVm,
} from "./hyperv";
export { DEFAULT_ADK_ROOT, makeWinPEMediaIso, type OscdimgIsoOptions, oscdimgIso, type WinPeArch } from "./media";
export {
  AdkRenderError,
  commandSecrets,
  logicalArg,
  logicalArgv,
  quotePowerShellString,
  quoteWindowsArg,
  type RenderOptions,
  renderCmdLine,
  renderCmdScript,
  renderCommand,
  renderPowerShell,
  SECRET_MASK,
} from "./quote";
export type { AdkCommand, AdkShell, ArgPart, CompoundArg, PsLiteral, PsParam, PsSubcommand, SwitchArg } from "./types";
export { AdkArgumentError } from "./validate";
