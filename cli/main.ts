#!/usr/bin/env node
/**
 * `winpe <subcommand> [args...]`: thin command-line faces over the library.
 * Each subcommand module exports `run(args): Promise<number>` (the exit code) and prints one clear line on error.
 * The installed package's `bin` is this file compiled (`dist/cli/main.js`); a checkout runs it with ts-node
 * (`bin/winpe`, `npm run -s winpe -- ...`).
 */

import { isWinpeError } from "../runtime/errors";

const SUBCOMMANDS: Record<string, { module: string; summary: string }> = {
  bcd: { module: "./bcd", summary: "edit a BCD store with bcdedit's syntax (/store, /enum, /set, /deletevalue, ...)" },
  copype: { module: "./copype", summary: "make a WinPE working folder: copype <amd64|arm64> <dir> [--synthetic]" },
  makemedia: { module: "./makemedia", summary: "make a bootable ISO: makemedia /iso [/f] <dir> <file.iso>" },
  digest: { module: "./digest", summary: "print a file's tree digest (a stack's isoDigest): digest <file>..." },
  boot: {
    module: "./boot",
    summary: "boot an ISO in QEMU and wait for the marker: boot <file.iso> --arch <amd64|arm64>",
  },
  build: { module: "./build", summary: "build a .sln/.vcxproj with the open toolchain" },
  doctor: {
    module: "./doctor",
    summary: "check this host for a toolchain's tools: doctor [--toolchain adk|open]",
  },
  init: {
    module: "./init",
    summary: "write a Pulumi project of your own that uses winpe-lab: init <folder> [--arch amd64|arm64]",
  },
  debug: {
    module: "./debug",
    summary:
      'attach the kernel debugger (ntoseye) to a stack\'s VM: debug --stack <name> [-c "bp sioctl!DriverEntry; g"] [--batch]',
  },
  plan: {
    module: "./plan",
    summary: "print the commands a stack would run: plan --stack <name> [--action up|destroy]",
  },
};

function usage(): string {
  const lines = ["usage: winpe <subcommand> [args...]", ""];
  for (const [name, s] of Object.entries(SUBCOMMANDS)) lines.push(`  ${name.padEnd(10)} ${s.summary}`);
  return lines.join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === "--help" || sub === "-h" || sub === "help") {
    console.log(usage());
    return sub ? 0 : 2;
  }
  const entry = SUBCOMMANDS[sub];
  if (!entry) {
    console.error(`winpe: unknown subcommand '${sub}'\n${usage()}`);
    return 2;
  }
  let mod: { run: (args: string[]) => Promise<number> };
  try {
    mod = require(entry.module);
  } catch (e) {
    console.error(`winpe ${sub}: not available in this build (${(e as Error).message.split("\n")[0]})`);
    return 2;
  }
  try {
    return await mod.run(rest);
  } catch (e) {
    if (isWinpeError(e)) {
      console.error(`winpe ${sub}: ${e.message}`);
    } else {
      // not one of ours: a fault of winpe-lab itself, shown with where it happened so it can be reported
      console.error(
        `winpe ${sub}: ${(e as Error).message}\n(internal error: please report it)\n${(e as Error).stack ?? ""}`,
      );
    }
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      console.error(`winpe: ${(e as Error).message}`);
      process.exitCode = 1;
    },
  );
}
