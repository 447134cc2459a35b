/** The open toolchain's ISO writer: xorriso through makeMedia (toolchains/open/makemedia.ts). */
import * as path from "node:path";
import { removeStaleTemps } from "../../runtime/atomic";
import type { IsoBackend } from "../types";
import { makeMedia } from "./makemedia";

export const openIsoBackend: IsoBackend = {
  toolchain: "open",

  async write(a, ctx) {
    await makeMedia(a.workspace, a.isoPath, {
      force: true,
      arch: a.arch,
      prompt: !a.noPrompt,
      resource: ctx.resource,
      onProgress: ctx.onProgress,
    });
  },

  cleanInterrupted(isoPath) {
    // an ISO write killed before its rename left its temporary files (ours, of a dead writer) beside the ISO
    return removeStaleTemps(path.dirname(isoPath), path.basename(isoPath));
  },
};
