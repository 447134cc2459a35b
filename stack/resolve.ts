/**
 * Every path a stack uses, resolved from its validated config: the one place that says where a stack's files
 * live (working folder, media, WIM, mount folder, build outputs, ISO, our bookkeeping, caches). No Pulumi.
 */
import * as nodePath from "node:path";
import { normalizeImagePath } from "../formats/image-path";
import { userCacheDir } from "../runtime/paths";
import type { StackConfig } from "./config";

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
  /** The driver test's own folder (the Wine prefix, the image folder read out). */
  testDir: string;
  /** Driver Verifier's copies of the image's SYSTEM hive (the untouched one, restored on destroy). */
  verifierDir: string;
  vmDir: string;
  vmName: string;
  project: string;
  platform: "x64" | "ARM64";
  /** BCD stores to change, absolute, with their media-relative names. */
  stores: Array<{ path: string; rel: string }>;
  /** Folder in the image for the binaries, `A/B` form. */
  injectDir: string;
  /** The build's cache (shared by stacks: content-addressed, safe under concurrent builds). */
  buildCacheDir: string;
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
    testDir: p.join(stateDir, "test"),
    verifierDir: p.join(stateDir, "verifier"),
    vmDir: p.join(stateDir, "vm", vmName),
    vmName,
    project: p.resolve(root, config.project),
    platform: config.arch === "amd64" ? "x64" : "ARM64",
    stores: storeRels.map((rel) => ({ rel, path: p.join(mediaDir, ...rel.split("/")) })),
    injectDir: normalizeImagePath(config.injectDir, "injectDir"),
    buildCacheDir: userCacheDir("driver-build"),
  };
}
