/**
 * `winpe build --survey <folder>`: build every Visual Studio solution under a folder with the open toolchain,
 * each of its projects on its own (so one project's refusal does not hide the others), for each platform, and
 * report one line per project and platform: built (with its outputs) or refused (with the one-line reason).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { readSln } from "../../formats/sln";
import { scratchDir } from "../../runtime/scratch";
import { type BuildConfiguration, type BuildPlatform, buildProject } from "./build";

/** Folders a survey never descends into. */
const SKIPPED = new Set([".git", ".svn", ".hg", ".vs", "node_modules", ".winpe-lab", "dist"]);

/** One line of a survey. */
export interface SurveyEntry {
  /** The solution, relative to the surveyed folder (POSIX). */
  solution: string;
  /** The project, relative to the surveyed folder (POSIX); "" when the solution itself could not be read. */
  project: string;
  platform: BuildPlatform;
  configuration: BuildConfiguration;
  /** `built`, `refused` (the open toolchain cannot build it: reason says why) or `skipped` (not built there). */
  status: "built" | "refused" | "skipped";
  /** Outputs relative to the project's output folder (binaries and PDBs), when built. */
  outputs: string[];
  /** One line: why it was refused or skipped. */
  reason: string;
}

/** Every `.sln` below `folder`, sorted. */
export function findSolutions(folder: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (!SKIPPED.has(e.name.toLowerCase())) walk(p);
      } else if (e.isFile() && /\.sln$/i.test(e.name)) out.push(p);
    }
  };
  walk(path.resolve(folder));
  return out.sort();
}

/** The reason of an error in one line: its first line, and for a compile failure the first error message. */
export function oneLineReason(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  const lines = text.split("\n").map((l) => l.trim());
  const first = lines[0] ?? "";
  const error = lines.slice(1).find((l) => /\berror:/.test(l));
  return error ? `${first} ${error}` : first;
}

/** The line printed for an entry. */
export function formatSurveyEntry(e: SurveyEntry): string {
  const what = `${e.solution}${e.project ? ` ${e.project}` : ""} ${e.configuration}|${e.platform}`;
  if (e.status === "built") return `${what}: built (${e.outputs.join(", ")})`;
  return `${what}: ${e.status} (${e.reason})`;
}

/**
 * Survey `folder`.
 *
 * @param opts.outDir keep the outputs in `<outDir>/<solution folder>/<configuration>-<platform>/` (default: a
 *   temporary folder, removed afterwards)
 * @param opts.onEntry called with each entry as soon as it is known (the CLI prints it)
 */
export async function surveyFolder(opts: {
  folder: string;
  configuration: BuildConfiguration;
  platforms: BuildPlatform[];
  outDir?: string;
  cacheDir?: string;
  resource?: string;
  onEntry?: (e: SurveyEntry) => void;
}): Promise<SurveyEntry[]> {
  const folder = path.resolve(opts.folder);
  if (!fs.existsSync(folder) || !fs.statSync(folder).isDirectory()) {
    throw new Error(`'--survey' ${folder} is not an existing folder`);
  }
  const rel = (p: string) => path.relative(folder, p).split(path.sep).join("/") || ".";
  const scratch = opts.outDir === undefined ? scratchDir("survey") : null;
  const base = opts.outDir !== undefined ? path.resolve(opts.outDir) : scratch!;
  const entries: SurveyEntry[] = [];
  const emit = (e: SurveyEntry) => {
    entries.push(e);
    opts.onEntry?.(e);
  };
  try {
    for (const sln of findSolutions(folder)) {
      let projects: string[];
      try {
        projects = readSln(sln)
          .projects.filter((p) => !p.isFolder)
          .map((p) => p.file);
      } catch (e) {
        for (const platform of opts.platforms) {
          emit({
            solution: rel(sln),
            project: "",
            platform,
            configuration: opts.configuration,
            status: "refused",
            outputs: [],
            reason: oneLineReason(e),
          });
        }
        continue;
      }
      for (const project of projects) {
        for (const platform of opts.platforms) {
          const entry: SurveyEntry = {
            solution: rel(sln),
            project: rel(project),
            platform,
            configuration: opts.configuration,
            status: "built",
            outputs: [],
            reason: "",
          };
          const outDir = path.join(base, rel(path.dirname(sln)), `${opts.configuration}-${platform}`);
          try {
            const r = await buildProject({
              project: sln,
              only: project,
              configuration: opts.configuration,
              platform,
              outDir,
              cacheDir: opts.cacheDir,
              resource: opts.resource ?? "winpe build --survey",
            });
            entry.outputs = [...r.outputs.map((o) => o.path), ...r.symbols.map((s) => s.path)].map((p) =>
              path.relative(outDir, p).split(path.sep).join("/"),
            );
          } catch (e) {
            const reason = oneLineReason(e);
            entry.status = /does not build .* in (Debug|Release)\|/.test(reason) ? "skipped" : "refused";
            entry.reason = reason;
          }
          emit(entry);
        }
      }
    }
  } finally {
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  }
  return entries;
}
