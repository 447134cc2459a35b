/**
 * Fingerprints of a WinPE media tree (no Pulumi, no tools): which files it holds and their content digests,
 * so that the ISO is rebuilt exactly when the media changed.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { type PersistentDigestCache, sha256, stableStringify } from "../runtime/digest";

/** Files under `dir` as `/`-separated relative paths, sorted (bounded, no links followed). */
export function listTree(dir: string, limit = 200_000): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (out.length >= limit) throw new Error(`${dir} holds more than ${limit} files`);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(d, e.name), r);
      else if (e.isFile()) out.push(r);
    }
  };
  walk(dir, "");
  return out.sort();
}

/**
 * sha256 over (path, content sha256) of every media file except `exclude` (compared case-insensitively; those
 * files are tracked by their own resources, e.g. the WIM and the BCD stores). Uses `cache` for big files.
 */
export function mediaFingerprint(mediaDir: string, exclude: readonly string[], cache: PersistentDigestCache): string {
  const skip = new Set(exclude.map((e) => e.toLowerCase()));
  const view: Array<[string, string]> = [];
  for (const rel of listTree(mediaDir)) {
    if (skip.has(rel.toLowerCase())) continue;
    view.push([rel, cache.digests(path.join(mediaDir, ...rel.split("/"))).sha256]);
  }
  return sha256(stableStringify(view));
}
