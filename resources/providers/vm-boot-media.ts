/** Provider logic of {@link VmBootMedia} (loaded at call time by the shell in resources/vm-boot-media.ts). */
import * as fs from "node:fs";
import * as path from "node:path";
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { copyFileAtomic, writeFileAtomic } from "../../runtime/atomic";
import { stableStringify } from "../../runtime/digest";
import { progressReporter, report } from "../../runtime/progress";
import * as hyperv from "../../toolchains/adk/hyperv";
import { planVm, planVmDestroy } from "../../toolchains/adk/plan";
import { renderCommand } from "../../toolchains/adk/quote";
import { runAdk } from "../../toolchains/adk/run";
import { VmBootMediaArgsSchema } from "../vm-boot-media";
import { checkWith, parseInputs } from "./errors";

const TYPE = "VmBootMedia";
const OUTPUT_KEYS = ["startCommand", "startArgv", "bootCheckLine", "state", "createdVm"] as const;
const DEFINITION = "vm.json";

type Args = ReturnType<typeof parse>;

function parse(inputs: Record<string, unknown>) {
  const c = { ...inputs };
  for (const k of OUTPUT_KEYS) delete c[k];
  return parseInputs(VmBootMediaArgsSchema, c, TYPE);
}

/** Quote one argument for a POSIX shell (display only: we never run through a shell). */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The QEMU command that boots the ISO interactively (serial console on stdio), for the open toolchain. */
export async function qemuArgv(a: Args): Promise<string[]> {
  const { DEFAULT_FIRMWARE, qemuOptionValue } = await import("../../toolchains/open/boot");
  const fw = DEFAULT_FIRMWARE[a.arch];
  const vars = path.join(a.vmDir, "vars.fd");
  const machine =
    a.arch === "amd64"
      ? ["qemu-system-x86_64", "-machine", "q35"]
      : ["qemu-system-aarch64", "-M", "virt", "-cpu", "max"];
  return [
    ...machine,
    "-m",
    String(a.memoryMb),
    "-drive",
    `if=pflash,format=raw,unit=0,readonly=on,file=${qemuOptionValue(fw.code)}`,
    "-drive",
    `if=pflash,format=raw,unit=1,file=${qemuOptionValue(vars)}`,
    "-cdrom",
    a.isoPath,
    "-boot",
    "d",
    "-serial",
    "stdio",
    "-display",
    "none",
    "-net",
    "none",
  ];
}

async function attach(olds: Record<string, unknown> | undefined, inputs: Record<string, unknown>) {
  const a = parse(inputs);
  const who = `${TYPE} ${a.name}`;
  const resource = `${TYPE}(${a.name})`;
  if (a.toolchain === "adk") {
    const created = Boolean(olds?.createdVm);
    // the Hyper-V commands of planVm (toolchains/adk/plan.ts, also what `winpe plan` prints)
    for (const c of planVm(a, created)) await runAdk(c, { resource });
    return {
      ...a,
      createdVm: created || a.createVm,
      startCommand: renderCommand(hyperv.startVm(a.name)),
      startArgv: [] as string[],
      bootCheckLine: "",
      state: "attached",
    };
  }
  if (!fs.existsSync(a.isoPath)) throw new Error(`${TYPE}: 'isoPath' ${a.isoPath} does not exist`);
  const { DEFAULT_FIRMWARE, bootCheck } = await import("../../toolchains/open/boot");
  fs.mkdirSync(a.vmDir, { recursive: true });
  const vars = path.join(a.vmDir, "vars.fd");
  if (!fs.existsSync(vars)) copyFileAtomic(DEFAULT_FIRMWARE[a.arch].vars, vars);
  const argv = await qemuArgv(a);
  const definition = { name: a.name, arch: a.arch, iso: a.isoPath, isoSha256: a.isoSha256, memoryMb: a.memoryMb, argv };
  writeFileAtomic(path.join(a.vmDir, DEFINITION), `${JSON.stringify(definition, null, 2)}\n`);
  let bootCheckLine = "";
  if (a.bootCheck) {
    void report(who, `boot check: booting ${path.basename(a.isoPath)} in QEMU (${a.arch}) ...`, "info", true);
    const r = await bootCheck(a.isoPath, {
      arch: a.arch,
      timeoutSec: a.bootTimeoutSec,
      pattern: a.bootPattern,
      tmpDir: a.vmDir,
      resource,
      onProgress: progressReporter(who),
    });
    bootCheckLine = r.matchedLine.trim();
    void report(who, `boot check passed in ${r.seconds.toFixed(1)} s: ${bootCheckLine}`, "info");
  }
  return {
    ...a,
    createdVm: false,
    startCommand: argv.map(shellQuote).join(" "),
    startArgv: argv,
    bootCheckLine,
    state: "attached",
  };
}

export async function check(
  _olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<dynamic.CheckResult> {
  return checkWith(VmBootMediaArgsSchema, news, OUTPUT_KEYS);
}

export async function diff(
  _id: string,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<dynamic.DiffResult> {
  const keys = [
    "toolchain",
    "arch",
    "name",
    "isoPath",
    "isoSha256",
    "vmDir",
    "memoryMb",
    "createVm",
    "bootCheck",
    "bootPattern",
    "bootTimeoutSec",
  ];
  const changed = keys.filter((k) => stableStringify(olds[k] ?? null) !== stableStringify(news[k] ?? null));
  const replaces = changed.filter((k) => ["toolchain", "name", "vmDir", "arch"].includes(k));
  return { changes: changed.length > 0 || olds.state !== "attached", replaces, deleteBeforeReplace: true };
}

export async function create(inputs: Record<string, unknown>): Promise<dynamic.CreateResult> {
  const outs = await attach(undefined, inputs);
  return { id: `${outs.toolchain}:${outs.name}`, outs };
}

export async function update(
  _id: string,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<dynamic.UpdateResult> {
  return { outs: await attach(olds, news) };
}

/** Refresh (open): the definition gone, or pointing at another ISO, is drift. adk: reported as is. */
export async function read(id: string, props: Record<string, unknown>): Promise<dynamic.ReadResult> {
  if (props.toolchain !== "open") return { id, props };
  const def = path.join(String(props.vmDir), DEFINITION);
  let state = "attached";
  try {
    const d = JSON.parse(fs.readFileSync(def, "utf8")) as { iso?: string; isoSha256?: string };
    if (d.iso !== props.isoPath || d.isoSha256 !== props.isoSha256) state = "detached";
  } catch {
    state = "missing";
  }
  if (state !== "attached")
    void report(TYPE, `the VM definition ${def} is ${state}; the next up writes it again`, "warning");
  return { id, props: { ...props, state } };
}

export async function del(_id: string, props: Record<string, unknown>): Promise<void> {
  const a = parse(props);
  if (a.toolchain === "adk") {
    for (const c of planVmDestroy(a, Boolean(props.createdVm))) await runAdk(c, { resource: `${TYPE}(${a.name})` });
    return;
  }
  fs.rmSync(a.vmDir, { recursive: true, force: true });
}
export { del as delete };
