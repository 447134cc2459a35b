/** Provider logic of {@link MountedImage} (loaded at call time by the shell in resources/mounted-image.ts). */
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { report } from "../../runtime/progress";
import { imageBackend } from "../../toolchains";
import type { MountSpec, StepContext } from "../../toolchains/types";
import { MountedImageArgsSchema, type MountRef, privateDirFor } from "../mounted-image";
import { checkWith, parseInputs } from "./errors";

const TYPE = "MountedImage";
const OUTPUT_KEYS = ["privateDir", "status", "statusReason", "imageName", "fileCount", "compression"] as const;

function spec(inputs: Record<string, unknown>): { ref: MountRef; spec: MountSpec } {
  const a = parseInputs(MountedImageArgsSchema, stripOutputs(inputs), TYPE);
  const privateDir = privateDirFor(a.toolchain, a.mountDir);
  const s: MountSpec = { wim: a.wim, index: a.index, mountDir: a.mountDir, privateDir, holder: a.holder };
  return { ref: { toolchain: a.toolchain, ...s }, spec: s };
}

function stripOutputs(inputs: Record<string, unknown>): Record<string, unknown> {
  const copy = { ...inputs };
  for (const k of OUTPUT_KEYS) delete copy[k];
  return copy;
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
  return checkWith(MountedImageArgsSchema, news, OUTPUT_KEYS);
}

export async function diff(
  _id: string,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<dynamic.DiffResult> {
  const replaces = ["toolchain", "wim", "index", "mountDir"].filter((k) => olds[k] !== news[k]);
  const stale = olds.status !== "mounted";
  const changes = replaces.length > 0 || stale || olds.holder !== news.holder;
  return { changes, replaces, deleteBeforeReplace: true };
}

export async function create(inputs: Record<string, unknown>): Promise<dynamic.CreateResult> {
  const { ref, spec: s } = spec(inputs);
  const f = await imageBackend(ref.toolchain).mount(s, ctxFor(ref));
  return { id: `${ref.wim}#${ref.index}@${ref.mountDir}`, outs: { ...ref, ...f, status: "mounted", statusReason: "" } };
}

export async function read(id: string, props: Record<string, unknown>): Promise<dynamic.ReadResult> {
  const { ref, spec: s } = spec(props);
  const st = await imageBackend(ref.toolchain).status(s, ctxFor(ref));
  const status = st.state === "mounted" ? "mounted" : "stale";
  const statusReason = st.state === "mounted" ? "" : st.reason;
  if (status !== "mounted")
    void report(`${TYPE} ${ref.mountDir}`, `stale mount: ${statusReason}; the next up recovers it`, "warning");
  return { id, props: { ...props, status, statusReason } };
}

export async function update(
  _id: string,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<dynamic.UpdateResult> {
  const { ref, spec: s } = spec(news);
  const ctx = ctxFor(ref);
  const backend = imageBackend(ref.toolchain);
  const st = await backend.status(s, ctx);
  if (st.state !== "mounted" || olds.status !== "mounted") {
    void report(
      `${TYPE} ${ref.mountDir}`,
      `recovering stale mount: ${st.state === "mounted" ? String(olds.statusReason) : st.reason}`,
      "warning",
    );
  }
  const f = await backend.recover(s, ctx);
  return { outs: { ...ref, ...f, status: "mounted", statusReason: "" } };
}

export async function del(_id: string, props: Record<string, unknown>): Promise<void> {
  const { ref, spec: s } = spec(props);
  await imageBackend(ref.toolchain).unmount(s, ctxFor(ref));
}
export { del as delete };
