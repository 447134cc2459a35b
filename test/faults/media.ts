/**
 * What "the same media" means in the fault suite, read with independent tools:
 *
 * - every file of the ISO (extracted with `xorriso -osirrox on ... -extract / <dir>`) other than
 *   `sources/boot.wim` and the BCD stores has the same sha256 as in a clean run: the boot manager, the stand-in
 *   EFI application, fonts... byte for byte;
 * - the BCD stores (`BCD` files) have the same registry content: every key, value name, type and data, as
 *   `hivexregedit --export <store> '\'` prints them (lines sorted within each key, keys sorted). Not bytes: our
 *   hive editor's cell layout depends on the edit history (a store set to testsigning on, then off, is laid out
 *   differently from one set off at once), and an update must converge to what a clean run of the same config
 *   gives, not to its bytes. (Whether the bytes are equal too is recorded, for the report.) After destroy the
 *   stores must be byte-identical to copype's: that is checked by the campaign, not here;
 * - `sources/boot.wim` is compared by content, not bytes (a WIM carries GUIDs and timestamps, and an
 *   interrupted `wimlib-imagex update` may leave appended but unreferenced data): same image count, boot index,
 *   compression and image name (`wimlib-imagex info`), and the same set of files (`wimlib-imagex extract`) with
 *   the same sha256, except
 * - signed PE files (the driver): each stack signs with a test certificate of its own, made fresh by its
 *   TestCertificate (new key), so the signature differs by design. They are compared with the signature removed
 *   (`osslsigncode remove-signature`), and the signature must verify against the stack's own certificate;
 * - PE files built with debug information record where they were built: clang writes the compile command line,
 *   with the sources' absolute paths, into the PDB, and lld-link derives the PDB's GUID and the image's timestamp
 *   from a hash of it (reproducible in one folder, not across folders; each stack lives in a folder of its own).
 *   They are compared with that identity zeroed: the COFF header's TimeDateStamp (and its copies in the debug
 *   directory), the optional header's CheckSum, and the CodeView record's GUID and age (`RSDS`).
 *
 * The ISO's own bytes are not compared (they embed boot.wim's bytes); the workspace's BCD stores must equal the
 * ISO's (the ISO is made from them).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { sha256 } from "../../runtime/digest";
import { runTool } from "../../runtime/exec";

export interface MediaSnapshot {
  /** ISO file (media-relative, `/` separators) -> sha256 (BCD stores: `reg:` + sha256 of the normalized export). */
  isoFiles: Record<string, string>;
  /** BCD store -> sha256 of its bytes (reported, not compared). */
  bcdBytes: Record<string, string>;
  wimInfo: { imageCount: string; bootIndex: string; compression: string; name: string };
  /** boot.wim image 1 file -> sha256 (signed PE files: sha256 with the signature removed, prefixed `unsigned:`). */
  wimFiles: Record<string, string>;
  /** Signed files whose signature did not verify against the stack's certificate (must be empty). */
  badSignatures: string[];
}

function walkFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(d, e.name), r);
      else out.push(r);
    }
  };
  walk(dir, "");
  return out.sort();
}

function makeWritable(dir: string): void {
  const walk = (d: string) => {
    fs.chmodSync(d, 0o755);
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else fs.chmodSync(p, 0o644);
    }
  };
  walk(dir);
}

function isSignedPe(file: string): boolean {
  const b = fs.readFileSync(file);
  if (b.length < 0x40 || b.readUInt16LE(0) !== 0x5a4d) return false;
  const pe = b.readUInt32LE(0x3c);
  if (pe + 24 > b.length || b.readUInt32LE(pe) !== 0x4550) return false;
  const opt = pe + 24;
  const magic = b.readUInt16LE(opt);
  const dirs = opt + (magic === 0x20b ? 112 : 96);
  const secSize = b.readUInt32LE(dirs + 4 * 8 + 4);
  return secSize > 0;
}

/**
 * A PE image with its build identity zeroed (see the module comment): TimeDateStamp (every copy of its value),
 * CheckSum, and the GUID and age of each CodeView `RSDS` record. Anything else is left as it is; not a PE: as is.
 */
function withoutBuildIdentity(b: Buffer): Buffer {
  if (b.length < 0x40 || b.readUInt16LE(0) !== 0x5a4d) return b;
  const pe = b.readUInt32LE(0x3c);
  if (pe + 24 > b.length || b.readUInt32LE(pe) !== 0x4550) return b;
  const out = Buffer.from(b);
  const stamp = out.readUInt32LE(pe + 8);
  if (stamp !== 0) {
    for (
      let i = out.indexOf(out.subarray(pe + 8, pe + 12));
      i >= 0;
      i = out.indexOf(b.subarray(pe + 8, pe + 12), i + 4)
    )
      out.writeUInt32LE(0, i);
  }
  out.writeUInt32LE(0, pe + 24 + 64); // OptionalHeader.CheckSum (same offset in PE32 and PE32+)
  for (let i = out.indexOf("RSDS"); i >= 0; i = out.indexOf("RSDS", i + 4))
    out.fill(0, i + 4, Math.min(i + 24, out.length));
  return out;
}

/** A hive's registry content, independent of its layout: `hivexregedit --export`, keys and their lines sorted. */
export async function registryContent(hive: string): Promise<string> {
  const r = await runTool("hivexregedit", ["--export", hive, "\\"]);
  const text = r.stdout.replace(/\\\r?\n\s*/g, ""); // join continued hex lines
  const blocks = new Map<string, string[]>();
  let key = "";
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === "" || line.startsWith("Windows Registry Editor")) continue;
    if (line.startsWith("[")) {
      key = line;
      blocks.set(key, blocks.get(key) ?? []);
    } else blocks.get(key)?.push(line);
  }
  return [...blocks.keys()]
    .sort()
    .map((k) => [k, ...(blocks.get(k) ?? []).sort()].join("\n"))
    .join("\n\n");
}

/** Snapshot the media in `iso` (see the module comment); `certFile` is the stack's test certificate (PEM). */
export async function snapshotMedia(iso: string, certFile: string, scratch: string): Promise<MediaSnapshot> {
  const work = fs.mkdtempSync(path.join(scratch, "snapshot-"));
  try {
    const isoDir = path.join(work, "iso");
    await runTool("xorriso", ["-osirrox", "on", "-indev", iso, "-extract", "/", isoDir]);
    makeWritable(isoDir);
    const isoFiles: Record<string, string> = {};
    const bcdBytes: Record<string, string> = {};
    for (const f of walkFiles(isoDir)) {
      if (f.toLowerCase() === "sources/boot.wim") continue;
      const p = path.join(isoDir, f);
      if (path.basename(f).toUpperCase() === "BCD") {
        bcdBytes[f] = sha256(fs.readFileSync(p));
        isoFiles[f] = `reg:${sha256(await registryContent(p))}`;
      } else isoFiles[f] = sha256(fs.readFileSync(p));
    }
    const wim = path.join(isoDir, "sources", "boot.wim");
    const info = await runTool("wimlib-imagex", ["info", wim]);
    const one = await runTool("wimlib-imagex", ["info", wim, "1"]);
    const field = (re: RegExp, text: string) => re.exec(text)?.[1]?.trim() ?? "";
    const wimInfo = {
      imageCount: field(/^Image Count:\s*(.*)$/m, info.stdout),
      bootIndex: field(/^Boot Index:\s*(.*)$/m, info.stdout),
      compression: field(/^Compression:\s*(.*)$/m, info.stdout),
      name: field(/^Name:\s*(.*)$/m, one.stdout),
    };
    const wimDir = path.join(work, "wim");
    await runTool("wimlib-imagex", ["extract", wim, "1", `--dest-dir=${wimDir}`, "--no-acls"]);
    const wimFiles: Record<string, string> = {};
    const badSignatures: string[] = [];
    for (const f of walkFiles(wimDir)) {
      const p = path.join(wimDir, f);
      if (isSignedPe(p)) {
        const v = await runTool("osslsigncode", ["verify", "-CAfile", certFile, "-in", p], { okExitCodes: [0, 1] });
        if (!/Signature verification: ok/.test(v.stdout + v.stderr)) badSignatures.push(f);
        const stripped = path.join(work, `stripped-${sha256(f).slice(0, 8)}`);
        await runTool("osslsigncode", ["remove-signature", "-in", p, "-out", stripped]);
        wimFiles[f] = `unsigned:${sha256(withoutBuildIdentity(fs.readFileSync(stripped)))}`;
      } else {
        wimFiles[f] = sha256(withoutBuildIdentity(fs.readFileSync(p)));
      }
    }
    return { isoFiles, bcdBytes, wimInfo, wimFiles, badSignatures };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Differences between two snapshots, one line each (empty: equal). */
export function compareMedia(clean: MediaSnapshot, got: MediaSnapshot): string[] {
  const diffs: string[] = [];
  const cmp = (label: string, a: Record<string, string>, b: Record<string, string>) => {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (!(k in b)) diffs.push(`${label}: ${k} missing`);
      else if (!(k in a)) diffs.push(`${label}: ${k} extra`);
      else if (a[k] !== b[k]) diffs.push(`${label}: ${k} differs`);
    }
  };
  cmp("iso", clean.isoFiles, got.isoFiles);
  cmp("wim info", clean.wimInfo, got.wimInfo);
  cmp("boot.wim", clean.wimFiles, got.wimFiles);
  for (const f of got.badSignatures) diffs.push(`boot.wim: ${f} signature does not verify`);
  return diffs.sort();
}
