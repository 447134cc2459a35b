/**
 * Scratch demo stacks for the fault and lock suites: like test/helpers/demo-stack.ts (the real program on the real
 * engine, its own state backend, lock folder, tool log), made from a per-architecture template that is copied per
 * stack, and driven through the CLI as a user would (`pulumi up`, `pulumi cancel`, `pulumi refresh ...`), with a
 * way to run `pulumi up` as a child process we control (and kill).
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { privateDirFor } from "../../resources/mounted-image";
import { copype } from "../../toolchains/open/copype";
import type { DemoArch } from "../helpers/demo-stack";
import { engineEnv, openStack, REPO_ROOT, scratchDir, TOOLS_BIN, writeWinpeProgram } from "../helpers/pulumi";
import { wimContent } from "../helpers/wim";

/**
 * One scratch demo stack per architecture, made once and copied for each fault point: copype's working folder, a
 * copy of examples/ioctl, the program, and the stack itself (its file state backend with the stack created, and
 * `Pulumi.<stack>.yaml` with the encrypted KDNET key). Its config names the folders relative to the program folder
 * (the program resolves them against it), so a copy is a complete stack of its own.
 */
export interface Template {
  arch: DemoArch;
  dir: string;
  name: string;
  /** The BCD stores (media-relative) and their bytes right after copype. */
  pristineStores: Record<string, Buffer>;
  /** boot.wim image 1 right after copype: file -> sha256. */
  pristineWim: Record<string, string>;
}

const wsName = (arch: DemoArch) => (arch === "amd64" ? "WinPE_amd64" : "WinPE_arm64");

/** The demo stack's config (as in test/helpers/demo-stack.ts), with the paths given. */
function demoConfig(
  arch: DemoArch,
  paths: { workspace: string; project: string; iso: string },
  bootCheck = true,
): Record<string, { value: string; secret?: boolean }> {
  return {
    "winpe-lab:toolchain": { value: "open" },
    "winpe-lab:arch": { value: arch },
    "winpe-lab:workspace": { value: paths.workspace },
    "winpe-lab:project": { value: paths.project },
    "winpe-lab:injectDir": { value: "Windows/Ioctl" },
    "winpe-lab:bcd": {
      value: JSON.stringify({ stores: arch === "amd64" ? "both" : "efi", testsigning: true, debug: true }),
    },
    "winpe-lab:kdnet": { value: JSON.stringify({ hostIp: "10.0.2.2", port: 50005, key: "7.7.7.7" }), secret: true },
    "winpe-lab:iso": { value: JSON.stringify({ path: paths.iso }) },
    "winpe-lab:vm": { value: JSON.stringify({ bootCheck }) },
    // the campaigns (kills, full disks, locks) test how the media converge; the driver test has suites of its own
    // (test/e2e/driver-test.test.ts, test/providers/driver-test.test.ts), and its Wine prefix (~700 MB) would not
    // fit the disk-full campaign's small tmpfs
    "winpe-lab:test": { value: JSON.stringify({ enabled: false }) },
  };
}

/** The program as the product runs it (compiled, no TypeScript at run time): winpeProgram of dist/. */
export function writeCompiledProgram(programDir: string): void {
  writeWinpeProgram(programDir);
}

export async function makeTemplate(arch: DemoArch, root: string): Promise<Template> {
  const dir = path.join(root, `template-${arch}`);
  fs.mkdirSync(dir, { recursive: true });
  const cp = await copype(arch, path.join(dir, wsName(arch)));
  fs.cpSync(path.join(REPO_ROOT, "examples", "ioctl"), path.join(dir, "src"), { recursive: true });
  fs.mkdirSync(path.join(dir, "out"), { recursive: true });
  fs.mkdirSync(path.join(dir, "tmp"), { recursive: true });
  const programDir = path.join(dir, "program");
  writeCompiledProgram(programDir);
  const name = `faults-${arch}`;
  const stack = await openStack(programDir, name, path.join(dir, "state"));
  await stack.setAllConfig(
    demoConfig(arch, { workspace: `../${wsName(arch)}`, project: "../src/ioctl.sln", iso: `../out/winpe_${arch}.iso` }),
  );
  const pristineStores: Record<string, Buffer> = {};
  for (const s of cp.bcdStores)
    pristineStores[path.relative(cp.media, s).split(path.sep).join("/")] = fs.readFileSync(s);
  return { arch, dir, name, pristineStores, pristineWim: await wimContent(cp.bootWim, root) };
}

export interface FaultStack {
  arch: DemoArch;
  name: string;
  dir: string;
  programDir: string;
  stateDir: string;
  workspace: string;
  mediaDir: string;
  wim: string;
  mountDir: string;
  privateDir: string;
  isoPath: string;
  vmDir: string;
  certFile: string;
  src: string;
  toolLog: string;
  lockDir: string;
  /** TMPDIR of every engine run of this stack (so leftovers of os.tmpdir() users are visible). */
  tmpDir: string;
  stores: string[];
  /** The Automation API's view of the stack (stacks made by openFaultStack only). */
  stack?: Stack;
  /** The engine environment (as test/helpers/pulumi.ts engineEnv makes it). */
  env: Record<string, string>;
  cleanup(): Promise<void>;
}

function describeStack(
  arch: DemoArch,
  name: string,
  dir: string,
  paths: { workspace: string; lockDir: string; isoPath: string },
  stack: Stack | undefined,
  cleanup: () => Promise<void>,
): FaultStack {
  const stateDir = path.join(dir, "state");
  const toolLog = path.join(dir, "tools.jsonl");
  const tmpDir = path.join(dir, "tmp");
  fs.mkdirSync(tmpDir, { recursive: true });
  const { workspace, lockDir } = paths;
  const mediaDir = path.join(workspace, "media");
  const mountDir = path.join(workspace, "mount");
  const stores = [path.join(mediaDir, "EFI", "Microsoft", "Boot", "BCD")];
  if (arch === "amd64") stores.push(path.join(mediaDir, "Boot", "BCD"));
  return {
    arch,
    name,
    dir,
    programDir: path.join(dir, "program"),
    stateDir,
    workspace,
    mediaDir,
    wim: path.join(mediaDir, "sources", "boot.wim"),
    mountDir,
    privateDir: privateDirFor("open", mountDir),
    isoPath: paths.isoPath,
    vmDir: path.join(workspace, ".winpe-lab", "vm", `winpe-lab-${name}`),
    certFile: path.join(workspace, ".winpe-lab", "cert", "winpe-lab-test.crt"),
    src: path.join(dir, "src"),
    toolLog,
    lockDir,
    tmpDir,
    stores,
    stack,
    env: engineEnv(stateDir, { WINPE_TOOL_LOG: toolLog, WINPE_LAB_LOCK_DIR: lockDir, TMPDIR: tmpDir }),
    cleanup,
  };
}

/** A copy of the template's stack in a new folder under `root` (no engine run: the copy is the whole stack). */
export function cloneStack(t: Template, root: string, label: string): FaultStack {
  const dir = fs.mkdtempSync(path.join(root, `${label}-`));
  fs.cpSync(t.dir, dir, { recursive: true, preserveTimestamps: true });
  const paths = {
    workspace: path.join(dir, wsName(t.arch)),
    lockDir: path.join(dir, "locks"),
    isoPath: path.join(dir, "out", `winpe_${t.arch}.iso`),
  };
  return describeStack(t.arch, t.name, dir, paths, undefined, async () =>
    fs.rmSync(dir, { recursive: true, force: true }),
  );
}

/**
 * A stack of the demo program through the Automation API, in a new folder (under `root`, else `.work/tmp`), with
 * absolute paths in its config: its own copy of the template's working folder or `workspace` (shared with another
 * stack), its own lock folder or `lockDir`.
 */
export async function openFaultStack(
  t: Template,
  opts: {
    root?: string;
    label: string;
    name?: string;
    bootCheck?: boolean;
    workspace?: string;
    lockDir?: string;
    /** Where the ISO goes. @default `<stack folder>/out/winpe_<arch>.iso` */
    isoPath?: string;
  },
): Promise<FaultStack> {
  const dir = opts.root ? fs.mkdtempSync(path.join(opts.root, `${opts.label}-`)) : scratchDir(`faults-${opts.label}`);
  const workspace = opts.workspace ?? path.join(dir, wsName(t.arch));
  if (!opts.workspace) fs.cpSync(path.join(t.dir, wsName(t.arch)), workspace, { recursive: true });
  fs.cpSync(path.join(t.dir, "src"), path.join(dir, "src"), { recursive: true });
  writeCompiledProgram(path.join(dir, "program"));
  const name = opts.name ?? `faults-${t.arch}`;
  const paths = {
    workspace,
    lockDir: opts.lockDir ?? path.join(dir, "locks"),
    isoPath: opts.isoPath ?? path.join(dir, "out", `winpe_${t.arch}.iso`),
  };
  fs.mkdirSync(path.dirname(paths.isoPath), { recursive: true });
  const draft = describeStack(t.arch, name, dir, paths, undefined, async () => undefined);
  const stack = await openStack(draft.programDir, name, draft.stateDir, {
    WINPE_TOOL_LOG: draft.toolLog,
    WINPE_LAB_LOCK_DIR: draft.lockDir,
    TMPDIR: draft.tmpDir,
  });
  await stack.setAllConfig(
    demoConfig(
      t.arch,
      { workspace, project: path.join(draft.src, "ioctl.sln"), iso: paths.isoPath },
      opts.bootCheck ?? true,
    ),
  );
  return describeStack(t.arch, name, dir, paths, stack, async () => {
    await stack.workspace.removeStack(name, { force: true }).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });
}

/** The stack's checkpoint (file backend), or undefined when there is none yet. */
export function readCheckpoint(s: FaultStack): { resources: Array<{ type: string }>; pending: string[] } | undefined {
  const file = path.join(s.stateDir, ".pulumi", "stacks", "winpe-lab", `${s.name}.json`);
  if (!fs.existsSync(file)) return undefined;
  const j = JSON.parse(fs.readFileSync(file, "utf8")) as {
    checkpoint?: {
      latest?: {
        resources?: Array<{ type: string }>;
        pending_operations?: Array<{ type: string; resource: { type: string } }>;
      };
    };
  };
  const latest = j.checkpoint?.latest;
  return {
    resources: latest?.resources ?? [],
    pending: (latest?.pending_operations ?? []).map((o) => `${o.resource.type.split(":").pop()} ${o.type}`),
  };
}

/** Lock files of the file backend's stack lock (`.pulumi/locks/...`), one per running (or killed) update. */
export function stackLocks(s: FaultStack): string[] {
  const dir = path.join(s.stateDir, ".pulumi", "locks");
  const out: string[] = [];
  const walk = (d: string) => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else out.push(path.join(d, e.name));
    }
  };
  walk(dir);
  return out;
}

function engineProcessEnv(s: FaultStack, extraEnv: Record<string, string>): NodeJS.ProcessEnv {
  const env: Record<string, string | undefined> = { ...process.env, ...s.env, ...extraEnv };
  if (extraEnv.NODE_OPTIONS && process.env.NODE_OPTIONS)
    env.NODE_OPTIONS = `${process.env.NODE_OPTIONS} ${extraEnv.NODE_OPTIONS}`;
  return env as NodeJS.ProcessEnv;
}

/** `pulumi <args>` as a detached child of ours (its own process group), output appended to `logFile`. */
export function spawnPulumi(
  s: FaultStack,
  args: string[],
  extraEnv: Record<string, string>,
  logFile: string,
): ReturnType<typeof spawn> {
  const out = fs.openSync(logFile, "a");
  try {
    return spawn(path.join(TOOLS_BIN, "pulumi"), args, {
      cwd: s.programDir,
      env: engineProcessEnv(s, extraEnv),
      detached: true,
      stdio: ["ignore", out, out],
    });
  } finally {
    fs.closeSync(out);
  }
}

/**
 * `pulumi <args> --stack <name> --non-interactive`, run to completion, as a user types it: the pulumi binary, or
 * with `viaScript` the project's `npm run -s pulumi` (scripts/pulumi.sh, with `--cwd` at the stack's program). The
 * output is appended to `<stack folder>/engine.log` and returned.
 */
export function pulumiCli(
  s: FaultStack,
  args: string[],
  extraEnv: Record<string, string> = {},
  viaScript = false,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const full = [...args, "--stack", s.name, "--non-interactive"];
    const c = viaScript
      ? spawn("bash", [path.join(REPO_ROOT, "scripts", "pulumi.sh"), ...full, "--cwd", s.programDir], {
          cwd: REPO_ROOT,
          env: engineProcessEnv(s, extraEnv),
          stdio: ["ignore", "pipe", "pipe"],
        })
      : spawn(path.join(TOOLS_BIN, "pulumi"), full, {
          cwd: s.programDir,
          env: engineProcessEnv(s, extraEnv),
          stdio: ["ignore", "pipe", "pipe"],
        });
    const chunks: Buffer[] = [];
    c.stdout.on("data", (d: Buffer) => chunks.push(d));
    c.stderr.on("data", (d: Buffer) => chunks.push(d));
    c.on("close", (code) => {
      const output = Buffer.concat(chunks).toString("utf8");
      const cmd = `${viaScript ? "scripts/pulumi.sh" : "pulumi"} ${args.join(" ")}`;
      fs.appendFileSync(path.join(s.dir, "engine.log"), `$ ${cmd}\n${output}\n[exit ${code}]\n`);
      resolve({ code, output });
    });
  });
}
