/**
 * The adk toolchain's driver build: `nuget restore` (when the project needs it), MSBuild, then signtool with the
 * store certificate: the commands of planDriverBuild (plan.ts), which `winpe plan` prints too. Windows only.
 */
import * as path from "node:path";
import { fileDigests } from "../../runtime/digest";
import type { BuildBackend, BuildRequest } from "../types";
import { type AdkProjectFacts, planDriverBuild, readAdkProjectFacts } from "./plan";
import { runAdk } from "./run";
import type { AdkCommand } from "./types";

export const adkBuildBackend: BuildBackend & {
  /** The commands build runs for these project facts (what `winpe plan` prints). */
  commands(
    r: Omit<BuildRequest, "signing"> & { signing: { thumbprint: string } | null },
    facts: AdkProjectFacts,
  ): AdkCommand[];
} = {
  toolchain: "adk",

  commands: (r, facts) => planDriverBuild(r, facts),

  async build(r, ctx) {
    const facts = readAdkProjectFacts(r.project, r.configuration, r.platform);
    const signing = r.signing ? { thumbprint: r.signing.thumbprint } : null;
    const binaries = facts.outputs.map((o) => ({
      path: path.win32.join(r.outDir, o.name),
      project: o.projectFile,
      kind: o.kind,
    }));
    await ctx.beforeWrite?.(binaries.map((b) => b.path));
    for (const c of planDriverBuild({ ...r, signing }, facts))
      await runAdk(c, { resource: ctx.resource, onLine: ctx.onProgress });
    // MSBuild tracks its own inputs: what the diff re-hashes here are the outputs themselves
    const inputs = binaries.map((b) => ({ path: b.path, sha256: fileDigests(b.path).sha256 }));
    return { binaries, symbols: [], inputsHash: "", inputs, toolchainVersion: "msbuild" };
  },

  changedInputs(inputs) {
    return inputs
      .filter((i) => {
        try {
          return fileDigests(i.path).sha256 !== i.sha256;
        } catch {
          return true;
        }
      })
      .map((i) => i.path);
  },

  cleanInterrupted: () => [],
};
