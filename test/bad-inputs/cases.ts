/**
 * The bad-input corpus: one row per case. Each row says what is bad, how it is handed over (a library call, a
 * provider method, `winpe <subcommand>`, or `pulumi up` of the real program) and the pattern the one error message
 * must match: it must name the field (`'winpe-lab:kdnet.port'`, `'isoPath'`) or the file. The runner
 * (bad-inputs.test.ts) gives each case a fresh scratch workspace (workspace.ts), runs `setup` (which makes the bad
 * input), hashes the workspace, runs the case, and checks: refused, one clear message matching `expect`, no stack
 * trace, and the workspace byte-identical.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { createEmptyStore } from "../../formats/bcd/index";
import { validateImagePaths } from "../../formats/image-path";
import { Hive } from "../../formats/regf/index";
import * as bcdP from "../../resources/providers/bcd-settings";
import * as injectP from "../../resources/providers/injected-files";
import * as mountP from "../../resources/providers/mounted-image";
import * as certP from "../../resources/providers/test-certificate";
import * as isoP from "../../resources/providers/winpe-iso";
import { runTool } from "../../runtime/exec";
import { parseStackConfig, rawConfigToObject } from "../../stack/config";
import { buildProject, planBuild, verifyBuiltFile } from "../../toolchains/open/build";
import { copype } from "../../toolchains/open/copype";
import { makeMedia } from "../../toolchains/open/makemedia";
import type { EngineProgram } from "./engine";
import { checkFails, type Outcome, rejects, type Workspace, winpe, withPath } from "./workspace";

export type Area = "config" | "engine" | "bcd" | "wim" | "project" | "arch" | "destination" | "iso" | "tool";

export interface CaseContext {
  ws: Workspace;
  /** The real program on the real engine (engine cases only). */
  engine: EngineProgram;
}

export interface BadInputCase {
  /** Unique, short. */
  name: string;
  area: Area;
  /** How the input is handed over. */
  via: string;
  /** What is bad about it. */
  bad: string;
  /** The message must match this: it names the field or the file. */
  expect: RegExp | ((ws: Workspace) => RegExp);
  /** Make the bad input inside the workspace (runs before the workspace is hashed). */
  setup?: (ws: Workspace) => void | Promise<void>;
  /** Undo what `setup` did outside plain files (e.g. unmount), after the checks. */
  teardown?: (ws: Workspace) => void | Promise<void>;
  run: (c: CaseContext) => Promise<Outcome>;
  /** How many lines the message may have. @default 1 */
  maxLines?: number;
  /**
   * A bug this case found in code outside test/: where it is (file, line, what happens) and the symptom the
   * checks report. The case passes while the checks fail with exactly that symptom, and fails (asking for the
   * note to be removed) once the bug is fixed. (The five bugs the corpus found first were fixed in 447f558.)
   */
  knownBug?: { where: string; symptom: RegExp };
}

// ---------------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------------

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
/** A pattern that matches the path `p` literally. */
const lit = (p: string) => new RegExp(esc(p));

/** A valid stack config as Pulumi hands it to the program (every value a string; objects as JSON). */
function rawConfig(ws: Workspace, over: Record<string, string | undefined> = {}): Record<string, string> {
  const base: Record<string, string | undefined> = {
    "winpe-lab:toolchain": "open",
    "winpe-lab:arch": "amd64",
    "winpe-lab:workspace": ws.amd64.dir,
    "winpe-lab:project": ws.ioctl.sln,
    "winpe-lab:iso": JSON.stringify({ path: ws.at("winpe_amd64.iso") }),
    "winpe-lab:kdnet": JSON.stringify({ hostIp: "10.0.2.2", port: 50005, key: "1.2.3.4" }),
    ...over,
  };
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined) out[k] = v;
  return out;
}

function config(name: string, bad: string, over: Record<string, string | undefined>, expect: RegExp): BadInputCase {
  return {
    name: `config: ${name}`,
    area: "config",
    via: "parseStackConfig(rawConfigToObject(...))",
    bad,
    expect,
    run: async ({ ws }) => rejects(() => parseStackConfig(rawConfigToObject(rawConfig(ws, over)))),
  };
}

/** The same config for the real program: values as a stack file holds them (objects stay objects). */
function stackFile(ws: Workspace, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    "winpe-lab:toolchain": "open",
    "winpe-lab:arch": "amd64",
    "winpe-lab:workspace": ws.amd64.dir,
    "winpe-lab:project": ws.ioctl.sln,
    "winpe-lab:iso": { path: ws.at("winpe_amd64.iso") },
    "winpe-lab:vm": { enabled: false },
    ...over,
  };
}

function engine(
  name: string,
  bad: string,
  over: Record<string, unknown>,
  expect: RegExp,
  extra: Partial<BadInputCase> = {},
): BadInputCase {
  return {
    name: `engine: ${name}`,
    area: "engine",
    via: "pulumi up of index.ts (Automation API, real engine)",
    bad,
    expect,
    maxLines: 2, // "invalid stack config for '<stack>':" and the line naming the key
    run: async ({ ws, engine: e }) => e.up(stackFile(ws, over)),
    ...extra,
  };
}

/** Copy `src` to `dest` after `mutate` changed its bytes. */
function mutated(src: string, dest: string, mutate: (b: Buffer) => Buffer): void {
  fs.writeFileSync(dest, mutate(fs.readFileSync(src)));
}

/** Byte offset of the root key's cell in a hive (for hostile cell sizes). */
const rootCellOffset = (b: Buffer) => 4096 + b.readUInt32LE(36);

const BAD_STORE = "bcd/bad.bcd";

const bcdCorruptions: Array<{ name: string; bad: string; mutate: (b: Buffer) => Buffer; expect: RegExp }> = [
  {
    name: "truncated",
    bad: "the store is cut 100 bytes short",
    mutate: (b) => b.subarray(0, b.length - 100),
    expect: /truncated/,
  },
  {
    name: "bad checksum",
    bad: "the base block checksum is off by one bit",
    mutate: (b) => {
      b.writeUInt32LE((b.readUInt32LE(508) ^ 1) >>> 0, 508);
      return b;
    },
    expect: /checksum/,
  },
  {
    name: "wrong signature",
    bad: "the file starts with 'regx' instead of 'regf'",
    mutate: (b) => {
      b.write("regx", 0, "latin1");
      return b;
    },
    expect: /regf/,
  },
  {
    name: "hostile cell size",
    bad: "the root key's cell claims 64 KiB, past the end of its hbin",
    mutate: (b) => {
      b.writeInt32LE(-0x10000, rootCellOffset(b));
      return b;
    },
    expect: /crosses the end|cell size/,
  },
  {
    name: "hostile value count",
    bad: "the root key claims 2^30 values",
    mutate: (b) => {
      b.writeUInt32LE(0x40000000, rootCellOffset(b) + 4 + 36);
      return b;
    },
    expect: /value list/,
  },
];

/** BcdSettings provider inputs for `stores`, with testsigning on. */
function bcdInputs(ws: Workspace, stores: string[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    toolchain: "open",
    stores,
    object: "{default}",
    flags: { testsigning: "on" },
    stateDir: path.join(ws.state, "bcd"),
    ...extra,
  };
}

function mountInputs(ws: Workspace, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    toolchain: "open",
    wim: ws.amd64.wim,
    index: 1,
    mountDir: ws.amd64.mount,
    holder: "test/bad-inputs",
    ...extra,
  };
}

function mountRef(ws: Workspace): Record<string, unknown> {
  return {
    toolchain: "open",
    wim: ws.amd64.wim,
    index: 1,
    mountDir: ws.amd64.mount,
    privateDir: path.join(ws.amd64.dir, ".winpe-lab", "mount-mount"),
    holder: "test/bad-inputs",
  };
}

function destination(name: string, dests: string[], expect: RegExp): BadInputCase {
  return {
    name: `destination: ${name}`,
    area: "destination",
    via: "validateImagePaths",
    bad: `destinations ${JSON.stringify(dests)}`,
    expect,
    run: async () => rejects(() => validateImagePaths(dests, "files")),
  };
}

function injectCheck(name: string, dest: string, expect: RegExp): BadInputCase {
  return {
    name: `destination: ${name} (InjectedFiles check)`,
    area: "destination",
    via: "InjectedFiles provider check",
    bad: `destination ${JSON.stringify(dest)}`,
    expect,
    run: async ({ ws }) =>
      checkFails(() => injectP.check({}, { mount: mountRef(ws), files: { [dest]: { source: ws.arm64Sys } } })),
  };
}

// ---------------------------------------------------------------------------------------------------
// the corpus
// ---------------------------------------------------------------------------------------------------

export const CASES: BadInputCase[] = [
  // ---- stack config (the schema, as the program calls it)
  config(
    "unknown key",
    "a top-level key the schema does not know",
    { "winpe-lab:isoPath": "/x.iso" },
    /'winpe-lab:isoPath' is not a known setting/,
  ),
  config(
    "unknown nested key",
    "iso.label is not a setting",
    { "winpe-lab:iso": JSON.stringify({ path: "/tmp/x.iso", label: "WINPE" }) },
    /'winpe-lab:iso\.label' is not a known setting/,
  ),
  config(
    "imageIndex not a number",
    "imageIndex is the word 'one'",
    { "winpe-lab:imageIndex": "one" },
    /'winpe-lab:imageIndex' expected number/,
  ),
  config(
    "signing not a boolean",
    "signing is 'yes'",
    { "winpe-lab:signing": "yes" },
    /'winpe-lab:signing' expected boolean/,
  ),
  config(
    "vm.memoryMb a string",
    "vm.memoryMb is the string '2048'",
    { "winpe-lab:vm": JSON.stringify({ memoryMb: "2048" }) },
    /'winpe-lab:vm\.memoryMb' expected number/,
  ),
  config(
    "kdnet.port below 49152",
    "port 1234 (KDNET needs a dynamic port)",
    { "winpe-lab:kdnet": JSON.stringify({ hostIp: "10.0.2.2", port: 1234, key: "1.2.3.4" }) },
    /'winpe-lab:kdnet\.port' must be at least 49152/,
  ),
  config(
    "kdnet.port above 65535",
    "port 70000",
    { "winpe-lab:kdnet": JSON.stringify({ hostIp: "10.0.2.2", port: 70000, key: "1.2.3.4" }) },
    /'winpe-lab:kdnet\.port'.*65535/,
  ),
  config(
    "kdnet.port not whole",
    "port 50005.5",
    { "winpe-lab:kdnet": JSON.stringify({ hostIp: "10.0.2.2", port: 50005.5, key: "1.2.3.4" }) },
    /'winpe-lab:kdnet\.port'.*(integer|int)/,
  ),
  config(
    "kdnet.hostIp octet 256",
    "hostIp 10.0.0.256",
    { "winpe-lab:kdnet": JSON.stringify({ hostIp: "10.0.0.256", port: 50005, key: "1.2.3.4" }) },
    /'winpe-lab:kdnet\.hostIp' must be an IPv4 address/,
  ),
  config(
    "kdnet.hostIp a host name",
    "hostIp debughost.example",
    { "winpe-lab:kdnet": JSON.stringify({ hostIp: "debughost.example", port: 50005, key: "1.2.3.4" }) },
    /'winpe-lab:kdnet\.hostIp' must be an IPv4 address/,
  ),
  config(
    "kdnet.key three words",
    "key 1.2.3",
    { "winpe-lab:kdnet": JSON.stringify({ hostIp: "10.0.2.2", port: 50005, key: "1.2.3" }) },
    /'winpe-lab:kdnet\.key' must be four dot-separated words/,
  ),
  config(
    "kdnet.key with shell characters",
    "key 1.2.3.4;reboot",
    { "winpe-lab:kdnet": JSON.stringify({ hostIp: "10.0.2.2", port: 50005, key: "1.2.3.4;reboot" }) },
    /'winpe-lab:kdnet\.key' must be four dot-separated words/,
  ),
  config(
    "iso.path extension",
    "iso.path ends in .img",
    { "winpe-lab:iso": JSON.stringify({ path: "/tmp/winpe.img" }) },
    /'winpe-lab:iso\.path' must end in \.iso/,
  ),
  config("unknown arch", "arch x86", { "winpe-lab:arch": "x86" }, /'winpe-lab:arch'/),
  config("unknown toolchain", "toolchain wsl", { "winpe-lab:toolchain": "wsl" }, /'winpe-lab:toolchain'/),
  config(
    "adk workspace relative",
    "adk with workspace WinPE_amd64 (relative)",
    {
      "winpe-lab:toolchain": "adk",
      "winpe-lab:workspace": "WinPE_amd64",
      "winpe-lab:iso": JSON.stringify({ path: "D:\\WinPE_amd64\\winpe.iso" }),
    },
    /'winpe-lab:workspace' must be an absolute Windows path/,
  ),
  config(
    "adk iso.path POSIX",
    "adk with iso.path /tmp/winpe.iso (not a Windows path)",
    {
      "winpe-lab:toolchain": "adk",
      "winpe-lab:workspace": "D:\\WinPE_amd64",
      "winpe-lab:iso": JSON.stringify({ path: "/tmp/winpe.iso" }),
    },
    /'winpe-lab:iso\.path' must be an absolute Windows path/,
  ),
  config(
    "arm64 with the BIOS store",
    "arm64 media with bcd.stores both (arm64 is UEFI-only)",
    { "winpe-lab:arch": "arm64", "winpe-lab:bcd": JSON.stringify({ stores: "both" }) },
    /'winpe-lab:bcd\.stores' arm64 media is UEFI-only/,
  ),
  config(
    "project not a project",
    "project is a .c file",
    { "winpe-lab:project": "sys/sioctl.c" },
    /'winpe-lab:project' must end in \.sln or \.vcxproj/,
  ),
  config("project missing", "no project key at all", { "winpe-lab:project": undefined }, /'winpe-lab:project'/),
  config(
    "workspace with NUL",
    "workspace contains a NUL character",
    { "winpe-lab:workspace": "/tmp/a\0b" },
    /'winpe-lab:workspace' must not contain NUL/,
  ),
  config(
    "vm.name with a space",
    "vm.name 'my vm'",
    { "winpe-lab:vm": JSON.stringify({ name: "my vm" }) },
    /'winpe-lab:vm\.name' must be 1-64 letters/,
  ),
  config(
    "injectDir escapes the image",
    "injectDir ../../Users (outside the image)",
    { "winpe-lab:injectDir": "../../Users" },
    /'winpe-lab:injectDir'.*contains '\.\.'/,
  ),
  config(
    "injectDir with a drive letter",
    "injectDir C:\\Windows\\Ioctl",
    { "winpe-lab:injectDir": "C:\\Windows\\Ioctl" },
    /'winpe-lab:injectDir'.*drive letter/,
  ),
  config(
    "test.timeoutSec 0",
    "a time limit of 0 seconds",
    { "winpe-lab:test": JSON.stringify({ timeoutSec: 0 }) },
    /'winpe-lab:test\.timeoutSec' must be at least 1 second/,
  ),
  config(
    "test.verifier flag that does not exist",
    "verifier flag 'turbo'",
    { "winpe-lab:test": JSON.stringify({ verifier: { flags: ["turbo"] } }) },
    /'winpe-lab:test\.verifier\.flags\[0\]' 'turbo' is not a Driver Verifier flag/,
  ),
  config(
    "test.verifier driver with a folder",
    "verifier driver C:\\drivers\\sioctl.sys (a path, not a name)",
    { "winpe-lab:test": JSON.stringify({ verifier: { drivers: ["C:\\drivers\\sioctl.sys"] } }) },
    /'winpe-lab:test\.verifier\.drivers\[0\]' must be a driver's file name/,
  ),
  config(
    "test.command with a folder",
    "test.command ../evil.exe",
    { "winpe-lab:test": JSON.stringify({ command: ["../evil.exe"] }) },
    /'winpe-lab:test\.command' runs "\.\.\/evil\.exe": name a program in the image's folder/,
  ),
  config(
    "test.pass checks nothing",
    "pass.exitCode null and no output pattern",
    { "winpe-lab:test": JSON.stringify({ pass: { exitCode: null } }) },
    /'winpe-lab:test\.pass' checks nothing/,
  ),
  config(
    "test.onFail unknown",
    "onFail ignore",
    { "winpe-lab:test": JSON.stringify({ onFail: "ignore" }) },
    /'winpe-lab:test\.onFail'/,
  ),
  config(
    "configuration unknown",
    "configuration Checked",
    { "winpe-lab:configuration": "Checked" },
    /'winpe-lab:configuration'/,
  ),

  // ---- the real program on the real engine
  engine(
    "kdnet.port below 49152",
    "port 1234",
    { "winpe-lab:kdnet": { hostIp: "10.0.2.2", port: 1234, key: "1.2.3.4" } },
    /'winpe-lab:kdnet\.port' must be at least 49152/,
  ),
  engine(
    "unknown key",
    "winpe-lab:isoPath instead of iso.path",
    { "winpe-lab:isoPath": "/tmp/x.iso" },
    /'winpe-lab:isoPath' is not a known setting/,
  ),
  engine(
    "iso.path extension",
    "iso.path ends in .img",
    { "winpe-lab:iso": { path: "/tmp/winpe.img" } },
    /'winpe-lab:iso\.path' must end in \.iso/,
  ),
  engine(
    "vm.memoryMb a string",
    "vm.memoryMb is the string '2GB' (wrong type)",
    { "winpe-lab:vm": { enabled: false, memoryMb: "2GB" } },
    /'winpe-lab:vm\.memoryMb' expected number/,
  ),
  engine(
    "injectDir escapes the image",
    "injectDir ../../evil",
    { "winpe-lab:injectDir": "../../evil" },
    /'winpe-lab:injectDir'.*\.\./,
    {
      maxLines: 2,
    },
  ),
  engine(
    "project missing",
    "project names a solution that does not exist",
    { "winpe-lab:project": "/nonexistent/ioctl.sln" },
    /\/nonexistent\/ioctl\.sln: solution file not found/,
    {
      maxLines: 1,
    },
  ),

  // ---- issue 17: the driver test's settings (stack/config.ts, stack/preflight.ts)
  engine(
    "test.command not in the image",
    "test.command runs notthere.exe, a file the build does not put into the image",
    { "winpe-lab:test": { command: ["notthere.exe"] } },
    /'winpe-lab:test\.command' runs notthere\.exe, which is not in the image's Windows\/Ioctl \(the build puts ioctlapp\.exe, sioctl\.sys there\)/,
  ),
  engine(
    "test.command is the driver",
    "test.command runs sioctl.sys (a driver, not a program)",
    { "winpe-lab:test": { command: "sioctl.sys" } },
    /'winpe-lab:test\.command' runs sioctl\.sys, which is a driver, not a program/,
  ),
  engine(
    "test.timeoutSec 0",
    "a time limit of 0 seconds",
    { "winpe-lab:test": { timeoutSec: 0 } },
    /'winpe-lab:test\.timeoutSec' must be at least 1 second/,
  ),
  engine(
    "test.verifier flag that does not exist",
    "verifier flag 'turbo'",
    { "winpe-lab:test": { verifier: { flags: ["standard", "turbo"] } } },
    /'winpe-lab:test\.verifier\.flags\[1\]' 'turbo' is not a Driver Verifier flag: use standard or specialPool/,
  ),
  engine(
    "test.pass.output beyond findstr with test.boot",
    "pass.output uses \\d+ and the boot-time test checks it with findstr",
    { "winpe-lab:test": { boot: true, pass: { exitCode: 0, output: "replies correct: \\d+" } } },
    /'winpe-lab:test\.pass\.output' uses \\d, which findstr does not have/,
  ),

  // ---- issue 13: every check before the first write (stack/preflight.ts); nothing of the user's replaced
  engine(
    "iso.path names a file of the user's",
    "iso.path is an existing ISO that winpe-lab did not write",
    {},
    /'winpe-lab:iso\.path' .*mine\.iso is a file winpe-lab did not write/,
    {
      setup: (ws) => {
        fs.mkdirSync(ws.at("out"), { recursive: true });
        fs.writeFileSync(ws.at("out/mine.iso"), "the user's own ISO\n");
      },
      run: async ({ ws, engine: e }) => e.up(stackFile(ws, { "winpe-lab:iso": { path: ws.at("out/mine.iso") } })),
    },
  ),
  engine(
    "buildDir holds the user's sioctl.sys",
    "buildDir has a sioctl.sys the user built",
    {},
    /'winpe-lab:buildDir' .* holds sioctl\.sys, a file winpe-lab did not write/,
    {
      setup: (ws) => {
        fs.mkdirSync(ws.at("mybuild"), { recursive: true });
        fs.writeFileSync(ws.at("mybuild/sioctl.sys"), "the user's own driver\n");
      },
      run: async ({ ws, engine: e }) => e.up(stackFile(ws, { "winpe-lab:buildDir": ws.at("mybuild") })),
    },
  ),
  engine(
    "iso folder missing",
    "iso.path in a folder that does not exist",
    {},
    /'winpe-lab:iso\.path' .*: the folder .*nowhere does not exist: create it first/,
    { run: async ({ ws, engine: e }) => e.up(stackFile(ws, { "winpe-lab:iso": { path: ws.at("nowhere/x.iso") } })) },
  ),
  engine(
    "iso folder read-only",
    "iso.path in a read-only folder (a read-only mount: root writes anywhere else)",
    {},
    /'winpe-lab:iso\.path' .*: the folder .*ro-out is read-only/,
    {
      setup: async (ws) => {
        fs.mkdirSync(ws.at("ro-out"));
        await runTool("mount", ["-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", ws.at("ro-out")]);
      },
      teardown: async (ws) => void (await runTool("umount", [ws.at("ro-out")])),
      run: async ({ ws, engine: e }) => e.up(stackFile(ws, { "winpe-lab:iso": { path: ws.at("ro-out/x.iso") } })),
    },
  ),
  engine(
    "boot.wim is a zip",
    "media/sources/boot.wim is a zip archive",
    {},
    /'winpe-lab:workspace' .*boot\.wim is not a WIM file/,
    {
      setup: (ws) => fs.writeFileSync(ws.amd64.wim, Buffer.concat([Buffer.from("PK\x03\x04"), Buffer.alloc(300)])),
      run: async ({ ws, engine: e }) => e.up(stackFile(ws)),
    },
  ),
  engine(
    "boot.wim truncated",
    "media/sources/boot.wim cut to half its size",
    {},
    /'winpe-lab:workspace' .*boot\.wim is truncated/,
    {
      setup: (ws) => {
        const b = fs.readFileSync(ws.amd64.wim);
        fs.writeFileSync(ws.amd64.wim, b.subarray(0, Math.floor(b.length / 2)));
      },
      run: async ({ ws, engine: e }) => e.up(stackFile(ws)),
    },
  ),
  engine(
    "imageIndex 2 of a one-image WIM",
    "imageIndex 2",
    { "winpe-lab:imageIndex": 2 },
    /'winpe-lab:imageIndex' is 2, but .*boot\.wim has 1 image: use 1/,
  ),
  engine(
    "bcd.object not in the store",
    "bcd.object is a GUID the stores do not have",
    { "winpe-lab:bcd": { object: "{11111111-2222-3333-4444-555555555555}" } },
    /'winpe-lab:bcd\.object' \{11111111-2222-3333-4444-555555555555\} in .*BCD: /,
  ),
  engine(
    "TargetName is a device name",
    "the driver project's TargetName is CON",
    {},
    /'winpe-lab:project' .*ioctl\.sln: a built file cannot go into the image: .*reserved device name 'CON\.sys'/,
    {
      setup: (ws) => {
        const t = fs.readFileSync(ws.ioctl.sysProject, "utf8");
        fs.writeFileSync(
          ws.ioctl.sysProject,
          t.replace("<TargetName>sioctl</TargetName>", "<TargetName>CON</TargetName>"),
        );
      },
      run: async ({ ws, engine: e }) => e.up(stackFile(ws)),
    },
  ),
  engine(
    "arm64 stack on an amd64 working folder",
    "arch arm64 with the amd64 working folder",
    { "winpe-lab:arch": "arm64" },
    /'winpe-lab:arch' is arm64, but the media in .* boots amd64/,
  ),
  engine(
    "working folder of another stack",
    "the working folder was first written by another stack",
    {},
    /'winpe-lab:workspace' the working folder .* belongs to stack winpe-lab\/someone-else/,
    {
      setup: (ws) => {
        fs.mkdirSync(path.join(ws.amd64.dir, ".winpe-lab"), { recursive: true });
        fs.writeFileSync(path.join(ws.amd64.dir, ".winpe-lab", "owner.json"), '{"holder":"winpe-lab/someone-else"}\n');
      },
      run: async ({ ws, engine: e }) => e.up(stackFile(ws)),
    },
  ),
  engine(
    "working folder read-only",
    "the working folder is on a read-only mount",
    {},
    /'winpe-lab:workspace' .*rows\/WinPE_amd64 is read-only: make it writable/,
    {
      maxLines: 6, // every read-only path is named: the folder, both BCD stores, the build folder
      setup: async (ws) => {
        fs.mkdirSync(ws.at("rows"));
        await runTool("mount", ["-t", "tmpfs", "-o", "size=8m", "tmpfs", ws.at("rows")]);
        fs.cpSync(ws.amd64.dir, ws.at("rows/WinPE_amd64"), { recursive: true });
        await runTool("mount", ["-o", "remount,ro", ws.at("rows")]);
      },
      teardown: async (ws) => void (await runTool("umount", [ws.at("rows")])),
      run: async ({ ws, engine: e }) => e.up(stackFile(ws, { "winpe-lab:workspace": ws.at("rows/WinPE_amd64") })),
    },
  ),
  config(
    "kdnet.key word longer than 13",
    "a key word of 14 characters (bcdedit takes at most 13)",
    { "winpe-lab:kdnet": JSON.stringify({ hostIp: "10.0.2.2", port: 50005, key: "abcdefghijklmn.2.3.4" }) },
    /'winpe-lab:kdnet\.key' must be four dot-separated words .* each at most 13 long/,
  ),
  {
    name: "iso: create over a file of the user's (WinPeIso create)",
    area: "iso",
    via: "WinPeIso provider create",
    bad: "isoPath names an existing file winpe-lab did not write",
    expect: /'isoPath' .*theirs\.iso is a file that winpe-lab did not write/,
    setup: (ws) => fs.writeFileSync(ws.at("theirs.iso"), "keep me\n"),
    run: async ({ ws }) =>
      rejects(() =>
        isoP.create({
          toolchain: "open",
          arch: "amd64",
          workspace: ws.amd64.dir,
          isoPath: ws.at("theirs.iso"),
          contentHashes: {},
        }),
      ),
  },
  {
    name: "destination: an ARM64 .sys into an amd64 image (InjectedFiles create)",
    area: "destination",
    via: "InjectedFiles provider create",
    bad: "the source of Windows/Ioctl/sioctl.sys is built for ARM64; the image is amd64",
    expect: /'files\["Windows\/Ioctl\/sioctl\.sys"\]\.source' .* is built for arm64, not amd64/,
    run: async ({ ws }) =>
      rejects(() =>
        injectP.create({
          mount: mountRef(ws),
          files: { "Windows/Ioctl/sioctl.sys": { source: ws.arm64Sys } },
          arch: "amd64",
        }),
      ),
  },
  {
    name: "destination: a text file as a .sys (InjectedFiles create)",
    area: "destination",
    via: "InjectedFiles provider create",
    bad: "the source of Windows/Ioctl/sioctl.sys is a C source file",
    expect: /'files\["Windows\/Ioctl\/sioctl\.sys"\]\.source' .* is not a Windows binary/,
    run: async ({ ws }) =>
      rejects(() =>
        injectP.create({ mount: mountRef(ws), files: { "Windows/Ioctl/sioctl.sys": { source: ws.ioctl.sysSource } } }),
      ),
  },
  injectCheck("a folder as the destination", "Windows/Ioctl/", /names a folder/),
  {
    name: "iso: winpe boot of a file that is not an ISO",
    area: "iso",
    via: "winpe boot <file> --arch amd64",
    bad: "the file is text, not an ISO 9660 image (it used to wait for the boot check's whole time limit)",
    expect: /is not an ISO 9660 image \(no CD001 volume descriptor at sector 16\)/,
    setup: (ws) => fs.writeFileSync(ws.at("not-an.iso"), "just text\n"),
    run: async ({ ws }) => winpe(["boot", ws.at("not-an.iso"), "--arch", "amd64"]),
  },

  // ---- BCD stores through `winpe bcd`
  ...bcdCorruptions.map<BadInputCase>((c) => ({
    name: `bcd: ${c.name} (winpe bcd)`,
    area: "bcd",
    via: "winpe bcd /store <file> /set {default} testsigning on",
    bad: c.bad,
    expect: (ws) => new RegExp(`${esc(ws.at(BAD_STORE))}.*${c.expect.source}`),
    setup: (ws) => mutated(ws.bcd.multi, ws.at(BAD_STORE), c.mutate),
    run: async ({ ws }) => winpe(["bcd", "/store", ws.at(BAD_STORE), "/set", "{default}", "testsigning", "on"]),
  })),
  {
    name: "bcd: not a store (winpe bcd)",
    area: "bcd",
    via: "winpe bcd /store <file> /enum all",
    bad: "a valid registry hive without Description or Objects",
    expect: (ws) => new RegExp(`${esc(ws.at(BAD_STORE))}.*not a BCD store`),
    setup: (ws) => fs.writeFileSync(ws.at(BAD_STORE), Hive.create().serialize()),
    run: async ({ ws }) => winpe(["bcd", "/store", ws.at(BAD_STORE), "/set", "{default}", "testsigning", "on"]),
  },
  {
    name: "bcd: missing objects (winpe bcd)",
    area: "bcd",
    via: "winpe bcd /store <file> /set {default} testsigning on",
    bad: "an empty store (bcdedit /createstore): no {bootmgr}, no objects",
    expect: /\{bootmgr\}|\{default\}|bootmgr|default/,
    setup: (ws) => createEmptyStore(ws.at(BAD_STORE)),
    run: async ({ ws }) => winpe(["bcd", "/store", ws.at(BAD_STORE), "/set", "{default}", "testsigning", "on"]),
  },
  {
    name: "bcd: no default (winpe bcd)",
    area: "bcd",
    via: "winpe bcd /store <file> /set {default} testsigning on",
    bad: "{bootmgr} has no default element (ramdisk-wim-nodefault.bcd)",
    expect: /default/,
    run: async ({ ws }) => winpe(["bcd", "/store", ws.bcd.nodefault, "/set", "{default}", "testsigning", "on"]),
  },
  {
    name: "bcd: unknown object (winpe bcd)",
    area: "bcd",
    via: "winpe bcd /store <file> /set {guid} testsigning on",
    bad: "an object GUID the store does not have",
    expect: /\{11111111-2222-3333-4444-555555555555\}/,
    run: async ({ ws }) =>
      winpe(["bcd", "/store", ws.bcd.multi, "/set", "{11111111-2222-3333-4444-555555555555}", "testsigning", "on"]),
  },
  {
    name: "bcd: store missing (winpe bcd)",
    area: "bcd",
    via: "winpe bcd /store <file> /enum",
    bad: "the store file does not exist",
    expect: (ws) => new RegExp(`${esc(ws.at("bcd/none.bcd"))}.*no such file`),
    run: async ({ ws }) => winpe(["bcd", "/store", ws.at("bcd/none.bcd"), "/enum", "all"]),
  },
  {
    name: "bcd: store is a folder (winpe bcd)",
    area: "bcd",
    via: "winpe bcd /store <folder> /set ...",
    bad: "the store path is a folder",
    expect: (ws) => new RegExp(`${esc(ws.at("bcd"))}: .*(not a regular file|folder)`),
    run: async ({ ws }) => winpe(["bcd", "/store", ws.at("bcd"), "/set", "{default}", "testsigning", "on"]),
  },
  {
    name: "bcd: dbgsettings port 80 (winpe bcd)",
    area: "bcd",
    via: "winpe bcd /store <file> /dbgsettings net hostip:... port:80",
    bad: "port 80 (not 49152-65535)",
    expect: /port:80: the port must be a number from 49152 to 65535/,
    run: async ({ ws }) =>
      winpe(["bcd", "/store", ws.amd64.efiStore, "/dbgsettings", "net", "hostip:10.0.2.2", "port:80", "key:1.2.3.4"]),
  },
  {
    name: "bcd: dbgsettings bad key (winpe bcd)",
    area: "bcd",
    via: "winpe bcd /store <file> /dbgsettings net ... key:a.b",
    bad: "a KDNET key of two words",
    expect: /key:a\.b: a key is four dot-separated words/,
    run: async ({ ws }) =>
      winpe(["bcd", "/store", ws.amd64.efiStore, "/dbgsettings", "net", "hostip:10.0.2.2", "port:50005", "key:a.b"]),
  },
  {
    name: "bcd: dbgsettings bad hostip (winpe bcd)",
    area: "bcd",
    via: "winpe bcd /store <file> /dbgsettings net hostip:300.1.1.1 ...",
    bad: "hostip 300.1.1.1",
    expect: /300\.1\.1\.1/,
    run: async ({ ws }) =>
      winpe([
        "bcd",
        "/store",
        ws.amd64.efiStore,
        "/dbgsettings",
        "net",
        "hostip:300.1.1.1",
        "port:50005",
        "key:1.2.3.4",
      ]),
  },

  // ---- BCD stores through the BcdSettings provider
  ...bcdCorruptions.slice(0, 3).map<BadInputCase>((c) => ({
    name: `bcd: ${c.name} (BcdSettings create)`,
    area: "bcd",
    via: "BcdSettings provider create",
    bad: c.bad,
    expect: (ws) => new RegExp(`'stores' ${esc(ws.at(BAD_STORE))}.*${c.expect.source}`),
    setup: (ws) => mutated(ws.bcd.multi, ws.at(BAD_STORE), c.mutate),
    run: async ({ ws }) => rejects(() => bcdP.create(bcdInputs(ws, [ws.at(BAD_STORE)]))),
  })),
  {
    name: "bcd: store missing (BcdSettings create)",
    area: "bcd",
    via: "BcdSettings provider create",
    bad: "the store file does not exist",
    expect: (ws) => lit(ws.at("bcd/none.bcd")),
    run: async ({ ws }) => rejects(() => bcdP.create(bcdInputs(ws, [ws.at("bcd/none.bcd")]))),
  },
  {
    name: "bcd: no default (BcdSettings create)",
    area: "bcd",
    via: "BcdSettings provider create",
    bad: "object {default} in a store whose {bootmgr} has no default",
    expect: (ws) => new RegExp(`'object' \\{default\\} in ${esc(ws.bcd.nodefault)}`),
    run: async ({ ws }) => rejects(() => bcdP.create(bcdInputs(ws, [ws.bcd.nodefault]))),
  },
  {
    name: "bcd: unknown object (BcdSettings create)",
    area: "bcd",
    via: "BcdSettings provider create",
    bad: "object names a GUID the store does not have",
    expect: /'object' \{11111111-2222-3333-4444-555555555555\}/,
    run: async ({ ws }) =>
      rejects(() => bcdP.create(bcdInputs(ws, [ws.bcd.multi], { object: "{11111111-2222-3333-4444-555555555555}" }))),
  },
  {
    name: "bcd: second store corrupt (BcdSettings create)",
    area: "bcd",
    via: "BcdSettings provider create",
    bad: "stores [good EFI store, truncated store]: the second is bad",
    expect: (ws) => new RegExp(`'stores' ${esc(ws.at(BAD_STORE))}.*truncated`),
    setup: (ws) => mutated(ws.bcd.multi, ws.at(BAD_STORE), (b) => b.subarray(0, b.length - 100)),
    run: async ({ ws }) => rejects(() => bcdP.create(bcdInputs(ws, [ws.amd64.efiStore, ws.at(BAD_STORE)]))),
  },
  {
    name: "bcd: kdnet port 80 (BcdSettings check)",
    area: "bcd",
    via: "BcdSettings provider check",
    bad: "kdnet.port 80",
    expect: /'kdnet\.port'/,
    run: async ({ ws }) =>
      checkFails(() =>
        bcdP.check({}, bcdInputs(ws, [ws.amd64.efiStore], { kdnet: { hostIp: "10.0.2.2", port: 80, key: "1.2.3.4" } })),
      ),
  },
  {
    name: "bcd: kdnet key malformed (BcdSettings check)",
    area: "bcd",
    via: "BcdSettings provider check",
    bad: "kdnet.key 1..2.3",
    expect: /'kdnet\.key'/,
    run: async ({ ws }) =>
      checkFails(() =>
        bcdP.check(
          {},
          bcdInputs(ws, [ws.amd64.efiStore], { kdnet: { hostIp: "10.0.2.2", port: 50005, key: "1..2.3" } }),
        ),
      ),
  },
  {
    name: "bcd: relative store path (BcdSettings check)",
    area: "bcd",
    via: "BcdSettings provider check",
    bad: "stores ['media/EFI/Microsoft/Boot/BCD'] (relative)",
    expect: /'stores\[0\]': must be an absolute path/,
    run: async ({ ws }) => checkFails(() => bcdP.check({}, bcdInputs(ws, ["media/EFI/Microsoft/Boot/BCD"]))),
  },

  // ---- WIMs
  {
    name: "wim: missing (MountedImage create)",
    area: "wim",
    via: "MountedImage provider create",
    bad: "boot.wim was deleted",
    expect: (ws) => new RegExp(`'wim' ${esc(ws.amd64.wim)} does not exist`),
    setup: (ws) => fs.rmSync(ws.amd64.wim),
    run: async ({ ws }) => rejects(() => mountP.create(mountInputs(ws))),
  },
  {
    name: "wim: not a WIM (MountedImage create)",
    area: "wim",
    via: "MountedImage provider create",
    bad: "boot.wim holds text",
    expect: (ws) => new RegExp(`'wim' ${esc(ws.amd64.wim)} is not a WIM file`),
    setup: (ws) => fs.writeFileSync(ws.amd64.wim, "this is not a WIM\n"),
    run: async ({ ws }) => rejects(() => mountP.create(mountInputs(ws))),
  },
  {
    name: "wim: wrong index (MountedImage create)",
    area: "wim",
    via: "MountedImage provider create",
    bad: "index 4 of a one-image WIM",
    expect: (ws) => new RegExp(`'imageIndex' 4 does not exist in ${esc(ws.amd64.wim)}`),
    run: async ({ ws }) => rejects(() => mountP.create(mountInputs(ws, { index: 4 }))),
  },
  {
    name: "wim: index 0 (MountedImage check)",
    area: "wim",
    via: "MountedImage provider check",
    bad: "index 0",
    expect: /'index'/,
    run: async ({ ws }) => checkFails(() => mountP.check({}, mountInputs(ws, { index: 0 }))),
  },
  {
    name: "wim: not .wim (MountedImage check)",
    area: "wim",
    via: "MountedImage provider check",
    bad: "wim names boot.esd",
    expect: /'wim': must end in \.wim/,
    run: async ({ ws }) =>
      checkFails(() => mountP.check({}, mountInputs(ws, { wim: ws.at("WinPE_amd64/media/sources/boot.esd") }))),
  },
  {
    name: "wim: mount folder not empty (MountedImage create)",
    area: "wim",
    via: "MountedImage provider create",
    bad: "the mount folder holds a stranger's file",
    expect: (ws) => new RegExp(`'mountDir' ${esc(ws.amd64.mount)} is not empty`),
    setup: (ws) => fs.writeFileSync(path.join(ws.amd64.mount, "someone-elses.txt"), "keep me\n"),
    run: async ({ ws }) => rejects(() => mountP.create(mountInputs(ws))),
  },
  {
    name: "wim: not a WIM (winpe makemedia)",
    area: "wim",
    via: "winpe makemedia /iso <dir> <iso>",
    bad: "media/sources/boot.wim holds text",
    expect: /boot\.wim/,
    setup: (ws) => fs.writeFileSync(ws.amd64.wim, "this is not a WIM\n"),
    run: async ({ ws }) => winpe(["makemedia", "/iso", ws.amd64.dir, ws.at("winpe.iso")]),
  },
  {
    name: "wim: missing (winpe makemedia)",
    area: "wim",
    via: "winpe makemedia /iso <dir> <iso>",
    bad: "media/sources/boot.wim was deleted",
    expect: /boot\.wim/,
    setup: (ws) => fs.rmSync(ws.amd64.wim),
    run: async ({ ws }) => winpe(["makemedia", "/iso", ws.amd64.dir, ws.at("winpe.iso")]),
  },
  {
    name: "wim: working folder missing (winpe makemedia)",
    area: "wim",
    via: "winpe makemedia /iso <dir> <iso>",
    bad: "the working folder does not exist",
    expect: (ws) => new RegExp(`'workDir' ${esc(ws.at("WinPE_none"))} is not an existing folder`),
    run: async ({ ws }) => winpe(["makemedia", "/iso", ws.at("WinPE_none"), ws.at("winpe.iso")]),
  },

  // ---- projects
  {
    name: "project: missing (planBuild)",
    area: "project",
    via: "planBuild",
    bad: "the solution does not exist",
    expect: (ws) => new RegExp(`${esc(ws.at("ioctl/none.sln"))}: solution file not found`),
    run: async ({ ws }) =>
      rejects(() => planBuild({ project: ws.at("ioctl/none.sln"), configuration: "Debug", platform: "x64" })),
  },
  {
    name: "project: missing source (planBuild)",
    area: "project",
    via: "planBuild",
    bad: "sys/sioctl.c was deleted",
    expect: (ws) => new RegExp(`${esc(ws.ioctl.sysProject)}:\\d+: source file 'sioctl\\.c' not found`),
    setup: (ws) => fs.rmSync(ws.ioctl.sysSource),
    run: async ({ ws }) => rejects(() => planBuild({ project: ws.ioctl.sln, configuration: "Debug", platform: "x64" })),
  },
  {
    name: "project: vcxproj not XML (planBuild)",
    area: "project",
    via: "planBuild",
    bad: "sioctl.vcxproj holds plain text",
    expect: (ws) => lit(ws.ioctl.sysProject),
    setup: (ws) => fs.writeFileSync(ws.ioctl.sysProject, "this is not XML at all\n"),
    run: async ({ ws }) =>
      rejects(() => planBuild({ project: ws.ioctl.sysProject, configuration: "Debug", platform: "x64" })),
  },
  {
    name: "project: platform the project lacks (planBuild)",
    area: "project",
    via: "planBuild",
    bad: "sioctl.vcxproj without its Debug|ARM64 configuration, built for ARM64",
    expect: (ws) => new RegExp(`${esc(ws.ioctl.sysProject)}.*no configuration 'Debug\\|ARM64'`),
    setup: (ws) => dropConfiguration(ws.ioctl.sysProject, "Debug|ARM64"),
    run: async ({ ws }) =>
      rejects(() => planBuild({ project: ws.ioctl.sysProject, configuration: "Debug", platform: "ARM64" })),
  },
  {
    name: "project: not a project file (planBuild)",
    area: "project",
    via: "planBuild",
    bad: "project names sioctl.c",
    expect: /'project' must be a \.sln or \.vcxproj file/,
    run: async ({ ws }) =>
      rejects(() => planBuild({ project: ws.ioctl.sysSource, configuration: "Debug", platform: "x64" })),
  },
  {
    name: "project: unknown platform (planBuild)",
    area: "project",
    via: "planBuild",
    bad: "platform Win32",
    expect: /'platform' must be x64 or ARM64/,
    run: async ({ ws }) =>
      rejects(() => planBuild({ project: ws.ioctl.sln, configuration: "Debug", platform: "Win32" as "x64" })),
  },
  {
    name: "project: outDir is a file (buildProject)",
    area: "project",
    via: "buildProject",
    bad: "outDir names an existing file",
    expect: (ws) => new RegExp(`'outDir' ${esc(ws.at("out"))} exists and is not a folder`),
    setup: (ws) => fs.writeFileSync(ws.at("out"), "a file\n"),
    run: async ({ ws }) =>
      rejects(() =>
        buildProject({ project: ws.ioctl.sln, configuration: "Debug", platform: "x64", outDir: ws.at("out") }),
      ),
  },
  {
    name: "project: missing source (winpe build)",
    area: "project",
    via: "winpe build <sln> ...",
    bad: "sys/sioctl.c was deleted",
    expect: /source file 'sioctl\.c' not found/,
    setup: (ws) => fs.rmSync(ws.ioctl.sysSource),
    run: async ({ ws }) =>
      winpe(["build", ws.ioctl.sln, "--configuration", "Debug", "--platform", "x64", "--out", ws.at("out")]),
  },
  {
    name: "project: vcxproj not XML (winpe build)",
    area: "project",
    via: "winpe build <sln> ...",
    bad: "exe/ioctlapp.vcxproj holds plain text",
    expect: /ioctlapp\.vcxproj/,
    setup: (ws) => fs.writeFileSync(ws.ioctl.appProject, "<Project><unclosed>\n"),
    run: async ({ ws }) =>
      winpe(["build", ws.ioctl.sln, "--configuration", "Debug", "--platform", "x64", "--out", ws.at("out")]),
  },
  {
    name: "project: platform the project lacks (winpe build)",
    area: "project",
    via: "winpe build <sln> --platform ARM64",
    bad: "the solution maps Debug|ARM64 to a configuration sioctl.vcxproj no longer has",
    expect: /sioctl\.vcxproj.*'Debug\|ARM64'/,
    setup: (ws) => dropConfiguration(ws.ioctl.sysProject, "Debug|ARM64"),
    run: async ({ ws }) =>
      winpe(["build", ws.ioctl.sln, "--configuration", "Debug", "--platform", "ARM64", "--out", ws.at("out")]),
  },

  // ---- binaries of the wrong architecture
  {
    name: "arch: ARM64 driver where x64 is expected (verifyBuiltFile)",
    area: "arch",
    via: "verifyBuiltFile",
    bad: "sioctl.sys built for ARM64, checked as an x64 driver",
    expect: /sioctl\.sys is built for machine 0xAA64, not 0x8664 \(x64\): wrong architecture/,
    run: async ({ ws }) => rejects(() => verifyBuiltFile(ws.arm64Sys, { kind: "driver", platform: "x64" })),
  },
  {
    name: "arch: ARM64 media as amd64 (makeMedia)",
    area: "arch",
    via: "makeMedia(arm64 working folder, { arch: amd64 })",
    bad: "an arm64 working folder made into amd64 media",
    expect: (ws) => new RegExp(`${esc(ws.arm64.media)} has no EFI/Boot/bootx64\\.efi: it is not amd64 media`),
    run: async ({ ws }) => rejects(() => makeMedia(ws.arm64.dir, ws.at("winpe.iso"), { arch: "amd64" })),
  },
  {
    name: "arch: ARM64 boot file named bootx64.efi (winpe makemedia)",
    area: "arch",
    via: "winpe makemedia /iso <dir> <iso>",
    bad: "media/EFI/Boot/bootx64.efi is the ARM64 boot application",
    expect: /bootx64\.efi is ARM64, not x64/i,
    setup: (ws) =>
      fs.copyFileSync(
        path.join(ws.arm64.media, "EFI", "Boot", "bootaa64.efi"),
        path.join(ws.amd64.media, "EFI", "Boot", "bootx64.efi"),
      ),
    run: async ({ ws }) => winpe(["makemedia", "/iso", ws.amd64.dir, ws.at("winpe.iso")]),
  },
  {
    name: "arch: unknown architecture (copype)",
    area: "arch",
    via: "copype",
    bad: "copype x86",
    expect: /x86/,
    run: async ({ ws }) => rejects(() => copype("x86" as "amd64", ws.at("WinPE_x86"))),
  },

  // ---- destinations that escape the image
  destination("..", ["Windows/../../etc/passwd"], /contains '\.\.': destinations must stay inside the image/),
  destination("absolute", ["/Windows/Ioctl/sioctl.sys"], /is absolute: use a path relative to the image root/),
  destination("drive letter", ["C:\\Windows\\Ioctl\\sioctl.sys"], /has a drive letter/),
  destination("drive-relative C:", ["C:sioctl.sys"], /has a drive letter/),
  destination("\\\\?\\ device path", ["\\\\?\\C:\\Windows\\sioctl.sys"], /UNC or device path/),
  destination("UNC path", ["\\\\server\\share\\sioctl.sys"], /UNC or device path/),
  destination("NUL character", ["Windows/Ioctl/sioctl\0.sys"], /NUL character/),
  destination("CON device name", ["Windows/CON"], /reserved device name 'CON'/),
  destination("nul.sys device name", ["Windows/Ioctl/nul.sys"], /reserved device name 'nul\.sys'/),
  destination("case collision", ["Windows/Ioctl/sioctl.sys", "windows/IOCTL/SIOCTL.SYS"], /differ only in case/),
  destination("file used as a folder", ["Windows/Ioctl", "Windows/Ioctl/sioctl.sys"], /is a file and also a folder/),
  destination("trailing dot", ["Windows/Ioctl/sioctl.sys."], /ends in a dot or space/),
  injectCheck("..", "..\\..\\Windows\\System32\\evil.sys", /'files'.*contains '\.\.'/),
  injectCheck("drive letter", "C:\\Windows\\evil.sys", /'files'.*drive letter/),
  injectCheck("CON", "Windows\\Ioctl\\con", /'files'.*reserved device name/),
  {
    name: "destination: case collision (InjectedFiles check)",
    area: "destination",
    via: "InjectedFiles provider check",
    bad: "Windows/Ioctl/sioctl.sys and WINDOWS/ioctl/SIOCTL.sys",
    expect: /'files'.*differ only in case/,
    run: async ({ ws }) =>
      checkFails(() =>
        injectP.check(
          {},
          {
            mount: mountRef(ws),
            files: {
              "Windows/Ioctl/sioctl.sys": { source: ws.arm64Sys },
              "WINDOWS/ioctl/SIOCTL.sys": { source: ws.arm64Sys },
            },
          },
        ),
      ),
  },
  {
    name: "destination: .. (InjectedFiles create)",
    area: "destination",
    via: "InjectedFiles provider create",
    bad: "destination ../outside.sys handed straight to create",
    expect: /'files'.*contains '\.\.'/,
    run: async ({ ws }) =>
      rejects(() => injectP.create({ mount: mountRef(ws), files: { "../outside.sys": { source: ws.arm64Sys } } })),
  },
  {
    name: "destination: source missing (InjectedFiles create)",
    area: "destination",
    via: "InjectedFiles provider create",
    bad: "the source file of Windows/Ioctl/sioctl.sys does not exist",
    expect: (ws) =>
      new RegExp(`'files\\["Windows/Ioctl/sioctl\\.sys"\\]\\.source' ${esc(ws.at("build/sioctl.sys"))} does not exist`),
    run: async ({ ws }) =>
      rejects(() =>
        injectP.create({
          mount: mountRef(ws),
          files: { "Windows/Ioctl/sioctl.sys": { source: ws.at("build/sioctl.sys") } },
        }),
      ),
  },

  // ---- an ISO path that is a folder
  {
    name: "iso: path is a folder (WinPeIso create)",
    area: "iso",
    via: "WinPeIso provider create",
    bad: "isoPath names a folder called winpe.iso",
    expect: (ws) => new RegExp(`'isoPath' ${esc(ws.at("winpe.iso"))} is a folder`),
    setup: (ws) => fs.mkdirSync(ws.at("winpe.iso")),
    run: async ({ ws }) =>
      rejects(() =>
        isoP.create({
          toolchain: "open",
          arch: "amd64",
          workspace: ws.amd64.dir,
          isoPath: ws.at("winpe.iso"),
          contentHashes: {},
        }),
      ),
  },
  {
    name: "iso: path is a folder (winpe makemedia)",
    area: "iso",
    via: "winpe makemedia /iso /f <dir> <iso>",
    bad: "the ISO path names a folder (even with /f)",
    expect: (ws) => new RegExp(`'isoPath' ${esc(ws.at("winpe.iso"))} is a folder`),
    setup: (ws) => fs.mkdirSync(ws.at("winpe.iso")),
    run: async ({ ws }) => winpe(["makemedia", "/iso", "/f", ws.amd64.dir, ws.at("winpe.iso")]),
  },
  {
    name: "iso: exists without /f (winpe makemedia)",
    area: "iso",
    via: "winpe makemedia /iso <dir> <iso>",
    bad: "the ISO exists and /f is not given",
    expect: (ws) => new RegExp(`'isoPath' ${esc(ws.at("winpe.iso"))} already exists`),
    setup: (ws) => fs.writeFileSync(ws.at("winpe.iso"), "an older ISO\n"),
    run: async ({ ws }) => winpe(["makemedia", "/iso", ws.amd64.dir, ws.at("winpe.iso")]),
  },
  {
    name: "iso: inside the media folder (winpe makemedia)",
    area: "iso",
    via: "winpe makemedia /iso <dir> <iso>",
    bad: "the ISO would be written into media/ (it would contain itself)",
    expect: /'isoPath' .* is inside the media folder/,
    run: async ({ ws }) => winpe(["makemedia", "/iso", ws.amd64.dir, path.join(ws.amd64.media, "winpe.iso")]),
  },
  {
    name: "iso: not .iso (WinPeIso check)",
    area: "iso",
    via: "WinPeIso provider check",
    bad: "isoPath ends in .img",
    expect: /'isoPath': must end in \.iso/,
    run: async ({ ws }) =>
      checkFails(() =>
        isoP.check(
          {},
          { toolchain: "open", arch: "amd64", workspace: ws.amd64.dir, isoPath: ws.at("winpe.img"), contentHashes: {} },
        ),
      ),
  },

  // ---- missing tools (PATH without them)
  {
    name: "tool: wimlib-imagex missing (MountedImage create)",
    area: "tool",
    via: "MountedImage provider create, PATH without wimlib-imagex",
    bad: "wimlib-imagex is not installed",
    expect: /'wimlib-imagex' was not found on PATH \(Debian package wimtools\): run 'npm run setup'/,
    run: async ({ ws }) => withPath(ws.bareBin, () => rejects(() => mountP.create(mountInputs(ws)))),
  },
  {
    name: "tool: xorriso missing (winpe makemedia)",
    area: "tool",
    via: "winpe makemedia, PATH without xorriso",
    bad: "xorriso is not installed",
    expect: /'xorriso' was not found on PATH \(Debian package xorriso\): run 'npm run setup'/,
    run: async ({ ws }) => winpe(["makemedia", "/iso", ws.amd64.dir, ws.at("winpe.iso")], { bare: ws.bareBin }),
  },
  {
    name: "tool: clang missing (winpe build)",
    area: "tool",
    via: "winpe build, PATH without clang",
    bad: "clang is not installed",
    expect: /'clang' was not found on PATH \(Debian package clang\): run 'npm run setup'/,
    run: async ({ ws }) =>
      winpe(["build", ws.ioctl.sln, "--configuration", "Debug", "--platform", "x64", "--out", ws.at("out")], {
        bare: ws.bareBin,
      }),
  },
  {
    name: "tool: openssl missing (TestCertificate create)",
    area: "tool",
    via: "TestCertificate provider create, PATH without openssl",
    bad: "openssl is not installed",
    expect: /'openssl' was not found on PATH \(Debian package openssl\): run 'npm run setup'/,
    run: async ({ ws }) =>
      withPath(ws.bareBin, () =>
        rejects(() =>
          certP.create({ toolchain: "open", subject: "CN=winpe-lab bad inputs", certDir: path.join(ws.state, "cert") }),
        ),
      ),
  },
  {
    name: "tool: xorriso missing (WinPeIso create)",
    area: "tool",
    via: "WinPeIso provider create, PATH without xorriso",
    bad: "xorriso is not installed",
    expect: /'xorriso' was not found on PATH/,
    run: async ({ ws }) =>
      withPath(ws.bareBin, () =>
        rejects(() =>
          isoP.create({
            toolchain: "open",
            arch: "amd64",
            workspace: ws.amd64.dir,
            isoPath: ws.at("winpe.iso"),
            contentHashes: {},
          }),
        ),
      ),
  },
];

/** Remove one `<ProjectConfiguration Include="...">` item from a .vcxproj. */
function dropConfiguration(file: string, include: string): void {
  const text = fs.readFileSync(file, "utf8");
  const re = new RegExp(`\\s*<ProjectConfiguration Include="${esc(include)}">[\\s\\S]*?</ProjectConfiguration>`);
  if (!re.test(text)) throw new Error(`${file} has no ProjectConfiguration ${include}`);
  fs.writeFileSync(file, text.replace(re, ""));
}
