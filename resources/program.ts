/**
 * The winpe-lab program, as a function: stack config in, resources composed, stack outputs out.
 * `index.ts` calls {@link composeStack}; `winpe plan` uses {@link resolveStack} to show the same paths.
 *
 * TestCertificate -> DriverBuild -> BcdSettings -> MountedImage -> InjectedFiles -> ImageCommit -> WinPeIso -> VmBootMedia
 */
import * as nodePath from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { normalizeImagePath } from "../formats/image-path";
import { mediaFingerprint } from "../formats/media-tree";
import { PersistentDigestCache, sha256 } from "../runtime/digest";
import { readAdkProjectFacts } from "../toolchains/adk/plan";
import { planBuild } from "../toolchains/open/build";
import { BcdSettings } from "./bcd-settings";
import type { StackConfig } from "./config";
import { DriverBuild, projectRevisions } from "./driver-build";
import { ImageCommit } from "./image-commit";
import { InjectedFiles } from "./injected-files";
import { MountedImage } from "./mounted-image";
import { TestCertificate } from "./test-certificate";
import { VmBootMedia } from "./vm-boot-media";
import { WinPeIso } from "./winpe-iso";

/** Every path a stack uses, absolute, in the toolchain's path style. */
export interface ResolvedStack {
  workspace: string;
  mediaDir: string;
  wim: string;
  mountDir: string;
  buildDir: string;
  isoPath: string;
  /** Our bookkeeping inside the working folder (certificate, pristine BCD copies, VM definition, caches). */
  stateDir: string;
  certDir: string;
  bcdStateDir: string;
  vmDir: string;
  vmName: string;
  project: string;
  platform: "x64" | "ARM64";
  /** BCD stores to change, absolute, with their media-relative names. */
  stores: Array<{ path: string; rel: string }>;
  /** Folder in the image for the binaries, `A/B` form. */
  injectDir: string;
}

/** Resolve the config's paths against `root` (the project folder): POSIX for open, Windows for adk. */
export function resolveStack(config: StackConfig, root: string, stackName: string): ResolvedStack {
  const p = config.toolchain === "adk" ? nodePath.win32 : nodePath.posix;
  const workspace = p.resolve(root, config.workspace);
  const mediaDir = p.join(workspace, "media");
  const stateDir = p.join(workspace, ".winpe-lab");
  const vmName = config.vm.name ?? `winpe-lab-${stackName}`;
  const storeRels: string[] = [];
  if (config.bcd.stores !== "bios") storeRels.push("EFI/Microsoft/Boot/BCD");
  if (config.bcd.stores !== "efi") storeRels.push("Boot/BCD");
  return {
    workspace,
    mediaDir,
    wim: p.join(mediaDir, "sources", "boot.wim"),
    mountDir: p.join(workspace, "mount"),
    buildDir: config.buildDir ? p.resolve(root, config.buildDir) : p.join(workspace, "build"),
    isoPath: p.resolve(root, config.iso.path),
    stateDir,
    certDir: p.join(stateDir, "cert"),
    bcdStateDir: p.join(stateDir, "bcd"),
    vmDir: p.join(stateDir, "vm", vmName),
    vmName,
    project: p.resolve(root, config.project),
    platform: config.arch === "amd64" ? "x64" : "ARM64",
    stores: storeRels.map((rel) => ({ rel, path: p.join(mediaDir, ...rel.split("/")) })),
    injectDir: normalizeImagePath(config.injectDir, "injectDir"),
  };
}

export interface StackOutputs {
  isoPath: pulumi.Output<string>;
  isoSha256: pulumi.Output<string>;
  isoSize: pulumi.Output<number>;
  builtFiles: pulumi.Output<Record<string, { path: string; sha256: string; machine: string; signed: boolean }>>;
  /** The program databases beside the built files (the debugger's symbol path is their folder). */
  symbolFiles: pulumi.Output<Record<string, { path: string; sha256: string }>>;
  injectedFiles: pulumi.Output<Record<string, { sha256: string; size: number }>>;
  bcdSettings: pulumi.Output<Record<string, Record<string, string>>>;
  vmStartCommand: pulumi.Output<string> | string;
  bootCheck: pulumi.Output<string> | string;
  debuggerCommand: pulumi.Output<string> | string;
}

/**
 * Compose the stack's resources. `kdnetKey` is the KDNET key as a secret (or undefined when the stack does not
 * configure KDNET). Throws for a bad project (named) before any resource is registered.
 */
export function composeStack(config: StackConfig, root: string, stackName: string, holder: string): StackOutputs {
  const r = resolveStack(config, root, stackName);
  const toolchain = config.toolchain;

  // what the build produces, and a digest of each project's own inputs (no tool runs)
  const extra = { toolchain, configuration: config.configuration, platform: r.platform };
  let outputs: Array<{ outputName: string; outputPath: string; kind: "driver" | "application" }>;
  let revisions: Record<string, string>;
  if (toolchain === "open") {
    const plan = planBuild({ project: r.project, configuration: config.configuration, platform: r.platform });
    outputs = plan.projects;
    // keyed by the output's path inside the build folder (two projects may make files of the same name)
    revisions = projectRevisions(
      plan.projects.map((p) => ({ ...p, outputName: p.outputPath })),
      plan.rootDir,
      extra,
    );
  } else {
    // MSBuild builds it: read the project files without the open toolchain's checks
    const facts = readAdkProjectFacts(r.project, config.configuration, r.platform);
    outputs = facts.outputs.map((o) => ({ outputName: o.name, outputPath: o.name, kind: o.kind }));
    revisions = projectRevisions(
      facts.outputs.map((o) => ({
        outputName: o.name,
        config: { file: o.projectFile, projectDir: nodePath.dirname(o.projectFile), sources: [], headers: [] },
      })),
      nodePath.dirname(r.project),
      extra,
    );
  }
  // the project is read (and a bad one refused) before any resource is registered
  const cert = config.signing ? new TestCertificate("test-certificate", { toolchain, certDir: r.certDir }) : undefined;
  const build = new DriverBuild("driver-build", {
    toolchain,
    project: r.project,
    configuration: config.configuration,
    platform: r.platform,
    outDir: r.buildDir,
    signing: cert ? cert.signing : null,
    revisions,
  });

  const flags: Record<string, string> = {};
  for (const f of ["testsigning", "nointegritychecks", "debug", "bootdebug"] as const) {
    const v = config.bcd[f];
    if (v !== undefined) flags[f] = v ? "on" : "off";
  }
  const bcd = new BcdSettings("bcd-settings", {
    toolchain,
    stores: r.stores.map((s) => s.path),
    object: config.bcd.object,
    flags,
    kdnet: config.kdnet
      ? pulumi.secret({ hostIp: config.kdnet.hostIp, port: config.kdnet.port, key: config.kdnet.key })
      : undefined,
    stateDir: r.bcdStateDir,
    writer: config.bcd.writer,
  });

  const image = new MountedImage("boot-wim", {
    toolchain,
    wim: r.wim,
    index: config.imageIndex,
    mountDir: r.mountDir,
    holder,
  });

  const thumbprint = cert ? cert.thumbprint : pulumi.output("unsigned");
  const files: Record<string, { source: string; revision: pulumi.Output<string> }> = {};
  const p = toolchain === "adk" ? nodePath.win32 : nodePath.posix;
  for (const proj of outputs) {
    files[`${r.injectDir}/${proj.outputPath}`] = {
      source: p.join(r.buildDir, ...proj.outputPath.split("/")),
      revision: thumbprint.apply((t) => sha256(`${revisions[proj.outputPath]}:${proj.kind === "driver" ? t : ""}`)),
    };
  }
  const inject = new InjectedFiles(
    "injected-files",
    { mount: image.ref, files: pulumi.output(files) },
    { dependsOn: [build] },
  );
  const commit = new ImageCommit("image-commit", {
    mount: image.ref,
    files: inject.staged,
    contentHash: inject.contentHash,
  });

  // every other media file, by content (digests cached across runs by path, size, mtime, inode)
  const exclude = ["sources/boot.wim", ...r.stores.map((s) => s.rel)];
  const cache = new PersistentDigestCache(p.join(r.stateDir, "digests.json"));
  const mediaHash = mediaFingerprint(r.mediaDir, exclude, cache);
  cache.save();
  const contentHashes = pulumi.all([commit.wimSha256, bcd.storeHashes]).apply(([wim, stores]) => {
    const h: Record<string, string> = { "sources/boot.wim": wim, media: mediaHash };
    for (const s of r.stores) h[s.rel] = stores[s.path];
    return h;
  });
  const iso = new WinPeIso("winpe-iso", {
    toolchain,
    arch: config.arch,
    workspace: r.workspace,
    isoPath: r.isoPath,
    contentHashes,
  });

  let vmStartCommand: pulumi.Output<string> | string = "(vm.enabled is false)";
  let bootCheck: pulumi.Output<string> | string = "";
  if (config.vm.enabled) {
    const vm = new VmBootMedia("vm-boot-media", {
      toolchain,
      arch: config.arch,
      name: r.vmName,
      isoPath: iso.isoPath,
      isoSha256: iso.sha256,
      vmDir: r.vmDir,
      memoryMb: config.vm.memoryMb,
      createVm: config.vm.create,
      bootCheck: config.vm.bootCheck,
      bootPattern: config.vm.bootPattern,
      bootTimeoutSec: config.vm.bootTimeoutSec,
    });
    vmStartCommand = vm.startCommand;
    bootCheck = vm.bootCheckLine;
  }

  const debuggerCommand = config.kdnet
    ? pulumi.secret(`windbg -k net:port=${config.kdnet.port},key=${config.kdnet.key}`)
    : "(kdnet is not configured)";

  return {
    isoPath: iso.isoPath,
    isoSha256: iso.sha256,
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
  };
}
