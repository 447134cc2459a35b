/**
 * Shared parts of the open toolchain's WinPE workspace and media functions (`copype.ts`, `makemedia.ts`,
 * `boot.ts`, `efi-app.ts`): the supported architectures, the error type, and small checks of files
 * (WIM magic, PE machine) and case-insensitive lookups in media trees copied from Windows.
 *
 * The library functions themselves live in:
 * - {@link "./efi-app"} `buildStandinEfiApp` — our stand-in EFI boot application, built with clang/lld;
 * - {@link "./copype"} `copype` — the ADK copype layout (media/, fwfiles/, mount/);
 * - {@link "./makemedia"} `makeMedia` — MakeWinPEMedia /ISO with xorriso;
 * - {@link "./boot"} `bootCheck` — boot an ISO in QEMU (OVMF/AAVMF) and wait for a console line.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { WinpeError } from "../../runtime/errors";

/** WinPE architectures the open toolchain builds media for. */
export type Arch = "amd64" | "arm64";

/** The supported architectures, in a stable order. */
export const ARCHES: readonly Arch[] = ["amd64", "arm64"];

/** A bad input or an unusable source/workspace; the message names the field or file and says what to do. */
export class MediaError extends WinpeError {
  constructor(message: string) {
    super(message);
    this.name = "MediaError";
  }
}

/** Per-architecture facts: UEFI removable-media boot file, PE machine, clang/QEMU names, BIOS support. */
export interface ArchInfo {
  /** File name of the UEFI boot application on the media (`EFI/Boot/<name>`), lower case as copype writes it. */
  efiBootFile: string;
  /** Name of that file inside efisys.bin (FAT, upper case by convention). */
  efiBootFileUpper: string;
  /** IMAGE_FILE_MACHINE_* of the EFI application. */
  peMachine: number;
  /** clang target triple for EFI applications. */
  clangTarget: string;
  /** QEMU system emulator. */
  qemu: string;
  /** Whether the media can also boot through BIOS (etfsboot.com, Boot/BCD). */
  bios: boolean;
}

/** The facts of each supported architecture (see {@link ArchInfo}). */
export const ARCH_INFO: Readonly<Record<Arch, ArchInfo>> = {
  amd64: {
    efiBootFile: "bootx64.efi",
    efiBootFileUpper: "BOOTX64.EFI",
    peMachine: 0x8664,
    clangTarget: "x86_64-unknown-windows",
    qemu: "qemu-system-x86_64",
    bios: true,
  },
  arm64: {
    efiBootFile: "bootaa64.efi",
    efiBootFileUpper: "BOOTAA64.EFI",
    peMachine: 0xaa64,
    clangTarget: "aarch64-unknown-windows",
    qemu: "qemu-system-aarch64",
    bios: false,
  },
};

/** Throw a {@link MediaError} unless `arch` is `amd64` or `arm64`. `label` names the argument. */
export function assertArch(arch: unknown, label = "arch"): asserts arch is Arch {
  if (typeof arch !== "string" || !(ARCHES as readonly string[]).includes(arch)) {
    throw new MediaError(
      `'${label}' must be amd64 or arm64 (got ${JSON.stringify(arch)}): winpe-lab makes WinPE media for these two architectures only`,
    );
  }
}

const WIM_MAGIC = Buffer.from("MSWIM\0\0\0", "latin1");

function readHead(file: string, bytes: number): Buffer {
  const fd = fs.openSync(file, "r");
  try {
    const buf = Buffer.alloc(bytes);
    const n = fs.readSync(fd, buf, 0, bytes, 0);
    return buf.subarray(0, n);
  } finally {
    fs.closeSync(fd);
  }
}

/** Whether `file` starts with the WIM signature `MSWIM\0\0\0`. */
export function isWimFile(file: string): boolean {
  try {
    return readHead(file, 8).equals(WIM_MAGIC);
  } catch {
    return false;
  }
}

/**
 * The IMAGE_FILE_MACHINE_* value of a PE file (0x8664 x64, 0xAA64 arm64, 0x14C x86, 0x1C4 arm), or `undefined`
 * when `file` is not a PE image.
 */
export function peMachine(file: string): number | undefined {
  let head: Buffer;
  try {
    head = readHead(file, 4096);
  } catch {
    return undefined;
  }
  if (head.length < 0x40 || head.toString("latin1", 0, 2) !== "MZ") return undefined;
  const peOffset = head.readUInt32LE(0x3c);
  if (peOffset + 6 > head.length || head.toString("latin1", peOffset, peOffset + 4) !== "PE\0\0") return undefined;
  return head.readUInt16LE(peOffset + 4);
}

/** A readable name for a PE machine value, for messages. */
export function machineName(machine: number | undefined): string {
  switch (machine) {
    case 0x8664:
      return "x64 (amd64)";
    case 0xaa64:
      return "ARM64";
    case 0x14c:
      return "x86";
    case 0x1c4:
      return "ARM (32-bit)";
    case undefined:
      return "not a PE image";
    default:
      return `machine 0x${machine.toString(16)}`;
  }
}

/**
 * Find `rel` (forward-slash path) below `root`, matching each name without regard to case (media copied from
 * Windows may spell `EFI/Boot` as `efi/boot`). An exact match wins over a case-insensitive one.
 * Returns the path as it exists on disk, or `undefined`.
 */
export function findCaseInsensitive(root: string, rel: string): string | undefined {
  let cur = root;
  for (const part of rel.split("/").filter((p) => p.length > 0)) {
    let names: string[];
    try {
      names = fs.readdirSync(cur);
    } catch {
      return undefined;
    }
    const exact = names.find((n) => n === part);
    const hit = exact ?? names.sort().find((n) => n.toLowerCase() === part.toLowerCase());
    if (hit === undefined) return undefined;
    cur = path.join(cur, hit);
  }
  return cur;
}

/** Like {@link findCaseInsensitive}, but only returns regular files. */
export function findFileCaseInsensitive(root: string, rel: string): string | undefined {
  const p = findCaseInsensitive(root, rel);
  if (p === undefined) return undefined;
  try {
    return fs.statSync(p).isFile() ? p : undefined;
  } catch {
    return undefined;
  }
}

/** Like {@link findCaseInsensitive}, but only returns folders. */
export function findDirCaseInsensitive(root: string, rel: string): string | undefined {
  const p = findCaseInsensitive(root, rel);
  if (p === undefined) return undefined;
  try {
    return fs.statSync(p).isDirectory() ? p : undefined;
  } catch {
    return undefined;
  }
}

/** Where the parts of a copype workspace live (relative, forward slashes, copype's case). */
export const WORKSPACE = {
  media: "media",
  fwfiles: "fwfiles",
  mount: "mount",
  bootWim: "sources/boot.wim",
  uefiBcd: "EFI/Microsoft/Boot/BCD",
  biosBcd: "Boot/BCD",
  efiBootDir: "EFI/Boot",
  efisys: "efisys.bin",
  efisysNoPrompt: "efisys_noprompt.bin",
  etfsboot: "etfsboot.com",
} as const;

/** The architecture a media tree boots on, from its `EFI/Boot/boot*.efi` file(s). */
export function detectMediaArch(mediaDir: string): Arch[] {
  const found: Arch[] = [];
  for (const arch of ARCHES) {
    if (findFileCaseInsensitive(mediaDir, `${WORKSPACE.efiBootDir}/${ARCH_INFO[arch].efiBootFile}`)) found.push(arch);
  }
  return found;
}

/** Every regular file below `dir` as sorted forward-slash relative paths (symbolic links are not followed). */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (abs: string, rel: string) => {
    for (const e of fs.readdirSync(abs, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(abs, e.name), r);
      else if (e.isFile()) out.push(r);
    }
  };
  walk(dir, "");
  return out.sort();
}
