/**
 * `ImageCommit`: writes the staged changes of a mount into the WIM (adk: DISM `/Commit-Image`; open:
 * `wimlib-imagex update`, which appends and keeps LZX). Runs only when the injected content changed; tracks the
 * WIM's resulting sha256 for the ISO. Delete reverts the WIM's content: files we added are removed and files we
 * replaced get their originals back.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { MountRefSchema, type StagedFile } from "./injected-files";
import type { MountRef } from "./mounted-image";
import { providerShell } from "./providers/shell";

export const StagedFileSchema = z
  .object({
    source: z.string(),
    sha256: z.string(),
    sha1: z.string(),
    size: z.number(),
    original: z.object({ sha1: z.string(), size: z.number(), backup: z.string() }).strict().nullable(),
    createdFolders: z.array(z.string()).optional(),
  })
  .strict();

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

type Inputs<T> = { [K in keyof T]: pulumi.Input<T[K]> };

export class ImageCommit extends pulumi.dynamic.Resource {
  declare readonly mount: pulumi.Output<MountRef>;
  /** What the WIM holds at our image paths after the commit. */
  declare readonly committed: pulumi.Output<Record<string, StagedFile>>;
  /** sha256 of the WIM file after the commit (the ISO rebuilds when it changes). */
  declare readonly wimSha256: pulumi.Output<string>;
  declare readonly wimSize: pulumi.Output<number>;
  /** Image paths (or `<wim>`) found changed by the last refresh (fixed by the next up). */
  declare readonly drift: pulumi.Output<string[]>;

  constructor(name: string, args: Inputs<ImageCommitArgs>, opts?: pulumi.CustomResourceOptions) {
    super(
      providerShell("image-commit"),
      name,
      { committed: undefined, wimSha256: undefined, wimSize: undefined, drift: undefined, ...args },
      opts,
      "winpe-lab",
      "ImageCommit",
    );
  }
}
