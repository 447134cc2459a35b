/**
 * Shared helpers of the format tests: scratch folders, fixture copies, and independent readers of hives
 * (reglookup, hivexget, hivexregedit, hivexsh from libhivex-bin) run through runTool.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Hive } from "../../formats/regf/index";
import { sha256 } from "../../runtime/digest";
import { runTool } from "../../runtime/exec";

/** The bcdedit-made stores (read-only copies in the repository: test/fixtures/bcd/README.md). */
export const FIXTURE_DIR = path.resolve(__dirname, "..", "fixtures", "bcd");
export const FIXTURES = ["ntloader-multi.bcd", "ramdisk-wim-nodefault.bcd"] as const;
export const RESOURCE = "test/formats";

/** A scratch folder under the OS temp dir; remove it with {@link removeScratch}. */
export function makeScratch(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `winpe-${tag}-`));
}

export function removeScratch(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Copy fixture `name` into `dir` (writable) and return the copy's path. */
export function copyFixture(dir: string, name: string, as?: string): string {
  const dest = path.join(dir, as ?? name);
  fs.copyFileSync(path.join(FIXTURE_DIR, name), dest);
  fs.chmodSync(dest, 0o644);
  return dest;
}

export function fileSha(file: string): string {
  return sha256(fs.readFileSync(file));
}

/** reglookup's full dump without the timestamp column (PATH,TYPE,VALUE per line). */
export async function reglookupDump(file: string): Promise<string[]> {
  const r = await runTool("reglookup", [file], { resource: RESOURCE, secrets: [] });
  return r.stdout
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => l.replace(/,[^,]*$/, ""));
}

/** The lines in which two dumps differ (a simple set difference, both ways). */
export function dumpDiff(a: readonly string[], b: readonly string[]): { removed: string[]; added: string[] } {
  const sa = new Set(a);
  const sb = new Set(b);
  return { removed: a.filter((l) => !sb.has(l)), added: b.filter((l) => !sa.has(l)) };
}

/** `hivexget file key value` as hex bytes (hivexget prints binary data raw). */
export async function hivexgetHex(file: string, key: string, value: string): Promise<string> {
  const r = await runTool("hivexget", [file, key, value], { resource: RESOURCE, secrets: [], binaryStdout: true });
  return r.stdoutBuffer.toString("hex");
}

/** `hivexget file key value` as text (strings print as text, without the NUL). */
export async function hivexgetText(file: string, key: string, value: string): Promise<string> {
  const r = await runTool("hivexget", [file, key, value], { resource: RESOURCE, secrets: [] });
  return r.stdout.replace(/\n$/, "");
}

/** Canonical content map (key path -> value name -> "type:hex"), as our parser reads it. */
export type Canon = Map<string, Map<string, string>>;

export function canonOfHive(hive: Hive): Canon {
  const out: Canon = new Map();
  for (const { path: p, key } of hive.walk()) {
    const values = new Map<string, string>();
    for (const v of key.values()) values.set(v.name, `${v.type}:${v.data.toString("hex")}`);
    out.set(`\\${p.join("\\")}`, values);
  }
  return out;
}

/** Canonical content map as hivexregedit --export reads it (null when hivex refuses the file). */
export async function canonOfHivex(file: string): Promise<Canon | null> {
  let text: string;
  try {
    const r = await runTool("hivexregedit", ["--export", file, "\\"], {
      resource: RESOURCE,
      secrets: [],
      timeoutMs: 20_000,
    });
    text = r.stdout;
  } catch {
    return null;
  }
  const out: Canon = new Map();
  let cur: Map<string, string> | undefined;
  let pending = "";
  for (const raw of text.split("\n")) {
    const line = pending + raw;
    if (line.endsWith("\\") && !line.startsWith("[")) {
      pending = line.slice(0, -1);
      continue;
    }
    pending = "";
    if (line.startsWith("[") && line.endsWith("]")) {
      const p = line.slice(1, -1);
      cur = new Map();
      out.set(p === "\\" ? "\\" : p, cur);
      continue;
    }
    const m = line.match(/^(?:"((?:[^"\\]|\\.)*)"|@)=(.*)$/);
    if (!m || !cur) continue;
    const name = m[1] === undefined ? "" : m[1].replace(/\\(.)/g, "$1");
    const val = m[2];
    const dw = val.match(/^dword:([0-9a-f]{8})$/i);
    if (dw) {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(Number.parseInt(dw[1], 16));
      cur.set(name, `4:${b.toString("hex")}`);
      continue;
    }
    const hx = val.match(/^hex(?:\(([0-9a-f]+)\))?:(.*)$/i);
    if (hx) {
      const type = hx[1] === undefined ? 3 : Number.parseInt(hx[1], 16);
      cur.set(name, `${type}:${hx[2].replace(/[,\s]/g, "")}`);
      continue;
    }
    const str = val.match(/^"((?:[^"\\]|\\.)*)"$/);
    if (str) cur.set(name, `1:${Buffer.from(`${str[1].replace(/\\(.)/g, "$1")}\0`, "utf16le").toString("hex")}`);
  }
  return out;
}

/** Canon maps as sorted plain text, for readable equality assertions. */
export function canonText(c: Canon): string {
  const lines: string[] = [];
  for (const k of [...c.keys()].sort()) {
    lines.push(`[${k}]`);
    const vals = c.get(k)!;
    for (const n of [...vals.keys()].sort()) lines.push(`  ${JSON.stringify(n)}=${vals.get(n)}`);
  }
  return lines.join("\n");
}

/** Capture console output of an in-process CLI run. */
export async function captureRun(
  fn: (args: string[]) => Promise<number>,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...a: unknown[]) => {
    out.push(a.map(String).join(" "));
  };
  console.error = (...a: unknown[]) => {
    err.push(a.map(String).join(" "));
  };
  try {
    const code = await fn(args);
    return { code, stdout: out.join("\n"), stderr: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

/** A small deterministic PRNG (mulberry32) for reproducible mutation loops. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
