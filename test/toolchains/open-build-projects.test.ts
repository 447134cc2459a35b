/**
 * The open toolchain on winpe-lab's own test projects (test/fixtures/projects, one per feature of an unmodified
 * WDK project: see its README): each built with the real tools for x64 and ARM64, checked with independent
 * readers (llvm-readobj, llvm-pdbutil, osslsigncode-free byte checks of resources) and, for x64 applications,
 * run under Wine. Nothing here needs ../shared.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readPeHeaders } from "../../formats/pe";
import { ProjectFormatError } from "../../formats/vcxproj";
import { runTool } from "../../runtime/exec";
import { type BuildResult, buildProject, pchUseView, planBuild, writePeChecksum } from "../../toolchains/open/build";
import { formatSurveyEntry, surveyFolder } from "../../toolchains/open/survey";
import { runAppUnderWine } from "../helpers/wine";

const REPO = path.resolve(__dirname, "..", "..");
const PROJECTS = path.join(REPO, "test", "fixtures", "projects");
const RESOURCE = "test/open-build-projects";
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "winpe-projects-"));
const cacheDir = path.join(scratch, "cache");
const PLATFORMS = ["x64", "ARM64"] as const;
type Platform = (typeof PLATFORMS)[number];

afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

const builds = new Map<string, Promise<BuildResult & { outDir: string; progress: string[] }>>();

/** Build a test project once per platform/configuration (the tests of a feature share it). */
function build(
  project: string,
  platform: Platform,
  configuration: "Debug" | "Release" = "Debug",
): Promise<BuildResult & { outDir: string; progress: string[] }> {
  const key = `${project}|${platform}|${configuration}`;
  let b = builds.get(key);
  if (!b) {
    const outDir = path.join(scratch, "out", project.replace(/[/.]/g, "_"), `${configuration}-${platform}`);
    const progress: string[] = [];
    b = buildProject({
      project: path.join(PROJECTS, project),
      configuration,
      platform,
      outDir,
      cacheDir,
      resource: RESOURCE,
      onProgress: (l) => progress.push(l),
    }).then((r) => ({ ...r, outDir, progress }));
    builds.set(key, b);
  }
  return b;
}

async function readobj(args: string[], file: string): Promise<string> {
  return (await runTool("llvm-readobj", [...args, file], { resource: RESOURCE })).stdout;
}

async function imports(file: string): Promise<string[]> {
  const out = await readobj(["--coff-imports"], file);
  return [...new Set([...out.matchAll(/^\s*Name: (\S+)$/gm)].map((m) => m[1]!.toLowerCase()))].sort();
}

const MACHINE = { x64: "IMAGE_FILE_MACHINE_AMD64", ARM64: "IMAGE_FILE_MACHINE_ARM64" } as const;

/** Run an x64 app of a build under Wine (a fresh prefix per run); its output with \n line ends (msvcrt writes \r\n). */
async function wine(dir: string, app: string, opts: { args?: string[]; debug?: string } = {}) {
  const r = await runAppUnderWine(dir, fs.mkdtempSync(path.join(scratch, "wineprefix-")), {
    app,
    resource: RESOURCE,
    ...opts,
  });
  return { ...r, stdout: r.stdout.replace(/\r\n/g, "\n") };
}

describe("crt-app: a console app that uses the C runtime (msvcrt.dll through winpe-lab's start-up code)", () => {
  for (const platform of PLATFORMS) {
    it(`${platform}: imports msvcrt.dll, not a Visual C++ runtime DLL`, async () => {
      const r = await build("crt-app/crtapp.vcxproj", platform);
      const exe = r.outputs[0]!.path;
      expect(await readobj(["--file-headers"], exe)).toContain(MACHINE[platform]);
      expect(await imports(exe)).toEqual(["msvcrt.dll"]);
    });
  }
  it("Release (RuntimeLibrary MultiThreaded) builds the same way, for both platforms", async () => {
    for (const platform of PLATFORMS) {
      const r = await build("crt-app/crtapp.vcxproj", platform, "Release");
      expect(await imports(r.outputs[0]!.path)).toEqual(["msvcrt.dll"]);
    }
  });
  it("x64 under Wine: argv, strlen, malloc, snprintf (C99), qsort, strtoll, atexit, the exit code", {
    timeout: 300_000,
  }, async () => {
    const r = await build("crt-app/crtapp.vcxproj", "x64");
    const run = await wine(r.outDir, "crtapp.exe", { args: ["alpha", "beta gamma"] });
    expect(run.stdout.split("\n").filter((l) => l.length > 0)).toEqual([
      "crt-app: argc=3 argv[1]=alpha argv[2]=beta gamma",
      "strlen(winpe-lab)=9",
      'snprintf: "truncat" wanted 15',
      "qsort: 1 2 3 5 8",
      "strtoll: -1234567890123",
      "atexit: goodbye",
    ]);
    expect(run.exitCode).toBe(7);
  });
});

describe("resources: .rc scripts compiled with the project's defines and include folders", () => {
  for (const platform of PLATFORMS) {
    it(`${platform}: the driver's version resource (ntverp.h + common.ver), RCDATA from a file, string table`, async () => {
      const r = await build("resources/resources.sln", platform);
      const sys = r.outputs.find((o) => o.path.endsWith("resdrv.sys"))!.path;
      const types = [...(await readobj(["--coff-resources"], sys)).matchAll(/Type: (\S+)/g)].map((m) => m[1]);
      expect(types).toEqual(["STRINGTABLE", "RCDATA", "VERSIONINFO"]);
      const bytes = fs.readFileSync(sys);
      // RESDRV_FLAVOR=2 (ResourceCompile PreprocessorDefinitions) chose the description in ..\inc (include folder)
      expect(bytes.includes(Buffer.from("winpe-lab resource test driver (flavor 2)", "utf16le"))).toBe(true);
      expect(bytes.includes(Buffer.from("RESDRV.sys", "utf16le"))).toBe(true);
      expect(bytes.includes(Buffer.from("winpe-lab payload next to the resource script"))).toBe(true);
    });
    it(`${platform}: a UTF-16 script with non-ASCII text`, async () => {
      const r = await build("resources/resources.sln", platform);
      const exe = r.outputs.find((o) => o.path.endsWith("resapp.exe"))!.path;
      expect(await readobj(["--coff-resources"], exe)).toMatch(/Type: VERSIONINFO \(ID 16\)/);
      expect(fs.readFileSync(exe).includes(Buffer.from("winpe-lab UTF-16 r\u00e9sum\u00e9 app", "utf16le"))).toBe(true);
    });
  }
});

describe("pch: precompiled headers (cl.exe /Yc, /Yu) and forced includes", () => {
  it("a Use source is compiled as cl.exe does: what precedes the header's #include is ignored", () => {
    expect(pchUseView('#define X 1\r\n#include "pch.h"\r\nint y;\r\n', "pch.h")).toBe(
      '           \r\n#include "pch.h"\r\nint y;\r\n',
    );
    expect(pchUseView('// comment only\n#include "PCH.H"\n', "pch.h")).toBe('               \n#include "PCH.H"\n');
    expect(pchUseView('#include "pch.h"\nint y;\n', "pch.h")).toBeNull();
    expect(pchUseView("int y;\n", "pch.h")).toBeNull();
  });
  for (const platform of PLATFORMS) {
    it(`${platform}: the header is precompiled once and used`, async () => {
      const r = await build("pch/pchapp.vcxproj", platform);
      expect(r.progress.filter((l) => l.includes("precompile pch.h"))).toHaveLength(1);
      expect(r.inputs.map((i) => path.basename(i.path))).toEqual(expect.arrayContaining(["pch.h", "forced.h"]));
    });
  }
  it("x64 under Wine: PCH_MAGIC from the header (not the #define before it), FORCED_VALUE from /FI", {
    timeout: 300_000,
  }, async () => {
    const r = await build("pch/pchapp.vcxproj", "x64");
    expect((await wine(r.outDir, "pchapp.exe")).stdout.trim()).toBe("PCH_MAGIC=42 from pch.c, forced include: 7");
  });
});

describe("msvc-isms: what cl.exe and the WDK accept, in C and C++", () => {
  for (const platform of PLATFORMS) {
    it(`${platform}: C and C++ drivers and apps build with Level4 warnings as errors`, async () => {
      const r = await build("msvc-isms/msvc-isms.sln", platform);
      expect(r.outputs.map((o) => path.basename(o.path))).toEqual([
        "msvcapp.exe",
        "msvcappcpp.exe",
        "msvcdrv.sys",
        "msvcdrvpp.sys",
      ]);
      for (const o of r.outputs.filter((x) => x.kind === "driver")) {
        expect(await imports(o.path)).toContain("ntoskrnl.exe");
      }
      // VOID __cdecl main(ULONG argc, PCHAR argv[]): clang refuses it in a hosted C program; compiled freestanding
      expect(r.progress.some((l) => /compile app\/msvcapp\.c \(freestanding: MSVC-style main\)/.test(l))).toBe(true);
    });
  }
  it("x64 under Wine: SEH in C (__try/__except/__finally) and C++ (templates, lambdas, __try)", {
    timeout: 300_000,
  }, async () => {
    const r = await build("msvc-isms/msvc-isms.sln", "x64");
    expect((await wine(r.outDir, "msvcapp.exe", { args: ["x"] })).stdout.split("\n")).toEqual([
      "msvcapp: argc=2",
      "finally ran (abnormal termination: yes)",
      "caught exception 0xC0000005",
      "Touch(NULL)=-1",
      "",
    ]);
    expect((await wine(r.outDir, "msvcappcpp.exe")).stdout.trim()).toBe("msvcappcpp: sum=18 caught=1");
  });
});

describe("case: names in any letter case, as on Windows", () => {
  for (const platform of PLATFORMS) {
    it(`${platform}: Source\\MAIN.C, <WINDOWS.H>, "..\\Include\\Shared.H" resolve`, async () => {
      const r = await build("case/caseapp.vcxproj", platform);
      const inputs = r.inputs.map((i) => i.path);
      expect(inputs).toContain(path.join(PROJECTS, "case", "source", "main.c"));
      expect(inputs).toContain(path.join(PROJECTS, "case", "include", "shared.h"));
      expect(inputs.some((p) => p.endsWith("/include/windows.h"))).toBe(true);
    });
  }
  it("x64 under Wine", { timeout: 300_000 }, async () => {
    const r = await build("case/caseapp.vcxproj", "x64");
    expect((await wine(r.outDir, "caseapp.exe")).stdout.trim()).toBe("case: found in any case 1");
  });
});

describe("wdk-macros: the WDK's MSBuild macros", () => {
  for (const platform of PLATFORMS) {
    it(`${platform}: include folders, $(DDK_LIB_PATH) libraries (FltMgr import, wdmsec, ntstrsafe), $(_NT_TARGET_VERSION)`, async () => {
      const r = await build("wdk-macros/wdk-macros.sln", platform);
      const sys = r.outputs.find((o) => o.kind === "driver")!.path;
      expect(await imports(sys)).toEqual(["fltmgr.sys", "ntoskrnl.exe"]);
      expect(fs.readFileSync(sys).includes(Buffer.from("macrodrv: target %x or later", "utf16le"))).toBe(true);
      const exe = r.outputs.find((o) => o.kind === "application")!.path;
      expect(await imports(exe)).toEqual(["advapi32.dll", "msvcrt.dll"]);
    });
  }
});

describe("link-options: Link/AdditionalOptions", () => {
  for (const platform of PLATFORMS) {
    it(`${platform}: /LARGEADDRESSAWARE, /INTEGRITYCHECK and /RELEASE (checksum) reach the image`, async () => {
      const r = await build("link-options/linkapp.vcxproj", platform);
      const exe = r.outputs[0]!.path;
      const headers = await readobj(["--file-headers"], exe);
      expect(headers).toContain("IMAGE_FILE_LARGE_ADDRESS_AWARE");
      expect(headers).toContain("IMAGE_DLL_CHARACTERISTICS_FORCE_INTEGRITY");
      // the checksum field as osslsigncode reads it (llvm-readobj 14 does not show it), recomputed here
      const v = await runTool("osslsigncode", ["verify", "-in", exe], { resource: RESOURCE, okExitCodes: [0, 1, 255] });
      const checksum = Number.parseInt(/PE checksum\s*: ([0-9A-Fa-f]+)/.exec(v.stdout + v.stderr)![1]!, 16);
      expect(checksum).not.toBe(0);
      const copy = path.join(scratch, `checksum-${platform}.exe`);
      fs.copyFileSync(exe, copy);
      expect(writePeChecksum(copy)).toBe(checksum);
    });
  }
  it("an unknown option is an error naming the option, the file and the line; nothing is built", async () => {
    const dir = path.join(scratch, "link-unknown");
    fs.cpSync(path.join(PROJECTS, "link-options"), dir, { recursive: true });
    const vcx = path.join(dir, "linkapp.vcxproj");
    fs.writeFileSync(vcx, fs.readFileSync(vcx, "utf8").replace("/MAP", "/FUNCTIONPADMIN:5 /NOSUCHOPTION"));
    const line =
      fs
        .readFileSync(vcx, "utf8")
        .split("\n")
        .findIndex((l) => l.includes("/NOSUCHOPTION")) + 1;
    const outDir = path.join(dir, "out");
    const e = await buildProject({ project: vcx, configuration: "Debug", platform: "x64", outDir, cacheDir }).catch(
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(ProjectFormatError);
    expect((e as Error).message).toBe(
      `${vcx}:${line}: linker option '/NOSUCHOPTION' is not supported by the open toolchain; remove it or build with the adk toolchain`,
    );
    expect(fs.existsSync(outDir)).toBe(false);
  });
});

describe("filters-bom-crlf: project files as Visual Studio writes them", () => {
  it("a UTF-8 BOM and CRLF project builds; the .vcxproj.Filters file is not an input (MSBuild never reads it)", async () => {
    const dir = path.join(scratch, "bom");
    fs.cpSync(path.join(PROJECTS, "filters-bom-crlf"), dir, { recursive: true });
    const project = path.join(dir, "bomapp.vcxproj");
    expect(fs.readFileSync(project).subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    const first = await buildProject({
      project,
      configuration: "Debug",
      platform: "x64",
      outDir: path.join(dir, "o1"),
      cacheDir,
    });
    expect(first.inputs.map((i) => i.path)).not.toContain(`${project}.Filters`);
    fs.writeFileSync(`${project}.Filters`, "this is not even XML\r\n");
    const second = await buildProject({
      project,
      configuration: "Debug",
      platform: "x64",
      outDir: path.join(dir, "o2"),
      cacheDir,
    });
    expect(second.inputsHash).toBe(first.inputsHash);
    expect(second.outputs[0]!.sha256).toBe(first.outputs[0]!.sha256);
  });
});

describe("symbols: program databases beside the binaries, named in their debug directories", () => {
  for (const platform of PLATFORMS) {
    it(`${platform}: Debug crtapp.pdb matches crtapp.exe (llvm-readobj and llvm-pdbutil agree on the GUID)`, async () => {
      const r = await build("crt-app/crtapp.vcxproj", platform);
      const exe = r.outputs[0]!;
      const pdb = r.symbols[0]!;
      expect(pdb.path).toBe(path.join(r.outDir, "crtapp.pdb"));
      expect(exe.pdb).toBe(pdb.path);
      expect(pdb.binary).toBe(exe.path);
      const dbg = await readobj(["--coff-debug-directory"], exe.path);
      expect(dbg).toMatch(/PDBFileName: crtapp\.pdb$/m);
      const guidBytes = /PDBGUID: \(([0-9A-F ]+)\)/.exec(dbg)![1]!.split(" ");
      // CodeView stores the GUID's first three fields little-endian
      const g = guidBytes;
      const guid = `${[g[3], g[2], g[1], g[0]].join("")}-${g[5]}${g[4]}-${g[7]}${g[6]}-${g[8]}${g[9]}-${g.slice(10).join("")}`;
      const summary = (await runTool("llvm-pdbutil", ["dump", "--summary", pdb.path], { resource: RESOURCE })).stdout;
      expect(summary.toUpperCase()).toContain(`{${guid}}`);
      const modules = (await runTool("llvm-pdbutil", ["dump", "--modules", pdb.path], { resource: RESOURCE })).stdout;
      expect(modules).toContain("crtapp");
      expect(modules).toMatch(/winpe-crt\.lib/);
    });
  }
  it("Release builds have PDBs too (GenerateDebugInformation defaults to true); false means none", async () => {
    const r = await build("crt-app/crtapp.vcxproj", "x64", "Release");
    expect(r.symbols.map((s) => path.basename(s.path))).toEqual(["crtapp.pdb"]);
    const dir = path.join(scratch, "nopdb");
    fs.cpSync(path.join(PROJECTS, "crt-app"), dir, { recursive: true });
    const vcx = path.join(dir, "crtapp.vcxproj");
    fs.writeFileSync(
      vcx,
      fs
        .readFileSync(vcx, "utf8")
        .replace(
          "  </ItemDefinitionGroup>",
          "    <Link><GenerateDebugInformation>false</GenerateDebugInformation></Link>\n  </ItemDefinitionGroup>",
        ),
    );
    const none = await buildProject({
      project: vcx,
      configuration: "Debug",
      platform: "x64",
      outDir: path.join(dir, "o"),
      cacheDir,
    });
    expect(none.symbols).toEqual([]);
    expect(fs.readdirSync(path.join(dir, "o")).sort()).toEqual(["crtapp.exe"]);
    expect(await readobj(["--coff-debug-directory"], none.outputs[0]!.path)).not.toMatch(/PDBFileName/);
  });
});

describe("refusal: KMDF, UMDF and WPP are refused before anything is built", () => {
  const cases: Array<[string, RegExp]> = [
    [
      "refusal/refusal.sln",
      /^\S+refusal\/kmdf\/kmdfdrv\.vcxproj:\d+: KMDF drivers \(Kernel-Mode Driver Framework: the open toolchain has no WDF headers or libraries\) are not supported by the open toolchain \(DriverType KMDF\); build this project with the adk toolchain \(Visual Studio \+ WDK\)$/,
    ],
    [
      "refusal/umdf/umdfdrv.vcxproj",
      /^\S+umdfdrv\.vcxproj:\d+: UMDF drivers .* \(DriverType UMDF\); build this project with the adk toolchain \(Visual Studio \+ WDK\)$/,
    ],
    [
      "refusal/wpp/wppdrv.vcxproj",
      /^\S+wppdrv\.vcxproj:\d+: WPP software tracing \(WppEnabled=true\) is not supported by the open toolchain \(it has no tracewpp preprocessor\); build this project with the adk toolchain \(Visual Studio \+ WDK\)$/,
    ],
  ];
  for (const [project, pattern] of cases) {
    it(`${project}: one line naming the feature, file and line and the way forward; no tool ran`, async () => {
      const log = path.join(scratch, `tool-log-${path.basename(project)}.jsonl`);
      const outDir = path.join(scratch, `refused-${path.basename(project)}`);
      const prev = process.env.WINPE_TOOL_LOG;
      process.env.WINPE_TOOL_LOG = log;
      let error: unknown;
      try {
        await buildProject({
          project: path.join(PROJECTS, project),
          configuration: "Debug",
          platform: "x64",
          outDir,
          cacheDir,
        });
      } catch (e) {
        error = e;
      } finally {
        if (prev === undefined) delete process.env.WINPE_TOOL_LOG;
        else process.env.WINPE_TOOL_LOG = prev;
      }
      expect(error).toBeInstanceOf(ProjectFormatError);
      expect((error as Error).message).toMatch(pattern);
      expect((error as Error).message).not.toContain("\n");
      expect(fs.existsSync(log) ? fs.readFileSync(log, "utf8") : "").toBe("");
      expect(fs.existsSync(outDir)).toBe(false);
      // the line named is the project's DriverType / WppEnabled element
      const e = error as ProjectFormatError;
      expect(fs.readFileSync(e.file, "utf8").split("\n")[e.line! - 1]).toMatch(
        /<DriverType>(KMDF|UMDF)<|<WppEnabled>true</,
      );
    });
  }
  it("the WDM project of the same solution plans fine on its own", () => {
    const plan = planBuild({
      project: path.join(PROJECTS, "refusal/refusal.sln"),
      only: path.join(PROJECTS, "refusal/wdm/wdmdrv.vcxproj"),
      configuration: "Debug",
      platform: "x64",
    });
    expect(plan.projects.map((p) => p.outputName)).toEqual(["wdmdrv.sys"]);
  });
});

describe("wdmsec: IoCreateDeviceSecure gives the device the SDDL's security descriptor", () => {
  for (const platform of PLATFORMS) {
    it(`${platform}: secdrv.sys links winpe-lab's wdmsec.lib (no import of a wdmsec DLL)`, async () => {
      const r = await build("wdmsec/wdmsec.sln", platform);
      const sys = r.outputs.find((o) => o.kind === "driver")!.path;
      expect(await imports(sys)).toEqual(["ntoskrnl.exe"]);
      const pe = readPeHeaders(sys);
      const fns = pe.imports.find((i) => i.dll.toLowerCase() === "ntoskrnl.exe")!.functions;
      expect(fns).toEqual(expect.arrayContaining(["IoCreateDevice", "ObOpenObjectByPointer", "ZwSetSecurityObject"]));
    });
  }
  it("the SDDL parser against Windows' own (Wine's advapi32): byte-identical descriptors; other strings refused", {
    timeout: 300_000,
  }, async () => {
    const r = await build("wdmsec/wdmsec.sln", "x64");
    const run = await wine(r.outDir, "sddltest.exe");
    console.log(`wdmsec sddltest under Wine:\n${run.stdout}`);
    expect(run.stdout).toMatch(/sddltest: 0 failure\(s\)/);
    expect(run.stdout.match(/^same: /gm)).toHaveLength(11);
    expect(run.stdout.match(/^refused: /gm)).toHaveLength(13);
    expect(run.exitCode).toBe(0);
  });
  it("under Wine: the devices' descriptors, read back by the driver, are the SDDL's", {
    timeout: 300_000,
  }, async () => {
    const r = await build("wdmsec/wdmsec.sln", "x64");
    const run = await wine(r.outDir, "secapp.exe");
    console.log(`wdmsec secapp under Wine:\n${run.stdout}`);
    expect(run.stdout).toContain("secapp: service SecDrv started");
    // Wine keeps the generic rights as given (Windows maps them to the device's specific rights on the way in)
    expect(run.stdout).toContain("open device: D:P(A;;GA;;;SY)(A;;GXGWGR;;;BA)(A;;GR;;;WD)");
    expect(run.stdout).toContain("kernel-only device: D:P\n");
    expect(run.stdout).toContain("secapp: service SecDrv stopped and deleted");
    // Wine 8 does not check a device's DACL when a handle is opened (Windows answers ERROR_ACCESS_DENIED): reported
    console.log(
      `Wine, opening the kernel-only device: ${/opening the kernel-only device: (.*)/.exec(run.stdout)?.[1]}`,
    );
  });
});

describe("warnings: WarningLevel/TreatWarningAsError without clang-only warnings as errors", () => {
  async function variant(name: string, extra: string) {
    const dir = path.join(scratch, `warn-${name}`);
    fs.cpSync(path.join(PROJECTS, "warnings"), dir, { recursive: true });
    const src = path.join(dir, "warnapp.c");
    fs.writeFileSync(
      src,
      `${extra.startsWith("#") ? `${extra}\n${fs.readFileSync(src, "utf8")}` : `${fs.readFileSync(src, "utf8")}\n${extra}\n`}`,
    );
    return buildProject({
      project: path.join(dir, "warnapp.vcxproj"),
      configuration: "Debug",
      platform: "x64",
      outDir: path.join(dir, "out"),
      cacheDir,
    });
  }
  it("a clang-only warning (missing field initializer) stays a warning", async () => {
    const r = await build("warnings/warnapp.vcxproj", "x64");
    expect(r.outputs).toHaveLength(1);
  });
  it("an MSVC Level4 warning (C4100, unreferenced parameter) is an error", async () => {
    await expect(variant("c4100", "int unused(int p) { return 0; }")).rejects.toThrow(
      /warnapp\.c:\d+:\d+: error: unused parameter 'p' \[-Werror,-Wunused-parameter\]/,
    );
  });
  it("...unless the project disables it (#pragma warning(disable: 4100))", async () => {
    const r = await variant("c4100-disabled", "#pragma warning(disable : 4100)\nint unused(int p);");
    expect(r.outputs).toHaveLength(1);
  });
  it("dontuse.h bans the unbounded string functions, naming the replacement", async () => {
    await expect(
      variant("dontuse", '#include <string.h>\n#include <dontuse.h>\nvoid copy(char *d) { strcpy(d, "x"); }'),
    ).rejects.toThrow(/strcpy_banned_by_dontuse_h_use_StringCbCopyA_or_RtlStringCbCopyA/);
  });
});

describe("winpe build --survey", () => {
  it("one line per project and platform: built (outputs) or refused (one-line reason)", {
    timeout: 300_000,
  }, async () => {
    const folder = path.join(scratch, "survey");
    fs.mkdirSync(folder);
    fs.cpSync(path.join(PROJECTS, "refusal"), path.join(folder, "refusal"), { recursive: true });
    fs.cpSync(path.join(PROJECTS, "resources"), path.join(folder, "resources"), { recursive: true });
    const lines: string[] = [];
    const entries = await surveyFolder({
      folder,
      configuration: "Debug",
      platforms: ["x64", "ARM64"],
      cacheDir,
      onEntry: (e) => lines.push(formatSurveyEntry(e)),
    });
    expect(entries).toHaveLength(8);
    expect(lines).toEqual([
      "refusal/refusal.sln refusal/wdm/wdmdrv.vcxproj Debug|x64: built (wdmdrv.sys, wdmdrv.pdb)",
      "refusal/refusal.sln refusal/wdm/wdmdrv.vcxproj Debug|ARM64: built (wdmdrv.sys, wdmdrv.pdb)",
      expect.stringMatching(
        /^refusal\/refusal\.sln refusal\/kmdf\/kmdfdrv\.vcxproj Debug\|x64: refused \(\S+kmdfdrv\.vcxproj:\d+: KMDF drivers .*adk toolchain \(Visual Studio \+ WDK\)\)$/,
      ),
      expect.stringMatching(
        /^refusal\/refusal\.sln refusal\/kmdf\/kmdfdrv\.vcxproj Debug\|ARM64: refused \(.*KMDF drivers/,
      ),
      "resources/resources.sln resources/drv/resdrv.vcxproj Debug|x64: built (resdrv.sys, resdrv.pdb)",
      "resources/resources.sln resources/drv/resdrv.vcxproj Debug|ARM64: built (resdrv.sys, resdrv.pdb)",
      "resources/resources.sln resources/app/resapp.vcxproj Debug|x64: built (resapp.exe, resapp.pdb)",
      "resources/resources.sln resources/app/resapp.vcxproj Debug|ARM64: built (resapp.exe, resapp.pdb)",
    ]);
  });
});
