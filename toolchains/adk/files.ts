/**
 * File operations inside a DISM-mounted image (pure builders; they run on Windows only).
 *
 * Chosen tool: PowerShell's `Copy-Item -LiteralPath ... -Destination ... -Force`, `New-Item -ItemType Directory
 * -Force` and `Remove-Item -LiteralPath`. Why not cmd's tools:
 * - `xcopy` asks "Does ... specify a file name or directory name on the target (F = file, D = directory)?" when
 *   the target does not exist yet, which hangs an unattended run.
 * - `copy /y` and `mkdir` are cmd built-ins: they cannot be started without `cmd /c`, whose own quote handling
 *   (`/S`) comes on top of everything in quote.ts, and `%` in a path would be expanded.
 * - `-LiteralPath` takes `[`, `]` (legal in file names) literally, where `-Path` would treat them as wildcards,
 *   and single-quoted PowerShell strings carry every other character unchanged.
 *
 * Docs:
 * - https://learn.microsoft.com/en-us/powershell/module/microsoft.powershell.management/copy-item
 * - https://learn.microsoft.com/en-us/powershell/module/microsoft.powershell.management/new-item
 * - https://learn.microsoft.com/en-us/powershell/module/microsoft.powershell.management/remove-item
 */
import * as path from "node:path";
import type { AdkCommand } from "./types";
import { AdkArgumentError, imageRelativePath, windowsPath } from "./validate";

const DOC_COPY = "https://learn.microsoft.com/en-us/powershell/module/microsoft.powershell.management/copy-item";
const DOC_NEW = "https://learn.microsoft.com/en-us/powershell/module/microsoft.powershell.management/new-item";
const DOC_REMOVE = "https://learn.microsoft.com/en-us/powershell/module/microsoft.powershell.management/remove-item";

/**
 * `New-Item -ItemType Directory -Force -Path '<mountDir>\<dir>'`: creates the folder (and its parents) in the
 * mounted image; `-Force` makes it succeed when the folder exists already.
 * Doc: https://learn.microsoft.com/en-us/powershell/module/microsoft.powershell.management/new-item
 *
 * @param mountDir - the DISM mount folder, e.g. `D:\WinPE_amd64\mount`
 * @param dirInImage - the folder inside the image, e.g. `Windows\Ioctl`
 * @returns the command (PowerShell)
 */
export function makeImageDir(mountDir: string, dirInImage: string): AdkCommand {
  const target = path.win32.join(windowsPath("mountDir", mountDir), imageRelativePath("dirInImage", dirInImage));
  return {
    tool: "New-Item",
    argv: [{ param: "ItemType" }, { literal: "Directory" }, { param: "Force" }, { param: "Path" }, target],
    shell: "powershell",
    why: `create ${target} in the mounted image`,
    doc: DOC_NEW,
  };
}

/**
 * `Copy-Item -LiteralPath '<source>' -Destination '<mountDir>\<dir>\<name>' -Force`: copies one file into the
 * mounted image, replacing an existing (even read-only) file. The destination is the full file path, so the
 * result does not depend on whether a folder of that name exists.
 * Doc: https://learn.microsoft.com/en-us/powershell/module/microsoft.powershell.management/copy-item
 *
 * @param mountDir - the DISM mount folder
 * @param source - the file to copy, e.g. `D:\build\x64\Debug\sioctl.sys`
 * @param dirInImage - the folder inside the image, e.g. `Windows\Ioctl` (create it first: {@link makeImageDir})
 * @param name - the file name in the image @default the source's file name
 * @returns the command (PowerShell)
 */
export function copyIntoImage(mountDir: string, source: string, dirInImage: string, name?: string): AdkCommand {
  const src = windowsPath("source", source);
  const fileName = name ?? path.win32.basename(src);
  if (!/^[^\\/:\x00-\x1f"<>|*?]+$/.test(fileName) || fileName === "." || fileName === "..") {
    throw new AdkArgumentError(`'name' must be a file name without folders, like sioctl.sys`);
  }
  const dest = path.win32.join(
    windowsPath("mountDir", mountDir),
    imageRelativePath("dirInImage", dirInImage),
    fileName,
  );
  return {
    tool: "Copy-Item",
    argv: [{ param: "LiteralPath" }, src, { param: "Destination" }, dest, { param: "Force" }],
    shell: "powershell",
    why: `copy ${path.win32.basename(src)} into the mounted image as ${dest}`,
    doc: DOC_COPY,
  };
}

/**
 * `Remove-Item -LiteralPath '<mountDir>\<pathInImage>' -Force [-Recurse]`: removes a file (or, with `recurse`, a
 * folder and its content) from the mounted image.
 * Doc: https://learn.microsoft.com/en-us/powershell/module/microsoft.powershell.management/remove-item
 *
 * @param mountDir - the DISM mount folder
 * @param pathInImage - the file or folder inside the image, e.g. `Windows\Ioctl\sioctl.sys`
 * @param options - `recurse: true` to remove a folder with its content
 * @returns the command (PowerShell)
 */
export function removeFromImage(
  mountDir: string,
  pathInImage: string,
  options: { recurse?: boolean } = {},
): AdkCommand {
  const target = path.win32.join(windowsPath("mountDir", mountDir), imageRelativePath("pathInImage", pathInImage));
  return {
    tool: "Remove-Item",
    argv: [{ param: "LiteralPath" }, target, { param: "Force" }, ...(options.recurse ? [{ param: "Recurse" }] : [])],
    shell: "powershell",
    why: `remove ${target} from the mounted image`,
    doc: DOC_REMOVE,
  };
}
