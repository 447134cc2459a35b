/**
 * What a stack's build produces and what each output is made from, known before anything is built (no tool runs):
 * the one project reader (formats/project.ts) for both toolchains, the open toolchain's buildability checks on top
 * of it (planBuild), and a revision per output computed the same way for both, so preview names the one output
 * (and so the one injected file) an edit changes, on Linux and on Windows. No Pulumi.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { sha256, stableStringify } from "../runtime/digest";
import { readAdkProjectFacts } from "../toolchains/adk/plan";
import { planBuild } from "../toolchains/open/build";

/**
 * The digest of each project's own inputs, computed without running a tool: the project file, its sources and
 * the headers in its project folder and include folders inside the solution tree, plus configuration, platform
 * and `extra` (e.g. the signing certificate's thumbprint). Keyed by output file name (`sioctl.sys`).
 */
export function projectRevisions(
  projects: ReadonlyArray<{
    outputName: string;
    config: {
      file: string;
      projectDir: string;
      sources: ReadonlyArray<{ file: string; settings: { additionalIncludeDirectories: readonly string[] } }>;
      headers: readonly string[];
    };
  }>,
  rootDir: string,
  extra: Record<string, string>,
): Record<string, string> {
  const out: Record<string, string> = {};
  const inTree = (p: string) => path.resolve(p).startsWith(path.resolve(rootDir) + path.sep);
  for (const p of projects) {
    const files = new Set<string>([p.config.file, ...p.config.headers, ...p.config.sources.map((s) => s.file)]);
    const dirs = new Set<string>([p.config.projectDir]);
    for (const s of p.config.sources)
      for (const d of s.settings.additionalIncludeDirectories) if (inTree(d)) dirs.add(d);
    for (const d of dirs) {
      let names: string[] = [];
      try {
        names = fs.readdirSync(d);
      } catch {
        continue;
      }
      for (const n of names) if (/\.(h|hpp|inl)$/i.test(n)) files.add(path.join(d, n));
    }
    const view: Array<[string, string]> = [];
    for (const f of [...files].sort()) {
      let digest = "missing";
      try {
        digest = sha256(fs.readFileSync(f));
      } catch {
        // a missing file is part of the digest; the build reports it clearly
      }
      view.push([path.relative(rootDir, f).split(path.sep).join("/"), digest]);
    }
    out[p.outputName] = sha256(stableStringify({ files: view, extra }));
  }
  return out;
}

/** One output of the build, by its path inside the build folder (`sioctl.sys`, or `sys/x.sys` when names clash). */
export interface ProjectOutput {
  /** `<TargetName><TargetExt>`. */
  outputName: string;
  /** Its path inside the build folder (POSIX). */
  outputPath: string;
  kind: "driver" | "application";
}

/**
 * The outputs of `project` for `configuration|platform` with the revision of each (keyed by output path), read
 * with the toolchain's view: open plans the build (refusing what clang/lld cannot build, naming file and line);
 * adk reads the projects as MSBuild would build them. `extra` joins every revision (toolchain, configuration, ...).
 * @throws ProjectFormatError / BuildError naming the file for a project that cannot be read or built
 */
export function projectOutputs(
  toolchain: "adk" | "open",
  project: string,
  configuration: "Debug" | "Release",
  platform: "x64" | "ARM64",
  extra: Record<string, string>,
): { outputs: ProjectOutput[]; revisions: Record<string, string> } {
  if (toolchain === "open") {
    const plan = planBuild({ project, configuration, platform });
    return {
      outputs: plan.projects.map((p) => ({ outputName: p.outputName, outputPath: p.outputPath, kind: p.kind })),
      revisions: projectRevisions(
        plan.projects.map((p) => ({ outputName: p.outputPath, config: p.config })),
        plan.rootDir,
        extra,
      ),
    };
  }
  const facts = readAdkProjectFacts(project, configuration, platform);
  return {
    outputs: facts.outputs.map((o) => ({ outputName: o.name, outputPath: o.name, kind: o.kind })),
    revisions: projectRevisions(
      facts.outputs.map((o) => ({
        outputName: o.name,
        config: o.config ?? { file: o.projectFile, projectDir: path.dirname(o.projectFile), sources: [], headers: [] },
      })),
      path.dirname(path.resolve(project)),
      extra,
    ),
  };
}
