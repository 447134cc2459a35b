/**
 * `DriverBuild`: the driver and its test app built from a Visual Studio solution or project. The same project
 * files drive both toolchains: adk runs MSBuild (with `nuget restore` when the project needs it); open reads the
 * `.vcxproj` and builds with clang/lld-link. `.sys` outputs are test-signed when a certificate is given.
 *
 * Update rebuilds only when an input changed (content hashes of sources, headers, project files, flags,
 * toolchain version; not timestamps); delete removes exactly the files it produced; refresh notices outputs
 * deleted or altered by hand.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { sha256, stableStringify } from "../runtime/digest";
import { providerShell } from "./providers/shell";
import type { SigningCert } from "./test-certificate";

export const DriverBuildArgsSchema = z
  .object({
    /** Which tools build. */
    toolchain: z.enum(["adk", "open"]),
    /**
     * The solution or project.
     * @example "/work/winpe-lab/examples/ioctl/ioctl.sln"
     */
    project: z.string().refine((p) => /\.(sln|vcxproj)$/i.test(p), "must be a .sln or .vcxproj file"),
    /** @default "Debug" */
    configuration: z.enum(["Debug", "Release"]).default("Debug"),
    /** Visual Studio platform name. */
    platform: z.enum(["x64", "ARM64"]),
    /** Folder that receives the outputs (flat, like MSBuild's OutDir). */
    outDir: z.string().min(1),
    /**
     * Our bookkeeping folder: the record of which output paths this build wrote (it never replaces or deletes a
     * file it did not write).
     * @default "<outDir>/.winpe-lab"
     */
    stateDir: z.string().min(1).optional(),
    /**
     * Cache of the open toolchain (patched headers, import libraries, start-up objects).
     * @default the user's cache folder (`$WINPE_LAB_CACHE`, else `~/.cache/winpe-lab`)
     */
    cacheDir: z.string().min(1).optional(),
    /** Test-sign `.sys` outputs with this certificate (TestCertificate's `signing`); null: no signing. */
    signing: z
      .object({ certPem: z.string(), keyPem: z.string(), thumbprint: z.string().min(1) })
      .strict()
      .nullable()
      .default(null),
    /**
     * Digests of each project's own inputs computed by the program (see {@link projectRevisions}), so preview
     * shows which project (and so which injected file) will change. Informational: the build itself re-hashes.
     */
    revisions: z.record(z.string(), z.string()).default({}),
  })
  .strict()
  .superRefine((a, ctx) => {
    const abs = a.toolchain === "adk" ? path.win32.isAbsolute : path.posix.isAbsolute;
    if (!abs(a.project)) ctx.addIssue({ code: "custom", path: ["project"], message: "must be an absolute path" });
    if (!abs(a.outDir)) ctx.addIssue({ code: "custom", path: ["outDir"], message: "must be an absolute path" });
  });

export type DriverBuildArgs = z.input<typeof DriverBuildArgsSchema>;

/** One produced file. */
export interface DriverBuildOutput {
  path: string;
  size: number;
  sha256: string;
  /** `x64` / `ARM64` (from the PE header). */
  machine: string;
  /** `native` / `console`. */
  subsystem: string;
  kind: "driver" | "application";
  signed: boolean;
  /** The project that produced it (relative to the solution folder). */
  project: string;
}

/** One produced program database (the open toolchain's `<TargetName>.pdb` beside its binary). */
export interface DriverBuildSymbols {
  path: string;
  size: number;
  sha256: string;
  /** The binary it describes, as keyed in `files`. */
  binary: string;
}

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

type Inputs<T> = { [K in keyof T]: pulumi.Input<T[K]> };

export class DriverBuild extends pulumi.dynamic.Resource {
  /** Produced binaries by path inside outDir (`sioctl.sys`, `ioctlapp.exe`). */
  declare readonly files: pulumi.Output<Record<string, DriverBuildOutput>>;
  /** Produced program databases by path inside outDir (`sioctl.pdb`): the debugger's symbols. */
  declare readonly symbols: pulumi.Output<Record<string, DriverBuildSymbols>>;
  /** Whether the output folder was created by this build (removed on delete when empty). */
  declare readonly outDirCreated: pulumi.Output<boolean>;
  /** sha256 over every input's content, the flags and the toolchain version. */
  declare readonly inputsHash: pulumi.Output<string>;
  declare readonly toolchainVersion: pulumi.Output<string>;
  /** Outputs found deleted or altered by the last refresh (rebuilt by the next up). */
  declare readonly drift: pulumi.Output<string[]>;

  constructor(
    name: string,
    args: Inputs<Omit<DriverBuildArgs, "signing">> & { signing?: pulumi.Input<SigningCert | null> },
    opts?: pulumi.CustomResourceOptions,
  ) {
    super(
      providerShell("driver-build"),
      name,
      {
        files: undefined,
        symbols: undefined,
        outDirCreated: undefined,
        inputsHash: undefined,
        inputs: undefined,
        toolchainVersion: undefined,
        drift: undefined,
        ...args,
      },
      { ...opts, additionalSecretOutputs: ["signing", ...(opts?.additionalSecretOutputs ?? [])] },
      "winpe-lab",
      "DriverBuild",
    );
  }
}
