/**
 * `ImageCommit`: writes the staged changes of a mount into the WIM (adk: DISM `/Commit-Image`; open:
 * `wimlib-imagex update`, which appends and keeps LZX). Runs only when the injected content changed; tracks the
 * WIM's resulting sha256 for the ISO. Delete reverts the WIM's content: files we added are removed and files we
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
  version: 1,
  args: ImageCommitArgsSchema,
  outputs: {
    /** What the WIM holds at our image paths after the commit. */
    committed: z.record(z.string(), StagedFileSchema),
    /** sha256 of the WIM file after the commit (the ISO rebuilds when it changes). */
    wimSha256: z.string(),
    wimSize: z.number().int(),
    /** Image paths (or `<wim>`) found changed by the last refresh (fixed by the next up). */
    drift: z.array(z.string()),
  },
  updateOn: ["contentHash"],
  replaceOn: ["mount"],
  deleteBeforeReplace: true,
});

export class ImageCommit extends resourceClass(ImageCommitDecl) {}
