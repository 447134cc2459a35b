/**
 * What `Dism /English /Get-MountedImageInfo` prints, parsed (pure; DISM runs on Windows only).
 *
 * DISM lists each mount as a block of `Name : Value` lines:
 *
 * ```text
 * Mounted images:
 *
 * Mount Dir : D:\WinPE_amd64\mount
 * Image File : D:\WinPE_amd64\media\sources\boot.wim
 * Image Index : 1
 * Mounted Read/Write : Yes
 * Status : Ok
 * ```
 *
 * and `No mounted images found.` when there is none. The status is one of DISM's mount states
 * (`DismMountStatus`: Ok, Needs Remount, Invalid;
 * https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/dism/dismmountstatus-enumeration).
 * Command: https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/dism-image-management-command-line-options-s14
 * DISM's output is localized: the backend passes `/English`
 * (https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/dism-global-options-for-command-line-syntax),
 * so these English field names are what it reads.
 */
import * as path from "node:path";
import { WinpeError } from "../../runtime/errors";
import type { MountSpec, MountState } from "../types";

/** DISM's mount status: ready (`Ok`), orphaned e.g. by a reboot (`NeedsRemount`), corrupt (`Invalid`). */
export type DismMountStatus = "Ok" | "NeedsRemount" | "Invalid" | "Unknown";

/** One mount as DISM lists it. */
export interface DismMountedImage {
  mountDir: string;
  imageFile: string;
  /** The image index, or null when DISM printed none. */
  imageIndex: number | null;
  /** `Mounted Read/Write : Yes`; null when absent. */
  readWrite: boolean | null;
  status: DismMountStatus;
  /** The status text as printed (`Needs Remount`). */
  statusText: string;
}

/** Output DISM's parser cannot make sense of (e.g. a mount block without a status). */
export class DismInfoError extends WinpeError {
  constructor(message: string) {
    super(message);
    this.name = "DismInfoError";
  }
}

function statusOf(text: string): DismMountStatus {
  const t = text.replace(/\s+/g, "").toLowerCase();
  if (t === "ok") return "Ok";
  if (t === "needsremount") return "NeedsRemount";
  if (t === "invalid") return "Invalid";
  return "Unknown";
}

/**
 * Parse the output of `Dism /English /Get-MountedImageInfo`.
 *
 * @param text - DISM's standard output (CRLF or LF)
 * @returns the mounts in the order DISM lists them (empty for `No mounted images found.`)
 * @throws DismInfoError for a mount block without a mount folder or a status
 */
export function parseMountedImageInfo(text: string): DismMountedImage[] {
  const out: DismMountedImage[] = [];
  let cur: Partial<DismMountedImage> | undefined;
  const finish = () => {
    if (!cur) return;
    if (cur.statusText === undefined) {
      throw new DismInfoError(`DISM listed the mount ${cur.mountDir} without a 'Status' line`);
    }
    out.push({
      mountDir: cur.mountDir!,
      imageFile: cur.imageFile ?? "",
      imageIndex: cur.imageIndex ?? null,
      readWrite: cur.readWrite ?? null,
      status: cur.status!,
      statusText: cur.statusText,
    });
    cur = undefined;
  };
  for (const line of text.split(/\r?\n/)) {
    const m = line.match(/^\s*([A-Za-z][A-Za-z /]*?)\s+:\s*(.*?)\s*$/);
    if (!m) continue;
    const name = m[1]!.toLowerCase();
    const value = m[2]!;
    if (name === "mount dir") {
      finish();
      if (value === "") throw new DismInfoError("DISM listed a mount with an empty 'Mount Dir'");
      cur = { mountDir: value };
      continue;
    }
    if (!cur) continue;
    if (name === "image file") cur.imageFile = value;
    else if (name === "image index") cur.imageIndex = /^\d+$/.test(value) ? Number(value) : null;
    else if (name === "mounted read/write")
      cur.readWrite = /^yes$/i.test(value) ? true : /^no$/i.test(value) ? false : null;
    else if (name === "status") {
      cur.statusText = value;
      cur.status = statusOf(value);
    }
  }
  finish();
  return out;
}

/** A Windows path in the form used to compare paths: normalized, no trailing backslash, lower case. */
export function windowsPathKey(p: string): string {
  const n = path.win32.normalize(p.trim());
  return (/^[A-Za-z]:\\$/.test(n) ? n : n.replace(/\\+$/, "")).toLowerCase();
}

/**
 * The mount DISM lists at `mountDir` (compared case-insensitively, normalized), if any.
 *
 * @param mounts - parsed output of `/Get-MountedImageInfo`
 * @param mountDir - the mount folder
 * @returns the entry, or undefined when DISM has nothing mounted there
 */
export function findMount(mounts: readonly DismMountedImage[], mountDir: string): DismMountedImage | undefined {
  const key = windowsPathKey(mountDir);
  return mounts.find((m) => windowsPathKey(m.mountDir) === key);
}

/**
 * The {@link MountState} of our mount, from DISM's list: not listed = `missing`; `Ok` with our WIM and index =
 * `mounted`; `Ok` with another image, `Needs Remount`, `Invalid` or an unknown status = `stale`, with the reason.
 *
 * @param mounts - parsed output of `/Get-MountedImageInfo`
 * @param m - our mount (WIM, index, mount folder)
 * @returns the state
 */
export function mountStateOf(
  mounts: readonly DismMountedImage[],
  m: Pick<MountSpec, "wim" | "index" | "mountDir">,
): MountState {
  const e = findMount(mounts, m.mountDir);
  if (!e) return { state: "missing", reason: `DISM lists no image mounted at ${m.mountDir}` };
  switch (e.status) {
    case "Ok":
      if (otherImage(e, m)) {
        return {
          state: "stale",
          reason: `DISM has ${e.imageFile} (index ${e.imageIndex ?? "?"}) mounted at ${m.mountDir}, not ${m.wim} (index ${m.index})`,
        };
      }
      return { state: "mounted" };
    case "NeedsRemount":
      return { state: "stale", reason: `DISM says the mount at ${m.mountDir} needs a remount (e.g. after a reboot)` };
    case "Invalid":
      return { state: "stale", reason: `DISM marks the mount at ${m.mountDir} as invalid (corrupt)` };
    default:
      return { state: "stale", reason: `DISM reports the mount at ${m.mountDir} with status '${e.statusText}'` };
  }
}

/** Whether DISM's entry is a different image than ours (same folder, other WIM or index). */
export function otherImage(e: DismMountedImage, m: Pick<MountSpec, "wim" | "index">): boolean {
  const sameWim = e.imageFile === "" || windowsPathKey(e.imageFile) === windowsPathKey(m.wim);
  const sameIndex = e.imageIndex === null || e.imageIndex === m.index;
  return !(sameWim && sameIndex);
}
