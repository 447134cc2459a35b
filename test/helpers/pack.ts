/**
 * winpe-lab as a user gets it: `npm pack` run in a copy of the checkout's sources (so the package's dist/ is built
 * there by the `prepack` script and the checkout is never touched), the tarball installed with npm into a project
 * folder outside the checkout, from the npm registry (npm's cache first), like any dependency.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { runTool } from "../../runtime/exec";
import { REPO_ROOT } from "./pulumi";

/** Top-level entries of the checkout that are never part of a source copy (built, installed or scratch). */
const NOT_SOURCES = new Set(["node_modules", "dist", "dist.tmp", ".tools", ".work", ".pulumi-state", ".git"]);

/** The checkout's source files (tracked, and new ones not ignored), relative to it. */
async function sourceFiles(): Promise<string[]> {
  const r = await runTool("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: REPO_ROOT,
    env: { GIT_OPTIONAL_LOCKS: "0" },
    resource: "test/pack",
  });
  return r.stdout
    .split("\0")
    .filter((f) => f.length > 0 && !NOT_SOURCES.has(f.split("/")[0]!))
    .filter((f) => fs.existsSync(path.join(REPO_ROOT, f))) // a deleted, not yet committed file
    .sort();
}

/**
 * Copy the checkout's sources to `<dir>/src` (node_modules: a link to the checkout's, for the compiler), run
 * `npm pack` there and return the tarball's path (in `dir`).
 */
export async function packFromCopy(dir: string): Promise<string> {
  const src = path.join(dir, "src");
  for (const rel of await sourceFiles()) {
    const to = path.join(src, rel);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.copyFileSync(path.join(REPO_ROOT, rel), to);
    fs.chmodSync(to, fs.statSync(path.join(REPO_ROOT, rel)).mode & 0o777);
  }
  fs.symlinkSync(fs.realpathSync(path.join(REPO_ROOT, "node_modules")), path.join(src, "node_modules"));
  if (fs.existsSync(path.join(src, "dist"))) throw new Error("the source copy has a dist/ before npm pack");
  const r = await runTool("npm", ["pack", "--json", "--pack-destination", dir], {
    cwd: src,
    env: { npm_config_update_notifier: "false", npm_config_fund: "false", npm_config_audit: "false" },
    resource: "test/pack",
  });
  // the JSON array starts a line (npm may print the prepack script's banner before it)
  const info = JSON.parse(r.stdout.slice(r.stdout.search(/^\[/m))) as Array<{ filename: string }>;
  const tarball = path.join(dir, info[0]!.filename);
  if (!fs.existsSync(tarball)) throw new Error(`npm pack did not write ${tarball}`);
  return tarball;
}

/** The files in a tarball made by npm pack (`package/...` prefix removed), sorted. */
export async function tarballFiles(tarball: string): Promise<string[]> {
  const r = await runTool("tar", ["-tzf", tarball], { resource: "test/pack" });
  return r.stdout
    .split("\n")
    .filter((l) => l.length > 0 && !l.endsWith("/"))
    .map((l) => l.replace(/^package\//, ""))
    .sort();
}

/** `npm install` in a project folder (dependencies from its package.json), npm's cache first, then the registry. */
export async function npmInstall(projectDir: string): Promise<void> {
  await runTool("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], {
    cwd: projectDir,
    env: { npm_config_update_notifier: "false" },
    resource: "test/npm-install",
  });
}
