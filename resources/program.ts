/**
 * The winpe-lab program, as a function: stack config in, resources composed, stack outputs out.
 * `index.ts` calls {@link composeStack}; `winpe plan` uses {@link resolveStack} to show the same paths.
 *
 * TestCertificate -> DriverBuild -> BcdSettings -> MountedImage -> InjectedFiles -> ImageCommit
 *   -> [DriverVerifier] -> DriverTest, WinPeIso -> VmBootMedia
 */
import * as nodePath from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { mediaFingerprint } from "../formats/media-tree";
import { verifierValues } from "../formats/verifier";
import { hookFiles, parseVerdictLine, VERDICT_BOOT_PATTERN } from "../formats/winpe-hook";
import { PersistentDigestCache, sha256, stableStringify } from "../runtime/digest";
import { ConfigError, parseStackConfig, rawConfigToObject, type StackConfig } from "../stack/config";
import { isStandinImage, preflight, testCommand, verifierDrivers } from "../stack/preflight";
import { projectOutputs } from "../stack/project";
import { resolveStack } from "../stack/resolve";
import { wireStack } from "../stack/wiring";
import { debugEndpoint } from "../toolchains/index";
import { BcdSettings } from "./bcd-settings";
import { DriverBuild } from "./driver-build";
import { DriverTest } from "./driver-test";
import { DriverVerifier } from "./driver-verifier";
import { ImageCommit } from "./image-commit";
import { InjectedFiles } from "./injected-files";
import { MountedImage } from "./mounted-image";
import { TestCertificate } from "./test-certificate";
import { VmBootMedia } from "./vm-boot-media";
import { WinPeIso } from "./winpe-iso";
import { WorkspaceClaim } from "./workspace-claim";

export interface StackOutputs {
  isoPath: pulumi.Output<string>;
  /** The ISO's tree digest (WinPeIso `digest`: sha256 over its 1 MiB pieces; `winpe digest <iso>` prints it). */
  isoDigest: pulumi.Output<string>;
  isoSize: pulumi.Output<number>;
  builtFiles: pulumi.Output<Record<string, { path: string; sha256: string; machine: string; signed: boolean }>>;
  /** The program databases beside the built files (the debugger's symbol path is their folder). */
  symbolFiles: pulumi.Output<Record<string, { path: string; sha256: string }>>;
  injectedFiles: pulumi.Output<Record<string, { sha256: string; size: number }>>;
  bcdSettings: pulumi.Output<Record<string, Record<string, string>>>;
  vmStartCommand: pulumi.Output<string> | string;
  bootCheck: pulumi.Output<string> | string;
  debuggerCommand: pulumi.Output<string> | string;
  /** What `winpe debug` needs (a secret when it holds the KDNET key), or "" without a debug transport. */
  debugTarget: pulumi.Output<DebugTarget> | string;
  /** The driver test's verdict (the pre-flight): verdict, reason, exit code, output lines, duration, digest. */
  driverTest: pulumi.Output<DriverTestSummary> | DriverTestSummary;
  /** The boot-time test's verdict in WinPE (`pass ...`, `fail ...`), or `not run: <why>`. */
  bootTest: pulumi.Output<string> | string;
  /** Driver Verifier's values in the image's SYSTEM hive, or a note that it is not managed. */
  verifier:
    | pulumi.Output<{ values: { VerifyDrivers: string; VerifyDriverLevel: number }; flags: string[]; key: string }>
    | string;
}

/**
 * The stack's kernel-debug target, as `winpe debug` reads it (`pulumi stack output debugTarget --show-secrets`):
 * the VM's folder (its definition) and name, the transport, where the debugger connects, the KDNET key (net),
 * the build's folder (symbols) and the project's (sources).
 */
export interface DebugTarget {
  toolchain: "adk" | "open";
  transport: "net" | "serial" | "gdb";
  connect: string;
  vmName: string;
  vmDir: string;
  accel: "tcg" | "kvm";
  symbolPath: string[];
  sourcePath: string;
  key?: string;
}

/**
 * The host's debugger for a stack: WinDbg on adk (KDNET, or the COM1 named pipe), ntoseye on open (KDNET on the
 * loopback, the COM1 socket, or the gdbstub), with the build folder on the symbol path. A command that holds the
 * KDNET key is a secret; `winpe debug` runs the same debugger without ever putting the key on a command line.
 */
export function debuggerCommandFor(
  config: StackConfig,
  target: Omit<DebugTarget, "key"> | undefined,
): { text: string; secret: boolean } {
  const q = (a: string) => (/^[A-Za-z0-9_@%+=:,./\\-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  if (!target) {
    // no transport: the debugger that matches the KDNET settings in the BCD (the VM itself is no debug target)
    if (!config.kdnet) return { text: "(no debug transport: set winpe-lab:debug.transport)", secret: false };
    if (config.toolchain === "adk")
      return { text: `windbg -k net:port=${config.kdnet.port},key=${config.kdnet.key}`, secret: true };
    return {
      text: `ntoseye --backend kdnet --connect 127.0.0.1:${config.kdnet.port} --kdnet-key ${config.kdnet.key}`,
      secret: true,
    };
  }
  if (target.toolchain === "adk") {
    const y = `-y ${target.symbolPath.join(";")}`;
    if (target.transport === "serial")
      return { text: `windbg ${y} -k com:pipe,port=${target.connect},resets=0,reconnect`, secret: false };
    return { text: `windbg ${y} -k net:port=${config.kdnet?.port},key=${config.kdnet?.key}`, secret: true };
  }
  const sym = target.symbolPath.flatMap((d) => ["--sympath-append", q(d)]).join(" ");
  const src = `--srcpath ${q(target.sourcePath)}`;
  if (target.transport === "net") {
    return {
      text: `ntoseye --backend kdnet --connect ${target.connect} --kdnet-key ${config.kdnet?.key} ${sym} ${src}`,
      secret: true,
    };
  }
  const backend = target.transport === "serial" ? "kd" : "gdb";
  return { text: `ntoseye --backend ${backend} --connect ${q(target.connect)} ${sym} ${src}`, secret: false };
}

/** The `driverTest` stack output. */
export interface DriverTestSummary {
  verdict: string;
  reason: string;
  exitCode: number | null;
  command: string[];
  outputHead: string[];
  outputTail: string[];
  outputLines: number;
  durationMs: number;
  testedDigest: string;
  runner: string;
}

/** A digest of the committed files under `folder` (what the driver test tests). */
export function folderDigest(
  committed: Record<string, { sha256: string; size: number }> | undefined,
  folder: string,
): string {
  const view: Record<string, string> = {};
  const prefix = `${folder.toLowerCase()}/`;
  for (const [d, f] of Object.entries(committed ?? {})) if (d.toLowerCase().startsWith(prefix)) view[d] = f.sha256;
  return sha256(stableStringify(view));
}

/**
 * A file's identity from a resource's outputs: its tree digest, or, in a state written before the digest existed
 * (until the resource writes again), the sha256 the state stored under the old name. The old name is read only
 * when the digest is absent: an output a state lacks is unknown in a preview, so reading it always would make every
 * preview of a new state show the dependents as changing.
 */
function identity(digest: pulumi.Output<string>, legacy: pulumi.Output<string | undefined>): pulumi.Output<string> {
  return digest.apply((d) => (d ? pulumi.output(d) : legacy.apply((s) => s ?? "")));
}

/**
 * Compose the stack's resources. Throws for a bad project or any other bad input (each problem naming its config
 * key: stack/preflight.ts) before any resource is registered, so a bad input changes nothing.
 */
export function composeStack(config: StackConfig, root: string, stackName: string, holder: string): StackOutputs {
  const r = resolveStack(config, root, stackName);
  const toolchain = config.toolchain;

  // what the build produces, and a digest of each project's own inputs (no tool runs)
  const extra = { toolchain, configuration: config.configuration, platform: r.platform };
  const { outputs, revisions } = projectOutputs(toolchain, r.project, config.configuration, r.platform, extra);
  // the project is read (and a bad one refused), then every other input is checked, before any resource is
  // registered: nothing is written for a bad input
  const outputKinds: Record<string, "driver" | "application"> = {};
  for (const o of outputs) outputKinds[o.outputName] = o.kind;
  preflight({ config, stack: r, outputs: outputs.map((o) => o.outputName), outputKinds, holder });
  const t = config.test;
  const command = testCommand(config, outputKinds);
  // the boot-time hook goes into the image with the other files (InjectedFiles keeps the originals it replaces)
  const hook = t.enabled && t.boot && command.length > 0;
  const standin = isStandinImage(r.wim, config.imageIndex);
  // every resource's arguments as far as the config says (stack/wiring.ts, also what `winpe plan` shows)
  const w = wireStack(config, r, outputs, holder);
  const vmDebug = w.vmDebug;

  // the working folder is this stack's from its first write; every other resource depends on the claim
  const claim = new WorkspaceClaim("workspace-claim", w.claim);
  const opts: pulumi.CustomResourceOptions = { dependsOn: [claim] };
  const cert = w.cert ? new TestCertificate("test-certificate", w.cert, opts) : undefined;
  const build = new DriverBuild("driver-build", { ...w.build, signing: cert ? cert.signing : null, revisions }, opts);
  const bcd = new BcdSettings(
    "bcd-settings",
    { ...w.bcd, kdnet: w.bcd.kdnet ? pulumi.secret(w.bcd.kdnet) : undefined },
    opts,
  );
  const image = new MountedImage("boot-wim", w.mount, opts);

  const thumbprint = cert ? cert.thumbprint : pulumi.output("unsigned");
  const files: Record<string, { source: string; revision: pulumi.Output<string> } | { content: string }> = {};
  const p = toolchain === "adk" ? nodePath.win32 : nodePath.posix;
  for (const f of w.builtFiles) {
    files[f.dest] = {
      source: f.source,
      revision: thumbprint.apply((t) => sha256(`${revisions[f.outputPath]}:${f.kind === "driver" ? t : ""}`)),
    };
  }
  if (hook) {
    const hf = hookFiles({
      folder: r.injectDir,
      command,
      exitCode: t.pass.exitCode,
      output: t.pass.output ?? null,
    });
    for (const [d, content] of Object.entries(hf)) files[d] = { content };
  }
  const inject = new InjectedFiles(
    "injected-files",
    { mount: image.ref, files: pulumi.output(files), arch: config.arch },
    { dependsOn: [claim, build] },
  );
  const commit = new ImageCommit(
    "image-commit",
    {
      mount: image.ref,
      files: inject.staged,
      contentHash: inject.contentHash,
    },
    opts,
  );

  // Driver Verifier's values in the image's SYSTEM hive (after the commit: it commits the hive itself)
  let verifier: DriverVerifier | undefined;
  if (t.verifier) {
    verifier = new DriverVerifier(
      "driver-verifier",
      {
        mount: image.ref,
        values: verifierValues(verifierDrivers(config, outputKinds), t.verifier.flags),
        flags: t.verifier.flags,
        imageRevision: identity(commit.wimDigest, commit.wimSha256),
        stateDir: r.verifierDir,
      },
      opts,
    );
  }
  const wimDigest = verifier
    ? identity(verifier.wimDigest, verifier.wimSha256)
    : identity(commit.wimDigest, commit.wimSha256);

  // the driver test (the pre-flight): on the committed image's folder, after every write to the WIM
  let driverTest: StackOutputs["driverTest"] = {
    verdict: "not run",
    reason: "the driver test is off (winpe-lab:test.enabled is false)",
    exitCode: null,
    command,
    outputHead: [],
    outputTail: [],
    outputLines: 0,
    durationMs: 0,
    testedDigest: "",
    runner: "none",
  };
  if (t.enabled) {
    const dt = new DriverTest(
      "driver-test",
      {
        toolchain,
        arch: config.arch,
        mount: image.ref,
        folder: r.injectDir,
        contentDigest: commit.committed.apply((c) => folderDigest(c, r.injectDir)),
        command,
        ...(command.length === 0
          ? {
              noCommandReason:
                "the build produces no application to run and winpe-lab:test.command is not set: name the test program",
            }
          : {}),
        pass: { exitCode: t.pass.exitCode, output: t.pass.output ?? null },
        timeoutSec: t.timeoutSec,
        onFail: t.onFail,
        workDir: r.testDir,
        redact: config.kdnet ? pulumi.secret([config.kdnet.key]) : [],
      },
      { dependsOn: verifier ? [claim, verifier] : [claim] },
    );
    const summary: pulumi.Output<DriverTestSummary> = pulumi
      .all([dt.verdict, dt.reason, dt.exitCode, dt.outputHead, dt.outputTail])
      .apply(([verdict, reason, exitCode, outputHead, outputTail]) => ({
        verdict,
        reason,
        exitCode,
        outputHead,
        outputTail,
      }))
      .apply((a) =>
        pulumi
          .all([dt.outputLines, dt.durationMs, dt.testedDigest, dt.runner])
          .apply(([outputLines, durationMs, testedDigest, runner]) => ({
            ...a,
            command,
            outputLines,
            durationMs,
            testedDigest,
            runner,
          })),
      );
    driverTest = summary;
  }

  // every other media file, by content (digests cached across runs by path, size, mtime, inode)
  const exclude = ["sources/boot.wim", ...r.stores.map((s) => s.rel)];
  const cache = new PersistentDigestCache(p.join(r.stateDir, "digests.json"));
  const mediaHash = mediaFingerprint(r.mediaDir, exclude, cache);
  // a preview writes nothing; the cache file is the claim's (removed with it on destroy)
  if (!pulumi.runtime.isDryRun()) cache.save();
  const contentHashes = pulumi.all([wimDigest, bcd.storeHashes]).apply(([wim, stores]) => {
    const h: Record<string, string> = { "sources/boot.wim": wim, media: mediaHash };
    for (const s of r.stores) h[s.rel] = stores[s.path];
    return h;
  });
  const iso = new WinPeIso("winpe-iso", { ...w.iso, contentHashes }, opts);
  const isoDigest = identity(iso.digest, iso.sha256);

  let vmStartCommand: pulumi.Output<string> | string = "(vm.enabled is false)";
  let bootCheck: pulumi.Output<string> | string = "";
  // the boot check waits for the hook's verdict line when the media can run it (a real WinPE)
  const waitForVerdict =
    hook && !standin && toolchain === "open" && config.vm.enabled && config.vm.bootCheck && !config.vm.bootPattern;
  let bootTest: pulumi.Output<string> | string;
  if (!hook) {
    bootTest =
      t.enabled && t.boot
        ? "not run: there is no command to run (winpe-lab:test.command)"
        : "not run: the boot-time test is off (winpe-lab:test.boot)";
  } else if (toolchain === "adk") {
    bootTest =
      "not run by winpe-lab: start the VM (vmStartCommand); WinPE runs the test at start and writes " +
      "'WINPE-LAB TEST <pass|fail> ...' to COM1";
  } else if (standin) {
    bootTest =
      "not run: the synthetic working folder's stand-in boot application cannot run Windows programs; the hook is " +
      "in the image (Windows/System32/startnet.cmd) and runs when a real WinPE (copype) boots";
  } else if (!waitForVerdict) {
    bootTest = config.vm.bootPattern
      ? "not run: the boot check waits for winpe-lab:vm.bootPattern, not for the test's line"
      : "not run: the boot check is off (winpe-lab:vm.bootCheck); WinPE writes 'WINPE-LAB TEST ...' to COM1 at start";
  } else {
    bootTest = "";
  }
  if (w.vm) {
    const vm = new VmBootMedia(
      "vm-boot-media",
      {
        ...w.vm,
        isoPath: iso.isoPath,
        isoDigest,
        bootPattern: waitForVerdict ? VERDICT_BOOT_PATTERN : config.vm.bootPattern,
      },
      opts,
    );
    if (waitForVerdict) {
      bootTest = vm.bootCheckLine.apply((l) => {
        const v = parseVerdictLine(l);
        return v ? `${v.verdict} ${v.details}`.trim() : `not run: the boot check saw no verdict line (${l})`;
      });
    }
    vmStartCommand = vm.startCommand;
    bootCheck = vm.bootCheckLine;
  }

  let target: Omit<DebugTarget, "key"> | undefined;
  if (vmDebug) {
    const spec = { name: r.vmName, vmDir: r.vmDir, debug: vmDebug };
    const endpoint = debugEndpoint(toolchain, spec);
    target = {
      toolchain,
      transport: vmDebug.transport,
      connect: endpoint?.connect ?? "",
      vmName: r.vmName,
      vmDir: r.vmDir,
      accel: config.vm.accel,
      symbolPath: [r.buildDir],
      sourcePath: p.dirname(r.project),
    };
  }
  const dbg = debuggerCommandFor(config, target);
  const debuggerCommand = dbg.secret ? pulumi.secret(dbg.text) : dbg.text;
  const debugTarget: pulumi.Output<DebugTarget> | string = target
    ? vmDebug?.transport === "net" && config.kdnet
      ? pulumi.secret({ ...target, key: config.kdnet.key })
      : pulumi.output(target)
    : "";

  return {
    isoPath: iso.isoPath,
    isoDigest,
    isoSize: iso.size,
    builtFiles: build.files.apply((f) => {
      const out: Record<string, { path: string; sha256: string; machine: string; signed: boolean }> = {};
      for (const [n, v] of Object.entries(f ?? {}))
        out[n] = { path: v.path, sha256: v.sha256, machine: v.machine, signed: v.signed };
      return out;
    }),
    symbolFiles: build.symbols.apply((f) => {
      const out: Record<string, { path: string; sha256: string }> = {};
      for (const [n, v] of Object.entries(f ?? {})) out[n] = { path: v.path, sha256: v.sha256 };
      return out;
    }),
    injectedFiles: commit.committed.apply((c) => {
      const out: Record<string, { sha256: string; size: number }> = {};
      for (const [d, v] of Object.entries(c ?? {})) out[d] = { sha256: v.sha256, size: v.size };
      return out;
    }),
    bcdSettings: bcd.effective,
    vmStartCommand,
    bootCheck,
    debuggerCommand,
    debugTarget,
    driverTest,
    bootTest,
    verifier: verifier
      ? pulumi.all([verifier.values, verifier.flags, verifier.controlSet]).apply(([values, flags, controlSet]) => ({
          values,
          flags,
          key: `${controlSet}\\Control\\Session Manager\\Memory Management`,
        }))
      : "(not managed: winpe-lab:test.verifier is not set)",
  };
}

function fail(message: string): never {
  // RunError: Pulumi prints the message once, without a stack trace.
  throw new pulumi.RunError(message);
}

/**
 * The whole winpe-lab program, as the stacks run it: reads this stack's config (one zod schema, errors name the
 * config key), stops with one line for an adk stack on a host that is not Windows, composes the resources and
 * returns the stack outputs. `root` is the project folder: relative config paths are resolved against it.
 * `index.ts` is `export = () => winpeProgram(<its folder>)`; test harnesses run the same function.
 */
export function winpeProgram(root: string): Record<string, unknown> {
  const stack = pulumi.getStack();
  const raw = rawConfigToObject(pulumi.runtime.allConfig());
  if (raw.toolchain === "adk" && process.platform !== "win32") {
    fail(
      `stack '${stack}' uses the adk toolchain (MSBuild/WDK, DISM, MakeWinPEMedia, Hyper-V), which needs Windows; ` +
        `on Linux use a demo stack (npm run demo) or set 'winpe-lab:toolchain' to 'open'. ` +
        `'npm run -s winpe -- plan --stack ${stack}' prints the commands this stack runs on Windows.`,
    );
  }
  let config: StackConfig;
  try {
    config = parseStackConfig(raw);
  } catch (e) {
    if (e instanceof ConfigError) fail(`invalid stack config for '${stack}':\n${e.message}`);
    throw e;
  }
  try {
    return { ...composeStack(config, root, stack, `${pulumi.getProject()}/${stack}`) };
  } catch (e) {
    fail(`stack '${stack}': ${(e as Error).message}`);
  }
}
