/**
 * `MakeWinPEMedia /ISO` for the open toolchain: an El Torito ISO of a copype working folder's `media/`, made with
 * xorriso's mkisofs emulation (the equivalent of oscdimg's `-bootdata:2#p0,e,b<etfsboot.com>#pEF,e,b<efisys.bin>`).
 * Output is byte-reproducible: all file and volume dates are fixed and Rock Ridge ownership is normalized, so the
 * same media give the same ISO bytes.
 *
 * Layout (version {@link ISO_LAYOUT}, recorded as the volume's application identifier): the hidden El Torito boot
 * images first, then the media files in sorted order, then the files an edit changes, last: `sources/boot.wim`,
 * then the BCD stores (`Boot/BCD`, `EFI/Microsoft/Boot/BCD`), then xorriso's 300 KiB padding. So boot.wim's start
 * never moves when it grows (wimlib appends), and the BCD stores after it are the only data that moves: what lets
 * toolchains/open/iso-update.ts update an ISO in place into exactly the bytes this writer would produce.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { produceAtomically, tempPathFor } from "../../runtime/atomic";
import { fileTreeDigest } from "../../runtime/digest";
import { runTool, ToolError } from "../../runtime/exec";
import {
  ARCH_INFO,
  type Arch,
  assertArch,
  detectMediaArch,
  findCaseInsensitive,
  findDirCaseInsensitive,
  findFileCaseInsensitive,
  isWimFile,
  listFiles,
  MediaError,
  machineName,
  peMachine,
  WORKSPACE,
} from "./media";

/** Options of {@link makeMedia}. */
export interface MakeMediaOptions {
  /** Replace an existing ISO (MakeWinPEMedia's `/F`). Without it an existing ISO is an error. @default false */
  force?: boolean;
  /**
   * The architecture the media must be for. When left out it is read from the media (`EFI/Boot/bootx64.efi` ->
   * amd64, `bootaa64.efi` -> arm64).
   * @default detected from the media
   */
  arch?: Arch;
  /** ISO 9660 volume label (1-32 of A-Z, 0-9, _). @default `WINPE_AMD64` / `WINPE_ARM64` */
  label?: string;
  /**
   * Use `efisys.bin` (firmware waits for a key: "Press any key to boot from CD or DVD") even when
   * `efisys_noprompt.bin` exists. The default boots unattended.
   * @default false
   */
  prompt?: boolean;
  /**
   * Time stamp of every file and of the volume, as seconds since 1970 (UTC). Fixed so that the same media make
   * the same ISO bytes.
   * @default 946684800 (2000-01-01T00:00:00Z)
   */
  sourceDateEpoch?: number;
  /** Name recorded in the tool log. @default "makemedia" */
  resource?: string;
  /** xorriso's output lines (progress percentages on large media) and our own step lines. */
  onProgress?: (line: string) => void;
}

/** What {@link makeMedia} wrote. */
export interface MakeMediaResult {
  /** The ISO (absolute path). */
  iso: string;
  /** The ISO's tree digest (`sha256-1m:`, runtime/digest.ts): what the in-place update keeps current cheaply. */
  digest: string;
  /** sha256 (hex) of each 1 MiB piece of the ISO. */
  chunks: string[];
  size: number;
  arch: Arch;
  label: string;
  /** The firmware images used as El Torito boot images (absolute paths in `fwfiles/`). */
  bootImages: { uefi: string; bios?: string };
}

/** Default fixed time stamp of ISOs: 2000-01-01T00:00:00Z. */
export const DEFAULT_ISO_EPOCH = 946684800;

/**
 * The layout version of our ISOs, written as the volume's application identifier (ECMA-119 8.4.22). An in-place
 * update (iso-update.ts) only touches an ISO with this exact identifier; change it whenever the layout or the
 * xorriso arguments change.
 */
export const ISO_LAYOUT = "WINPE-LAB ISO LAYOUT 1";

/** Padding xorriso's mkisofs emulation appends after the last file (its default `-pad`: 300 KiB). */
export const ISO_PADDING_BLOCKS = 150;

/**
 * The order of the media files' data in the ISO (the sort weights): every file in sorted order, except the ones an
 * edit changes, which come last: boot.wim first (its start never moves when it grows), then the BCD stores.
 * Matching is case-insensitive, like the rest of the media code.
 */
export function dataOrder(files: readonly string[]): string[] {
  const tailNames = [WORKSPACE.bootWim, WORKSPACE.biosBcd, WORKSPACE.uefiBcd].map((n) => n.toLowerCase());
  const rank = (f: string) => tailNames.indexOf(f.toLowerCase());
  const head = files.filter((f) => rank(f) < 0);
  const tail = files.filter((f) => rank(f) >= 0).sort((a, b) => rank(a) - rank(b));
  return [...head, ...tail];
}

/** `YYYYMMDDhhmmsscc` (UTC) for xorriso's `--modification-date=` and `--set_all_file_dates`. */
export function xorrisoTime(epoch: number): string {
  const d = new Date(epoch * 1000);
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}00`;
}

/** Escape a path for xorriso's `-graft-points` syntax (`=` and `\` are special). */
function graftEscape(p: string): string {
  return p.replace(/\\/g, "\\\\").replace(/=/g, "\\=");
}

/** Escape a path for a shell-style pattern (xorriso's `-hide`): `*?[]\` match literally. */
function patternEscape(p: string): string {
  return p.replace(/[\\*?[\]]/g, (c) => `\\${c}`);
}

function isRegf(file: string): boolean {
  try {
    const fd = fs.openSync(file, "r");
    try {
      const b = Buffer.alloc(4);
      return fs.readSync(fd, b, 0, 4, 0) === 4 && b.toString("latin1") === "regf";
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return false;
  }
}

/** Names the ISO uses for its hidden boot images and catalog; a media root must not have them. */
const HIDDEN_NAMES = ["efisys.bin", "etfsboot.com", "boot.catalog"];

export interface MediaPlan {
  media: string;
  arch: Arch;
  uefi: string;
  bios?: string;
  label: string;
}

/** Check a working folder and say what its ISO is made of (no write). @throws MediaError */
export function planMedia(workDir: string, opts: MakeMediaOptions): MediaPlan {
  if (typeof workDir !== "string" || workDir.trim() === "") {
    throw new MediaError("'workDir' must be the copype working folder, e.g. /tmp/WinPE_amd64");
  }
  const work = path.resolve(workDir);
  if (!fs.existsSync(work) || !fs.statSync(work).isDirectory()) {
    throw new MediaError(`'workDir' ${work} is not an existing folder: make it with 'winpe copype'`);
  }
  const media = findDirCaseInsensitive(work, WORKSPACE.media);
  if (!media) throw new MediaError(`'workDir' ${work} has no media/ folder: make it with 'winpe copype'`);

  // architecture: from the option, checked against the media's EFI boot file
  if (opts.arch !== undefined) assertArch(opts.arch, "arch");
  const found = detectMediaArch(media);
  let arch: Arch;
  if (opts.arch !== undefined) {
    if (!found.includes(opts.arch)) {
      throw new MediaError(
        `${media} has no EFI/Boot/${ARCH_INFO[opts.arch].efiBootFile}: it is not ${opts.arch} media` +
          (found.length > 0 ? ` (it is ${found.join(" and ")})` : ""),
      );
    }
    arch = opts.arch;
  } else if (found.length === 1) {
    arch = found[0]!;
  } else if (found.length > 1) {
    throw new MediaError(`${media} has boot files for ${found.join(" and ")}: pass the architecture ('arch')`);
  } else {
    const bootDir = findDirCaseInsensitive(media, WORKSPACE.efiBootDir);
    const others = bootDir ? fs.readdirSync(bootDir).filter((n) => /^boot.*\.efi$/i.test(n)) : [];
    throw new MediaError(
      others.length > 0
        ? `unsupported architecture: ${media}/EFI/Boot has ${others.join(", ")} (${others
            .map((n) => machineName(peMachine(path.join(bootDir!, n))))
            .join(", ")}); winpe-lab makes media for amd64 (bootx64.efi) and arm64 (bootaa64.efi) only`
        : `${media} has no EFI/Boot/bootx64.efi or bootaa64.efi: it cannot boot through UEFI (make it with 'winpe copype')`,
    );
  }
  const info = ARCH_INFO[arch];
  const efi = findFileCaseInsensitive(media, `${WORKSPACE.efiBootDir}/${info.efiBootFile}`)!;
  const machine = peMachine(efi);
  if (machine !== info.peMachine) {
    throw new MediaError(`${efi} is ${machineName(machine)}, not ${machineName(info.peMachine)}: the media are broken`);
  }

  const wim = findCaseInsensitive(media, WORKSPACE.bootWim);
  if (!wim || !fs.existsSync(wim)) {
    throw new MediaError(
      `${path.join(media, WORKSPACE.bootWim)} is missing: the media need the WinPE image (winpe copype)`,
    );
  }
  if (!fs.statSync(wim).isFile() || !isWimFile(wim)) {
    throw new MediaError(`${wim} is not a WIM file (no MSWIM signature at offset 0): restore it or run copype again`);
  }
  const bcd = findFileCaseInsensitive(media, WORKSPACE.uefiBcd);
  if (!bcd) {
    throw new MediaError(
      `${path.join(media, WORKSPACE.uefiBcd)} is missing: the media need a BCD store (winpe copype, or winpe bcd /createstore)`,
    );
  }
  if (!isRegf(bcd)) throw new MediaError(`${bcd} is not a BCD store (no regf signature)`);

  const fwDir = findDirCaseInsensitive(work, WORKSPACE.fwfiles);
  const fw = (name: string) => (fwDir ? findFileCaseInsensitive(fwDir, name) : undefined);
  const noPrompt = opts.prompt ? undefined : fw(WORKSPACE.efisysNoPrompt);
  const uefi = noPrompt ?? fw(WORKSPACE.efisys) ?? (opts.prompt ? fw(WORKSPACE.efisysNoPrompt) : undefined);
  if (!uefi) {
    throw new MediaError(
      `${path.join(work, WORKSPACE.fwfiles)} has no efisys.bin or efisys_noprompt.bin (the UEFI boot image): make the folder with 'winpe copype'`,
    );
  }
  const bios = info.bios ? fw(WORKSPACE.etfsboot) : undefined;
  if (bios) {
    const biosBcd = findFileCaseInsensitive(media, WORKSPACE.biosBcd);
    if (!biosBcd || !isRegf(biosBcd)) {
      throw new MediaError(
        `${path.join(media, WORKSPACE.biosBcd)} is missing or not a BCD store, but fwfiles/etfsboot.com makes the ISO BIOS-bootable`,
      );
    }
  }
  for (const n of fs.readdirSync(media)) {
    if (HIDDEN_NAMES.includes(n.toLowerCase())) {
      throw new MediaError(`${path.join(media, n)}: the ISO's hidden boot files use this name; move it into a folder`);
    }
  }
  const label = opts.label ?? `WINPE_${arch.toUpperCase()}`;
  if (typeof label !== "string" || !/^[A-Z0-9_]{1,32}$/.test(label)) {
    throw new MediaError(`'label' ${JSON.stringify(label)} must be 1-32 characters of A-Z, 0-9 and _`);
  }
  return { media, arch, uefi, bios, label };
}

/** Check the ISO path against the media (no write). @throws MediaError */
export function checkIsoPath(isoPath: string, media: string, force: boolean): string {
  if (typeof isoPath !== "string" || isoPath.trim() === "") {
    throw new MediaError("'isoPath' must be a file path, e.g. /tmp/winpe_amd64.iso");
  }
  const iso = path.resolve(isoPath);
  const dir = path.dirname(iso);
  if (!fs.existsSync(dir)) throw new MediaError(`'isoPath' ${iso}: the folder ${dir} does not exist; create it first`);
  if (!fs.statSync(dir).isDirectory()) throw new MediaError(`'isoPath' ${iso}: ${dir} is not a folder`);
  const rel = path.relative(media, iso);
  if (!rel.startsWith("..") && !path.isAbsolute(rel)) {
    throw new MediaError(`'isoPath' ${iso} is inside the media folder ${media}: the ISO would contain itself`);
  }
  if (fs.existsSync(iso)) {
    if (fs.statSync(iso).isDirectory()) {
      throw new MediaError(`'isoPath' ${iso} is a folder: give the ISO file name, e.g. ${path.join(iso, "winpe.iso")}`);
    }
    if (!force) throw new MediaError(`'isoPath' ${iso} already exists: pass /f (force) to replace it`);
  }
  return iso;
}

/**
 * Make a bootable El Torito ISO of `<workDir>/media` (MakeWinPEMedia `/ISO [/F] <workDir> <isoPath>`).
 *
 * Boot entries: UEFI (platform 0xEF, no emulation) from `fwfiles/efisys_noprompt.bin` (or `efisys.bin` when there
 * is no no-prompt image, or with `prompt`), and for amd64 a BIOS entry (platform 0x00, no emulation, load size 8)
 * from `fwfiles/etfsboot.com` when it exists. The boot images and the boot catalog are hidden from the ISO 9660,
 * Rock Ridge and Joliet trees. Names keep the media's case. The ISO is written to a temporary file beside
 * `isoPath` and renamed over it at the end; the same media always give the same bytes.
 *
 * Validated before anything is written: a missing workspace or `media/`, no or several EFI boot architectures, a
 * missing or non-WIM `sources/boot.wim`, a missing `EFI/Microsoft/Boot/BCD`, no UEFI boot image, an ISO path whose
 * folder does not exist, that is a folder, that lies inside the media, or that exists without `force`.
 *
 * @param workDir the copype working folder (holds `media/` and `fwfiles/`).
 * @param isoPath the ISO to write.
 * @throws MediaError for bad input; ToolError when xorriso fails (nothing is left behind).
 */
export async function makeMedia(
  workDir: string,
  isoPath: string,
  opts: MakeMediaOptions = {},
): Promise<MakeMediaResult> {
  const plan = planMedia(workDir, opts);
  const iso = checkIsoPath(isoPath, plan.media, opts.force ?? false);
  const epoch = opts.sourceDateEpoch ?? DEFAULT_ISO_EPOCH;
  if (!Number.isInteger(epoch) || epoch < 0 || epoch > 32503680000) {
    throw new MediaError(`'sourceDateEpoch' must be whole seconds since 1970 (got ${epoch})`);
  }
  const when = xorrisoTime(epoch);
  const resource = opts.resource ?? "makemedia";
  const say = (line: string) => opts.onProgress?.(line);
  say(
    `makemedia: ${plan.arch} media ${plan.media}, UEFI image ${path.basename(plan.uefi)}` +
      (plan.bios ? `, BIOS image ${path.basename(plan.bios)}` : "") +
      ` -> ${iso}`,
  );

  // Data order: libisofs falls back to source inode order when hidden files are present, so two copies of the same
  // media could differ. A unique weight per file (boot images first, then dataOrder: boot.wim and the BCD stores
  // last) fixes the order.
  const files = dataOrder(listFiles(plan.media));
  for (const f of files) {
    if (/[\r\n]/.test(f)) throw new MediaError(`${path.join(plan.media, f)}: file names must not contain line breaks`);
  }
  const weights = [
    ...(plan.bios ? [`${files.length + 2} /etfsboot.com`] : []),
    `${files.length + 1} /efisys.bin`,
    ...files.map((f, i) => `${files.length - i} /${f}`),
  ];
  // the sort-weight list is a temporary file itself (our prefix, removed below; a crash leaves it to removeStaleTemps)
  const weightFile = tempPathFor(iso);

  try {
    fs.writeFileSync(weightFile, `${weights.join("\n")}\n`, { flag: "wx" });
    await produceAtomically(iso, async (tmp) => {
      const argv = [
        "-as",
        "mkisofs",
        "-iso-level",
        "3",
        "-d",
        "-N",
        "-J",
        "-joliet-long",
        "-r",
        // modes from the source (e.g. an executable bit) must not change the bytes: fixed, read-only
        "-file-mode",
        "0444",
        "-dir-mode",
        "0555",
        "-V",
        plan.label,
        "-A",
        ISO_LAYOUT,
        `--modification-date=${when}`,
        "--set_all_file_dates",
        when,
        "-o",
        tmp,
        "-graft-points",
        `/=${graftEscape(plan.media)}`,
        ...(plan.bios ? [`/etfsboot.com=${graftEscape(plan.bios)}`] : []),
        `/efisys.bin=${graftEscape(plan.uefi)}`,
        "-c",
        "boot.catalog",
        "--boot-catalog-hide",
        ...(plan.bios ? ["-b", "etfsboot.com", "-no-emul-boot", "-boot-load-size", "8"] : []),
        "-eltorito-alt-boot",
        "-e",
        "efisys.bin",
        "-no-emul-boot",
        "-hide",
        patternEscape(plan.uefi),
        "-hide-joliet",
        patternEscape(plan.uefi),
        ...(plan.bios ? ["-hide", patternEscape(plan.bios), "-hide-joliet", patternEscape(plan.bios)] : []),
        "--sort-weight-list",
        weightFile,
      ];
      await runTool("xorriso", argv, {
        resource,
        env: { SOURCE_DATE_EPOCH: String(epoch) },
        onLine: (line) => say(line),
      }).catch((e: unknown) => {
        // xorriso checks the space before it writes: say it the way every other full disk is said
        const m = e instanceof ToolError ? /Image size (\d+)s exceeds free space on media (\d+)s/.exec(e.stderr) : null;
        if (!m) throw e;
        const mib = (sectors: string) => `${((Number(sectors) * 2048) / 1048576).toFixed(1)} MiB`;
        throw new MediaError(
          `no space left on the device for ${iso}: the ISO needs ${mib(m[1]!)}, ${mib(m[2]!)} are free; ` +
            "free some space or choose another iso.path (nothing was written)",
        );
      });
      if (!fs.existsSync(tmp) || fs.statSync(tmp).size === 0) throw new MediaError(`xorriso wrote no ISO for ${iso}`);
    });
  } finally {
    fs.rmSync(weightFile, { force: true });
  }
  const tree = fileTreeDigest(iso);
  const size = tree.size;
  say(`makemedia: wrote ${iso} (${size} bytes, digest ${tree.digest})`);
  return {
    iso,
    digest: tree.digest,
    chunks: tree.chunks,
    size,
    arch: plan.arch,
    label: plan.label,
    bootImages: { uefi: plan.uefi, ...(plan.bios ? { bios: plan.bios } : {}) },
  };
}
