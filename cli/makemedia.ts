/**
 * `winpe makemedia /iso [/f] <dir> <file.iso>`: MakeWinPEMedia's syntax (options case-insensitive). Makes a
 * bootable El Torito ISO of `<dir>/media` with xorriso. Without `/f` an existing ISO is an error (no prompt).
 */
import { makeMedia } from "../toolchains/open/makemedia";

const USAGE = "usage: winpe makemedia /iso [/f] <dir> <file.iso>";

/** Run the subcommand; returns the exit code (0 ok, 1 failed, 2 bad usage). */
export async function run(args: string[]): Promise<number> {
  let iso = false;
  let force = false;
  const positional: string[] = [];
  for (const a of args) {
    const opt = a.toLowerCase();
    if (opt === "/?" || opt === "--help" || opt === "-h") {
      console.log(USAGE);
      return 0;
    }
    if (opt === "/iso") iso = true;
    else if (opt === "/f") force = true;
    else if (opt === "/ufd") {
      console.error("winpe makemedia: /ufd (USB drives) is not supported by the open toolchain; use /iso");
      return 2;
    } else if (opt === "/bootex" || (a.startsWith("-") && a.length > 1)) {
      console.error(`winpe makemedia: unknown option '${a}'\n${USAGE}`);
      return 2;
    } else positional.push(a);
  }
  if (!iso) {
    console.error(`winpe makemedia: /iso is required (the only media type supported)\n${USAGE}`);
    return 2;
  }
  if (positional.length !== 2) {
    console.error(`winpe makemedia: expected the working folder and the ISO file\n${USAGE}`);
    return 2;
  }
  const [dir, file] = positional as [string, string];
  const started = Date.now();
  try {
    const r = await makeMedia(dir, file, {
      force,
      onProgress: (line) => {
        if (/UPDATE|%|^makemedia:/.test(line)) console.error(line);
      },
    });
    console.log(
      `makemedia: wrote ${r.iso} (${r.arch}, ${r.size} bytes, digest ${r.digest}) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    return 0;
  } catch (e) {
    console.error(`winpe makemedia: ${(e as Error).message}`);
    return 1;
  }
}
