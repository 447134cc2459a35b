/**
 * wimlib (Debian's wimtools) behind small functions: inspect a WIM, read the hashes of files inside an image,
 * apply add/delete changes (`wimlib-imagex update`, which appends and keeps the WIM's compression), extract.
 */
import * as fs from "node:fs";
import { WinpeError } from "../../runtime/errors";
import { runTool } from "../../runtime/exec";

export class WimError extends WinpeError {
  constructor(message: string) {
    super(message);
    this.name = "WimError";
  }
}

const WIM_MAGIC = Buffer.from("MSWIM\0\0\0", "latin1");

/** Throw a clear error unless `wim` is an existing WIM file (checked by its magic, no tool run). */
export function assertWimFile(wim: string, label = "wim"): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(wim);
  } catch {
    throw new WimError(`'${label}' ${wim} does not exist: make the working folder first (winpe copype)`);
  }
  if (!st.isFile()) throw new WimError(`'${label}' ${wim} is not a file`);
  const fd = fs.openSync(wim, "r");
  try {
    const head = Buffer.alloc(8);
    const n = fs.readSync(fd, head, 0, 8, 0);
    if (n < 8 || !head.equals(WIM_MAGIC)) {
      throw new WimError(`'${label}' ${wim} is not a WIM file (no MSWIM signature at offset 0)`);
    }
  } finally {
    fs.closeSync(fd);
  }
}

export interface WimImageInfo {
  imageCount: number;
  compression: string;
  bootIndex: number;
  name: string;
  fileCount: number;
  directoryCount: number;
}

interface Ctx {
  resource?: string;
  onProgress?: (line: string) => void;
}

/** `wimlib-imagex info <wim> <index>`: the image's name and counts, and the WIM's compression. */
export async function wimImageInfo(wim: string, index: number, ctx: Ctx = {}): Promise<WimImageInfo> {
  assertWimFile(wim);
  const all = await runTool("wimlib-imagex", ["info", wim], { resource: ctx.resource });
  const count = Number(/^Image Count:\s*(\d+)/m.exec(all.stdout)?.[1] ?? "0");
  if (index < 1 || index > count) {
    throw new WimError(
      `'imageIndex' ${index} does not exist in ${wim}: it has ${count} image${count === 1 ? "" : "s"}`,
    );
  }
  const one = await runTool("wimlib-imagex", ["info", wim, String(index)], { resource: ctx.resource });
  const field = (re: RegExp, text: string) => re.exec(text)?.[1]?.trim() ?? "";
  return {
    imageCount: count,
    compression: field(/^Compression:\s*(.*)$/m, all.stdout),
    bootIndex: Number(field(/^Boot Index:\s*(\d+)/m, all.stdout) || "0"),
    name: field(/^Name:\s*(.*)$/m, one.stdout),
    fileCount: Number(field(/^File Count:\s*(\d+)/m, one.stdout) || "0"),
    directoryCount: Number(field(/^Directory Count:\s*(\d+)/m, one.stdout) || "0"),
  };
}

export interface WimFileHash {
  /** SHA-1 of the file's unnamed data stream, as wimlib stores it (hex, lowercase). */
  sha1: string;
  size: number;
}

/** Longest common folder of image paths (`A/B/c`, `A/B/d` -> `A/B`). */
export function commonFolder(paths: readonly string[]): string {
  if (paths.length === 0) return "";
  const split = paths.map((p) => p.split("/").slice(0, -1));
  const first = split[0];
  let n = first.length;
  for (const s of split) {
    let i = 0;
    while (i < n && i < s.length && s[i].toLowerCase() === first[i].toLowerCase()) i++;
    n = i;
  }
  return first.slice(0, n).join("/");
}

/**
 * SHA-1 and size of each image path (`Windows/Ioctl/x.sys`) inside image `index`, read by `wimlib-imagex dir
 * --detailed` (one run for the paths' common folder); `null` for a path that is not in the image.
 * Matching is case-insensitive, as on Windows.
 */
export async function wimFileHashes(
  wim: string,
  index: number,
  paths: readonly string[],
  ctx: Ctx = {},
): Promise<Record<string, WimFileHash | null>> {
  const result: Record<string, WimFileHash | null> = {};
  for (const p of paths) result[p] = null;
  if (paths.length === 0) return result;
  const folder = commonFolder(paths);
  const r = await runTool("wimlib-imagex", ["dir", wim, String(index), `--path=/${folder}`, "--detailed"], {
    resource: ctx.resource,
    okExitCodes: [0, 49], // 49: the path does not exist in the image
  });
  if (r.exitCode === 49) return result;
  const byLower = new Map(paths.map((p) => [p.toLowerCase(), p]));
  for (const block of r.stdout.split(/^-{20,}$/m)) {
    const full = /^Full Path\s*=\s*"(.*)"$/m.exec(block)?.[1];
    if (!full) continue;
    const key = byLower.get(full.replace(/^\//, "").toLowerCase());
    if (!key) continue;
    const hash = /^Hash\s*=\s*0x([0-9a-f]{40})$/m.exec(block)?.[1];
    const size = /^Uncompressed size\s*=\s*(\d+) bytes$/m.exec(block)?.[1];
    if (/FILE_ATTRIBUTE_DIRECTORY is set/.test(block)) continue;
    result[key] = { sha1: hash ?? "0".repeat(40), size: Number(size ?? "0") };
  }
  return result;
}

/**
 * Whether each folder (`Windows/Ioctl`) is in image `index` (`wimlib-imagex dir --path`, exit code 49 when the
 * path is not there). Case-insensitive, as on Windows.
 */
export async function wimFoldersPresent(
  wim: string,
  index: number,
  folders: readonly string[],
  ctx: Ctx = {},
): Promise<Record<string, boolean>> {
  const out: Record<string, boolean> = {};
  for (const f of folders) {
    const r = await runTool("wimlib-imagex", ["dir", wim, String(index), `--path=/${f}`, "--one-file-only"], {
      resource: ctx.resource,
      okExitCodes: [0, 49],
    });
    out[f] = r.exitCode === 0;
  }
  return out;
}

export type WimChange = { op: "add"; source: string; dest: string } | { op: "delete"; dest: string; folder?: boolean };

function quoteUpdateArg(arg: string, label: string): string {
  if (/["\r\n]/.test(arg)) throw new WimError(`${label} ${JSON.stringify(arg)} contains a quote or newline`);
  return `"${arg}"`;
}

/**
 * Apply changes to image `index` with `wimlib-imagex update` (commands on stdin; sources relative to `cwd`
 * so no config path ends up inside a command line). wimlib appends the new data and keeps the WIM's
 * compression (LZX for boot.wim); `rebuild` compacts the file instead.
 */
export async function wimUpdate(
  wim: string,
  index: number,
  changes: readonly WimChange[],
  opts: Ctx & { cwd: string; rebuild?: boolean },
): Promise<void> {
  if (changes.length === 0) return;
  const lines = changes.map((c) =>
    c.op === "add"
      ? `add ${quoteUpdateArg(c.source, "source")} ${quoteUpdateArg(`/${c.dest}`, "destination")}`
      : `delete --force${c.folder ? " --recursive" : ""} ${quoteUpdateArg(`/${c.dest}`, "destination")}`,
  );
  const argv = ["update", wim, String(index)];
  if (opts.rebuild) argv.push("--rebuild");
  await runTool("wimlib-imagex", argv, {
    cwd: opts.cwd,
    input: `${lines.join("\n")}\n`,
    resource: opts.resource,
    onLine: opts.onProgress ? (l) => opts.onProgress?.(l) : undefined,
  });
}

/** Extract image paths into `destDir`, keeping their folder structure. */
export async function wimExtract(
  wim: string,
  index: number,
  paths: readonly string[],
  destDir: string,
  ctx: Ctx = {},
): Promise<void> {
  if (paths.length === 0) return;
  fs.mkdirSync(destDir, { recursive: true });
  await runTool(
    "wimlib-imagex",
    [
      "extract",
      wim,
      String(index),
      ...paths.map((p) => `/${p}`),
      `--dest-dir=${destDir}`,
      "--no-acls",
      "--preserve-dir-structure",
    ],
    { resource: ctx.resource },
  );
}
