/**
 * The small interfaces resources use to get work done, so a resource does not know which tools run.
 * Two implementations: `open/` (Debian tools, run and tested here) and `adk/` (Windows tools; their command
 * lines are built by pure, tested functions and run only on Windows).
 */

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
