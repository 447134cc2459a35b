/**
 * The QEMU command line of a VM that boots WinPE media: ONE builder for the interactive start command
 * (`vmStartCommand`), the boot check and the VM `winpe debug` starts. What differs between them is only where the
 * host ends go (the {@link QemuInstance}): the console (stdio, or a log file), the firmware variables file, the COM1
 * socket, whether QEMU is frozen until a debugger continues it, whether it runs in the background.
 *
 * The VM (the {@link QemuMachine}): q35 + OVMF (amd64) or virt + AAVMF (arm64), Secure Boot off, the ISO as a
 * CD-ROM, and its side of the kernel-debug transport:
 * - `net` (KDNET): an Intel 82574L NIC (`-device e1000e`, PCI 8086:10D3, in Microsoft's list of NICs supported for
 *   network kernel debugging) on QEMU's user network, where the guest reaches the host at 10.0.2.2: the target's
 *   UDP packets to 10.0.2.2:<port> arrive at the host's 127.0.0.1:<port>, where the debugger listens.
 * - `serial` (KD over COM1): COM1 is a Unix socket (`-chardev socket,...,server=on,wait=off`, ntoseye's documented
 *   set-up); the firmware console moves to COM2 (OVMF writes its console to both ports).
 * - `gdb`: QEMU's gdbstub on a loopback TCP port.
 * Without a transport, COM1 is the console and the VM has no network (`-net none`).
 */
import * as path from "node:path";
import type { DebugEndpoint, VmDebugTarget, VmSpec } from "../types";
import type { Arch } from "./media";

/** UEFI firmware for QEMU: read-only code and a variables template (copied per VM). */
export interface FirmwarePaths {
  code: string;
  vars: string;
}

/** Debian's firmware (packages ovmf and qemu-efi-aarch64), Secure Boot off (never the `.ms.fd` builds). */
export const DEFAULT_FIRMWARE: Readonly<Record<Arch, FirmwarePaths>> = {
  amd64: { code: "/usr/share/OVMF/OVMF_CODE_4M.fd", vars: "/usr/share/OVMF/OVMF_VARS_4M.fd" },
  arm64: { code: "/usr/share/AAVMF/AAVMF_CODE.fd", vars: "/usr/share/AAVMF/AAVMF_VARS.fd" },
};

/** A value inside a QEMU option list (`file=...`): a comma is written twice, as QEMU's option syntax wants. */
export function qemuOptionValue(value: string): string {
  return value.replaceAll(",", ",,");
}

/** The address at which QEMU's user network lets the guest reach the host (its loopback). */
export const QEMU_USER_NET_HOST = "10.0.2.2";

/** The NIC of a `net` VM: Intel 82574L (vendor 8086, device 10D3), supported by KDNET. */
export const KDNET_NIC = { model: "e1000e", vendorId: "8086", deviceId: "10D3", name: "Intel 82574L" } as const;

/** Longest path of a Unix socket (sun_path holds 108 bytes with the terminating NUL). */
export const UNIX_SOCKET_PATH_MAX = 107;

/** The file name of the COM1 socket (serial transport) in a VM's folder. */
export const KD_SOCKET_NAME = "kd.sock";

/** The VM itself. */
export interface QemuMachine {
  arch: Arch;
  memoryMb: number;
  /** The ISO, as a CD-ROM. */
  isoPath: string;
  /** `tcg` (emulation, any host) or `kvm` (hardware virtualization: a working /dev/kvm, the host's architecture). */
  accel: "tcg" | "kvm";
  /** The VM's side of the debug transport; absent: no debug target. */
  debug?: VmDebugTarget;
  /** @default {@link DEFAULT_FIRMWARE} of the architecture */
  firmware?: FirmwarePaths;
}

/** Where the host ends of one running instance go. */
export interface QemuInstance {
  /** The firmware variables file (the VM's own copy; a boot check uses a temporary copy). */
  vars: string;
  /** The firmware console: the terminal (interactive start) or a log file. */
  console: { kind: "stdio" } | { kind: "file"; path: string };
  /** serial: the COM1 socket. Required for the serial transport. */
  kdSocket?: string;
  /** gdb: another port than the machine's (a boot check picks a free one). */
  gdbPort?: number;
  /** Freeze the CPU at start until a debugger continues it (`-S`). */
  frozen?: boolean;
  /** Run in the background, its pid written to `pidfile` (`-daemonize -pidfile`). */
  daemonize?: { pidfile: string };
  /** Exit instead of rebooting (`-no-reboot`): a boot check. */
  noReboot?: boolean;
}

/** The QEMU binary of an architecture. */
export function qemuBinary(arch: Arch): string {
  return arch === "amd64" ? "qemu-system-x86_64" : "qemu-system-aarch64";
}

/**
 * The QEMU argv (binary first) of `m` with the host ends of `i`.
 *
 * @throws Error when the serial transport has no socket, or the socket path is too long for a Unix socket
 */
export function qemuArgv(m: QemuMachine, i: QemuInstance): string[] {
  const fw = m.firmware ?? DEFAULT_FIRMWARE[m.arch];
  const argv = [
    qemuBinary(m.arch),
    ...(m.arch === "amd64" ? ["-machine", "q35"] : ["-M", "virt", "-cpu", m.accel === "kvm" ? "host" : "max"]),
    "-accel",
    m.accel,
    "-m",
    String(m.memoryMb),
    "-display",
    "none",
    "-monitor",
    "none",
    ...(i.noReboot ? ["-no-reboot"] : []),
    ...(i.frozen ? ["-S"] : []),
    ...(i.daemonize ? ["-daemonize", "-pidfile", i.daemonize.pidfile] : []),
    "-drive",
    `if=pflash,format=raw,unit=0,readonly=on,file=${qemuOptionValue(fw.code)}`,
    "-drive",
    `if=pflash,format=raw,unit=1,file=${qemuOptionValue(i.vars)}`,
    // what -cdrom does (index 2, media=cdrom), in option syntax so that a comma in the path is escaped
    "-drive",
    `file=${qemuOptionValue(m.isoPath)},index=2,media=cdrom`,
    ...(m.arch === "amd64" ? ["-boot", "d"] : []),
  ];
  const console =
    i.console.kind === "stdio" ? "stdio,id=console" : `file,id=console,path=${qemuOptionValue(i.console.path)}`;
  const t = m.debug?.transport;
  if (t === "serial") {
    if (!i.kdSocket) throw new Error("the serial transport needs the COM1 socket path");
    if (i.kdSocket.length > UNIX_SOCKET_PATH_MAX) {
      throw new Error(
        `the COM1 socket ${i.kdSocket} is longer than a Unix socket path may be (${UNIX_SOCKET_PATH_MAX} bytes): use a shorter working folder or vm.name`,
      );
    }
    // COM1: the kernel debugger's socket; COM2: the console (OVMF writes its console to both)
    argv.push("-chardev", `socket,id=kd,path=${qemuOptionValue(i.kdSocket)},server=on,wait=off`);
    argv.push("-serial", "chardev:kd", "-chardev", console, "-serial", "chardev:console");
  } else {
    argv.push("-chardev", console, "-serial", "chardev:console");
  }
  if (m.debug?.transport === "net") {
    const [a, b, c] = m.debug.hostIp.split(".");
    argv.push("-netdev", `user,id=kdnet,net=${a}.${b}.${c}.0/24,host=${m.debug.hostIp}`);
    argv.push("-device", `${KDNET_NIC.model},netdev=kdnet`);
  } else {
    argv.push("-net", "none");
  }
  if (m.debug?.transport === "gdb") argv.push("-gdb", `tcp:127.0.0.1:${i.gdbPort ?? m.debug.port}`);
  return argv;
}

/** The COM1 socket of a VM folder. */
export function kdSocketPath(vmDir: string): string {
  return path.join(vmDir, KD_SOCKET_NAME);
}

/** Quote one argument for a POSIX shell (display only: we never run through a shell). */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Where the host's debugger connects to the VM of `spec` (open toolchain). */
export function openDebugEndpoint(spec: Pick<VmSpec, "name" | "vmDir" | "debug">): DebugEndpoint | undefined {
  const d = spec.debug;
  if (!d) return undefined;
  if (d.transport === "serial") return { transport: "serial", connect: kdSocketPath(spec.vmDir) };
  // KDNET: the guest's packets to 10.0.2.2:<port> arrive at the host's loopback, where the debugger listens
  if (d.transport === "net") return { transport: "net", connect: `127.0.0.1:${d.port}` };
  return { transport: "gdb", connect: `127.0.0.1:${d.port}` };
}
