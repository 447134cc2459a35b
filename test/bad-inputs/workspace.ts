/**
 * Scratch workspaces for the bad-input corpus: a template made once (synthetic amd64 and arm64 copype working
 * folders, copies of the bcdedit-made fixture stores, a copy of examples/ioctl, one prebuilt ARM64 driver), copied
 * per case; a snapshot (every file and folder with its sha256 and mode) taken before and after each case; and the
 * runners that turn a library call, a provider call or a CLI run into one {@link Outcome}.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { CheckResult } from "@pulumi/pulumi/dynamic";
import { sha256 } from "../../runtime/digest";
import { runTool } from "../../runtime/exec";
import { buildProject } from "../../toolchains/open/build";
import { copype } from "../../toolchains/open/copype";

export const REPO_ROOT = path.resolve(__dirname, "..", "..");
export const BCD_FIXTURES = path.join(REPO_ROOT, "test", "fixtures", "bcd");
export const WINPE_BIN = path.join(REPO_ROOT, "bin", "winpe");

/** A copype working folder inside a workspace. */
export interface Media {
  dir: string;
  media: string;
  wim: string;
  /** media/EFI/Microsoft/Boot/BCD */
  efiStore: string;
  /** media/Boot/BCD (amd64 only) */
  biosStore?: string;
  mount: string;
}

/** One case's scratch workspace (every path absolute; everything under `root` is hashed before and after). */
export interface Workspace {
  root: string;
  /** WINPE_LAB_LOCK_DIR of the case (inside root: a lock or claim left behind is a change). */
  locks: string;
  /** An empty folder for provider bookkeeping (stateDir, certDir) */
  state: string;
  amd64: Media;
  arm64: Media;
  /** Writable copies of the fixture stores. */
  bcd: { multi: string; nodefault: string };
  /** A copy of examples/ioctl. */
  ioctl: { dir: string; sln: string; sysProject: string; appProject: string; sysSource: string };
  /** sioctl.sys built for ARM64 (to hand over where x64 is expected). */
  arm64Sys: string;
  /** A folder without any tool but node, bash, readlink and dirname (for "tool missing" runs). */
  bareBin: string;
  /** `root` joined with `rel`. */
  at(rel: string): string;
}

/** What a bad input produced: a CLI exit, a rejected promise, check failures, or (wrongly) success. */
export type Outcome =
  | { kind: "exit"; code: number; stdout: string; stderr: string }
  | { kind: "rejected"; name: string; message: string; stack?: string }
  | { kind: "check"; failures: Array<{ property: string; reason: string }> }
  | { kind: "engine"; message: string; output: string }
  | { kind: "ok"; detail: string };

/** The message an outcome shows the user. */
export function messageOf(o: Outcome): string {
  switch (o.kind) {
    case "exit": {
      // the CLI prints progress lines on stderr too; its error is the line(s) starting with `winpe <subcommand>:`
      const errors = o.stderr.split("\n").filter((l) => /^winpe( [a-z]+)?: /.test(l));
      return errors.length > 0 ? errors.join("\n") : o.stderr.trim();
    }
    case "rejected":
      return o.message;
    case "check":
      return o.failures.map((f) => f.reason).join("\n");
    case "engine":
      return o.message;
    case "ok":
      return "";
  }
}

/** Whether the outcome is a refusal (non-zero exit, rejection, check failure, failed engine run). */
export function failed(o: Outcome): boolean {
  if (o.kind === "exit") return o.code !== 0;
  return o.kind !== "ok";
}

/** One short line for the report table. */
export function summarize(o: Outcome): string {
  const first = messageOf(o).split("\n")[0] ?? "";
  const head =
    o.kind === "exit"
      ? `exit ${o.code}`
      : o.kind === "rejected"
        ? `rejected (${o.name})`
        : o.kind === "check"
          ? "check failure"
          : o.kind === "engine"
            ? "engine failed"
            : "SUCCEEDED";
  return `${head}: ${first.length > 160 ? `${first.slice(0, 157)}...` : first}`;
}

/** Run `fn` (a promise-returning or sync call that must fail) and describe how it failed. */
export async function rejects(fn: () => unknown): Promise<Outcome> {
  try {
    const v = await fn();
    return { kind: "ok", detail: JSON.stringify(v)?.slice(0, 200) ?? "undefined" };
  } catch (e) {
    const err = e as Error;
    return { kind: "rejected", name: err?.name ?? typeof e, message: err?.message ?? String(e), stack: err?.stack };
  }
}

/** A provider `check` that must report failures (a throw counts as a rejection). */
export async function checkFails(fn: () => Promise<CheckResult>): Promise<Outcome> {
  try {
    const r = await fn();
    if (r.failures && r.failures.length > 0) {
      return { kind: "check", failures: r.failures.map((f) => ({ property: f.property, reason: f.reason })) };
    }
    return { kind: "ok", detail: "check passed" };
  } catch (e) {
    const err = e as Error;
    return { kind: "rejected", name: err?.name ?? typeof e, message: err?.message ?? String(e), stack: err?.stack };
  }
}

/**
 * `winpe <args>` as a user runs it (`npm run -s winpe -- <args>` runs `bash bin/winpe`). With `bare`, PATH is a
 * folder holding only node, readlink and dirname, so every external tool is missing.
 */
export async function winpe(args: string[], opts: { bare?: string } = {}): Promise<Outcome> {
  const env = opts.bare ? { PATH: opts.bare } : {};
  const codes = Array.from({ length: 256 }, (_, i) => i);
  const r = await runTool("/bin/bash", [WINPE_BIN, ...args], {
    env,
    okExitCodes: codes,
    resource: "test/bad-inputs",
    timeoutMs: 120_000,
  });
  return { kind: "exit", code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
}

/** Run `fn` with PATH set to `bin` (tools started by runTool during `fn` see only that folder). */
export async function withPath<T>(bin: string, fn: () => Promise<T>): Promise<T> {
  const saved = process.env.PATH;
  process.env.PATH = bin;
  try {
    return await fn();
  } finally {
    process.env.PATH = saved;
  }
}

/** Every file, folder and link under `root`: relative path -> `d <mode>`, `f <mode> <sha256>` or `l <target>`. */
export function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string, rel: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = path.join(dir, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      const st = fs.lstatSync(p);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) out[r] = `l ${fs.readlinkSync(p)}`;
      else if (st.isDirectory()) {
        out[r] = `d ${mode}`;
        walk(p, r);
      } else out[r] = `f ${mode} ${sha256(fs.readFileSync(p))}`;
    }
  };
  walk(root, "");
  return out;
}

/** What differs between two snapshots (added, removed, changed paths), for a readable assertion message. */
export function snapshotDiff(a: Record<string, string>, b: Record<string, string>): string[] {
  const out: string[] = [];
  for (const k of Object.keys(a)) {
    if (!(k in b)) out.push(`removed ${k}`);
    else if (a[k] !== b[k]) out.push(`changed ${k}`);
  }
  for (const k of Object.keys(b)) if (!(k in a)) out.push(`added ${k}`);
  return out.sort();
}

function mediaOf(dir: string, arch: "amd64" | "arm64"): Media {
  const media = path.join(dir, "media");
  return {
    dir,
    media,
    wim: path.join(media, "sources", "boot.wim"),
    efiStore: path.join(media, "EFI", "Microsoft", "Boot", "BCD"),
    ...(arch === "amd64" ? { biosStore: path.join(media, "Boot", "BCD") } : {}),
    mount: path.join(dir, "mount"),
  };
}

function layout(root: string, bareBin: string): Workspace {
  const ioctl = path.join(root, "ioctl");
  return {
    root,
    locks: path.join(root, "locks"),
    state: path.join(root, "state"),
    amd64: mediaOf(path.join(root, "WinPE_amd64"), "amd64"),
    arm64: mediaOf(path.join(root, "WinPE_arm64"), "arm64"),
    bcd: { multi: path.join(root, "bcd", "multi.bcd"), nodefault: path.join(root, "bcd", "nodefault.bcd") },
    ioctl: {
      dir: ioctl,
      sln: path.join(ioctl, "ioctl.sln"),
      sysProject: path.join(ioctl, "sys", "sioctl.vcxproj"),
      appProject: path.join(ioctl, "exe", "ioctlapp.vcxproj"),
      sysSource: path.join(ioctl, "sys", "sioctl.c"),
    },
    arm64Sys: path.join(root, "prebuilt-arm64", "sioctl.sys"),
    bareBin,
    at: (rel: string) => path.join(root, ...rel.split("/")),
  };
}

/** A folder with links to node, readlink and dirname only (what bin/winpe needs to start). */
function makeBareBin(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.symlinkSync(process.execPath, path.join(dir, "node"));
  for (const t of ["readlink", "dirname"]) {
    const found = ["/usr/bin", "/bin"].map((d) => path.join(d, t)).find((p) => fs.existsSync(p));
    if (!found) throw new Error(`${t} not found in /usr/bin or /bin`);
    fs.symlinkSync(found, path.join(dir, t));
  }
  return dir;
}

/** The scratch area of the suite: a template workspace and a factory of per-case copies. */
export class Scratch {
  /** Made by {@link init} (not at construction: a run that filters out every case must leave nothing behind). */
  dir = "";
  private template?: Workspace;
  private count = 0;
  private bareBin = "";

  /** Make the scratch folder and the template once: ~0.5 s (two synthetic copypes, one small ARM64 build). */
  async init(): Promise<void> {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "winpe-bad-inputs-"));
    this.bareBin = makeBareBin(path.join(this.dir, "bare-bin"));
    const t = layout(path.join(this.dir, "template"), this.bareBin);
    fs.mkdirSync(t.root, { recursive: true });
    await copype("amd64", t.amd64.dir);
    await copype("arm64", t.arm64.dir);
    fs.mkdirSync(path.dirname(t.bcd.multi), { recursive: true });
    fs.copyFileSync(path.join(BCD_FIXTURES, "ntloader-multi.bcd"), t.bcd.multi);
    fs.copyFileSync(path.join(BCD_FIXTURES, "ramdisk-wim-nodefault.bcd"), t.bcd.nodefault);
    for (const f of [t.bcd.multi, t.bcd.nodefault]) fs.chmodSync(f, 0o644);
    fs.cpSync(path.join(REPO_ROOT, "examples", "ioctl"), t.ioctl.dir, { recursive: true });
    const built = await buildProject({
      project: t.ioctl.sysProject,
      configuration: "Debug",
      platform: "ARM64",
      outDir: path.dirname(t.arm64Sys),
      resource: "test/bad-inputs",
    });
    if (built.outputs[0]?.path !== t.arm64Sys) throw new Error(`unexpected build output ${built.outputs[0]?.path}`);
    fs.mkdirSync(t.locks);
    fs.mkdirSync(t.state);
    this.template = t;
  }

  /** A fresh copy of the template for one case. */
  workspace(): Workspace {
    if (!this.template) throw new Error("Scratch.init() was not called");
    const root = path.join(this.dir, `case-${String(++this.count).padStart(3, "0")}`);
    fs.cpSync(this.template.root, root, { recursive: true, preserveTimestamps: true });
    return layout(root, this.bareBin);
  }

  dispose(): void {
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
