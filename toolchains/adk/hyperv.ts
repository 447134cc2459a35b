/**
 * Hyper-V builders (pure; the Hyper-V PowerShell module runs on Windows only, elevated, and not on
 * GitHub-hosted runners, which have no nested virtualization).
 *
 * The VM is a Generation 2 (UEFI) machine without a disk that boots the ISO from its DVD drive, with Secure Boot
 * off: with Secure Boot on, testsigning and kernel debugging in the media's BCD are ignored.
 *
 * Syntax sources (one page per cmdlet, https://learn.microsoft.com/en-us/powershell/module/hyper-v/<cmdlet>):
 * new-vm, set-vmfirmware, add-vmdvddrive, set-vmdvddrive (`-Path $null` ejects the media, its example 2),
 * get-vmdvddrive, start-vm, stop-vm (`-TurnOff` is pulling the plug), remove-vm (`-Force` skips the prompt).
 */
import type { DebugEndpoint, VmSpec } from "../types";
import type { AdkCommand, PsParam } from "./types";
import { AdkArgumentError, vmName, windowsPath } from "./validate";

const DOC = "https://learn.microsoft.com/en-us/powershell/module/hyper-v/";

const p = (param: string): PsParam => ({ param });

function isoPath(iso: string): string {
  const value = windowsPath("iso", iso);
  if (!/\.iso$/i.test(value)) throw new AdkArgumentError(`'iso' must end in .iso`);
  return value;
}

/**
 * The byte count of a memory size in PowerShell's unit notation: whole GiB as `2GB`, otherwise `1536MB`.
 *
 * @param memoryMb - MiB, 32 or more
 * @returns e.g. `2GB`
 */
export function psMemoryLiteral(memoryMb: number): string {
  if (!Number.isInteger(memoryMb) || memoryMb < 32 || memoryMb > 12 * 1024 * 1024) {
    throw new AdkArgumentError(`'memoryMb' must be an integer from 32 through 12582912 (MiB)`);
  }
  return memoryMb % 1024 === 0 ? `${memoryMb / 1024}GB` : `${memoryMb}MB`;
}

/**
 * `New-VM -Name '<n>' -Generation 2 -MemoryStartupBytes 2GB -NoVHD`: a UEFI VM without a virtual disk.
 * Doc: https://learn.microsoft.com/en-us/powershell/module/hyper-v/new-vm
 *
 * @param options - the VM name and its memory in MiB (default 2048)
 * @returns the command (PowerShell)
 */
export function newVm(options: { name: string; memoryMb?: number }): AdkCommand {
  const name = vmName("name", options.name);
  const memory = psMemoryLiteral(options.memoryMb ?? 2048);
  return {
    tool: "New-VM",
    argv: [
      p("Name"),
      name,
      p("Generation"),
      { literal: "2" },
      p("MemoryStartupBytes"),
      { literal: memory },
      p("NoVHD"),
    ],
    shell: "powershell",
    why: `create the Generation 2 (UEFI) VM ${name} with ${memory} and no disk`,
    doc: `${DOC}new-vm`,
  };
}

/**
 * `Set-VMFirmware -VMName '<n>' -EnableSecureBoot Off`: testsigning and kernel debugging need Secure Boot off.
 * Doc: https://learn.microsoft.com/en-us/powershell/module/hyper-v/set-vmfirmware
 *
 * @param name - the VM
 * @returns the command (PowerShell)
 */
export function disableSecureBoot(name: string): AdkCommand {
  const vm = vmName("name", name);
  return {
    tool: "Set-VMFirmware",
    argv: [p("VMName"), vm, p("EnableSecureBoot"), { literal: "Off" }],
    shell: "powershell",
    why: `turn Secure Boot off on ${vm} (otherwise testsigning and kernel debugging are ignored)`,
    doc: `${DOC}set-vmfirmware`,
  };
}

/**
 * `Add-VMDvdDrive -VMName '<n>' -Path '<iso>'`: adds a DVD drive holding the ISO (a new VM has none).
 * Doc: https://learn.microsoft.com/en-us/powershell/module/hyper-v/add-vmdvddrive
 *
 * @param name - the VM
 * @param iso - the ISO file
 * @returns the command (PowerShell)
 */
export function addDvdDrive(name: string, iso: string): AdkCommand {
  const vm = vmName("name", name);
  const file = isoPath(iso);
  return {
    tool: "Add-VMDvdDrive",
    argv: [p("VMName"), vm, p("Path"), file],
    shell: "powershell",
    why: `give ${vm} a DVD drive holding ${file}`,
    doc: `${DOC}add-vmdvddrive`,
  };
}

/**
 * `Set-VMDvdDrive -VMName '<n>' -Path '<iso>'`: puts the ISO into the VM's existing DVD drive.
 * Doc: https://learn.microsoft.com/en-us/powershell/module/hyper-v/set-vmdvddrive
 *
 * @param name - the VM
 * @param iso - the ISO file
 * @returns the command (PowerShell)
 */
export function setDvdDrive(name: string, iso: string): AdkCommand {
  const vm = vmName("name", name);
  const file = isoPath(iso);
  return {
    tool: "Set-VMDvdDrive",
    argv: [p("VMName"), vm, p("Path"), file],
    shell: "powershell",
    why: `insert ${file} into the DVD drive of ${vm}`,
    doc: `${DOC}set-vmdvddrive`,
  };
}

/**
 * `Set-VMDvdDrive -VMName '<n>' -Path $null`: ejects the media (the drive stays), so the ISO can be rewritten or
 * deleted.
 * Doc: https://learn.microsoft.com/en-us/powershell/module/hyper-v/set-vmdvddrive
 *
 * @param name - the VM
 * @returns the command (PowerShell)
 */
export function ejectDvd(name: string): AdkCommand {
  const vm = vmName("name", name);
  return {
    tool: "Set-VMDvdDrive",
    argv: [p("VMName"), vm, p("Path"), { literal: "$null" }],
    shell: "powershell",
    why: `eject the ISO from the DVD drive of ${vm}`,
    doc: `${DOC}set-vmdvddrive`,
  };
}

/**
 * `Set-VMFirmware -VMName '<n>' -FirstBootDevice (Get-VMDvdDrive -VMName '<n>')`: boot from the DVD drive first.
 * Docs: https://learn.microsoft.com/en-us/powershell/module/hyper-v/set-vmfirmware,
 * https://learn.microsoft.com/en-us/powershell/module/hyper-v/get-vmdvddrive
 *
 * @param name - the VM (with exactly one DVD drive: `-FirstBootDevice` takes one device)
 * @returns the command (PowerShell)
 */
export function bootFromDvd(name: string): AdkCommand {
  const vm = vmName("name", name);
  const getDrive: AdkCommand = {
    tool: "Get-VMDvdDrive",
    argv: [p("VMName"), vm],
    shell: "powershell",
    why: `the DVD drive of ${vm}`,
    doc: `${DOC}get-vmdvddrive`,
  };
  return {
    tool: "Set-VMFirmware",
    argv: [p("VMName"), vm, p("FirstBootDevice"), { subcommand: getDrive }],
    shell: "powershell",
    why: `make ${vm} boot from its DVD drive first`,
    doc: `${DOC}set-vmfirmware`,
  };
}

/**
 * `Start-VM -Name '<n>'`.
 * Doc: https://learn.microsoft.com/en-us/powershell/module/hyper-v/start-vm
 *
 * @param name - the VM
 * @returns the command (PowerShell)
 */
export function startVm(name: string): AdkCommand {
  const vm = vmName("name", name);
  return {
    tool: "Start-VM",
    argv: [p("Name"), vm],
    shell: "powershell",
    why: `start ${vm} (it boots the ISO)`,
    doc: `${DOC}start-vm`,
  };
}

/**
 * `Stop-VM -Name '<n>' -TurnOff`: powers the VM off at once (WinPE keeps nothing worth a clean shutdown).
 * Doc: https://learn.microsoft.com/en-us/powershell/module/hyper-v/stop-vm
 *
 * @param name - the VM
 * @returns the command (PowerShell)
 */
export function stopVm(name: string): AdkCommand {
  const vm = vmName("name", name);
  return {
    tool: "Stop-VM",
    argv: [p("Name"), vm, p("TurnOff")],
    shell: "powershell",
    why: `turn ${vm} off`,
    doc: `${DOC}stop-vm`,
  };
}

/**
 * `Remove-VM -Name '<n>' -Force`: deletes the VM's configuration without asking (it has no disks to keep).
 * Doc: https://learn.microsoft.com/en-us/powershell/module/hyper-v/remove-vm
 *
 * @param name - the VM
 * @returns the command (PowerShell)
 */
export function removeVm(name: string): AdkCommand {
  const vm = vmName("name", name);
  return {
    tool: "Remove-VM",
    argv: [p("Name"), vm, p("Force")],
    shell: "powershell",
    why: `delete the VM ${vm}`,
    doc: `${DOC}remove-vm`,
  };
}

/**
 * The named pipe of a VM's COM1 for kernel debugging over serial: `\\.\pipe\<vm>-com1`.
 *
 * @param name - the VM
 * @returns the pipe path
 */
export function comPipeName(name: string): string {
  return `\\\\.\\pipe\\${vmName("name", name)}-com1`;
}

/**
 * `Set-VMComPort -VMName '<n>' -Number 1 -Path '\\.\pipe\<n>-com1'`: COM1 of the VM becomes a named pipe on the
 * host, where WinDbg attaches (`windbg -k com:pipe,port=\\.\pipe\<n>-com1,resets=0,reconnect`); the target's BCD
 * says `dbgsettings serial debugport:1 baudrate:115200`.
 * Doc: https://learn.microsoft.com/en-us/powershell/module/hyper-v/set-vmcomport
 *
 * @param name - the VM
 * @returns the command (PowerShell)
 */
export function setComPortPipe(name: string): AdkCommand {
  const vm = vmName("name", name);
  const pipe = comPipeName(vm);
  return {
    tool: "Set-VMComPort",
    argv: [p("VMName"), vm, p("Number"), { literal: "1" }, p("Path"), pipe],
    shell: "powershell",
    why: `connect COM1 of ${vm} to the named pipe ${pipe} (kernel debugging over serial)`,
    doc: `${DOC}set-vmcomport`,
  };
}

/**
 * `Connect-VMNetworkAdapter -VMName '<n>' -SwitchName '<switch>'`: the VM's network adapter joins a virtual switch
 * from which the target reaches the debugger host (KDNET: `hostIp` must be the host's address on that network).
 * Doc: https://learn.microsoft.com/en-us/powershell/module/hyper-v/connect-vmnetworkadapter
 *
 * @param name - the VM
 * @param switchName - the Hyper-V virtual switch (e.g. `Default Switch`)
 * @returns the command (PowerShell)
 */
export function connectNetworkAdapter(name: string, switchName: string): AdkCommand {
  const vm = vmName("name", name);
  if (typeof switchName !== "string" || !/^[^\x00-\x1f'"`$]{1,100}$/.test(switchName)) {
    throw new AdkArgumentError(
      `'switchName' must be the name of a Hyper-V virtual switch (no quotes, '$' or backquote)`,
    );
  }
  return {
    tool: "Connect-VMNetworkAdapter",
    argv: [p("VMName"), vm, p("SwitchName"), switchName],
    shell: "powershell",
    why: `connect the network adapter of ${vm} to the virtual switch ${switchName} (KDNET reaches the debugger host there)`,
    doc: `${DOC}connect-vmnetworkadapter`,
  };
}

/** Where WinDbg connects to the Hyper-V VM of `spec`. */
export function adkDebugEndpoint(spec: Pick<VmSpec, "name" | "vmDir" | "debug">): DebugEndpoint | undefined {
  const d = spec.debug;
  if (!d) return undefined;
  if (d.transport === "serial") return { transport: "serial", connect: comPipeName(spec.name) };
  if (d.transport === "net") return { transport: "net", connect: `${d.hostIp}:${d.port}` };
  return { transport: "gdb", connect: "" };
}
