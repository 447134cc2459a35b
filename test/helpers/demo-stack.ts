/**
 * A demo stack for tests: the real program (index.ts) with the real engine through the Automation API, in a
 * scratch folder of its own (synthetic WinPE workspace, a copy of examples/ioctl, its own state backend, lock
 * folder and tool log), so tests never touch the user's demo stacks.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import { sha256 } from "../../runtime/digest";
import { runTool } from "../../runtime/exec";
import { copype } from "../../toolchains/open/copype";
import { openStack, REPO_ROOT, readToolLog, scratchDir, writeWinpeProgram } from "./pulumi";

export type DemoArch = "amd64" | "arm64";

export interface DemoStack {
  arch: DemoArch;
  dir: string;
  stack: Stack;
  workspace: string;
  mediaDir: string;
  wim: string;
  mountDir: string;
  isoPath: string;
  vmDir: string;
  src: string;
  toolLog: string;
  lockDir: string;
  /** The BCD stores (media-relative) and their bytes right after copype. */
  pristineStores: Record<string, Buffer>;
  kdnetKey: string;
  /** Tool-log lines written since `mark`. */
  toolLinesSince(mark: number): Array<Record<string, unknown>>;
  toolLineCount(): number;
  cleanup(): Promise<void>;
}

/** The real program (winpeProgram of dist/) in `programDir`. */
export function writeProgram(programDir: string, name = "winpe-lab"): void {
  writeWinpeProgram(programDir, name);
}

function copyDir(from: string, to: string): void {
  fs.cpSync(from, to, { recursive: true });
}

/** Make a demo stack (open toolchain) in a fresh scratch folder. */
export async function openDemoStack(
  arch: DemoArch,
  opts: { bootCheck?: boolean; name?: string; test?: Record<string, unknown> } = {},
): Promise<DemoStack> {
  const dir = scratchDir(`e2e-${arch}`);
  const programDir = path.join(dir, "program");
  writeProgram(programDir);
  const workspace = path.join(dir, arch === "amd64" ? "WinPE_amd64" : "WinPE_arm64");
  const cp = await copype(arch, workspace);
  const pristineStores: Record<string, Buffer> = {};
  for (const s of cp.bcdStores)
    pristineStores[path.relative(cp.media, s).split(path.sep).join("/")] = fs.readFileSync(s);
  const src = path.join(dir, "src");
  copyDir(path.join(REPO_ROOT, "examples", "ioctl"), src);
  const toolLog = path.join(dir, "tools.jsonl");
  const lockDir = path.join(dir, "locks");
  const stackName = opts.name ?? `e2e-${arch}`;
  const stack = await openStack(programDir, stackName, path.join(dir, "state"), {
    WINPE_TOOL_LOG: toolLog,
    WINPE_LAB_LOCK_DIR: lockDir,
  });
  const isoPath = path.join(dir, "out", `winpe_${arch}.iso`);
  fs.mkdirSync(path.dirname(isoPath), { recursive: true });
  const kdnetKey = "7.7.7.7";
  await stack.setAllConfig({
    "winpe-lab:toolchain": { value: "open" },
    "winpe-lab:arch": { value: arch },
    "winpe-lab:workspace": { value: workspace },
    "winpe-lab:project": { value: path.join(src, "ioctl.sln") },
    "winpe-lab:injectDir": { value: "Windows/Ioctl" },
    "winpe-lab:bcd": {
      value: JSON.stringify({ stores: arch === "amd64" ? "both" : "efi", testsigning: true, debug: true }),
    },
    "winpe-lab:kdnet": { value: JSON.stringify({ hostIp: "10.0.2.2", port: 50005, key: kdnetKey }), secret: true },
    "winpe-lab:iso": { value: JSON.stringify({ path: isoPath }) },
    "winpe-lab:vm": { value: JSON.stringify({ bootCheck: opts.bootCheck ?? true }) },
    ...(opts.test ? { "winpe-lab:test": { value: JSON.stringify(opts.test) } } : {}),
  });
  const vmDir = path.join(workspace, ".winpe-lab", "vm", `winpe-lab-${stackName}`);
  return {
    arch,
    dir,
    stack,
    workspace,
    mediaDir: cp.media,
    wim: cp.bootWim,
    mountDir: cp.mount,
    isoPath,
    vmDir,
    src,
    toolLog,
    lockDir,
    pristineStores,
    kdnetKey,
    toolLinesSince: (mark) => readToolLog(toolLog).slice(mark),
    toolLineCount: () => readToolLog(toolLog).length,
    cleanup: async () => {
      await stack.workspace.removeStack(stackName, { force: true }).catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Resource type names (`DriverBuild`) by planned/performed operation, from engine events. */
export function opsByType(events: EngineEvent[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const e of events) {
    const m = e.resourcePreEvent?.metadata;
    // the stack itself and provider instances (the dynamic provider sees every config change) are not resources
    if (!m || m.type === "pulumi:pulumi:Stack" || m.type.startsWith("pulumi:providers:")) continue;
    const type = m.type.split(":").pop() ?? m.type;
    if (!out[m.op]) out[m.op] = [];
    out[m.op].push(type);
  }
  for (const k of Object.keys(out)) out[k].sort();
  return out;
}

/** Extract one file from an ISO with xorriso (an independent reader) and return its bytes. */
export async function extractFromIso(iso: string, isoPath: string, scratch: string): Promise<Buffer> {
  const out = path.join(scratch, `iso-extract-${sha256(isoPath + Math.random()).slice(0, 8)}`);
  await runTool("xorriso", ["-osirrox", "on", "-indev", iso, "-extract", isoPath, out]);
  const data = fs.readFileSync(out);
  fs.chmodSync(out, 0o644);
  fs.rmSync(out, { force: true });
  return data;
}

/** All files under `dir` (relative paths), for "nothing left behind" checks. */
export function listAll(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    let entries: fs.Dirent[] = [];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(d, e.name), r);
      else out.push(r);
    }
  };
  walk(dir, "");
  return out.sort();
}
