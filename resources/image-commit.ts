/**
 * `ImageCommit`: writes the staged changes of a mount into the WIM (adk: DISM `/Commit-Image`; open:
 * `wimlib-imagex update`, which appends and keeps LZX). Runs only when the injected content changed; tracks the
 * WIM's resulting tree digest for the ISO. Delete reverts the WIM's content: files we added are removed and files we
 * replaced get their originals back.
 */
import { z } from "zod";
import { declare, resourceClass } from "./declare";
import { MountRefSchema, StagedFileSchema } from "./injected-files";

export const ImageCommitArgsSchema = z
  .object({
    /** The mount (MountedImage's `ref`). */
    mount: MountRefSchema,
    /** What to commit: InjectedFiles' `staged`. */
    files: z.record(z.string(), StagedFileSchema),
    /** InjectedFiles' `contentHash`: the commit runs when it changes. */
    contentHash: z.string().min(1),
  })
  .strict();

export type ImageCommitArgs = z.input<typeof ImageCommitArgsSchema>;

export const ImageCommitDecl = declare({
  type: "ImageCommit",
  provider: "image-commit",
  // v2: the WIM's identity is a tree digest (sha256 over its 1 MiB pieces, runtime/digest.ts): after wimlib's
  // append only the changed pieces are hashed. A v1 state's sha256 is kept as a plain digest.
  version: 2,
  migrations: {
    1: ({ wimSha256, ...s }) => ({ ...s, wimDigest: wimSha256 }),
  },
  args: ImageCommitArgsSchema,
  outputs: {
    /** What the WIM holds at our image paths after the commit. */
    committed: z.record(z.string(), StagedFileSchema),
    /** The WIM file's tree digest after the commit (`sha256-1m:`; the ISO rebuilds when it changes). */
    wimDigest: z.string(),
    /** Only in a state from before v2 (until the next commit): the program reads the identity from here then. */
    wimSha256: z.string().optional(),
    wimSize: z.number().int(),
    /** Image paths (or `<wim>`) found changed by the last refresh (fixed by the next up). */
    drift: z.array(z.string()),
  },
  updateOn: ["contentHash"],
  replaceOn: ["mount"],
  deleteBeforeReplace: true,
});

export class ImageCommit extends resourceClass(ImageCommitDecl) {}
