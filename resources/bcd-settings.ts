/**
 * `BcdSettings`: testsigning, nointegritychecks, debug, bootdebug and the kernel debugger's transport (KDNET, or
 * KD over a serial port) in the BCD store(s) of WinPE media, flipped on by `up` and restored by `destroy`.
 *
 * Create/update write only the elements that differ and record each element's previous value (or absence);
 * delete restores exactly those, so destroy after up leaves the store as it was (byte-identical when nothing
 * else touched it: the pristine store is kept aside and put back). Refresh reports drift when a flag was
 * flipped by hand. Both toolchains use our BCD module (a media store needs no elevation); the adk toolchain
 * can use bcdedit instead (`writer: "bcdedit"`).
 */
import * as path from "node:path";
import { z } from "zod";
import { KDNET_KEY_RE } from "../formats/bcd";
import { declare, resourceClass } from "./declare";

/** `on`/`off` (bcdedit's words); booleans are accepted and normalized. */
const onOff = z
  .union([z.boolean(), z.enum(["on", "off", "yes", "no", "true", "false"])])
  .transform((v) => (v === true || v === "on" || v === "yes" || v === "true" ? "on" : "off"));

export const BcdFlagsSchema = z
  .object({
    /** Load test-signed drivers (`bcdedit /set {default} testsigning on`). */
    testsigning: onOff.optional(),
    /** Skip driver signature checks. */
    nointegritychecks: onOff.optional(),
    /** Kernel debugging of the loaded OS. */
    debug: onOff.optional(),
    /** Boot debugging. */
    bootdebug: onOff.optional(),
  })
  .strict();

const ipv4 = z
  .string()
  .regex(/^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/, "must be an IPv4 address like 192.168.0.10");

export const KdnetSchema = z
  .object({
    /** The debugger host's IPv4 address. */
    hostIp: ipv4,
    /** UDP port on the host, 49152-65535. @example 50005 */
    port: z.number().int().min(49152, "must be at least 49152 (KDNET uses dynamic ports 49152-65535)").max(65535),
    /** The KDNET key (pass a Pulumi secret). @example "5.5.5.5" */
    key: z.string().regex(KDNET_KEY_RE, "must be four dot-separated words of letters and digits, each at most 13 long"),
  })
  .strict();

/**
 * Kernel debugging over a serial port: `{dbgsettings}` debugtype SERIAL, debugport, baudrate, as
 * `bcdedit /dbgsettings serial debugport:1 baudrate:115200` writes them.
 */
export const SerialDebugSchema = z
  .object({
    /** The COM port (1 = COM1). @default 1 */
    debugport: z.number().int().min(1).max(255).default(1),
    /** Baud rate: 9600, 19200, 38400, 57600 or 115200. @default 115200 */
    baudrate: z
      .union([z.literal(9600), z.literal(19200), z.literal(38400), z.literal(57600), z.literal(115200)])
      .default(115200),
  })
  .strict();

export const BcdSettingsArgsSchema = z
  .object({
    /** Which tools write the store (both use our BCD module unless `writer` is `bcdedit`). */
    toolchain: z.enum(["adk", "open"]),
    /**
     * The store files to change (WinPE amd64 media has `media/Boot/BCD` and `media/EFI/Microsoft/Boot/BCD`).
     * @example ["D:\\WinPE_amd64\\media\\EFI\\Microsoft\\Boot\\BCD"]
     */
    stores: z.array(z.string().min(1)).min(1, "must name at least one BCD store"),
    /** The object whose flags are set: `{default}` or a GUID. @default "{default}" */
    object: z.string().default("{default}"),
    /** Flags to manage; flags left out are not touched. */
    flags: BcdFlagsSchema.default({}),
    /** Network kernel debugging settings of `{dbgsettings}`; omit to leave them alone. */
    kdnet: KdnetSchema.optional(),
    /** Serial kernel debugging settings of `{dbgsettings}` (exclusive with `kdnet`); omit to leave them alone. */
    serial: SerialDebugSchema.optional(),
    /**
     * Where the pristine copies of the stores are kept until destroy (outside `media/`, so never on the ISO).
     * @example "D:\\WinPE_amd64\\.winpe-lab\\bcd"
     */
    stateDir: z.string().min(1),
    /** adk only: write with bcdedit instead of our module. @default "module" */
    writer: z.enum(["module", "bcdedit"]).default("module"),
  })
  .strict()
  .superRefine((a, ctx) => {
    const abs = a.toolchain === "adk" ? path.win32.isAbsolute : path.posix.isAbsolute;
    a.stores.forEach((s, i) => {
      if (!abs(s)) ctx.addIssue({ code: "custom", path: ["stores", i], message: "must be an absolute path" });
    });
    if (!abs(a.stateDir)) ctx.addIssue({ code: "custom", path: ["stateDir"], message: "must be an absolute path" });
    if (a.writer === "bcdedit" && a.toolchain !== "adk") {
      ctx.addIssue({
        code: "custom",
        path: ["writer"],
        message: "bcdedit exists only with the adk toolchain (Windows)",
      });
    }
    if (a.kdnet && a.serial) {
      ctx.addIssue({
        code: "custom",
        path: ["serial"],
        message: "cannot be set together with 'kdnet': {dbgsettings} holds one debug transport",
      });
    }
    if (new Set(a.stores.map((s) => s.toLowerCase())).size !== a.stores.length) {
      ctx.addIssue({ code: "custom", path: ["stores"], message: "names the same store twice" });
    }
  });

export type BcdSettingsArgs = z.input<typeof BcdSettingsArgsSchema>;

const ElementValueSchema = z.object({ regType: z.number().int(), hex: z.string() }).strict();

/** One element we manage: where, what we want, and what was there before us. */
export const AppliedElementSchema = z
  .object({
    /** Object GUID (resolved). */
    object: z.string(),
    /** Element id, 8 hex digits. */
    id: z.string(),
    /** bcdedit name, for messages. */
    name: z.string(),
    desired: ElementValueSchema,
    /** The value before we first changed it, or null when the element was absent. */
    previous: ElementValueSchema.nullable(),
    secret: z.boolean(),
  })
  .strict();

/** What we did to one store. */
export const AppliedStoreSchema = z
  .object({
    elements: z.record(z.string(), AppliedElementSchema),
    /** Objects we had to create (e.g. `{dbgsettings}` in a store without it); deleted on restore. */
    createdObjects: z.array(z.string()),
    /** The untouched store, kept aside, and its sha256; null once someone else changed the store. */
    pristine: z.object({ backup: z.string(), sha256: z.string() }).strict().nullable(),
    /** sha256 of the store right after our last write. */
    writtenSha256: z.string(),
    /** Who wrote the store: bcdedit (adk, `writer: "bcdedit"`), or our module when absent. */
    writer: z.literal("bcdedit").optional(),
  })
  .strict();

export const BcdSettingsDecl = declare({
  type: "BcdSettings",
  provider: "bcd-settings",
  version: 1,
  args: BcdSettingsArgsSchema,
  outputs: {
    /** The settings in effect per store, as bcdedit would show them (`testsigning: on`, `port: 50005`; no key). */
    effective: z.record(z.string(), z.record(z.string(), z.string())),
    /** sha256 of each store after the change (the ISO rebuilds when one changes). */
    storeHashes: z.record(z.string(), z.string()),
    /** Elements found changed by hand by the last refresh (`testsigning: on -> off`); fixed by the next up. */
    drift: z.array(z.string()),
    /** Per store: each element we set with its previous value, the objects we made, the pristine copy. */
    applied: z.record(z.string(), AppliedStoreSchema),
  },
  updateOn: ["toolchain", "stores", "object", "flags", "kdnet", "serial", "stateDir", "writer"],
  secrets: ["kdnet", "applied"],
});

export class BcdSettings extends resourceClass(BcdSettingsDecl) {}
