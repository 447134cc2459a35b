/** Provider logic of {@link TestCertificate} (loaded at call time by the shell in resources/test-certificate.ts). */
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { report } from "../../runtime/progress";
import { certBackend } from "../../toolchains";
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

function ctxOf(subject: string) {
  return { resource: `${TYPE}(${subject})` };
}

export async function create(inputs: Record<string, unknown>): Promise<dynamic.CreateResult> {
  const a = parse(inputs);
  const c = await (await certBackend(a.toolchain)).create(a, ctxOf(a.subject));
  void report(TYPE, `made a test-signing certificate ${a.subject} (thumbprint ${c.thumbprint})`, "info", true);
  return { id: c.thumbprint, outs: stateFor(D, a, c) };
}

/** Refresh: the certificate removed or replaced by hand is drift (a new certificate is made by the next up). */
export async function read(id: string, props: Record<string, unknown>): Promise<dynamic.ReadResult> {
  const s = stateOf(D, props);
  if ((await certBackend(s.toolchain)).present(s)) return { id, props: s };
  void report(TYPE, `the certificate file ${s.certFile} is missing or changed; the next up makes a new one`, "warning");
  return { id, props: { ...s, certFile: "" } };
}

export async function del(_id: string, props: Record<string, unknown>): Promise<void> {
  const s = stateOf(D, props);
  await (await certBackend(s.toolchain)).remove(s, ctxOf(s.subject));
}
export { del as delete };
