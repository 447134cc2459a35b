/**
 * `copype` for the open toolchain: make the ADK's WinPE working folder layout
 *
 * ```
 * <dir>/media/sources/boot.wim
 *        media/EFI/Boot/bootx64.efi | bootaa64.efi
 *        media/EFI/Microsoft/Boot/BCD
 *        media/Boot/BCD                    (amd64)
 *        fwfiles/efisys.bin, efisys_noprompt.bin, etfsboot.com (amd64, when the source has it)
 *        mount/                            (empty)
 * ```
 *
 * from a synthetic stand-in (parts we make: a small LZX boot.wim, BCD stores, our stand-in EFI application),
 * from a folder (an ADK WinPE arch folder, a copype working folder, or a media tree), or from a WinPE ISO.
 * Everything is validated first; the workspace is built in a staging folder beside `dir` and renamed into place
 * at the end, so a failure or crash never leaves a half workspace.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { createWinPeMediaStore } from "../../formats/bcd/index";
import { standinSystemHive } from "../../formats/verifier";
import { tempPathFor } from "../../runtime/atomic";
import { runTool, ToolError } from "../../runtime/exec";
import { buildStandinEfiApp } from "./efi-app";
import {
  ARCH_INFO,
  ARCHES,
  type Arch,
  assertArch,
  findDirCaseInsensitive,
  findFileCaseInsensitive,
  isWimFile,
  MediaError,
  machineName,
  peMachine,
  WORKSPACE,
} from "./media";

/** Where the WinPE files come from. */
export type CopypeSource =
  /** Stand-in parts made here (no Windows files): what the demo and the tests use. */
  | { kind: "synthetic" }
  /** An ADK WinPE arch folder (`Media/`, `en-us/winpe.wim`, Oscdimg files), a copype working folder, or a media tree. */
  | { kind: "folder"; path: string }
  /** A WinPE (or Windows) ISO with an ISO 9660/Joliet tree (xorriso cannot read UDF-only images). */
  | { kind: "iso"; path: string };

/** Options of {@link copype}. */
export interface CopypeOptions {
  /** Name recorded in the tool log. @default "copype" */
  resource?: string;
  /** Progress lines (one per step). */
  onProgress?: (line: string) => void;
  /** Cache folder of the stand-in EFI application (synthetic source). @default `<repo>/.work/cache/efi` */
  efiCacheDir?: string;
}

/** The workspace {@link copype} made (absolute paths). */
export interface CopypeResult {
  dir: string;
  arch: Arch;
  source: CopypeSource["kind"];
  media: string;
  fwfiles: string;
  mount: string;
  bootWim: string;
  /** `media/EFI/Microsoft/Boot/BCD`, and `media/Boot/BCD` when present (amd64). */
  bcdStores: string[];
  /** `media/EFI/Boot/bootx64.efi` or `bootaa64.efi`. */
  efiBootFile: string;
  /** Firmware boot images in `fwfiles/` that exist. */
  firmwareFiles: { efisys?: string; efisysNoPrompt?: string; etfsboot?: string };
}

/** Image name, description and BCD description of the synthetic stand-in (each says it is not Windows). */
export function standinImageName(arch: Arch): string {
  return `WINPE-LAB STAND-IN (not Windows) ${arch}`;
}

/** Whether a WIM image name is the synthetic stand-in's (it cannot run Windows programs at boot). */
export function isStandinImageName(name: string | undefined): boolean {
  return typeof name === "string" && name.startsWith("WINPE-LAB STAND-IN");
}

/** Fixed timestamp of synthetic files (2000-01-01T00:00:00Z), so their content does not depend on the clock. */
export const STANDIN_EPOCH = 946684800;

type FwName = "efisys" | "efisysNoPrompt" | "etfsboot";
const FW_FILE: Record<FwName, string> = {
  efisys: WORKSPACE.efisys,
  efisysNoPrompt: WORKSPACE.efisysNoPrompt,
  etfsboot: WORKSPACE.etfsboot,
};

/** What to copy for a folder source, decided (and checked) before anything is written. */
interface FolderPlan {
  /** Source media tree; everything is copied except `sources/*` other than boot.wim. */
  mediaRoot: string;
  /** The boot.wim to copy to `media/sources/boot.wim`. */
  bootWim: string;
  /** Name of the `sources` folder as the media spells it (to keep the media's case). */
  sourcesName: string;
  fw: Partial<Record<FwName, string>>;
  description: string;
}

function say(opts: CopypeOptions, line: string): void {
  opts.onProgress?.(line);
}

function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}

/** Check the target: absent, or an empty folder. Returns the absolute path. */
function checkTarget(dir: unknown): string {
  if (typeof dir !== "string" || dir.trim() === "") {
    throw new MediaError("'dir' must be a folder path, e.g. /tmp/WinPE_amd64");
  }
  const abs = path.resolve(dir);
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(abs);
  } catch {
    st = undefined;
  }
  if (st) {
    if (!st.isDirectory()) throw new MediaError(`'dir' ${abs} exists and is not a folder: choose a new folder`);
    if (fs.readdirSync(abs).length > 0) {
      throw new MediaError(`'dir' ${abs} already exists and is not empty: choose a new folder or remove it first`);
    }
  }
  // the first existing ancestor must be a folder we can write in
  let anc = path.dirname(abs);
  while (!fs.existsSync(anc)) anc = path.dirname(anc);
  if (!fs.statSync(anc).isDirectory()) throw new MediaError(`'dir' ${abs}: ${anc} is not a folder`);
  try {
    fs.accessSync(anc, fs.constants.W_OK);
  } catch {
    throw new MediaError(`'dir' ${abs}: no permission to write in ${anc}`);
  }
  return abs;
}

/** Check the media tree's parts for `arch`; `label` names the source in messages. */
function checkMediaParts(arch: Arch, mediaRoot: string, bootWim: string | undefined, label: string): void {
  const info = ARCH_INFO[arch];
  if (!bootWim) {
    throw new MediaError(`${label} has no sources/boot.wim (the WinPE image): not a WinPE media tree`);
  }
  if (!isWimFile(bootWim)) {
    throw new MediaError(`${label}: ${bootWim} is not a WIM file (no MSWIM signature at offset 0)`);
  }
  const efi = findFileCaseInsensitive(mediaRoot, `${WORKSPACE.efiBootDir}/${info.efiBootFile}`);
  if (!efi) {
    const other = ARCHES.find(
      (a) => a !== arch && findFileCaseInsensitive(mediaRoot, `${WORKSPACE.efiBootDir}/${ARCH_INFO[a].efiBootFile}`),
    );
    throw new MediaError(
      other
        ? `${label} is ${other} media (EFI/Boot/${ARCH_INFO[other].efiBootFile}), not ${arch}: run copype ${other}, or use ${arch} files`
        : `${label} has no EFI/Boot/${info.efiBootFile}: not UEFI-bootable ${arch} WinPE media`,
    );
  }
  const machine = peMachine(efi);
  if (machine !== info.peMachine) {
    throw new MediaError(
      `${label}: ${efi} is ${machineName(machine)}, not ${machineName(info.peMachine)}: the source is not ${arch} media`,
    );
  }
  if (!findFileCaseInsensitive(mediaRoot, WORKSPACE.uefiBcd)) {
    throw new MediaError(`${label} has no ${WORKSPACE.uefiBcd} (the UEFI boot configuration store)`);
  }
}

/** The firmware boot images of a folder source, looked up in `dirs` (file names) and media-tree locations. */
function findFirmware(
  arch: Arch,
  fwDirs: readonly string[],
  mediaRoot: string | undefined,
): Partial<Record<FwName, string>> {
  const fw: Partial<Record<FwName, string>> = {};
  const names: FwName[] = ARCH_INFO[arch].bios
    ? ["efisys", "efisysNoPrompt", "etfsboot"]
    : ["efisys", "efisysNoPrompt"];
  for (const n of names) {
    for (const d of fwDirs) {
      const hit = findFileCaseInsensitive(d, FW_FILE[n]);
      if (hit) {
        fw[n] = hit;
        break;
      }
    }
    if (!fw[n] && mediaRoot) {
      // Windows media carry copies: EFI/Microsoft/Boot/efisys*.bin, Boot/etfsboot.com
      const rel = n === "etfsboot" ? `Boot/${FW_FILE[n]}` : `EFI/Microsoft/Boot/${FW_FILE[n]}`;
      const hit = findFileCaseInsensitive(mediaRoot, rel);
      if (hit) fw[n] = hit;
    }
  }
  return fw;
}

function checkFirmware(arch: Arch, plan: FolderPlan, label: string, looked: string): void {
  if (!plan.fw.efisys && !plan.fw.efisysNoPrompt) {
    throw new MediaError(
      `${label}: no efisys.bin or efisys_noprompt.bin (the UEFI El Torito boot image) found in ${looked}: ` +
        "copy the ADK's Oscdimg folder next to Media/, or use --synthetic",
    );
  }
  if (ARCH_INFO[arch].bios && plan.fw.etfsboot && !findFileCaseInsensitive(plan.mediaRoot, WORKSPACE.biosBcd)) {
    throw new MediaError(`${label} has etfsboot.com (BIOS boot) but no ${WORKSPACE.biosBcd} store on the media`);
  }
}

/** Decide what a folder source provides (throws before anything is written). */
function planFolder(arch: Arch, src: string): FolderPlan {
  const label = `'--from' ${src}`;
  // 1. a copype working folder: media/sources/boot.wim, fwfiles/
  const wsMedia = findDirCaseInsensitive(src, WORKSPACE.media);
  const wsWim = wsMedia ? findFileCaseInsensitive(wsMedia, WORKSPACE.bootWim) : undefined;
  if (wsMedia && wsWim) {
    const fwDir = findDirCaseInsensitive(src, WORKSPACE.fwfiles);
    const plan: FolderPlan = {
      mediaRoot: wsMedia,
      bootWim: wsWim,
      sourcesName: path.basename(path.dirname(wsWim)),
      fw: findFirmware(arch, fwDir ? [fwDir] : [], wsMedia),
      description: "copype working folder",
    };
    checkMediaParts(arch, wsMedia, wsWim, label);
    checkFirmware(arch, plan, label, `${src}/fwfiles and the media`);
    return plan;
  }
  // 2. an ADK WinPE arch folder: Media/, <lang>/winpe.wim, Oscdimg files nearby
  if (wsMedia) {
    const langs = fs
      .readdirSync(src)
      .filter((n) => findFileCaseInsensitive(path.join(src, n), "winpe.wim"))
      .sort((a, b) => (a.toLowerCase() === "en-us" ? -1 : b.toLowerCase() === "en-us" ? 1 : a.localeCompare(b)));
    if (langs.length > 0) {
      const wim = findFileCaseInsensitive(path.join(src, langs[0]!), "winpe.wim")!;
      const adkDeploymentTools = findDirCaseInsensitive(
        path.resolve(src, "..", ".."),
        `Deployment Tools/${arch}/Oscdimg`,
      );
      const fwDirs = [
        findDirCaseInsensitive(src, "Oscdimg"),
        findDirCaseInsensitive(src, WORKSPACE.fwfiles),
        adkDeploymentTools,
      ].filter((d): d is string => d !== undefined);
      const plan: FolderPlan = {
        mediaRoot: wsMedia,
        bootWim: wim,
        sourcesName: findDirCaseInsensitive(wsMedia, "sources")
          ? path.basename(findDirCaseInsensitive(wsMedia, "sources")!)
          : "sources",
        fw: findFirmware(arch, fwDirs, wsMedia),
        description: `ADK WinPE folder (${langs[0]}/winpe.wim)`,
      };
      checkMediaParts(arch, wsMedia, wim, label);
      checkFirmware(
        arch,
        plan,
        label,
        `${src}/Oscdimg, ${src}/fwfiles, ../../Deployment Tools/${arch}/Oscdimg and the media`,
      );
      return plan;
    }
  }
  // 3. a media tree: sources/boot.wim at the top
  const wim = findFileCaseInsensitive(src, WORKSPACE.bootWim);
  if (wim) {
    const fwDir = findDirCaseInsensitive(src, WORKSPACE.fwfiles);
    const plan: FolderPlan = {
      mediaRoot: src,
      bootWim: wim,
      sourcesName: path.basename(path.dirname(wim)),
      fw: findFirmware(arch, fwDir ? [fwDir] : [], src),
      description: "media tree",
    };
    checkMediaParts(arch, src, wim, label);
    checkFirmware(arch, plan, label, "EFI/Microsoft/Boot and Boot/ of the media");
    return plan;
  }
  throw new MediaError(
    `${label} is not a WinPE source: expected an ADK WinPE arch folder (Media/ and en-us/winpe.wim), ` +
      "a copype working folder (media/sources/boot.wim, fwfiles/) or a media tree (sources/boot.wim)",
  );
}

/** Make every file and folder below `dir` writable by us (sources on ISOs and read-only mounts are not). */
function makeWritable(dir: string): void {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      fs.chmodSync(p, 0o755);
      makeWritable(p);
    } else if (e.isFile()) {
      fs.chmodSync(p, 0o644);
    }
  }
}

/** Copy a planned folder source into `staging`. */
function copyFolder(plan: FolderPlan, media: string, fwfiles: string): void {
  const sourcesAbs = findDirCaseInsensitive(plan.mediaRoot, "sources");
  fs.cpSync(plan.mediaRoot, media, {
    recursive: true,
    dereference: true,
    // sources/ of the media holds only boot.wim in the workspace (install media would bring install.wim)
    filter: (s) => !(sourcesAbs && path.dirname(s) === sourcesAbs),
  });
  const sourcesDir = path.join(media, plan.sourcesName);
  fs.mkdirSync(sourcesDir, { recursive: true });
  fs.copyFileSync(plan.bootWim, path.join(sourcesDir, "boot.wim"));
  for (const [k, file] of Object.entries(plan.fw) as [FwName, string][]) {
    fs.copyFileSync(file, path.join(fwfiles, FW_FILE[k]));
  }
}

// ---------------------------------------------------------------------------------------------- ISO source

/** Unquote one path of xorriso's `-find` output (`'/a/it'"'"'s'` -> `/a/it's`). */
function unquoteXorriso(line: string): string | undefined {
  const t = line.trim();
  if (!t.startsWith("'") || !t.endsWith("'")) return undefined;
  return t.slice(1, -1).split(`'"'"'`).join("'");
}

interface IsoListing {
  files: string[];
  bootPlatforms: string[];
}

async function listIso(iso: string, resource: string): Promise<IsoListing> {
  const label = `'--from-iso' ${iso}`;
  let r: Awaited<ReturnType<typeof runTool>>;
  try {
    r = await runTool("xorriso", ["-indev", iso, "-report_el_torito", "plain", "-find", "/", "-type", "f"], {
      resource,
    });
  } catch (e) {
    if (e instanceof ToolError) {
      throw new MediaError(`${label} could not be read as an ISO 9660 image: ${e.message.split("\n").slice(-1)[0]}`);
    }
    throw e;
  }
  if (/No ISO 9660 image/i.test(r.stderr)) throw new MediaError(`${label} is not an ISO 9660 image`);
  const files: string[] = [];
  const bootPlatforms: string[] = [];
  for (const line of r.stdout.split("\n")) {
    const m = /^El Torito boot img\s*:\s*\d+\s+(\S+)/.exec(line);
    if (m) bootPlatforms.push(m[1]!);
    const p = unquoteXorriso(line);
    if (p !== undefined) files.push(p.replace(/^\/+/, ""));
  }
  return { files, bootPlatforms };
}

function findInListing(files: readonly string[], rel: string): string | undefined {
  const want = rel.toLowerCase();
  return files.find((f) => f === rel) ?? files.find((f) => f.toLowerCase() === want);
}

/** Check an ISO's listing for the parts copype needs (before extracting anything). */
function checkIsoListing(arch: Arch, iso: string, listing: IsoListing): void {
  const label = `'--from-iso' ${iso}`;
  const info = ARCH_INFO[arch];
  if (!findInListing(listing.files, WORKSPACE.bootWim)) {
    throw new MediaError(
      `${label} has no sources/boot.wim in its ISO 9660/Joliet tree` +
        (listing.files.length <= 2
          ? " (UDF-only images such as Windows install media cannot be read by xorriso: extract the ISO with 7z or mount it, then use --from <folder>)"
          : ""),
    );
  }
  if (!findInListing(listing.files, `${WORKSPACE.efiBootDir}/${info.efiBootFile}`)) {
    const other = ARCHES.find(
      (a) => a !== arch && findInListing(listing.files, `${WORKSPACE.efiBootDir}/${ARCH_INFO[a].efiBootFile}`),
    );
    throw new MediaError(
      other
        ? `${label} is ${other} media (EFI/Boot/${ARCH_INFO[other].efiBootFile}), not ${arch}`
        : `${label} has no EFI/Boot/${info.efiBootFile}: not UEFI-bootable ${arch} WinPE media`,
    );
  }
  if (!findInListing(listing.files, WORKSPACE.uefiBcd)) {
    throw new MediaError(`${label} has no ${WORKSPACE.uefiBcd} (the UEFI boot configuration store)`);
  }
  const hasUefiImage =
    listing.bootPlatforms.includes("UEFI") ||
    findInListing(listing.files, `EFI/Microsoft/Boot/${WORKSPACE.efisys}`) ||
    findInListing(listing.files, `EFI/Microsoft/Boot/${WORKSPACE.efisysNoPrompt}`);
  if (!hasUefiImage) {
    throw new MediaError(`${label} has no UEFI El Torito boot image and no EFI/Microsoft/Boot/efisys.bin`);
  }
}

/** Extract the ISO's media (all but `sources/*` other than boot.wim) and boot images into `staging`. */
async function extractIso(
  iso: string,
  listing: IsoListing,
  media: string,
  scratch: string,
  resource: string,
): Promise<{ mediaRoot: string; eltorito: string }> {
  const tops = [...new Set(listing.files.map((f) => f.split("/")[0]!))].sort();
  const wim = findInListing(listing.files, WORKSPACE.bootWim)!;
  const sourcesName = wim.split("/")[0]!;
  fs.mkdirSync(path.join(media, sourcesName), { recursive: true });
  const argv = ["-osirrox", "on", "-indev", iso];
  for (const t of tops) {
    if (t === sourcesName) continue;
    argv.push("-extract", `/${t}`, path.join(media, t));
  }
  argv.push("-extract", `/${wim}`, path.join(media, wim));
  const eltorito = path.join(scratch, "eltorito");
  if (listing.bootPlatforms.length > 0) argv.push("-extract_boot_images", eltorito);
  await runTool("xorriso", argv, { resource });
  makeWritable(media);
  return { mediaRoot: media, eltorito };
}

// ---------------------------------------------------------------------------------------------- synthetic

/** Set a fixed mtime/atime on every file and folder below (and including) `dir`. */
function pinTimes(dir: string): void {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) pinTimes(p);
    fs.utimesSync(p, STANDIN_EPOCH, STANDIN_EPOCH);
  }
  fs.utimesSync(dir, STANDIN_EPOCH, STANDIN_EPOCH);
}

const STANDIN_README = (arch: Arch) =>
  [
    `WINPE-LAB STAND-IN (not Windows) ${arch}`,
    "",
    "This image was made by winpe-lab's open toolchain (winpe copype --synthetic) as a stand-in for a",
    "Windows PE boot.wim. It contains no Microsoft files: only the folder skeleton a WinPE image has, so that",
    "drivers and tools can be injected, listed and committed in tests and demos. It does not boot Windows.",
    "",
  ].join("\r\n");

/** The folder skeleton of the synthetic boot.wim. */
function writeSkeleton(root: string, arch: Arch): void {
  const dirs = [
    "Program Files",
    "ProgramData",
    "Users/Default",
    "Windows/Boot",
    "Windows/Fonts",
    "Windows/INF",
    "Windows/System32/config",
    "Windows/System32/drivers",
    "Windows/System32/DriverStore/FileRepository",
    "Windows/Temp",
  ];
  for (const d of dirs) fs.mkdirSync(path.join(root, d), { recursive: true });
  fs.writeFileSync(path.join(root, "README.txt"), STANDIN_README(arch));
  fs.writeFileSync(path.join(root, "Windows", "System32", "winpe-lab-standin.txt"), STANDIN_README(arch));
  fs.writeFileSync(
    path.join(root, "Windows", "System32", "config", "README.txt"),
    "winpe-lab stand-in: a real WinPE keeps its registry hives (SYSTEM, SOFTWARE, DEFAULT) here.\r\n",
  );
  // a minimal SYSTEM hive (Select, ControlSet001\Control\Session Manager\Memory Management), made by our REGF
  // module: what Driver Verifier's settings (winpe-lab:test.verifier) are written into
  fs.writeFileSync(path.join(root, "Windows", "System32", "config", "SYSTEM"), standinSystemHive());
  // WinPE's start script runs wpeinit only (the boot-time test, winpe-lab:test.boot, replaces it while a stack has one)
  fs.writeFileSync(
    path.join(root, "Windows", "System32", "startnet.cmd"),
    "@rem winpe-lab stand-in: WinPE's own startnet.cmd runs wpeinit\r\nwpeinit\r\n",
  );
  pinTimes(root);
}

async function makeEfisys(efiApp: string, arch: Arch, out: string, resource: string): Promise<void> {
  // fixed volume id and dates (mtools honours SOURCE_DATE_EPOCH): the same app gives the same image
  const env = { SOURCE_DATE_EPOCH: String(STANDIN_EPOCH) };
  await runTool("mkfs.fat", ["--invariant", "-i", "57494E50", "-n", "EFISYS", "-C", out, "1440"], { resource, env });
  await runTool("mmd", ["-i", out, "::/EFI", "::/EFI/BOOT"], { resource, env });
  await runTool("mcopy", ["-i", out, efiApp, `::/EFI/BOOT/${ARCH_INFO[arch].efiBootFileUpper}`], { resource, env });
}

async function buildSynthetic(
  arch: Arch,
  staging: string,
  media: string,
  fwfiles: string,
  opts: CopypeOptions,
  resource: string,
): Promise<void> {
  const info = ARCH_INFO[arch];
  const name = standinImageName(arch);
  say(opts, `copype: building the stand-in EFI application (${arch})`);
  const efiDir = path.join(media, "EFI", "Boot");
  fs.mkdirSync(efiDir, { recursive: true });
  const efi = path.join(efiDir, info.efiBootFile);
  await buildStandinEfiApp(arch, efi, { cacheDir: opts.efiCacheDir, resource });

  say(opts, "copype: packing efisys.bin (FAT image with EFI/BOOT/" + info.efiBootFileUpper + ")");
  await makeEfisys(efi, arch, path.join(fwfiles, WORKSPACE.efisys), resource);
  // the stand-in never prompts, so both images are the same
  fs.copyFileSync(path.join(fwfiles, WORKSPACE.efisys), path.join(fwfiles, WORKSPACE.efisysNoPrompt));

  say(opts, "copype: capturing the stand-in boot.wim (LZX)");
  const skeleton = path.join(staging, ".wim-root");
  writeSkeleton(skeleton, arch);
  fs.mkdirSync(path.join(media, "sources"), { recursive: true });
  await runTool(
    "wimlib-imagex",
    [
      "capture",
      skeleton,
      path.join(media, WORKSPACE.bootWim),
      name,
      "winpe-lab synthetic stand-in image; not Microsoft Windows PE",
      "--boot",
      "--compress=LZX",
      "--no-acls",
    ],
    { resource },
  );
  fs.rmSync(skeleton, { recursive: true, force: true });

  say(opts, "copype: writing BCD stores");
  fs.mkdirSync(path.join(media, "EFI", "Microsoft", "Boot"), { recursive: true });
  createWinPeMediaStore(path.join(media, WORKSPACE.uefiBcd), { firmware: "uefi", description: name });
  if (info.bios) {
    fs.mkdirSync(path.join(media, "Boot"), { recursive: true });
    createWinPeMediaStore(path.join(media, WORKSPACE.biosBcd), { firmware: "bios", description: name });
  }
  fs.writeFileSync(path.join(media, "WINPE-LAB-STANDIN.txt"), STANDIN_README(arch));
}

// ---------------------------------------------------------------------------------------------- copype

/**
 * Make a WinPE working folder at `dir` (like the ADK's `copype <arch> <dir>`): `media/`, `fwfiles/`, empty `mount/`.
 *
 * Sources:
 * - `{ kind: "synthetic" }`: stand-in parts made here — a small LZX `boot.wim` (image name
 *   `WINPE-LAB STAND-IN (not Windows) <arch>`, a Windows folder skeleton), BCD stores from the BCD module, our
 *   stand-in EFI application as `EFI/Boot/boot*.efi`, and `efisys.bin` = `efisys_noprompt.bin` = a FAT image
 *   holding it. No `etfsboot.com` (UEFI only).
 * - `{ kind: "folder", path }`: an ADK WinPE arch folder (`Media/`, `en-us/winpe.wim` becomes
 *   `media/sources/boot.wim`; `efisys*.bin`, `etfsboot.com` from `Oscdimg/`, `fwfiles/` or the ADK's
 *   `Deployment Tools/<arch>/Oscdimg`), a copype working folder, or a media tree (firmware images from
 *   `EFI/Microsoft/Boot/` and `Boot/`). Of `sources/`, only `boot.wim` is copied.
 * - `{ kind: "iso", path }`: the ISO's tree is extracted with xorriso (again only `sources/boot.wim` of `sources/`);
 *   firmware images come from the media tree or, failing that, the ISO's El Torito images.
 *
 * Everything is validated before anything is written: an unsupported architecture, a `dir` that exists and is not
 * empty, a source without boot.wim (or not a WIM), without `EFI/Boot/boot*.efi` of the right machine, without
 * `EFI/Microsoft/Boot/BCD`, or without a UEFI boot image each throw a {@link MediaError}. The workspace is built in a
 * staging folder beside `dir` and renamed into place at the end; on failure the staging folder (and any parent
 * folders created for `dir`) are removed.
 *
 * @param arch `amd64` or `arm64`.
 * @param dir the working folder to create (absent or empty).
 * @param source where the WinPE files come from. @default { kind: "synthetic" }
 */
export async function copype(
  arch: Arch,
  dir: string,
  source: CopypeSource = { kind: "synthetic" },
  opts: CopypeOptions = {},
): Promise<CopypeResult> {
  assertArch(arch);
  const target = checkTarget(dir);
  const resource = opts.resource ?? "copype";
  const kind = (source as { kind?: unknown } | undefined)?.kind;
  if (kind !== "synthetic" && kind !== "folder" && kind !== "iso") {
    throw new MediaError(
      `'source.kind' must be synthetic, folder or iso (got ${JSON.stringify(kind)}): use --synthetic, --from <folder> or --from-iso <iso>`,
    );
  }

  let folderPlan: FolderPlan | undefined;
  let isoPath: string | undefined;
  let listing: IsoListing | undefined;
  if (source.kind === "folder") {
    if (typeof source.path !== "string" || source.path === "") throw new MediaError("'--from' needs a folder path");
    const src = path.resolve(source.path);
    if (!fs.existsSync(src) || !fs.statSync(src).isDirectory()) {
      throw new MediaError(`'--from' ${src} is not an existing folder`);
    }
    if (isInside(target, src))
      throw new MediaError(`'dir' ${target} is inside the source folder ${src}: choose another folder`);
    folderPlan = planFolder(arch, src);
  } else if (source.kind === "iso") {
    if (typeof source.path !== "string" || source.path === "")
      throw new MediaError("'--from-iso' needs an ISO file path");
    isoPath = path.resolve(source.path);
    if (!fs.existsSync(isoPath) || !fs.statSync(isoPath).isFile()) {
      throw new MediaError(`'--from-iso' ${isoPath} is not an existing file`);
    }
    listing = await listIso(isoPath, resource);
    checkIsoListing(arch, isoPath, listing);
  }

  // ---- write: everything below happens in a staging folder beside the target
  const createdParent = fs.mkdirSync(path.dirname(target), { recursive: true });
  const staging = tempPathFor(target);
  const media = path.join(staging, WORKSPACE.media);
  const fwfiles = path.join(staging, WORKSPACE.fwfiles);
  try {
    fs.mkdirSync(staging);
    fs.mkdirSync(fwfiles);
    fs.mkdirSync(path.join(staging, WORKSPACE.mount));
    if (source.kind === "synthetic") {
      fs.mkdirSync(media);
      await buildSynthetic(arch, staging, media, fwfiles, opts, resource);
    } else if (folderPlan) {
      say(
        opts,
        `copype: copying the ${folderPlan.description} from ${path.resolve((source as { path: string }).path)}`,
      );
      copyFolder(folderPlan, media, fwfiles);
      makeWritable(staging);
    } else if (isoPath && listing) {
      say(opts, `copype: extracting ${isoPath}`);
      fs.mkdirSync(media);
      const scratch = path.join(staging, ".iso-scratch");
      fs.mkdirSync(scratch);
      const { eltorito } = await extractIso(isoPath, listing, media, scratch, resource);
      const fw = findFirmware(arch, [], media);
      // fall back to the El Torito images when the tree has no copies
      const images = fs.existsSync(eltorito) ? fs.readdirSync(eltorito).sort() : [];
      const uefiImg = images.find((n) => /_uefi\.img$/.test(n));
      const biosImg = images.find((n) => /_bios\.img$/.test(n));
      if (!fw.efisys && !fw.efisysNoPrompt && uefiImg) fw.efisys = path.join(eltorito, uefiImg);
      if (ARCH_INFO[arch].bios && !fw.etfsboot && biosImg) fw.etfsboot = path.join(eltorito, biosImg);
      const plan: FolderPlan = {
        mediaRoot: media,
        bootWim: findFileCaseInsensitive(media, WORKSPACE.bootWim)!,
        sourcesName: "sources",
        fw,
        description: "ISO",
      };
      checkMediaParts(arch, media, plan.bootWim, `'--from-iso' ${isoPath}`);
      checkFirmware(arch, plan, `'--from-iso' ${isoPath}`, "the ISO's tree and El Torito catalog");
      for (const [k, file] of Object.entries(fw) as [FwName, string][]) {
        fs.copyFileSync(file, path.join(fwfiles, FW_FILE[k]));
      }
      fs.rmSync(scratch, { recursive: true, force: true });
    }
    say(opts, `copype: moving the workspace into place at ${target}`);
    try {
      fs.renameSync(staging, target);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOTEMPTY" || code === "EEXIST" || code === "ENOTDIR") {
        throw new MediaError(`'dir' ${target} was filled by someone else while copype ran: nothing was written`);
      }
      throw e;
    }
  } catch (e) {
    fs.rmSync(staging, { recursive: true, force: true });
    if (createdParent) fs.rmSync(createdParent, { recursive: true, force: true });
    throw e;
  }
  return describeWorkspace(target, arch, source.kind);
}

/** The parts of an existing workspace (absolute paths); missing optional parts are left out. */
function describeWorkspace(dir: string, arch: Arch, kind: CopypeSource["kind"]): CopypeResult {
  const media = path.join(dir, WORKSPACE.media);
  const fwfiles = path.join(dir, WORKSPACE.fwfiles);
  const bcd = [WORKSPACE.uefiBcd, WORKSPACE.biosBcd]
    .map((r) => findFileCaseInsensitive(media, r))
    .filter((p): p is string => p !== undefined);
  const fw: CopypeResult["firmwareFiles"] = {};
  for (const k of Object.keys(FW_FILE) as FwName[]) {
    const p = path.join(fwfiles, FW_FILE[k]);
    if (fs.existsSync(p)) fw[k] = p;
  }
  return {
    dir,
    arch,
    source: kind,
    media,
    fwfiles,
    mount: path.join(dir, WORKSPACE.mount),
    bootWim: findFileCaseInsensitive(media, WORKSPACE.bootWim)!,
    bcdStores: bcd,
    efiBootFile: findFileCaseInsensitive(media, `${WORKSPACE.efiBootDir}/${ARCH_INFO[arch].efiBootFile}`)!,
    firmwareFiles: fw,
  };
}
