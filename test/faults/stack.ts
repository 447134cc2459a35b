/**
 * Scratch demo stacks for the fault and lock suites: like test/helpers/demo-stack.ts (the real program on the real
 * engine, its own state backend, lock folder and tool log), but made from a per-architecture template (one copype,
 * one copy of examples/ioctl) copied per stack, and with a way to run `pulumi up` as a child process we control.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { privateDirFor } from "../../resources/mounted-image";
import { copype } from "../../resources/toolchains/open/copype";
import { type DemoArch, writeProgram } from "../helpers/demo-stack";
import { engineEnv, openStack, REPO_ROOT, scratchDir, TOOLS_BIN } from "../helpers/pulumi";
import { wimContent } from "../helpers/wim";

/** One copype working folder and one copy of the sources per architecture, copied for each stack. */
export interface Template {
  arch: DemoArch;
  dir: string;
  /** The BCD stores (media-relative) and their bytes right after copype. */
  pristineStores: Record<string, Buffer>;
  /** boot.wim image 1 right after copype: file -> sha256. */
  pristineWim: Record<string, string>;
}

const wsName = (arch: DemoArch) => (arch === "amd64" ? "WinPE_amd64" : "WinPE_arm64");

export async function makeTemplate(arch: DemoArch, root: string): Promise<Template> {
  const dir = path.join(root, `template-${arch}`);
  fs.mkdirSync(dir, { recursive: true });
  const cp = await copype(arch, path.join(dir, wsName(arch)));
  fs.cpSync(path.join(REPO_ROOT, "examples", "ioctl"), path.join(dir, "src"), { recursive: true });
  const pristineStores: Record<string, Buffer> = {};
  for (const s of cp.bcdStores)
    pristineStores[path.relative(cp.media, s).split(path.sep).join("/")] = fs.readFileSync(s);
  return { arch, dir, pristineStores, pristineWim: await wimContent(cp.bootWim, root) };
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
  stack: Stack;
  /** The engine environment (as the Automation API runs it). */
  env: Record<string, string>;
  cleanup(): Promise<void>;
}

/** A scratch stack of the demo program, copied from `t` into a new folder under `root` (or `.work/tmp`). */
export async function openFaultStack(
  t: Template,
  opts: { root?: string; label: string; name?: string; bootCheck?: boolean; workspace?: string; lockDir?: string },
): Promise<FaultStack> {
  const dir = opts.root ? fs.mkdtempSync(path.join(opts.root, `${opts.label}-`)) : scratchDir(`faults-${opts.label}`);
  const workspace = opts.workspace ?? path.join(dir, wsName(t.arch));
  if (!opts.workspace) fs.cpSync(path.join(t.dir, wsName(t.arch)), workspace, { recursive: true });
  const src = path.join(dir, "src");
  fs.cpSync(path.join(t.dir, "src"), src, { recursive: true });
  const programDir = path.join(dir, "program");
  writeProgram(programDir);
  const stateDir = path.join(dir, "state");
  const toolLog = path.join(dir, "tools.jsonl");
  const lockDir = opts.lockDir ?? path.join(dir, "locks");
  const tmpDir = path.join(dir, "tmp");
  fs.mkdirSync(tmpDir, { recursive: true });
  const name = opts.name ?? `faults-${t.arch}`;
  const extra = { WINPE_TOOL_LOG: toolLog, WINPE_LAB_LOCK_DIR: lockDir, TMPDIR: tmpDir };
  const stack = await openStack(programDir, name, stateDir, extra);
  const isoPath = path.join(dir, "out", `winpe_${t.arch}.iso`);
  fs.mkdirSync(path.dirname(isoPath), { recursive: true });
  await stack.setAllConfig({
    "winpe-lab:toolchain": { value: "open" },
    "winpe-lab:arch": { value: t.arch },
    "winpe-lab:workspace": { value: workspace },
    "winpe-lab:project": { value: path.join(src, "ioctl.sln") },
    "winpe-lab:injectDir": { value: "Windows/Ioctl" },
    "winpe-lab:bcd": {
      value: JSON.stringify({ stores: t.arch === "amd64" ? "both" : "efi", testsigning: true, debug: true }),
    },
    "winpe-lab:kdnet": { value: JSON.stringify({ hostIp: "10.0.2.2", port: 50005, key: "7.7.7.7" }), secret: true },
    "winpe-lab:iso": { value: JSON.stringify({ path: isoPath }) },
    "winpe-lab:vm": { value: JSON.stringify({ bootCheck: opts.bootCheck ?? true }) },
  });
  const mediaDir = path.join(workspace, "media");
  const mountDir = path.join(workspace, "mount");
  return {
    arch: t.arch,
    name,
    dir,
    programDir,
    stateDir,
    workspace,
    mediaDir,
    wim: path.join(mediaDir, "sources", "boot.wim"),
    mountDir,
    privateDir: privateDirFor("open", mountDir),
    isoPath,
    vmDir: path.join(workspace, ".winpe-lab", "vm", `winpe-lab-${name}`),
    certFile: path.join(workspace, ".winpe-lab", "cert", "winpe-lab-test.crt"),
    src,
    toolLog,
    lockDir,
    tmpDir,
    stores: Object.keys(t.pristineStores).map((rel) => path.join(mediaDir, ...rel.split("/"))),
    stack,
    env: engineEnv(stateDir, extra),
    cleanup: async () => {
      await stack.workspace.removeStack(name, { force: true }).catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
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

/** `pulumi <args>` as a detached child of ours (its own process group), output appended to `logFile`. */
export function spawnPulumi(
  s: FaultStack,
  args: string[],
  extraEnv: Record<string, string>,
  logFile: string,
): ReturnType<typeof spawn> {
  const out = fs.openSync(logFile, "a");
  const env: Record<string, string | undefined> = { ...process.env, ...s.env, ...extraEnv };
  if (extraEnv.NODE_OPTIONS && process.env.NODE_OPTIONS)
    env.NODE_OPTIONS = `${process.env.NODE_OPTIONS} ${extraEnv.NODE_OPTIONS}`;
  try {
    return spawn(path.join(TOOLS_BIN, "pulumi"), args, {
      cwd: s.programDir,
      env: env as NodeJS.ProcessEnv,
      detached: true,
      stdio: ["ignore", out, out],
    });
  } finally {
    fs.closeSync(out);
  }
}
