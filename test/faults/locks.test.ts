/**
 * Locks and claims between stacks and processes (issue 8, part 3):
 * - on the real engine: a second stack whose config names the same workspace (so the same boot.wim and mount
 *   folder) is refused before it writes anything (the working folder belongs to the first stack since its first
 *   up): its `pulumi up` fails with an error naming the owner, the first stack's WIM, mount folder, ISO, BCD
 *   stores and certificate are untouched, and destroying the second stack changes nothing of the first's;
 * - through the image backend: two stacks that share only the mount folder (different WIMs) are refused the same
 *   way;
 * - through runtime/locks.ts: a second process waits for a live holder with a visible message and
 *   fails after its wait naming the holder; the lock of a process killed with SIGKILL is found stale (dead pid)
 *   and taken over;
 * - the amd64 and arm64 demo stacks, which share nothing (but the machine-wide lock folder), run `pulumi up` at
 *   the same time and both succeed.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256 } from "../../runtime/digest";
import { LockedError, withLock } from "../../runtime/locks";
import { openImageBackend } from "../../toolchains/open/image";
import { snapshot, snapshotDiff } from "../bad-inputs/workspace";
import { listAll } from "../helpers/demo-stack";
import { REPO_ROOT, scratchDir } from "../helpers/pulumi";
import { makeWim } from "../helpers/wim";
import { type FaultStack, makeTemplate, openFaultStack, pulumiCli, type Template } from "./stack";

const sha = (f: string) => sha256(fs.readFileSync(f));

/** Run `fn` with WINPE_LAB_LOCK_DIR set to `dir` (locks.ts reads it at each call). */
async function withLockDir<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const saved = process.env.WINPE_LAB_LOCK_DIR;
  process.env.WINPE_LAB_LOCK_DIR = dir;
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env.WINPE_LAB_LOCK_DIR;
    else process.env.WINPE_LAB_LOCK_DIR = saved;
  }
}

/** A child Node process that takes `withLock(kind, subject, holder)` (compiled locks.ts) and holds it. */
function holdLockInChild(
  locks: string,
  kind: string,
  subject: string,
  holder: string,
  holdMs: number,
): { ready: Promise<number>; exited: Promise<number | null>; pid: number } {
  const lib = path.join(REPO_ROOT, "dist", "runtime", "locks.js");
  const code = `
    const { withLock } = require(${JSON.stringify(lib)});
    withLock(${JSON.stringify(kind)}, ${JSON.stringify(subject)}, ${JSON.stringify(holder)}, async () => {
      process.stdout.write("locked\\n");
      await new Promise((r) => setTimeout(r, ${holdMs}));
    }).then(() => process.exit(0), (e) => { console.error(e.message); process.exit(1); });`;
  const child = spawn(process.execPath, ["-e", code], {
    env: { ...process.env, WINPE_LAB_LOCK_DIR: locks },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const ready = new Promise<number>((resolve, reject) => {
    child.stdout.on("data", (d: Buffer) => {
      if (d.toString().includes("locked")) resolve(child.pid!);
    });
    child.on("exit", (c) => reject(new Error(`lock holder exited (${c}) before taking the lock`)));
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
  return { ready, exited, pid: child.pid! };
}

describe("locks: one stack at a time on a WIM or mount folder, stale locks taken over, unrelated stacks in parallel", () => {
  let root = "";
  const templates = new Map<string, Template>();

  beforeAll(async () => {
    root = scratchDir("faults-locks");
    for (const arch of ["amd64", "arm64"] as const) templates.set(arch, await makeTemplate(arch, root));
  }, 300_000);

  afterAll(() => {
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it("the lock of a process killed with SIGKILL is found stale (dead pid) and taken over", async () => {
    const locks = path.join(root, "locks-stale");
    const subject = path.join(root, "some.wim");
    fs.writeFileSync(subject, "x");
    const child = holdLockInChild(locks, "wim", subject, "stack crashed-stack of /somewhere", 600_000);
    const pid = await child.ready;
    expect(listAll(locks).filter((f) => f.endsWith(".lock"))).toHaveLength(1);
    process.kill(pid, "SIGKILL");
    await child.exited;
    // the lock file is still there, naming a pid that is gone
    const [lockFile] = listAll(locks);
    expect(JSON.parse(fs.readFileSync(path.join(locks, lockFile), "utf8")).pid).toBe(pid);

    const messages: string[] = [];
    const started = Date.now();
    const got = await withLockDir(locks, () =>
      withLock("wim", subject, "stack next-stack", async () => "ran", {
        onMessage: (m) => messages.push(m),
        waitMs: 5000,
      }),
    );
    expect(got).toBe("ran");
    expect(Date.now() - started).toBeLessThan(2000); // taken over at once, no waiting for the dead holder
    expect(messages.join("\n")).toMatch(
      new RegExp(
        `taking over a stale wim lock on .*some\\.wim left by stack crashed-stack of /somewhere \\(pid ${pid}, no longer running\\)`,
      ),
    );
    expect(listAll(locks)).toEqual([]); // released after use
  });

  it("a live holder: the second process waits with a visible message, then runs (or fails naming the holder)", async () => {
    const locks = path.join(root, "locks-live");
    const subject = path.join(root, "busy.wim");
    fs.writeFileSync(subject, "x");
    const child = holdLockInChild(locks, "wim", subject, "stack first of /work/a", 2500);
    const pid = await child.ready;

    // a short wait: fails with an error naming the holder and its pid
    const err = await withLockDir(locks, () =>
      withLock("wim", subject, "stack second", async () => "ran", { waitMs: 300 }),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockedError);
    expect((err as Error).message).toContain(`locked by stack first of /work/a (pid ${pid}`);
    expect((err as Error).message).toMatch(/wait for it to finish or stop it/);

    // a longer wait: a visible "waiting" message, then it runs once the holder is done
    const messages: string[] = [];
    const got = await withLockDir(locks, () =>
      withLock("wim", subject, "stack second", async () => "ran", {
        waitMs: 30_000,
        onMessage: (m) => messages.push(m),
      }),
    );
    expect(got).toBe("ran");
    expect(messages[0]).toMatch(
      new RegExp(`waiting for stack first of /work/a \\(pid ${pid}\\) to release .*busy\\.wim`),
    );
    expect(await child.exited).toBe(0);
    expect(listAll(locks)).toEqual([]);
  });

  it("two stacks that share only a mount folder: the second mount is refused naming the holder", async () => {
    const dir = path.join(root, "shared-mount");
    const locks = path.join(dir, "locks");
    fs.mkdirSync(path.join(dir, "a"), { recursive: true });
    fs.mkdirSync(path.join(dir, "b"), { recursive: true });
    const wimA = await makeWim(path.join(dir, "a"));
    const wimB = await makeWim(path.join(dir, "b"));
    const mountDir = path.join(dir, "mount");
    const spec = (wim: string, holder: string) => ({
      wim,
      index: 1,
      mountDir,
      privateDir: path.join(dir, ".winpe-lab", `mount-${holder}`),
      holder,
    });
    const ctx = { resource: "locks.test" };
    await withLockDir(locks, async () => {
      await openImageBackend.mount(spec(wimA, "winpe-lab/stack-a"), ctx);
      const err = await openImageBackend.mount(spec(wimB, "winpe-lab/stack-b"), ctx).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(/already mounted by winpe-lab\/stack-a/);
      expect((err as Error).message).toContain(mountDir);
      // the refused stack keeps no claim on its own WIM either
      const claims = listAll(locks).filter((f) => f.endsWith(".claim"));
      expect(claims).toHaveLength(2); // stack-a: its WIM and the mount folder
      await openImageBackend.unmount(spec(wimA, "winpe-lab/stack-a"), ctx);
      expect(listAll(locks)).toEqual([]);
      // once the first is unmounted, the second may mount
      await openImageBackend.mount(spec(wimB, "winpe-lab/stack-b"), ctx);
      await openImageBackend.unmount(spec(wimB, "winpe-lab/stack-b"), ctx);
    });
  });

  describe("on the real engine: a second stack on the same workspace (same boot.wim, same mount folder)", () => {
    let a: FaultStack;
    let b: FaultStack;

    beforeAll(async () => {
      const t = templates.get("amd64")!;
      a = await openFaultStack(t, { root, label: "same-wim-a", name: "locks-a" });
      b = await openFaultStack(t, {
        root,
        label: "same-wim-b",
        name: "locks-b",
        workspace: a.workspace,
        lockDir: a.lockDir, // the lock folder is machine-wide (one per user by default)
      });
    }, 120_000);

    afterAll(async () => {
      if (b) {
        await pulumiCli(b, ["destroy", "--yes", "--skip-preview"]);
        await b.cleanup();
      }
      if (a) {
        await pulumiCli(a, ["destroy", "--yes", "--skip-preview"]);
        await a.cleanup();
      }
    }, 120_000);

    it("the second stack is refused before it writes anything; its destroy leaves the first stack's files", async () => {
      const up = await pulumiCli(a, ["up", "--yes", "--skip-preview"]);
      expect(up.code, up.output).toBe(0);
      const everything = () => snapshot(a.workspace);
      const before = everything();
      const isoBefore = sha(a.isoPath);
      expect(listAll(a.mountDir)).toEqual(["Windows/Ioctl/ioctlapp.exe", "Windows/Ioctl/sioctl.sys"]);

      const second = await pulumiCli(b, ["up", "--yes", "--skip-preview"]);
      expect(second.code).not.toBe(0);
      expect(second.output).toMatch(
        /the working folder .* belongs to stack winpe-lab\/locks-a .*not to winpe-lab\/locks-b/,
      );
      expect(snapshotDiff(before, everything())).toEqual([]);
      expect(sha(a.isoPath)).toBe(isoBefore);
      expect(fs.existsSync(b.isoPath)).toBe(false);

      // the second stack has nothing to destroy: the first stack's certificate and BCD stores stay as they are
      const down = await pulumiCli(b, ["destroy", "--yes", "--skip-preview"]);
      expect(down.code, down.output).toBe(0);
      expect(snapshotDiff(before, everything())).toEqual([]);
    });
  });

  it("the amd64 and arm64 stacks share nothing: both ups run at the same time and succeed", async () => {
    const sharedLocks = path.join(root, "locks-parallel");
    const stacks = await Promise.all(
      (["amd64", "arm64"] as const).map((arch) =>
        openFaultStack(templates.get(arch)!, { root, label: `parallel-${arch}`, lockDir: sharedLocks }),
      ),
    );
    try {
      const spans = await Promise.all(
        stacks.map(async (s) => {
          const start = Date.now();
          const r = await pulumiCli(s, ["up", "--yes", "--skip-preview"]);
          return { s, r, start, end: Date.now() };
        }),
      );
      for (const { s, r } of spans) {
        expect(r.code, `${s.arch}: ${r.output}`).toBe(0);
        expect(r.output).not.toMatch(/waiting for .* to release|is locked by|already mounted/);
        expect(fs.existsSync(s.isoPath)).toBe(true);
      }
      // they really overlapped
      const [x, y] = spans;
      expect(Math.min(x.end, y.end) - Math.max(x.start, y.start)).toBeGreaterThan(1000);
      for (const s of stacks) {
        const d = await pulumiCli(s, ["destroy", "--yes", "--skip-preview"]);
        expect(d.code, d.output).toBe(0);
      }
      expect(listAll(sharedLocks)).toEqual([]);
    } finally {
      for (const s of stacks) await s.cleanup();
    }
  });
});
