/**
 * `MountedImage`: a WIM image mounted for changes, living across `up`s so iterating does not pay a mount each
 * time. adk: DISM `/Mount-Image` (delete: `/Unmount-Image /Discard`). open: a mount-free claim on the WIM with
 * the mount folder as the staging area (see toolchains/open/image.ts for why).
 *
 * Refresh finds the truth (mounted, stale, gone); a stale mount is recovered on the next `up` and reported.
 * One writer per WIM: a second stack that mounts the same WIM gets an error naming the holder.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { type ArgsOf, declare, resourceClass } from "./declare";

const nonEmpty = (what: string) => z.string().min(1, `must name ${what}`);

export const MountedImageArgsSchema = z
  .object({
    /** Which tools mount the image. */
    toolchain: z.enum(["adk", "open"]),
    /**
     * The WIM file.
     * @example "D:\\WinPE_amd64\\media\\sources\\boot.wim"
     */
    wim: nonEmpty("the WIM file"),
    /** Image index inside the WIM. @default 1 */
    index: z.number().int().min(1, "must be 1 or more").default(1),
    /**
     * The mount folder (empty, or made if missing).
     * @example "D:\\WinPE_amd64\\mount"
     */
    mountDir: nonEmpty("the mount folder"),
    /**
     * Who holds the mount, for lock messages. The program passes `<project>/<stack>`.
     * @default "winpe-lab"
     */
    holder: z.string().min(1).default("winpe-lab"),
  })
  .strict()
  .superRefine((a, ctx) => {
    const abs = a.toolchain === "adk" ? path.win32.isAbsolute : path.posix.isAbsolute;
    if (!abs(a.wim)) ctx.addIssue({ code: "custom", path: ["wim"], message: "must be an absolute path" });
    if (!abs(a.mountDir)) ctx.addIssue({ code: "custom", path: ["mountDir"], message: "must be an absolute path" });
    if (!/\.wim$/i.test(a.wim)) ctx.addIssue({ code: "custom", path: ["wim"], message: "must end in .wim" });
  });

export type MountedImageArgs = z.input<typeof MountedImageArgsSchema>;

/** The mount as other resources take it (InjectedFiles, ImageCommit). */
export interface MountRef {
  toolchain: "adk" | "open";
  wim: string;
  index: number;
  mountDir: string;
  privateDir: string;
  holder: string;
}

/** Private bookkeeping folder of a mount: beside the mount folder, never inside it or inside media/. */
export function privateDirFor(toolchain: "adk" | "open", mountDir: string): string {
  const p = toolchain === "adk" ? path.win32 : path.posix;
  return p.join(p.dirname(mountDir), ".winpe-lab", `mount-${p.basename(mountDir)}`);
}

export const MountedImageDecl = declare({
  type: "MountedImage",
  provider: "mounted-image",
  version: 1,
  args: MountedImageArgsSchema,
  outputs: {
    /** Our bookkeeping folder of the mount (beside the mount folder). */
    privateDir: z.string(),
    /** `mounted`, or `stale` after a refresh found an interrupted step (recovered by the next up). */
    status: z.enum(["mounted", "stale"]),
    statusReason: z.string(),
    imageName: z.string(),
    fileCount: z.number().int(),
    compression: z.string(),
  },
  updateOn: ["holder"],
  replaceOn: ["toolchain", "wim", "index", "mountDir"],
  deleteBeforeReplace: true,
});

export class MountedImage extends resourceClass(MountedImageDecl) {
  /** The mount, for InjectedFiles and ImageCommit. */
  readonly ref: pulumi.Output<MountRef>;

  constructor(name: string, args: ArgsOf<typeof MountedImageDecl>, opts?: pulumi.CustomResourceOptions) {
    super(name, args, opts);
    this.ref = pulumi
      .all([this.toolchain, this.wim, this.index, this.mountDir, this.privateDir, this.holder])
      .apply(([toolchain, wim, index, mountDir, privateDir, holder]) => ({
        toolchain,
        wim,
        index,
        mountDir,
        privateDir,
        holder,
      }));
  }
}
