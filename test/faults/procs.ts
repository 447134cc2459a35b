/**
 * Processes for the fault suite: the whole tree under a `pulumi` we started, killed at once (SIGKILL), and the
 * processes a killed run may have left behind.
 *
 * Why a tree and not only the process group: Pulumi 3.248 starts every plugin (the language host, the
 * dynamic-provider launcher and its `node`) in a process group of its own (Setpgid), so
 * `process.kill(-pid, "SIGKILL")` on the CLI's group leaves the provider, and any tool it runs (wimlib, xorriso,
 * QEMU), alive and still writing. A crash of the machine (power loss, OOM killer on the session, a CI job
 * cancelled with SIGKILL) kills all of them at once; that is what these helpers reproduce: every descendant is
 * frozen with SIGSTOP first (so none can fork, finish a write or react), then all get SIGKILL.
 */
import * as fs from "node:fs";

export interface ProcInfo {
  pid: number;
  ppid: number;
  pgid: number;
  state: string;
  cmdline: string;
}

function readProc(pid: number): ProcInfo | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // the command name is in parentheses and may contain spaces: split after the last ')'
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trim();
    return { pid, ppid: Number(rest[1]), pgid: Number(rest[2]), state: rest[0], cmdline };
  } catch {
    return undefined;
  }
}

/** Every process on the machine (a snapshot of /proc). */
export function allProcesses(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const p = readProc(Number(name));
    if (p) out.push(p);
  }
  return out;
}

/** The pids of `root` and all its descendants (one /proc snapshot). */
export function descendants(root: number, procs = allProcesses()): number[] {
  const children = new Map<number, number[]>();
  for (const p of procs) {
    const list = children.get(p.ppid) ?? [];
    list.push(p.pid);
    children.set(p.ppid, list);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    if (!procs.some((p) => p.pid === pid)) continue;
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/**
 * SIGKILL `root` and every descendant at the same moment: freeze the tree with SIGSTOP until no new process
 * shows up, then SIGKILL all of them (and the root's process group, for good measure). Returns the pids killed.
 */
export function killTree(root: number): number[] {
  const frozen = new Set<number>();
  for (let round = 0; round < 50; round++) {
    const pids = descendants(root).filter((p) => !frozen.has(p));
    if (pids.length === 0) break;
    for (const p of pids) {
      signal(p, "SIGSTOP");
      frozen.add(p);
    }
  }
  signal(-root, "SIGKILL");
  for (const p of frozen) signal(p, "SIGKILL");
  return [...frozen];
}

/** Processes (other than this one) whose command line contains `marker` (e.g. a scratch folder). */
export function processesMentioning(marker: string): Array<{ pid: number; cmdline: string }> {
  return allProcesses()
    .filter((p) => p.pid !== process.pid && p.state !== "Z" && p.cmdline.includes(marker))
    .map((p) => ({ pid: p.pid, cmdline: p.cmdline }));
}

/** Wait until none of `pids` is alive (zombies count as gone), up to `timeoutMs`. */
export async function waitGone(pids: readonly number[], timeoutMs = 10_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const alive = pids.filter((p) => {
      const info = readProc(p);
      return info !== undefined && info.state !== "Z";
    });
    if (alive.length === 0 || Date.now() > deadline) return alive;
    await new Promise((r) => setTimeout(r, 50));
  }
}
