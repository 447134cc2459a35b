/**
 * The stack's pre-flight: every input checked before any resource writes anything, so a bad input changes nothing.
 * It runs in the program (on preview and on up), reads files, runs no tool and writes nothing. Each problem names
 * the config key (`'winpe-lab:iso.path'`) or the file, says what is wrong and what to do; all problems are reported
 * at once.
 *
 * What it checks: the working folder (there, writable, not another stack's), `boot.wim` (a whole WIM, the image
 * index there, the image's architecture when the WIM says), the media's architecture, the BCD stores (there,
 * readable, writable, the object there), the ISO path (its folder there and writable, not a folder, not inside the
 * media, no file there that winpe-lab did not write), the build folder (a folder, writable, no output name taken by
 * a file of the user's) and the names of the built files (legal in the image).
 */

import * as fs from "node:fs";
import * as nodePath from "node:path";
import { openStore } from "../formats/bcd";
import { ImagePathError, validateImagePaths } from "../formats/image-path";
import { readWimFacts } from "../formats/wim";
import { cmdArg, findstrPattern, HookError } from "../formats/winpe-hook";
import { WinpeError } from "../runtime/errors";
import { OutputLedger, workspaceOwner, workspaceTakenMessage } from "../runtime/owned";
import { isStandinImageName } from "../toolchains/open/copype";
import { detectMediaArch } from "../toolchains/open/media";
import { KD_SOCKET_NAME, UNIX_SOCKET_PATH_MAX } from "../toolchains/open/qemu";
import type { StackConfig } from "./config";
import type { ResolvedStack } from "./resolve";

export class PreflightError extends WinpeError {
  constructor(readonly problems: string[]) {
    super(problems.join("\n"));
    this.name = "PreflightError";
  }
}

export interface PreflightInput {
  config: StackConfig;
  stack: ResolvedStack;
  /** The files the build produces (`sioctl.sys`), from the project files. */
  outputs: readonly string[];
  /** What each output is (`driver`, `application`), when known: the driver test's settings are checked against it. */
  outputKinds?: Readonly<Record<string, "driver" | "application">>;
  /** This stack (`winpe-lab/demo-x64`). */
  holder: string;
}

const key = (k: string) => `'winpe-lab:${k}'`;

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function writable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** The nearest folder at or above `p` that exists (where a `mkdir -p` of `p` starts). */
function nearestExisting(p: string, pathApi: typeof nodePath.posix): string {
  let cur = p;
  while (!fs.existsSync(cur)) {
    const up = pathApi.dirname(cur);
    if (up === cur) break;
    cur = up;
  }
  return cur;
}

/** Check everything; throw one {@link PreflightError} listing every problem, or return quietly. */
export function preflight(input: PreflightInput): void {
  const { config, stack: r, holder } = input;
  const p = config.toolchain === "adk" ? nodePath.win32 : nodePath.posix;
  const problems: string[] = [];

  // the working folder
  if (!isDir(r.workspace)) {
    problems.push(
      `${key("workspace")} ${r.workspace} ${fs.existsSync(r.workspace) ? "is not a folder" : "does not exist"}: ` +
        `make the WinPE working folder first (winpe copype ${config.arch} <folder> --synthetic, or copype on Windows)`,
    );
    throw new PreflightError(problems);
  }
  if (!writable(r.workspace)) problems.push(`${key("workspace")} ${r.workspace} is read-only: make it writable`);
  const owner = workspaceOwner(r.stateDir);
  if (owner && owner.holder !== holder)
    problems.push(`${key("workspace")} ${workspaceTakenMessage(r.workspace, owner.holder, holder)}`);

  // boot.wim
  try {
    const wim = readWimFacts(r.wim);
    if (config.imageIndex > wim.imageCount) {
      problems.push(
        `${key("imageIndex")} is ${config.imageIndex}, but ${r.wim} has ${wim.imageCount} image` +
          `${wim.imageCount === 1 ? "" : "s"}: use 1${wim.imageCount > 1 ? `-${wim.imageCount}` : ""}`,
      );
    } else {
      const img = wim.images.find((i) => i.index === config.imageIndex);
      if (img?.arch && img.arch !== config.arch)
        problems.push(
          `${key("arch")} is ${config.arch}, but image ${config.imageIndex} of ${r.wim} is for ${img.arch}: ` +
            `use a working folder made for ${config.arch} (copype ${config.arch})`,
        );
    }
  } catch (e) {
    problems.push(`${key("workspace")} ${r.wim} ${(e as Error).message}: make the working folder again (copype)`);
  }

  // serial debugging: the VM's COM1 is a Unix socket in its folder, whose path a socket address must hold
  if (config.toolchain === "open" && config.vm.enabled && config.debug?.transport === "serial") {
    const sock = p.join(r.vmDir, KD_SOCKET_NAME);
    if (sock.length > UNIX_SOCKET_PATH_MAX)
      problems.push(
        `${key("debug.transport")} serial puts COM1 on the socket ${sock}, ${sock.length} bytes long, but a Unix ` +
          `socket path holds at most ${UNIX_SOCKET_PATH_MAX}: use a shorter working folder or ${key("vm.name")}`,
      );
  }

  // the media's own architecture (its EFI boot file)
  if (config.toolchain === "open" && isDir(r.mediaDir)) {
    const found = detectMediaArch(r.mediaDir);
    if (found.length > 0 && !found.includes(config.arch))
      problems.push(
        `${key("arch")} is ${config.arch}, but the media in ${r.mediaDir} boots ${found.join(" and ")}: ` +
          `use a working folder made for ${config.arch} (copype ${config.arch})`,
      );
  }

  // BCD stores and the object
  for (const s of r.stores) {
    if (!fs.existsSync(s.path)) {
      problems.push(`${key("bcd.stores")} ${s.path} does not exist: make the working folder again (copype)`);
      continue;
    }
    try {
      const store = openStore(s.path);
      try {
        store.resolve(config.bcd.object, { mustExist: true });
      } catch (e) {
        problems.push(`${key("bcd.object")} ${config.bcd.object} in ${s.path}: ${(e as Error).message}`);
      }
    } catch (e) {
      problems.push(`${key("bcd.stores")} ${s.path}: ${(e as Error).message.replace(`${s.path}: `, "")}`);
      continue;
    }
    if (!writable(s.path) || !writable(p.dirname(s.path)))
      problems.push(`${key("bcd.stores")} ${s.path} is read-only (or its folder is): make it writable`);
  }

  // the ISO
  const isoDir = p.dirname(r.isoPath);
  const rel = p.relative(r.mediaDir, r.isoPath);
  if (!rel.startsWith("..") && !p.isAbsolute(rel)) {
    problems.push(`${key("iso.path")} ${r.isoPath} lies inside the media folder ${r.mediaDir}: put the ISO elsewhere`);
  } else if (!isDir(isoDir)) {
    problems.push(`${key("iso.path")} ${r.isoPath}: the folder ${isoDir} does not exist: create it first`);
  } else if (!writable(isoDir)) {
    problems.push(`${key("iso.path")} ${r.isoPath}: the folder ${isoDir} is read-only: make it writable`);
  } else if (isDir(r.isoPath)) {
    problems.push(`${key("iso.path")} ${r.isoPath} is a folder: name a file ending in .iso`);
  } else if (!new OutputLedger(r.stateDir).isOurs(r.isoPath)) {
    problems.push(
      `${key("iso.path")} ${r.isoPath} is a file winpe-lab did not write; winpe-lab never replaces or deletes what ` +
        `it did not make: move it away, or choose another path`,
    );
  }

  // the build folder and the outputs
  if (fs.existsSync(r.buildDir) && !isDir(r.buildDir)) {
    problems.push(`${key("buildDir")} ${r.buildDir} is not a folder: name a folder for the built files`);
  } else if (!writable(nearestExisting(r.buildDir, p))) {
    problems.push(`${key("buildDir")} ${r.buildDir} cannot be written (read-only): choose a writable folder`);
  } else {
    const ledger = new OutputLedger(r.stateDir);
    for (const name of input.outputs) {
      const out = p.join(r.buildDir, name);
      if (!ledger.isOurs(out))
        problems.push(
          `${key("buildDir")} ${r.buildDir} holds ${name}, a file winpe-lab did not write (the build would replace ` +
            `it): move it away, or choose another buildDir`,
        );
    }
  }
  try {
    validateImagePaths(
      input.outputs.map((o) => `${r.injectDir}/${o}`),
      "files",
    );
  } catch (e) {
    if (!(e instanceof ImagePathError)) throw e;
    problems.push(
      `${key("project")} ${r.project}: a built file cannot go into the image: ${e.message.replace(/^'files[^']*'\s*/, "")}`,
    );
  }

  if (input.outputKinds) problems.push(...testProblems(config, r, input.outputKinds));

  if (problems.length > 0) throw new PreflightError(problems);
}

/** The program the driver test runs: `test.command`, else the application the build produces (or none). */
export function testCommand(
  config: StackConfig,
  outputKinds: Readonly<Record<string, "driver" | "application">>,
): string[] {
  if (config.test.command) return [...config.test.command];
  const app = Object.keys(outputKinds).find((o) => outputKinds[o] === "application");
  return app ? [app] : [];
}

/** The drivers Driver Verifier checks: `test.verifier.drivers`, else the drivers the build produces. */
export function verifierDrivers(
  config: StackConfig,
  outputKinds: Readonly<Record<string, "driver" | "application">>,
): string[] {
  return config.test.verifier?.drivers ?? Object.keys(outputKinds).filter((o) => outputKinds[o] === "driver");
}

/** The driver test's settings against what the build puts into the image (no tool runs). */
function testProblems(
  config: StackConfig,
  r: ResolvedStack,
  kinds: Readonly<Record<string, "driver" | "application">>,
): string[] {
  const problems: string[] = [];
  const t = config.test;
  const names = Object.keys(kinds);
  if (t.enabled && t.command) {
    const prog = t.command[0]!;
    const found = names.find((n) => n.toLowerCase() === prog.toLowerCase());
    if (!found) {
      problems.push(
        `${key("test.command")} runs ${prog}, which is not in the image's ${r.injectDir} (the build puts ` +
          `${names.length > 0 ? [...names].sort().join(", ") : "nothing"} there): name one of its programs`,
      );
    } else if (kinds[found] !== "application") {
      problems.push(`${key("test.command")} runs ${prog}, which is a driver, not a program: name the test app`);
    }
  }
  if (t.enabled && t.boot) {
    const cmd = testCommand(config, kinds);
    for (const [i, a] of cmd.entries()) {
      try {
        cmdArg(a, i === 0 ? "the program" : `argument ${i}`);
      } catch (e) {
        if (!(e instanceof HookError)) throw e;
        problems.push(`${key("test.command")} ${e.message} (the boot-time test runs it from cmd: test.boot)`);
      }
    }
    if (t.pass.output !== undefined) {
      try {
        findstrPattern(t.pass.output);
      } catch (e) {
        if (!(e instanceof HookError)) throw e;
        problems.push(
          `${key("test.pass.output")} ${e.message}; the boot-time test (test.boot) checks it with findstr in WinPE`,
        );
      }
    }
  }
  if (t.verifier && verifierDrivers(config, kinds).length === 0) {
    problems.push(
      `${key("test.verifier.drivers")} is not set and the build produces no driver: name the drivers to verify`,
    );
  }
  return problems;
}

/**
 * Whether image `index` of `wim` is the synthetic working folder's stand-in (winpe copype --synthetic), which boots
 * no Windows and so runs no boot-time test. A WIM that cannot be read counts as not a stand-in (the pre-flight has
 * said what is wrong with it already).
 */
export function isStandinImage(wim: string, index: number): boolean {
  try {
    return isStandinImageName(readWimFacts(wim).images.find((i) => i.index === index)?.name);
  } catch {
    return false;
  }
}
