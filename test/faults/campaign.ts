/**
 * The fault campaign: for each point, a fresh copy of a scratch demo stack; `pulumi up` killed at the point
 * (SIGKILL to the CLI and every process under it, as a crash would; or the CLI alone, as `kill -9 <pid>` would);
 * then the recovery a user is told to do must converge to the media of a clean run (media.ts says what "the same"
 * means), and `pulumi destroy` must leave nothing behind.
 *
 * What a killed `pulumi up` leaves in Pulumi's own state (Pulumi 3.248, file backend), and the recovery:
 * 1. The stack lock (`.pulumi/locks/<org>/<project>/<stack>/<uuid>.json`, naming pid and host). Pulumi never
 *    finds it stale: every command fails with "the stack is currently locked by 1 lock(s) ... delete the lock
 *    file with `pulumi cancel`". Recovery: `pulumi cancel --yes` (it deletes every lock of the stack, so only when
 *    no other `pulumi` runs on the stack).
 * 2. Pending operations in the checkpoint (`pending_operations`: the steps that had started, here always
 *    `creating`). `pulumi up` only warns about them. `pulumi refresh` clears pending updates and deletes, but when
 *    not interactive keeps pending CREATES unless given `--clear-pending-creates` (drop them: the next `up`
 *    creates those resources again) or `--import-pending-creates <urn> <id>...`. Every winpe-lab create is safe to
 *    run again over what an interrupted one left (what this suite checks), so: `pulumi refresh --yes
 *    --clear-pending-creates`.
 * 3. Rarely, an empty `<stack>.json.attrs` (see emptyStateAttrs): every command, `cancel` included, fails with
 *    "failed to load checkpoint: EOF"; removing the empty file repairs it (the checkpoint itself is intact).
 * 4. Then `pulumi up`.
 * The report lists, per point, what was left and which of these steps were run.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { sha256 } from "../../runtime/digest";
import type { DemoArch } from "../helpers/demo-stack";
import { listAll } from "../helpers/demo-stack";
import { wimContent } from "../helpers/wim";
import { type Fault, installFault } from "./injectors";
import { compareMedia, type MediaSnapshot, snapshotMedia } from "./media";
import { allProcesses, descendants, killTree, processesMentioning, waitGone } from "./procs";
import {
  cloneStack,
  type FaultStack,
  pulumiCli,
  readCheckpoint,
  spawnPulumi,
  stackLocks,
  type Template,
} from "./stack";

export interface PointDef {
  id: string;
  /** Where the kill lands, for the report. */
  where: string;
  fault: (s: FaultStack) => Fault;
  /** Wait this long after the signal before killing (e.g. so QEMU is really running). @default 0 */
  delayMs?: number;
  /**
   * `tree` (default): the CLI and every process under it, as a crash of the machine would. `cli`: only the
   * CLI's process group (`kill -9 <pid of pulumi>`, a closed terminal): the plugins, in groups of their own, live
   * on; they must finish or stop by themselves, and nothing may be left running.
   */
  scope?: "tree" | "cli";
  /**
   * Kill an update rather than a first create: the stack is brought up cleanly first, then {@link applyChange}
   * (a driver source edited and testsigning turned off) makes the killed `up` update the build, BCD stores,
   * injected files, commit, ISO and VM. Its media are compared with a clean run of the changed stack.
   */
  update?: boolean;
}

/** The change of the update points: one driver source edited, testsigning off. */
export async function applyChange(s: FaultStack): Promise<void> {
  const file = path.join(s.src, "sys", "sioctl.c");
  fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace('"Debug build"', '"Debug build (fault suite)"'));
  const bcd = { stores: s.arch === "amd64" ? "both" : "efi", testsigning: false, debug: true };
  const r = await pulumiCli(s, ["config", "set", "winpe-lab:bcd", JSON.stringify(bcd)]);
  if (r.code !== 0) throw new Error(`pulumi config set failed: ${r.output}`);
}

const typeIs = (e: Record<string, unknown>, key: string, name: string): boolean => {
  const m = (e[key] as { metadata?: { type?: string } } | undefined)?.metadata;
  return !!m?.type && m.type.endsWith(`:${name}`);
};

const qemuOf = (arch: DemoArch) => (arch === "amd64" ? "qemu-system-x86_64" : "qemu-system-aarch64");

/** The fault points, in the order the steps run. */
export function faultPoints(arch: DemoArch): PointDef[] {
  return [
    {
      id: "start",
      where: "boundary: the engine starts the first step",
      fault: () => ({
        kind: "event",
        match: (e) => {
          const m = (e.resourcePreEvent as { metadata?: { type?: string } } | undefined)?.metadata;
          return !!m?.type && !m.type.startsWith("pulumi:");
        },
      }),
    },
    {
      id: "cert.openssl",
      where: "inside TestCertificate: `openssl req` running",
      fault: () => ({ kind: "tool", tool: "openssl", args: ["req"], mode: "before" }),
    },
    {
      id: "build.start",
      // (clang's version is probed once per set of binaries and kept in the build cache: the first compile is the
      // first tool DriverBuild runs)
      where: "boundary: certificate done, DriverBuild's first `clang -c` about to start",
      fault: () => ({ kind: "tool", tool: "clang", args: ["-c"], nth: 1, mode: "before" }),
    },
    {
      id: "build.compile",
      where: "inside DriverBuild: the 2nd `clang -c` running",
      fault: () => ({ kind: "tool", tool: "clang", args: ["-c"], nth: 2, mode: "before" }),
    },
    {
      id: "build.sign",
      where: "inside DriverBuild: `osslsigncode sign` wrote the signed copy, not yet renamed over the driver",
      fault: () => ({ kind: "tool", tool: "osslsigncode", args: ["sign"], mode: "after" }),
    },
    arch === "amd64"
      ? {
          id: "bcd.write",
          where: "inside BcdSettings: EFI store written, Boot/BCD's new bytes in a temp file, rename pending",
          fault: (s) => ({ kind: "rename", target: path.join(s.mediaDir, "Boot", "BCD"), when: "before" }),
        }
      : {
          id: "bcd.write",
          where: "inside BcdSettings: EFI store renamed into place, create not yet returned",
          fault: (s) => ({
            kind: "rename",
            target: path.join(s.mediaDir, "EFI", "Microsoft", "Boot", "BCD"),
            when: "after",
          }),
        },
    {
      id: "mount.claim",
      where: "inside MountedImage: WIM and mount folder claimed, bookkeeping (mount.json) not yet renamed in",
      fault: (s) => ({ kind: "rename", target: path.join(s.privateDir, "mount.json"), when: "before" }),
    },
    {
      id: "inject.start",
      where: "boundary: build, BCD and mount done; InjectedFiles reading the image (`wimlib-imagex dir`)",
      fault: () => ({ kind: "tool", tool: "wimlib-imagex", args: ["dir"], mode: "before" }),
    },
    {
      id: "inject.stage",
      where: "inside InjectedFiles: ioctlapp.exe staged, sioctl.sys copied to a temp file, rename pending",
      fault: (s) => ({
        kind: "rename",
        target: path.join(s.mountDir, "Windows", "Ioctl", "sioctl.sys"),
        when: "before",
      }),
    },
    {
      id: "commit.start",
      where: "boundary: staged; ImageCommit holds the WIM lock, `wimlib-imagex update` not started",
      fault: () => ({ kind: "tool", tool: "wimlib-imagex", args: ["update"], mode: "before" }),
    },
    {
      id: "commit.torn",
      where: "inside ImageCommit: `wimlib-imagex update` stopped after its 3rd write to boot.wim (torn WIM)",
      fault: () => ({
        kind: "tool",
        tool: "wimlib-imagex",
        args: ["update"],
        mode: "torn",
        writePath: "boot.wim",
        writeNth: 3,
      }),
    },
    {
      id: "commit.written",
      where: "inside ImageCommit: `wimlib-imagex update` finished, the provider not yet told",
      fault: () => ({ kind: "tool", tool: "wimlib-imagex", args: ["update"], mode: "after" }),
    },
    {
      id: "iso.start",
      where: "boundary: image committed; WinPeIso holds the ISO lock, xorriso not started",
      fault: () => ({ kind: "tool", tool: "xorriso", args: ["-as"], mode: "before" }),
    },
    {
      id: "iso.torn",
      where: "inside WinPeIso: xorriso stopped after its 4th write to the temporary ISO (half an ISO)",
      fault: () => ({
        kind: "tool",
        tool: "xorriso",
        args: ["-as"],
        mode: "torn",
        writePath: ".winpe-tmp-",
        writeNth: 4,
      }),
    },
    {
      id: "iso.rename",
      where: "inside WinPeIso: temporary ISO complete, rename over the ISO pending",
      fault: (s) => ({ kind: "rename", target: s.isoPath, when: "before" }),
    },
    {
      id: "vm.define",
      where: "inside VmBootMedia: firmware variables copied, VM definition (vm.json) rename pending",
      fault: (s) => ({ kind: "rename", target: path.join(s.vmDir, "vm.json"), when: "before" }),
    },
    {
      id: "vm.boot",
      where: "inside VmBootMedia: QEMU boot check running (killed 1.5 s after QEMU started)",
      fault: () => ({ kind: "tool", tool: qemuOf(arch), args: [], mode: "start" }),
      delayMs: 1500,
    },
    {
      id: "cli.commit",
      where: "`kill -9` of the CLI only (plugins live on) while `wimlib-imagex update` runs",
      fault: () => ({ kind: "tool", tool: "wimlib-imagex", args: ["update"], mode: "start" }),
      scope: "cli",
    },
    {
      id: "cli.boot",
      where: "`kill -9` of the CLI only (plugins live on) 1.5 s into the QEMU boot check",
      fault: () => ({ kind: "tool", tool: qemuOf(arch), args: [], mode: "start" }),
      delayMs: 1500,
      scope: "cli",
    },
    {
      id: "upd.bcd.write",
      where: "update (testsigning off): EFI store rewritten and renamed, update not yet returned",
      fault: (s) => ({
        kind: "rename",
        target: path.join(s.mediaDir, "EFI", "Microsoft", "Boot", "BCD"),
        when: "after",
      }),
      update: true,
    },
    {
      id: "upd.commit.torn",
      where: "update: `wimlib-imagex update` stopped after its 3rd write to boot.wim (torn WIM)",
      fault: () => ({
        kind: "tool",
        tool: "wimlib-imagex",
        args: ["update"],
        mode: "torn",
        writePath: "boot.wim",
        writeNth: 3,
      }),
      update: true,
    },
    {
      id: "upd.iso.journal",
      where: "update: the in-place ISO update's journal written and fsynced, not yet put in place (the old ISO)",
      fault: () => ({ kind: "hook", env: { WINPE_LAB_FAULT_ISO_UPDATE: "journal" } }),
      update: true,
    },
    {
      id: "upd.iso.patch",
      where: "update: the in-place ISO update stopped after its 4th write into the ISO (journal in place; a mix)",
      fault: () => ({ kind: "hook", env: { WINPE_LAB_FAULT_ISO_UPDATE: "4" } }),
      update: true,
    },
    {
      id: "end",
      where: "boundary: VmBootMedia done (the engine saving the final state)",
      fault: () => ({ kind: "event", match: (e) => typeIs(e, "resOutputsEvent", "VmBootMedia") }),
    },
  ];
}

export interface PointResult {
  arch: DemoArch;
  id: string;
  where: string;
  triggered: boolean;
  /** Pending operations left in the checkpoint by the kill. */
  pending: string[];
  /** What the kill left on disk (temp files, lock/claim files, stack lock), for the report. */
  leftAfterKill: string[];
  /** The recovery commands run, in order (`cancel`, `refresh --clear-pending-creates`, `up`, repairs). */
  steps: string[];
  survivors: string[];
  recovery: string[];
  mediaDiffs: string[];
  destroyProblems: string[];
  /** Remarks that are not failures (e.g. BCD bytes that differ while their content is equal). */
  notes: string[];
  /** Plugin processes still running (idle) after a CLI-only kill, once everything else ended: reported. */
  idlePlugins: string[];
  /** Leftovers of os.tmpdir() users (build/sign folders) in the stack's TMPDIR after destroy: reported, not failed. */
  tmpLeftovers: string[];
  seconds: number;
  /** Seconds per phase (setup, kill, recover, compare, destroy), for tuning. */
  phases: Record<string, number>;
  converged: boolean;
  dir: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tempsUnder(dir: string): string[] {
  return listAll(dir).filter((f) => f.split("/").some((part) => part.startsWith(".winpe-tmp-")));
}

/** `pulumi up`, killed (whole tree, SIGKILL) at the fault; false when the up ended before the fault fired. */
async function killedUp(
  s: FaultStack,
  point: PointDef,
  preload: string,
): Promise<{ fired: boolean; note: string; lingering: string[]; idlePlugins: string[] }> {
  const faultDir = path.join(s.dir, "fault");
  const signalFile = path.join(faultDir, "signal");
  const eventLog = path.join(faultDir, "events.jsonl");
  const fault = point.fault(s);
  const env = installFault(fault, { dir: faultDir, signalFile, preload, basePath: s.env.PATH });
  env.PULUMI_DEBUG_COMMANDS = "true"; // enables --event-log
  const child = spawnPulumi(
    s,
    ["up", "--yes", "--skip-preview", "--non-interactive", "--stack", s.name, "--event-log", eventLog],
    env,
    path.join(s.dir, "killed-up.log"),
  );
  let exited: number | null | undefined;
  const done = new Promise<void>((resolve) => {
    child.on("exit", (code) => {
      exited = code;
      resolve();
    });
  });
  const pid = child.pid!;
  let offset = 0;
  let pending = "";
  const eventFired = (): boolean => {
    if (fault.kind !== "event" || !fs.existsSync(eventLog)) return false;
    const buf = fs.readFileSync(eventLog);
    const text = pending + buf.subarray(offset).toString("utf8");
    offset = buf.length;
    const lines = text.split("\n");
    pending = lines.pop() ?? "";
    return lines.some((l) => {
      try {
        return l.trim() !== "" && fault.match(JSON.parse(l) as Record<string, unknown>);
      } catch {
        return false;
      }
    });
  };
  const deadline = Date.now() + 180_000;
  let fired = false;
  while (exited === undefined && Date.now() < deadline) {
    if (fs.existsSync(signalFile) || eventFired()) {
      fired = true;
      break;
    }
    await sleep(20);
  }
  if (fired && point.delayMs) await sleep(point.delayMs);
  const tree = descendants(pid);
  if (!fired) {
    killTree(pid);
    await done;
    return { fired, note: `up ended (exit ${exited}) before the fault fired`, lingering: [], idlePlugins: [] };
  }
  if (point.scope === "cli") {
    process.kill(-pid, "SIGKILL");
    await done;
    // what was running goes on without the engine; wait (up to 30 s) until only plugin processes remain
    const isPlugin = (cmd: string) => /pulumi-language-nodejs|pulumi-resource-|dynamic-provider/.test(cmd);
    const deadline2 = Date.now() + 30_000;
    let left = allProcesses().filter((p) => tree.includes(p.pid) && p.state !== "Z");
    while (left.some((p) => !isPlugin(p.cmdline)) && Date.now() < deadline2) {
      await sleep(200);
      left = allProcesses().filter((p) => tree.includes(p.pid) && p.state !== "Z");
    }
    for (const p of left) killTree(p.pid);
    return {
      fired,
      note: "",
      lingering: left.filter((p) => !isPlugin(p.cmdline)).map((p) => `${p.pid} ${p.cmdline.slice(0, 100)}`),
      idlePlugins: left.filter((p) => isPlugin(p.cmdline)).map((p) => p.cmdline.split(" ")[0].split("/").pop() ?? ""),
    };
  }
  const killed = killTree(pid);
  await done;
  await waitGone([...new Set([...tree, ...killed])]);
  return { fired, note: `killed ${killed.length} processes`, lingering: [], idlePlugins: [] };
}

/**
 * Zero-length `.attrs` sidecars in the file backend. Pulumi's file backend (gocloud.dev fileblob) writes each
 * checkpoint to a temporary file and renames it, but first rewrites the checkpoint's `.attrs` sidecar in place
 * (os.Create, then JSON): a kill between the two leaves it empty, and every command then fails with
 * "failed to load checkpoint: EOF" (even `pulumi cancel`). The checkpoint itself is intact (the previous one);
 * removing the empty sidecar is the repair (fileblob reads a missing sidecar as default attributes).
 */
export function emptyStateAttrs(s: FaultStack): string[] {
  return listAll(path.join(s.stateDir, ".pulumi"))
    .filter((f) => f.endsWith(".attrs"))
    .map((f) => path.join(s.stateDir, ".pulumi", f))
    .filter((f) => fs.statSync(f).size === 0);
}

function destroyChecks(s: FaultStack, t: Template): string[] {
  const problems: string[] = [];
  const mount = listAll(s.mountDir);
  if (mount.length > 0) problems.push(`mount folder not empty: ${mount.slice(0, 3).join(", ")}`);
  if (fs.existsSync(s.privateDir)) problems.push(`mount bookkeeping left: ${s.privateDir}`);
  const temps = tempsUnder(s.dir);
  if (temps.length > 0) problems.push(`temporary files left: ${temps.slice(0, 3).join(", ")}`);
  if (fs.existsSync(s.isoPath)) problems.push("ISO still there");
  const out = listAll(path.dirname(s.isoPath));
  if (out.length > 0) problems.push(`ISO folder not empty: ${out.join(", ")}`);
  if (fs.existsSync(s.vmDir)) problems.push(`VM folder left: ${s.vmDir}`);
  const qemu = processesMentioning(s.dir);
  if (qemu.length > 0) problems.push(`processes left: ${qemu.map((p) => p.cmdline.slice(0, 80)).join("; ")}`);
  const locks = listAll(s.lockDir);
  if (locks.length > 0) problems.push(`lock/claim files left: ${locks.join(", ")}`);
  for (const [rel, bytes] of Object.entries(t.pristineStores)) {
    const f = path.join(s.mediaDir, ...rel.split("/"));
    if (!fs.existsSync(f) || !fs.readFileSync(f).equals(bytes))
      problems.push(`BCD store ${rel} is not byte-identical to after copype`);
  }
  const ours = listAll(s.workspace).filter((f) => !f.startsWith("media/") && !f.startsWith("fwfiles/"));
  const extra = ours.filter((f) => f !== ".winpe-lab/digests.json");
  if (extra.length > 0) problems.push(`left in the workspace: ${extra.slice(0, 4).join(", ")}`);
  return problems;
}

/** Run one point on a fresh stack made from `t`; `clean` is the snapshot of a clean run's media. */
export async function runPoint(
  t: Template,
  point: PointDef,
  clean: MediaSnapshot,
  opts: { root: string; preload: string; keep?: boolean; viaScript?: boolean },
): Promise<PointResult> {
  const started = Date.now();
  const s = cloneStack(t, opts.root, `${t.arch}-${point.id}`);
  const r: PointResult = {
    arch: t.arch,
    id: point.id,
    where: point.where,
    triggered: false,
    pending: [],
    leftAfterKill: [],
    steps: [],
    survivors: [],
    recovery: [],
    mediaDiffs: [],
    destroyProblems: [],
    tmpLeftovers: [],
    idlePlugins: [],
    notes: [],
    seconds: 0,
    phases: {},
    converged: false,
    dir: s.dir,
  };
  let mark = started;
  const phase = (name: string) => {
    r.phases[name] = Math.round((Date.now() - mark) / 100) / 10;
    mark = Date.now();
  };
  phase("setup");
  try {
    if (point.update) {
      const first = await pulumiCli(s, ["up", "--yes", "--skip-preview"]);
      if (first.code !== 0) throw new Error(`the first (clean) up failed: ${firstLines(first.output)}`);
      await applyChange(s);
      phase("first up");
    }
    const k = await killedUp(s, point, opts.preload);
    phase("kill");
    r.triggered = k.fired;
    if (!k.fired) r.recovery.push(k.note);
    const alive = processesMentioning(s.dir);
    r.idlePlugins = k.idlePlugins;
    r.survivors = [...k.lingering, ...alive.map((p) => `${p.pid} ${p.cmdline.slice(0, 100)}`)];
    for (const p of alive) killTree(p.pid);
    r.pending = readCheckpoint(s)?.pending ?? [];
    r.leftAfterKill = [
      ...tempsUnder(s.dir).map((f) => `temp ${path.basename(f).slice(0, 40)}`),
      ...listAll(s.lockDir).map((f) => `${f.endsWith(".lock") ? "lock" : "claim"} ${f.split("-")[0]}`),
    ];

    const locked = stackLocks(s).length > 0;
    if (locked) r.leftAfterKill.push("stack lock");
    const emptyAttrs = emptyStateAttrs(s);
    if (emptyAttrs.length > 0) r.leftAfterKill.push("empty checkpoint .attrs");

    // what a user is told to do after a crash (see the module comment and the README's "After a crash"): through
    // `npm run -s pulumi` (scripts/pulumi.sh, which removes a dead process's stack lock itself) or, for every other
    // point, the pulumi binary with `pulumi cancel` first
    const viaScript = opts.viaScript ?? false;
    const step = async (args: string[]) => {
      let x = await pulumiCli(s, args, {}, viaScript);
      if (x.code !== 0 && /failed to load checkpoint/.test(x.output)) {
        const removed = emptyStateAttrs(s);
        for (const f of removed) fs.rmSync(f);
        if (removed.length > 0) {
          r.steps.push("rm empty checkpoint .attrs");
          x = await pulumiCli(s, args, {}, viaScript);
        }
      }
      const shown = args.filter((a) => a !== "--yes" && a !== "--skip-preview").join(" ");
      r.steps.push(viaScript ? `npm run -s pulumi -- ${shown}` : `pulumi ${shown}`);
      if (viaScript && /removed the lock of stack .* left by a killed pulumi/.test(x.output))
        r.steps.push("(its stale stack lock removed by scripts/pulumi.sh)");
      if (x.code !== 0) r.recovery.push(`pulumi ${args[0]} failed (exit ${x.code}): ${firstLines(x.output)}`);
      return x.code === 0;
    };
    if (locked && !viaScript) await step(["cancel", "--yes"]);
    await step(["refresh", "--yes", "--skip-preview", "--clear-pending-creates"]);
    const upOk = await step(["up", "--yes", "--skip-preview"]);
    phase("recover");
    const left = readCheckpoint(s)?.pending ?? [];
    if (left.length > 0) r.recovery.push(`pending operations after refresh + up: ${left.join(", ")}`);
    if (upOk) {
      if (!fs.existsSync(s.isoPath)) r.mediaDiffs.push("no ISO after up");
      else {
        const got = await snapshotMedia(s.isoPath, s.certFile, s.dir);
        r.mediaDiffs.push(...compareMedia(clean, got));
        const bytes = Object.keys(got.bcdBytes).filter((f) => got.bcdBytes[f] !== clean.bcdBytes[f]);
        if (bytes.length > 0) r.notes.push(`BCD bytes differ from the clean run's, content equal: ${bytes.join(", ")}`);
        // the workspace's stores are what went into the ISO
        for (const f of s.stores) {
          const rel = path.relative(s.mediaDir, f).split(path.sep).join("/");
          if (got.bcdBytes[rel] !== sha256(fs.readFileSync(f))) r.mediaDiffs.push(`workspace ${rel} != ISO's`);
        }
      }
    }

    phase("compare");
    const d = await pulumiCli(s, ["destroy", "--yes", "--skip-preview"]);
    if (d.code !== 0) r.destroyProblems.push(`pulumi destroy failed (exit ${d.code}): ${firstLines(d.output)}`);
    phase("destroy");
    r.destroyProblems.push(...destroyChecks(s, t));
    const cp = readCheckpoint(s);
    if (cp && (cp.resources.length > 0 || cp.pending.length > 0))
      r.destroyProblems.push(`state not empty: ${cp.resources.length} resources, ${cp.pending.length} pending`);
    const wim = await wimContent(s.wim, s.dir);
    if (JSON.stringify(wim) !== JSON.stringify(t.pristineWim)) r.destroyProblems.push("boot.wim content changed");
    r.tmpLeftovers = fs.existsSync(s.tmpDir) ? fs.readdirSync(s.tmpDir).filter((n) => n.startsWith("winpe-")) : [];
    r.converged =
      r.triggered &&
      r.survivors.length === 0 &&
      r.recovery.length === 0 &&
      r.mediaDiffs.length === 0 &&
      r.destroyProblems.length === 0;
  } catch (e) {
    r.recovery.push(`harness error: ${firstLines(e)}`);
  } finally {
    r.seconds = Math.round((Date.now() - started) / 100) / 10;
    for (const p of processesMentioning(s.dir)) killTree(p.pid);
    if (r.converged && !opts.keep) await s.cleanup();
  }
  return r;
}

function firstLines(e: unknown, n = 6): string {
  const text = e instanceof Error ? e.message : String(e);
  const lines = text.split("\n").filter((l) => /error|Error|failed|refus|lock|stale|not /.test(l));
  return (lines.length > 0 ? lines : text.split("\n")).slice(0, n).join(" | ").slice(0, 600);
}

/** A clean run (no fault) of a copy of the template's stack: the reference media. */
export async function cleanRun(t: Template, root: string, changed = false): Promise<MediaSnapshot> {
  const s = cloneStack(t, root, `${t.arch}-clean${changed ? "-changed" : ""}`);
  try {
    if (changed) await applyChange(s);
    const up = await pulumiCli(s, ["up", "--yes", "--skip-preview"]);
    if (up.code !== 0) throw new Error(`clean up of ${t.arch} failed:\n${up.output}`);
    return await snapshotMedia(s.isoPath, s.certFile, s.dir);
  } finally {
    await pulumiCli(s, ["destroy", "--yes", "--skip-preview"]);
    await s.cleanup();
  }
}

/** Run `jobs` at a time. */
export async function pool<T, R>(items: readonly T[], jobs: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, worker));
  return out;
}

function cell(s: string): string {
  return s.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/** The report: one row per point. */
export function reportTable(results: readonly PointResult[], totalSeconds: number, jobs: number): string {
  const rows = [
    "| stack | point | where the kill lands | pending ops after kill | left by the kill | recovery | outcome | s |",
    "|---|---|---|---|---|---|---|---|",
  ];
  for (const r of results) {
    const problems = [
      ...(r.triggered ? [] : ["fault never fired"]),
      ...r.survivors.map((x) => `survivor: ${x}`),
      ...r.recovery,
      ...r.mediaDiffs,
      ...r.destroyProblems,
    ];
    const outcome = r.converged
      ? `converged${r.notes.length > 0 ? ` (${r.notes.join("; ")})` : ""}`
      : `NOT converged: ${problems.join("; ")}`;
    rows.push(
      `| ${r.arch} | ${r.id} | ${cell(r.where)} | ${cell(r.pending.join(", ") || "-")} | ${cell(
        [...new Set(r.leftAfterKill)].join(", ") || "-",
      )} | ${cell(r.steps.join("; "))} | ${cell(outcome)} | ${r.seconds} (${Object.entries(r.phases)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ")}) |`,
    );
  }
  const ok = results.filter((r) => r.converged).length;
  const tmp = results.filter((r) => r.tmpLeftovers.length > 0);
  const idle = results.filter((r) => r.idlePlugins.length > 0);
  return [
    "# Fault injection report",
    "",
    `${ok}/${results.length} points converged; ${totalSeconds.toFixed(0)} s wall clock, ${jobs} point(s) at a time.`,
    "Each point: a fresh copy of a scratch demo stack; `pulumi up` SIGKILLed at the point (the CLI and every",
    "process under it; `cli.*`: the CLI alone); the recovery a user is told to do (`pulumi cancel` when the stack",
    "is locked, `pulumi refresh --clear-pending-creates`, `pulumi up`) must converge to the media of a clean run",
    "(every ISO file byte for byte, BCD stores by registry content, boot.wim by its files, the signed driver",
    "without its signature); then `pulumi destroy` must leave no mount, bookkeeping, temporary file, ISO, VM",
    "folder, QEMU, lock or claim, boot.wim as copype made it and the BCD stores byte-identical to copype's.",
    "`upd.*` points kill an update (a driver source edited, testsigning off). See test/faults/campaign.ts, media.ts.",
    "",
    ...rows,
    "",
    tmp.length > 0
      ? `Left in TMPDIR by killed runs after recovery and destroy (scratch folders of dead writers: removed by the next step that makes one, runtime/scratch.ts): ${tmp
          .map((r) => `${r.arch}/${r.id}: ${r.tmpLeftovers.join(", ")}`)
          .join("; ")}`
      : "Nothing left in TMPDIR.",
    "",
    idle.length > 0
      ? `Plugins still running (idle, no engine to talk to) after a \`kill -9\` of the CLI alone, once everything else ended (the harness then killed them): ${idle
          .map((r) => `${r.arch}/${r.id}: ${r.idlePlugins.join(", ")}`)
          .join("; ")}`
      : "",
    "",
  ].join("\n");
}
