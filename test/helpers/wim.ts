/** Test helpers: small real WIMs made with wimlib, and independent read-back with wimlib-imagex. */
import * as fs from "node:fs";
import * as path from "node:path";
import { sha256 } from "../../runtime/digest";
import { runTool } from "../../runtime/exec";

/** Capture a small boot.wim (LZX) from a Windows-like tree with the given extra files. */
export async function makeWim(dir: string, extra: Record<string, string> = {}): Promise<string> {
  const tree = path.join(dir, "tree");
  const files: Record<string, string> = {
    "Windows/System32/README.txt": "stand-in image for winpe-lab tests\n",
    "Windows/System32/config/SYSTEM": "not a hive\n",
    ...extra,
  };
  for (const [p, content] of Object.entries(files)) {
    const f = path.join(tree, ...p.split("/"));
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, content);
  }
  const wim = path.join(dir, "boot.wim");
  await runTool("wimlib-imagex", ["capture", tree, wim, "WINPE-LAB TEST STAND-IN", "--boot", "--compress=LZX"]);
  fs.rmSync(tree, { recursive: true, force: true });
  return wim;
}

/** Every file in image 1 with its content's sha256, extracted by wimlib-imagex (an independent reader). */
/** Every file (sha256) and folder (`<folder>`, path ending in `/`) of image 1. */
export async function wimContent(wim: string, scratch: string): Promise<Record<string, string>> {
  const out = path.join(scratch, `extract-${Math.random().toString(16).slice(2)}`);
  await runTool("wimlib-imagex", ["extract", wim, "1", `--dest-dir=${out}`, "--no-acls"]);
  const result: Record<string, string> = {};
  const walk = (d: string, rel: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        result[`${r}/`] = "<folder>"; // folders count too: a folder left behind is a difference
        walk(path.join(d, e.name), r);
      } else result[r] = sha256(fs.readFileSync(path.join(d, e.name)));
    }
  };
  walk(out, "");
  fs.rmSync(out, { recursive: true, force: true });
  return result;
}

/** Compression type from `wimlib-imagex info`. */
export async function wimCompression(wim: string): Promise<string> {
  const r = await runTool("wimlib-imagex", ["info", wim]);
  return /^Compression:\s*(.*)$/m.exec(r.stdout)?.[1]?.trim() ?? "";
}
