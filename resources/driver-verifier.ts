/**
 * `DriverVerifier`: Driver Verifier settings in the image's offline SYSTEM hive (`Windows/System32/config/SYSTEM`),
 * written by our REGF module: `VerifyDrivers` (REG_SZ, the driver names) and `VerifyDriverLevel` (REG_DWORD, the
 * flags) under `ControlSet00N\Control\Session Manager\Memory Management` (N = `Select\Current`), as
 * `verifier /flags <level> /driver <names>` sets them on a running Windows (formats/verifier.ts cites Microsoft's
 * documentation).
 *
 * It comes after ImageCommit (the WIM's content is committed first) and commits the hive itself, through the image
 * backend. The values the hive held before are recorded; destroy puts the hive back byte for byte when nobody else
 * changed it since (the untouched copy is kept in the stack's folder), and only the two values otherwise. Preview
 * names the values (`values.VerifyDrivers`, `values.VerifyDriverLevel`).
 */
import * as path from "node:path";
import { z } from "zod";
import { DRIVER_NAME_RE } from "../formats/verifier";
import { declare, resourceClass } from "./declare";
import { MountRefSchema } from "./injected-files";

const RecordedValueSchema = z.object({ type: z.number().int(), data: z.string() }).strict().nullable();

export const DriverVerifierArgsSchema = z
  .object({
    /** The image (MountedImage's `ref`). */
    mount: MountRefSchema,
    /** The values to write (preview names them). */
    values: z
      .object({
        /** Driver image names, separated by spaces (`verifier /driver a.sys b.sys`). */
        VerifyDrivers: z
          .string()
          .min(1)
          .refine(
            (s) => s.split(" ").every((d) => DRIVER_NAME_RE.test(d)),
            "must be driver file names separated by single spaces",
          ),
        /** The option bits (`verifier /flags`). */
        VerifyDriverLevel: z.number().int().min(1).max(0xffffffff),
      })
      .strict(),
    /** The flag names the level was made of (for people; the level is what is written). */
    flags: z.array(z.string()),
    /** ImageCommit's `wimDigest`: after the WIM changed, the hive is checked again (and rewritten if needed). */
    imageRevision: z.string().min(1),
    /** The stack's own folder for the untouched copy of the hive and the edited one; removed on delete. */
    stateDir: z.string().min(1),
  })
  .strict()
  .superRefine((a, ctx) => {
    const abs = a.mount.toolchain === "adk" ? path.win32.isAbsolute : path.posix.isAbsolute;
    if (!abs(a.stateDir)) ctx.addIssue({ code: "custom", path: ["stateDir"], message: "must be an absolute path" });
  });

export type DriverVerifierArgs = z.input<typeof DriverVerifierArgsSchema>;

export const DriverVerifierDecl = declare({
  type: "DriverVerifier",
  provider: "driver-verifier",
  // v2: the WIM's identity is a tree digest (as ImageCommit's v2); a v1 state's sha256 is kept as a plain digest
  version: 2,
  migrations: {
    1: ({ wimSha256, ...s }) => ({ ...s, wimDigest: wimSha256 }),
  },
  args: DriverVerifierArgsSchema,
  outputs: {
    /** The control set the values were written in (`ControlSet001`). */
    controlSet: z.string(),
    /** What the two values were before winpe-lab wrote them (type and data in hex; null: absent). */
    previous: z.object({ VerifyDrivers: RecordedValueSchema, VerifyDriverLevel: RecordedValueSchema }).strict(),
    /** sha1 (as the WIM stores it) of the hive before the first write, and of the hive winpe-lab committed. */
    originalSha1: z.string(),
    writtenSha1: z.string(),
    /** Whether the untouched hive is kept (destroy can put it back byte for byte). */
    pristineKept: z.boolean(),
    /** The WIM's tree digest and size after the write (the ISO rebuilds when it changes). */
    wimDigest: z.string(),
    /** Only in a state from before v2 (until the next write): the program reads the identity from here then. */
    wimSha256: z.string().optional(),
    wimSize: z.number().int(),
    /** `hive` when the last refresh found the image's hive changed (fixed by the next up). */
    drift: z.array(z.string()),
  },
  updateOn: ["values", "flags", "imageRevision"],
  replaceOn: ["mount", "stateDir"],
  deleteBeforeReplace: true,
});

export class DriverVerifier extends resourceClass(DriverVerifierDecl) {}
