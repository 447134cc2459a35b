/**
 * The adk toolchain's image backend: DISM mounts the WIM, and the mount folder IS the image (a change to a file
 * under it is a change to the image, saved into the WIM by `/Commit-Image`).
 *
 * The commands of each step come from small pure functions ({@link adkMountCommands}, {@link adkStageCommands},
 * {@link adkCommitCommands}, ...) that the backend runs through `runAdk` (Windows only) and that `winpe plan`
 * prints: one source of truth. What needs no external tool is done with Node's `fs` on the mount folder:
 * hashing image files, backing up originals, checking whether a file is present.
 *
 * - mount: `Dism /Mount-Image` into the (empty or missing, then made) mount folder.
 * - status: `Dism /English /Get-MountedImageInfo`, parsed (dism-info.ts): Ok = mounted; Needs Remount, Invalid or
 *   another image = stale; not listed = missing.
 * - recover: `Dism /Remount-Image` when DISM says Needs Remount; nothing when it is mounted and ours; otherwise
 *   `Dism /Cleanup-Mountpoints` and mount again.
 * - unmount: `Dism /Unmount-Image /Discard` (after a remount when needed; a corrupt mount is cleaned up instead;
 *   nothing when DISM lists no mount there), so a destroy of a stale mount still ends.
 * - stage/unstage/commit: PowerShell `New-Item`, `Copy-Item -LiteralPath`, `Remove-Item -LiteralPath` in the mount
 *   folder (files.ts says why not xcopy/copy), then `Dism /Commit-Image`, which keeps the image mounted.
 *
 * `Copy-Item` is not atomic: a copy interrupted halfway leaves a partial file in the mount folder; the next
 * `up` copies it again (InjectedFiles compares the staged file's sha256 with its source).
 *
 * Windows paths are data on Linux: this file uses `path.win32` only.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { copyFileAtomic } from "../../runtime/atomic";
import { fileDigests } from "../../runtime/digest";
import { missingAncestors } from "../folders";
import type { ImageBackend, ImageChange, ImageFileHash, MountFacts, MountSpec, StepContext } from "../types";
import {
  dismCleanupMountpoints,
  dismCommitImage,
  dismGetMountedImageInfo,
  dismMountImage,
  dismRemountImage,
  dismUnmountImage,
} from "./dism";
import {
  type DismMountedImage,
  findMount,
  mountStateOf,
  otherImage,
  parseMountedImageInfo,
  windowsPathKey,
} from "./dism-info";
import { copyIntoImage, makeImageDir, removeFromImage } from "./files";
import { assertWindows, runAdk } from "./run";
import type { AdkCommand } from "./types";
import { AdkArgumentError, imageRelativePath, windowsPath } from "./validate";

/** The mount as the command functions need it. */
export type AdkMount = Pick<MountSpec, "wim" | "index" | "mountDir">;

/**
 * `Dism /English /Get-MountedImageInfo`: the mount list, in English whatever the system's language, so that
 * {@link parseMountedImageInfo} can read it. `/English` is a DISM global option.
 * Docs: https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/dism-global-options-for-command-line-syntax,
 * https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/dism-image-management-command-line-options-s14
 *
 * @returns the command (cmd)
 */
export function dismMountedImageInfoCommand(): AdkCommand {
  const base = dismGetMountedImageInfo();
  return { ...base, argv: ["/English", ...base.argv], why: `${base.why} (in English, to parse it)`, doc: base.doc };
}

/**
 * The image path `dest` (`Windows/Ioctl/sioctl.sys`) split into its folder in the image (`Windows\Ioctl`) and its
 * file name.
 *
 * @param dest - a path inside the image, `/` or `\` separated
 * @returns the folder and the name
 * @throws AdkArgumentError for a file at the image root (Copy-Item's destination folder must be named)
 */
export function imageDestParts(dest: string): { dir: string; name: string } {
  const rel = imageRelativePath("dest", dest);
  const dir = path.win32.dirname(rel);
  if (dir === "." || dir === "") {
    throw new AdkArgumentError(
      `'dest' ${dest} is at the image root: put injected files into a folder, e.g. Windows\\Ioctl`,
    );
  }
  return { dir, name: path.win32.basename(rel) };
}

/**
 * Where an image path lives in the mount folder: `D:\WinPE_amd64\mount\Windows\Ioctl\sioctl.sys`.
 *
 * @param mountDir - the DISM mount folder
 * @param dest - a path inside the image
 * @returns the absolute Windows path
 */
export function mountPathOf(mountDir: string, dest: string): string {
  return path.win32.join(windowsPath("mountDir", mountDir), imageRelativePath("dest", dest));
}

/**
 * Mount: `Dism /Mount-Image /ImageFile:"<wim>" /index:<n> /MountDir:"<dir>"`.
 *
 * @param m - WIM, index, mount folder
 * @returns the commands, in order
 */
export function adkMountCommands(m: AdkMount): AdkCommand[] {
  return [dismMountImage({ wim: m.wim, index: m.index, mountDir: m.mountDir })];
}

/**
 * Status (and the first step of recover and unmount): `Dism /English /Get-MountedImageInfo`.
 *
 * @returns the commands, in order
 */
export function adkStatusCommands(): AdkCommand[] {
  return [dismMountedImageInfoCommand()];
}

/**
 * Recover a mount, given what DISM lists at its folder: Needs Remount -> `/Remount-Image`; mounted and ours ->
 * nothing; not listed, Invalid or unknown -> `/Cleanup-Mountpoints` then mount again.
 *
 * @param m - our mount
 * @param entry - DISM's entry for the mount folder ({@link findMount}), or undefined
 * @returns the commands, in order
 * @throws Error when DISM has another image mounted at our folder (recovering would take it over)
 */
export function adkRecoverCommands(m: AdkMount, entry: DismMountedImage | undefined): AdkCommand[] {
  if (entry && entry.status === "Ok") {
    if (otherImage(entry, m)) {
      throw new Error(
        `DISM has ${entry.imageFile} (index ${entry.imageIndex ?? "?"}) mounted at ${m.mountDir}, not ${m.wim}: unmount it (Dism /Unmount-Image /MountDir:"${m.mountDir}" /Discard) or choose another mount folder`,
      );
    }
    return [];
  }
  if (entry && entry.status === "NeedsRemount") return [dismRemountImage(m.mountDir)];
  return [dismCleanupMountpoints(), ...adkMountCommands(m)];
}

/**
 * Unmount, discarding what was not committed, given what DISM lists at the folder: Ok (ours) ->
 * `/Unmount-Image /Discard`; Needs Remount -> `/Remount-Image` then unmount; Invalid or unknown ->
 * `/Cleanup-Mountpoints`; not listed or another image -> nothing.
 *
 * @param m - our mount
 * @param entry - DISM's entry for the mount folder, or undefined
 * @returns the commands, in order
 */
export function adkUnmountCommands(m: AdkMount, entry: DismMountedImage | undefined): AdkCommand[] {
  if (!entry) return [];
  if (entry.status === "Ok") return otherImage(entry, m) ? [] : [dismUnmountImage(m.mountDir, "discard")];
  if (entry.status === "NeedsRemount") {
    return [dismRemountImage(m.mountDir), dismUnmountImage(m.mountDir, "discard")];
  }
  return [dismCleanupMountpoints()];
}

/**
 * DISM's entry for a healthy mount of ours, to plan a destroy (`winpe plan`) without asking DISM.
 *
 * @param m - our mount
 * @returns an entry with status Ok
 */
export function assumedMountEntry(m: AdkMount): DismMountedImage {
  return {
    mountDir: m.mountDir,
    imageFile: m.wim,
    imageIndex: m.index,
    readWrite: true,
    status: "Ok",
    statusText: "Ok",
  };
}

/**
 * Stage a file: make its folder in the image and copy it there (`New-Item -ItemType Directory -Force`,
 * `Copy-Item -LiteralPath ... -Destination ... -Force`).
 *
 * @param mountDir - the DISM mount folder
 * @param source - the file to copy (outside the mount folder)
 * @param dest - its path in the image, e.g. `Windows/Ioctl/sioctl.sys`
 * @returns the commands, in order
 */
export function adkStageCommands(mountDir: string, source: string, dest: string): AdkCommand[] {
  const { dir, name } = imageDestParts(dest);
  return [makeImageDir(mountDir, dir), copyIntoImage(mountDir, source, dir, name)];
}

/**
 * Take a staged file out of the image: copy the backed-up original back, or remove the file (nothing when it
 * is not there any more, e.g. ImageCommit's delete removed it already).
 *
 * @param mountDir - the DISM mount folder
 * @param dest - the path in the image
 * @param originalBackup - the backed-up original, or null when the image had no file there
 * @param present - whether the file is in the mount folder now
 * @returns the commands, in order
 */
export function adkUnstageCommands(
  mountDir: string,
  dest: string,
  originalBackup: string | null,
  present: boolean,
): AdkCommand[] {
  if (originalBackup) {
    const { dir, name } = imageDestParts(dest);
    return [makeImageDir(mountDir, dir), copyIntoImage(mountDir, originalBackup, dir, name)];
  }
  return present ? [removeFromImage(mountDir, dest)] : [];
}

/**
 * Commit: apply each change to the mount folder, then `Dism /Commit-Image` (the image stays mounted).
 * - add whose source IS the staged file at that path in the mount folder: nothing to copy;
 * - add from anywhere else (a backed-up original): `New-Item` + `Copy-Item`;
 * - delete: `Remove-Item` when the file is present.
 * No change: no command.
 *
 * @param mountDir - the DISM mount folder
 * @param changes - the changes (ImageCommit's `changesBetween`)
 * @param present - whether an image path is in the mount folder now (for deletes) @default always
 * @returns the commands, in order
 */
export function adkCommitCommands(
  mountDir: string,
  changes: readonly ImageChange[],
  present: (dest: string) => boolean = () => true,
): AdkCommand[] {
  if (changes.length === 0) return [];
  const cmds: AdkCommand[] = [];
  for (const c of changes) {
    if (c.op === "add") {
      if (windowsPathKey(c.source) === windowsPathKey(mountPathOf(mountDir, c.dest))) continue;
      cmds.push(...adkStageCommands(mountDir, c.source, c.dest));
    } else if (present(c.dest)) {
      // a folder we created: emptied by the deletes before it (no -Recurse: anything else in it stays)
      cmds.push(removeFromImage(mountDir, c.dest));
    }
  }
  cmds.push(dismCommitImage(mountDir));
  return cmds;
}

/* ----------------------------------------------------------------------------------------------------------
 * The backend (Windows only: every step refuses elsewhere)
 * -------------------------------------------------------------------------------------------------------- */

async function runAll(cmds: readonly AdkCommand[], ctx: StepContext): Promise<void> {
  for (const c of cmds) await runAdk(c, { resource: ctx.resource, onLine: ctx.onProgress });
}

async function dismMounts(ctx: StepContext): Promise<DismMountedImage[]> {
  const [cmd] = adkStatusCommands();
  const r = await runAdk(cmd!, { resource: ctx.resource });
  return parseMountedImageInfo(r.stdout);
}

function countFiles(dir: string, limit = 1_000_000): number {
  let n = 0;
  const walk = (d: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (n >= limit) return;
      if (e.isDirectory()) walk(path.win32.join(d, e.name));
      else n++;
    }
  };
  walk(dir);
  return n;
}

/** DISM's mount reports no image name or compression (`Dism /Get-ImageInfo` would; not run to keep mount one command). */
function factsOf(m: MountSpec): MountFacts {
  return { imageName: "", fileCount: countFiles(m.mountDir), compression: "" };
}

function checkMountFolder(m: MountSpec): void {
  if (!fs.existsSync(m.wim)) throw new Error(`'wim' ${m.wim} does not exist: run copype first, or fix the workspace`);
  if (fs.existsSync(m.mountDir)) {
    if (!fs.statSync(m.mountDir).isDirectory()) throw new Error(`'mountDir' ${m.mountDir} exists and is not a folder`);
    const present = fs.readdirSync(m.mountDir);
    if (present.length > 0) {
      throw new Error(
        `'mountDir' ${m.mountDir} is not empty (${present.length} entries, e.g. ${present[0]}): DISM mounts into an empty folder; empty it or choose another`,
      );
    }
  }
  fs.mkdirSync(m.mountDir, { recursive: true });
}

/** The adk toolchain's {@link ImageBackend} (DISM; Windows only). */
export const adkImageBackend: ImageBackend = {
  toolchain: "adk",

  async mount(m, ctx) {
    assertWindows(`mounting ${m.wim}`);
    checkMountFolder(m);
    await runAll(adkMountCommands(m), ctx);
    fs.mkdirSync(m.privateDir, { recursive: true });
    return factsOf(m);
  },

  async status(m, ctx) {
    assertWindows(`reading the mount state of ${m.mountDir}`);
    return mountStateOf(await dismMounts(ctx), m);
  },

  async recover(m, ctx) {
    assertWindows(`recovering the mount at ${m.mountDir}`);
    const entry = findMount(await dismMounts(ctx), m.mountDir);
    const cmds = adkRecoverCommands(m, entry);
    if (cmds.length > 0) {
      ctx.onNotice?.(
        entry
          ? `DISM lists the mount at ${m.mountDir} as '${entry.statusText}': ${cmds.map((c) => c.argv[0]).join(", ")}`
          : `DISM lists no mount at ${m.mountDir}: mounting ${m.wim} again`,
      );
    }
    if (cmds.some((c) => c.argv[0] === "/Mount-Image")) checkMountFolder(m);
    await runAll(cmds, ctx);
    fs.mkdirSync(m.privateDir, { recursive: true });
    return factsOf(m);
  },

  async unmount(m, ctx) {
    assertWindows(`unmounting ${m.mountDir}`);
    const entry = findMount(await dismMounts(ctx), m.mountDir);
    if (entry && entry.status === "Ok" && otherImage(entry, m)) {
      ctx.onNotice?.(`DISM has ${entry.imageFile} mounted at ${m.mountDir}, not ${m.wim}: left mounted`);
    }
    await runAll(adkUnmountCommands(m, entry), ctx);
    fs.rmSync(m.privateDir, { recursive: true, force: true });
  },

  async imageFileHashes(m, dests) {
    assertWindows(`hashing files in ${m.mountDir}`);
    const out: Record<string, ImageFileHash | null> = {};
    for (const d of dests) {
      try {
        const dg = fileDigests(mountPathOf(m.mountDir, d));
        out[d] = { sha1: dg.sha1, size: dg.size };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
        out[d] = null;
      }
    }
    return out;
  },

  async missingFolders(m, dests) {
    assertWindows(`looking at folders in ${m.mountDir}`);
    return missingAncestors(dests, async (dirs) => {
      const out: Record<string, boolean> = {};
      for (const d of dirs) out[d] = fs.existsSync(mountPathOf(m.mountDir, d));
      return out;
    });
  },

  async backupOriginals(m, dests, dir) {
    assertWindows(`backing up files of ${m.mountDir}`);
    for (const d of dests) {
      const target = path.win32.join(dir, ...d.split("/"));
      fs.mkdirSync(path.win32.dirname(target), { recursive: true });
      copyFileAtomic(mountPathOf(m.mountDir, d), target);
    }
  },

  async stage(m, source, dest, ctx) {
    await runAll(adkStageCommands(m.mountDir, source, dest), ctx);
  },

  async unstage(m, dest, originalBackup, ctx) {
    if (originalBackup && !fs.existsSync(originalBackup)) {
      throw new Error(`the backed-up original of ${dest} (${originalBackup}) is gone: it cannot be put back`);
    }
    const present = fs.existsSync(mountPathOf(m.mountDir, dest));
    await runAll(adkUnstageCommands(m.mountDir, dest, originalBackup, present), ctx);
  },

  async commit(m, changes, ctx) {
    await runAll(
      adkCommitCommands(m.mountDir, changes, (d) => fs.existsSync(mountPathOf(m.mountDir, d))),
      ctx,
    );
  },
};
