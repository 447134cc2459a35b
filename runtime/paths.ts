/**
 * The one place that knows where things are: the package's own files (support sources such as the stand-in EFI
 * application), and the default cache folder. Everything else is passed in by the caller: a stack's folders come
 * from its config (`resources/stack.ts`), a cache folder is an argument of the step that uses it.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

let root: string | undefined;

/**
 * The folder holding winpe-lab's `package.json` (a checkout, or `node_modules/winpe-lab` when installed): found
 * from this module's own location, so it is the same whether the code runs from TypeScript sources or `dist/`.
 */
export function packageRoot(): string {
  if (root !== undefined) return root;
  let dir = __dirname;
  for (;;) {
    const pkg = path.join(dir, "package.json");
    if (fs.existsSync(pkg)) {
      try {
        if ((JSON.parse(fs.readFileSync(pkg, "utf8")) as { name?: string }).name === "winpe-lab") {
          root = dir;
          return dir;
        }
      } catch {
        // not ours: keep looking
      }
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`winpe-lab: cannot find the package folder (package.json) above ${__dirname}`);
    dir = up;
  }
}

/** A file shipped with the package, by its path inside the package (`toolchains/open/efi/standin.c`). */
export function packageFile(...parts: string[]): string {
  return path.join(packageRoot(), ...parts);
}

/**
 * The default cache folder of a user's commands (`winpe build`, `winpe copype`) when none is given:
 * `$WINPE_LAB_CACHE`, else `$XDG_CACHE_HOME/winpe-lab`, else `~/.cache/winpe-lab`. Stacks never use it: their
 * caches live in the working folder's `.winpe-lab/cache` (`resources/stack.ts`).
 */
export function userCacheDir(...parts: string[]): string {
  const base =
    process.env.WINPE_LAB_CACHE ||
    path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "winpe-lab");
  return path.join(base, ...parts);
}
