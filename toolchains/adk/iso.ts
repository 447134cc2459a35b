/**
 * The adk toolchain's ISO writer: the oscdimg command MakeWinPEMedia /ISO runs (planIso in plan.ts, which
 * `winpe plan` prints too), into a temporary file beside the ISO (named to end in .iso, as oscdimg requires),
 * fsynced and renamed when complete. Windows only.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { pidAlive } from "../../runtime/locks";
import type { IsoBackend } from "../types";
import { type IsoPlanArgs, isoTempPath, planIso } from "./plan";
import { runAdk } from "./run";
import type { AdkCommand } from "./types";

export const adkIsoBackend: IsoBackend & {
  /** The commands write runs (what `winpe plan` prints), writing to `output`. */
  commands(a: IsoPlanArgs, output?: string): AdkCommand[];
} = {
  toolchain: "adk",

  commands: (a, output) => planIso(a, output),

  async write(a, ctx) {
    const tmp = isoTempPath(a.isoPath, `${process.pid}.${crypto.randomBytes(4).toString("hex")}`);
    try {
      for (const c of planIso(a, tmp)) await runAdk(c, { resource: ctx.resource, onLine: ctx.onProgress });
      const fd = fs.openSync(tmp, "r+");
      try {
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, a.isoPath);
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw e;
    }
    return undefined; // always a full write; the provider hashes the ISO
  },

  cleanInterrupted(isoPath) {
    // oscdimg's temporary ISOs of a killed run: `.winpe-tmp-<stem>.<pid>.<rand>.iso` beside the ISO
    const dir = path.win32.dirname(isoPath);
    const stem = path.win32.basename(isoPath).replace(/\.iso$/i, "");
    let names: string[] = [];
    try {
      names = fs.readdirSync(dir);
    } catch {
      return [];
    }
    const out: string[] = [];
    const ours = new RegExp(
      `^\\.winpe-tmp-${stem.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\.(\\d+)\\.[0-9a-f]+\\.iso$`,
      "i",
    );
    for (const n of names) {
      const m = n.match(ours);
      if (!m) continue;
      if (pidAlive(Number(m[1]))) continue; // its writer is still at work
      const p = path.win32.join(dir, n);
      fs.rmSync(p, { force: true });
      out.push(p);
    }
    return out;
  },
};
