/**
 * One reader of a driver project for both toolchains: a `.sln` (the projects it builds in a configuration|platform,
 * dependencies first) or a single `.vcxproj`, each evaluated into a {@link VcxConfiguration} (sources, headers,
 * include folders, target name and type). The open toolchain adds its own kit properties and buildability checks
 * on top (toolchains/open/build.ts planBuild); the adk toolchain reads the same projects for their outputs
 * (toolchains/adk/plan.ts); the program computes each project's revision from the same sources and headers for
 * both (resources/driver-build.ts projectRevisions). No Pulumi, no tools.
 */
import * as path from "node:path";
import { readSln, type SlnProject, solutionBuildPlan } from "./sln";
import {
  type EvaluateOptions,
  evaluateVcxproj,
  ProjectFormatError,
  readVcxproj,
  resolveCaseInsensitive,
  type VcxConfiguration,
} from "./vcxproj";

/** One project of a build: its solution entry (when read from a .sln) and, for a .vcxproj, its evaluation. */
export interface ProjectEntry {
  /** The project file (absolute). */
  file: string;
  /** The solution's line for it, when read from a .sln. */
  solutionProject?: SlnProject;
  /** The configuration|platform the solution maps the build to (or the build's own for a lone .vcxproj). */
  configuration: string;
  platform: string;
  /** The evaluated project; undefined for a project that is not a .vcxproj (a C# or packaging project). */
  config?: VcxConfiguration;
}

export interface ProjectRead {
  /** The .sln or .vcxproj (absolute). */
  project: string;
  /** Its folder: relative inputs are reported against it. */
  rootDir: string;
  /** The solution, when the input is one. */
  solution?: { file: string; dir: string; name: string };
  entries: ProjectEntry[];
}

/** Evaluation options a toolchain adds (its kit properties and checks). */
export type ReadOptions = Omit<EvaluateOptions, "configuration" | "platform" | "solutionDir" | "solutionName">;

/**
 * Read `project` for `configuration|platform`: the solution's projects built in it (dependencies first), each
 * `.vcxproj` evaluated with `options`.
 * @throws ProjectFormatError naming the file (and line) of what cannot be read
 */
export function readProject(
  project: string,
  configuration: string,
  platform: string,
  options: ReadOptions = {},
  /** Of a solution, read only this project (the others are not evaluated: what they say cannot refuse it). */
  only?: string,
): ProjectRead {
  const file = path.resolve(project);
  if (/\.sln$/i.test(file)) {
    const sln = readSln(file);
    const planned = solutionBuildPlan(sln, configuration, platform).filter(
      (e) => only === undefined || path.resolve(e.project.file) === path.resolve(only),
    );
    const entries: ProjectEntry[] = planned.map((e) => ({
      file: e.project.file,
      solutionProject: e.project,
      configuration: e.configuration,
      platform: e.platform,
      config: /\.vcxproj$/i.test(e.project.file)
        ? evaluateVcxproj(readVcxproj(resolveCaseInsensitive(e.project.file)), {
            configuration: e.configuration,
            platform: e.platform,
            solutionDir: sln.dir,
            solutionName: sln.name,
            ...options,
          })
        : undefined,
    }));
    return { project: file, rootDir: path.dirname(file), solution: { file, dir: sln.dir, name: sln.name }, entries };
  }
  if (!/\.vcxproj$/i.test(file)) throw new ProjectFormatError(`${file}: not a .sln or .vcxproj`, file);
  const config = evaluateVcxproj(readVcxproj(file), { configuration, platform, ...options });
  return { project: file, rootDir: path.dirname(file), entries: [{ file, configuration, platform, config }] };
}
