/**
 * The small interfaces resources use to get work done, so a resource does not know which tools run.
 * Two implementations: `open/` (Debian tools, run and tested here) and `adk/` (Windows tools; their command
 * lines are built by pure, tested functions and run only on Windows).
 */

import type { AdkCommand } from "./adk/types";

export type Toolchain = "adk" | "open";

/** Context every step gets: who runs it (for the tool log) and where progress goes. */
export interface StepContext {
  /** Resource name recorded in `WINPE_TOOL_LOG`. */
  resource: string;
  /** Progress lines of long steps. */
  onProgress?: (line: string) => void;
  /** Notices (recovered mounts, taken-over locks). */
  onNotice?: (message: string) => void;
}

/** A mounted (or, for the open toolchain, claimed) WIM image. */
export interface MountSpec {
  wim: string;
  index: number;
  /** The mount folder (adk: DISM's mount; open: the staging folder of pending changes). */
  mountDir: string;
  /** Our private bookkeeping folder for this mount (outside the mount folder and outside media/). */
  privateDir: string;
  /** Who holds it, for lock messages: e.g. `winpe-lab/demo-x64`. */
  holder: string;
}

export interface MountFacts {
  imageName: string;
  fileCount: number;
  compression: string;
}

export type MountState =
  | { state: "mounted" }
  | { state: "stale"; reason: string }
  | { state: "missing"; reason: string };

export interface ImageFileHash {
  sha1: string;
  size: number;
}

/**
 * A change to apply to the image at commit: add (from a staged or backed-up file), delete a file, or delete a folder
 * that we created and that holds nothing else of ours (`folder: true`).
 */
export type ImageChange =
  | { op: "add"; source: string; dest: string }
  | { op: "delete"; dest: string; folder?: boolean };

export interface ImageBackend {
  readonly toolchain: Toolchain;
  /** Validate the WIM and index and mount (adk) or claim (open) it. Leaves nothing behind on failure. */
  mount(m: MountSpec, ctx: StepContext): Promise<MountFacts>;
  /** What the mount is really like now (never throws for a stale mount: reports it). */
  status(m: MountSpec, ctx: StepContext): Promise<MountState>;
  /** Recover a stale mount (cleanup and mount again). */
  recover(m: MountSpec, ctx: StepContext): Promise<MountFacts>;
  /** Unmount, discarding what was not committed; leaves the mount folder empty. */
  unmount(m: MountSpec, ctx: StepContext): Promise<void>;
  /** Hashes of image paths as the image holds them now (committed content for open; the mount for adk). */
  imageFileHashes(
    m: MountSpec,
    dests: readonly string[],
    ctx: StepContext,
  ): Promise<Record<string, ImageFileHash | null>>;
  /**
   * The folders above `dests` (`Windows/Ioctl` for `Windows/Ioctl/x.sys`) that the image does not have: the ones
   * adding `dests` creates. Parents before children.
   */
  missingFolders(m: MountSpec, dests: readonly string[], ctx: StepContext): Promise<string[]>;
  /** Copy original image files (before they are replaced) into `dir`, keeping their folders. */
  backupOriginals(m: MountSpec, dests: readonly string[], dir: string, ctx: StepContext): Promise<void>;
  /** Put a file into the mount folder at `dest` (atomically). */
  stage(m: MountSpec, source: string, dest: string, ctx: StepContext): Promise<void>;
  /**
   * Take a staged file out of the mount folder. open: removes it from the staging folder (the WIM is changed
   * by commit). adk (the mount folder is the image): puts the backed-up original back, or removes the file.
   */
  unstage(m: MountSpec, dest: string, originalBackup: string | null, ctx: StepContext): Promise<void>;
  /** Write the changes into the WIM (keeps its compression, LZX for boot.wim). */
  commit(m: MountSpec, changes: readonly ImageChange[], ctx: StepContext): Promise<void>;
}

/** A test-signing certificate as a step made it. */
export interface CertMaterial {
  /** PEM; "" for adk (the certificate lives in the user's certificate store). */
  certPem: string;
  /** PEM private key (a secret); "" for adk (the key stays in the store). */
  keyPem: string;
  /** SHA-1, upper-case hex. */
  thumbprint: string;
  /** The public certificate as PEM in the certificate folder; "" when there is none (adk). */
  certFile: string;
  /** The same as DER (`.cer`). */
  cerFile: string;
}

/** Makes and removes the test-signing certificate (TestCertificate). */
export interface CertBackend {
  readonly toolchain: Toolchain;
  /** Make a certificate; its public files go to `certDir`. */
  create(a: { subject: string; certDir: string }, ctx: StepContext): Promise<CertMaterial>;
  /** Whether the certificate is still where it was put (open: its `.crt` holds it); refresh asks. */
  present(c: CertMaterial): boolean;
  /** Remove the certificate: its files while they hold it (a replacement may have written the same names). */
  remove(c: CertMaterial & { subject: string; certDir: string }, ctx: StepContext): Promise<void>;
}

/** What an ISO write produced, when the backend knows it without reading the ISO again. */
export interface IsoWritten {
  /** The ISO's tree digest (`sha256-1m:<hex>`, runtime/digest.ts `fileTreeDigest`). */
  digest: string;
  size: number;
  /** `update`: the ISO was changed in place (only what changed was written); `full`: written anew. */
  how: "full" | "update";
}

/** Writes the bootable ISO of a WinPE working folder (WinPeIso). */
export interface IsoBackend {
  readonly toolchain: Toolchain;
  /**
   * Write the ISO of `workspace` to `isoPath`, so that the ISO is the old one or the new one, never half of one:
   * through a temporary file beside it, fsynced and renamed; or, when `previous` names the ISO there (its digest
   * as the stack's state records it) and the backend can, by an in-place update that ends in the same bytes and
   * is journaled (a killed update is finished or undone by {@link cleanInterrupted}). `noPrompt`: boot UEFI
   * without waiting for a key. `ctx.beforeInPlace` is called with the new ISO's digest before the first byte of an
   * in-place update is written (from then on, recovery makes that ISO).
   */
  write(
    a: {
      arch: "amd64" | "arm64";
      workspace: string;
      isoPath: string;
      noPrompt: boolean;
      previous?: { digest: string };
    },
    ctx: StepContext & { beforeInPlace?: (digest: string) => void },
  ): Promise<IsoWritten | undefined>;
  /**
   * Remove what an interrupted write left beside `isoPath`, and finish (or undo) an interrupted in-place update;
   * returns what was done, for notices. Run under the ISO lock.
   */
  cleanInterrupted(isoPath: string): string[];
  /** Whether an interrupted in-place update of `isoPath` is pending (refresh reports it; nothing is written). */
  interrupted?(isoPath: string): string | undefined;
  /** Drop the backend's own bookkeeping of `isoPath` (delete). */
  forget?(a: { workspace: string; isoPath: string }): void;
}

/** What DriverBuild asks a toolchain to build. */
export interface BuildRequest {
  project: string;
  configuration: "Debug" | "Release";
  platform: "x64" | "ARM64";
  outDir: string;
  /** Cache of the open toolchain (patched headers, import libraries, objects). */
  cacheDir?: string;
  /** Test-sign the drivers with this certificate; null: no signing. */
  signing: { certPem: string; keyPem: string; thumbprint: string } | null;
  /**
   * What the previous build left in outDir (DriverBuild's recorded outputs). A toolchain that builds incrementally
   * (open) leaves a binary untouched (not linked, copied or signed again) when it would be linked the same way, its
   * files are still as they were left and, for a driver, it was signed with the certificate asked for now.
   * @default none
   */
  previous?: PreviousBuildOutput[];
}

/** A binary a previous build left in outDir (see {@link BuildRequest.previous}). */
export interface PreviousBuildOutput {
  path: string;
  /** sha256 of the file as it was left (signed). */
  sha256: string;
  /** The link key the toolchain reported for it ("" when unknown: it is built again). */
  linkKey: string;
  kind: "driver" | "application";
  /** Thumbprint of the certificate it was signed with; null when it was not signed. */
  signedWith: string | null;
  /** Its program database and that file's sha256. */
  pdb: { path: string; sha256: string } | null;
}

/** What a build produced. */
export interface BuildOutcome {
  /** Binaries (absolute paths in outDir), with the project that made each and its kind. */
  binaries: Array<{
    path: string;
    project: string;
    kind: "driver" | "application";
    /** What the binary's link is made of, hashed (open); "" or absent when the toolchain does not say. */
    linkKey?: string;
    /** Left as it was in outDir (nothing written, not signed again). */
    reused?: boolean;
  }>;
  /** Program databases (absolute paths) and the binary each describes. */
  symbols: Array<{ path: string; size: number; sha256: string; binary: string }>;
  /** sha256 over every input's content, the flags and the toolchain version ("" when not known). */
  inputsHash: string;
  /** Every input file with its sha256 when the build ran (what a diff re-hashes). */
  inputs: Array<{ path: string; sha256: string }>;
  /** The compiler's version line (`Debian clang version 14.0.6`, `msbuild`). */
  toolchainVersion: string;
  /** What the build did, for a progress line (`2 compiled, 5 from the cache, 1 linked, 1 unchanged`). */
  summary?: string;
}

/** Builds a driver solution or project (DriverBuild). */
export interface BuildBackend {
  readonly toolchain: Toolchain;
  /**
   * Build and (with `signing`) test-sign the drivers. `beforeWrite` is called with every file about to be written
   * to outDir, after everything is built and before the first write there (a caller refuses there).
   */
  build(
    r: BuildRequest,
    ctx: StepContext & { beforeWrite?: (targets: readonly string[]) => void | Promise<void> },
  ): Promise<BuildOutcome>;
  /**
   * The recorded inputs whose content is no longer what was built (no tool runs). `cacheDir`: the build's cache
   * folder (BuildRequest `cacheDir`), where a backend may keep what lets it skip reading unchanged files.
   */
  changedInputs(inputs: ReadonlyArray<{ path: string; sha256: string }>, cacheDir?: string): string[];
  /** Remove what an interrupted build left in outDir; returns what was removed. */
  cleanInterrupted(outDir: string): string[];
}

/* ----------------------------------------------------------------------------------------------------------
 * VM backend: the VM that boots the ISO, as a kernel-debug target
 * -------------------------------------------------------------------------------------------------------- */

/** How the host's kernel debugger reaches the VM. */
export type DebugTransport = "net" | "serial" | "gdb";

/**
 * The VM's side of a debug transport (what the VM needs; the KDNET key is not here: the VM never needs it).
 * - `net`: KDNET. The VM has a NIC that KDNET supports and reaches the debugger host at `hostIp`, UDP `port`.
 * - `serial`: KD over COM1 (open: a Unix socket under the VM's folder; adk: a named pipe).
 * - `gdb`: QEMU's gdbstub on a loopback TCP `port` (open only: Hyper-V has no gdbstub).
 */
export type VmDebugTarget =
  | { transport: "net"; hostIp: string; port: number }
  | { transport: "serial" }
  | { transport: "gdb"; port: number };

/** What a VM backend needs to know about the VM (VmBootMedia's args). */
export interface VmSpec {
  /** VM name (Hyper-V) or definition name (QEMU). */
  name: string;
  arch: "amd64" | "arm64";
  /** The ISO it boots. */
  isoPath: string;
  /** The ISO's digest (WinPeIso's `digest`, recorded in the definition; a change re-attaches). */
  isoDigest: string;
  /** open: the folder of the definition (firmware variables, vm.json, the COM1 socket, a running VM's files). */
  vmDir: string;
  memoryMb: number;
  /** adk: create the Hyper-V VM when it does not exist. */
  createVm: boolean;
  /** open: QEMU's accelerator (`kvm` needs a working /dev/kvm and the host's architecture). */
  accel: "tcg" | "kvm";
  /** adk + net: the Hyper-V virtual switch the VM's network adapter joins. */
  switchName?: string;
  /** Absent: the VM is no debug target (no NIC, COM1 is the console). */
  debug?: VmDebugTarget;
}

/** Where the host's debugger connects to a VM: what `winpe debug` and the `debuggerCommand` output use. */
export interface DebugEndpoint {
  transport: DebugTransport;
  /**
   * open: `kd` socket path (serial), KDNET listen address `127.0.0.1:<port>` (net), gdbstub `127.0.0.1:<port>`
   * (gdb); adk: the COM1 named pipe (serial) or `<hostIp>:<port>` (net).
   */
  connect: string;
}

/** The VM definition: how the VM is started, and where its debugger connects. */
export interface VmDefinition {
  /** The command that starts the VM interactively (open: QEMU with the console on stdio). */
  startArgv: string[];
  /** The same, for people (POSIX shell quoting for open, PowerShell for adk). */
  startCommand: string;
  /** Absent when the VM is no debug target. */
  debug?: DebugEndpoint;
}

/** What an attach did. */
export interface VmAttachResult {
  definition: VmDefinition;
  /** adk: this attach created the Hyper-V VM (so detach removes it). */
  createdVm: boolean;
  /** open: the console line the boot check saw ("" when it did not run). */
  bootCheckLine: string;
}

/** Boot-check options of {@link VmBackend.attach} (open only). */
export interface VmBootCheck {
  timeoutSec: number;
  /** Regular expression; default the stand-in's marker. */
  pattern?: string;
}

/** A VM started in the background (`winpe debug`), as its backend finds it. */
export interface RunningVm {
  pid: number;
  /** The transport it was started with ("none" when it is no debug target). */
  transport: DebugTransport | "none";
  /** Its console log. */
  consoleLog: string;
}

export interface VmBackend {
  readonly toolchain: Toolchain;
  /** The definition (pure: no file is read or written, no tool runs). */
  definition(spec: VmSpec): VmDefinition;
  /** Where the host's debugger connects (pure); undefined when the VM is no debug target. */
  debugEndpoint(spec: Pick<VmSpec, "name" | "vmDir" | "debug">): DebugEndpoint | undefined;
  /**
   * Make the VM boot the ISO: open writes the definition (a private copy of the firmware variables, vm.json) and
   * runs the boot check when asked; adk runs the Hyper-V commands of {@link VmBackend.commands}.
   * `createdVm`: whether an earlier attach created the VM.
   */
  attach(spec: VmSpec, createdVm: boolean, check: VmBootCheck | undefined, ctx: StepContext): Promise<VmAttachResult>;
  /** Whether the definition is still what `spec` says (never throws: reports). adk: assumed attached. */
  status(spec: VmSpec, ctx: StepContext): Promise<"attached" | "missing" | "detached">;
  /** Undo attach: open stops a VM it started and removes the definition; adk removes the VM it created, or ejects. */
  detach(spec: VmSpec, createdVm: boolean, ctx: StepContext): Promise<void>;
  /** adk: the commands attach (`action: "attach"`) or detach runs, for `winpe plan` and the provider. open: []. */
  commands(spec: VmSpec, action: "attach" | "detach", createdVm: boolean): AdkCommand[];
}

/**
 * Writes a BcdSettings resource's settings into its stores and puts them back (toolchains/bcd/module-writer.ts:
 * our module, any host; toolchains/adk/bcdedit-writer.ts: bcdedit, Windows only). Chosen by `writer`, not by the
 * toolchain: our module is the default on both.
 */
export interface BcdWriter {
  readonly writer: "module" | "bcdedit";
  /** Apply the settings to every store (starting from what was applied before), all or none; what was done. */
  apply(
    a: import("./bcd/settings").BcdWriteArgs,
    previous: Record<string, import("./bcd/settings").AppliedStore>,
    ctx: StepContext,
  ): Promise<Record<string, import("./bcd/settings").AppliedStore>>;
  /** Put one store back as it was before we changed it. */
  restore(
    file: string,
    applied: import("./bcd/settings").AppliedStore,
    object: string,
    ctx: StepContext,
  ): Promise<void>;
}

/** What the driver test runs: a program in an image folder, as the committed image holds it. */
export interface TestRunSpec {
  /** The committed WIM and image index the test's files come from. */
  wim: string;
  index: number;
  /** Who holds the WIM (the stack), for the operation lock while the files are read out. */
  holder: string;
  /** The image folder the command runs in (`Windows/Ioctl`). */
  folder: string;
  /** The program (a file in `folder`) and its arguments. */
  command: readonly string[];
  /** Seconds the command may run. */
  timeoutSec: number;
  /** The image's architecture. */
  arch: "amd64" | "arm64";
  /** The stack's own folder for the test (runner state such as a Wine prefix, the files read out). */
  workDir: string;
  /** Strings never shown (keys): redacted from the output, the tool log and messages. */
  secrets: readonly string[];
}

/** A test that ran (whatever its verdict), or one that could not run here and why (never a pass). */
export type TestRunOutcome =
  | {
      ran: true;
      /** The program's exit code; null when it was killed (time limit). */
      exitCode: number | null;
      /** Its output (standard output, then standard error), redacted. */
      output: string;
      durationMs: number;
      timedOut: boolean;
      /** What ran it, e.g. `wine-8.0 (Debian 8.0~repack-4), x64`. */
      runner: string;
    }
  | { ran: false; reason: string; runner: string };

/** Runs the driver test on this host (open: Wine; adk: not run, the VM runs it). */
export interface TestBackend {
  readonly toolchain: Toolchain;
  /**
   * Why the test cannot run here for an image of `arch` (no tool runs: `diff` asks it), or undefined when it can.
   */
  cannotRun(arch: "amd64" | "arm64"): string | undefined;
  /** Run the test: read the folder out of the committed image and run the command there. */
  run(spec: TestRunSpec, ctx: StepContext): Promise<TestRunOutcome>;
  /** Remove what `run` left in `workDir` (and end any process it left). */
  clean(workDir: string, ctx: StepContext): Promise<void>;
}
