/**
 * `winpe copype <amd64|arm64> <dir> [--from <folder> | --from-iso <iso> | --synthetic]`: make a WinPE working
 * folder (media/, fwfiles/, mount/) with the open toolchain. `--synthetic` (stand-in parts, no Windows files) is
 * the default.
 */
import { type CopypeSource, copype } from "../toolchains/open/copype";

const USAGE = "usage: winpe copype <amd64|arm64> <dir> [--from <folder> | --from-iso <iso> | --synthetic]";

/** Run the subcommand; returns the exit code (0 ok, 1 failed, 2 bad usage). */
export async function run(args: string[]): Promise<number> {
  const positional: string[] = [];
  let source: CopypeSource | undefined;
  const setSource = (s: CopypeSource): boolean => {
    if (source) {
      console.error(`winpe copype: give only one of --from, --from-iso, --synthetic\n${USAGE}`);
      return false;
    }
    source = s;
    return true;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const eq = a.indexOf("=");
    const [flag, inline] = a.startsWith("--") && eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
    if (flag === "--help" || flag === "-h") {
      console.log(USAGE);
      return 0;
    }
    if (flag === "--synthetic") {
      if (!setSource({ kind: "synthetic" })) return 2;
    } else if (flag === "--from" || flag === "--from-iso") {
      const value = inline ?? args[++i];
      if (value === undefined || value === "") {
        console.error(`winpe copype: ${flag} needs a path\n${USAGE}`);
        return 2;
      }
      if (!setSource(flag === "--from" ? { kind: "folder", path: value } : { kind: "iso", path: value })) return 2;
    } else if (a.startsWith("-") && a.length > 1) {
      console.error(`winpe copype: unknown option '${a}'\n${USAGE}`);
      return 2;
    } else {
      positional.push(a);
    }
  }
  if (positional.length !== 2) {
    console.error(`winpe copype: expected an architecture and a folder\n${USAGE}`);
    return 2;
  }
  const [arch, dir] = positional as [string, string];
  const started = Date.now();
  try {
    const r = await copype(arch as "amd64", dir, source ?? { kind: "synthetic" }, {
      onProgress: (line) => console.error(line),
    });
    const fw = Object.values(r.firmwareFiles)
      .map((f) => f.split("/").pop())
      .join(", ");
    console.log(
      `copype: made ${r.dir} (${r.arch}, ${r.source}) in ${((Date.now() - started) / 1000).toFixed(1)} s: media/, fwfiles/ (${fw}), mount/`,
    );
    return 0;
  } catch (e) {
    console.error(`winpe copype: ${(e as Error).message}`);
    return 1;
  }
}
