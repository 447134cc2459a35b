/**
 * The open toolchain's ISO writer: an in-place update when the ISO there is ours and the media changed only where
 * an edit changes them (toolchains/open/iso-update.ts: journaled, byte-identical to a full write), else a full
 * write with xorriso through makeMedia (toolchains/open/makemedia.ts: temporary file, fsync, rename). Either way
 * the ISO's record (`<workspace>/.winpe-lab/iso/`) says what was written, for the next update.
 */
import * as path from "node:path";
import { removeStaleTemps } from "../../runtime/atomic";
import type { IsoBackend, IsoWritten } from "../types";
import {
  forgetIsoRecord,
  interruptedUpdate,
  isoPreparer,
  recoverIsoJournal,
  scanMedia,
  stableFiles,
  statId,
  updateIso,
  writeIsoRecord,
  writerKey,
} from "./iso-update";
import { ISO_LAYOUT, makeMedia, planMedia } from "./makemedia";

const stateDirOf = (workspace: string) => path.join(workspace, ".winpe-lab");

export const openIsoBackend: IsoBackend = {
  toolchain: "open",

  async write(a, ctx): Promise<IsoWritten> {
    const say = (line: string) => ctx.onProgress?.(line);
    const stateDir = stateDirOf(a.workspace);
    const iso = path.resolve(a.isoPath);
    const keepRecord = (rec: Parameters<typeof writeIsoRecord>[1]) => {
      try {
        writeIsoRecord(stateDir, rec);
      } catch (e) {
        // bookkeeping only: without it the next update is a full write
        say(
          `could not record the ISO for the next in-place update (${(e as Error).message}); the next write is a full one`,
        );
      }
    };
    if (a.previous) {
      const t1 = Date.now();
      const r = await updateIso({
        workDir: a.workspace,
        isoPath: iso,
        stateDir,
        previousDigest: a.previous.digest,
        arch: a.arch,
        prompt: !a.noPrompt,
        resource: ctx.resource,
        onProgress: ctx.onProgress,
        beforeCommit: (digest) => ctx.beforeInPlace?.(digest),
      });
      if (!("fallback" in r)) {
        keepRecord(r.record);
        say(
          `updated ${iso} in place (${r.changed.length > 0 ? r.changed.join(", ") : "no change"}): ` +
            `${r.written} of ${r.size} bytes written (${r.writes} writes)` +
            (r.keptBy === "record"
              ? ", boot.wim's kept part known unchanged from the record of its appends"
              : r.keptBy === "compare"
                ? ", boot.wim's kept part compared with the ISO's copy"
                : "") +
            `, ${Date.now() - t1} ms (` +
            Object.entries(r.ms)
              .map(([k, v]) => `${k} ${v}`)
              .join(", ") +
            ")",
        );
        return { digest: r.digest, size: r.size, how: "update" };
      }
      (ctx.onNotice ?? say)(`writing the whole ISO (no in-place update: ${r.fallback})`);
    }
    const t0 = Date.now();
    const plan = planMedia(a.workspace, { arch: a.arch, prompt: !a.noPrompt });
    const before = scanMedia(plan.media);
    const keyBefore = writerKey();
    const res = await makeMedia(a.workspace, iso, {
      force: true,
      arch: a.arch,
      prompt: !a.noPrompt,
      resource: ctx.resource,
      onProgress: ctx.onProgress,
    });
    const st = statId(iso);
    const preparer = isoPreparer(iso);
    const key = keyBefore !== undefined && keyBefore === writerKey() && preparer ? keyBefore : undefined;
    if (st) {
      keepRecord({
        version: 2,
        iso,
        layout: ISO_LAYOUT,
        digest: res.digest,
        chunks: res.chunks,
        size: res.size,
        stat: st,
        files: stableFiles(before, scanMedia(plan.media)),
        last: { how: "full", written: res.size, ms: { total: Date.now() - t0 } },
        ...(key && preparer ? { writer: { key, preparer } } : {}),
      });
    }
    return { digest: res.digest, size: res.size, how: "full" };
  },

  cleanInterrupted(isoPath) {
    // an ISO write killed before its rename left its temporary files (ours, of a dead writer) beside the ISO; an
    // in-place update killed after its journal was put in place is finished (or undone) from the journal
    return [...removeStaleTemps(path.dirname(isoPath), path.basename(isoPath)), ...recoverIsoJournal(isoPath)];
  },

  interrupted: (isoPath) => interruptedUpdate(isoPath),

  forget(a) {
    forgetIsoRecord(stateDirOf(a.workspace), a.isoPath);
  },
};
