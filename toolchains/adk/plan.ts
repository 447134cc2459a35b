/**
 * The command lists of the adk branches of the resource providers, as pure functions: each provider runs what
 * these return (through `runAdk`, on Windows), and `winpe plan` prints the same lists, so the plan shows exactly
 * what the providers run. The image resources' commands live in `image.ts` (the adk image backend).
 *
 * Only {@link readAdkProjectFacts} touches the disk: it reads the solution and project files (no tool runs) to
 * learn what MSBuild produces and whether NuGet packages must be restored.
 *
 * Placeholders: a value known only when an earlier step has run is shown as {@link THUMBPRINT_PLACEHOLDER}
 * (`[thumbprint]`, the certificate New-SelfSignedCertificate makes), in the style of `[secret]`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { readProject } from "../../formats/project";
import type { VcxConfiguration } from "../../formats/vcxproj";
import { TEMP_PREFIX } from "../../runtime/atomic";
import {
  type BcdFlag,
  bcdeditDbgSettingsNet,
  bcdeditDbgSettingsSerial,
  bcdeditDeleteValue,
  bcdeditSet,
  type KdnetSettings,
  type SerialDebugSettings,
} from "./bcdedit";
import {
  type AdkBuildConfiguration,
  type AdkBuildPlatform,
  adkBuildCommands,
  adkNewSelfSignedCertificate,
  adkSigntoolSignStore,
  needsNugetRestore,
} from "./build";
import {
  addDvdDrive,
  bootFromDvd,
  connectNetworkAdapter,
  disableSecureBoot,
  ejectDvd,
  newVm,
  removeVm,
  setComPortPipe,
  setDvdDrive,
  stopVm,
} from "./hyperv";
import { makeWinPEMediaIso, oscdimgIso, type WinPeArch } from "./media";
import type { AdkCommand, PsParam } from "./types";
import { AdkArgumentError, windowsPath } from "./validate";

/** Shown where the test certificate's thumbprint goes before New-SelfSignedCertificate has run. */
export const THUMBPRINT_PLACEHOLDER = "[thumbprint]";

const SENTINEL_THUMBPRINT = "0".repeat(40);
const p = (param: string): PsParam => ({ param });

/** Replace the sentinel thumbprint by the placeholder in a command built with the sentinel. */
function withPlaceholder(cmd: AdkCommand, sentinel: string): AdkCommand {
  return {
    ...cmd,
    argv: cmd.argv.map((a) => (typeof a === "string" ? a.split(sentinel).join(THUMBPRINT_PLACEHOLDER) : a)),
    why: cmd.why.split(sentinel).join(THUMBPRINT_PLACEHOLDER),
  };
}

/* ----------------------------------------------------------------------------------------------------------
 * TestCertificate
 * -------------------------------------------------------------------------------------------------------- */

/**
 * TestCertificate create: `New-SelfSignedCertificate -Type CodeSigningCert -Subject '<subject>'
 * -CertStoreLocation 'Cert:\CurrentUser\My'` (its output holds the thumbprint).
 * Doc: https://learn.microsoft.com/en-us/powershell/module/pki/new-selfsignedcertificate
 *
 * @param a - the certificate's subject (`CN=...`)
 * @returns the commands, in order
 */
export function planTestCertificate(a: { subject: string }): AdkCommand[] {
  return [adkNewSelfSignedCertificate({ subject: a.subject })];
}

/**
 * TestCertificate delete: `Remove-Item -LiteralPath 'Cert:\CurrentUser\My\<thumbprint>' -DeleteKey` removes the
 * certificate and its private key from the user's store (`-DeleteKey` is the certificate provider's parameter of
 * Remove-Item).
 * Doc: https://learn.microsoft.com/en-us/powershell/module/microsoft.powershell.security/about/about_certificate_provider
 *
 * @param a - the certificate's thumbprint (40 hex digits, or {@link THUMBPRINT_PLACEHOLDER} in a plan)
 * @returns the commands, in order
 */
export function planTestCertificateDestroy(a: { thumbprint: string }): AdkCommand[] {
  const placeholder = a.thumbprint === THUMBPRINT_PLACEHOLDER;
  if (!placeholder && !/^[0-9A-Fa-f]{40}$/.test(a.thumbprint)) {
    throw new AdkArgumentError(`'thumbprint' must be a certificate thumbprint: 40 hexadecimal digits`);
  }
  const thumb = placeholder ? THUMBPRINT_PLACEHOLDER : a.thumbprint.toUpperCase();
  const cert = `Cert:\\CurrentUser\\My\\${thumb}`;
  return [
    {
      tool: "Remove-Item",
      argv: [p("LiteralPath"), cert, p("DeleteKey")],
      shell: "powershell",
      why: `remove the test certificate ${thumb} and its private key from the user's store`,
      doc: "https://learn.microsoft.com/en-us/powershell/module/microsoft.powershell.security/about/about_certificate_provider",
    },
  ];
}

/* ----------------------------------------------------------------------------------------------------------
 * DriverBuild
 * -------------------------------------------------------------------------------------------------------- */

/** One output of the build: a driver (`.sys`, signed when a certificate is given) or an application. */
export interface AdkProjectOutput {
  /** `<TargetName><TargetExt>`, e.g. `sioctl.sys`. */
  name: string;
  kind: "driver" | "application";
  /** The .vcxproj that produces it. */
  projectFile: string;
  /** Its evaluation (sources, headers, include folders): what its revision is computed from (readAdkProjectFacts fills it). */
  config?: VcxConfiguration;
}

/** What the adk build needs to know of the project files. */
export interface AdkProjectFacts {
  /** A project has a `packages.config` or `PackageReference` items: `nuget restore` runs first. */
  needsRestore: boolean;
  /** Driver and application outputs, in solution build order. */
  outputs: AdkProjectOutput[];
}

/**
 * Read a .sln or .vcxproj (no tool runs) for the adk build: the driver and application outputs of
 * `configuration|platform`, and whether NuGet packages must be restored. Unlike the open toolchain's
 * `planBuild`, this does not check what clang/lld could build (MSBuild builds it).
 *
 * @param project - the .sln or .vcxproj, as a path of this host
 * @param configuration - `Debug` or `Release`
 * @param platform - `x64` or `ARM64`
 * @returns the facts
 * @throws ProjectFormatError naming the file when it cannot be read or evaluated
 */
export function readAdkProjectFacts(project: string, configuration: string, platform: string): AdkProjectFacts {
  // the one project reader (formats/project.ts); MSBuild builds it, so no toolchain checks or properties here
  const configs = readProject(project, configuration, platform)
    .entries.map((e) => e.config)
    .filter((c): c is VcxConfiguration => c !== undefined);
  const outputs: AdkProjectOutput[] = [];
  for (const c of configs) {
    if (c.configurationType !== "Driver" && c.configurationType !== "Application") continue;
    outputs.push({
      name: `${c.targetName}${c.targetExt}`,
      kind: c.configurationType === "Driver" ? "driver" : "application",
      projectFile: c.file,
      config: c,
    });
  }
  const needsRestore = configs.some((c) =>
    needsNugetRestore({
      hasPackagesConfig: fs.existsSync(path.join(c.projectDir, "packages.config")),
      packageReferences: c.packageReferences,
    }),
  );
  return { needsRestore, outputs };
}

/** Inputs of {@link planDriverBuild} (DriverBuild's args). */
export interface DriverBuildPlanArgs {
  /** The .sln or .vcxproj (Windows path). */
  project: string;
  configuration: AdkBuildConfiguration;
  platform: AdkBuildPlatform;
  /** MSBuild's OutDir. */
  outDir: string;
  /** The test certificate (its thumbprint, or {@link THUMBPRINT_PLACEHOLDER}); null: no signing. */
  signing: { thumbprint: string } | null;
}

/**
 * `signtool sign /fd sha256 /sha1 <thumbprint> /s My <file>` with the certificate in the user's store.
 * Doc: https://learn.microsoft.com/en-us/windows/win32/seccrypto/signtool
 *
 * @param file - the driver to sign
 * @param thumbprint - 40 hex digits, or {@link THUMBPRINT_PLACEHOLDER}
 * @returns the command (cmd)
 */
export function signDriverCommand(file: string, thumbprint: string): AdkCommand {
  if (thumbprint === THUMBPRINT_PLACEHOLDER) {
    return withPlaceholder(adkSigntoolSignStore({ file, thumbprint: SENTINEL_THUMBPRINT }), SENTINEL_THUMBPRINT);
  }
  return adkSigntoolSignStore({ file, thumbprint });
}

/**
 * DriverBuild create/update: `nuget restore` when the project needs it, `MSBuild <project> /t:Build
 * /p:Configuration=<c> /p:Platform=<p> /p:OutDir=<dir>\ /m /nologo`, then `signtool sign` for each driver
 * output when a certificate is given.
 * Docs: https://learn.microsoft.com/en-us/visualstudio/msbuild/msbuild-command-line-reference,
 * https://learn.microsoft.com/en-us/nuget/reference/cli-reference/cli-ref-restore,
 * https://learn.microsoft.com/en-us/windows/win32/seccrypto/signtool
 *
 * @param a - the project, configuration, platform, output folder and signing certificate
 * @param facts - from {@link readAdkProjectFacts}
 * @returns the commands, in order
 */
export function planDriverBuild(a: DriverBuildPlanArgs, facts: AdkProjectFacts): AdkCommand[] {
  const cmds = adkBuildCommands({
    project: a.project,
    configuration: a.configuration,
    platform: a.platform,
    outDir: a.outDir,
    needsRestore: facts.needsRestore,
  });
  if (a.signing) {
    for (const o of facts.outputs) {
      if (o.kind === "driver") cmds.push(signDriverCommand(path.win32.join(a.outDir, o.name), a.signing.thumbprint));
    }
  }
  return cmds;
}

/* ----------------------------------------------------------------------------------------------------------
 * BcdSettings
 * -------------------------------------------------------------------------------------------------------- */

/** The flags in the order they are written. */
export const BCD_FLAGS: readonly BcdFlag[] = ["testsigning", "nointegritychecks", "debug", "bootdebug"];

/** Inputs of {@link planBcdSettings} (BcdSettings' args). */
export interface BcdPlanArgs {
  stores: readonly string[];
  /** The object whose flags are set, e.g. `{default}`. */
  object: string;
  /** Flags to manage; flags left out are not touched. */
  flags: Partial<Record<BcdFlag, "on" | "off">>;
  kdnet?: KdnetSettings;
  /** Kernel debugging over a serial port (exclusive with `kdnet`). */
  serial?: SerialDebugSettings;
  /** Who writes the store: our BCD module (no command) or bcdedit. @default "module" */
  writer?: "module" | "bcdedit";
}

/**
 * The bcdedit commands that make one store hold the settings (`/set <object> <flag> on|off` per flag,
 * `/dbgsettings net hostip:<ip> port:<port> key:<key>` for KDNET; the key is a secret, rendered `key:[secret]`).
 * Also what `winpe plan` shows as the equivalent of our module's writes.
 * Docs: https://learn.microsoft.com/en-us/windows-hardware/drivers/devtest/bcdedit--set,
 * https://learn.microsoft.com/en-us/windows-hardware/drivers/devtest/bcdedit--dbgsettings
 *
 * @param a - the settings
 * @param store - the store file
 * @returns the commands, in order
 */
export function bcdeditCommandsFor(a: BcdPlanArgs, store: string): AdkCommand[] {
  const cmds: AdkCommand[] = [];
  for (const f of BCD_FLAGS) {
    const v = a.flags[f];
    if (v) cmds.push(bcdeditSet(store, f, v === "on", a.object));
  }
  if (a.kdnet) cmds.push(bcdeditDbgSettingsNet(store, a.kdnet));
  if (a.serial) cmds.push(bcdeditDbgSettingsSerial(store, a.serial));
  return cmds;
}

/**
 * BcdSettings create/update: nothing with our module (the default writer: it edits the store file itself, on any
 * host); with `writer: "bcdedit"`, {@link bcdeditCommandsFor} for each store.
 *
 * @param a - the settings
 * @returns the commands, in order
 */
export function planBcdSettings(a: BcdPlanArgs): AdkCommand[] {
  if ((a.writer ?? "module") !== "bcdedit") return [];
  return a.stores.flatMap((s) => bcdeditCommandsFor(a, s));
}

/**
 * BcdSettings delete with `writer: "bcdedit"`: each flag back to the value it had before (`/set ... on|off`), or
 * removed when it had none (`/deletevalue`, so the loader's default applies). The `{dbgsettings}` elements are
 * restored by our module (bcdedit cannot put back an absent element of `/dbgsettings` or a key it did not show):
 * no command.
 * Docs: https://learn.microsoft.com/en-us/windows-hardware/drivers/devtest/bcdedit--set,
 * https://learn.microsoft.com/en-us/windows-hardware/drivers/devtest/bcdedit--deletevalue
 *
 * @param store - the store file
 * @param object - the object, e.g. `{default}` or its GUID
 * @param previous - each managed flag's value before the first write (null: it was absent)
 * @returns the commands, in order
 */
export function planBcdSettingsRestore(
  store: string,
  object: string,
  previous: Partial<Record<BcdFlag, "on" | "off" | null>>,
): AdkCommand[] {
  const cmds: AdkCommand[] = [];
  for (const f of BCD_FLAGS) {
    if (!Object.hasOwn(previous, f)) continue;
    const v = previous[f];
    cmds.push(v ? bcdeditSet(store, f, v === "on", object) : bcdeditDeleteValue(store, f, object));
  }
  return cmds;
}

/* ----------------------------------------------------------------------------------------------------------
 * WinPeIso
 * -------------------------------------------------------------------------------------------------------- */

/** Inputs of {@link planIso} (WinPeIso's args). */
export interface IsoPlanArgs {
  arch: WinPeArch;
  /** The copype working folder. */
  workspace: string;
  isoPath: string;
  /** UEFI boot without the key prompt (`efisys_noprompt.bin` from the ADK). */
  noPrompt: boolean;
}

/**
 * WinPeIso create/update: the oscdimg command MakeWinPEMedia /ISO runs (`oscdimg -bootdata:2#p0,e,b<etfsboot.com>
 * #pEF,e,b<efisys> -u1 -udfver102 <workspace>\media <iso>`; arm64: `-bootdata:1#pEF,e,b<efisys>`, UEFI only).
 * MakeWinPEMedia itself is a .cmd script, which Node cannot start without a shell: {@link makeWinPEMediaEquivalent}
 * is shown beside it for comparison. The provider passes a temporary `output` beside the ISO
 * ({@link isoTempPath}) and renames it when oscdimg succeeded.
 * Doc: https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/oscdimg-command-line-options
 *
 * @param a - architecture, working folder, ISO, no-prompt choice
 * @param output - the file oscdimg writes @default a.isoPath
 * @returns the commands, in order
 */
export function planIso(a: IsoPlanArgs, output: string = a.isoPath): AdkCommand[] {
  return [oscdimgIso({ arch: a.arch, workdir: a.workspace, iso: output, noPrompt: a.noPrompt })];
}

/**
 * `MakeWinPEMedia /ISO /F <workspace> <iso>`, the documented command {@link planIso}'s oscdimg line stands for
 * (MakeWinPEMedia uses `fwfiles\efisys.bin`, which waits for a key press at UEFI boot); undefined when the paths
 * hold characters MakeWinPEMedia's script cannot take.
 * Doc: https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/winpe-create-usb-bootable-drive
 *
 * @param a - working folder and ISO
 * @returns the command, for display only
 */
export function makeWinPEMediaEquivalent(a: Pick<IsoPlanArgs, "workspace" | "isoPath">): AdkCommand | undefined {
  try {
    return makeWinPEMediaIso({ workdir: a.workspace, iso: a.isoPath, force: true });
  } catch {
    return undefined;
  }
}

/**
 * The temporary file oscdimg writes before it is renamed to the ISO: beside it (same volume), named with the
 * project's temporary prefix (so a crash's leftover is recognized) and still ending in `.iso`.
 *
 * @param isoPath - the ISO (Windows path)
 * @param token - a unique token (process id and random digits)
 * @returns e.g. `D:\WinPE_amd64\.winpe-tmp-winpe_x64_debug.1234.ab12.iso`
 */
export function isoTempPath(isoPath: string, token: string): string {
  const iso = windowsPath("isoPath", isoPath);
  if (!/^[A-Za-z0-9.]+$/.test(token)) throw new AdkArgumentError(`'token' must be letters, digits and dots`);
  const stem = path.win32.basename(iso).replace(/\.iso$/i, "");
  return path.win32.join(path.win32.dirname(iso), `${TEMP_PREFIX}${stem}.${token}.iso`);
}

/* ----------------------------------------------------------------------------------------------------------
 * VmBootMedia
 * -------------------------------------------------------------------------------------------------------- */

/** Inputs of {@link planVm} (VmBootMedia's args). */
export interface VmPlanArgs {
  name: string;
  memoryMb: number;
  isoPath: string;
  /** Create the VM (and remove it on delete). */
  createVm: boolean;
  /**
   * The VM as a kernel-debug target: `serial` connects COM1 to a named pipe (`Set-VMComPort`), `net` connects the
   * network adapter to `switchName` (`Connect-VMNetworkAdapter`). Hyper-V has no gdbstub.
   */
  debug?: { transport: "net" | "serial" | "gdb" };
  /** The virtual switch of a `net` VM. @default "Default Switch" */
  switchName?: string;
}

/** The Hyper-V switch a `net` VM joins when the stack names none (Windows 10/11 make it). */
export const DEFAULT_SWITCH = "Default Switch";

/**
 * VmBootMedia create/update: a new Generation 2 VM (`New-VM`, Secure Boot off, a DVD drive holding the ISO), or
 * the ISO into an existing VM's drive (`Set-VMDvdDrive`, also when we created the VM in an earlier run), the debug
 * transport (`Set-VMComPort` to a named pipe for serial, `Connect-VMNetworkAdapter` for KDNET), then boot from the
 * DVD drive first.
 * Docs: https://learn.microsoft.com/en-us/powershell/module/hyper-v/new-vm (and set-vmfirmware, add-vmdvddrive,
 * set-vmdvddrive, get-vmdvddrive)
 *
 * @param a - the VM's name, memory, ISO and whether to create it
 * @param createdVm - we created the VM in an earlier run (an update)
 * @returns the commands, in order
 */
export function planVm(a: VmPlanArgs, createdVm = false): AdkCommand[] {
  const attach =
    a.createVm && !createdVm
      ? [newVm({ name: a.name, memoryMb: a.memoryMb }), disableSecureBoot(a.name), addDvdDrive(a.name, a.isoPath)]
      : [setDvdDrive(a.name, a.isoPath)];
  const debug: AdkCommand[] = [];
  if (a.debug?.transport === "serial") debug.push(setComPortPipe(a.name));
  else if (a.debug?.transport === "net") debug.push(connectNetworkAdapter(a.name, a.switchName ?? DEFAULT_SWITCH));
  else if (a.debug?.transport === "gdb")
    throw new AdkArgumentError(`'debug.transport' gdb needs QEMU's gdbstub: Hyper-V has none (use net or serial)`);
  return [...attach, ...debug, bootFromDvd(a.name)];
}

/**
 * VmBootMedia delete: turn off and remove the VM we created, or eject the ISO from a VM we did not create.
 * Docs: https://learn.microsoft.com/en-us/powershell/module/hyper-v/stop-vm,
 * https://learn.microsoft.com/en-us/powershell/module/hyper-v/remove-vm,
 * https://learn.microsoft.com/en-us/powershell/module/hyper-v/set-vmdvddrive
 *
 * @param a - the VM's name
 * @param createdVm - we created the VM
 * @returns the commands, in order
 */
export function planVmDestroy(a: Pick<VmPlanArgs, "name">, createdVm: boolean): AdkCommand[] {
  return createdVm ? [stopVm(a.name), removeVm(a.name)] : [ejectDvd(a.name)];
}
