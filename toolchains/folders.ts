/** Folders of image paths, shared by both image backends (pure). */

/** The folders above an image path, parents first: `A/B/c.sys` -> `A`, `A/B`. */
export function ancestorsOf(dest: string): string[] {
  const parts = dest.split("/");
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) out.push(parts.slice(0, i).join("/"));
  return out;
}

/**
 * The folders above `dests` that are not there, parents first, asking `present` about each folder at most once
 * and about a folder only when its parent is there (a missing parent's children are missing too).
 */
export async function missingAncestors(
  dests: readonly string[],
  present: (folders: readonly string[]) => Promise<Record<string, boolean>>,
): Promise<string[]> {
  const all = [...new Set(dests.flatMap(ancestorsOf))].sort((a, b) => a.split("/").length - b.split("/").length);
  const missing = new Set<string>();
  for (let depth = 1; ; depth++) {
    const level = all.filter((f) => f.split("/").length === depth);
    if (level.length === 0) break;
    const ask: string[] = [];
    for (const f of level) {
      const parent = f.split("/").slice(0, -1).join("/");
      if (parent && missing.has(parent)) missing.add(f);
      else ask.push(f);
    }
    if (ask.length > 0) {
      const r = await present(ask);
      for (const f of ask) {
        if (r[f] !== true) missing.add(f);
      }
    }
  }
  return all.filter((f) => missing.has(f));
}
