/** Provider logic of {@link MountedImage} (loaded at call time by the shell in resources/mounted-image.ts). */
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { report } from "../../runtime/progress";
import { imageBackend } from "../../toolchains";
import type { MountSpec, StepContext } from "../../toolchains/types";
import { MountedImageDecl, type MountRef, privateDirFor } from "../mounted-image";
import { argsOf, checkArgs, diffArgs, stateFor, stateOf } from "./kit";

const D = MountedImageDecl;
const TYPE = D.type;

function spec(inputs: Record<string, unknown>) {
  const a = argsOf(D, inputs);
  const privateDir = privateDirFor(a.toolchain, a.mountDir);
  const s: MountSpec = { wim: a.wim, index: a.index, mountDir: a.mountDir, privateDir, holder: a.holder };
  const ref: MountRef = { toolchain: a.toolchain, ...s };
  return { a, ref, spec: s };
}

function ctxFor(ref: MountRef): StepContext {
  const who = `${TYPE} ${ref.mountDir}`;
  return {
    resource: `${TYPE}(${ref.mountDir})`,
    onProgress: (l) => void report(who, l, "info", true),
    onNotice: (m) => void report(who, m, "warning"),
  };
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
  // a mount found stale by the last refresh is recovered by an update
  return diffArgs(D, olds, news, stateOf(D, olds).status !== "mounted");
}

export async function create(inputs: Record<string, unknown>): Promise<dynamic.CreateResult> {
  const { a, ref, spec: s } = spec(inputs);
  const f = await (await imageBackend(ref.toolchain)).mount(s, ctxFor(ref));
  return {
    id: `${ref.wim}#${ref.index}@${ref.mountDir}`,
    outs: stateFor(D, a, { privateDir: ref.privateDir, ...f, status: "mounted", statusReason: "" }),
  };
}

export async function read(id: string, props: Record<string, unknown>): Promise<dynamic.ReadResult> {
  const state = stateOf(D, props);
  const { ref, spec: s } = spec(state);
  const st = await (await imageBackend(ref.toolchain)).status(s, ctxFor(ref));
  const status = st.state === "mounted" ? "mounted" : "stale";
  const statusReason = st.state === "mounted" ? "" : st.reason;
  if (status !== "mounted")
    void report(`${TYPE} ${ref.mountDir}`, `stale mount: ${statusReason}; the next up recovers it`, "warning");
  return { id, props: { ...state, status, statusReason } };
}

export async function update(
  _id: string,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<dynamic.UpdateResult> {
  const old = stateOf(D, olds);
  const { a, ref, spec: s } = spec(news);
  const ctx = ctxFor(ref);
  const backend = await imageBackend(ref.toolchain);
  const st = await backend.status(s, ctx);
  if (st.state !== "mounted" || old.status !== "mounted") {
    void report(
      `${TYPE} ${ref.mountDir}`,
      `recovering stale mount: ${st.state === "mounted" ? old.statusReason : st.reason}`,
      "warning",
    );
  }
  const f = await backend.recover(s, ctx);
  return { outs: stateFor(D, a, { privateDir: ref.privateDir, ...f, status: "mounted", statusReason: "" }) };
}

export async function del(_id: string, props: Record<string, unknown>): Promise<void> {
  const { ref, spec: s } = spec(stateOf(D, props));
  await (await imageBackend(ref.toolchain)).unmount(s, ctxFor(ref));
}
export { del as delete };
