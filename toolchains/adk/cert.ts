/**
 * The adk toolchain's test-signing certificate: `New-SelfSignedCertificate` in the user's store (the key stays
 * there), removed with `Remove-Item Cert:\CurrentUser\My\<thumbprint> -DeleteKey`: the commands of
 * planTestCertificate / planTestCertificateDestroy (plan.ts), which `winpe plan` prints too. Windows only.
 */
import { report } from "../../runtime/progress";
import type { CertBackend } from "../types";
import { parseThumbprint } from "./build";
import { planTestCertificate, planTestCertificateDestroy, THUMBPRINT_PLACEHOLDER } from "./plan";
import { AdkUnavailableError, runAdk } from "./run";
import type { AdkCommand } from "./types";

export const adkCertBackend: CertBackend & {
  /** The commands create runs (what `winpe plan` prints). */
  commands(a: { subject: string }): AdkCommand[];
  /** The commands remove runs; before the certificate exists, with a placeholder thumbprint. */
  removeCommands(a: { thumbprint?: string }): AdkCommand[];
} = {
  toolchain: "adk",

  commands: (a) => planTestCertificate(a),
  removeCommands: (a) => planTestCertificateDestroy({ thumbprint: a.thumbprint ?? THUMBPRINT_PLACEHOLDER }),

  async create(a, ctx) {
    let stdout = "";
    for (const c of planTestCertificate(a)) stdout = (await runAdk(c, { resource: ctx.resource })).stdout;
    return { certPem: "", keyPem: "", thumbprint: parseThumbprint(stdout), certFile: "", cerFile: "" };
  },

  present() {
    return true; // in the user's certificate store; not checked from here
  },

  async remove(c, ctx) {
    if (!/^[0-9A-Fa-f]{40}$/.test(c.thumbprint)) return;
    // the certificate (and its key) leave the user's store; one removed by hand already is not an error
    try {
      for (const cmd of planTestCertificateDestroy({ thumbprint: c.thumbprint }))
        await runAdk(cmd, { resource: ctx.resource });
    } catch (e) {
      if (e instanceof AdkUnavailableError) throw e;
      void report(
        ctx.resource,
        `could not remove certificate ${c.thumbprint} from Cert:\\CurrentUser\\My (${(e as Error).message.split("\n")[0]}); remove it by hand if it is still there`,
        "warning",
      );
    }
  },
};
