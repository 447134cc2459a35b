/**
 * `winpe build <.sln|.vcxproj> --configuration <Debug|Release> --platform <x64|ARM64> --out <dir> [--cache <dir>]`:
 * build a Visual Studio solution or project with the open toolchain (clang + lld-link) and print each produced
 * file (binaries, then program databases) with its sha256 (`<sha256>  <path>`, as sha256sum prints). Progress
 * goes to stderr.
 *
 * `winpe build --survey <folder> [--configuration <Debug|Release>] [--platform <x64|ARM64>] [--out <dir>]
 * [--cache <dir>]`: build every solution under the folder, each project on its own, for x64 and ARM64 (or the one
 * platform given), and print one line per project and platform: `built (outputs)` or `refused (reason)`.
 */
import { type BuildConfiguration, type BuildPlatform, buildProject } from "../toolchains/open/build";
import { formatSurveyEntry, surveyFolder } from "../toolchains/open/survey";

const USAGE = [
  "usage: winpe build <.sln|.vcxproj> --configuration <Debug|Release> --platform <x64|ARM64> --out <dir> [--cache <dir>]",
  "       winpe build --survey <folder> [--configuration <Debug|Release>] [--platform <x64|ARM64>] [--out <dir>] [--cache <dir>]",
].join("\n");

/** Run the subcommand; returns the exit code (0 ok, 1 failed, 2 bad usage). */
export async function run(args: string[]): Promise<number> {
  const positional: string[] = [];
  const options: Record<string, string> = {};
  const known = new Set(["--configuration", "--platform", "--out", "--cache", "--survey"]);
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const eq = a.indexOf("=");
    const [flag, inline] = a.startsWith("--") && eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
    if (flag === "--help" || flag === "-h") {
      console.log(USAGE);
      return 0;
    }
    if (known.has(flag)) {
      const value = inline ?? args[++i];
      if (value === undefined || value === "") {
        console.error(`winpe build: ${flag} needs a value\n${USAGE}`);
        return 2;
      }
      if (options[flag] !== undefined) {
        console.error(`winpe build: ${flag} given twice\n${USAGE}`);
        return 2;
      }
      options[flag] = value;
    } else if (a.startsWith("-") && a.length > 1) {
      console.error(`winpe build: unknown option '${a}'\n${USAGE}`);
      return 2;
    } else {
      positional.push(a);
    }
  }
  if (options["--survey"] !== undefined) return survey(positional, options);
  if (positional.length !== 1) {
    console.error(`winpe build: expected one .sln or .vcxproj\n${USAGE}`);
    return 2;
  }
  for (const required of ["--configuration", "--platform", "--out"]) {
    if (options[required] === undefined) {
      console.error(`winpe build: ${required} is required\n${USAGE}`);
      return 2;
    }
  }
  const started = Date.now();
  try {
    const r = await buildProject({
      project: positional[0]!,
      configuration: options["--configuration"] as BuildConfiguration,
      platform: options["--platform"] as BuildPlatform,
      outDir: options["--out"]!,
      cacheDir: options["--cache"],
      resource: "winpe build",
      onProgress: (line) => console.error(line),
    });
    for (const o of r.outputs) console.log(`${o.sha256}  ${o.path}`);
    for (const s of r.symbols) console.log(`${s.sha256}  ${s.path}`);
    console.error(
      `build: ${r.outputs.length} file(s) and ${r.symbols.length} PDB(s) in ${((Date.now() - started) / 1000).toFixed(1)} s with ${r.toolchainVersion}; inputs ${r.inputsHash.slice(0, 16)} (${r.inputs.length} files); ${r.stats.compiled} compiled, ${r.stats.cached} from the cache, ${r.stats.linked} linked`,
    );
    return 0;
  } catch (e) {
    console.error(`winpe build: ${(e as Error).message}`);
    return 1;
  }
}

async function survey(positional: string[], options: Record<string, string>): Promise<number> {
  if (positional.length > 0) {
    console.error(`winpe build: --survey takes a folder, not '${positional[0]}'\n${USAGE}`);
    return 2;
  }
  const configuration = (options["--configuration"] ?? "Debug").toLowerCase();
  if (configuration !== "debug" && configuration !== "release") {
    console.error(`winpe build: --configuration must be Debug or Release (got ${options["--configuration"]})`);
    return 2;
  }
  const platform = options["--platform"]?.toLowerCase();
  if (platform !== undefined && platform !== "x64" && platform !== "arm64") {
    console.error(`winpe build: --platform must be x64 or ARM64 (got ${options["--platform"]})`);
    return 2;
  }
  const started = Date.now();
  const entries = await surveyFolder({
    folder: options["--survey"]!,
    configuration: configuration === "debug" ? "Debug" : "Release",
    platforms: platform === undefined ? ["x64", "ARM64"] : [platform === "x64" ? "x64" : "ARM64"],
    outDir: options["--out"],
    cacheDir: options["--cache"],
    onEntry: (e) => console.log(formatSurveyEntry(e)),
  });
  const count = (s: string) => entries.filter((e) => e.status === s).length;
  console.error(
    `survey: ${count("built")} built, ${count("refused")} refused, ${count("skipped")} skipped in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  return 0;
}
