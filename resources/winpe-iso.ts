/**
 * `WinPeIso`: the bootable ISO of a WinPE working folder (adk: `MakeWinPEMedia /ISO /F`; open: xorriso through
 * `makeMedia`). Rebuilt only when a content hash it depends on changed (the WIM, the BCD stores, the other media
 * files); written to a temporary file and renamed. Delete removes the ISO; refresh notices it deleted or altered.
 */
import * as path from "node:path";
import { z } from "zod";
import { declare, resourceClass } from "./declare";

export const WinPeIsoArgsSchema = z
  .object({
    /** Which tools write the ISO. */
    toolchain: z.enum(["adk", "open"]),
    /** WinPE architecture (arm64 media is UEFI-only). */
    arch: z.enum(["amd64", "arm64"]),
    /**
     * The WinPE working folder (`media/`, `fwfiles/`).
     * @example "D:\\WinPE_amd64"
     */
    workspace: z.string().min(1, "must name the WinPE working folder"),
    /**
     * The ISO to write.
     * @example "D:\\WinPE_amd64\\winpe_x64_debug.iso"
     */
    isoPath: z
      .string()
      .min(1)
      .refine((p) => /\.iso$/i.test(p), "must end in .iso"),
    /**
     * Use the no-prompt UEFI boot image (`efisys_noprompt.bin`) when the working folder has it, so a VM boots
     * unattended ("Press any key to boot from CD" is skipped).
     * @default true
     */
    noPrompt: z.boolean().default(true),
    /**
     * Content hashes the ISO is made from, by name (e.g. `sources/boot.wim`, `EFI/Microsoft/Boot/BCD`, `media`):
     * a change of any rebuilds the ISO.
     */
    contentHashes: z.record(z.string(), z.string()),
  })
  .strict()
  .superRefine((a, ctx) => {
    const abs = a.toolchain === "adk" ? path.win32.isAbsolute : path.posix.isAbsolute;
    if (!abs(a.workspace)) ctx.addIssue({ code: "custom", path: ["workspace"], message: "must be an absolute path" });
    if (!abs(a.isoPath)) ctx.addIssue({ code: "custom", path: ["isoPath"], message: "must be an absolute path" });
  });

export type WinPeIsoArgs = z.input<typeof WinPeIsoArgsSchema>;

export const WinPeIsoDecl = declare({
  type: "WinPeIso",
  provider: "winpe-iso",
  version: 2,
  // v2: the ISO's identity is a tree digest (sha256 over the sha256 of each 1 MiB piece, runtime/digest.ts), so an
  // in-place update hashes only the pieces it changed. A v1 state's sha256 is kept as a plain digest (compared as
  // a sha256 by refresh and delete); the next write records a tree digest.
  migrations: {
    1: ({ sha256, ...s }) => ({ ...s, digest: sha256 }),
  },
  args: WinPeIsoArgsSchema,
  outputs: {
    /** Size of the ISO in bytes. */
    size: z.number().int().min(0),
    /**
     * The ISO's tree digest: `sha256-1m:` + sha256 over the sha256 of each 1 MiB piece of the file, in order
     * (`winpe digest <iso>` prints it). A state written before v2 holds the plain sha256 (64 hex).
     */
    digest: z.string(),
    /**
     * Only in a state written before v2, until the ISO is written again: the engine hands dependents the outputs
     * it stored, so the program reads the identity from here when `digest` is not there yet.
     */
    sha256: z.string().optional(),
    /** `present`, or `missing`/`altered` after a refresh (written again by the next up). */
    state: z.enum(["present", "missing", "altered"]),
  },
  updateOn: ["toolchain", "arch", "workspace", "noPrompt", "contentHashes"],
  replaceOn: ["isoPath"],
});

export class WinPeIso extends resourceClass(WinPeIsoDecl) {}
