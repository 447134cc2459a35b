/** Provider logic of {@link VmBootMedia} (loaded at call time by the shell in resources/vm-boot-media.ts). */
import * as fs from "node:fs";
import * as path from "node:path";
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { copyFileAtomic, writeFileAtomic } from "../../runtime/atomic";
import { progressReporter, report } from "../../runtime/progress";
import * as hyperv from "../../toolchains/adk/hyperv";
import { planVm, planVmDestroy } from "../../toolchains/adk/plan";
import { renderCommand } from "../../toolchains/adk/quote";
import { runAdk } from "../../toolchains/adk/run";
import { VmBootMediaDecl } from "../vm-boot-media";
import { argsOf, checkArgs, diffArgs, stateFor, stateOf } from "./kit";

const D = VmBootMediaDecl;
const TYPE = D.type;
const DEFINITION = "vm.json";

type Args = ReturnType<typeof parse>;

function parse(inputs: Record<string, unknown>) {
  return argsOf(D, inputs);
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
  const old = olds ? stateOf(D, olds) : undefined;
  const who = `${TYPE} ${a.name}`;
  const resource = `${TYPE}(${a.name})`;
  if (a.toolchain === "adk") {
    const created = old?.createdVm ?? false;
    // the Hyper-V commands of planVm (toolchains/adk/plan.ts, also what `winpe plan` prints)
    for (const c of planVm(a, created)) await runAdk(c, { resource });
    return stateFor(D, a, {
      createdVm: created || a.createVm,
      startCommand: renderCommand(hyperv.startVm(a.name)),
      startArgv: [],
      bootCheckLine: "",
      state: "attached",
    });
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
  return stateFor(D, a, {
    createdVm: false,
    startCommand: argv.map(shellQuote).join(" "),
    startArgv: argv,
    bootCheckLine,
    state: "attached",
  });
}

export async function check(
  _olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<dynamic.CheckResult> {
  return checkArgs(D, news);
}

/** The declared inputs, or a definition found missing or detached by the last refresh. No tool runs. */
export async function diff(
  _id: string,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<dynamic.DiffResult> {
  return diffArgs(D, olds, news, stateOf(D, olds).state !== "attached");
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
  const s = stateOf(D, props);
  if (s.toolchain !== "open") return { id, props: s };
  const def = path.join(s.vmDir, DEFINITION);
  let state: "attached" | "missing" | "detached" = "attached";
  try {
    const d = JSON.parse(fs.readFileSync(def, "utf8")) as { iso?: string; isoSha256?: string };
    if (d.iso !== s.isoPath || d.isoSha256 !== s.isoSha256) state = "detached";
  } catch {
    state = "missing";
  }
  if (state !== "attached")
    void report(TYPE, `the VM definition ${def} is ${state}; the next up writes it again`, "warning");
  return { id, props: { ...s, state } };
}

export async function del(_id: string, props: Record<string, unknown>): Promise<void> {
  const s = stateOf(D, props);
  if (s.toolchain === "adk") {
    for (const c of planVmDestroy(s, s.createdVm)) await runAdk(c, { resource: `${TYPE}(${s.name})` });
    return;
  }
  fs.rmSync(s.vmDir, { recursive: true, force: true });
}
export { del as delete };
