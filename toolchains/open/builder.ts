/**
 * The open toolchain's driver build: clang/lld-link from the .vcxproj (toolchains/open/build.ts buildProject,
 * incremental: units from the compile cache, binaries linked only when their link key changed), then each driver
 * that was linked test-signed with `osslsigncode sign` and the signature verified in-process before the signed file
 * replaces the unsigned one, with no second tool run (toolchains/open/sign.ts signFile → checkSignature over
 * formats/authenticode.ts: the image digest, the signed content's
 * digest, the RSA signature and the signer certificate, which must be the stack's test certificate). A binary left
 * as it was in outDir is not signed again (a signature carries a time stamp: signing again would change the file).
 */
import { removeStaleTemps } from "../../runtime/atomic";
import type { BuildBackend } from "../types";
import { changedInputs } from "./build-inputs";

export const openBuildBackend: BuildBackend = {
  toolchain: "open",

  async build(r, ctx) {
    const signer = r.signing?.thumbprint ?? null;
    // a driver signed with another certificate (or not signed, or signed where it must not be) is linked again
    const previous = (r.previous ?? [])
      .filter((o) => o.linkKey !== "" && o.signedWith === (o.kind === "driver" ? signer : null))
      .map((o) => ({ path: o.path, sha256: o.sha256, linkKey: o.linkKey, pdb: o.pdb }));
    // loaded here, not at the top: a no-change diff (changedInputs) needs neither the build nor the signer
    const { buildProject } = await import("./build");
    const { signFile } = await import("./sign");
    const built = await buildProject({
      project: r.project,
      configuration: r.configuration,
      platform: r.platform,
      outDir: r.outDir,
      cacheDir: r.cacheDir,
      onProgress: ctx.onProgress,
      onNotice: ctx.onNotice,
      resource: ctx.resource,
      beforeWrite: ctx.beforeWrite,
      previous,
    });
    for (const o of built.outputs) {
      if (!r.signing || o.kind !== "driver" || o.reused) continue;
      // signFile checks the signature in-process (checkSignature) on the signed copy before it replaces the file
      await signFile(o.path, r.signing, { resource: ctx.resource });
    }
    const s = built.stats;
    return {
      binaries: built.outputs.map((o) => ({
        path: o.path,
        project: o.project,
        kind: o.kind,
        linkKey: o.linkKey,
        reused: o.reused,
      })),
      symbols: built.symbols.map((x) => ({ path: x.path, size: x.size, sha256: x.sha256, binary: x.binary })),
      inputsHash: built.inputsHash,
      inputs: built.inputs,
      toolchainVersion: built.toolchainVersion,
      summary:
        `${s.compiled} compiled, ${s.cached} from the cache, ${s.linked} linked, ${s.reused} unchanged` +
        (s.repaired > 0
          ? `, ${s.repaired} corrupt or missing cache entr${s.repaired === 1 ? "y" : "ies"} rebuilt`
          : ""),
    };
  },

  changedInputs: (inputs, cacheDir) => changedInputs(inputs, cacheDir),

  // outputs are copied and signed in through temporary files: a killed build leaves them in the output folder
  cleanInterrupted: (outDir) => removeStaleTemps(outDir),
};
