/**
 * `TestCertificate`: a self-signed code-signing certificate for test-signing drivers (x64 drivers load on
 * testsigning media only when signed). open: openssl; the private key is a Pulumi secret, kept only in state.
 * adk: `New-SelfSignedCertificate` in the user's certificate store (the key stays in the store).
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { type ArgsOf, declare, resourceClass } from "./declare";

export const TestCertificateArgsSchema = z
  .object({
    /** Which tools make the certificate. */
    toolchain: z.enum(["adk", "open"]),
    /** Subject in Windows form. @default "CN=winpe-lab test signing" */
    subject: z.string().min(4).default("CN=winpe-lab test signing"),
    /**
     * Folder that receives the public certificate (`.crt` PEM and `.cer` DER, to import on a test machine).
     * @example "/work/WinPE_amd64/.winpe-lab/cert"
     */
    certDir: z.string().min(1),
  })
  .strict()
  .superRefine((a, ctx) => {
    const abs = a.toolchain === "adk" ? path.win32.isAbsolute : path.posix.isAbsolute;
    if (!abs(a.certDir)) ctx.addIssue({ code: "custom", path: ["certDir"], message: "must be an absolute path" });
  });

export type TestCertificateArgs = z.input<typeof TestCertificateArgsSchema>;

/** What DriverBuild needs to sign with this certificate. */
export interface SigningCert {
  certPem: string;
  /** PEM private key (open); "" for adk (the key is in the certificate store). */
  keyPem: string;
  thumbprint: string;
}

export const TestCertificateDecl = declare({
  type: "TestCertificate",
  provider: "test-certificate",
  version: 1,
  args: TestCertificateArgsSchema,
  outputs: {
    /** The certificate (PEM); "" for adk (it lives in the user's certificate store). */
    certPem: z.string(),
    /** The private key (PEM); a secret. "" for adk (the key stays in the store). */
    keyPem: z.string(),
    /** SHA-1 thumbprint, upper-case hex. */
    thumbprint: z.string(),
    /** The public certificate as PEM in `certDir` (`.crt`); "" when a refresh found it missing or changed. */
    certFile: z.string(),
    /** The same as DER (`.cer`, for certmgr/Import-Certificate on a test machine). */
    cerFile: z.string(),
  },
  updateOn: [],
  replaceOn: ["toolchain", "subject", "certDir"],
  secrets: ["keyPem"],
});

export class TestCertificate extends resourceClass(TestCertificateDecl) {
  /** For DriverBuild's `signing` input. */
  readonly signing: pulumi.Output<SigningCert>;

  constructor(name: string, args: ArgsOf<typeof TestCertificateDecl>, opts?: pulumi.CustomResourceOptions) {
    super(name, args, opts);
    this.signing = pulumi
      .all([this.certPem, this.keyPem, this.thumbprint])
      .apply(([certPem, keyPem, thumbprint]) => ({ certPem, keyPem, thumbprint }));
  }
}
