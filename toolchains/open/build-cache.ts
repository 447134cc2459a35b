/**
 * The open toolchain's build cache: content-addressed results of compile steps (objects, compiled resource
 * scripts), found without running a tool, ccache's "direct mode" idea.
 *
 * - A step's **key** is the sha256 of what decides its result before the headers are known: the exact argv the
 *   tool runs with (it holds no temporary path: compiles run in their object folder with relative names), the
 *   source's path and content, the toolchain's identity (the compiler's version line and the binaries' real paths,
 *   sizes and modification times) and the listing of the folders `#include` resolves names in (a new header that
 *   would shadow another changes it). See {@link BuildCache.lookup}.
 * - Its **manifest** (`manifests/<key>.json`) lists up to {@link MANIFEST_ENTRIES} results, newest first: each with
 *   the files the step really read (clang's `-MD` dependency file: the source and every header) and their sha256,
 *   and the sha256 of the result. A lookup re-hashes those files (digests cached by path, size, mtime and inode in
 *   the process); the first entry whose files all still have their digests is a hit.
 * - A **result** is stored by its own sha256 (`objects/<sha256>.blob`); it is checked against that digest whenever
 *   it is read back: a truncated or altered entry is reported (a notice), removed and rebuilt.
 * - Every file is written to a temporary file beside it and renamed (runtime/atomic.ts), the result before the
 *   manifest that names it: a process killed while writing leaves a temporary file (removed once its writer is
 *   dead), never a half entry under an entry's name. Concurrent builds (several stacks) write the same bytes under
 *   the same names; a manifest written by two at once keeps one of them (the other result is a miss later, never a
 *   wrong hit).
 * - Bounded: {@link BuildCache.prune} removes the least recently used entries (a hit refreshes an entry's
 *   modification time) once `objects/` and `manifests/` together exceed the limit
 *   ({@link DEFAULT_BUILD_CACHE_MAX_BYTES}, 1 GiB), down to three quarters of it.
 *
 * Limits: a header added in a folder that is not listed (clang's resource headers, /usr/include) is not noticed
 * (as with ccache's direct mode); environment variables clang reads (CPATH) are not part of the key.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { removeStaleTemps, TEMP_PREFIX, writeFileAtomic } from "../../runtime/atomic";
import { sha256, sha256File, stableStringify } from "../../runtime/digest";

/** The default size limit of a build cache's objects and manifests (1 GiB). */
export const DEFAULT_BUILD_CACHE_MAX_BYTES = 1024 * 1024 * 1024;

/** Results remembered per key (an edit and its undo both hit). */
export const MANIFEST_ENTRIES = 8;

/** Version of the cache's layout and key material: part of every key. */
const CACHE_SCHEMA = 1;

/** A file a step read, with its sha256 then. */
export interface CacheDep {
  path: string;
  sha256: string;
}

/** One remembered result of a step. */
export interface CacheEntry {
  /** Every file the step read (source, headers), with its sha256 when the result was made. */
  deps: CacheDep[];
  /** sha256 of the result (its name in `objects/`). */
  sha256: string;
  size: number;
  /** What else the caller needs to know about the result (e.g. the argv it was really made with). */
  meta: Record<string, unknown>;
}

/** What {@link BuildCache.restore} found. */
export type RestoreOutcome = "restored" | "missing" | "corrupt";

function isEntry(e: unknown): e is CacheEntry {
  if (!e || typeof e !== "object") return false;
  const x = e as Record<string, unknown>;
  return (
    Array.isArray(x.deps) &&
    x.deps.every(
      (d) =>
        d &&
        typeof d === "object" &&
        typeof (d as CacheDep).path === "string" &&
        typeof (d as CacheDep).sha256 === "string",
    ) &&
    typeof x.sha256 === "string" &&
    /^[0-9a-f]{64}$/.test(x.sha256) &&
    typeof x.size === "number" &&
    !!x.meta &&
    typeof x.meta === "object"
  );
}

/** The current sha256 of a file, or null when it cannot be read. */
function digestOrNull(file: string): string | null {
  try {
    return sha256File(file);
  } catch {
    return null;
  }
}

function touch(file: string): void {
  const now = new Date();
  try {
    fs.utimesSync(file, now, now);
  } catch {
    // gone (pruned by another build): the next lookup misses
  }
}

/** The build cache below one folder (see the module comment). */
export class BuildCache {
  readonly objectsDir: string;
  readonly manifestsDir: string;
  private stored = 0;

  constructor(
    readonly root: string,
    private readonly opts: {
      /** Size limit of objects + manifests. @default {@link DEFAULT_BUILD_CACHE_MAX_BYTES} */
      maxBytes?: number;
      /** Told about corrupt or unreadable entries (they are rebuilt). */
      onNotice?: (message: string) => void;
    } = {},
  ) {
    this.objectsDir = path.join(root, "objects");
    this.manifestsDir = path.join(root, "manifests");
  }

  /** The key of a step: sha256 of its key material (stable JSON) and the cache's schema. */
  static key(material: unknown): string {
    return sha256(stableStringify({ schema: CACHE_SCHEMA, material }));
  }

  /** Where the result with this sha256 is kept. */
  blobPath(digest: string): string {
    return path.join(this.objectsDir, `${digest}.blob`);
  }

  private manifestPath(key: string): string {
    return path.join(this.manifestsDir, `${key}.json`);
  }

  private notice(message: string): void {
    this.opts.onNotice?.(message);
  }

  private readManifest(key: string): CacheEntry[] {
    const file = this.manifestPath(key);
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch {
      return [];
    }
    try {
      const data = JSON.parse(text) as { entries?: unknown };
      if (Array.isArray(data.entries) && data.entries.every(isEntry)) return data.entries;
    } catch {
      // reported below
    }
    this.notice(`build cache: manifest ${file} is unreadable (corrupt entry): removed, the step is rebuilt`);
    fs.rmSync(file, { force: true });
    return [];
  }

  /**
   * The remembered result of the step with this key whose files all still have their recorded sha256, or null.
   * No tool runs. A hit refreshes the entry's place in the least-recently-used order.
   */
  lookup(key: string): CacheEntry | null {
    for (const e of this.readManifest(key)) {
      if (e.deps.every((d) => digestOrNull(d.path) === d.sha256)) {
        touch(this.manifestPath(key));
        touch(this.blobPath(e.sha256));
        return e;
      }
    }
    return null;
  }

  /**
   * Remember `file` as the result of the step `key`, made from `deps` (their digests are taken now). The result
   * is written before the manifest that names it, both atomically.
   *
   * @returns the entry stored
   */
  store(key: string, deps: readonly string[], file: string, meta: Record<string, unknown> = {}): CacheEntry {
    const data = fs.readFileSync(file);
    const digest = sha256(data);
    const unique = [...new Set(deps.map((d) => path.resolve(d)))].sort();
    const entry: CacheEntry = {
      // a file gone since the step read it can never match again
      deps: unique.map((d) => ({ path: d, sha256: digestOrNull(d) ?? "missing" })),
      sha256: digest,
      size: data.length,
      meta,
    };
    try {
      fs.mkdirSync(this.objectsDir, { recursive: true });
      fs.mkdirSync(this.manifestsDir, { recursive: true });
      const blob = this.blobPath(digest);
      if (digestOrNull(blob) !== digest) writeFileAtomic(blob, data);
      const same = (a: CacheEntry) =>
        a.sha256 === entry.sha256 && stableStringify(a.deps) === stableStringify(entry.deps);
      const entries = [entry, ...this.readManifest(key).filter((e) => !same(e))].slice(0, MANIFEST_ENTRIES);
      writeFileAtomic(this.manifestPath(key), `${JSON.stringify({ entries })}\n`);
      this.stored++;
    } catch (e) {
      // the build goes on without this entry (a full disk, a read-only cache): the step is a miss next time
      this.notice(`build cache: could not store an entry in ${this.root} (${(e as Error).message})`);
    }
    return entry;
  }

  /**
   * Copy the result of `entry` to `target` (a private work file), checking it against its recorded sha256. A
   * corrupt result (truncated, altered) is reported, removed and not copied: the caller rebuilds it.
   */
  restore(entry: CacheEntry, target: string): RestoreOutcome {
    const blob = this.blobPath(entry.sha256);
    let data: Buffer;
    try {
      data = fs.readFileSync(blob);
    } catch {
      return "missing";
    }
    if (data.length !== entry.size || sha256(data) !== entry.sha256) {
      this.notice(
        `build cache: entry ${blob} is corrupt (${data.length} bytes, sha256 ${sha256(data).slice(0, 16)}…; recorded ${entry.size} bytes, ${entry.sha256.slice(0, 16)}…): removed, the step is rebuilt`,
      );
      fs.rmSync(blob, { force: true });
      return "corrupt";
    }
    fs.writeFileSync(target, data);
    touch(blob);
    return "restored";
  }

  /** Whether anything was stored through this instance (the build then prunes). */
  get storedAny(): boolean {
    return this.stored > 0;
  }

  /**
   * Remove temporary files of dead writers, then, while `objects/` and `manifests/` together exceed the limit,
   * the least recently used entries until they take at most three quarters of it.
   *
   * @returns the entries removed
   */
  prune(): string[] {
    const max = this.opts.maxBytes ?? DEFAULT_BUILD_CACHE_MAX_BYTES;
    const removed: string[] = [];
    const files: Array<{ file: string; size: number; mtimeMs: number }> = [];
    for (const dir of [this.objectsDir, this.manifestsDir]) {
      removed.push(...removeStaleTemps(dir));
      let names: string[];
      try {
        names = fs.readdirSync(dir);
      } catch {
        continue;
      }
      for (const n of names) {
        if (n.startsWith(TEMP_PREFIX)) continue;
        const file = path.join(dir, n);
        try {
          const st = fs.statSync(file);
          if (st.isFile()) files.push({ file, size: st.size, mtimeMs: st.mtimeMs });
        } catch {
          // removed meanwhile
        }
      }
    }
    let total = files.reduce((s, f) => s + f.size, 0);
    if (total <= max) return removed;
    files.sort((a, b) => a.mtimeMs - b.mtimeMs || (a.file < b.file ? -1 : 1));
    for (const f of files) {
      if (total <= max * 0.75) break;
      fs.rmSync(f.file, { force: true });
      total -= f.size;
      removed.push(f.file);
    }
    return removed;
  }
}

/** A program's file as `spawn` finds it on PATH (first executable file), its real path, or null. */
export function findOnPath(tool: string, pathEnv = process.env.PATH ?? ""): string | null {
  for (const dir of pathEnv.split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, tool);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (!fs.statSync(p).isFile()) continue;
      return fs.realpathSync(p);
    } catch {
      // next folder
    }
  }
  return null;
}

/**
 * The identity of the tool binaries a step runs: each one's real path, size, modification time and inode (an
 * upgrade of the package changes them). Null entries for tools that are not installed.
 */
export function binaryIdentity(tools: readonly string[]): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const t of tools) {
    const real = findOnPath(t);
    if (real === null) {
      out[t] = null;
      continue;
    }
    const st = fs.statSync(real, { bigint: true });
    out[t] = `${real}|${st.size}|${st.mtimeNs}|${st.ino}`;
  }
  return out;
}

/**
 * Record a cached file's sha256 beside it (`<file>.sha256`), after the file itself is in place: see
 * {@link sealedIntact}.
 */
export function sealFile(file: string): void {
  writeFileAtomic(`${file}.sha256`, `${sha256File(file)}\n`);
}

/**
 * Whether a cached file sealed with {@link sealFile} is there and still has its recorded sha256. A file that
 * differs (truncated, altered) is reported, removed and reported as absent: the caller makes it again. A file
 * without its seal (a writer killed between the two renames) is absent too.
 */
export function sealedIntact(file: string, onNotice?: (message: string) => void): boolean {
  let recorded: string;
  try {
    recorded = fs.readFileSync(`${file}.sha256`, "utf8").trim();
  } catch {
    return false;
  }
  const actual = digestOrNull(file);
  if (actual === recorded) return true;
  if (actual !== null) {
    onNotice?.(
      `build cache: ${file} is corrupt (sha256 ${actual.slice(0, 16)}…, recorded ${recorded.slice(0, 16)}…): made again`,
    );
  }
  fs.rmSync(file, { force: true });
  fs.rmSync(`${file}.sha256`, { force: true });
  return false;
}
