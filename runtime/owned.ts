/**
 * Never overwrite or delete what winpe-lab did not make.
 *
 * An output path a user can point anywhere (the ISO, the build outputs) is written only when nothing is there, or
 * when what is there is ours: a ledger in our bookkeeping folder (`<stateDir>/owned/`, one small JSON file per path,
 * written atomically) records each path we write, first as an intent (before the write: a write killed after its
 * rename still leaves a file we know is ours), then with the digest of what we wrote (sha256; the ISO's is a tree
 * digest, runtime/digest.ts: each is compared in its own kind). A path is removed only when
 * its content is what we last wrote (or a write of ours was interrupted there); a file changed by someone else since
 * stays, with a notice.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { removeStaleTemps, tempPathFor, writeFileAtomic } from "./atomic";
import { fileDigestLike } from "./digest";
import { WinpeError } from "./errors";
import { writeAll } from "./write-all";

/** Whether `target`'s content has one of the `known` digests (each compared in its own kind: sha256 or tree). */
function holdsOneOf(target: string, known: readonly string[]): boolean {
  const seen = new Map<boolean, string>();
  return known.some((k) => {
    const tree = !/^[0-9a-f]{64}$/.test(k);
    if (!seen.has(tree)) seen.set(tree, fileDigestLike(target, k));
    return seen.get(tree) === k;
  });
}

/** A path holds a file winpe-lab did not write. */
export class NotOursError extends WinpeError {
  constructor(
    message: string,
    readonly file: string,
  ) {
    super(message);
    this.name = "NotOursError";
  }
}

interface Entry {
  path: string;
  /** Digest (sha256 hex, or `sha256-1m:` tree digest) of what we wrote there last; null while a write of ours is under way (or was interrupted). */
  sha256: string | null;
  /** Who wrote it (e.g. `WinPeIso winpe-lab/demo-x64`), for messages. */
  holder: string;
}

export class OutputLedger {
  private readonly dir: string;

  /** @param stateDir our bookkeeping folder (the ledger is its `owned/` subfolder) */
  constructor(private readonly stateDir: string) {
    this.dir = path.join(stateDir, "owned");
  }

  private entryFile(target: string): string {
    const key = crypto.createHash("sha256").update(path.resolve(target)).digest("hex").slice(0, 24);
    return path.join(this.dir, `${key}.json`);
  }

  private entry(target: string): Entry | undefined {
    try {
      const e = JSON.parse(fs.readFileSync(this.entryFile(target), "utf8")) as Entry;
      return e.path === path.resolve(target) ? e : undefined;
    } catch {
      return undefined;
    }
  }

  /** Whether `target` is ours to replace: absent, recorded in the ledger, or holding what we wrote (`knownSha256`). */
  isOurs(target: string, knownSha256: readonly (string | undefined)[] = []): boolean {
    if (!fs.existsSync(target)) return true;
    if (this.entry(target)) return true;
    if (!fs.statSync(target).isFile()) return false;
    const known = knownSha256.filter((k): k is string => !!k);
    return holdsOneOf(target, known);
  }

  /**
   * Refuse (before anything is written) when `target` holds something we did not write. `what` names the setting
   * (`'iso.path'`), for the message.
   */
  assertMayWrite(target: string, what: string, knownSha256: readonly (string | undefined)[] = []): void {
    if (this.isOurs(target, knownSha256)) return;
    const kind = fs.statSync(target).isDirectory() ? "a folder" : "a file";
    throw new NotOursError(
      `${what} ${target} is ${kind} that winpe-lab did not write; winpe-lab never replaces or deletes what it did ` +
        `not make: move it away, or choose another path`,
      target,
    );
  }

  /** Record that a write of ours to `target` begins (call after {@link assertMayWrite}, before writing). */
  intend(target: string, holder: string): void {
    const cur = this.entry(target);
    if (cur) return;
    this.write({ path: path.resolve(target), sha256: null, holder });
  }

  /**
   * A write announced with {@link intend} failed: drop the intent when nothing was written (so a failed step
   * leaves no bookkeeping behind); an entry of an earlier, finished write stays.
   */
  abandon(target: string): void {
    const e = this.entry(target);
    if (e && e.sha256 === null && !fs.existsSync(target)) this.forget(target);
  }

  /** Record what we wrote to `target`. */
  record(target: string, sha256: string, holder: string): void {
    this.write({ path: path.resolve(target), sha256, holder });
  }

  private write(e: Entry): void {
    fs.mkdirSync(this.dir, { recursive: true });
    writeFileAtomic(this.entryFile(e.path), `${JSON.stringify(e)}\n`);
  }

  /**
   * Remove `target` when it is ours as we left it: its content is what we last wrote (the ledger's digest or one
   * of `knownSha256`), or a write of ours was interrupted there. Otherwise the file stays and the returned
   * string says why. The ledger entry is dropped in both cases (a file changed by someone else is theirs now).
   */
  remove(target: string, knownSha256: readonly (string | undefined)[] = []): string | undefined {
    const e = this.entry(target);
    let kept: string | undefined;
    if (fs.existsSync(target)) {
      const st = fs.statSync(target);
      const known = [e?.sha256 ?? undefined, ...knownSha256].filter((k): k is string => !!k);
      const interrupted = e !== undefined && e.sha256 === null;
      if (!st.isFile()) kept = `${target} is not a file winpe-lab wrote: left in place`;
      else if (interrupted || holdsOneOf(target, known)) fs.rmSync(target, { force: true });
      else kept = `${target} was changed outside winpe-lab since it was written: left in place`;
    }
    this.forget(target);
    return kept;
  }

  /** Drop the ledger entry of `target` (and the ledger folder once empty). */
  forget(target: string): void {
    fs.rmSync(this.entryFile(target), { force: true });
    if (removeEmptyDir(this.dir)) removeEmptyDir(this.stateDir);
  }
}

/** Remove `dir` when it is empty (a folder we created); a folder with anything in it stays. */
export function removeEmptyDir(dir: string): boolean {
  try {
    fs.rmdirSync(dir);
    return true;
  } catch {
    return false;
  }
}

/** Who a working folder belongs to: the stack that first wrote to it (`<workspace>/.winpe-lab/owner.json`). */
export interface WorkspaceOwner {
  holder: string;
}

function ownerFile(stateDir: string): string {
  return path.join(stateDir, "owner.json");
}

/** The stack a working folder belongs to, or undefined when none claimed it (or the record is unreadable). */
export function workspaceOwner(stateDir: string): WorkspaceOwner | undefined {
  try {
    const o = JSON.parse(fs.readFileSync(ownerFile(stateDir), "utf8")) as WorkspaceOwner;
    return typeof o.holder === "string" ? o : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Claim a working folder for `holder` (idempotent). Refuses, writing nothing, when another stack holds it. The
 * claim is created exclusively, so two first `up`s of different stacks cannot both win.
 */
export function claimWorkspace(stateDir: string, holder: string, workspace: string): void {
  const cur = workspaceOwner(stateDir);
  if (cur?.holder === holder) return;
  if (cur) throw new NotOursError(workspaceTakenMessage(workspace, cur.holder, holder), workspace);
  fs.mkdirSync(stateDir, { recursive: true });
  // a complete claim file under a temporary name of ours (a killed claim leaves it to removeStaleTemps), then
  // linked into place: the link fails when someone else's claim appeared meanwhile
  const tmp = tempPathFor(ownerFile(stateDir));
  const fd = fs.openSync(tmp, "wx", 0o644);
  try {
    try {
      writeAll(fd, `${JSON.stringify({ holder })}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    fs.rmSync(tmp, { force: true }); // a full disk: the claim was not written, and nothing of it stays
    throw e;
  }
  try {
    fs.linkSync(tmp, ownerFile(stateDir)); // fails when someone else's claim appeared meanwhile
  } catch (e) {
    const other = workspaceOwner(stateDir);
    if (other?.holder === holder) return;
    if (other) throw new NotOursError(workspaceTakenMessage(workspace, other.holder, holder), workspace);
    throw e;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/**
 * Give a working folder up (its last resource is gone): the claim of `holder` only, then every empty folder of our
 * bookkeeping folder (ours, made by the resources that are gone now), and the bookkeeping folder itself when empty.
 */
export function releaseWorkspace(stateDir: string, holder: string): void {
  if (workspaceOwner(stateDir)?.holder !== holder) return;
  fs.rmSync(ownerFile(stateDir), { force: true });
  removeStaleTempsBelow(stateDir);
  removeEmptyDirs(stateDir);
}

/** Our temporary files of dead writers in `dir` and every folder below it (left by killed steps). */
function removeStaleTempsBelow(dir: string): void {
  removeStaleTemps(dir);
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) if (e.isDirectory() && !e.isSymbolicLink()) removeStaleTempsBelow(path.join(dir, e.name));
}

/** Remove `dir` and the folders below it that hold no file (bottom up); folders with anything in them stay. */
export function removeEmptyDirs(dir: string): boolean {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return false;
  }
  for (const e of entries) if (e.isDirectory() && !e.isSymbolicLink()) removeEmptyDirs(path.join(dir, e.name));
  return removeEmptyDir(dir);
}

export function workspaceTakenMessage(workspace: string, owner: string, holder: string): string {
  return (
    `the working folder ${workspace} belongs to stack ${owner} (since its first up), not to ${holder}: ` +
    `give each stack its own working folder (copype), or destroy ${owner} first`
  );
}
