/**
 * `InjectedFiles`: files copied into a mounted image, e.g. `Windows/Ioctl/sioctl.sys` from a DriverBuild output.
 *
 * The diff is per file: preview lists which image paths are added, replaced or removed. Update copies only what
 * changed and takes out what left the map; delete takes out exactly what it added (an original file it replaced
 * is restored by the commit). Refresh notices a file changed or removed in the mount folder.
 */
import { z } from "zod";
import { validateImagePaths } from "../formats/image-path";
import { declare, resourceClass } from "./declare";

export const MountRefSchema = z
  .object({
    toolchain: z.enum(["adk", "open"]),
    wim: z.string().min(1),
    index: z.number().int().min(1),
    mountDir: z.string().min(1),
    privateDir: z.string().min(1),
    holder: z.string().min(1),
  })
  .strict();

export const InjectedFileSchema = z
  .object({
    /** The file to copy (absolute path on the machine that runs the toolchain). */
    source: z.string().min(1, "must name the source file").optional(),
    /**
     * The file's content itself (UTF-8 text, e.g. a generated script), instead of `source`: preview shows its
     * changes. Written into the mount's private folder, then staged like a source.
     */
    content: z.string().optional(),
    /**
     * A digest of what the source is built from, known before it is built (DriverBuild's `inputsHash`).
     * It lets preview name the one file that will change. When absent, the source file's own sha256 is used.
     */
    revision: z.string().optional(),
  })
  .strict()
  .superRefine((f, ctx) => {
    if ((f.source === undefined) === (f.content === undefined))
      ctx.addIssue({ code: "custom", message: "must give either 'source' (a file) or 'content' (the text), not both" });
  });

export const InjectedFilesArgsSchema = z
  .object({
    /** The mount (MountedImage's `ref`). */
    mount: MountRefSchema,
    /**
     * Destinations inside the image (relative, `/` or `\`; no `..`, no drive letters or device names, no two that
     * differ only in case) mapped to their sources.
     * @example { "Windows/Ioctl/sioctl.sys": { source: "/work/build/sioctl.sys" } }
     */
    files: z.record(z.string(), InjectedFileSchema),
    /**
     * The image's architecture: Windows binaries (`.sys`, `.exe`, `.dll`, `.efi`) must be built for it, and each
     * must be of the kind its name says (a `.sys` a kernel-mode driver, an `.exe` a program, a `.dll` a DLL).
     * @default not checked against an architecture (the kinds still are)
     */
    arch: z.enum(["amd64", "arm64"]).optional(),
  })
  .strict()
  .superRefine((a, ctx) => {
    for (const d of Object.keys(a.files)) {
      if (/[\\/]$/.test(d))
        ctx.addIssue({
          code: "custom",
          path: ["files", d],
          message: `${JSON.stringify(d)} names a folder: name the file inside the image, e.g. Windows/Ioctl/x.sys`,
        });
    }
    try {
      validateImagePaths(Object.keys(a.files), "files");
    } catch (e) {
      ctx.addIssue({ code: "custom", path: ["files"], message: (e as Error).message.replace(/^'files'[: ]*/, "") });
    }
  });

export type InjectedFilesArgs = z.input<typeof InjectedFilesArgsSchema>;

/** What was staged for one image path. */
export const StagedFileSchema = z
  .object({
    source: z.string(),
    sha256: z.string(),
    sha1: z.string(),
    size: z.number(),
    /** The image's own file at that path before we replaced it (restored on delete), or null when we added it. */
    original: z.object({ sha1: z.string(), size: z.number(), backup: z.string() }).strict().nullable(),
    /** Folders above this path that adding it created in the image (removed with it when nothing of ours is left). */
    createdFolders: z.array(z.string()).optional(),
  })
  .strict();

export type StagedFile = z.output<typeof StagedFileSchema>;

export const InjectedFilesDecl = declare({
  type: "InjectedFiles",
  provider: "injected-files",
  version: 1,
  args: InjectedFilesArgsSchema,
  outputs: {
    /** Per image path: the staged file's sha256/sha1/size and the original it replaced. */
    staged: z.record(z.string(), StagedFileSchema),
    /** A stable digest of the staged set: ImageCommit runs when it changes. */
    contentHash: z.string(),
    /** Image paths found changed or missing by the last refresh (fixed by the next up). */
    drift: z.array(z.string()),
  },
  // which files change is the provider's own diff (per file: added, replaced, removed)
  updateOn: ["arch"],
  replaceOn: ["mount"],
  deleteBeforeReplace: true,
});

export class InjectedFiles extends resourceClass(InjectedFilesDecl) {}
