/**
 * What a no-change check of a driver build needs, without loading the build (toolchains/open/build.ts): whether
 * the files an earlier build read are still what it read, and where builds keep their cache. The provider's diff
 * runs on every `up`; this module keeps it to a stat per input when the build vouched for them.
 */
import * as path from "node:path";
import { changedFiles } from "../../runtime/digest";
import { userCacheDir } from "../../runtime/paths";

/** One hashed input file. */
export interface BuildInputFile {
  /** Absolute path. */
  path: string;
  /** sha256 (hex) of its content when the build ran. */
  sha256: string;
}

/** Default cache folder when the caller passes none (the `winpe build` command); stacks pass their own. */
export function defaultBuildCacheDir(): string {
  return userCacheDir("driver-build");
}

/**
 * Check the files of an earlier build's `inputs` (no tools run): a file whose identity (inode, size, times) is
 * the one the build vouched for in `cacheDir` is not read, any other is hashed again. A changed, missing or
 * unreadable file is reported. The flags and toolchain version are not re-checked here.
 *
 * @returns the paths whose content differs from the recorded sha256
 */
export function changedInputs(inputs: readonly BuildInputFile[], cacheDir?: string): string[] {
  return changedFiles(inputs, inputVouchersDir(cacheDir ?? defaultBuildCacheDir()));
}

/** Where a build leaves the identities of its inputs for {@link changedInputs} (runtime/digest.ts `vouchFor`). */
export function inputVouchersDir(cacheDir: string): string {
  return path.join(path.resolve(cacheDir), "input-vouchers");
}
