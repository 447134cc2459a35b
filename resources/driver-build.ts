/**
 * `DriverBuild`: the driver and its test app built from a Visual Studio solution or project. The same project
 * files drive both toolchains: adk runs MSBuild (with `nuget restore` when the project needs it); open reads the
 * `.vcxproj` and builds with clang/lld-link. `.sys` outputs are test-signed when a certificate is given.
 *
 * Update rebuilds only when an input changed (content hashes of sources, headers, project files, flags,
 * toolchain version; not timestamps), and then only what the change affects (open: the translation units that read
 * a changed file, the binaries whose link changed; a binary whose link is the same is not written or signed again);
 * delete removes exactly the files it produced; refresh notices outputs deleted or altered by hand.
 */
import * as path from "node:path";
import { z } from "zod";
import { declare, resourceClass } from "./declare";
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
     * Cache of the open toolchain (compiled objects and resources, patched headers, import libraries, start-up
     * objects): content-addressed, shared by stacks, bounded (least recently used entries beyond 1 GiB go).
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

/** One produced binary. */
export const DriverBuildOutputSchema = z
  .object({
    path: z.string(),
    size: z.number().int(),
    sha256: z.string(),
    /** `x64` / `ARM64` (from the PE header). */
    machine: z.string(),
    /** `native` / `console`. */
    subsystem: z.string(),
    kind: z.enum(["driver", "application"]),
    signed: z.boolean(),
    /** The project that produced it (relative to the solution folder). */
    project: z.string(),
    /**
     * What its link was made of, hashed (open toolchain: objects, resources, libraries, flags, linker): the next
     * build leaves the file as it is while this stays the same ("" when unknown: adk, or a state of before).
     */
    linkKey: z.string(),
  })
  .strict();
export type DriverBuildOutput = z.output<typeof DriverBuildOutputSchema>;

/** One produced program database (`<TargetName>.pdb` beside its binary). */
export const DriverBuildSymbolsSchema = z
  .object({
    path: z.string(),
    size: z.number().int(),
    sha256: z.string(),
    /** The binary it describes, as keyed in `files`. */
    binary: z.string(),
  })
  .strict();
export type DriverBuildSymbols = z.output<typeof DriverBuildSymbolsSchema>;

export { projectRevisions } from "../stack/project";

export const DriverBuildDecl = declare({
  type: "DriverBuild",
  provider: "driver-build",
  // version 2: each file records its linkKey (incremental builds)
  version: 2,
  migrations: {
    1: (state) => {
      const files = (state.files ?? {}) as Record<string, Record<string, unknown>>;
      return {
        ...state,
        files: Object.fromEntries(Object.entries(files).map(([k, f]) => [k, { ...f, linkKey: "" }])),
      };
    },
  },
  args: DriverBuildArgsSchema,
  outputs: {
    /** Produced binaries by path inside outDir (`sioctl.sys`, `ioctlapp.exe`). */
    files: z.record(z.string(), DriverBuildOutputSchema),
    /** Produced program databases by path inside outDir (`sioctl.pdb`): the debugger's symbols. */
    symbols: z.record(z.string(), DriverBuildSymbolsSchema).default({}),
    /** Whether the output folder was created by this build (removed on delete when empty). */
    outDirCreated: z.boolean().default(true),
    /** sha256 over every input's content, the flags and the toolchain version. */
    inputsHash: z.string(),
    /** Every input file with its sha256 when the build ran: diff re-hashes them, no tool runs. */
    inputs: z.array(z.object({ path: z.string(), sha256: z.string() }).strict()),
    toolchainVersion: z.string(),
    /** Outputs found deleted or altered by the last refresh (rebuilt by the next up). */
    drift: z.array(z.string()),
  },
  // the certificate is compared by thumbprint (providers/driver-build.ts); stateDir and cacheDir are where we
  // keep bookkeeping and caches: moving them changes no output
  updateOn: ["toolchain", "project", "configuration", "platform", "revisions"],
  replaceOn: ["outDir"],
  secrets: ["signing"],
});

/** DriverBuild: `signing` takes TestCertificate's `signing` output (or null). */
export class DriverBuild extends resourceClass(DriverBuildDecl) {}

export type { SigningCert };
