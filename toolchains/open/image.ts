/**
 * The open toolchain's image backend: a mount-free design on wimlib.
 *
 * Why not FUSE (`wimlib-imagex mountrw`)? A FUSE mount is kernel state: it needs /dev/fuse (often missing in
 * containers and CI), a killed process leaves a dead endpoint that blocks the folder, and wimlib has no
 * "commit and stay mounted", so every commit would pay an unmount and a mount. Instead:
 * - "mount" validates the WIM and index and claims the WIM and the mount folder for one stack (a claim in the
 *   machine-wide lock folder, like DISM's mount registry), with bookkeeping in a private folder;
 * - the mount folder is the staging area: injected files are copied there at their image paths, so the user
 *   sees exactly what will be committed, as in a DISM mount folder;
 * - "commit" applies the staged changes with `wimlib-imagex update` (appends new data, keeps LZX), under an
 *   operation lock; the original of a replaced file is extracted first so destroy can restore it; an append is
 *   recorded (wim-appends.ts, in the working folder's `.winpe-lab`) so the ISO's update need not re-read boot.wim;
 * - "unmount" discards the staging folder's content and releases the claims.
 * Stale state (a crash mid-step) is: leftover temporary files, a lost claim, missing bookkeeping.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { readWimFacts } from "../../formats/wim";
import { copyFileAtomic, TEMP_PREFIX, writeFileAtomic } from "../../runtime/atomic";
import { type Claim, claim, LockedError, readClaim, releaseClaim, withLock } from "../../runtime/locks";
import { missingAncestors } from "../folders";
import type { ImageBackend, ImageChange, MountFacts, MountSpec, MountState, StepContext } from "../types";
import { assertWimFile, wimExtract, wimFileHashes, wimFoldersPresent, wimImageInfo, wimUpdate } from "./wim";
import { afterAppend, beforeAppend, forgetAppends, wimAppendsDir } from "./wim-appends";

const MANIFEST = "mount.json";

interface Manifest {
  wim: string;
  index: number;
  mountDir: string;
  holder: string;
}

function manifestPath(m: MountSpec): string {
  return path.join(m.privateDir, MANIFEST);
}

function readManifest(m: MountSpec): Manifest | undefined {
  try {
    return JSON.parse(fs.readFileSync(manifestPath(m), "utf8")) as Manifest;
  } catch {
    return undefined;
  }
}

/** A claim is stale when the bookkeeping it points to no longer names its holder. */
function claimIsStale(c: Claim): boolean {
  const pd = c.details.privateDir;
  if (!pd) return true;
  try {
    const man = JSON.parse(fs.readFileSync(path.join(pd, MANIFEST), "utf8")) as Manifest;
    return man.holder !== c.holder;
  } catch {
    return true;
  }
}

/** Our temporary files left by a crash, anywhere under `dir` (bounded walk). */
export function findTemps(dir: string, limit = 10_000): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (out.length >= limit) return;
      const p = path.join(d, e.name);
      if (e.name.startsWith(TEMP_PREFIX)) out.push(p);
      else if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

function listFilesRel(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(d, e.name), r);
      else out.push(r);
    }
  };
  if (fs.existsSync(dir)) walk(dir, "");
  return out;
}

function emptyDir(dir: string): void {
  if (!fs.existsSync(dir)) return;
  for (const name of fs.readdirSync(dir)) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
}

async function facts(m: MountSpec, ctx: StepContext): Promise<MountFacts> {
  const info = await wimImageInfo(m.wim, m.index, { resource: ctx.resource });
  return { imageName: info.name, fileCount: info.fileCount, compression: info.compression };
}

function takeClaims(m: MountSpec, ctx: StepContext, ownStale: boolean): void {
  const details = { mountDir: m.mountDir, privateDir: m.privateDir };
  const isStale = (c: Claim) => (ownStale && c.holder === m.holder) || claimIsStale(c);
  claim("wim", m.wim, m.holder, details, isStale, ctx.onNotice);
  try {
    claim("mount", m.mountDir, m.holder, { ...details, wim: m.wim }, isStale, ctx.onNotice);
  } catch (e) {
    releaseClaim("wim", m.wim, m.holder);
    throw e;
  }
}

export const openImageBackend: ImageBackend = {
  toolchain: "open",

  async mount(m, ctx) {
    assertWimFile(m.wim);
    const f = await facts(m, ctx);
    if (fs.existsSync(m.mountDir)) {
      if (!fs.statSync(m.mountDir).isDirectory())
        throw new Error(`'mountDir' ${m.mountDir} exists and is not a folder`);
      const present = listFilesRel(m.mountDir);
      const man = readManifest(m);
      if (present.length > 0 && !(man && man.holder === m.holder)) {
        // another stack's mount (its staged files): name that stack, rather than asking to empty its folder
        for (const [kind, subject] of [
          ["wim", m.wim],
          ["mount", m.mountDir],
        ] as const) {
          const c = readClaim(kind, subject);
          if (c && c.holder !== m.holder && !claimIsStale(c)) {
            throw new LockedError(
              `${subject} is already mounted by ${c.holder} (mount folder ${c.details.mountDir ?? "?"}); destroy that stack first or use another ${kind === "wim" ? "WIM" : "mount folder"}`,
              { holder: c.holder, pid: 0, host: "", since: "", subject },
            );
          }
        }
        throw new Error(
          `'mountDir' ${m.mountDir} is not empty (${present.length} file(s), e.g. ${present[0]}): empty it or choose another mount folder`,
        );
      }
    }
    takeClaims(m, ctx, false);
    fs.mkdirSync(m.mountDir, { recursive: true });
    fs.mkdirSync(m.privateDir, { recursive: true });
    const man: Manifest = { wim: m.wim, index: m.index, mountDir: m.mountDir, holder: m.holder };
    writeFileAtomic(manifestPath(m), `${JSON.stringify(man, null, 2)}\n`);
    return f;
  },

  async status(m): Promise<MountState> {
    const man = readManifest(m);
    if (!man) return { state: "missing", reason: `the mount's bookkeeping (${manifestPath(m)}) is gone` };
    if (!fs.existsSync(m.wim)) return { state: "stale", reason: `the WIM ${m.wim} is gone` };
    try {
      readWimFacts(m.wim);
    } catch (e) {
      return { state: "stale", reason: `the WIM ${m.wim} ${(e as Error).message}` };
    }
    if (!fs.existsSync(m.mountDir)) return { state: "stale", reason: `the mount folder ${m.mountDir} is gone` };
    const c = readClaim("wim", m.wim);
    if (!c || c.holder !== m.holder) {
      return { state: "stale", reason: c ? `the WIM is claimed by ${c.holder}` : "the claim on the WIM is gone" };
    }
    const temps = [...findTemps(m.mountDir), ...findTemps(path.dirname(m.wim))];
    if (temps.length > 0) {
      return {
        state: "stale",
        reason: `leftover temporary files from an interrupted step: ${temps.slice(0, 3).join(", ")}`,
      };
    }
    return { state: "mounted" };
  },

  async recover(m, ctx) {
    for (const t of [...findTemps(m.mountDir), ...findTemps(path.dirname(m.wim)), ...findTemps(m.privateDir)]) {
      fs.rmSync(t, { recursive: true, force: true });
      ctx.onNotice?.(`removed leftover temporary file ${t}`);
    }
    assertWimFile(m.wim);
    const f = await facts(m, ctx);
    takeClaims(m, ctx, true);
    fs.mkdirSync(m.mountDir, { recursive: true });
    fs.mkdirSync(m.privateDir, { recursive: true });
    const man: Manifest = { wim: m.wim, index: m.index, mountDir: m.mountDir, holder: m.holder };
    writeFileAtomic(manifestPath(m), `${JSON.stringify(man, null, 2)}\n`);
    return f;
  },

  async unmount(m) {
    emptyDir(m.mountDir);
    releaseClaim("mount", m.mountDir, m.holder);
    releaseClaim("wim", m.wim, m.holder);
    fs.rmSync(m.privateDir, { recursive: true, force: true });
    // remove the private parent folder when we were its last user
    const parent = path.dirname(m.privateDir);
    forgetAppends(wimAppendsDir(parent), m.wim);
    try {
      if (fs.readdirSync(parent).length === 0) fs.rmdirSync(parent);
    } catch {
      // not ours or not empty
    }
  },

  async imageFileHashes(m, dests, ctx) {
    return wimFileHashes(m.wim, m.index, dests, { resource: ctx.resource });
  },

  async missingFolders(m, dests, ctx) {
    return missingAncestors(dests, async (dirs) => wimFoldersPresent(m.wim, m.index, dirs, { resource: ctx.resource }));
  },

  async backupOriginals(m, dests, dir, ctx) {
    await wimExtract(m.wim, m.index, dests, dir, { resource: ctx.resource });
  },

  async stage(m, source, dest) {
    const target = path.join(m.mountDir, ...dest.split("/"));
    fs.mkdirSync(path.dirname(target), { recursive: true });
    copyFileAtomic(source, target);
  },

  async unstage(m, dest, _originalBackup) {
    const target = path.join(m.mountDir, ...dest.split("/"));
    fs.rmSync(target, { force: true });
    let dir = path.dirname(target);
    const root = path.resolve(m.mountDir);
    while (path.resolve(dir).startsWith(root + path.sep)) {
      try {
        fs.rmdirSync(dir);
      } catch {
        break;
      }
      dir = path.dirname(dir);
    }
  },

  async commit(m, changes: readonly ImageChange[], ctx) {
    if (changes.length === 0) return;
    await withLock(
      "wim",
      m.wim,
      m.holder,
      async () => {
        const rel = changes.map((c) =>
          c.op === "add" ? { ...c, source: path.relative(m.mountDir, c.source).split(path.sep).join("/") } : c,
        );
        // what the append keeps, for the ISO's in-place update (wim-appends.ts: recorded only when wimlib appended)
        const before = beforeAppend(m.wim);
        await wimUpdate(m.wim, m.index, rel, { cwd: m.mountDir, resource: ctx.resource, onProgress: ctx.onProgress });
        afterAppend(wimAppendsDir(path.dirname(m.privateDir)), m.wim, before);
      },
      { onMessage: ctx.onNotice },
    );
  },
};
