/** The open toolchain's test-signing certificate (openssl, toolchains/open/sign.ts). */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import type { CertBackend } from "../types";
import { certificateThumbprint, createTestCertificate } from "./sign";

/** Whether `file` (PEM `.crt` or DER `.cer`) holds the certificate with `thumbprint` (SHA-1, hex). */
function holdsCertificate(file: string, thumbprint: string): boolean {
  try {
    const cert = new crypto.X509Certificate(fs.readFileSync(file));
    return cert.fingerprint.replace(/:/g, "").toUpperCase() === thumbprint.toUpperCase();
  } catch {
    return false;
  }
}

export const openCertBackend: CertBackend = {
  toolchain: "open",

  async create(a, ctx) {
    const c = await createTestCertificate({ subject: a.subject, outDir: a.certDir, resource: ctx.resource });
    return { certPem: c.certPem, keyPem: c.keyPem, thumbprint: c.thumbprint, certFile: c.certFile, cerFile: c.cerFile };
  },

  present(c) {
    try {
      return certificateThumbprint(fs.readFileSync(c.certFile, "utf8")) === c.thumbprint;
    } catch {
      return false;
    }
  },

  async remove(c) {
    for (const f of [c.certFile, c.cerFile]) {
      if (f && holdsCertificate(f, c.thumbprint)) fs.rmSync(f, { force: true });
    }
    try {
      if (c.certDir && fs.readdirSync(c.certDir).length === 0) fs.rmdirSync(c.certDir);
    } catch {
      // not empty or gone
    }
  },
};
