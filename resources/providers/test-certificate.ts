/** Provider logic of {@link TestCertificate} (loaded at call time by the shell in resources/test-certificate.ts). */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { report } from "../../runtime/progress";
import { parseThumbprint } from "../../toolchains/adk/build";
import { planTestCertificate, planTestCertificateDestroy } from "../../toolchains/adk/plan";
import { AdkUnavailableError, runAdk } from "../../toolchains/adk/run";
import { certificateThumbprint, createTestCertificate } from "../../toolchains/open/sign";
import { TestCertificateDecl } from "../test-certificate";
import { argsOf, checkArgs, diffArgs, stateFor, stateOf } from "./kit";

const D = TestCertificateDecl;
const TYPE = D.type;

function parse(inputs: Record<string, unknown>) {
  return argsOf(D, inputs);
}

export async function check(
  _olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<dynamic.CheckResult> {
  return checkArgs(D, news);
}

export async function diff(
  _id: string,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<dynamic.DiffResult> {
  // a certificate file found missing or changed by the last refresh: a new certificate replaces this one
  const missing = stateOf(D, olds).certFile === "";
  const d = diffArgs(D, olds, news, missing);
  return missing ? { ...d, replaces: [...(d.replaces ?? []), "certFile"] } : d;
}

export async function create(inputs: Record<string, unknown>): Promise<dynamic.CreateResult> {
  const a = parse(inputs);
  const resource = `${TYPE}(${a.subject})`;
  if (a.toolchain === "adk") {
    let stdout = "";
    for (const c of planTestCertificate(a)) stdout = (await runAdk(c, { resource })).stdout;
    const thumbprint = parseThumbprint(stdout);
    return { id: thumbprint, outs: stateFor(D, a, { certPem: "", keyPem: "", thumbprint, certFile: "", cerFile: "" }) };
  }
  const c = await createTestCertificate({ subject: a.subject, outDir: a.certDir, resource });
  void report(TYPE, `made a test-signing certificate ${a.subject} (thumbprint ${c.thumbprint})`, "info", true);
  return {
    id: c.thumbprint,
    outs: stateFor(D, a, {
      certPem: c.certPem,
      keyPem: c.keyPem,
      thumbprint: c.thumbprint,
      certFile: c.certFile,
      cerFile: c.cerFile,
    }),
  };
}

/** Refresh: the public certificate file removed or replaced by hand is drift (a new certificate is made). */
export async function read(id: string, props: Record<string, unknown>): Promise<dynamic.ReadResult> {
  const s = stateOf(D, props);
  if (s.toolchain !== "open") return { id, props: s };
  const file = s.certFile;
  let ok = false;
  try {
    ok = certificateThumbprint(fs.readFileSync(file, "utf8")) === s.thumbprint;
  } catch {
    ok = false;
  }
  if (!ok)
    void report(TYPE, `the certificate file ${file} is missing or changed; the next up makes a new one`, "warning");
  return { id, props: ok ? s : { ...s, certFile: "" } };
}

export async function del(_id: string, props: Record<string, unknown>): Promise<void> {
  const s = stateOf(D, props);
  const thumbprint = s.thumbprint;
  if (s.toolchain === "adk" && /^[0-9A-Fa-f]{40}$/.test(thumbprint)) {
    // adk: the certificate (and its key) leave the user's store; one removed by hand already is not an error
    try {
      for (const c of planTestCertificateDestroy({ thumbprint })) {
        await runAdk(c, { resource: `${TYPE}(${s.subject})` });
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
  for (const f of [s.certFile, s.cerFile]) {
    if (f && holdsCertificate(f, thumbprint)) fs.rmSync(f, { force: true });
  }
  const dir = s.certDir;
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
