/**
 * The open toolchain's driver build: reads a Visual Studio solution or project (the same files the adk
 * toolchain hands to MSBuild) and builds its WDM drivers and console applications with clang + lld-link for
 * x64 and ARM64, against the mingw-w64 headers, the way MSBuild with the WDK builds them.
 *
 * Recipe, per project of the solution configuration:
 * - Headers: clang's resource headers, winpe-lab's support headers (`support/include-km` for drivers: wrappers
 *   that complete mingw-w64's wdm.h/excpt.h from the WDK documentation; `support/include`: dontuse.h, the driver
 *   annotations), for ARM64 drivers the patched wdm.h/ntddk.h (below), mingw-w64's `include/ddk` (drivers) and
 *   `include`. Every header folder (and the project's own) resolves names in any letter case through a clang VFS
 *   overlay (`-ivfsoverlay`, kit.ts), as on Windows; backslashes in `#include` work under `-fms-extensions`.
 * - Compiler: `clang --target=<x86_64|aarch64>-pc-windows-msvc -fms-extensions -fms-compatibility` (what cl.exe
 *   accepts: SEH, SAL, `#pragma warning`, ...), `-U__NO_INLINE__` (mingw-w64's strsafe/ntstrsafe functions are
 *   inline as in the SDK, also in Debug builds), drivers `-ffreestanding -funwind-tables`; a translation unit whose
 *   `main` has MSVC's accepted but non-standard parameters (`VOID __cdecl main(ULONG argc, PCHAR argv[])`, which
 *   clang rejects in hosted mode) is compiled as freestanding, where `main` is an ordinary function. The project's
 *   defines, include folders, forced includes, `CompileAs`, language standard, optimization, warnings
 *   (msvc-options.ts), `AdditionalOptions` (mapped or refused naming the option), precompiled headers (`Create`/
 *   `Use` with `PrecompiledHeaderFile`: a clang PCH used with `-pch-through-header`, so text before the header's
 *   #include is skipped exactly as cl.exe /Yu does) and debug information (`-g -gcodeview`).
 * - Resources (`ResourceCompile`): preprocessed with clang (the project's defines and include folders, RC_INVOKED,
 *   mingw-w64's ntverp.h/common.ver), compiled with `llvm-rc -no-preprocess`, linked as `.res`.
 * - Drivers link with `lld-link /driver:wdm /subsystem:native /entry:DriverEntry` against import libraries of the
 *   kernel modules they name and winpe-km.lib (kit.ts); `$(DDK_LIB_PATH)\wdmsec.lib` links winpe-lab's wdmsec
 *   (support/km-runtime/wdmsec.c: IoCreateDeviceSecure applies the SDDL's security descriptor). Then the PE
 *   checksum is written (what link.exe /RELEASE does).
 * - Console applications link against msvcrt.dll (which Windows and WinPE ship: the app needs no Visual C++
 *   runtime DLL, whatever `RuntimeLibrary` says) through winpe-crt.lib (start-up code, stdio glue, __chkstk) and
 *   msvcrt.lib, for x64 and ARM64 alike; `RuntimeLibrary` still sets `_MT`, `_DEBUG`, `_DLL` as cl.exe does.
 * - Import libraries for both platforms are generated with `llvm-dlltool` (kit.ts), cached.
 * - Debug information (`GenerateDebugInformation`, default on, as in Visual Studio's projects): `<TargetName>.pdb`
 *   beside the binary, named (without a folder) in its debug directory (`/pdbaltpath:%_PDB%`).
 * - Refused before anything is built, in one line naming the feature, the file and the line and the way forward
 *   (the adk toolchain): KMDF and UMDF drivers (no WDF headers or libraries), WPP tracing (no tracewpp), and
 *   anything else the project uses that the open toolchain cannot honour.
 *
 * ARM64 header patch: mingw-w64 10's `ddk/wdm.h` and `ddk/ntddk.h` stop at `#error Unknown Architecture` for
 * ARM64. {@link patchDdkHeaderForArm64} writes patched copies into the cache folder (never into /usr):
 * every `defined(_AMD64_)` in a preprocessor line becomes `(defined(_AMD64_) || defined(_ARM64_))` (the x64
 * structure layouts are the ARM64 ones: both are LLP64 with natural alignment), except ntddk.h's x86/x64
 * machine-check block; the `_M_AMD64` interlocked-intrinsic mapping also applies to `_M_ARM64`; and both
 * headers get an `#elif defined(_M_ARM64)` kernel section (IRQL levels, page size, KI_USER_SHARED_DATA) in
 * which the x64 inline functions that read CR8/GS are declared as the imports the WDK documentation names for
 * them: `KeGetCurrentIrql`, `KeLowerIrql`, `KfRaiseIrql`, `KeRaiseIrqlToDpcLevel`, `KeRaiseIrqlToSynchLevel`
 * from hal.dll ("Library: Hal.lib"), `KeGetCurrentThread` and `PsGetCurrentThread` from ntoskrnl.exe.
 *
 * Every input is hashed by content (sources, every header clang reports in its `-MD` dependency files, the
 * project and solution files, libraries, winpe-lab's support files, the flags, and the clang/lld versions); no
 * timestamps. Outputs are verified with `llvm-readobj` and with our own PE reader before they are copied
 * (atomically) into the output folder; objects go to a private temporary folder.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { importsFrom, PE_CHARACTERISTICS, type PeInfo, readPeHeaders } from "../../formats/pe";
import { readProject } from "../../formats/project";
import { readSln } from "../../formats/sln";
import {
  decodeText,
  ProjectFormatError,
  resolveCaseInsensitive,
  toPosixPath,
  type VcxConfiguration,
  type VcxResource,
  type VcxSource,
} from "../../formats/vcxproj";
import { copyFileAtomic, TEMP_PREFIX, writeFileAtomic } from "../../runtime/atomic";
import { sha256, sha256File, stableStringify, vouchFor } from "../../runtime/digest";
import { WinpeError } from "../../runtime/errors";
import { runTool, ToolError } from "../../runtime/exec";
import { scratchDir } from "../../runtime/scratch";
import { BuildCache, binaryIdentity, type CacheEntry } from "./build-cache";
import { type BuildInputFile, defaultBuildCacheDir, inputVouchersDir } from "./build-inputs";
import {
  type BuildPlatform,
  classifyLibrary,
  derivedKitProperties,
  ensureImportLibrary,
  ensureRuntimeLibrary,
  KIT_LIB_ROOT,
  kitProperties,
  type LibraryProvision,
  MINGW_ROOT,
  type OverlayRoots,
  overlayRoots,
  overlayText,
  redirectInOverlay,
  supportFile,
  supportIncludeDirs,
  toolchainOverlayRoots,
} from "./kit";
import {
  type CompilerOptions,
  type LinkerOptions,
  mapCompilerOptions,
  mapLinkerOptions,
  pragmaDisabledWarnings,
  warningArgv,
} from "./msvc-options";

export { type BuildInputFile, changedInputs, defaultBuildCacheDir, inputVouchersDir } from "./build-inputs";
export { ARM64_EXPORTS, type BuildPlatform, MINGW_ROOT } from "./kit";

// ---------------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------------

/** Build configurations the open toolchain accepts. */
export type BuildConfiguration = "Debug" | "Release";

/** Input of {@link buildProject}. */
export interface BuildInput {
  /** A `.sln` (every project with Build.0 in the configuration is built) or a `.vcxproj`. */
  project: string;
  /** `Debug` or `Release` (case-insensitive). */
  configuration: BuildConfiguration;
  /** `x64` or `ARM64` (case-insensitive). */
  platform: BuildPlatform;
  /**
   * With a `.sln`: build only this one of its projects (the .vcxproj path), with the solution's configuration
   * mapping and $(SolutionDir), as `msbuild x.sln /t:<project>` does. @default every project the solution builds
   */
  only?: string;
  /** Folder that receives the outputs (`<TargetName><TargetExt>` and `<TargetName>.pdb`, flat, like MSBuild's OutDir). */
  outDir: string;
  /** One line per compile, link and verification step. @default none (no progress output) */
  onProgress?: (line: string) => void;
  /**
   * Cache of compiled objects and resources (toolchains/open/build-cache.ts), patched ARM64 DDK headers, generated
   * libraries and toolchain probes; shared by builds (content-addressed, safe under concurrent builds).
   * @default {@link defaultBuildCacheDir}
   */
  cacheDir?: string;
  /** Name recorded in the tool log (`WINPE_TOOL_LOG`). @default "driver-build" */
  resource?: string;
  /**
   * Called with every file about to be written to `outDir` (binaries and PDBs), after everything is built and
   * verified and before the first write there: a caller refuses (throws) here, e.g. when a target holds a file
   * it did not write.
   */
  beforeWrite?: (targets: readonly string[]) => void | Promise<void>;
  /**
   * What an earlier build left in `outDir` (e.g. DriverBuild's recorded outputs): a binary whose link would be the
   * same (its {@link BuiltFile.linkKey}) and whose files there still have these sha256 is not linked, copied or
   * verified again (it is returned with `reused: true`). @default none: every binary is linked
   */
  previous?: readonly PreviousOutput[];
  /** Notices: a corrupt cache entry found (and rebuilt). @default onProgress */
  onNotice?: (message: string) => void;
  /** Size limit of the compile cache in `cacheDir` (least recently used entries go first). @default 1 GiB */
  cacheMaxBytes?: number;
}

/** A binary an earlier build put in `outDir` (see {@link BuildInput.previous}). */
export interface PreviousOutput {
  /** Absolute path in `outDir`. */
  path: string;
  /** sha256 of the file there as it was left. */
  sha256: string;
  /** The {@link BuiltFile.linkKey} it was linked with. */
  linkKey: string;
  /** Its program database and that file's sha256, when it has one. */
  pdb: { path: string; sha256: string } | null;
}

/** One produced binary. */
export interface BuiltFile {
  /** Absolute path in `outDir`. */
  path: string;
  /** Size in bytes. */
  size: number;
  /** sha256 (hex) of the file. */
  sha256: string;
  /** IMAGE_FILE_MACHINE_* (0x8664 x64, 0xAA64 ARM64). */
  machine: number;
  /** IMAGE_SUBSYSTEM_* (1 native for drivers, 3 console for applications). */
  subsystem: number;
  /** `driver` (.sys) or `application` (.exe). */
  kind: "driver" | "application";
  /** The .vcxproj that produced it. */
  project: string;
  /** Its program database (`<TargetName>.pdb` in `outDir`), named in its debug directory; null without one. */
  pdb: string | null;
  /**
   * sha256 over what the link is made of: the exact lld-link argv, the sha256 of every object, compiled resource
   * and library, lld's identity and the post-link steps. Equal keys give equal files.
   */
  linkKey: string;
  /** True when the file in `outDir` was left as it was (see {@link BuildInput.previous}): not linked, not written. */
  reused: boolean;
}

/** What a build did (for progress lines and tests). */
export interface BuildStats {
  /** Translation units and resource scripts compiled. */
  compiled: number;
  /** Translation units and resource scripts taken from the cache. */
  cached: number;
  /** Binaries linked. */
  linked: number;
  /** Binaries left as they were in `outDir`. */
  reused: number;
  /** Corrupt or missing cache entries found and rebuilt. */
  repaired: number;
}

/** One produced program database (symbols for the debugger). */
export interface BuiltSymbols {
  /** Absolute path in `outDir` (`<TargetName>.pdb`). */
  path: string;
  size: number;
  sha256: string;
  /** The binary it describes (absolute path in `outDir`). */
  binary: string;
  /** The .vcxproj that produced it. */
  project: string;
}

/** What {@link buildProject} returns. */
export interface BuildResult {
  /** Produced binaries, in solution build order. */
  outputs: BuiltFile[];
  /** Produced program databases, in solution build order. */
  symbols: BuiltSymbols[];
  /** sha256 over every input file's content, the flags and the toolchain versions (not timestamps, not outDir). */
  inputsHash: string;
  /** Every input file with its sha256, sorted by path (sources, headers, project files, libraries). */
  inputs: BuildInputFile[];
  /** First line of `clang --version`, e.g. `Debian clang version 14.0.6`. */
  toolchainVersion: string;
  stats: BuildStats;
}

/** A bad input, a compile/link failure, or an output that fails verification. Names the file or field. */
export class BuildError extends WinpeError {
  constructor(
    message: string,
    /** The file concerned, when there is one. */
    readonly file?: string,
  ) {
    super(message);
    this.name = "BuildError";
  }
}

// ---------------------------------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------------------------------

interface ArchFacts {
  triple: string;
  machine: number;
  lldMachine: string;
  defines: string[];
}

const ARCH: Record<BuildPlatform, ArchFacts> = {
  x64: {
    triple: "x86_64-pc-windows-msvc",
    machine: 0x8664,
    lldMachine: "x64",
    defines: ["_AMD64_", "AMD64", "_WIN64"],
  },
  ARM64: {
    triple: "aarch64-pc-windows-msvc",
    machine: 0xaa64,
    lldMachine: "arm64",
    defines: ["_ARM64_", "ARM64", "_WIN64"],
  },
};

/** WDK TargetVersion -> (_WIN32_WINNT, NTDDI_VERSION, subsystem version). */
const TARGET_VERSIONS: Record<string, { winnt: string; ntddi: string; subsystem: string }> = {
  windows10: { winnt: "0x0A00", ntddi: "0x0A000000", subsystem: "10.0" },
  "windowsv6.3": { winnt: "0x0603", ntddi: "0x06030000", subsystem: "6.03" },
  windows8: { winnt: "0x0602", ntddi: "0x06020000", subsystem: "6.02" },
  windows7: { winnt: "0x0601", ntddi: "0x06010000", subsystem: "6.01" },
};

/** MSBuild's default AdditionalDependencies of applications (used where a project keeps `%(AdditionalDependencies)`). */
const DEFAULT_APP_LIBS = [
  "kernel32.lib",
  "user32.lib",
  "gdi32.lib",
  "winspool.lib",
  "comdlg32.lib",
  "advapi32.lib",
  "shell32.lib",
  "ole32.lib",
  "oleaut32.lib",
  "uuid.lib",
  "odbc32.lib",
  "odbccp32.lib",
];

/** The WDK's default AdditionalDependencies of kernel-mode drivers (WDM). */
const DEFAULT_DRIVER_LIBS = ["ntoskrnl.lib", "hal.lib", "wmilib.lib", "BufferOverflowFastFailK.lib"];

// ---------------------------------------------------------------------------------------------------
// ARM64 DDK header patch
// ---------------------------------------------------------------------------------------------------

/** Version of the patch below; part of the cache key and of the inputs hash. */
const ARM64_PATCH_VERSION = 2;

const WDM_ARM64_SECTION = `#elif defined(_M_ARM64)
/** Kernel definitions for ARM64: added by winpe-lab's patch of the mingw-w64 headers (see PATCH.txt) **/
#define PASSIVE_LEVEL 0
#define LOW_LEVEL 0
#define APC_LEVEL 1
#define DISPATCH_LEVEL 2
#define CLOCK_LEVEL 13
#define IPI_LEVEL 14
#define DRS_LEVEL 14
#define POWER_LEVEL 14
#define PROFILE_LEVEL 15
#define HIGH_LEVEL 15
#define KI_USER_SHARED_DATA 0xFFFFF78000000000ULL
#define SharedUserData ((PKUSER_SHARED_DATA const)KI_USER_SHARED_DATA)
#define SharedInterruptTime (KI_USER_SHARED_DATA + 0x8)
#define SharedSystemTime (KI_USER_SHARED_DATA + 0x14)
#define SharedTickCount (KI_USER_SHARED_DATA + 0x320)
/* KSYSTEM_TIME (LowPart, High1Time, High2Time) read without a torn value, as its writer requires */
#define WINPE_ARM64_READ_KSYSTEM_TIME(_Address, _Out) do { \
    volatile ULONG *t_ = (volatile ULONG *)(_Address); LONG h_; ULONG l_; \
    do { h_ = (LONG)t_[1]; l_ = t_[0]; } while (h_ != (LONG)t_[2]); \
    ((PLARGE_INTEGER)(_Out))->LowPart = l_; ((PLARGE_INTEGER)(_Out))->HighPart = h_; } while (0)
#define KeQuerySystemTime(CurrentCount) WINPE_ARM64_READ_KSYSTEM_TIME(SharedSystemTime, CurrentCount)
#define KeQueryTickCount(CurrentCount) WINPE_ARM64_READ_KSYSTEM_TIME(SharedTickCount, CurrentCount)
static __inline ULONGLONG WinpeArm64InterruptTime(VOID) {
  LARGE_INTEGER t;
  WINPE_ARM64_READ_KSYSTEM_TIME(SharedInterruptTime, &t);
  return (ULONGLONG)t.QuadPart;
}
#define KeQueryInterruptTime() WinpeArm64InterruptTime()
#define PAGE_SIZE 0x1000
#define PAGE_SHIFT 12L
typedef struct _KFLOATING_SAVE {
  ULONG Dummy;
} KFLOATING_SAVE, *PKFLOATING_SAVE;
#define KeGetDcacheFillSize() 1L
#define YieldProcessor __yield
#define KeFlushIoBuffers(_Mdl, _ReadOperation, _DmaOperation)
#define DbgRaiseAssertionFailure() __builtin_debugtrap()
NTHALAPI KIRQL NTAPI KeGetCurrentIrql(VOID);
NTHALAPI VOID NTAPI KeLowerIrql(KIRQL NewIrql);
NTHALAPI KIRQL NTAPI KfRaiseIrql(KIRQL NewIrql);
#define KeRaiseIrql(a,b) *(b) = KfRaiseIrql(a)
NTHALAPI KIRQL NTAPI KeRaiseIrqlToDpcLevel(VOID);
NTHALAPI KIRQL NTAPI KeRaiseIrqlToSynchLevel(VOID);
NTKERNELAPI PKTHREAD NTAPI KeGetCurrentThread(VOID);
#define _PSGETCURRENTTHREAD_
NTKERNELAPI PETHREAD NTAPI PsGetCurrentThread(VOID);
`;

const NTDDK_ARM64_SECTION = `#elif defined(_M_ARM64)
/* ARM64: added by winpe-lab's patch of the mingw-w64 headers (see PATCH.txt) */
#define PAUSE_PROCESSOR YieldProcessor();
#define KERNEL_STACK_SIZE 0x6000
#define KERNEL_LARGE_STACK_SIZE 0x12000
#define KERNEL_LARGE_STACK_COMMIT KERNEL_STACK_SIZE
#define EXCEPTION_READ_FAULT 0
#define EXCEPTION_WRITE_FAULT 1
#define EXCEPTION_EXECUTE_FAULT 8
`;

/** The text of PATCH.txt written beside the patched headers. */
export const ARM64_PATCH_DESCRIPTION = `winpe-lab: ARM64 patch of the mingw-w64 DDK headers (version ${ARM64_PATCH_VERSION})

mingw-w64 10's ddk/wdm.h and ddk/ntddk.h stop at "#error Unknown Architecture" for ARM64. These copies are
generated from the installed headers (the originals in ${MINGW_ROOT}/include/ddk are never modified):

1. In every preprocessor line, defined(_AMD64_) becomes (defined(_AMD64_) || defined(_ARM64_)): the x64
   structure layouts are the ARM64 ones (both LLP64, natural alignment). Not in ntddk.h's x86/x64
   machine-check block (between "#if defined(_X86_) || defined(_IA64_) || defined(_AMD64_)" and its #endif).
2. wdm.h: the _M_AMD64 mapping of Interlocked* to the compiler's _Interlocked* intrinsics also applies to
   _M_ARM64 (clang provides them for ARM64).
3. wdm.h and ntddk.h: an "#elif defined(_M_ARM64)" kernel section before the _M_ARM one: IRQL levels, page
   size, KI_USER_SHARED_DATA, YieldProcessor = __yield. The x64 inline functions that read CR8 or GS are
   declared as the imports the WDK documentation names for them (not checked against an ARM64 Windows image
   here): KeGetCurrentIrql, KeLowerIrql, KfRaiseIrql, KeRaiseIrqlToDpcLevel and KeRaiseIrqlToSynchLevel from
   hal.dll ("Library: Hal.lib"), KeGetCurrentThread and PsGetCurrentThread from ntoskrnl.exe.
   KeQuerySystemTime, KeQueryTickCount and KeQueryInterruptTime read KUSER_SHARED_DATA as the x64 macros do
   (each KSYSTEM_TIME with its High1Time/High2Time check), so wdm.h's x86-style import declarations of the
   first and the last are left out for _M_ARM64 too.
`;

function patchFail(name: string, what: string): never {
  throw new BuildError(
    `the installed mingw-w64 header ddk/${name} does not have the shape winpe-lab's ARM64 patch expects (${what}); ` +
      "the patch was written for mingw-w64 10 (Debian 12's mingw-w64-x86-64-dev)",
    path.join(MINGW_ROOT, "include", "ddk", name),
  );
}

/**
 * Apply the ARM64 patch (see the module comment and {@link ARM64_PATCH_DESCRIPTION}) to the text of
 * mingw-w64's `wdm.h` or `ntddk.h`.
 *
 * @param name `wdm.h` or `ntddk.h`
 * @param text the original header text
 * @returns the patched text
 * @throws BuildError when the header does not have the expected anchors (a different mingw-w64 version)
 */
export function patchDdkHeaderForArm64(name: "wdm.h" | "ntddk.h", text: string): string {
  const lines = text.split("\n");
  let skipFrom = -1;
  let skipTo = -1;
  if (name === "ntddk.h") {
    skipFrom = lines.findIndex((l) => l.trim() === "#if defined(_X86_) || defined(_IA64_) || defined(_AMD64_)");
    skipTo = lines.findIndex(
      (l, i) => i > skipFrom && l.startsWith("#endif // defined(_X86_) || defined(_IA64_) || defined(_AMD64_)"),
    );
    if (skipFrom < 0 || skipTo < 0) patchFail(name, "machine-check block not found");
  }
  for (let i = 0; i < lines.length; i++) {
    if (i >= skipFrom && i <= skipTo) continue;
    const l = lines[i]!;
    if (/^\s*#/.test(l) && l.includes("defined(_AMD64_)")) {
      lines[i] = l.split("defined(_AMD64_)").join("(defined(_AMD64_) || defined(_ARM64_))");
    }
  }
  let out = lines.join("\n");
  const replaceOnce = (anchor: string, replacement: string, what: string) => {
    const at = out.indexOf(anchor);
    if (at < 0 || out.indexOf(anchor, at + 1) >= 0) patchFail(name, `${what}: anchor not found exactly once`);
    out = out.slice(0, at) + replacement + out.slice(at + anchor.length);
  };
  if (name === "wdm.h") {
    replaceOnce(
      "#if defined (_M_AMD64)\n\n#define InterlockedExchangeAddSizeT",
      "#if defined (_M_AMD64) || defined(_M_ARM64)\n\n#define InterlockedExchangeAddSizeT",
      "interlocked intrinsics",
    );
    replaceOnce(
      "#elif defined(_M_ARM)\n#include <armddk.h>",
      `${WDM_ARM64_SECTION}#elif defined(_M_ARM)\n#include <armddk.h>`,
      "kernel section",
    );
    replaceOnce(
      "#if !defined(_M_AMD64)\nNTKERNELAPI\nULONGLONG\nNTAPI\nKeQueryInterruptTime(VOID);",
      "#if !defined(_M_AMD64) && !defined(_M_ARM64)\nNTKERNELAPI\nULONGLONG\nNTAPI\nKeQueryInterruptTime(VOID);",
      "KeQueryInterruptTime declaration",
    );
  } else {
    replaceOnce(
      "#elif defined(_M_ARM)\n#else\n#error Unknown Architecture",
      `${NTDDK_ARM64_SECTION}#elif defined(_M_ARM)\n#else\n#error Unknown Architecture`,
      "kernel section",
    );
  }
  return out;
}

/**
 * Write the patched ARM64 headers into the cache (once per header content) and return the folder to put
 * before mingw-w64's `include/ddk` on the include path.
 */
function ensureArm64DdkHeaders(cacheDir: string): string {
  const ddk = path.join(MINGW_ROOT, "include", "ddk");
  const originals = (["wdm.h", "ntddk.h"] as const).map((n) => {
    const file = path.join(ddk, n);
    let text: string;
    try {
      text = fs.readFileSync(file, "latin1");
    } catch {
      throw new BuildError(
        `${file} not found: install the mingw-w64 headers (Debian package mingw-w64-x86-64-dev; npm run setup)`,
        file,
      );
    }
    return { name: n, text };
  });
  const key = sha256(stableStringify({ v: ARM64_PATCH_VERSION, h: originals.map((o) => sha256(o.text)) })).slice(0, 16);
  const dir = path.join(cacheDir, `ddk-arm64-${key}`, "ddk");
  for (const o of originals) {
    const target = path.join(dir, o.name);
    const patched = patchDdkHeaderForArm64(o.name, o.text);
    if (fs.existsSync(target) && fs.readFileSync(target, "latin1") === patched) continue;
    fs.mkdirSync(dir, { recursive: true });
    writeFileAtomic(target, Buffer.from(patched, "latin1"));
  }
  const note = path.join(dir, "..", "PATCH.txt");
  if (!fs.existsSync(note)) writeFileAtomic(note, ARM64_PATCH_DESCRIPTION);
  return dir;
}

// ---------------------------------------------------------------------------------------------------
// Toolchain facts
// ---------------------------------------------------------------------------------------------------

interface ToolchainInfo {
  /** First line of `clang --version`. */
  clang: string;
  /** First line of `lld-link --version`. */
  lld: string;
  resourceDir: string;
  /** The binaries' identity (real path, size, mtime, inode): part of every cache key. */
  binaries: Record<string, string | null>;
}

/** Version of the toolchain probe record in the cache. */
const PROBE_VERSION = 1;
const toolchainMemo = new Map<string, Promise<ToolchainInfo>>();

function validProbe(x: unknown): x is Omit<ToolchainInfo, "binaries"> {
  if (!x || typeof x !== "object") return false;
  const r = x as Record<string, unknown>;
  return (
    typeof r.clang === "string" &&
    typeof r.lld === "string" &&
    typeof r.resourceDir === "string" &&
    fs.existsSync(path.join(r.resourceDir, "include", "stddef.h"))
  );
}

/**
 * The toolchain's versions and clang's resource folder. Probed with `clang --version`, `lld-link --version` and
 * `clang -print-resource-dir` once per process; with a cache folder, the answers are kept there, keyed by the
 * binaries' identity (real path, size, mtime, inode), so a later process with the same binaries runs no probe.
 */
async function toolchainInfo(resource: string, cacheDir?: string): Promise<ToolchainInfo> {
  const binaries = binaryIdentity(["clang", "lld-link", "llvm-rc"]);
  const memoKey = stableStringify({ binaries, cacheDir: cacheDir ?? null });
  let memo = toolchainMemo.get(memoKey);
  if (!memo) {
    memo = (async () => {
      const known = binaries.clang !== null && binaries["lld-link"] !== null;
      const record =
        cacheDir && known
          ? path.join(
              cacheDir,
              `toolchain-${sha256(stableStringify({ v: PROBE_VERSION, binaries })).slice(0, 16)}.json`,
            )
          : null;
      if (record) {
        try {
          const cached = JSON.parse(fs.readFileSync(record, "utf8")) as unknown;
          if (validProbe(cached)) {
            return { clang: cached.clang, lld: cached.lld, resourceDir: cached.resourceDir, binaries };
          }
        } catch {
          // not probed yet (or unreadable): probe
        }
      }
      const clang = (await runTool("clang", ["--version"], { resource, secrets: [] })).stdout.split("\n")[0]!.trim();
      const lld = (await runTool("lld-link", ["--version"], { resource, secrets: [] })).stdout.split("\n")[0]!.trim();
      const resourceDir = (await runTool("clang", ["-print-resource-dir"], { resource, secrets: [] })).stdout.trim();
      if (!fs.existsSync(path.join(resourceDir, "include", "stddef.h"))) {
        throw new BuildError(
          `clang's resource headers are missing under ${resourceDir}/include (Debian package clang)`,
        );
      }
      if (record) {
        fs.mkdirSync(cacheDir!, { recursive: true });
        writeFileAtomic(record, `${JSON.stringify({ clang, lld, resourceDir, binaries })}\n`);
      }
      return { clang, lld, resourceDir, binaries };
    })();
    toolchainMemo.set(memoKey, memo);
  }
  try {
    return await memo;
  } catch (e) {
    toolchainMemo.delete(memoKey);
    throw e;
  }
}

/**
 * The toolchain version string recorded in {@link BuildResult.toolchainVersion} (first line of `clang --version`).
 * Runs clang once per process (none when `cacheDir` holds the answer for the installed binaries).
 *
 * @param resource name recorded in the tool log
 * @param cacheDir the build cache folder
 * @default resource "driver-build"
 */
export async function openToolchainVersion(resource = "driver-build", cacheDir?: string): Promise<string> {
  return (await toolchainInfo(resource, cacheDir)).clang;
}

function normalizeConfiguration(value: unknown): BuildConfiguration {
  if (typeof value === "string") {
    if (value.toLowerCase() === "debug") return "Debug";
    if (value.toLowerCase() === "release") return "Release";
  }
  throw new BuildError(`'configuration' must be Debug or Release (got ${JSON.stringify(value)})`);
}

function normalizePlatform(value: unknown): BuildPlatform {
  if (typeof value === "string") {
    if (value.toLowerCase() === "x64") return "x64";
    if (value.toLowerCase() === "arm64") return "ARM64";
  }
  throw new BuildError(`'platform' must be x64 or ARM64 (got ${JSON.stringify(value)})`);
}

// ---------------------------------------------------------------------------------------------------
// Planning (no tools run, nothing written)
// ---------------------------------------------------------------------------------------------------

/** A library of a project and how the open toolchain provides it. */
export interface PlannedLibrary {
  /** Lower-case base name (`ntoskrnl`, `wdmsec`). */
  base: string;
  provision: LibraryProvision;
}

/** One source of a project with the compiler options its settings map to. */
export interface PlannedSource {
  source: VcxSource;
  /** The mapped `AdditionalOptions` and the warning settings they leave. */
  options: CompilerOptions;
  /** For `PrecompiledHeader=Use`/`Create`: the header as written and the file it resolves to. */
  pch: { name: string; file: string; mode: "Create" | "Use" } | null;
}

/** One project of the build, evaluated and checked. */
export interface PlannedProject {
  config: VcxConfiguration;
  kind: "driver" | "application";
  /** `<TargetName><TargetExt>`. */
  outputName: string;
  /** `<TargetName>.pdb` when debug information is generated, else null. */
  pdbName: string | null;
  /**
   * Folder of the project's outputs inside outDir, POSIX, "" for outDir itself. Outputs go to outDir flat (as
   * with MSBuild's /p:OutDir), except when two projects of the solution produce a file of the same name (MSBuild
   * writes them to each project's own OutDir): then each of those projects gets the folder of its project file
   * relative to the solution (`sys`, `startio`).
   */
  outputDir: string;
  /** `outputDir/outputName` (POSIX), the binary's path relative to outDir. */
  outputPath: string;
  /** Libraries named by the project (and the defaults it keeps), in order. */
  libraries: PlannedLibrary[];
  /** Entry point symbol passed to lld-link; null: lld-link picks mainCRTStartup or wmainCRTStartup. */
  entry: string | null;
  sources: PlannedSource[];
  resources: VcxResource[];
  /** The mapped `Link/AdditionalOptions`. */
  linker: LinkerOptions;
  /** MSVC warning numbers the project's sources and headers disable with #pragma warning. */
  pragmaDisabled: number[];
}

/** What {@link planBuild} returns. */
export interface BuildPlan {
  /** The .sln or .vcxproj (absolute). */
  project: string;
  /** Folder that relative input paths are reported against (the .sln's or .vcxproj's). */
  rootDir: string;
  configuration: BuildConfiguration;
  platform: BuildPlatform;
  /** The solution file, when the input is one. */
  solution?: string;
  projects: PlannedProject[];
}

function refuse(config: VcxConfiguration, line: number | undefined, message: string, feature: string): never {
  const where = line !== undefined ? `${config.file}:${line}` : config.file;
  throw new ProjectFormatError(`${where}: ${message}`, config.file, line, feature);
}

/** An AdditionalDependencies entry as the project wrote it (the kit's library folders shown as their macros). */
function displayDependency(dep: string): string {
  return toPosixPath(dep)
    .replace(`${KIT_LIB_ROOT}/km`, "$(DDK_LIB_PATH)")
    .replace(`${KIT_LIB_ROOT}/um`, "$(SDK_LIB_PATH)")
    .replace(/^\$\(([A-Z_]+)\)\/+/, "$($1)\\");
}

/** Base name (lower case, no `.lib`) of an AdditionalDependencies entry, or an error naming it. */
function libraryBase(config: VcxConfiguration, dep: string): string {
  const line = config.link.additionalDependenciesLine;
  const posix = toPosixPath(dep).trim();
  const name = posix.split("/").pop() ?? posix;
  const m = /^([A-Za-z0-9_.+-]+)\.lib$/i.exec(name);
  if (!m) {
    return refuse(
      config,
      line,
      `Link AdditionalDependencies entry '${dep}' is not a library (.lib)`,
      "AdditionalDependencies",
    );
  }
  if (posix.includes("/") && !posix.startsWith(`${KIT_LIB_ROOT}/`)) {
    const file = path.resolve(config.projectDir, posix);
    return refuse(
      config,
      line,
      fs.existsSync(file)
        ? `Link AdditionalDependencies entry '${dep}' is a prebuilt library (${file}); the open toolchain links only libraries it makes itself: build that library's project in the solution instead, or build with the adk toolchain`
        : `Link AdditionalDependencies entry '${dep}' names a library that does not exist (${file})`,
      "AdditionalDependencies",
    );
  }
  return m[1]!.toLowerCase();
}

/** The header a PrecompiledHeaderFile names, found as the source's #include would find it (any letter case). */
function findPchHeader(config: VcxConfiguration, s: VcxSource, name: string): string {
  const rel = toPosixPath(name);
  const dirs = [
    path.dirname(s.file),
    ...s.settings.additionalIncludeDirectories,
    ...config.includePath,
    config.projectDir,
  ];
  for (const d of dirs) {
    const f = resolveCaseInsensitive(path.resolve(d, rel));
    if (fs.existsSync(f) && fs.statSync(f).isFile()) return f;
  }
  return refuse(
    config,
    s.line,
    `PrecompiledHeaderFile '${name}' of ClCompile item '${s.include}' not found (looked in ${dirs.join(", ")})`,
    "PrecompiledHeaderFile",
  );
}

const FOREIGN_DRIVER_TYPES: Record<string, string> = {
  kmdf: "KMDF drivers (Kernel-Mode Driver Framework: the open toolchain has no WDF headers or libraries)",
  umdf: "UMDF drivers (User-Mode Driver Framework: the open toolchain has no WDF headers or libraries)",
};

/** KMDF and UMDF projects are refused as soon as their properties are known (before their items are read). */
function refuseForeignDriverTypes(prop: (name: string) => string, line: (name: string) => number | undefined): void {
  const driverType = prop("DriverType").trim();
  const what = FOREIGN_DRIVER_TYPES[driverType.toLowerCase()];
  if (!what) return;
  const file = prop("MSBuildProjectFullPath");
  const at = line("DriverType");
  throw new ProjectFormatError(
    `${at !== undefined ? `${file}:${at}` : file}: ${what} are not supported by the open toolchain (DriverType ${driverType}); build this project with the adk toolchain (Visual Studio + WDK)`,
    file,
    at,
    "DriverType",
  );
}

function planProject(config: VcxConfiguration): PlannedProject {
  const where = config.file;
  const bad = (msg: string, feature: string, line?: number): never => refuse(config, line, msg, feature);
  const driverType = config.driverType.trim().toLowerCase();
  if (FOREIGN_DRIVER_TYPES[driverType]) {
    bad(
      `${FOREIGN_DRIVER_TYPES[driverType]} are not supported by the open toolchain (DriverType ${config.driverType}); build this project with the adk toolchain (Visual Studio + WDK)`,
      "DriverType",
      config.propertyLines.DriverType,
    );
  }
  let kind: "driver" | "application";
  if (config.configurationType === "Driver") kind = "driver";
  else if (config.configurationType === "Application") kind = "application";
  else {
    return bad(
      `ConfigurationType ${config.configurationType} (${config.configuration}|${config.platform}) is not supported by the open toolchain: it builds Driver and Application projects; build this project with the adk toolchain`,
      "ConfigurationType",
      config.propertyLines.ConfigurationType,
    );
  }
  if (kind === "driver" && driverType !== "" && driverType !== "wdm") {
    bad(
      `DriverType ${config.driverType} is not supported by the open toolchain (it builds WDM drivers); build this project with the adk toolchain`,
      "DriverType",
      config.propertyLines.DriverType,
    );
  }
  if (kind === "driver" && config.targetExt.toLowerCase() !== ".sys") {
    bad(`a driver's TargetExt must be .sys (got ${config.targetExt})`, "TargetExt", config.propertyLines.TargetExt);
  }
  if (kind === "application" && config.targetExt.toLowerCase() !== ".exe") {
    bad(
      `an application's TargetExt must be .exe (got ${config.targetExt})`,
      "TargetExt",
      config.propertyLines.TargetExt,
    );
  }
  const subsystem = config.link.subsystem.toLowerCase();
  if (kind === "application" && subsystem !== "" && subsystem !== "console") {
    bad(
      `Link SubSystem ${config.link.subsystem} is not supported by the open toolchain: it builds console applications`,
      "SubSystem",
    );
  }
  if (kind === "driver" && subsystem !== "" && subsystem !== "native") {
    bad(`a driver's Link SubSystem must be Native (got ${config.link.subsystem})`, "SubSystem");
  }
  if (config.packageReferences.length > 0) {
    bad(
      `NuGet packages (PackageReference ${config.packageReferences[0]}) are not supported by the open toolchain`,
      "PackageReference",
    );
  }
  if (config.sources.length === 0) {
    bad(`no ClCompile source is built in ${config.configuration}|${config.platform}`, "ClCompile");
  }
  const sources: PlannedSource[] = [];
  for (const s of config.sources) {
    const ext = path.extname(s.file).toLowerCase();
    if (![".c", ".cpp", ".cc", ".cxx"].includes(ext)) {
      bad(`ClCompile item '${s.include}' (line ${s.line}) is not a C or C++ source`, "ClCompile");
    }
    if (!fs.existsSync(s.file) || !fs.statSync(s.file).isFile()) {
      throw new ProjectFormatError(
        `${where}:${s.line}: source file '${s.include}' not found (${s.file})`,
        where,
        s.line,
        "ClCompile",
      );
    }
    for (const f of s.settings.forcedIncludeFiles) {
      if (!fs.existsSync(f))
        throw new ProjectFormatError(`${where}:${s.line}: forced include ${f} not found`, where, s.line);
    }
    const options = mapCompilerOptions(
      s.settings.additionalOptions.text,
      { file: where, line: s.settings.additionalOptions.line, projectDir: config.projectDir },
      {
        warningLevel: s.settings.warningLevel,
        treatWarningAsError: s.settings.treatWarningAsError,
        disableSpecificWarnings: s.settings.disableSpecificWarnings,
        treatSpecificWarningsAsErrors: s.settings.treatSpecificWarningsAsErrors,
      },
    );
    let pch: PlannedSource["pch"] = null;
    const mode = s.settings.precompiledHeader.toLowerCase();
    if (mode === "use" || mode === "create") {
      const name = s.settings.precompiledHeaderFile || "stdafx.h";
      pch = { name, file: findPchHeader(config, s, name), mode: mode === "use" ? "Use" : "Create" };
    }
    sources.push({ source: s, options, pch });
  }
  for (const r of config.resources) {
    if (!fs.existsSync(r.file) || !fs.statSync(r.file).isFile()) {
      throw new ProjectFormatError(
        `${where}:${r.line}: resource script '${r.include}' not found (${r.file})`,
        where,
        r.line,
        "ResourceCompile",
      );
    }
  }
  // Libraries.
  const libraries: PlannedLibrary[] = [];
  const add = (base: string, provision: LibraryProvision) => {
    if (!libraries.some((l) => l.base === base)) libraries.push({ base, provision });
  };
  const explicit = config.link.additionalDependencies.map((d) => ({ dep: d, base: libraryBase(config, d) }));
  const defaults =
    kind === "driver"
      ? DEFAULT_DRIVER_LIBS.map((d) => d.toLowerCase().replace(/\.lib$/, ""))
      : config.link.inheritsDefaultDependencies
        ? DEFAULT_APP_LIBS.map((d) => d.replace(/\.lib$/, ""))
        : [];
  // the toolchain's own: drivers always link ntoskrnl and hal, applications the C runtime and kernel32
  const always = kind === "driver" ? ["ntoskrnl", "hal"] : ["msvcrt", "kernel32"];
  for (const base of always) {
    const c = classifyLibrary(base, kind);
    if (c.kind === "unavailable") throw new BuildError(`${base}.lib is not available: ${c.reason}`);
    add(base, c);
  }
  for (const { dep, base } of explicit) {
    const c = classifyLibrary(base, kind);
    if (c.kind === "unavailable") {
      bad(
        `library ${displayDependency(dep)} is not available to ${kind === "driver" ? "drivers" : "applications"} in the open toolchain: ${c.reason}`,
        `${base}.lib`,
        config.link.additionalDependenciesLine,
      );
    }
    add(base, c as LibraryProvision);
  }
  for (const base of defaults) {
    const c = classifyLibrary(base, kind);
    // a default library the toolchain cannot provide (uuid.lib: static GUIDs) is left out, as unused
    if (c.kind !== "unavailable") add(base, c);
  }
  const linker = mapLinkerOptions(config.link.additionalOptions.text, {
    file: where,
    line: config.link.additionalOptions.line,
  });
  let entry: string | null = config.link.entryPointSymbol || null;
  if (kind === "driver") {
    // The WDK's GsDriverEntry (stack-cookie set-up from BufferOverflowK.lib) does not exist here.
    if (entry === null || entry === "GsDriverEntry") entry = "DriverEntry";
  }
  // GenerateDebugInformation defaults to true in Visual Studio's C++ projects (Debug and Release); link.exe
  // writes a PDB even for sources compiled without /Zi (public symbols only), as lld-link does
  const generate = config.link.generateDebugInformation.toLowerCase();
  const pdbName = generate === "false" || generate === "no" ? null : `${config.targetName}.pdb`;
  // warnings the project disables in its own files (#pragma warning(disable: N)): never made errors
  const scanned = new Set<string>();
  const pragmaDisabled = new Set<number>();
  const scan = (f: string) => {
    if (scanned.has(f)) return;
    scanned.add(f);
    try {
      for (const n of pragmaDisabledWarnings(decodeText(fs.readFileSync(f)))) pragmaDisabled.add(n);
    } catch {
      // unreadable: the compile names it
    }
  };
  for (const s of config.sources) scan(s.file);
  for (const h of config.headers) scan(h);
  for (const dir of new Set(config.sources.map((s) => path.dirname(s.file)))) {
    for (const n of fs.readdirSync(dir)) if (/\.(h|hpp|hxx|inl)$/i.test(n)) scan(path.join(dir, n));
  }
  return {
    config,
    kind,
    outputName: `${config.targetName}${config.targetExt}`,
    pdbName,
    outputDir: "",
    outputPath: `${config.targetName}${config.targetExt}`,
    libraries,
    entry,
    sources,
    resources: config.resources,
    linker,
    pragmaDisabled: [...pragmaDisabled].sort((a, b) => a - b),
  };
}

/**
 * Read the solution/project and decide what to build, without running tools or writing anything.
 * Every bad input is found here: a missing project, a file that is not XML, a platform the project lacks,
 * a missing source, an unsupported feature (KMDF, UMDF, WPP, an unknown option, a library the toolchain cannot
 * provide, ...), so nothing is built when a project cannot be.
 *
 * @throws BuildError for bad arguments; ProjectFormatError naming the file (and line, feature) otherwise
 */
export function planBuild(input: Pick<BuildInput, "project" | "configuration" | "platform" | "only">): BuildPlan {
  const configuration = normalizeConfiguration(input.configuration);
  const platform = normalizePlatform(input.platform);
  if (typeof input.project !== "string" || input.project.trim() === "") {
    throw new BuildError("'project' must be the path of a .sln or .vcxproj file");
  }
  const project = path.resolve(input.project);
  const ext = path.extname(project).toLowerCase();
  if (ext !== ".sln" && ext !== ".vcxproj") {
    throw new BuildError(`'project' must be a .sln or .vcxproj file (got ${project})`, project);
  }
  if (!fs.existsSync(project)) {
    throw new ProjectFormatError(`${project}: ${ext === ".sln" ? "solution" : "project"} file not found`, project);
  }
  if (!fs.statSync(project).isFile()) throw new BuildError(`'project' ${project} is not a file`, project);
  const kit = {
    toolchainProperties: kitProperties(platform),
    derivedProperties: derivedKitProperties,
    checkProperties: refuseForeignDriverTypes,
  };
  const projects: PlannedProject[] = [];
  const read = readProject(project, configuration, platform, kit, input.only);
  const entries = read.entries;
  if (read.solution && input.only !== undefined) {
    const only = path.resolve(input.only);
    const listed = readSln(project).projects.some((p) => path.resolve(p.file) === only);
    if (entries.length === 0) {
      throw new ProjectFormatError(
        listed
          ? `${project}: the solution does not build ${only} in ${configuration}|${platform}`
          : `${project}: the solution has no project ${only}`,
        project,
        undefined,
        "project",
      );
    }
  }
  if (read.solution && entries.length === 0) {
    throw new ProjectFormatError(`${project}: no project is built in ${configuration}|${platform}`, project);
  }
  for (const e of entries) {
    const sp = e.solutionProject;
    if (!e.config) {
      throw new ProjectFormatError(
        `${project}:${sp?.line}: project '${sp?.name}' (${sp?.relativePath}) is not a .vcxproj; the open toolchain builds C/C++ projects only`,
        project,
        sp?.line,
        "project type",
      );
    }
    if (read.solution && normalizePlatformOrNull(e.config.platform) !== platform) {
      throw new ProjectFormatError(
        `${project}: the solution maps ${configuration}|${platform} of '${sp?.name}' to platform ${e.config.platform}, which the open toolchain cannot build for ${platform}`,
        project,
        undefined,
        "platform",
      );
    }
    projects.push(planProject(e.config));
  }
  assignOutputDirs(projects, path.dirname(project), project);
  return {
    project,
    rootDir: path.dirname(project),
    configuration,
    platform,
    solution: ext === ".sln" ? project : undefined,
    projects,
  };
}

/** Each project's output folder inside outDir (see {@link PlannedProject.outputDir}). */
function assignOutputDirs(projects: PlannedProject[], rootDir: string, project: string): void {
  const outputsOf = (p: PlannedProject) =>
    [p.outputName, ...(p.pdbName ? [p.pdbName] : [])].map((n) => n.toLowerCase());
  const count = new Map<string, number>();
  for (const p of projects) for (const n of outputsOf(p)) count.set(n, (count.get(n) ?? 0) + 1);
  for (const p of projects) {
    if (!outputsOf(p).some((n) => (count.get(n) ?? 0) > 1)) continue;
    const rel = path.relative(rootDir, p.config.projectDir).split(path.sep).join("/");
    p.outputDir = rel === "" || rel.startsWith("..") ? p.config.projectName : rel;
    p.outputPath = `${p.outputDir}/${p.outputName}`;
  }
  const seen = new Map<string, string>();
  for (const p of projects) {
    for (const n of outputsOf(p)) {
      const key = `${p.outputDir.toLowerCase()}/${n}`;
      const other = seen.get(key);
      if (other) {
        throw new ProjectFormatError(
          `${project}: two projects produce ${p.outputDir ? `${p.outputDir}/` : ""}${n} (${other} and ${p.config.file})`,
          project,
          undefined,
          "TargetName",
        );
      }
      seen.set(key, p.config.file);
    }
  }
}

function normalizePlatformOrNull(value: string): BuildPlatform | null {
  try {
    return normalizePlatform(value);
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------------
// Flags
// ---------------------------------------------------------------------------------------------------

interface CompileUnit {
  planned: PlannedSource;
  source: VcxSource;
  /** argv without the source, output, dependency-file and precompiled-header options. */
  argv: string[];
  language: "c" | "c++";
}

function languageOf(s: VcxSource): "c" | "c++" {
  if (s.settings.compileAs === "CompileAsC") return "c";
  if (s.settings.compileAs === "CompileAsCpp") return "c++";
  return path.extname(s.file).toLowerCase() === ".c" ? "c" : "c++";
}

function versionDefines(config: VcxConfiguration): { winnt: string; ntddi: string; subsystem: string } {
  const v = TARGET_VERSIONS[(config.targetVersion || "Windows10").toLowerCase()];
  if (!v) {
    throw new ProjectFormatError(
      `${config.file}: TargetVersion ${config.targetVersion} is not supported by the open toolchain (${Object.keys(TARGET_VERSIONS).join(", ")})`,
      config.file,
      config.propertyLines.TargetVersion,
      "TargetVersion",
    );
  }
  return v;
}

/** Where the build's header search starts: clang's, winpe-lab's support headers, mingw-w64's (in this order). */
function systemIncludeArgv(kind: "driver" | "application", tc: ToolchainInfo, arm64Ddk: string | null): string[] {
  const support = supportIncludeDirs();
  const inc = path.join(MINGW_ROOT, "include");
  const argv = ["-isystem", path.join(tc.resourceDir, "include")];
  if (kind === "driver") argv.push("-isystem", support.kernel);
  argv.push("-isystem", support.common);
  if (kind === "driver") {
    if (arm64Ddk) argv.push("-isystem", arm64Ddk);
    argv.push("-isystem", path.join(inc, "ddk"));
  }
  argv.push("-isystem", inc);
  return argv;
}

/** Project include folders, without those the toolchain itself provides (they are on the path in order already). */
function projectIncludeDirs(dirs: readonly string[]): string[] {
  const support = supportIncludeDirs();
  return dirs.filter((d) => {
    const abs = path.resolve(d);
    return !within(abs, path.join(MINGW_ROOT, "include")) && abs !== support.common && abs !== support.kernel;
  });
}

/** Defines of every compile of a project (cl.exe's and the WDK's). */
function projectDefines(p: PlannedProject, platform: BuildPlatform, runtimeLibrary: string): string[] {
  const { config } = p;
  const v = versionDefines(config);
  const defines: string[] = [
    ...ARCH[platform].defines,
    `_WIN32_WINNT=${v.winnt}`,
    `WINVER=${v.winnt}`,
    `NTDDI_VERSION=${v.ntddi}`,
  ];
  if (p.kind === "driver") {
    defines.push("_KERNEL_MODE", "WINNT=1");
    if (config.useDebugLibraries) defines.push("DBG=1");
  } else {
    // msvcrt.dll's printf family, as with the Visual C++ runtime (not mingw-w64's own implementation)
    defines.push("__USE_MINGW_ANSI_STDIO=0");
    const cs = config.characterSet.toLowerCase();
    if (cs === "unicode") defines.push("UNICODE", "_UNICODE");
    else if (cs === "multibyte") defines.push("_MBCS");
    const rt = runtimeLibrary.toLowerCase();
    if (rt.startsWith("multithreaded")) defines.push("_MT");
    if (rt.includes("debug")) defines.push("_DEBUG");
    if (rt.endsWith("dll")) defines.push("_DLL");
  }
  return defines;
}

function compileArgv(
  p: PlannedProject,
  ps: PlannedSource,
  platform: BuildPlatform,
  tc: ToolchainInfo,
  arm64Ddk: string | null,
  overlays: readonly string[],
): CompileUnit {
  const { config } = p;
  const s = ps.source;
  const language = languageOf(s);
  const argv: string[] = [`--target=${ARCH[platform].triple}`, "-c", "-nostdinc"];
  argv.push(...systemIncludeArgv(p.kind, tc, arm64Ddk));
  for (const o of overlays) argv.push("-ivfsoverlay", o);
  argv.push("-fms-extensions", "-fms-compatibility", "-fgnuc-version=4.2.1", "-U__NO_INLINE__");
  // objects without a time stamp in their COFF header (cl.exe /Brepro): the same source and flags give the same
  // bytes, so a cached object is found by content and an unchanged object leaves its binary unlinked
  argv.push("-mno-incremental-linker-compatible");
  // mingw-w64's _mingw.h defines __MINGW_IMPORT only where __declspec is a macro (not under -fms-extensions)
  argv.push("-D__MINGW_IMPORT=extern __declspec(dllimport)");
  // cl.exe accepts a ## that forms no valid token (it keeps both tokens); clang makes that an error by default
  argv.push("-Werror=implicit-function-declaration", "-Wno-error=invalid-token-paste");
  if (p.kind === "driver") argv.push("-ffreestanding", "-funwind-tables");
  if (language === "c++") argv.push("-fno-exceptions", "-fno-rtti");
  const opt = (
    ps.options.optimization ||
    s.settings.optimization ||
    (config.useDebugLibraries ? "Disabled" : "MaxSpeed")
  ).toLowerCase();
  argv.push(opt === "disabled" ? "-O0" : opt === "minspace" ? "-Os" : "-O2");
  const std = language === "c" ? s.settings.languageStandardC : s.settings.languageStandard;
  const stdMap: Record<string, string> = {
    stdc11: "-std=c11",
    stdc17: "-std=c17",
    stdcpp14: "-std=c++14",
    stdcpp17: "-std=c++17",
    stdcpp20: "-std=c++20",
    stdcpplatest: "-std=c++2b",
  };
  if (std && std.toLowerCase() !== "default") {
    const flag = stdMap[std.toLowerCase()];
    if (!flag) {
      throw new ProjectFormatError(
        `${config.file}:${s.line}: LanguageStandard ${std} is not supported`,
        config.file,
        s.line,
      );
    }
    argv.push(flag);
  }
  if (s.settings.debugInformationFormat.toLowerCase() !== "none") {
    argv.push("-g", "-gcodeview", "-ffile-compilation-dir=.");
  }
  const runtimeLibrary = ps.options.runtimeLibrary ?? s.settings.runtimeLibrary;
  for (const d of projectDefines(p, platform, runtimeLibrary)) argv.push(`-D${d}`);
  for (const d of s.settings.preprocessorDefinitions) argv.push(`-D${d}`);
  for (const u of s.settings.undefinePreprocessorDefinitions) argv.push(`-U${u}`);
  for (const d of projectIncludeDirs(s.settings.additionalIncludeDirectories)) argv.push("-I", d);
  for (const d of projectIncludeDirs(config.includePath)) argv.push("-I", d);
  for (const f of s.settings.forcedIncludeFiles) argv.push("-include", f);
  argv.push(...ps.options.argv);
  argv.push(...warningArgv(ps.options.warnings, new Set(p.pragmaDisabled)));
  argv.push("-x", language);
  return { planned: ps, source: s, argv, language };
}

/**
 * The text of a `PrecompiledHeader=Use` source as cl.exe compiles it: everything before the #include of the
 * precompiled header blanked (newlines kept, so line numbers stay). Null when nothing precedes that #include, or
 * when the source has no such #include (the compile then reports it, as cl.exe does).
 */
export function pchUseView(text: string, pchName: string): string | null {
  const want = toPosixPath(pchName).toLowerCase();
  const re = /^[ \t]*#[ \t]*include[ \t]*[<"]([^>"\r\n]+)[>"]/gm;
  for (const m of text.matchAll(re)) {
    const name = toPosixPath(m[1]!).toLowerCase();
    if (name !== want && name.split("/").pop() !== want.split("/").pop()) continue;
    const before = text.slice(0, m.index);
    if (before.trim() === "") return null;
    return before.replace(/[^\r\n]/g, " ") + text.slice(m.index);
  }
  return null;
}

/** clang's error for a `main` whose parameters C does not allow in a hosted program (cl.exe accepts them). */
const MAIN_SIGNATURE_ERROR = /error: (first|second|third) parameter of 'main' \([^)]*\) must be of type/;

/** The import library, static library or nothing for each of a project's libraries. */
async function projectLibraries(
  p: PlannedProject,
  platform: BuildPlatform,
  ctx: {
    cacheDir: string;
    tc: ToolchainInfo;
    resource: string;
    progress: (l: string) => void;
    kernelInclude: string[];
    onNotice: (message: string) => void;
  },
): Promise<{ libs: string[]; inputs: string[] }> {
  const libs: string[] = [];
  const inputs: string[] = [];
  const runtime = async (lib: "winpe-crt" | "winpe-km" | "wdmsec") => {
    const r = await ensureRuntimeLibrary(lib, platform, {
      cacheDir: ctx.cacheDir,
      clangVersion: ctx.tc.clang,
      resourceDir: ctx.tc.resourceDir,
      kernelIncludeArgv: ctx.kernelInclude,
      resource: ctx.resource,
      onProgress: ctx.progress,
      onNotice: ctx.onNotice,
    });
    libs.push(r.path);
    inputs.push(...r.inputs);
  };
  // the start-up code first (lld-link picks mainCRTStartup or wmainCRTStartup from it)
  if (p.kind === "application") await runtime("winpe-crt");
  for (const l of p.libraries) {
    if (l.provision.kind === "provided") continue;
    if (l.provision.kind === "static") {
      await runtime(l.provision.name);
      continue;
    }
    const lib = await ensureImportLibrary(
      l.base,
      platform,
      ctx.cacheDir,
      ctx.tc.lld,
      ctx.resource,
      ctx.progress,
      ctx.onNotice,
    );
    if (lib === null) throw new BuildError(`no export list for ${l.base}.lib (${p.config.file})`, p.config.file);
    libs.push(lib);
    inputs.push(...importListSources(l.base));
  }
  if (p.kind === "driver") await runtime("winpe-km");
  return { libs, inputs };
}

/** The files an import library's export list is made from (for the inputs hash). */
function importListSources(base: string): string[] {
  const out: string[] = [];
  const mingw = path.join(MINGW_ROOT, "lib", `lib${base}.a`);
  if (fs.existsSync(mingw)) out.push(mingw);
  for (const f of ["msvcrt.def", "fltmgr.def", "ntoskrnl-additions.def"]) {
    if (f.startsWith(`${base}.`) || f.startsWith(`${base}-`)) out.push(supportFile("importlibs", f));
  }
  return out;
}

function linkArgv(
  p: PlannedProject,
  platform: BuildPlatform,
  objects: string[],
  libs: string[],
  out: string,
  pdb: string | null,
): string[] {
  const arch = ARCH[platform];
  const v = versionDefines(p.config);
  const argv = ["/nologo", `/machine:${arch.lldMachine}`, "/nodefaultlib", "/Brepro", "/dynamicbase", "/nxcompat"];
  if (p.entry) argv.push(`/entry:${p.entry}`);
  if (p.kind === "driver") argv.push("/driver:wdm", `/subsystem:native,${v.subsystem}`);
  else argv.push("/subsystem:console");
  if (pdb) {
    // the debug directory names the PDB without a folder (the debugger finds it on its symbol path)
    argv.push("/debug", `/pdb:${pdb}`, "/pdbaltpath:%_PDB%", "/pdbsourcepath:/winpe-lab/build");
    // Visual Studio's Release configurations keep /OPT:REF,ICF with /DEBUG
    if (!p.config.useDebugLibraries) argv.push("/opt:ref", "/opt:icf");
  }
  argv.push(...p.linker.argv);
  argv.push(`/out:${out}`, ...objects, ...libs);
  return argv;
}

// ---------------------------------------------------------------------------------------------------
// Dependency files, hashing
// ---------------------------------------------------------------------------------------------------

/** Prerequisites listed in a Make-style dependency file written by `clang -MD -MF`. */
export function parseDepFile(text: string): string[] {
  const joined = text.replace(/\\\r?\n/g, " ");
  const colon = joined.search(/:(\s|$)/);
  if (colon < 0) return [];
  const body = joined.slice(colon + 1);
  const out: string[] = [];
  let cur = "";
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === "\\" && i + 1 < body.length && /[ #\\]/.test(body[i + 1]!)) {
      cur += body[i + 1];
      i++;
    } else if (c === "$" && body[i + 1] === "$") {
      cur += "$";
      i++;
    } else if (/\s/.test(c)) {
      if (cur) out.push(cur);
      cur = "";
    } else {
      cur += c;
    }
  }
  if (cur) out.push(cur);
  return out;
}

function within(p: string, dir: string): boolean {
  return p === dir || p.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep);
}

/** A path as it enters the inputs hash: relative to the cache or the project root; system files absolute. */
function hashPath(p: string, rootDir: string, cacheDir: string): string {
  const abs = path.resolve(p);
  if (within(abs, cacheDir)) return `<cache>/${path.relative(cacheDir, abs)}`;
  if (within(abs, "/usr")) return abs;
  if (within(abs, supportFile())) return `<winpe-lab>/${path.relative(supportFile(), abs)}`;
  return `<root>/${path.relative(rootDir, abs)}`;
}

/** Compiler arguments as they enter the inputs hash: existing absolute paths made root/cache-relative. */
function hashArgv(argv: string[], rootDir: string, cacheDir: string): string[] {
  // the header overlays only make names resolve in any case: what they resolve to is in the dependency files
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "-ivfsoverlay") {
      i++;
      continue;
    }
    const a = argv[i]!;
    out.push(path.isAbsolute(a) && fs.existsSync(a) ? hashPath(a, rootDir, cacheDir) : a);
  }
  return out;
}

/**
 * Write the PE image checksum (what link.exe /RELEASE does; lld-link 14 has no such option) into the
 * optional header of `file`, in place. The algorithm is ImageHlp's CheckSumMappedFile: 16-bit one's-complement
 * style sum of the file with the checksum field taken as zero, plus the file length.
 *
 * @returns the checksum written
 */
export function writePeChecksum(file: string): number {
  const buf = fs.readFileSync(file);
  if (buf.length < 0x40) throw new BuildError(`${file} is too small to be a PE image`, file);
  const peOffset = buf.readUInt32LE(0x3c);
  const field = peOffset + 4 + 20 + 64;
  if (field + 4 > buf.length) throw new BuildError(`${file}: PE header out of range`, file);
  let sum = 0;
  for (let i = 0; i < buf.length; i += 2) {
    if (i === field || i === field + 2) continue;
    const word = i + 1 < buf.length ? buf.readUInt16LE(i) : buf[i]!;
    sum += word;
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  sum = (sum & 0xffff) + (sum >>> 16);
  const checksum = (sum + buf.length) >>> 0;
  buf.writeUInt32LE(checksum, field);
  fs.writeFileSync(file, buf);
  return checksum;
}

// ---------------------------------------------------------------------------------------------------
// Verification
// ---------------------------------------------------------------------------------------------------

/** What {@link verifyBuiltFile} checked. */
export interface VerifiedFile {
  machine: number;
  subsystem: number;
  pe: PeInfo;
  /** The PDB file name in the debug directory (CodeView), when there is one. */
  pdbName: string | null;
  /** Resource types in the resource section (llvm-readobj --coff-resources), e.g. `VERSIONINFO (ID 16)`. */
  resourceTypes: string[];
}

/**
 * Check a produced file with two independent readers (`llvm-readobj --file-headers` and our PE reader):
 * the requested machine; a driver is a native-subsystem image importing from ntoskrnl.exe; an application is
 * a console image.
 *
 * @param file the .sys or .exe
 * @param expect the kind and platform it must have
 * @throws BuildError naming the file and what is wrong
 */
export async function verifyBuiltFile(
  file: string,
  expect: {
    kind: "driver" | "application";
    platform: BuildPlatform;
    resource?: string;
    /** The PDB file name the debug directory must name. */
    pdbName?: string;
    /** The image must have a resource section (the project compiles a resource script). */
    resources?: boolean;
  },
): Promise<VerifiedFile> {
  const name = path.basename(file);
  const want = ARCH[expect.platform].machine;
  const wantSubsystem = expect.kind === "driver" ? 1 : 3;
  // one llvm-readobj run reads everything checked here (headers, debug directory, resources)
  const flags = ["--file-headers"];
  if (expect.pdbName !== undefined) flags.push("--coff-debug-directory");
  if (expect.resources) flags.push("--coff-resources");
  const r = await runTool("llvm-readobj", [...flags, file], {
    resource: expect.resource ?? "driver-build",
    secrets: [],
  });
  const resourcesAt = r.stdout.search(/^Resources \[/m);
  const before = resourcesAt < 0 ? r.stdout : r.stdout.slice(0, resourcesAt);
  const machineM = /^\s*Machine:\s*\S+\s*\((0x[0-9A-Fa-f]+)\)/m.exec(before);
  const subsystemM = /^\s*Subsystem:\s*\S+\s*\((0x[0-9A-Fa-f]+)\)/m.exec(before);
  if (!machineM || !subsystemM) {
    throw new BuildError(`${name}: llvm-readobj did not report a machine and subsystem: not a PE image`, file);
  }
  const machine = Number.parseInt(machineM[1]!, 16);
  const subsystem = Number.parseInt(subsystemM[1]!, 16);
  const hex = (n: number) => `0x${n.toString(16).toUpperCase()}`;
  if (machine !== want) {
    throw new BuildError(
      `${name} is built for machine ${hex(machine)}, not ${hex(want)} (${expect.platform}): wrong architecture`,
      file,
    );
  }
  if (subsystem !== wantSubsystem) {
    throw new BuildError(
      `${name} has subsystem ${subsystem}, but a ${expect.kind} must be ${wantSubsystem === 1 ? "native (1)" : "console (3)"}`,
      file,
    );
  }
  const pe = readPeHeaders(file);
  if (pe.machine !== machine || pe.subsystem !== subsystem) {
    throw new BuildError(
      `${name}: llvm-readobj (machine ${hex(machine)}, subsystem ${subsystem}) and our PE reader (machine ${hex(pe.machine)}, subsystem ${pe.subsystem}) disagree`,
      file,
    );
  }
  if ((pe.characteristics & PE_CHARACTERISTICS.executableImage) === 0) {
    throw new BuildError(`${name} is not marked as an executable image`, file);
  }
  if (expect.kind === "driver" && !importsFrom(pe, "ntoskrnl.exe")) {
    throw new BuildError(`${name} does not import from ntoskrnl.exe: not a kernel driver`, file);
  }
  if (expect.kind === "application" && importsFrom(pe, "ntoskrnl.exe")) {
    throw new BuildError(`${name} imports from ntoskrnl.exe: not a user-mode application`, file);
  }
  let pdbName: string | null = null;
  if (expect.pdbName !== undefined) {
    pdbName = /PDBFileName: (.*)$/m.exec(before)?.[1]?.trim() ?? null;
    if (pdbName !== expect.pdbName) {
      throw new BuildError(
        `${name}: its debug directory names ${pdbName === null ? "no PDB" : pdbName}, not ${expect.pdbName}`,
        file,
      );
    }
  }
  let resourceTypes: string[] = [];
  if (expect.resources) {
    const rs = resourcesAt < 0 ? "" : r.stdout.slice(resourcesAt);
    resourceTypes = [...rs.matchAll(/^\s*Type: (.*?)\s*\[?$/gm)].map((m) => m[1]!.trim());
    if (resourceTypes.length === 0) {
      throw new BuildError(`${name} has no resources, although its project compiles a resource script`, file);
    }
  }
  return { machine, subsystem, pe, pdbName, resourceTypes };
}

// ---------------------------------------------------------------------------------------------------
// Build
// ---------------------------------------------------------------------------------------------------

function describeLinkFailure(e: unknown, p: PlannedProject, platform: BuildPlatform): Error {
  if (!(e instanceof ToolError)) return e as Error;
  const undefinedSyms = [...e.stderr.matchAll(/undefined symbol: (?:__declspec\(dllimport\) )?(\S+)/g)].map((m) =>
    m[1]!.replace(/^__imp_/, ""),
  );
  const unique = [...new Set(undefinedSyms)];
  let hint = "";
  if ((unique.includes("main") || unique.includes("wmain")) && p.kind === "application") {
    hint =
      " The open toolchain's start-up code calls main() or wmain() (console applications); WinMain and wWinMain are not supported.";
  } else if (unique.length > 0) {
    const names = p.libraries
      .filter((l) => l.provision.kind !== "provided")
      .map((l) => `${l.base}.lib`)
      .join(", ");
    hint =
      ` The ${platform} libraries linked are ${names}` +
      (p.kind === "application" ? " (the C runtime is msvcrt.dll)" : "") +
      "; their export lists are mingw-w64's import libraries and winpe-lab's (toolchains/open/support/importlibs, ARM64_EXPORTS in toolchains/open/kit.ts).";
  }
  const what = unique.length > 0 ? `undefined symbol${unique.length > 1 ? "s" : ""} ${unique.join(", ")}.` : e.message;
  return new BuildError(`link of ${p.outputName} (${p.config.file}) failed: ${what}${hint}`, p.config.file);
}

/** The compiler's error messages (each with the two lines that follow it), else its last lines. */
export function compilerErrors(stderr: string, max = 24): string {
  const lines = stderr.trim().split("\n");
  const picked: string[] = [];
  for (let i = 0; i < lines.length && picked.length < max; i++) {
    if (/\b(fatal )?error:/.test(lines[i]!)) picked.push(...lines.slice(i, i + 3));
  }
  return (picked.length > 0 ? picked.slice(0, max) : lines.slice(-12)).join("\n");
}

function compileFailure(e: unknown, file: string, project: string): Error {
  if (e instanceof ToolError)
    return new BuildError(`compiling ${file} (${project}) failed:\n${compilerErrors(e.stderr)}`, file);
  return e as Error;
}

/** Folders whose files a project's #include directives may name (for the case-insensitive overlay). */
function projectHeaderRoots(p: PlannedProject): string[] {
  const dirs = new Set<string>([p.config.projectDir]);
  for (const ps of p.sources) {
    dirs.add(path.dirname(ps.source.file));
    for (const d of ps.source.settings.additionalIncludeDirectories) dirs.add(d);
    for (const f of ps.source.settings.forcedIncludeFiles) dirs.add(path.dirname(f));
  }
  for (const d of p.config.includePath) dirs.add(d);
  for (const r of p.resources) {
    dirs.add(path.dirname(r.file));
    for (const d of r.settings.additionalIncludeDirectories) dirs.add(d);
  }
  const support = supportIncludeDirs();
  const provided = [MINGW_ROOT, support.common, support.kernel];
  return [...dirs].filter((d) => !provided.some((x) => within(path.resolve(d), x)));
}

/** Version of the link key's material (bump when the link or its post-processing changes). */
const LINK_SCHEMA = 1;

/** Files a build makes (never named by an #include): left out of the folder listings in the cache keys. */
const BUILD_PRODUCTS = /\.(obj|o|d|pdb|sys|exe|dll|lib|a|res|rcpp|pch|ilk|exp|log|tlog|idb|ipch|cat|cer|iso|wim)$/i;

type OverlayTree = OverlayRoots[number]["contents"];

/**
 * sha256 of the files below an overlay's folders (what an #include can find), without `exclude` (the output
 * folder) and build products: a header added where it would shadow another changes it.
 */
function listingDigest(roots: OverlayRoots, exclude: readonly string[]): string {
  const names: string[] = [];
  const walk = (dir: string, entries: OverlayTree) => {
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (exclude.some((x) => within(p, x))) continue;
      if (e.type === "directory") walk(p, e.contents ?? []);
      else if (!BUILD_PRODUCTS.test(e.name) && !e.name.startsWith(TEMP_PREFIX)) names.push(p);
    }
  };
  for (const r of roots) walk(r.name, r.contents);
  return sha256(names.sort().join("\n"));
}

const toolchainListingMemo = new Map<string, string>();

/** {@link listingDigest} of the toolchain's header folders (once per process). */
function toolchainListing(dirs: readonly string[]): string {
  const key = dirs.join("\0");
  let d = toolchainListingMemo.get(key);
  if (d === undefined) {
    d = listingDigest(toolchainOverlayRoots(dirs), []);
    toolchainListingMemo.set(key, d);
  }
  return d;
}

/** A name per file of a project (its base name without extension; `-1`, `-2` ... when two share one). */
function uniqueStems(files: readonly string[]): string[] {
  const stem = (f: string) => path.basename(f).replace(/\.[^.]*$/, "");
  const count = new Map<string, number>();
  for (const f of files) count.set(stem(f).toLowerCase(), (count.get(stem(f).toLowerCase()) ?? 0) + 1);
  const seen = new Map<string, number>();
  return files.map((f) => {
    const s = stem(f);
    if (count.get(s.toLowerCase()) === 1) return s;
    const n = (seen.get(s.toLowerCase()) ?? 0) + 1;
    seen.set(s.toLowerCase(), n);
    return `${s}-${n}`;
  });
}

/** The current sha256 of a file, or null when it cannot be read. */
function digestOrNull(file: string): string | null {
  try {
    return sha256File(file);
  } catch {
    return null;
  }
}

/** One translation unit of a project in this build. */
interface UnitWork {
  u: CompileUnit;
  /** The object's and the dependency file's names in the object folder. */
  obj: string;
  dep: string;
  /** `-include-pch ...` for a `Use` source. */
  pchArgv: string[];
  key: string;
  entry: CacheEntry | null;
  /** The argv the object was made with (`-ffreestanding` added for an MSVC-style main). */
  argv: string[];
  /** Compiled in this build (its object is in the object folder). */
  ready: boolean;
}

/** One resource script of a project in this build. */
interface ResourceWork {
  r: VcxResource;
  cmd: ResourceCommand;
  key: string;
  entry: CacheEntry | null;
  ready: boolean;
}

/** What a project contributes to the result. */
interface ProjectSlot {
  p: PlannedProject;
  linkKey: string;
  target: string;
  pdbTarget: string | null;
  /** Linked in this build: the files to copy into outDir. */
  linked: { tmpOut: string; tmpPdb: string | null } | null;
  /** Left as it was in outDir. */
  reused: PreviousOutput | null;
}

/**
 * Build a solution or project with the open toolchain (clang + lld-link) and put the outputs in `outDir`.
 *
 * Incremental: each translation unit and resource script is taken from the compile cache in `cacheDir` when its
 * source, the headers it included, its flags and the toolchain are what they were (build-cache.ts; no tool runs
 * to find out), and compiled otherwise; a binary is linked only when its link key (objects, resources,
 * libraries, flags, linker) differs from the one `previous` records for the file in `outDir`, or that file (or its
 * PDB) is not what was left there. A corrupt cache entry is reported (`onNotice`) and rebuilt.
 *
 * Nothing is written to `outDir` unless every project compiled, linked and passed verification; objects and
 * intermediate files live in a private temporary folder that is removed afterwards. Each output is copied in
 * atomically; a binary left as it was is not written at all.
 *
 * @param input project, configuration, platform, output folder, progress callback, what is in outDir already
 * @returns the produced binaries and program databases, the inputs hash and the inputs
 * @throws BuildError or ProjectFormatError naming the file or field; ToolError when a tool cannot start
 */
export async function buildProject(input: BuildInput): Promise<BuildResult> {
  const plan = planBuild(input);
  if (typeof input.outDir !== "string" || input.outDir.trim() === "") {
    throw new BuildError("'outDir' must be the path of the output folder");
  }
  const outDir = path.resolve(input.outDir);
  if (fs.existsSync(outDir) && !fs.statSync(outDir).isDirectory()) {
    throw new BuildError(`'outDir' ${outDir} exists and is not a folder`, outDir);
  }
  for (const dir of [path.join(MINGW_ROOT, "include", "ddk"), path.join(MINGW_ROOT, "lib")]) {
    if (!fs.existsSync(dir)) {
      throw new BuildError(`${dir} not found: install mingw-w64-x86-64-dev (npm run setup)`, dir);
    }
  }
  const resource = input.resource ?? "driver-build";
  const progress = input.onProgress ?? (() => {});
  const notice = input.onNotice ?? progress;
  const cacheDir = path.resolve(input.cacheDir ?? defaultBuildCacheDir());
  const { platform, configuration, rootDir } = plan;
  const tag = `[${platform} ${configuration}]`;
  fs.mkdirSync(cacheDir, { recursive: true });
  const tc = await toolchainInfo(resource, cacheDir);
  const stats: BuildStats = { compiled: 0, cached: 0, linked: 0, reused: 0, repaired: 0 };
  const cache = new BuildCache(cacheDir, { maxBytes: input.cacheMaxBytes, onNotice: notice });
  const previous = new Map((input.previous ?? []).map((o) => [path.resolve(o.path), o]));

  const arm64Ddk = platform === "ARM64" ? ensureArm64DdkHeaders(cacheDir) : null;
  const support = supportIncludeDirs();
  const toolchainDirs = [
    path.join(MINGW_ROOT, "include"),
    support.common,
    support.kernel,
    ...(arm64Ddk ? [arm64Ddk] : []),
  ];
  const toolchainRoots = toolchainOverlayRoots(toolchainDirs);
  const kernelInclude = systemIncludeArgv("driver", tc, arm64Ddk);
  // what decides a compile besides its argv, source and headers: the compiler, and what #include can find
  const compiler = { clang: tc.clang, binary: tc.binaries.clang, resourceDir: tc.resourceDir };
  const toolchainNames = toolchainListing(toolchainDirs);

  const work = scratchDir("build");
  try {
    const inputFiles = new Set<string>();
    const hashedProjects: unknown[] = [];
    const slots: ProjectSlot[] = [];
    inputFiles.add(plan.project);
    for (const f of [support.common, support.kernel].flatMap((d) => fs.readdirSync(d).map((n) => path.join(d, n)))) {
      // the support headers a compile includes are in its dependency file; listed here, a new one counts too
      if (fs.statSync(f).isFile()) inputFiles.add(f);
    }

    for (const [pi, p] of plan.projects.entries()) {
      inputFiles.add(p.config.file);
      const objDir = path.join(work, `${pi}-${p.config.projectName}`);
      const inObj = { resource, secrets: [] as string[], cwd: objDir };
      const projectRoots = overlayRoots(projectHeaderRoots(p));
      const listing = { project: listingDigest(projectRoots, [outDir]), toolchain: toolchainNames };
      const overlays = ["include-overlay.yaml"];

      // The object folder and the header overlay, made when the first step of the project runs (a project whose
      // steps all come from the cache and whose binary is unchanged needs neither). Compiles run in the object
      // folder with relative intermediate paths: the command line is recorded in the debug information (CodeView
      // LF_BUILDINFO), so the outputs depend neither on the temporary folder's name nor on the cache.
      let prepared = false;
      const prepare = () => {
        if (prepared) return;
        prepared = true;
        fs.mkdirSync(objDir, { recursive: true });
        // cl.exe /Yu ignores everything before the precompiled header's #include, directives too (clang's
        // -pch-through-header still runs those directives): such a source is compiled from a copy with that text
        // blanked (line numbers kept), read under the source's own name through the overlay
        for (const [ui, ps] of p.sources.entries()) {
          if (ps.pch?.mode !== "Use") continue;
          const view = pchUseView(fs.readFileSync(ps.source.file, "latin1"), ps.pch.name);
          if (view === null) continue;
          const viewFile = path.join(objDir, `${ui}-pch-view${path.extname(ps.source.file)}`);
          fs.writeFileSync(viewFile, view, "latin1");
          redirectInOverlay(projectRoots, ps.source.file, viewFile);
        }
        fs.writeFileSync(path.join(objDir, "include-overlay.yaml"), overlayText([...toolchainRoots, ...projectRoots]));
      };
      // the dependencies a tool reported, without the build's own temporary files
      const depsOf = (depFile: string) =>
        parseDepFile(fs.readFileSync(path.join(objDir, depFile), "utf8"))
          .map((d) => path.resolve(objDir, d))
          .filter((d) => !within(d, work) && !d.endsWith(".pch"));

      // Precompiled headers: one per (header, language, flags), made from the header itself and used with
      // -pch-through-header, so everything up to the header's #include is taken from it, as cl.exe /Yu does.
      // Made only when a source that uses it is compiled (its headers are in that source's cache entry).
      const pchKey = (u: CompileUnit) => sha256(stableStringify({ h: u.planned.pch?.file, argv: u.argv })).slice(0, 12);
      const pchs = new Map<string, Promise<string[]>>();
      const ensurePch = (u: CompileUnit): Promise<string[]> => {
        const pch = u.planned.pch!;
        const k = pchKey(u);
        let made = pchs.get(k);
        if (!made) {
          made = (async () => {
            prepare();
            const file = `pch-${k}.pch`;
            progress(`${tag} precompile ${path.relative(rootDir, pch.file)}`);
            const argv = u.argv.filter((a) => a !== "-c");
            const x = argv.lastIndexOf("-x");
            argv.splice(x, 2, "-x", u.language === "c" ? "c-header" : "c++-header");
            try {
              await runTool("clang", [...argv, pch.file, "-o", file, "-MD", "-MF", `${file}.d`], inObj);
            } catch (e) {
              throw compileFailure(e, pch.file, p.config.file);
            }
            return depsOf(`${file}.d`);
          })();
          pchs.set(k, made);
        }
        return made;
      };

      // Translation units: from the cache when nothing they read changed, else compiled (in parallel).
      const units = p.sources.map((ps) => compileArgv(p, ps, platform, tc, arm64Ddk, overlays));
      const stems = uniqueStems(units.map((u) => u.source.file));
      const unitWork: UnitWork[] = units.map((u, ui) => {
        const obj = `${stems[ui]}.obj`;
        const dep = `${stems[ui]}.d`;
        const pch = u.planned.pch;
        const pchArgv =
          pch?.mode === "Use"
            ? ["-include-pch", `pch-${pchKey(u)}.pch`, "-Xclang", `-pch-through-header=${pch.name}`]
            : [];
        const key = BuildCache.key({
          step: "compile",
          argv: [...u.argv, ...pchArgv, u.source.file, "-o", obj, "-MD", "-MF", dep],
          source: sha256File(u.source.file),
          compiler,
          listing,
        });
        const entry = cache.lookup(key);
        const argv = entry?.meta.freestanding === true ? withFreestanding(u.argv) : u.argv;
        return { u, obj, dep, pchArgv, key, entry, argv, ready: false };
      });
      const compileUnit = async (w: UnitWork): Promise<void> => {
        prepare();
        const { u } = w;
        const pchDeps = w.pchArgv.length > 0 ? await ensurePch(u) : [];
        progress(`${tag} compile ${path.relative(rootDir, u.source.file)}`);
        let argv = u.argv;
        const run = (a: string[]) =>
          runTool("clang", [...a, ...w.pchArgv, u.source.file, "-o", w.obj, "-MD", "-MF", w.dep], inObj);
        try {
          await run(argv);
        } catch (e) {
          // cl.exe accepts a main with other parameter types (VOID __cdecl main(ULONG argc, PCHAR argv[])), which
          // C forbids in a hosted program: compiled freestanding, main is an ordinary function
          if (!(e instanceof ToolError) || p.kind !== "application" || !MAIN_SIGNATURE_ERROR.test(e.stderr)) {
            throw compileFailure(e, u.source.file, p.config.file);
          }
          argv = withFreestanding(argv);
          progress(`${tag} compile ${path.relative(rootDir, u.source.file)} (freestanding: MSVC-style main)`);
          try {
            await run(argv);
          } catch (e2) {
            throw compileFailure(e2, u.source.file, p.config.file);
          }
        }
        const deps = [u.source.file, ...depsOf(w.dep), ...pchDeps];
        w.entry = cache.store(w.key, deps, path.join(objDir, w.obj), { freestanding: argv !== u.argv });
        w.argv = argv;
        w.ready = true;
        stats.compiled++;
      };
      // every compile finishes before a failure is reported (a running clang must not write into a folder that is
      // being removed)
      const settle = async <T>(items: T[], f: (x: T) => Promise<void>) => {
        const settled = await Promise.allSettled(items.map(f));
        const failed = settled.find((x): x is PromiseRejectedResult => x.status === "rejected");
        if (failed) throw failed.reason;
      };
      await settle(
        unitWork.filter((w) => w.entry === null),
        compileUnit,
      );
      stats.cached += unitWork.filter((w) => !w.ready).length;

      // Resources: preprocessed by clang, compiled by llvm-rc; from the cache the same way.
      const rcStems = uniqueStems(p.resources.map((r) => r.file));
      const resourceWork: ResourceWork[] = p.resources.map((r, ri) => {
        const cmd = resourceCommand(p, r, rcStems[ri]!, platform, tc, arm64Ddk, overlays);
        const key = BuildCache.key({
          step: "resource",
          cpp: cmd.cppArgv,
          rc: cmd.rcArgv,
          source: sha256File(r.file),
          compiler,
          rc_binary: tc.binaries["llvm-rc"],
          listing,
        });
        return { r, cmd, key, entry: cache.lookup(key), ready: false };
      });
      const compileRes = async (w: ResourceWork): Promise<void> => {
        prepare();
        progress(`${tag} rc ${path.relative(rootDir, w.r.file)}`);
        const deps = await runResourceCommand(p, w.r, w.cmd, objDir, resource);
        w.entry = cache.store(w.key, [w.r.file, ...deps.filter((d) => !within(d, work))], path.join(objDir, w.cmd.res));
        w.ready = true;
        stats.compiled++;
      };
      for (const w of resourceWork) if (w.entry === null) await compileRes(w);
      stats.cached += resourceWork.filter((w) => !w.ready).length;

      for (const w of [...unitWork, ...resourceWork]) for (const d of w.entry!.deps) inputFiles.add(d.path);
      const hashedUnits = unitWork.map((w) => ({
        source: hashPath(w.u.source.file, rootDir, cacheDir),
        argv: hashArgv([...w.argv, ...w.pchArgv, "-o", w.obj], rootDir, cacheDir),
        pch: w.u.planned.pch
          ? {
              name: w.u.planned.pch.name,
              mode: w.u.planned.pch.mode,
              file: hashPath(w.u.planned.pch.file, rootDir, cacheDir),
            }
          : null,
      }));
      const hashedResources = resourceWork.map((w) => ({
        source: hashPath(w.r.file, rootDir, cacheDir),
        cpp: hashArgv(w.cmd.cppArgv, rootDir, cacheDir),
        rc: hashArgv(w.cmd.rcArgv, rootDir, cacheDir),
      }));

      const { libs, inputs: libInputs } = await projectLibraries(p, platform, {
        cacheDir,
        tc,
        resource,
        progress: (l) => progress(`${tag} ${l}`),
        kernelInclude,
        onNotice: notice,
      });
      for (const l of [...libs, ...libInputs]) inputFiles.add(l);

      // Link: only when what the binary is made of differs from what made the file in outDir.
      const tmpOut = path.join(objDir, p.outputName);
      const tmpPdb = p.pdbName ? path.join(objDir, p.pdbName) : null;
      const rel = (f: string) => path.relative(work, f);
      const linkInputs = [
        ...unitWork.map((w) => path.join(objDir, w.obj)),
        ...resourceWork.map((w) => path.join(objDir, w.cmd.res)),
      ];
      const largv = linkArgv(p, platform, linkInputs.map(rel), libs, rel(tmpOut), tmpPdb ? rel(tmpPdb) : null);
      const linkKeyOf = (digests: string[]) =>
        sha256(
          stableStringify({
            schema: LINK_SCHEMA,
            lld: { version: tc.lld, binary: tc.binaries["lld-link"] },
            argv: largv,
            inputs: digests,
            libraries: libs.map((l) => sha256File(l)),
            checksum: p.kind === "driver" || p.linker.checksum,
            verify: { kind: p.kind, platform, pdb: p.pdbName, resources: p.resources.length > 0 },
          }),
        );
      let linkKey = linkKeyOf([...unitWork, ...resourceWork].map((w) => w.entry!.sha256));
      const target = path.join(outDir, p.outputDir, p.outputName);
      const pdbTarget = p.pdbName ? path.join(outDir, p.outputDir, p.pdbName) : null;
      const prev = previous.get(target);
      const unchanged =
        prev !== undefined &&
        prev.linkKey === linkKey &&
        digestOrNull(target) === prev.sha256 &&
        (pdbTarget === null
          ? prev.pdb === null
          : prev.pdb !== null &&
            path.resolve(prev.pdb.path) === pdbTarget &&
            digestOrNull(pdbTarget) === prev.pdb.sha256);
      if (unchanged) {
        progress(`${tag} ${p.outputPath}: unchanged`);
        stats.reused++;
        slots.push({ p, linkKey, target, pdbTarget, linked: null, reused: prev });
      } else {
        prepare();
        // the cached objects and resources into the object folder, each checked against its recorded digest; a
        // corrupt or missing one is compiled again
        await settle(
          unitWork.filter((w) => !w.ready),
          async (w) => {
            if (cache.restore(w.entry!, path.join(objDir, w.obj)) === "restored") return;
            stats.repaired++;
            stats.cached--;
            await compileUnit(w);
          },
        );
        for (const w of resourceWork.filter((x) => !x.ready)) {
          if (cache.restore(w.entry!, path.join(objDir, w.cmd.res)) === "restored") continue;
          stats.repaired++;
          stats.cached--;
          await compileRes(w);
        }
        linkKey = linkKeyOf(linkInputs.map((f) => sha256File(f)));
        progress(`${tag} link ${p.outputName}`);
        try {
          await runTool("lld-link", largv, { resource, secrets: [], cwd: work });
        } catch (e) {
          throw describeLinkFailure(e, p, platform);
        }
        if (p.kind === "driver" || p.linker.checksum) writePeChecksum(tmpOut);
        progress(`${tag} verify ${p.outputName}`);
        await verifyBuiltFile(tmpOut, {
          kind: p.kind,
          platform,
          resource,
          pdbName: p.pdbName ?? undefined,
          resources: p.resources.length > 0,
        });
        stats.linked++;
        slots.push({ p, linkKey, target, pdbTarget, linked: { tmpOut, tmpPdb }, reused: null });
      }
      hashedProjects.push({
        project: hashPath(p.config.file, rootDir, cacheDir),
        output: p.outputPath,
        pdb: p.pdbName,
        kind: p.kind,
        units: hashedUnits,
        resources: hashedResources,
        link: {
          switches: linkArgv(p, platform, [], [], "OUT", p.pdbName ? "PDB" : null).filter(
            (a) => a !== "/out:OUT" && a !== "/pdb:PDB",
          ),
          libraries: libs.map((l) => hashPath(l, rootDir, cacheDir)),
        },
      });
    }

    const inputs: BuildInputFile[] = [...inputFiles].sort().map((f) => ({ path: f, sha256: sha256File(f) }));
    // the next diff (another process) takes an input with the same identity as unchanged without reading it
    vouchFor(inputVouchersDir(cacheDir), inputs);
    const inputsHash = sha256(
      stableStringify({
        schema: 3,
        toolchain: { clang: tc.clang, lld: tc.lld },
        configuration,
        platform,
        arm64Patch: arm64Ddk ? ARM64_PATCH_VERSION : null,
        projects: hashedProjects,
        files: inputs
          .map((i) => ({ path: hashPath(i.path, rootDir, cacheDir), sha256: i.sha256 }))
          .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
      }),
    );

    // Everything built and verified: now (and only now) write to outDir, the binaries that were linked only.
    const written = slots.filter((s) => s.linked !== null);
    const targets = written.flatMap((s) => [s.target, ...(s.pdbTarget ? [s.pdbTarget] : [])]);
    await input.beforeWrite?.(targets);
    if (written.length > 0) fs.mkdirSync(outDir, { recursive: true });
    for (const s of written) fs.mkdirSync(path.dirname(s.target), { recursive: true });
    const outputs: BuiltFile[] = [];
    const symbols: BuiltSymbols[] = [];
    for (const s of slots) {
      const { p, target, pdbTarget, linkKey } = s;
      if (s.linked?.tmpPdb && pdbTarget) copyFileAtomic(s.linked.tmpPdb, pdbTarget);
      if (s.linked) copyFileAtomic(s.linked.tmpOut, target);
      if (pdbTarget) {
        symbols.push({
          path: pdbTarget,
          size: fs.statSync(pdbTarget).size,
          sha256: s.reused?.pdb?.sha256 ?? sha256File(pdbTarget),
          binary: target,
          project: p.config.file,
        });
      }
      const pe = readPeHeaders(target);
      outputs.push({
        path: target,
        size: fs.statSync(target).size,
        sha256: s.reused?.sha256 ?? sha256File(target),
        machine: pe.machine,
        subsystem: pe.subsystem,
        kind: p.kind,
        project: p.config.file,
        pdb: pdbTarget,
        linkKey,
        reused: s.reused !== null,
      });
    }
    if (cache.storedAny) {
      const removed = cache.prune();
      if (removed.length > 0) progress(`build cache: removed ${removed.length} least recently used or stale file(s)`);
    }
    return { outputs, symbols, inputsHash, inputs, toolchainVersion: tc.clang, stats };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** A compile's argv with `-ffreestanding` before the trailing `-x <language>`. */
function withFreestanding(argv: readonly string[]): string[] {
  return [...argv.slice(0, -2), "-ffreestanding", ...argv.slice(-2)];
}

/** How a path in the object folder is written in a resource command's key (its folder is temporary). */
const OBJ_DIR = "<obj>";

/** The commands that compile one resource script (see {@link runResourceCommand}). */
interface ResourceCommand {
  /** A UTF-16 script is converted to UTF-8 into this file of the object folder first (clang reads UTF-8). */
  utf8Copy: string | null;
  /** `clang -E ...`, run in the object folder. */
  cppArgv: string[];
  /** `llvm-rc ...`, run in the script's folder; paths in the object folder start with `<obj>/`. */
  rcArgv: string[];
  /** Names in the object folder. */
  pre: string;
  res: string;
  dep: string;
  /** Folders llvm-rc finds files the script names in (icons, RCDATA files). */
  searchDirs: string[];
}

/**
 * The commands that compile one resource script: preprocess with clang (the project's defines and include folders,
 * RC_INVOKED, the compile's system headers, so mingw-w64's ntverp.h and common.ver are found), then
 * `llvm-rc -no-preprocess` in the script's folder (files it names, such as icons, are found there as rc.exe finds
 * them). No tool runs here.
 */
function resourceCommand(
  p: PlannedProject,
  r: VcxResource,
  stem: string,
  platform: BuildPlatform,
  tc: ToolchainInfo,
  arm64Ddk: string | null,
  overlays: readonly string[],
): ResourceCommand {
  const pre = `${stem}.rcpp`;
  const dep = `${stem}.rc.d`;
  const res = `${stem}.res`;
  // rc.exe reads UTF-16 scripts (with a byte-order mark) and UTF-8 ones; clang reads UTF-8
  const raw = fs.readFileSync(r.file);
  let utf8Copy: string | null = null;
  let codepage = "1252";
  if (raw.length >= 2 && ((raw[0] === 0xff && raw[1] === 0xfe) || (raw[0] === 0xfe && raw[1] === 0xff))) {
    utf8Copy = `${stem}.utf8.rc`;
    codepage = "65001";
  } else if (raw.length >= 3 && raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf) {
    codepage = "65001";
  }
  const v = versionDefines(p.config);
  const defines = [
    "RC_INVOKED",
    ...ARCH[platform].defines,
    `_WIN32_WINNT=${v.winnt}`,
    `WINVER=${v.winnt}`,
    `NTDDI_VERSION=${v.ntddi}`,
  ];
  if (p.kind === "driver" && p.config.useDebugLibraries) defines.push("DBG=1");
  if (p.kind === "application") {
    const cs = p.config.characterSet.toLowerCase();
    if (cs === "unicode") defines.push("UNICODE", "_UNICODE");
  }
  const cppArgv = [`--target=${ARCH[platform].triple}`, "-E", "-nostdinc"];
  cppArgv.push("-I", path.dirname(r.file));
  for (const d of projectIncludeDirs(r.settings.additionalIncludeDirectories)) cppArgv.push("-I", d);
  if (!r.settings.ignoreStandardIncludePath) cppArgv.push(...systemIncludeArgv(p.kind, tc, arm64Ddk));
  for (const o of overlays) cppArgv.push("-ivfsoverlay", o);
  cppArgv.push("-fms-extensions", "-fms-compatibility", "-fgnuc-version=4.2.1");
  for (const d of defines) cppArgv.push(`-D${d}`);
  for (const d of r.settings.preprocessorDefinitions) cppArgv.push(`-D${d}`);
  for (const u of r.settings.undefinePreprocessorDefinitions) cppArgv.push(`-U${u}`);
  cppArgv.push("-x", "c", utf8Copy ?? r.file, "-o", pre, "-MD", "-MF", dep);
  const rcArgv = ["-no-preprocess", "/C", codepage];
  const culture = r.settings.culture.trim();
  if (culture !== "") {
    if (!/^(0x[0-9a-f]{1,4}|\d+)$/i.test(culture)) {
      throw new ProjectFormatError(
        `${p.config.file}:${r.line}: ResourceCompile Culture '${culture}' is not a language identifier (0x0409)`,
        p.config.file,
        r.line,
        "Culture",
      );
    }
    rcArgv.push("/L", `0x${Number(culture).toString(16)}`);
  }
  if (r.settings.nullTerminateStrings) rcArgv.push("/N");
  const searchDirs = [path.dirname(r.file), ...projectIncludeDirs(r.settings.additionalIncludeDirectories)];
  rcArgv.push(...searchDirs.flatMap((d) => ["/I", d]), "/FO", `${OBJ_DIR}/${res}`, `${OBJ_DIR}/${pre}`);
  return { utf8Copy, cppArgv, rcArgv, pre, res, dep, searchDirs };
}

/**
 * Files a preprocessed resource script names (icons, bitmaps, RCDATA and other files of user-defined types, in
 * quotes or bare), as llvm-rc finds them: in the script's folder, then the include folders. Any string that names
 * an existing file counts (a build that depends on one file too many is only rebuilt once too often).
 */
export function resourceFileReferences(preprocessed: string, searchDirs: readonly string[]): string[] {
  const out = new Set<string>();
  for (const line of preprocessed.split(/\r?\n/)) {
    if (/^\s*#/.test(line) || line.trim() === "") continue;
    const quoted = [...line.matchAll(/"((?:[^"\\]|\\.|"")*)"/g)].map((m) => m[1]!.replace(/\\\\/g, "\\"));
    const bare = line
      .replace(/"(?:[^"\\]|\\.|"")*"/g, " ")
      .split(/[\s,]+/)
      .filter((t) => /^[^\d\s][^\s]*\.[A-Za-z0-9]{1,8}$/.test(t));
    for (const c of [...quoted, ...bare]) {
      if (c.length === 0 || c.length > 260 || /[\0\n]/.test(c)) continue;
      const rel = toPosixPath(c);
      for (const d of searchDirs) {
        const f = resolveCaseInsensitive(path.resolve(d, rel));
        try {
          if (fs.statSync(f).isFile()) {
            out.add(f);
            break;
          }
        } catch {
          // not there: next folder
        }
      }
    }
  }
  return [...out].sort();
}

/**
 * Run a {@link ResourceCommand} in `objDir`. Returns what the script read: every file the preprocessor included
 * and every file it names.
 */
async function runResourceCommand(
  p: PlannedProject,
  r: VcxResource,
  cmd: ResourceCommand,
  objDir: string,
  resource: string,
): Promise<string[]> {
  if (cmd.utf8Copy) fs.writeFileSync(path.join(objDir, cmd.utf8Copy), decodeText(fs.readFileSync(r.file)));
  try {
    await runTool("clang", cmd.cppArgv, { resource, secrets: [], cwd: objDir });
  } catch (e) {
    throw compileFailure(e, r.file, p.config.file);
  }
  const rcArgv = cmd.rcArgv.map((a) =>
    a.startsWith(`${OBJ_DIR}/`) ? path.join(objDir, a.slice(OBJ_DIR.length + 1)) : a,
  );
  try {
    await runTool("llvm-rc", rcArgv, { resource, secrets: [], cwd: path.dirname(r.file) });
  } catch (e) {
    if (e instanceof ToolError) {
      throw new BuildError(
        `compiling the resource script ${r.file} (${p.config.file}) failed:\n${compilerErrors(e.stderr)}`,
        r.file,
      );
    }
    throw e;
  }
  const deps = parseDepFile(fs.readFileSync(path.join(objDir, cmd.dep), "utf8")).map((d) => path.resolve(objDir, d));
  const named = resourceFileReferences(fs.readFileSync(path.join(objDir, cmd.pre), "utf8"), cmd.searchDirs);
  return [...deps, ...named];
}
