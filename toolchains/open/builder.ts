/**
 * The open toolchain's driver build: clang/lld-link from the .vcxproj (toolchains/open/build.ts buildProject), then
 * each driver test-signed with osslsigncode and the signature verified (toolchains/open/sign.ts).
 */
import { removeStaleTemps } from "../../runtime/atomic";
import type { BuildBackend } from "../types";
import { buildProject, changedInputs } from "./build";
import { signFile, verifySignature } from "./sign";

export const openBuildBackend: BuildBackend = {
  toolchain: "open",

  async build(r, ctx) {
    const built = await buildProject({
      project: r.project,
      configuration: r.configuration,
      platform: r.platform,
      outDir: r.outDir,
      cacheDir: r.cacheDir,
      onProgress: ctx.onProgress,
      resource: ctx.resource,
      beforeWrite: ctx.beforeWrite,
    });
    for (const o of built.outputs) {
      if (!r.signing || o.kind !== "driver") continue;
      await signFile(o.path, r.signing, { resource: ctx.resource });
      const v = await verifySignature(o.path, r.signing.certPem, { resource: ctx.resource });
      if (!v.valid) throw new Error(`osslsigncode could not verify the signature of ${o.path}:\n${v.output}`);
    }
    return {
      binaries: built.outputs.map((o) => ({ path: o.path, project: o.project, kind: o.kind })),
      symbols: built.symbols.map((s) => ({ path: s.path, size: s.size, sha256: s.sha256, binary: s.binary })),
      inputsHash: built.inputsHash,
      inputs: built.inputs,
      toolchainVersion: built.toolchainVersion,
    };
  },

  changedInputs: (inputs) => changedInputs(inputs),

  // outputs are copied and signed in through temporary files: a killed build leaves them in the output folder
  cleanInterrupted: (outDir) => removeStaleTemps(outDir),
};
