/** Provider logic of {@link TestCertificate} (loaded at call time by the shell in resources/test-certificate.ts). */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { stableStringify } from "../../runtime/digest";
import { report } from "../../runtime/progress";
import { parseThumbprint } from "../../toolchains/adk/build";
import { planTestCertificate, planTestCertificateDestroy } from "../../toolchains/adk/plan";
import { AdkUnavailableError, runAdk } from "../../toolchains/adk/run";
import { certificateThumbprint, createTestCertificate } from "../../toolchains/open/sign";
import { TestCertificateArgsSchema } from "../test-certificate";
import { checkWith, parseInputs } from "./errors";

const TYPE = "TestCertificate";
const OUTPUT_KEYS = ["certPem", "keyPem", "thumbprint", "certFile", "cerFile"] as const;

function parse(inputs: Record<string, unknown>) {
  const c = { ...inputs };
  for (const k of OUTPUT_KEYS) delete c[k];
  return parseInputs(TestCertificateArgsSchema, c, TYPE);
}

export async function check(
  _olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<dynamic.CheckResult> {
  return checkWith(TestCertificateArgsSchema, news, OUTPUT_KEYS);
}

export async function diff(
  _id: string,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<dynamic.DiffResult> {
  const replaces = ["toolchain", "subject", "certDir"].filter(
    (k) => stableStringify(olds[k]) !== stableStringify(news[k]),
  );
  const missing = olds.certFile === "";
  return { changes: replaces.length > 0 || missing, replaces: missing ? ["certFile"] : replaces };
}

export async function create(inputs: Record<string, unknown>): Promise<dynamic.CreateResult> {
  const a = parse(inputs);
  const resource = `${TYPE}(${a.subject})`;
  if (a.toolchain === "adk") {
    let stdout = "";
    for (const c of planTestCertificate(a)) stdout = (await runAdk(c, { resource })).stdout;
    const thumbprint = parseThumbprint(stdout);
    return { id: thumbprint, outs: { ...a, certPem: "", keyPem: "", thumbprint, certFile: "", cerFile: "" } };
  }
  const c = await createTestCertificate({ subject: a.subject, outDir: a.certDir, resource });
  void report(TYPE, `made a test-signing certificate ${a.subject} (thumbprint ${c.thumbprint})`, "info", true);
  return {
    id: c.thumbprint,
    outs: {
      ...a,
      certPem: c.certPem,
      keyPem: c.keyPem,
      thumbprint: c.thumbprint,
      certFile: c.certFile,
      cerFile: c.cerFile,
    },
  };
}

/** Refresh: the public certificate file removed or replaced by hand is drift (a new certificate is made). */
export async function read(id: string, props: Record<string, unknown>): Promise<dynamic.ReadResult> {
  if (props.toolchain !== "open") return { id, props };
  const file = String(props.certFile ?? "");
  let ok = false;
  try {
    ok = certificateThumbprint(fs.readFileSync(file, "utf8")) === props.thumbprint;
  } catch {
    ok = false;
  }
  if (!ok)
    void report(TYPE, `the certificate file ${file} is missing or changed; the next up makes a new one`, "warning");
  return { id, props: ok ? props : { ...props, certFile: "" } };
}

export async function del(_id: string, props: Record<string, unknown>): Promise<void> {
  const thumbprint = String(props.thumbprint ?? "");
  if (props.toolchain === "adk" && /^[0-9A-Fa-f]{40}$/.test(thumbprint)) {
    // adk: the certificate (and its key) leave the user's store; one removed by hand already is not an error
    try {
      for (const c of planTestCertificateDestroy({ thumbprint })) {
        await runAdk(c, { resource: `${TYPE}(${String(props.subject)})` });
      }
    } catch (e) {
      if (e instanceof AdkUnavailableError) throw e;
      void report(
        TYPE,
        `could not remove certificate ${thumbprint} from Cert:\\CurrentUser\\My (${(e as Error).message.split("\n")[0]}); remove it by hand if it is still there`,
        "warning",
      );
    }
  }
  // the certificate files only while they hold this certificate: a replacement writes the same names first
  for (const k of ["certFile", "cerFile"]) {
    const f = String(props[k] ?? "");
    if (f && holdsCertificate(f, thumbprint)) fs.rmSync(f, { force: true });
  }
  const dir = String(props.certDir ?? "");
  try {
    if (dir && fs.readdirSync(dir).length === 0) fs.rmdirSync(dir);
  } catch {
    // not empty or gone
  }
}
export { del as delete };

/** Whether `file` (PEM `.crt` or DER `.cer`) holds the certificate with `thumbprint` (SHA-1, hex). */
function holdsCertificate(file: string, thumbprint: string): boolean {
  try {
    const data = fs.readFileSync(file);
    const cert = new crypto.X509Certificate(data);
    return cert.fingerprint.replace(/:/g, "").toUpperCase() === thumbprint.toUpperCase();
  } catch {
    return false;
  }
}
