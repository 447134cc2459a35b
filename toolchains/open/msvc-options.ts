/**
 * What Visual C++ settings mean for the open toolchain (clang + lld-link): the warning level and warnings-as-errors
 * of a project, the compiler and linker options written in `AdditionalOptions`. Pure functions (no tools run);
 * an option that cannot be honoured is a {@link ProjectFormatError} naming the option, the file and the line.
 *
 * Warnings: clang reports its own warnings, some of which MSVC does not have or reports differently. The project's
 * `WarningLevel` decides which clang warnings are shown (as warnings); `TreatWarningAsError` turns into errors only
 * the clang warnings listed in {@link MSVC_WARNINGS} as `errorSafe`: those whose clang trigger is no broader than
 * the MSVC warning of the same meaning at that level, so a project that builds warning-free with MSVC is not failed
 * by a clang-only warning. Warnings disabled by the project (`DisableSpecificWarnings`, `/wd`, and
 * `#pragma warning(disable: N)` found in its sources and headers) are not made errors either.
 */
import * as path from "node:path";
import { ProjectFormatError, toPosixPath } from "../../formats/vcxproj";

/** One MSVC warning the open toolchain maps to a clang warning flag. */
export interface MsvcWarning {
  /** clang's `-W` name. */
  clang: string;
  /** MSVC warning level that enables it (1-4). */
  level: number;
  /** Safe to make an error under TreatWarningAsError: clang's warning fires in no case MSVC's does not. */
  errorSafe: boolean;
}

/** MSVC warning number -> clang warning. */
export const MSVC_WARNINGS: Readonly<Record<number, MsvcWarning>> = {
  4013: { clang: "implicit-function-declaration", level: 3, errorSafe: true },
  4047: { clang: "int-conversion", level: 1, errorSafe: true },
  4715: { clang: "return-type", level: 1, errorSafe: true },
  4700: { clang: "uninitialized", level: 1, errorSafe: true },
  4100: { clang: "unused-parameter", level: 4, errorSafe: true },
  4101: { clang: "unused-variable", level: 3, errorSafe: false },
  4189: { clang: "unused-but-set-variable", level: 4, errorSafe: false },
  4505: { clang: "unused-function", level: 4, errorSafe: false },
  4133: { clang: "incompatible-pointer-types", level: 3, errorSafe: false },
  4024: { clang: "incompatible-pointer-types", level: 1, errorSafe: false },
  4090: { clang: "incompatible-pointer-types-discards-qualifiers", level: 1, errorSafe: false },
  4057: { clang: "pointer-sign", level: 4, errorSafe: false },
  4018: { clang: "sign-compare", level: 3, errorSafe: false },
  4389: { clang: "sign-compare", level: 4, errorSafe: false },
  4701: { clang: "sometimes-uninitialized", level: 4, errorSafe: false },
  4706: { clang: "parentheses", level: 4, errorSafe: false },
  4005: { clang: "macro-redefined", level: 1, errorSafe: false },
  4996: { clang: "deprecated-declarations", level: 3, errorSafe: false },
  4477: { clang: "format", level: 1, errorSafe: false },
  4552: { clang: "unused-value", level: 1, errorSafe: false },
  4555: { clang: "unused-value", level: 1, errorSafe: false },
  4293: { clang: "shift-count-overflow", level: 1, errorSafe: false },
  4717: { clang: "infinite-recursion", level: 1, errorSafe: false },
  4172: { clang: "return-stack-address", level: 1, errorSafe: false },
  4311: { clang: "pointer-to-int-cast", level: 1, errorSafe: false },
  4312: { clang: "int-to-pointer-cast", level: 1, errorSafe: false },
  4390: { clang: "empty-body", level: 3, errorSafe: false },
  4068: { clang: "unknown-pragmas", level: 1, errorSafe: false },
};

/** The warning settings of one compile. */
export interface WarningSettings {
  /** `TurnOffAllWarnings`, `Level1`..`Level4`, `EnableAllWarnings` or "" (cl.exe's default, /W1). */
  warningLevel: string;
  treatWarningAsError: boolean;
  disableSpecificWarnings: number[];
  treatSpecificWarningsAsErrors: number[];
}

/** `Level3` -> 3; TurnOffAllWarnings 0; EnableAllWarnings 5; "" 1 (cl.exe's default). */
export function warningLevelNumber(level: string): number {
  const l = level.trim().toLowerCase();
  if (l === "" || l === "level1") return 1;
  if (l === "turnoffallwarnings") return 0;
  if (l === "enableallwarnings") return 5;
  const m = /^level([0-4])$/.exec(l);
  if (m) return Number(m[1]);
  return -1;
}

/**
 * clang warning flags for a compile.
 *
 * @param w the project's warning settings
 * @param disabledElsewhere MSVC warning numbers the sources disable with `#pragma warning(disable: N)`
 */
export function warningArgv(w: WarningSettings, disabledElsewhere: ReadonlySet<number> = new Set()): string[] {
  const level = warningLevelNumber(w.warningLevel);
  // clang knows MSVC's pragmas only partly (alloc_text, prefast, ...): an "unknown pragma" is clang's, not the project's
  const argv: string[] = ["-Wno-unknown-pragmas"];
  if (level === 0) return ["-w"];
  if (level >= 3) argv.push("-Wall");
  if (level >= 4) argv.push("-Wextra");
  const disabled = new Set<number>([...w.disableSpecificWarnings, ...disabledElsewhere]);
  for (const n of [...disabled].sort((a, b) => a - b)) {
    const m = MSVC_WARNINGS[n];
    if (m && n !== 4013) argv.push(`-Wno-${m.clang}`);
  }
  const errors = new Set<string>();
  if (w.treatWarningAsError) {
    for (const [n, m] of Object.entries(MSVC_WARNINGS)) {
      if (m.errorSafe && m.level <= Math.min(level, 4) && !disabled.has(Number(n))) errors.add(m.clang);
    }
  }
  for (const n of w.treatSpecificWarningsAsErrors) {
    const m = MSVC_WARNINGS[n];
    if (m) errors.add(m.clang);
  }
  for (const e of [...errors].sort()) argv.push(`-Werror=${e}`);
  return argv;
}

/**
 * MSVC warning numbers disabled by `#pragma warning(disable: N ...)` or `#pragma warning(N: disable)`-style
 * `disable` lists in a source or header text.
 */
export function pragmaDisabledWarnings(text: string): number[] {
  const out = new Set<number>();
  for (const m of text.matchAll(/#\s*pragma\s+warning\s*\(([^)]*)\)/g)) {
    for (const part of m[1]!.split(";")) {
      const d = /^\s*disable\s*:\s*([\d\s]+)$/.exec(part);
      if (d) for (const n of d[1]!.trim().split(/\s+/)) out.add(Number(n));
    }
  }
  return [...out].filter((n) => Number.isInteger(n)).sort((a, b) => a - b);
}

/** Split an MSVC command-line fragment into options (whitespace-separated, double quotes group). */
export function splitOptions(text: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  let any = false;
  for (const c of text) {
    if (c === '"') {
      quoted = !quoted;
      any = true;
    } else if (!quoted && /\s/.test(c)) {
      if (any) out.push(cur);
      cur = "";
      any = false;
    } else {
      cur += c;
      any = true;
    }
  }
  if (any) out.push(cur);
  return out;
}

function unsupported(where: { file: string; line?: number }, what: string, option: string, hint: string): never {
  const at = where.line !== undefined ? `${where.file}:${where.line}` : where.file;
  throw new ProjectFormatError(
    `${at}: ${what} option '${option}' is not supported by the open toolchain${hint ? ` (${hint})` : ""}; remove it or build with the adk toolchain`,
    where.file,
    where.line,
    option,
  );
}

/** What {@link mapLinkerOptions} returns. */
export interface LinkerOptions {
  /** lld-link arguments. */
  argv: string[];
  /** `/RELEASE`: write the image checksum (lld-link has no such option; the build writes it). */
  checksum: boolean;
}

/** Linker options whose lld-link spelling is the same (lower-cased name -> takes a value). */
const LLD_PASSTHROUGH: Record<string, "none" | "value" | "optional"> = {
  largeaddressaware: "optional",
  integritycheck: "none",
  merge: "value",
  section: "value",
  stack: "value",
  heap: "value",
  opt: "value",
  nxcompat: "optional",
  dynamicbase: "optional",
  highentropyva: "optional",
  cetcompat: "optional",
  guard: "value",
  force: "optional",
  functionpadmin: "optional",
  fixed: "optional",
  swaprun: "value",
  version: "value",
  osversion: "value",
  wx: "optional",
  align: "value",
  filealign: "value",
};

/** Linker options that do not change the produced files (lower-cased name). */
const LINK_IGNORED = new Set([
  "ignore", // silences link.exe warnings only
  "verbose",
  "nologo",
  "map", // a .map listing is not produced by the open toolchain
  "mapinfo",
  "nodefaultlib", // the open toolchain links no default libraries anyway
  "brepro",
  "pdbaltpath",
  "incremental",
  "errorreport",
  "time",
  "ltcg",
  "manifest",
  "manifestuac",
  "allowisolation",
  "tsaware",
  "debugtype",
]);

/**
 * Map `Link/AdditionalOptions` to lld-link arguments.
 *
 * @param text the option text as evaluated (`%(AdditionalOptions)` removed)
 * @param where the project file and the line of the setting, for errors
 * @throws ProjectFormatError naming the option, file and line for an option the open toolchain cannot honour
 */
export function mapLinkerOptions(text: string, where: { file: string; line?: number }): LinkerOptions {
  const argv: string[] = [];
  let checksum = false;
  for (const opt of splitOptions(text)) {
    if (!/^[/-]/.test(opt)) unsupported(where, "linker", opt, "an input file in AdditionalOptions");
    const body = opt.slice(1);
    const colon = body.indexOf(":");
    const name = (colon < 0 ? body : body.slice(0, colon)).toLowerCase();
    const value = colon < 0 ? undefined : body.slice(colon + 1);
    if (name === "release") {
      checksum = true;
      continue;
    }
    if (LINK_IGNORED.has(name)) continue;
    const kind = LLD_PASSTHROUGH[name];
    if (kind === undefined) unsupported(where, "linker", opt, "");
    if (kind === "none" && value !== undefined) unsupported(where, "linker", opt, "it takes no value");
    if (kind === "value" && (value === undefined || value === ""))
      unsupported(where, "linker", opt, "it needs a value");
    argv.push(value === undefined ? `/${name}` : `/${name}:${value}`);
  }
  return { argv, checksum };
}

/** What {@link mapCompilerOptions} returns: clang arguments and the settings the options change. */
export interface CompilerOptions {
  argv: string[];
  /** Options that change the warning settings (`/W4`, `/WX`, `/wd4100`, ...), already applied to a copy. */
  warnings: WarningSettings;
  /** `/Od`, `/O1`, `/O2`, `/Ox`: the optimization the options ask for, or null. */
  optimization: string | null;
  /** `/MT`, `/MTd`, `/MD`, `/MDd`: the runtime library, or null. */
  runtimeLibrary: string | null;
}

const CL_IGNORED = [
  /^nologo$/i,
  /^gs-?$/i,
  /^gy-?$/i,
  /^gw-?$/i,
  /^gf-?$/i,
  /^gm-?$/i,
  /^g[dzrv]$/i,
  /^ob[0-3]$/i,
  /^oi-?$/i,
  /^o[sty]-?$/i,
  /^z[i7]$/i,
  /^zc:.+$/i,
  /^kernel-?$/i,
  /^eh[sca-]+$/i,
  /^qspectre(-load|-load-cf)?-?$/i,
  /^guard:.+$/i,
  /^permissive-?$/i,
  /^bigobj$/i,
  /^mp\d*$/i,
  /^fs$/i,
  /^utf-8$/i,
  /^(source|execution)-charset:utf-8$/i,
  /^validate-charset-?$/i,
  /^diagnostics:.+$/i,
  /^sdl-?$/i,
  /^analyze.*$/i,
  /^external:.+$/i,
  /^wv(:.*)?$/i,
  /^fp:(precise|fast|strict|except-?)$/i,
  /^arch:.+$/i,
  /^volatile:(iso|ms)$/i,
];

/**
 * Map `ClCompile/AdditionalOptions` to clang arguments.
 *
 * @param text the option text as evaluated (`%(AdditionalOptions)` removed)
 * @param where the project file and line, for errors; `projectDir` resolves relative `/I` folders
 * @param warnings the item's warning settings (a changed copy is returned)
 * @throws ProjectFormatError naming the option, file and line for an option the open toolchain cannot honour
 */
export function mapCompilerOptions(
  text: string,
  where: { file: string; line?: number; projectDir: string },
  warnings: WarningSettings,
): CompilerOptions {
  const argv: string[] = [];
  const w: WarningSettings = {
    ...warnings,
    disableSpecificWarnings: [...warnings.disableSpecificWarnings],
    treatSpecificWarningsAsErrors: [...warnings.treatSpecificWarningsAsErrors],
  };
  let optimization: string | null = null;
  let runtimeLibrary: string | null = null;
  const opts = splitOptions(text);
  for (let i = 0; i < opts.length; i++) {
    const opt = opts[i]!;
    if (!/^[/-]/.test(opt)) unsupported(where, "compiler", opt, "an input file in AdditionalOptions");
    const body = opt.slice(1);
    const withValue = (prefix: string): string | null => {
      if (!body.startsWith(prefix)) return null;
      const v = body.slice(prefix.length);
      if (v !== "") return v;
      const next = opts[i + 1];
      if (next === undefined) unsupported(where, "compiler", opt, "it needs a value");
      i++;
      return next!;
    };
    const valued = (["D", "U", "FI", "I"] as const).find((prefix) => body.startsWith(prefix));
    if (valued !== undefined) {
      const v = withValue(valued)!;
      if (valued === "D") argv.push(`-D${v}`);
      else if (valued === "U") argv.push(`-U${v}`);
      else if (valued === "FI") argv.push("-include", path.resolve(where.projectDir, toPosixPath(v)));
      else argv.push("-I", path.resolve(where.projectDir, toPosixPath(v)));
      continue;
    }
    if (/^W[0-4]$/.test(body)) w.warningLevel = body === "W0" ? "TurnOffAllWarnings" : `Level${body[1]}`;
    else if (body === "Wall") w.warningLevel = "EnableAllWarnings";
    else if (body === "WX") w.treatWarningAsError = true;
    else if (body === "WX-") w.treatWarningAsError = false;
    else if (/^wd\d+$/.test(body)) w.disableSpecificWarnings.push(Number(body.slice(2)));
    else if (/^we\d+$/.test(body)) w.treatSpecificWarningsAsErrors.push(Number(body.slice(2)));
    else if (/^w[o1-4]\d+$/.test(body)) {
      // /wo (report once) and /wL (set the level of one warning): shown as a warning, never an error
    } else if (/^O[12dx]$/.test(body))
      optimization = { O1: "MinSpace", O2: "MaxSpeed", Od: "Disabled", Ox: "Full" }[body]!;
    else if (/^M[TD]d?$/.test(body))
      runtimeLibrary = {
        MT: "MultiThreaded",
        MTd: "MultiThreadedDebug",
        MD: "MultiThreadedDLL",
        MDd: "MultiThreadedDebugDLL",
      }[body]!;
    else if (body === "J") argv.push("-funsigned-char");
    else if (/^std:(c\+\+(14|17|20|latest)|c(11|17))$/i.test(body)) {
      const std = body.slice(4).toLowerCase();
      argv.push(`-std=${std === "c++latest" ? "c++2b" : std}`);
    } else if (CL_IGNORED.some((re) => re.test(body))) {
      // code generation, diagnostics and mitigation switches that do not change what the program does
    } else unsupported(where, "compiler", opt, "");
  }
  return { argv, warnings: w, optimization, runtimeLibrary };
}
