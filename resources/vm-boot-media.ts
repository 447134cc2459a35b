/**
 * `VmBootMedia`: a VM that boots the ISO. adk: a Hyper-V Generation 2 VM (created if asked, or an existing one
 * by name), Secure Boot off, the ISO in its DVD drive as first boot device; delete detaches the ISO (and removes
 * a VM it created). open: a QEMU VM definition (architecture, firmware, a private copy of the firmware
 * variables, the ISO, memory, the command line to start it) kept in the stack's working folder, and an optional
 * boot check that boots it headless and waits for the marker. A changed ISO hash re-attaches (and re-checks).
 * `debug` makes the VM a kernel-debug target (toolchains/types.ts VmDebugTarget): KDNET, KD over COM1, or QEMU's
 * gdbstub. The work is the toolchain's VM backend (toolchains/index.ts vmBackend).
 */
import * as path from "node:path";
import { z } from "zod";
import { declare, resourceClass } from "./declare";

const ipv4 = z
  .string()
  .regex(/^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/, "must be an IPv4 address like 10.0.2.2");

/** The address at which QEMU's user network lets a guest reach its host. */
export const QEMU_HOST_IP = "10.0.2.2";

/**
 * The VM's side of the kernel-debug transport (the KDNET key is not here: the VM never needs it).
 * `net`: KDNET to `hostIp`:`port`; `serial`: KD over COM1; `gdb`: QEMU's gdbstub on loopback `port` (open only).
 */
export const VmDebugSchema = z.discriminatedUnion("transport", [
  z.object({ transport: z.literal("net"), hostIp: ipv4, port: z.number().int().min(49152).max(65535) }).strict(),
  z.object({ transport: z.literal("serial") }).strict(),
  z.object({ transport: z.literal("gdb"), port: z.number().int().min(1024).max(65535) }).strict(),
]);

export const VmBootMediaArgsSchema = z
  .object({
    /** Which hypervisor: adk = Hyper-V, open = QEMU. */
    toolchain: z.enum(["adk", "open"]),
    arch: z.enum(["amd64", "arm64"]),
    /** VM name (Hyper-V) or definition name (QEMU). @example "WinPE-x64" */
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "must be 1-64 letters, digits, '.', '_' or '-'"),
    /** The ISO to boot. */
    isoPath: z.string().min(1),
    /** The ISO's digest (WinPeIso's `digest`): a change re-attaches and re-checks. */
    isoDigest: z.string().min(1),
    /** open: the folder that holds the VM definition (made; removed on delete). */
    vmDir: z.string().min(1),
    /** Memory in MiB. @default 1024 */
    memoryMb: z.number().int().min(256).max(65536).default(1024),
    /** adk: create the VM when it does not exist (and remove it on delete). @default true */
    createVm: z.boolean().default(true),
    /**
     * open: boot the ISO headless in QEMU and wait for `bootPattern` on the serial console.
     * @default false
     */
    bootCheck: z.boolean().default(false),
    /** Regular expression to wait for. @default the stand-in EFI application's marker for `arch` */
    bootPattern: z.string().optional(),
    /** Seconds to wait for the pattern. @default 120 */
    bootTimeoutSec: z.number().int().min(5).max(3600).default(120),
    /** The VM as a kernel-debug target; omit for none (no NIC, COM1 is the console). */
    debug: VmDebugSchema.optional(),
    /** open: QEMU's accelerator, `tcg` (emulation) or `kvm` (needs a working /dev/kvm). @default "tcg" */
    accel: z.enum(["tcg", "kvm"]).default("tcg"),
    /** adk + net: the Hyper-V virtual switch the VM's network adapter joins. @default "Default Switch" */
    switchName: z.string().min(1).optional(),
  })
  .strict()
  .superRefine((a, ctx) => {
    const abs = a.toolchain === "adk" ? path.win32.isAbsolute : path.posix.isAbsolute;
    if (!abs(a.isoPath)) ctx.addIssue({ code: "custom", path: ["isoPath"], message: "must be an absolute path" });
    if (!abs(a.vmDir)) ctx.addIssue({ code: "custom", path: ["vmDir"], message: "must be an absolute path" });
    if (a.bootPattern !== undefined) {
      try {
        new RegExp(a.bootPattern);
      } catch (e) {
        ctx.addIssue({
          code: "custom",
          path: ["bootPattern"],
          message: `is not a valid regular expression: ${(e as Error).message}`,
        });
      }
    }
    if (a.debug?.transport === "gdb" && a.toolchain === "adk") {
      ctx.addIssue({
        code: "custom",
        path: ["debug", "transport"],
        message: "gdb needs QEMU's gdbstub: Hyper-V (adk) has none; use net or serial",
      });
    }
    if (a.debug?.transport === "net" && a.toolchain === "open" && a.debug.hostIp !== QEMU_HOST_IP) {
      ctx.addIssue({
        code: "custom",
        path: ["debug", "hostIp"],
        message: `must be ${QEMU_HOST_IP} on the open toolchain: QEMU's user network reaches the host there`,
      });
    }
    if (a.debug?.transport === "serial" && a.toolchain === "open" && a.arch === "arm64") {
      ctx.addIssue({
        code: "custom",
        path: ["debug", "transport"],
        message: "serial needs a second UART for the console; QEMU's arm64 virt machine has one: use net or gdb",
      });
    }
    if (a.bootCheck && a.toolchain === "adk") {
      ctx.addIssue({ code: "custom", path: ["bootCheck"], message: "is only supported by the open toolchain (QEMU)" });
    }
  });

export type VmBootMediaArgs = z.input<typeof VmBootMediaArgsSchema>;

export const VmBootMediaDecl = declare({
  type: "VmBootMedia",
  provider: "vm-boot-media",
  // version 2 added `debug` (optional) and `accel` (default tcg: what every earlier VM ran with); version 3 renamed
  // `isoSha256` to `isoDigest` (WinPeIso's identity became a tree digest)
  version: 3,
  migrations: {
    1: (s) => ({ ...s, accel: s.accel ?? "tcg" }),
    2: ({ isoSha256, ...s }) => ({ ...s, isoDigest: isoSha256 }),
  },
  args: VmBootMediaArgsSchema,
  outputs: {
    /** The command that starts the VM (display form, quoted for a POSIX shell or PowerShell). */
    startCommand: z.string(),
    /** open: the argv of that command. */
    startArgv: z.array(z.string()),
    /** open: the console line the boot check saw, or "" when the check is off. */
    bootCheckLine: z.string(),
    /** `attached`, or `missing`/`detached` after a refresh (fixed by the next up). */
    state: z.enum(["attached", "missing", "detached"]),
    /** adk: whether this resource created the Hyper-V VM (so delete removes it). */
    createdVm: z.boolean(),
  },
  updateOn: [
    "isoPath",
    "isoDigest",
    "memoryMb",
    "createVm",
    "bootCheck",
    "bootPattern",
    "bootTimeoutSec",
    "debug",
    "accel",
    "switchName",
  ],
  replaceOn: ["toolchain", "arch", "name", "vmDir"],
  deleteBeforeReplace: true,
});

export class VmBootMedia extends resourceClass(VmBootMediaDecl) {}
