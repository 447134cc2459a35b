/**
 * `winpe boot <file.iso> --arch <amd64|arm64> [--timeout 60] [--pattern <regex>]`: boot the ISO in QEMU and wait
 * for the stand-in's marker (or `--pattern`) on the serial console. Exit 0 when it appears, 1 with the last console
 * lines when it does not.
 */
import { bootCheck } from "../toolchains/open/boot";

const USAGE = "usage: winpe boot <file.iso> --arch <amd64|arm64> [--timeout 60] [--pattern <regex>] [--quiet]";

/** Run the subcommand; returns the exit code (0 marker seen, 1 failed, 2 bad usage). */
export async function run(args: string[]): Promise<number> {
  const positional: string[] = [];
  const values: Record<string, string> = {};
  let quiet = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const eq = a.indexOf("=");
    const [flag, inline] = a.startsWith("--") && eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
    if (flag === "--help" || flag === "-h") {
      console.log(USAGE);
      return 0;
    }
    if (flag === "--quiet" || flag === "-q") quiet = true;
    else if (flag === "--arch" || flag === "--timeout" || flag === "--pattern") {
      const v = inline ?? args[++i];
      if (v === undefined) {
        console.error(`winpe boot: ${flag} needs a value\n${USAGE}`);
        return 2;
      }
      values[flag.slice(2)] = v;
    } else if (a.startsWith("-") && a.length > 1) {
      console.error(`winpe boot: unknown option '${a}'\n${USAGE}`);
      return 2;
    } else positional.push(a);
  }
  if (positional.length !== 1) {
    console.error(`winpe boot: expected one ISO file\n${USAGE}`);
    return 2;
  }
  if (values.arch === undefined) {
    console.error(`winpe boot: --arch <amd64|arm64> is required\n${USAGE}`);
    return 2;
  }
  let timeoutSec: number | undefined;
  if (values.timeout !== undefined) {
    timeoutSec = Number(values.timeout);
    if (!/^\d+(\.\d+)?$/.test(values.timeout) || timeoutSec <= 0) {
      console.error(`winpe boot: --timeout must be a positive number of seconds (got '${values.timeout}')`);
      return 2;
    }
  }
  try {
    const r = await bootCheck(positional[0]!, {
      arch: values.arch as "amd64",
      timeoutSec,
      pattern: values.pattern,
      onProgress: quiet ? undefined : (line) => console.error(`  ${line}`),
    });
    console.log(`boot: OK after ${r.seconds} s: ${r.matchedLine}`);
    return 0;
  } catch (e) {
    console.error(`winpe boot: ${(e as Error).message}`);
    return 1;
  }
}
