/**
 * The stack-config schema (zod): one place that says what a stack may set, with defaults, and errors that name
 * the config key (`winpe-lab:iso.path`). `index.ts` reads the stack config through {@link parseStackConfig}.
 */
import * as path from "node:path";
import { z } from "zod";
import { KDNET_KEY_RE } from "../formats/bcd";
import { normalizeImagePath } from "../formats/image-path";
import { DRIVER_NAME_RE, VERIFIER_FLAG_NAMES, VERIFIER_FLAGS } from "../formats/verifier";
import { WinpeError } from "../runtime/errors";

export const CONFIG_NAMESPACE = "winpe-lab";

/** A path as the stack's toolchain sees it: Windows-style for adk (`D:\WinPE_amd64`), POSIX for open. */
const pathString = z
  .string()
  .min(1, "must not be empty")
  .refine((s) => !s.includes("\0"), "must not contain NUL");

const ipv4 = z
  .string()
  .regex(/^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/, "must be an IPv4 address like 192.168.0.10");

/** KDNET key: four dot-separated words of letters and digits, as bcdedit prints them (e.g. `5.5.5.5`). */
const kdnetKey = z
  .string()
  .regex(
    KDNET_KEY_RE,
    "must be four dot-separated words of letters and digits, each at most 13 long, as bcdedit prints them (winpe bcd ... /dbgsettings net newkey makes one)",
  );

export const BcdConfigSchema = z
  .object({
    /**
     * Which BCD stores of the media to change: `efi` (`media/EFI/Microsoft/Boot/BCD`), `bios`
     * (`media/Boot/BCD`, amd64 only) or `both`.
     * @default "efi"
     */
    stores: z.enum(["efi", "bios", "both"]).default("efi"),
    /** The BCD object to change: `{default}` or a GUID. @default "{default}" */
    object: z.string().default("{default}"),
    /** Load test-signed drivers. @default true */
    testsigning: z.boolean().default(true),
    /** Disable driver signature checks. @default not managed (the store's own value stays) */
    nointegritychecks: z.boolean().optional(),
    /** Kernel debugging of the loaded OS. @default not managed */
    debug: z.boolean().optional(),
    /** Boot debugging (boot manager / loader). @default not managed */
    bootdebug: z.boolean().optional(),
    /**
     * Who writes the store: `module` (our BCD module, any host, no elevation) or `bcdedit` (adk only).
     * @default "module"
     */
    writer: z.enum(["module", "bcdedit"]).default("module"),
  })
  .strict();

export const KdnetConfigSchema = z
  .object({
    /** The debugger host's IPv4 address. @example "192.168.0.10" */
    hostIp: ipv4,
    /** UDP port on the host, 49152-65535. @default 50005 */
    port: z.number().int().min(49152, "must be at least 49152 (KDNET uses dynamic ports)").max(65535).default(50005),
    /** The KDNET key (a secret: set it with `pulumi config set --secret`). @example "5.5.5.5" */
    key: kdnetKey,
  })
  .strict();

export const DebugConfigSchema = z
  .object({
    /**
     * How the host's kernel debugger reaches the VM: `net` (KDNET with the `kdnet.*` settings), `serial` (KD over
     * COM1: `dbgsettings serial debugport:1 baudrate:115200`) or `gdb` (QEMU's gdbstub, no BCD debug settings;
     * open toolchain only).
     */
    transport: z.enum(["net", "serial", "gdb"]),
    /** gdb: the gdbstub's port on 127.0.0.1. @default 1234 */
    gdbPort: z.number().int().min(1024).max(65535).default(1234),
  })
  .strict();

/** A regular expression (JavaScript syntax), checked by compiling it. */
const regexString = z.string().superRefine((p, ctx) => {
  try {
    new RegExp(p);
  } catch (e) {
    ctx.addIssue({ code: "custom", message: `is not a valid regular expression: ${(e as Error).message}` });
  }
});

/** A list given as an array, or as one string of space-separated words (`standard irpLogging`, as verifier takes them). */
function words(v: string | string[]): string[] {
  return typeof v === "string" ? v.split(/\s+/).filter((w) => w.length > 0) : v;
}

export const VerifierConfigSchema = z
  .object({
    /**
     * The drivers to verify, by image name (`verifier /driver <name> ...`).
     * @default the drivers the build produces
     */
    drivers: z
      .union([z.string(), z.array(z.string())])
      .transform(words)
      .pipe(
        z
          .array(z.string().regex(DRIVER_NAME_RE, "must be a driver's file name like sioctl.sys (no folder, no space)"))
          .min(1, "must name at least one driver"),
      )
      .optional(),
    /**
     * The verification options by name (`standard` is what `verifier /standard` sets, 0x209BB; the others are the
     * bits `verifier /querysettings` lists).
     * @default ["standard"]
     */
    flags: z
      .union([z.string(), z.array(z.string())])
      .transform(words)
      .pipe(z.array(z.string()).min(1, "must name at least one flag"))
      .default(["standard"])
      .superRefine((flags, ctx) => {
        for (const [i, f] of flags.entries()) {
          if (!Object.hasOwn(VERIFIER_FLAGS, f))
            ctx.addIssue({
              code: "custom",
              path: [i],
              message: `'${f}' is not a Driver Verifier flag: use standard or ${VERIFIER_FLAG_NAMES.filter((n) => n !== "standard").join(", ")}`,
            });
        }
      }),
  })
  .strict();

export const TestPassSchema = z
  .object({
    /** The exit code a pass needs; null: not checked. @default 0 */
    exitCode: z.number().int().nullable().default(0),
    /**
     * A regular expression one line of the output must match (JavaScript syntax; with `test.boot`, the subset
     * findstr also has: literal text, `.`, `*`, `^`, `$`, `[...]`). @default not checked
     */
    output: regexString.optional(),
  })
  .strict();

export const TestConfigSchema = z
  .object({
    /** Run the driver test (the DriverTest resource) at the end of every up that changed what it tests. @default true */
    enabled: z.boolean().default(true),
    /**
     * The program to run in the image's folder (`injectDir`) and its arguments: a file the build puts there.
     * @default the application the build produces, without arguments
     */
    command: z
      .union([z.string().min(1, "must name a program"), z.array(z.string()).min(1, "must name a program")])
      .transform((c) => (typeof c === "string" ? [c] : c))
      .optional(),
    /** What counts as a pass: the exit code and/or an output line. @default exit code 0 */
    pass: TestPassSchema.default({ exitCode: 0 }),
    /** Seconds the test may run. @default 120 */
    timeoutSec: z
      .number()
      .int()
      .min(1, "must be at least 1 second")
      .max(3600, "must be at most 3600 seconds")
      .default(120),
    /** What a failed test does: `error` fails the up, `warn` finishes it with a warning. @default "error" */
    onFail: z.enum(["error", "warn"]).default("error"),
    /**
     * Put the boot-time test into the image: WinPE's startnet.cmd runs the same test after wpeinit, writes
     * `WINPE-LAB TEST <pass|fail> ...` to COM1 and shuts down; the boot check waits for that line. @default false
     */
    boot: z.boolean().default(false),
    /** Driver Verifier settings written into the image's SYSTEM hive. @default not managed */
    verifier: VerifierConfigSchema.optional(),
  })
  .strict()
  .superRefine((t, ctx) => {
    if (t.pass.exitCode === null && t.pass.output === undefined)
      ctx.addIssue({
        code: "custom",
        path: ["pass"],
        message: "checks nothing: set 'exitCode', 'output' or both",
      });
    if (t.command) {
      const prog = t.command[0]!;
      if (/[\\/]/.test(prog) || prog === "." || prog === "..")
        ctx.addIssue({
          code: "custom",
          path: ["command"],
          message: `runs ${JSON.stringify(prog)}: name a program in the image's folder (injectDir) by its file name, e.g. ioctlapp.exe`,
        });
    }
  });

export const StackConfigSchema = z
  .object({
    /**
     * Which tools do the work: `adk` (Windows: MSBuild/WDK, DISM, MakeWinPEMedia, Hyper-V) or `open`
     * (Debian: clang/lld, wimlib, xorriso, QEMU).
     */
    toolchain: z.enum(["adk", "open"]),
    /** WinPE architecture. */
    arch: z.enum(["amd64", "arm64"]),
    /**
     * The WinPE working folder made by copype (`media/`, `fwfiles/`, `mount/`).
     * @example "D:\\WinPE_amd64"
     */
    workspace: pathString,
    /** The driver project: a `.sln` or `.vcxproj`, relative to the project root or absolute. */
    project: pathString.refine((p) => /\.(sln|vcxproj)$/i.test(p), "must end in .sln or .vcxproj"),
    /** Build configuration. @default "Debug" */
    configuration: z.enum(["Debug", "Release"]).default("Debug"),
    /** Where the built binaries go. @default "<workspace>/build" */
    buildDir: pathString.optional(),
    /** Sign drivers with a self-signed test certificate (x64 drivers load on testsigning media only when signed). @default true */
    signing: z.boolean().default(true),
    /**
     * Folder inside the image that receives the built binaries (the workflow's `\Windows\Ioctl`).
     * @default "Windows/Ioctl"
     */
    injectDir: z
      .string()
      .default("Windows/Ioctl")
      .superRefine((d, ctx) => {
        try {
          normalizeImagePath(d, "injectDir");
        } catch (e) {
          ctx.addIssue({ code: "custom", message: (e as Error).message.replace(/^'injectDir'\s*/, "") });
        }
      }),
    /** WIM image index to mount. @default 1 */
    imageIndex: z.number().int().min(1).default(1),
    /** BCD settings of the media. */
    bcd: BcdConfigSchema.default(BcdConfigSchema.parse({})),
    /**
     * Kernel debugging over the network (KDNET): written to the BCD when `debug.transport` is `net`, or when no
     * transport is set (the store's settings only: the VM is then no debug target).
     */
    kdnet: KdnetConfigSchema.optional(),
    /** The VM as a kernel-debug target (`winpe debug`); omit for none. */
    debug: DebugConfigSchema.optional(),
    iso: z
      .object({
        /** The ISO to write. @example "D:\\WinPE_amd64\\winpe_x64_debug.iso" */
        path: pathString.refine((p) => /\.iso$/i.test(p), "must end in .iso"),
      })
      .strict(),
    vm: z
      .object({
        /** Make/attach the VM boot media. @default true */
        enabled: z.boolean().default(true),
        /** Hyper-V VM name (adk) or QEMU definition name (open). @default "winpe-lab-<stack>" */
        name: z
          .string()
          .regex(/^[A-Za-z0-9_.-]{1,64}$/, "must be 1-64 letters, digits, '.', '_' or '-'")
          .optional(),
        /** Create the Hyper-V VM if it does not exist (adk). @default true */
        create: z.boolean().default(true),
        /** Memory in MiB. @default 1024 */
        memoryMb: z.number().int().min(256).max(65536).default(1024),
        /** open: boot the ISO headless in QEMU and wait for the marker/pattern. @default false */
        bootCheck: z.boolean().default(false),
        /** Regular expression the boot check waits for on the serial console. @default the stand-in marker */
        bootPattern: z.string().optional(),
        /** Seconds the boot check waits. @default 120 */
        bootTimeoutSec: z.number().int().min(5).max(3600).default(120),
        /** open: QEMU's accelerator, `tcg` (emulation, any host) or `kvm` (a working /dev/kvm). @default "tcg" */
        accel: z.enum(["tcg", "kvm"]).default("tcg"),
        /** adk + `debug.transport` net: the Hyper-V virtual switch of the VM's network adapter. @default "Default Switch" */
        switch: z.string().min(1).optional(),
      })
      .strict()
      .default({ enabled: true, create: true, memoryMb: 1024, bootCheck: false, bootTimeoutSec: 120, accel: "tcg" }),
    /** The driver test: the Wine pre-flight, the boot-time test in WinPE, Driver Verifier. */
    test: TestConfigSchema.default(TestConfigSchema.parse({})),
  })
  .strict()
  .superRefine((c, ctx) => {
    const isWin = c.toolchain === "adk";
    const abs = (p: string) => (isWin ? path.win32.isAbsolute(p) && /^[A-Za-z]:\\|^\\\\/.test(p) : path.isAbsolute(p));
    if (isWin && !abs(c.workspace)) {
      ctx.addIssue({
        code: "custom",
        path: ["workspace"],
        message: "must be an absolute Windows path like D:\\WinPE_amd64",
      });
    }
    if (isWin && !abs(c.iso.path)) {
      ctx.addIssue({
        code: "custom",
        path: ["iso", "path"],
        message: "must be an absolute Windows path ending in .iso",
      });
    }
    if (c.bcd.writer === "bcdedit" && !isWin) {
      ctx.addIssue({
        code: "custom",
        path: ["bcd", "writer"],
        message: "bcdedit exists only with the adk toolchain (Windows)",
      });
    }
    const t = c.debug?.transport;
    if (t === "net" && !c.kdnet) {
      ctx.addIssue({
        code: "custom",
        path: ["kdnet"],
        message: "is required when 'winpe-lab:debug.transport' is net (the debugger host's hostIp, port and key)",
      });
    }
    if (t === "gdb" && isWin) {
      ctx.addIssue({
        code: "custom",
        path: ["debug", "transport"],
        message: "gdb needs QEMU's gdbstub, and the adk toolchain's Hyper-V has none: use net or serial",
      });
    }
    if (t === "net" && !isWin && c.kdnet && c.kdnet.hostIp !== "10.0.2.2") {
      ctx.addIssue({
        code: "custom",
        path: ["kdnet", "hostIp"],
        message:
          "must be 10.0.2.2 with the open toolchain and debug.transport net: the VM's QEMU user network reaches the host there",
      });
    }
    if (t === "serial" && !isWin && c.arch === "arm64") {
      ctx.addIssue({
        code: "custom",
        path: ["debug", "transport"],
        message:
          "serial needs a second UART for the console, and QEMU's arm64 virt machine has one: use net or gdb for arm64",
      });
    }
    if (c.vm.accel === "kvm" && isWin) {
      ctx.addIssue({ code: "custom", path: ["vm", "accel"], message: "is an open-toolchain (QEMU) setting" });
    }
    if (c.vm.switch !== undefined && !isWin) {
      ctx.addIssue({ code: "custom", path: ["vm", "switch"], message: "is an adk-toolchain (Hyper-V) setting" });
    }
    if (c.bcd.stores !== "efi" && c.arch === "arm64") {
      ctx.addIssue({
        code: "custom",
        path: ["bcd", "stores"],
        message: "arm64 media is UEFI-only: only the 'efi' store exists",
      });
    }
  });

export type StackConfig = z.output<typeof StackConfigSchema>;
export type StackConfigInput = z.input<typeof StackConfigSchema>;

/** Error raised for invalid stack config; its message names each offending key (`winpe-lab:iso.path`). */
export class ConfigError extends WinpeError {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

function keyName(p: readonly PropertyKey[]): string {
  if (p.length === 0) return CONFIG_NAMESPACE;
  const [head, ...rest] = p;
  let out = `${CONFIG_NAMESPACE}:${String(head)}`;
  for (const r of rest) out += typeof r === "number" ? `[${r}]` : `.${String(r)}`;
  return out;
}

/**
 * Validate the raw stack config (keys without the namespace, values parsed from YAML/JSON).
 * Throws {@link ConfigError} with one line per problem, each naming the key.
 */
export function parseStackConfig(raw: Record<string, unknown>): StackConfig {
  const r = StackConfigSchema.safeParse(raw);
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => {
    if (i.code === "unrecognized_keys") {
      return i.keys
        .map((k) => `'${keyName([...i.path, k])}' is not a known setting (see the README's config reference)`)
        .join("\n");
    }
    if (i.code === "invalid_type" && /received undefined$/.test(i.message)) {
      const hint =
        i.path.join(".") === "kdnet.key"
          ? " (a secret: npm run -s pulumi -- config set --secret --path kdnet.key <key>)"
          : "";
      return `'${keyName(i.path)}' is required${hint}`;
    }
    const msg = i.message.startsWith("Invalid input: expected") ? i.message.replace("Invalid input: ", "") : i.message;
    return `'${keyName(i.path)}' ${msg}`;
  });
  throw new ConfigError(lines.join("\n"));
}

/** Top-level keys whose values are strings even when they look like numbers or booleans. */
const STRING_KEYS = new Set(["toolchain", "arch", "workspace", "project", "configuration", "buildDir", "injectDir"]);

/**
 * Turn Pulumi's raw config map (`{"winpe-lab:iso": "{\"path\":...}"}`, every value a string) into the object
 * the schema validates. Keys of other namespaces are ignored.
 */
export function rawConfigToObject(all: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const prefix = `${CONFIG_NAMESPACE}:`;
  for (const [fullKey, value] of Object.entries(all)) {
    if (!fullKey.startsWith(prefix)) continue;
    const key = fullKey.slice(prefix.length);
    if (STRING_KEYS.has(key)) {
      out[key] = value;
      continue;
    }
    const t = value.trim();
    if (/^[[{]/.test(t) || t === "true" || t === "false" || /^-?\d+(\.\d+)?$/.test(t)) {
      try {
        out[key] = JSON.parse(t);
        continue;
      } catch {
        // not JSON: keep the string, the schema will say what is wrong
      }
    }
    out[key] = value;
  }
  return out;
}
