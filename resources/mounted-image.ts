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
import { providerShell } from "./providers/shell";

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

type Inputs<T> = { [K in keyof T]: pulumi.Input<T[K]> };

export class MountedImage extends pulumi.dynamic.Resource {
  declare readonly toolchain: pulumi.Output<"adk" | "open">;
  declare readonly wim: pulumi.Output<string>;
  declare readonly index: pulumi.Output<number>;
  declare readonly mountDir: pulumi.Output<string>;
  declare readonly privateDir: pulumi.Output<string>;
  declare readonly holder: pulumi.Output<string>;
  /** `mounted`, or `stale` after a refresh found an interrupted step (recovered by the next up). */
  declare readonly status: pulumi.Output<string>;
  declare readonly statusReason: pulumi.Output<string>;
  declare readonly imageName: pulumi.Output<string>;
  declare readonly fileCount: pulumi.Output<number>;
  declare readonly compression: pulumi.Output<string>;
  /** The mount, for InjectedFiles and ImageCommit. */
  readonly ref: pulumi.Output<MountRef>;

  constructor(name: string, args: Inputs<MountedImageArgs>, opts?: pulumi.CustomResourceOptions) {
    const outs = {
      privateDir: undefined,
      status: undefined,
      statusReason: undefined,
      imageName: undefined,
      fileCount: undefined,
      compression: undefined,
    };
    super(providerShell("mounted-image"), name, { ...outs, ...args }, opts, "winpe-lab", "MountedImage");
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
