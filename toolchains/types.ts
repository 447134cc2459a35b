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
  sha256: string;
  size: number;
  /** `update`: the ISO was changed in place (only what changed was written); `full`: written anew. */
  how: "full" | "update";
}

/** Writes the bootable ISO of a WinPE working folder (WinPeIso). */
export interface IsoBackend {
  readonly toolchain: Toolchain;
  /**
   * Write the ISO of `workspace` to `isoPath`, so that the ISO is the old one or the new one, never half of one:
   * through a temporary file beside it, fsynced and renamed; or, when `previous` names the ISO there (its sha256
   * as the stack's state records it) and the backend can, by an in-place update that ends in the same bytes and
   * is journaled (a killed update is finished or undone by {@link cleanInterrupted}). `noPrompt`: boot UEFI
   * without waiting for a key. `ctx.beforeInPlace` is called with the new ISO's sha256 before the first byte of an
   * in-place update is written (from then on, recovery makes that ISO).
   */
  write(
    a: {
      arch: "amd64" | "arm64";
      workspace: string;
      isoPath: string;
      noPrompt: boolean;
      previous?: { sha256: string };
    },
    ctx: StepContext & { beforeInPlace?: (sha256: string) => void },
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
