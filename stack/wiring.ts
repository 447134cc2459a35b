/**
 * The one stack wiring: from a validated stack config and its resolved paths to the arguments of each resource,
 * as far as they are known before anything runs. `composeStack` (resources/program.ts) registers the resources
 * with these arguments (adding what only other resources' outputs give: the certificate, content digests, the ISO's
 * sha256); `winpe plan` (cli/plan.ts) prints the commands the adk backends would run for the same arguments. One
 * place decides which BCD elements a stack manages, which debug target its VM is, and what goes into the image.
 * No Pulumi, no tools.
 */
import * as nodePath from "node:path";
import { normalizeImagePath } from "../formats/image-path";
import type { StackConfig } from "./config";
import type { ResolvedStack } from "./resolve";

/** BCD flags a stack manages (`on`/`off`; a flag the config leaves out is not touched). */
export const BCD_FLAG_NAMES = ["testsigning", "nointegritychecks", "debug", "bootdebug"] as const;

/** The VM's side of the stack's debug transport (what VmBootMedia's `debug` takes), or undefined without one. */
export type VmDebugWiring =
  | { transport: "net"; hostIp: string; port: number }
  | { transport: "serial" }
  | { transport: "gdb"; port: number };

export interface StackWiring {
  claim: { workspace: string; stateDir: string; holder: string };
  /** TestCertificate's args, or undefined when the stack does not sign. */
  cert?: { toolchain: "adk" | "open"; certDir: string };
  /** DriverBuild's args but `signing` (the certificate's output) and `revisions` (the project's). */
  build: {
    toolchain: "adk" | "open";
    project: string;
    configuration: "Debug" | "Release";
    platform: "x64" | "ARM64";
    outDir: string;
    stateDir: string;
    cacheDir: string;
  };
  /** BcdSettings' args; the KDNET key is plain here (composeStack makes it a secret). */
  bcd: {
    toolchain: "adk" | "open";
    stores: string[];
    object: string;
    flags: Record<string, "on" | "off">;
    kdnet?: { hostIp: string; port: number; key: string };
    serial?: { debugport: number; baudrate: 115200 };
    stateDir: string;
    writer: "module" | "bcdedit";
  };
  /** MountedImage's args. */
  mount: { toolchain: "adk" | "open"; wim: string; index: number; mountDir: string; holder: string };
  /** The build's outputs in the image: destination (`Windows/Ioctl/sioctl.sys`) -> the built file. */
  builtFiles: Array<{ dest: string; source: string; outputPath: string; kind: "driver" | "application" }>;
  /** WinPeIso's args but `contentHashes`. */
  iso: { toolchain: "adk" | "open"; arch: "amd64" | "arm64"; workspace: string; isoPath: string };
  /** VmBootMedia's args but the ISO's identity and the boot pattern; undefined with `vm.enabled: false`. */
  vm?: {
    toolchain: "adk" | "open";
    arch: "amd64" | "arm64";
    name: string;
    vmDir: string;
    memoryMb: number;
    createVm: boolean;
    bootCheck: boolean;
    bootTimeoutSec: number;
    debug?: VmDebugWiring;
    accel: "tcg" | "kvm";
    switchName?: string;
  };
  /** The VM's debug target (also without a VM: `winpe debug` and the debugger command use it). */
  vmDebug?: VmDebugWiring;
}

/**
 * Wire a stack: `outputs` are the build's outputs (stack/project.ts; none when the project cannot be read here,
 * as for an adk stack's Windows paths on Linux), `holder` the stack (`<project>/<stack>`).
 */
export function wireStack(
  config: StackConfig,
  r: ResolvedStack,
  outputs: ReadonlyArray<{ outputPath: string; kind: "driver" | "application" }>,
  holder: string,
): StackWiring {
  const toolchain = config.toolchain;
  const p = toolchain === "adk" ? nodePath.win32 : nodePath.posix;
  const flags: Record<string, "on" | "off"> = {};
  for (const f of BCD_FLAG_NAMES) {
    const v = config.bcd[f];
    if (v !== undefined) flags[f] = v ? "on" : "off";
  }
  const transport = config.debug?.transport;
  const vmDebug: VmDebugWiring | undefined =
    transport === "net" && config.kdnet
      ? { transport, hostIp: config.kdnet.hostIp, port: config.kdnet.port }
      : transport === "serial"
        ? { transport }
        : transport === "gdb"
          ? { transport, port: config.debug?.gdbPort ?? 1234 }
          : undefined;
  return {
    claim: { workspace: r.workspace, stateDir: r.stateDir, holder },
    ...(config.signing ? { cert: { toolchain, certDir: r.certDir } } : {}),
    build: {
      toolchain,
      project: r.project,
      configuration: config.configuration,
      platform: r.platform,
      outDir: r.buildDir,
      stateDir: r.stateDir,
      cacheDir: r.buildCacheDir,
    },
    bcd: {
      toolchain,
      stores: r.stores.map((s) => s.path),
      object: config.bcd.object,
      flags,
      // KDNET when the transport is net, or when no transport is set (the store's settings only, as before)
      ...(config.kdnet && (transport === "net" || transport === undefined)
        ? { kdnet: { hostIp: config.kdnet.hostIp, port: config.kdnet.port, key: config.kdnet.key } }
        : {}),
      ...(transport === "serial" ? { serial: { debugport: 1, baudrate: 115200 } } : {}),
      stateDir: r.bcdStateDir,
      writer: config.bcd.writer,
    },
    mount: { toolchain, wim: r.wim, index: config.imageIndex, mountDir: r.mountDir, holder },
    builtFiles: outputs
      .map((o) => ({
        dest: normalizeImagePath(`${r.injectDir}/${o.outputPath}`),
        source: p.join(r.buildDir, ...o.outputPath.split("/")),
        outputPath: o.outputPath,
        kind: o.kind,
      }))
      .sort((a, b) => (a.dest < b.dest ? -1 : a.dest > b.dest ? 1 : 0)),
    iso: { toolchain, arch: config.arch, workspace: r.workspace, isoPath: r.isoPath },
    ...(config.vm.enabled
      ? {
          vm: {
            toolchain,
            arch: config.arch,
            name: r.vmName,
            vmDir: r.vmDir,
            memoryMb: config.vm.memoryMb,
            createVm: config.vm.create,
            bootCheck: config.vm.bootCheck,
            bootTimeoutSec: config.vm.bootTimeoutSec,
            ...(vmDebug ? { debug: vmDebug } : {}),
            accel: config.vm.accel,
            ...(config.vm.switch ? { switchName: config.vm.switch } : {}),
          },
        }
      : {}),
    ...(vmDebug ? { vmDebug } : {}),
  };
}
