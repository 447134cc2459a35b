/**
 * `winpe build <.sln|.vcxproj> --configuration <Debug|Release> --platform <x64|ARM64> --out <dir> [--cache <dir>]`:
 * build a Visual Studio solution or project with the open toolchain (clang + lld-link) and print each produced
 * file with its sha256 (`<sha256>  <path>`, as sha256sum prints). Progress goes to stderr.
 */
import { buildProject } from "../toolchains/open/build";

const USAGE =
  "usage: winpe build <.sln|.vcxproj> --configuration <Debug|Release> --platform <x64|ARM64> --out <dir> [--cache <dir>]";

/** Run the subcommand; returns the exit code (0 ok, 1 failed, 2 bad usage). */
export async function run(args: string[]): Promise<number> {
  const positional: string[] = [];
  const options: Record<string, string> = {};
  const known = new Set(["--configuration", "--platform", "--out", "--cache"]);
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
      configuration: options["--configuration"] as "Debug",
      platform: options["--platform"] as "x64",
      outDir: options["--out"]!,
      cacheDir: options["--cache"],
      resource: "winpe build",
      onProgress: (line) => console.error(line),
    });
    for (const o of r.outputs) console.log(`${o.sha256}  ${o.path}`);
    console.error(
      `build: ${r.outputs.length} file(s) in ${((Date.now() - started) / 1000).toFixed(1)} s with ${r.toolchainVersion}; inputs ${r.inputsHash.slice(0, 16)} (${r.inputs.length} files)`,
    );
    return 0;
  } catch (e) {
    console.error(`winpe build: ${(e as Error).message}`);
    return 1;
  }
}
