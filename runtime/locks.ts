/**
 * Locks and claims between stacks and processes.
 *
 * - An operation lock (`withLock`) is held by a live process for the length of one step (mount, commit, ISO
 *   write). A second process waits with a visible message and, after `waitMs`, fails with an error naming the
 *   holder. A lock whose process is dead (killed mid-step) is detected and taken over.
 * - A claim (`claim`) outlives processes: it says which stack holds a WIM mounted (like DISM's mount registry).
 *   It is released by that stack's destroy, or found stale by the caller's own test and taken over.
 *
 * Lock files live in `WINPE_LAB_LOCK_DIR`, default `<os tmpdir>/winpe-lab-locks`, machine-wide like DISM's
 * mount registry, keyed by the sha256 of the resource's real path.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { WinpeError } from "./errors";
import { writeAll } from "./write-all";

export interface LockInfo {
  /** Who holds it, for messages: e.g. `stack demo-x64 of /work/main`. */
  holder: string;
  pid: number;
  host: string;
  /** ISO time the lock was taken (diagnostics only; never part of a diffed output). */
  since: string;
  /** What is locked (a path). */
  subject: string;
}

export class LockedError extends WinpeError {
  constructor(
    message: string,
    readonly info: LockInfo,
  ) {
    super(message);
    this.name = "LockedError";
  }
}

export function lockDir(): string {
  const dir = process.env.WINPE_LAB_LOCK_DIR || path.join(os.tmpdir(), "winpe-lab-locks");
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** Stable key of a path (its real path when it exists, else its absolute path). */
export function keyOf(kind: string, subject: string): string {
  let real: string;
  try {
    real = fs.realpathSync(subject);
  } catch {
    real = path.resolve(subject);
  }
  return `${kind}-${crypto.createHash("sha256").update(real).digest("hex").slice(0, 24)}`;
}

/** Is a process alive on this host? */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readInfo(file: string): LockInfo | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as LockInfo;
  } catch {
    return undefined;
  }
}

function tryCreate(file: string, info: LockInfo): boolean {
  try {
    const fd = fs.openSync(file, "wx", 0o644);
    try {
      try {
        writeAll(fd, JSON.stringify(info));
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    } catch (e) {
      fs.rmSync(file, { force: true }); // a full disk: no half-written lock is left to look like someone else's
      throw e;
    }
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw e;
  }
}

export interface WithLockOptions {
  /** How long to wait for a live holder before failing. @default 120000 */
  waitMs?: number;
  /** Called with a visible message when waiting or when a stale lock is taken over. */
  onMessage?: (message: string) => void;
}

/**
 * Run `fn` holding the operation lock on `subject` (e.g. a WIM path). Waits for a live holder (with a
 * message), takes over the lock of a dead process, and always releases its own lock.
 */
export async function withLock<T>(
  kind: string,
  subject: string,
  holder: string,
  fn: () => Promise<T>,
  opts: WithLockOptions = {},
): Promise<T> {
  const file = path.join(lockDir(), `${keyOf(kind, subject)}.lock`);
  const info: LockInfo = { holder, pid: process.pid, host: os.hostname(), since: new Date().toISOString(), subject };
  const deadline = Date.now() + (opts.waitMs ?? 120_000);
  let announced = false;
  for (;;) {
    if (tryCreate(file, info)) break;
    const cur = readInfo(file);
    if (!cur || (cur.host === os.hostname() && !pidAlive(cur.pid))) {
      opts.onMessage?.(
        `taking over a stale ${kind} lock on ${subject}${cur ? ` left by ${cur.holder} (pid ${cur.pid}, no longer running)` : ""}`,
      );
      fs.rmSync(file, { force: true });
      continue;
    }
    if (Date.now() >= deadline) {
      throw new LockedError(
        `${subject} is locked by ${cur.holder} (pid ${cur.pid} on ${cur.host}, since ${cur.since}); wait for it to finish or stop it`,
        cur,
      );
    }
    if (!announced) {
      opts.onMessage?.(`waiting for ${cur.holder} (pid ${cur.pid}) to release ${subject} ...`);
      announced = true;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  try {
    return await fn();
  } finally {
    const cur = readInfo(file);
    if (cur && cur.pid === process.pid && cur.since === info.since) fs.rmSync(file, { force: true });
  }
}

/** A persistent claim (survives processes): who holds `subject`. */
export interface Claim {
  holder: string;
  subject: string;
  /** Free-form details the owner needs to test staleness (e.g. its mount folder). */
  details: Record<string, string>;
}

function claimFile(kind: string, subject: string): string {
  return path.join(lockDir(), `${keyOf(kind, subject)}.claim`);
}

export function readClaim(kind: string, subject: string): Claim | undefined {
  try {
    return JSON.parse(fs.readFileSync(claimFile(kind, subject), "utf8")) as Claim;
  } catch {
    return undefined;
  }
}

/**
 * Claim `subject` for `holder`. An existing claim by another holder is an error naming it, unless
 * `isStale(existing)` says it is stale (then it is taken over and `onMessage` tells).
 */
export function claim(
  kind: string,
  subject: string,
  holder: string,
  details: Record<string, string>,
  isStale: (c: Claim) => boolean,
  onMessage?: (m: string) => void,
): void {
  const file = claimFile(kind, subject);
  const mine: Claim = { holder, subject, details };
  for (let attempt = 0; attempt < 3; attempt++) {
    if (tryCreate(file, mine as unknown as LockInfo)) return;
    const cur = readClaim(kind, subject);
    if (cur && cur.holder === holder && JSON.stringify(cur.details) === JSON.stringify(details)) return;
    if (!cur || isStale(cur)) {
      onMessage?.(`taking over a stale claim on ${subject}${cur ? ` left by ${cur.holder}` : ""}`);
      fs.rmSync(file, { force: true });
      continue;
    }
    throw new LockedError(
      `${subject} is already mounted by ${cur.holder} (mount folder ${cur.details.mountDir ?? "?"}); destroy that stack first or use another WIM`,
      { holder: cur.holder, pid: 0, host: "", since: "", subject },
    );
  }
  throw new Error(`could not claim ${subject}: the claim file ${file} keeps changing`);
}

/** Release our claim on `subject` (no-op when another holder has it or none exists). */
export function releaseClaim(kind: string, subject: string, holder: string): void {
  const cur = readClaim(kind, subject);
  if (cur && cur.holder === holder) fs.rmSync(claimFile(kind, subject), { force: true });
}
