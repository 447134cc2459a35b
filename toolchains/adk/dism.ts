/**
 * DISM command builders (pure; DISM runs on Windows only, elevated).
 *
 * Syntax source for every command here (`/Mount-Image`, `/Commit-Image`, `/Unmount-Image`,
 * `/Get-MountedImageInfo`, `/Remount-Image`, `/Cleanup-Mountpoints`; options are case-insensitive):
 * https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/dism-image-management-command-line-options-s14
 *
 * Paths are written `/Switch:"<path>"`, quoted even without spaces, as Microsoft's documentation and the
 * workflow write them; the C runtime gives DISM the same argument with or without the quotes.
 */
import type { AdkCommand, SwitchArg } from "./types";
import { AdkArgumentError, positiveInt, windowsPath } from "./validate";

const DOC =
  "https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/dism-image-management-command-line-options-s14";

function pathSwitch(name: string, value: string): SwitchArg {
  return { switch: `/${name}:`, value, quote: "always" };
}

/** What to mount. */
export interface DismMountSpec {
  /** The WIM file, e.g. `D:\WinPE_amd64\media\sources\boot.wim`. */
  wim: string;
  /** The image index inside the WIM (WinPE's boot.wim has one image: 1). */
  index: number;
  /** An empty folder to mount into, e.g. `D:\WinPE_amd64\mount`. */
  mountDir: string;
  /** Mount read-only (`/ReadOnly`). @default false */
  readOnly?: boolean;
}

/**
 * `Dism /Mount-Image /ImageFile:"<wim>" /index:<n> /MountDir:"<dir>" [/ReadOnly]`. For the workflow's paths this is
 * byte for byte `Dism /Mount-Image /ImageFile:"D:\WinPE_amd64\media\sources\boot.wim" /index:1 /MountDir:"D:\WinPE_amd64\mount"`.
 * Doc: https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/dism-image-management-command-line-options-s14
 *
 * @param spec - WIM file, index and mount folder
 * @returns the command (cmd)
 */
export function dismMountImage(spec: DismMountSpec): AdkCommand {
  const wim = windowsPath("wim", spec.wim);
  const index = positiveInt("index", spec.index);
  const mountDir = windowsPath("mountDir", spec.mountDir);
  return {
    tool: "Dism",
    argv: [
      "/Mount-Image",
      pathSwitch("ImageFile", wim),
      `/index:${index}`,
      pathSwitch("MountDir", mountDir),
      ...(spec.readOnly ? ["/ReadOnly"] : []),
    ],
    shell: "cmd",
    why: `mount image ${index} of ${wim} at ${mountDir}${spec.readOnly ? " read-only" : ""} to service it`,
    doc: DOC,
  };
}

/**
 * `Dism /Commit-Image /MountDir:"<dir>"`: saves the changes into the WIM and keeps the image mounted.
 * Doc: https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/dism-image-management-command-line-options-s14
 *
 * @param mountDir - the mount folder
 * @returns the command (cmd)
 */
export function dismCommitImage(mountDir: string): AdkCommand {
  const dir = windowsPath("mountDir", mountDir);
  return {
    tool: "Dism",
    argv: ["/Commit-Image", pathSwitch("MountDir", dir)],
    shell: "cmd",
    why: `save the changes under ${dir} into the WIM and stay mounted`,
    doc: DOC,
  };
}

/**
 * `Dism /Unmount-Image /MountDir:"<dir>" /Commit|/Discard`: one of the two is required.
 * Doc: https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/dism-image-management-command-line-options-s14
 *
 * @param mountDir - the mount folder
 * @param mode - `"commit"` saves the changes first, `"discard"` drops them
 * @returns the command (cmd)
 */
export function dismUnmountImage(mountDir: string, mode: "commit" | "discard"): AdkCommand {
  const dir = windowsPath("mountDir", mountDir);
  if (mode !== "commit" && mode !== "discard") throw new AdkArgumentError("'mode' must be 'commit' or 'discard'");
  return {
    tool: "Dism",
    argv: ["/Unmount-Image", pathSwitch("MountDir", dir), mode === "commit" ? "/Commit" : "/Discard"],
    shell: "cmd",
    why: `unmount ${dir}, ${mode === "commit" ? "saving" : "discarding"} the changes`,
    doc: DOC,
  };
}

/**
 * `Dism /Get-MountedImageInfo`: lists every mount with its status (Ok, Needs Remount, Invalid).
 * Doc: https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/dism-image-management-command-line-options-s14
 *
 * @returns the command (cmd)
 */
export function dismGetMountedImageInfo(): AdkCommand {
  return {
    tool: "Dism",
    argv: ["/Get-MountedImageInfo"],
    shell: "cmd",
    why: "list mounted images and whether each needs a remount",
    doc: DOC,
  };
}

/**
 * `Dism /Remount-Image /MountDir:"<dir>"`: brings back an orphaned mount (status Needs Remount, e.g. after a
 * reboot).
 * Doc: https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/dism-image-management-command-line-options-s14
 *
 * @param mountDir - the mount folder
 * @returns the command (cmd)
 */
export function dismRemountImage(mountDir: string): AdkCommand {
  const dir = windowsPath("mountDir", mountDir);
  return {
    tool: "Dism",
    argv: ["/Remount-Image", pathSwitch("MountDir", dir)],
    shell: "cmd",
    why: `recover the orphaned mount at ${dir}`,
    doc: DOC,
  };
}

/**
 * `Dism /Cleanup-Mountpoints`: deletes the resources of corrupted mounts (it does not unmount healthy ones).
 * Doc: https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/dism-image-management-command-line-options-s14
 *
 * @returns the command (cmd)
 */
export function dismCleanupMountpoints(): AdkCommand {
  return {
    tool: "Dism",
    argv: ["/Cleanup-Mountpoints"],
    shell: "cmd",
    why: "delete what corrupted mounts left behind",
    doc: DOC,
  };
}
