/**
 * Our stand-in EFI boot application (`efi/standin.c`), compiled with clang + lld-link for x86_64 or aarch64.
 * It prints `WINPE-LAB STAND-IN BOOT OK arch=<arch>` on the console (mirrored to the serial port by OVMF/AAVMF)
 * and powers the machine off. Builds are cached by the sha256 of the source, the compiler version and the flags.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { copyFileAtomic, produceAtomically } from "../../runtime/atomic";
import { sha256, sha256File, stableStringify } from "../../runtime/digest";
import { runTool } from "../../runtime/exec";
import { packageFile, userCacheDir } from "../../runtime/paths";
import { ARCH_INFO, type Arch, assertArch, MediaError, machineName, peMachine } from "./media";

/** The line the stand-in prints (followed by CR LF) when it runs. */
export function standinMarker(arch: Arch): string {
  return `WINPE-LAB STAND-IN BOOT OK arch=${arch}`;
}

/** Path of the stand-in's C source (shipped with the package). */
export function standinSourcePath(): string {
  return packageFile("toolchains", "open", "efi", "standin.c");
}

/** Default cache folder for built EFI applications when the caller passes none. */
export function defaultEfiCacheDir(): string {
  return userCacheDir("efi");
}

let clangVersion: Promise<string> | undefined;

function clangArgs(arch: Arch, source: string, out: string): string[] {
  const info = ARCH_INFO[arch];
  return [
    `--target=${info.clangTarget}`,
    `-DSTANDIN_ARCH=${arch}`,
    "-O2",
    "-Wall",
    "-Werror",
    "-ffreestanding",
    "-fshort-wchar",
    ...(arch === "amd64" ? ["-mno-red-zone"] : []),
    "-mno-stack-arg-probe",
    "-nostdlib",
    "-fuse-ld=lld-link",
    "-Wl,-subsystem:efi_application",
    "-Wl,-entry:efi_main",
    // a timestamp derived from the content, so the same source gives the same bytes
    "-Wl,-Brepro",
    "-o",
    out,
    source,
  ];
}

/** Options of {@link buildStandinEfiApp}. */
export interface BuildEfiAppOptions {
  /** Cache folder for built applications. @default `<repo>/.work/cache/efi` */
  cacheDir?: string;
  /** Name recorded in the tool log. @default "efi-standin" */
  resource?: string;
}

/** What {@link buildStandinEfiApp} produced. */
export interface EfiAppResult {
  /** The output file (absolute). */
  file: string;
  /** sha256 of the application. */
  sha256: string;
  /** Whether the build came from the cache (no compiler run). */
  cached: boolean;
  /** The marker line the application prints. */
  marker: string;
}

/**
 * Build the stand-in EFI application for `arch` and write it to `outFile` (atomically; the folder must exist).
 * The result is cached under `cacheDir` by the sha256 of the C source, `clang --version` and the flags, so
 * repeated calls only copy a file. The build is reproducible (`lld-link /Brepro`).
 *
 * @param arch `amd64` (x86_64, `bootx64.efi`) or `arm64` (aarch64, `bootaa64.efi`).
 * @param outFile where to write the PE32+ EFI application.
 * @throws MediaError for an unsupported architecture or a missing output folder; ToolError when clang fails.
 */
export async function buildStandinEfiApp(
  arch: Arch,
  outFile: string,
  opts: BuildEfiAppOptions = {},
): Promise<EfiAppResult> {
  assertArch(arch);
  const out = path.resolve(outFile);
  if (!fs.existsSync(path.dirname(out)) || !fs.statSync(path.dirname(out)).isDirectory()) {
    throw new MediaError(`'outFile' ${out}: the folder ${path.dirname(out)} does not exist`);
  }
  if (fs.existsSync(out) && fs.statSync(out).isDirectory()) {
    throw new MediaError(`'outFile' ${out} is a folder: give a file name such as bootx64.efi`);
  }
  const resource = opts.resource ?? "efi-standin";
  const source = standinSourcePath();
  const cacheDir = path.resolve(opts.cacheDir ?? defaultEfiCacheDir());
  clangVersion ??= runTool("clang", ["--version"], { resource }).then((r) => r.stdout.split("\n")[0]!.trim());
  let version: string;
  try {
    version = await clangVersion;
  } catch (e) {
    clangVersion = undefined;
    throw e;
  }
  const key = sha256(
    stableStringify({
      source: sha256File(source),
      clang: version,
      args: clangArgs(arch, "SOURCE", "OUT"),
    }),
  );
  const cached = path.join(cacheDir, `standin-${arch}-${key.slice(0, 32)}.efi`);
  const hit = fs.existsSync(cached) && peMachine(cached) === ARCH_INFO[arch].peMachine;
  if (!hit) {
    fs.mkdirSync(cacheDir, { recursive: true });
    await produceAtomically(cached, async (tmp) => {
      await runTool("clang", clangArgs(arch, source, tmp), { resource });
      const machine = peMachine(tmp);
      if (machine !== ARCH_INFO[arch].peMachine) {
        throw new MediaError(
          `clang built ${machineName(machine)} instead of ${machineName(ARCH_INFO[arch].peMachine)}`,
        );
      }
    });
  }
  copyFileAtomic(cached, out);
  return { file: out, sha256: sha256File(out), cached: hit, marker: standinMarker(arch) };
}
