/**
 * The fault campaign: for each point, a fresh scratch demo stack; `pulumi up` killed (the whole process tree,
 * SIGKILL) at the point; then what a user is told to do — `pulumi refresh --clear-pending-creates` and
 * `pulumi up` — must converge to the media of a clean run (see media.ts for what "the same" means), and
 * `pulumi destroy` must leave nothing behind.
 *
 * Pending operations: a killed `pulumi up` (Pulumi 3.248, file backend) leaves the steps it had started as
 * `pending_operations` in the checkpoint (`creating`, `updating`, `deleting`). `pulumi up` only warns about them;
 * `pulumi refresh` clears pending updates and deletes but, when not interactive, keeps pending CREATES unless
 * given `--clear-pending-creates` (drop them: the next `up` creates the resource again) or
 * `--import-pending-creates <urn> <id>...`. Every winpe-lab create is safe to run again over what an
 * interrupted create left (that is what this suite checks), so the documented recovery is
 * `pulumi refresh --clear-pending-creates --yes` then `pulumi up`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { sha256 } from "../../resources/runtime/digest";
import type { DemoArch } from "../helpers/demo-stack";
import { listAll } from "../helpers/demo-stack";
import { wimContent } from "../helpers/wim";
import { type Fault, installFault } from "./injectors";
import { compareMedia, type MediaSnapshot, snapshotMedia } from "./media";
import { descendants, killTree, processesMentioning, waitGone } from "./procs";
import { type FaultStack, openFaultStack, readCheckpoint, spawnPulumi, type Template } from "./stack";

export interface PointDef {
  id: string;
  /** Where the kill lands, for the report. */
  where: string;
  fault: (s: FaultStack) => Fault;
  /** Wait this long after the signal before killing (e.g. so QEMU is really running). @default 0 */
  delayMs?: number;
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
      where: "boundary: certificate done, DriverBuild probing clang",
      fault: () => ({ kind: "tool", tool: "clang", args: ["--version"], mode: "before" }),
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
  /** What the kill left on disk (temp files, lock/claim files), for the report. */
  leftAfterKill: string[];
  survivors: string[];
  recovery: string[];
  mediaDiffs: string[];
  destroyProblems: string[];
  /** Leftovers of os.tmpdir() users (build/sign folders) in the stack's TMPDIR after destroy: reported, not failed. */
  tmpLeftovers: string[];
  seconds: number;
  converged: boolean;
  dir: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tempsUnder(dir: string): string[] {
  return listAll(dir).filter((f) => f.split("/").some((part) => part.startsWith(".winpe-tmp-")));
}

/** `pulumi up`, killed (whole tree, SIGKILL) at the fault; false when the up ended before the fault fired. */
async function killedUp(s: FaultStack, point: PointDef, preload: string): Promise<{ fired: boolean; note: string }> {
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
  const killed = killTree(pid);
  await done;
  await waitGone([...new Set([...tree, ...killed])]);
  const note = fired ? `killed ${killed.length} processes` : `up ended (exit ${exited}) before the fault fired`;
  return { fired, note };
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
  opts: { root: string; preload: string; keep?: boolean },
): Promise<PointResult> {
  const started = Date.now();
  const s = await openFaultStack(t, { root: opts.root, label: `${t.arch}-${point.id}` });
  const r: PointResult = {
    arch: t.arch,
    id: point.id,
    where: point.where,
    triggered: false,
    pending: [],
    leftAfterKill: [],
    survivors: [],
    recovery: [],
    mediaDiffs: [],
    destroyProblems: [],
    tmpLeftovers: [],
    seconds: 0,
    converged: false,
    dir: s.dir,
  };
  try {
    const k = await killedUp(s, point, opts.preload);
    r.triggered = k.fired;
    if (!k.fired) r.recovery.push(k.note);
    const alive = processesMentioning(s.dir);
    r.survivors = alive.map((p) => `${p.pid} ${p.cmdline.slice(0, 100)}`);
    for (const p of alive) killTree(p.pid);
    r.pending = readCheckpoint(s)?.pending ?? [];
    r.leftAfterKill = [
      ...tempsUnder(s.dir).map((f) => `temp ${path.basename(f).slice(0, 40)}`),
      ...listAll(s.lockDir).map((f) => `${f.endsWith(".lock") ? "lock" : "claim"} ${f.split("-")[0]}`),
    ];

    const stackLocks = listAll(path.join(s.stateDir, ".pulumi", "locks"));
    if (stackLocks.length > 0) r.leftAfterKill.push("stack lock");

    // what a user is told to do after a crash: `pulumi cancel` (the file backend's stack lock of the killed
    // run names a pid but is never found stale), `pulumi refresh --clear-pending-creates`, `pulumi up`
    try {
      if (stackLocks.length > 0) await s.stack.cancel();
    } catch (e) {
      r.recovery.push(`cancel failed: ${firstLines(e)}`);
    }
    try {
      await s.stack.refresh({ clearPendingCreates: true });
    } catch (e) {
      r.recovery.push(`refresh --clear-pending-creates failed: ${firstLines(e)}`);
    }
    let upOk = false;
    try {
      const up = await s.stack.up();
      upOk = up.summary.result === "succeeded";
      if (!upOk) r.recovery.push(`up: ${up.summary.result}`);
    } catch (e) {
      r.recovery.push(`up failed: ${firstLines(e)}`);
    }
    const left = readCheckpoint(s)?.pending ?? [];
    if (left.length > 0) r.recovery.push(`pending operations after refresh + up: ${left.join(", ")}`);
    if (upOk) {
      if (!fs.existsSync(s.isoPath)) r.mediaDiffs.push("no ISO after up");
      else {
        const got = await snapshotMedia(s.isoPath, s.certFile, s.dir);
        r.mediaDiffs.push(...compareMedia(clean, got));
        // the workspace's stores are what went into the ISO
        for (const f of s.stores) {
          const rel = path.relative(s.mediaDir, f).split(path.sep).join("/");
          if (got.isoFiles[rel] !== sha256(fs.readFileSync(f))) r.mediaDiffs.push(`workspace ${rel} != ISO's`);
        }
      }
    }

    try {
      const d = await s.stack.destroy();
      if (d.summary.result !== "succeeded") r.destroyProblems.push(`destroy: ${d.summary.result}`);
    } catch (e) {
      r.destroyProblems.push(`destroy failed: ${firstLines(e)}`);
    }
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

/** A clean run (no fault) of a stack from `t`: the reference media. */
export async function cleanRun(t: Template, root: string): Promise<MediaSnapshot> {
  const s = await openFaultStack(t, { root, label: `${t.arch}-clean` });
  try {
    const up = await s.stack.up();
    if (up.summary.result !== "succeeded") throw new Error(`clean up of ${t.arch}: ${up.summary.result}`);
    return await snapshotMedia(s.isoPath, s.certFile, s.dir);
  } finally {
    await s.stack.destroy().catch(() => undefined);
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
    "| stack | point | where the kill lands | pending ops after kill | left by the kill | outcome | s |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const r of results) {
    const problems = [
      ...(r.triggered ? [] : ["fault never fired"]),
      ...r.survivors.map((x) => `survivor: ${x}`),
      ...r.recovery,
      ...r.mediaDiffs,
      ...r.destroyProblems,
    ];
    const outcome = r.converged ? "converged" : `NOT converged: ${problems.join("; ")}`;
    rows.push(
      `| ${r.arch} | ${r.id} | ${cell(r.where)} | ${cell(r.pending.join(", ") || "-")} | ${cell(
        [...new Set(r.leftAfterKill)].join(", ") || "-",
      )} | ${cell(outcome)} | ${r.seconds} |`,
    );
  }
  const ok = results.filter((r) => r.converged).length;
  const tmp = results.filter((r) => r.tmpLeftovers.length > 0);
  return [
    "# Fault injection report",
    "",
    `${ok}/${results.length} points converged; ${totalSeconds.toFixed(0)} s wall clock, ${jobs} point(s) at a time.`,
    "Each point: fresh scratch demo stack, `pulumi up` SIGKILLed (whole process tree) at the point,",
    "`pulumi refresh --clear-pending-creates` + `pulumi up` (must converge to a clean run's media),",
    "`pulumi destroy` (must leave nothing). See test/faults/campaign.ts and media.ts.",
    "",
    ...rows,
    "",
    tmp.length > 0
      ? `Left in TMPDIR by killed runs (os.tmpdir() folders of the build/signing, not cleaned on the next run): ${tmp
          .map((r) => `${r.arch}/${r.id}: ${r.tmpLeftovers.join(", ")}`)
          .join("; ")}`
      : "Nothing left in TMPDIR.",
    "",
  ].join("\n");
}
