/**
 * `winpe digest <file>...`: print each file's tree digest (`sha256-1m:<hex>`, runtime/digest.ts), the identity
 * WinPeIso records for an ISO (the stack output `isoDigest`), so a user can check an ISO against a stack's state.
 */
import * as fs from "node:fs";
import { fileTreeDigest } from "../runtime/digest";

const USAGE = "usage: winpe digest <file>...";

/** Run the subcommand; returns the exit code (0 ok, 1 a file could not be read, 2 bad usage). */
export async function run(args: string[]): Promise<number> {
  if (args.length === 0 || args.some((a) => a === "--help" || a === "-h" || a === "/?")) {
    (args.length === 0 ? console.error : console.log)(USAGE);
    return args.length === 0 ? 2 : 0;
  }
  let code = 0;
  for (const f of args) {
    try {
      if (!fs.statSync(f).isFile()) throw new Error("is not a file");
      console.log(`${fileTreeDigest(f).digest}  ${f}`);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      console.error(`winpe digest: '${f}' ${err.code === "ENOENT" ? "does not exist" : err.message}`);
      code = 1;
    }
  }
  return code;
}
