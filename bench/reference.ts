/**
 * The "honest alternative": a plain script of the manual workflow that runs the same tools directly, with no
 * engine, no state and no checks beyond what the tools do themselves.
 *
 * - build: `buildProject` (the same clang/lld-link/llvm-readobj commands as DriverBuild);
 * - sign: `osslsigncode sign` of the driver (signFile), no separate verification;
 * - BCD: `winpe bcd /store <store> /set {default} testsigning on` etc.: the same CLI code, called in this process
 *   (bcdedit is a native tool that starts in milliseconds; starting ts-node per call would only slow the script);
 * - image: `wimlib-imagex update` adding the built files straight from the build folder;
 * - ISO: `makeMedia` (xorriso), the same command line as WinPeIso.
 *
 * "Full" is what a script does on every run (rebuild everything, set every element, add every file, write the ISO);
 * "necessary" is only the steps a change needs (one edited driver source: build that project, sign, update that
 * file, ISO; testsigning flip: one element per store, ISO). Tool runs are counted in a tool log of their own.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { run as winpeBcd } from "../cli/bcd";
import { runTool } from "../runtime/exec";
import { REPO_ROOT, scratchDir } from "../test/helpers/pulumi";
import { buildProject } from "../toolchains/open/build";
import { copype } from "../toolchains/open/copype";
import { makeMedia } from "../toolchains/open/makemedia";
import { type CreatedTestCertificate, createTestCertificate, signFile } from "../toolchains/open/sign";
import { type Arch, lineCount, log, nowMs, readJsonLines, type Sample, type Scale, summarizeTools } from "./common";

interface RefWorkspace {
  arch: Arch;
  dir: string;
  workspace: string;
  wim: string;
  stores: string[];
  pristine: Map<string, Buffer>;
  src: string;
  buildDir: string;
  certDir: string;
  isoPath: string;
  toolLog: string;
  cert?: CreatedTestCertificate;
}

const RESOURCE = "reference-script";

async function bcd(args: string[]): Promise<void> {
  const orig = console.log;
  console.log = () => {};
  try {
    const code = await winpeBcd(args);
    if (code !== 0) throw new Error(`winpe bcd ${args.join(" ")} exited with ${code}`);
  } finally {
    console.log = orig;
  }
}

async function bcdSetAll(w: RefWorkspace, testsigning: "on" | "off"): Promise<void> {
  for (const s of w.stores) {
    await bcd(["/store", s, "/set", "{default}", "testsigning", testsigning]);
    await bcd(["/store", s, "/set", "{default}", "debug", "on"]);
    await bcd(["/store", s, "/dbgsettings", "net", "hostip:10.0.2.2", "port:50005", "key:7.7.7.7"]);
  }
}

async function wimUpdate(w: RefWorkspace, commands: string[]): Promise<void> {
  await runTool("wimlib-imagex", ["update", w.wim, "1"], { input: `${commands.join("\n")}\n`, resource: RESOURCE });
}

async function iso(w: RefWorkspace): Promise<void> {
  await makeMedia(w.workspace, w.isoPath, { force: true, arch: w.arch, resource: RESOURCE });
}

/** Build (a project or the whole solution), sign the drivers, return the outputs. */
async function buildAndSign(w: RefWorkspace, project: string): Promise<string[]> {
  const r = await buildProject({
    project,
    configuration: "Debug",
    platform: w.arch === "amd64" ? "x64" : "ARM64",
    outDir: w.buildDir,
    resource: RESOURCE,
  });
  for (const o of r.outputs) if (o.kind === "driver" && w.cert) await signFile(o.path, w.cert, { resource: RESOURCE });
  return r.outputs.map((o) => o.path);
}

async function full(w: RefWorkspace, testsigning: "on" | "off"): Promise<void> {
  const outs = await buildAndSign(w, path.join(w.src, "ioctl.sln"));
  await bcdSetAll(w, testsigning);
  await wimUpdate(
    w,
    outs.map((o) => `add "${o}" "/Windows/Ioctl/${path.basename(o)}"`),
  );
  await iso(w);
}

async function timed(w: RefWorkspace, what: string, op: () => Promise<void>): Promise<Sample> {
  const prev = process.env.WINPE_TOOL_LOG;
  process.env.WINPE_TOOL_LOG = w.toolLog;
  const mark = lineCount(w.toolLog);
  const t0 = nowMs();
  try {
    await op();
  } finally {
    if (prev === undefined) delete process.env.WINPE_TOOL_LOG;
    else process.env.WINPE_TOOL_LOG = prev;
  }
  const ms = nowMs() - t0;
  const tools = summarizeTools(readJsonLines(w.toolLog, mark));
  log(`  reference ${what}: ${(ms / 1000).toFixed(2)} s, ${tools.tools} tool run(s)`);
  return { ms: Math.round(ms), ...tools };
}

export interface RefRun {
  full: Partial<Record<"cold" | "noop" | "edit" | "flip" | "destroy", Sample>>;
  necessary: Partial<Record<"cold" | "edit" | "flip" | "destroy", Sample>>;
}

/** The reference script's scenarios in a scratch workspace of its own. */
export async function runReference(opts: { arch: Arch; scale: Scale; bigWim?: string }): Promise<RefRun> {
  const dir = scratchDir(`bench-ref-${opts.arch}`);
  try {
    const cp = await copype(opts.arch, path.join(dir, opts.arch === "amd64" ? "WinPE_amd64" : "WinPE_arm64"));
    if (opts.bigWim) fs.copyFileSync(opts.bigWim, cp.bootWim);
    const src = path.join(dir, "src");
    fs.cpSync(path.join(REPO_ROOT, "examples", "ioctl"), src, { recursive: true });
    const w: RefWorkspace = {
      arch: opts.arch,
      dir,
      workspace: cp.dir,
      wim: cp.bootWim,
      // the demo stacks' stores: both on amd64, the EFI one on arm64 (copype's list has exactly those)
      stores: cp.bcdStores,
      pristine: new Map(cp.bcdStores.map((s) => [s, fs.readFileSync(s)])),
      src,
      buildDir: path.join(cp.dir, "build"),
      certDir: path.join(cp.dir, ".winpe-lab", "cert"),
      isoPath: path.join(dir, "out", `winpe_${opts.arch}.iso`),
      toolLog: path.join(dir, "tools.jsonl"),
    };
    fs.mkdirSync(path.dirname(w.isoPath), { recursive: true });
    const res: RefRun = { full: {}, necessary: {} };
    res.full.cold = await timed(w, "cold (certificate + full)", async () => {
      w.cert = await createTestCertificate({
        subject: "CN=winpe-lab test signing",
        outDir: w.certDir,
        resource: RESOURCE,
      });
      await full(w, "on");
    });
    res.necessary.cold = res.full.cold;
    res.full.noop = await timed(w, "full rerun (nothing changed)", () => full(w, "on"));

    const file = path.join(src, "sys", "sioctl.c");
    fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace('"Debug build"', '"Debug build (bench edit)"'));
    res.necessary.edit = await timed(w, "one source edited: driver build + sign + update + ISO", async () => {
      const outs = await buildAndSign(w, path.join(src, "sys", "sioctl.vcxproj"));
      await wimUpdate(
        w,
        outs.map((o) => `add "${o}" "/Windows/Ioctl/${path.basename(o)}"`),
      );
      await iso(w);
    });
    res.full.edit = await timed(w, "one source edited: full rerun", () => full(w, "on"));

    res.necessary.flip = await timed(w, "testsigning off: BCD + ISO", async () => {
      for (const s of w.stores) await bcd(["/store", s, "/set", "{default}", "testsigning", "off"]);
      await iso(w);
    });
    res.full.flip = await timed(w, "testsigning off: full rerun", () => full(w, "off"));

    res.full.destroy = await timed(w, "undo: stores back, files out of the WIM, ISO and outputs removed", async () => {
      for (const [s, bytes] of w.pristine) fs.writeFileSync(s, bytes);
      await wimUpdate(w, ['delete --force --recursive "/Windows/Ioctl"']);
      fs.rmSync(w.isoPath, { force: true });
      fs.rmSync(w.buildDir, { recursive: true, force: true });
      fs.rmSync(w.certDir, { recursive: true, force: true });
    });
    res.necessary.destroy = res.full.destroy;
    return res;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
