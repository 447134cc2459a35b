/**
 * `winpe doctor [--toolchain adk|open]`: does this host have what a toolchain needs? adk (the default on Windows):
 * the ADK with the WinPE add-on, the WDK, MSBuild, DISM, Hyper-V, Go or a Pulumi CLI, Git Bash
 * (toolchains/adk/host-check.ts, from the real host's files and PATH). open (the default elsewhere): the Debian
 * tools scripts/setup.sh installs. Exit 0 when every required part is there, 1 when not.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { checkAdkHost, formatHostReport, type HostFacts } from "../toolchains/adk/host-check";

/** Commands of the open toolchain (and of the tests' independent readers) that set-up installs. */
const OPEN_TOOLS = [
  "wimlib-imagex",
  "xorriso",
  "mcopy",
  "mkfs.fat",
  "hivexget",
  "reglookup",
  "qemu-system-x86_64",
  "qemu-system-aarch64",
  "clang",
  "lld-link",
  "llvm-readobj",
  "osslsigncode",
  "openssl",
];

function onPath(command: string): boolean {
  const exts = process.platform === "win32" ? (process.env.PATHEXT ?? ".EXE;.CMD;.BAT").split(";") : [""];
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    for (const ext of exts) {
      try {
        if (fs.statSync(path.join(dir, command + ext.toLowerCase())).isFile()) return true;
        if (ext && fs.statSync(path.join(dir, command + ext)).isFile()) return true;
      } catch {
        // not here
      }
    }
  }
  return false;
}

/** The real host, as host-check.ts asks about it. */
export const realHost: HostFacts = {
  exists: (p) => fs.existsSync(p),
  list: (dir) => {
    try {
      return fs.readdirSync(dir);
    } catch {
      return [];
    }
  },
  onPath,
  env: process.env,
};

export async function run(args: string[]): Promise<number> {
  let toolchain: "adk" | "open" = process.platform === "win32" ? "adk" : "open";
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--toolchain" && (args[i + 1] === "adk" || args[i + 1] === "open")) toolchain = args[++i] as never;
    else {
      console.error(`winpe doctor: unknown argument '${args[i]}' (usage: winpe doctor [--toolchain adk|open])`);
      return 2;
    }
  }
  if (toolchain === "adk") {
    const { text, missingRequired } = formatHostReport(checkAdkHost(realHost));
    console.log(text);
    return missingRequired === 0 ? 0 : 1;
  }
  const missing = OPEN_TOOLS.filter((t) => !onPath(t));
  for (const t of OPEN_TOOLS) console.log(`${missing.includes(t) ? "MISSING" : "ok     "}  ${t}`);
  console.log(
    missing.length === 0
      ? "everything the open toolchain needs is there"
      : `${missing.length} tool(s) missing: npm run setup installs them (Debian packages)`,
  );
  return missing.length === 0 ? 0 : 1;
}
