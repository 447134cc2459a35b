/**
 * Visual Studio solution files (.sln, "Format Version 12.00"): the projects they list and how each
 * solution configuration (`Debug|x64`) maps to a project configuration and whether the project is built.
 * Line-oriented and strict: a malformed line is an error naming the file and line. No Pulumi imports.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { ProjectFormatError, toPosixPath } from "./vcxproj";

/** Project type GUIDs that matter here. */
export const SLN_PROJECT_TYPES = {
  /** Visual C++ (.vcxproj). */
  vcxproj: "{8BC9CEB8-8B4A-11D0-8D11-00A0C91BC942}",
  /** Solution folder (no project file). */
  solutionFolder: "{2150E333-8FDC-42A3-9474-1A3956D46DE8}",
} as const;

/** One `Project(...) = "name", "path", "{guid}"` entry. */
export interface SlnProject {
  /** Project type GUID (upper-case, braces). */
  typeGuid: string;
  /** Display name. */
  name: string;
  /** Path as written in the solution (Windows separators). */
  relativePath: string;
  /** Absolute POSIX path of the project file (for solution folders: the solution folder itself). */
  file: string;
  /** Project GUID (upper-case, braces). */
  guid: string;
  /** True for solution folders, which have no project file. */
  isFolder: boolean;
  /** GUIDs from `ProjectSection(ProjectDependencies)`. */
  dependencies: string[];
  /** 1-based line of the `Project(` line. */
  line: number;
}

/** Mapping of one project for one solution configuration. */
export interface SlnProjectConfiguration {
  /** Project configuration name (`ActiveCfg` left of `|`). */
  configuration: string;
  /** Project platform (`ActiveCfg` right of `|`). */
  platform: string;
  /** `Build.0` present: the project is built in this solution configuration. */
  build: boolean;
  /** `Deploy.0` present. */
  deploy: boolean;
}

/** A parsed solution. */
export interface Solution {
  /** Absolute path of the .sln. */
  file: string;
  /** Folder of the .sln ($(SolutionDir)). */
  dir: string;
  /** Name without extension ($(SolutionName)). */
  name: string;
  /** `Format Version` (e.g. `12.00`). */
  formatVersion: string;
  projects: SlnProject[];
  /** Solution configurations (`SolutionConfigurationPlatforms`), in file order, as `Debug|x64`. */
  configurations: string[];
  /** project GUID -> solution configuration (`Debug|x64`) -> project configuration. */
  projectConfigurations: Record<string, Record<string, SlnProjectConfiguration>>;
}

function fail(file: string, line: number | undefined, message: string, feature?: string): never {
  throw new ProjectFormatError(`${line !== undefined ? `${file}:${line}` : file}: ${message}`, file, line, feature);
}

const GUID = /^\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}$/;
const PROJECT_LINE = /^Project\("(\{[^"]+\})"\)\s*=\s*"([^"]*)"\s*,\s*"([^"]*)"\s*,\s*"(\{[^"]+\})"\s*$/;

/**
 * Parse solution text.
 *
 * @param text contents of the .sln
 * @param file absolute path of the .sln (for messages and to resolve project paths)
 * @throws ProjectFormatError naming the file and line of the first malformed line
 */
export function parseSln(text: string, file: string): Solution {
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  const dir = path.dirname(file);
  let formatVersion = "";
  const projects: SlnProject[] = [];
  const configurations: string[] = [];
  const projectConfigurations: Record<string, Record<string, SlnProjectConfiguration>> = {};
  type State = "top" | "project" | "projectSection" | "global" | "globalSection";
  let state: State = "top";
  let current: SlnProject | undefined;
  let sectionName = "";
  let sawGlobal = false;

  for (let idx = 0; idx < lines.length; idx++) {
    const lineNo = idx + 1;
    const raw = lines[idx]!;
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    switch (state) {
      case "top": {
        const fv = /^Microsoft Visual Studio Solution File, Format Version (\d+\.\d+)$/.exec(line);
        if (fv) {
          if (formatVersion) fail(file, lineNo, "second solution header");
          formatVersion = fv[1]!;
          continue;
        }
        if (!formatVersion) {
          fail(
            file,
            lineNo,
            "not a Visual Studio solution: the first line must be 'Microsoft Visual Studio Solution File, Format Version 12.00'",
          );
        }
        if (/^(VisualStudioVersion|MinimumVisualStudioVersion)\s*=/.test(line)) continue;
        if (line.startsWith("Project(")) {
          const m = PROJECT_LINE.exec(line);
          if (!m) fail(file, lineNo, `malformed Project line: ${line}`);
          const [, typeGuid, name, rel, guid] = m;
          if (!GUID.test(typeGuid!) || !GUID.test(guid!)) fail(file, lineNo, `malformed GUID in: ${line}`);
          const isFolder = typeGuid!.toUpperCase() === SLN_PROJECT_TYPES.solutionFolder;
          current = {
            typeGuid: typeGuid!.toUpperCase(),
            name: name!,
            relativePath: rel!,
            file: path.resolve(dir, toPosixPath(rel!)),
            guid: guid!.toUpperCase(),
            isFolder,
            dependencies: [],
            line: lineNo,
          };
          if (projects.some((p) => p.guid === current!.guid)) fail(file, lineNo, `project GUID ${guid} appears twice`);
          projects.push(current);
          state = "project";
          continue;
        }
        if (line === "Global") {
          if (sawGlobal) fail(file, lineNo, "second Global block");
          sawGlobal = true;
          state = "global";
          continue;
        }
        fail(file, lineNo, `unexpected line: ${line}`);
        break;
      }
      case "project": {
        if (line === "EndProject") {
          state = "top";
          current = undefined;
          continue;
        }
        const ps = /^ProjectSection\(([A-Za-z]+)\)\s*=\s*(preProject|postProject)$/.exec(line);
        if (ps) {
          sectionName = ps[1]!;
          state = "projectSection";
          continue;
        }
        fail(file, lineNo, `unexpected line inside Project: ${line}`);
        break;
      }
      case "projectSection": {
        if (line === "EndProjectSection") {
          state = "project";
          continue;
        }
        const kv = /^(.+?)\s*=\s*(.*)$/.exec(line);
        if (!kv) fail(file, lineNo, `malformed line in ProjectSection(${sectionName}): ${line}`);
        if (sectionName === "ProjectDependencies") {
          if (!GUID.test(kv[1]!)) fail(file, lineNo, `malformed dependency GUID: ${kv[1]}`);
          current!.dependencies.push(kv[1]!.toUpperCase());
        }
        continue;
      }
      case "global": {
        if (line === "EndGlobal") {
          state = "top";
          continue;
        }
        const gs = /^GlobalSection\(([A-Za-z]+)\)\s*=\s*(preSolution|postSolution)$/.exec(line);
        if (gs) {
          sectionName = gs[1]!;
          state = "globalSection";
          continue;
        }
        fail(file, lineNo, `unexpected line inside Global: ${line}`);
        break;
      }
      case "globalSection": {
        if (line === "EndGlobalSection") {
          state = "global";
          continue;
        }
        const kv = /^(.+?)\s*=\s*(.*)$/.exec(line);
        if (!kv) fail(file, lineNo, `malformed line in GlobalSection(${sectionName}): ${line}`);
        const key = kv[1]!.trim();
        const value = kv[2]!.trim();
        if (sectionName === "SolutionConfigurationPlatforms") {
          if (!/^[^|]+\|[^|]+$/.test(key))
            fail(file, lineNo, `solution configuration '${key}' is not Configuration|Platform`);
          if (!configurations.includes(key)) configurations.push(key);
        } else if (sectionName === "ProjectConfigurationPlatforms") {
          const m = /^(\{[^}]+\})\.([^|]+\|[^.]+)\.(ActiveCfg|Build\.0|Deploy\.0)$/.exec(key);
          if (!m) fail(file, lineNo, `malformed project configuration line: ${line}`);
          const guid = m[1]!.toUpperCase();
          const solCfg = m[2]!;
          const perProject = projectConfigurations[guid] ?? {};
          projectConfigurations[guid] = perProject;
          const entry = perProject[solCfg] ?? { configuration: "", platform: "", build: false, deploy: false };
          perProject[solCfg] = entry;
          if (m[3] === "ActiveCfg") {
            const [c, p, extra] = value.split("|");
            if (!c || !p || extra !== undefined)
              fail(file, lineNo, `ActiveCfg '${value}' is not Configuration|Platform`);
            entry.configuration = c;
            entry.platform = p;
          } else if (m[3] === "Build.0") {
            entry.build = true;
          } else {
            entry.deploy = true;
          }
        }
        continue;
      }
    }
  }
  if (!formatVersion) fail(file, undefined, "not a Visual Studio solution: the solution header is missing");
  if (state !== "top") {
    const what = state === "project" || state === "projectSection" ? "EndProject" : "EndGlobal";
    fail(file, lines.length, `unexpected end of file: missing ${what}`);
  }
  return {
    file,
    dir,
    name: path.basename(file).replace(/\.[^.]*$/, ""),
    formatVersion,
    projects,
    configurations,
    projectConfigurations,
  };
}

/**
 * Read and parse a .sln file.
 *
 * @throws ProjectFormatError when the file is missing or malformed
 */
export function readSln(file: string): Solution {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = fs.readFileSync(abs, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") fail(abs, undefined, "solution file not found");
    fail(abs, undefined, `cannot read the solution file: ${(e as Error).message}`);
  }
  return parseSln(text, abs);
}

/** One project to build for a solution configuration. */
export interface SolutionBuildEntry {
  project: SlnProject;
  /** Project configuration to use (from ActiveCfg). */
  configuration: string;
  /** Project platform to use (from ActiveCfg). */
  platform: string;
}

/**
 * The projects a solution builds for `configuration|platform` (projects with `Build.0`), in solution
 * order with dependencies first.
 *
 * @throws ProjectFormatError when the solution lacks that configuration, or a built project has no mapping
 */
export function solutionBuildPlan(sln: Solution, configuration: string, platform: string): SolutionBuildEntry[] {
  const wanted = `${configuration}|${platform}`.toLowerCase();
  const solCfg = sln.configurations.find((c) => c.toLowerCase() === wanted);
  if (!solCfg) {
    const platforms = [...new Set(sln.configurations.map((c) => c.split("|")[1]))];
    const lacksPlatform = !platforms.some((p) => p?.toLowerCase() === platform.toLowerCase());
    fail(
      sln.file,
      undefined,
      lacksPlatform
        ? `the solution has no platform '${platform}' (it has: ${platforms.join(", ") || "none"})`
        : `the solution has no configuration '${configuration}|${platform}' (it has: ${sln.configurations.join(", ") || "none"})`,
      lacksPlatform ? "platform" : "configuration",
    );
  }
  const entries: SolutionBuildEntry[] = [];
  for (const project of sln.projects) {
    if (project.isFolder) continue;
    const map = sln.projectConfigurations[project.guid]?.[solCfg];
    if (!map?.build) continue;
    if (!map.configuration) {
      fail(sln.file, project.line, `project '${project.name}' has Build.0 but no ActiveCfg for ${solCfg}`);
    }
    entries.push({ project, configuration: map.configuration, platform: map.platform });
  }
  // Order: dependencies first (stable otherwise).
  const byGuid = new Map(entries.map((e) => [e.project.guid, e]));
  const ordered: SolutionBuildEntry[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (e: SolutionBuildEntry) => {
    const s = state.get(e.project.guid);
    if (s === "done") return;
    if (s === "visiting") fail(sln.file, e.project.line, `project dependency cycle through '${e.project.name}'`);
    state.set(e.project.guid, "visiting");
    for (const dep of e.project.dependencies) {
      const d = byGuid.get(dep);
      if (d) visit(d);
    }
    state.set(e.project.guid, "done");
    ordered.push(e);
  };
  for (const e of entries) visit(e);
  return ordered;
}
