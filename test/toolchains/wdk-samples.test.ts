/**
 * Microsoft's WDM samples from ../shared/fixtures/wdk-samples (ioctl-wdm, cancel, event), unmodified, built by the
 * open toolchain for x64 and ARM64, Debug and Release, through buildProject, `winpe build --survey` and the
 * DriverBuild provider; the outputs read back with llvm-readobj (machine, subsystem, imports, version resource,
 * debug directory); the x64 Debug apps run under Wine from a folder holding them and their drivers.
 *
 * ../shared exists for the team and CI only: without it this file says so (a console line and a test that asserts
 * the absence) and builds nothing.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import * as buildP from "../../resources/providers/driver-build";
import { sha256File } from "../../runtime/digest";
import { runTool } from "../../runtime/exec";
import { setProgressFallback } from "../../runtime/progress";
import { type BuildResult, buildProject } from "../../toolchains/open/build";
import { formatSurveyEntry, surveyFolder } from "../../toolchains/open/survey";
import { runAppUnderWine } from "../helpers/wine";

const REPO = path.resolve(__dirname, "..", "..");
const SAMPLES = path.resolve(REPO, "..", "shared", "fixtures", "wdk-samples");
const RESOURCE = "test/wdk-samples";
const present = fs.existsSync(SAMPLES);

if (!present) {
  console.log(
    `wdk-samples: ${SAMPLES} does not exist (a clone of the project has no ../shared): the shared WDK samples are NOT built here`,
  );
  describe("the shared WDK samples (../shared/fixtures/wdk-samples)", () => {
    it("are absent here, so they are not built (CI has them)", () => {
      console.log(`wdk-samples: absent: ${SAMPLES}`);
      expect(fs.existsSync(SAMPLES)).toBe(false);
    });
  });
} else {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "winpe-wdk-samples-"));
  const cacheDir = path.join(scratch, "cache");
  afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

  /** Every file below the samples folder with its sha256: the builds must leave it byte-identical. */
  const tree = (dir: string): string =>
    fs
      .readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => path.join(e.parentPath, e.name))
      .sort()
      .map((f) => `${path.relative(dir, f)} ${sha256File(f)}`)
      .join("\n");
  const before = tree(SAMPLES);

  const SAMPLE_OUTPUTS: Record<string, { sln: string; outputs: string[] }> = {
    "ioctl-wdm": { sln: "ioctl-wdm/ioctl.sln", outputs: ["ioctlapp.exe", "sioctl.sys"] },
    // two projects make cancel.sys: each goes to its project's folder (MSBuild writes each to its own OutDir)
    cancel: { sln: "cancel/cancel.sln", outputs: ["canclapp.exe", "startio/cancel.sys", "sys/cancel.sys"] },
    // event.exe and event.sys would both have event.pdb
    event: { sln: "event/eventsample.sln", outputs: ["exe/event.exe", "wdm/event.sys"] },
  };
  const DESCRIPTIONS: Record<string, string> = {
    "sioctl.sys": "Sample IOCTL Driver",
    "cancel.sys": "Sample Cancel Driver",
    "event.sys": "Sample Event Driver",
  };
  const MACHINES = { x64: ["IMAGE_FILE_MACHINE_AMD64", 0x8664], ARM64: ["IMAGE_FILE_MACHINE_ARM64", 0xaa64] } as const;
  const built = new Map<string, BuildResult & { outDir: string }>();

  async function readobj(args: string[], file: string): Promise<string> {
    return (await runTool("llvm-readobj", [...args, file], { resource: RESOURCE })).stdout;
  }

  describe("the shared WDK samples, unmodified, built by the open toolchain", () => {
    for (const [name, s] of Object.entries(SAMPLE_OUTPUTS)) {
      for (const platform of ["x64", "ARM64"] as const) {
        for (const configuration of ["Debug", "Release"] as const) {
          it(`${name} ${configuration}|${platform}: machine, subsystem, imports, version resource, debug directory`, {
            timeout: 300_000,
          }, async () => {
            const outDir = path.join(scratch, name, `${configuration}-${platform}`);
            const r = await buildProject({
              project: path.join(SAMPLES, s.sln),
              configuration,
              platform,
              outDir,
              cacheDir,
              resource: RESOURCE,
            });
            built.set(`${name}|${configuration}|${platform}`, { ...r, outDir });
            const rel = (p: string) => path.relative(outDir, p).split(path.sep).join("/");
            expect(r.outputs.map((o) => rel(o.path)).sort()).toEqual(s.outputs);
            expect(r.symbols.map((o) => rel(o.path)).sort()).toEqual(
              s.outputs.map((o) => o.replace(/\.(sys|exe)$/, ".pdb")),
            );
            for (const o of r.outputs) {
              const file = path.basename(o.path);
              const headers = await readobj(["--file-headers"], o.path);
              expect(headers).toContain(MACHINES[platform][0]);
              expect(o.machine).toBe(MACHINES[platform][1]);
              const imports = [
                ...new Set(
                  [...(await readobj(["--coff-imports"], o.path)).matchAll(/^\s*Name: (\S+)$/gm)].map((m) =>
                    m[1]!.toLowerCase(),
                  ),
                ),
              ].sort();
              const debug = await readobj(["--coff-debug-directory"], o.path);
              const pdb = file.replace(/\.(sys|exe)$/, ".pdb");
              expect(debug).toMatch(new RegExp(`PDBFileName: ${pdb.replace(".", "\\.")}$`, "m"));
              expect(fs.existsSync(path.join(path.dirname(o.path), pdb))).toBe(true);
              if (o.kind === "driver") {
                expect(headers).toContain("IMAGE_SUBSYSTEM_NATIVE");
                expect(imports).toEqual(["ntoskrnl.exe"]);
                const resources = await readobj(["--coff-resources"], o.path);
                expect(resources).toMatch(/Type: VERSIONINFO \(ID 16\)/);
                // the .rc's own description, through mingw-w64's common.ver
                expect(fs.readFileSync(o.path).includes(Buffer.from(DESCRIPTIONS[file]!, "utf16le"))).toBe(true);
              } else {
                expect(headers).toContain("IMAGE_SUBSYSTEM_WINDOWS_CUI");
                // the C runtime is msvcrt.dll, which WinPE ships: no Visual C++ runtime DLL
                expect(imports).toEqual(["advapi32.dll", "kernel32.dll", "msvcrt.dll"]);
              }
            }
            // the resource script and WDK version headers are inputs of the driver
            const inputs = r.inputs.map((i) => path.basename(i.path));
            expect(inputs).toEqual(expect.arrayContaining(["common.ver", "ntverp.h"]));
          });
        }
      }
    }

    it("the samples folder is byte-identical after the builds (nothing written there)", () => {
      expect(tree(SAMPLES)).toBe(before);
    });
  });

  describe("winpe build --survey over the samples folder", () => {
    it("one line per project and platform, every one built", { timeout: 600_000 }, async () => {
      const lines: string[] = [];
      const entries = await surveyFolder({
        folder: SAMPLES,
        configuration: "Debug",
        platforms: ["x64", "ARM64"],
        cacheDir,
        onEntry: (e) => lines.push(formatSurveyEntry(e)),
      });
      console.log(`survey of ${SAMPLES}:\n${lines.join("\n")}`);
      expect(entries).toHaveLength(14);
      expect(entries.filter((e) => e.status !== "built")).toEqual([]);
      expect(lines).toContain(
        "ioctl-wdm/ioctl.sln ioctl-wdm/sys/sioctl.vcxproj Debug|ARM64: built (sioctl.sys, sioctl.pdb)",
      );
    });
  });

  describe("DriverBuild (provider) on the workflow's sample", () => {
    it("create builds ioctl-wdm: binaries in files, PDBs in symbols; delete removes them all", {
      timeout: 300_000,
    }, async () => {
      setProgressFallback(() => undefined);
      const outDir = path.join(scratch, "provider-out");
      const checked = await buildP.check(
        {},
        {
          toolchain: "open",
          project: path.join(SAMPLES, "ioctl-wdm", "ioctl.sln"),
          configuration: "Debug",
          platform: "x64",
          outDir,
          cacheDir,
          signing: null,
          revisions: {},
        },
      );
      expect(checked.failures).toBeUndefined();
      const outs = (await buildP.create(checked.inputs as Record<string, unknown>)).outs as Record<string, unknown>;
      const files = outs.files as Record<string, { path: string; sha256: string; machine: string }>;
      const symbols = outs.symbols as Record<string, { path: string; sha256: string; binary: string }>;
      expect(Object.keys(files).sort()).toEqual(["ioctlapp.exe", "sioctl.sys"]);
      expect(Object.keys(symbols).sort()).toEqual(["ioctlapp.pdb", "sioctl.pdb"]);
      expect(symbols["sioctl.pdb"]).toMatchObject({ binary: "sioctl.sys", path: path.join(outDir, "sioctl.pdb") });
      expect(sha256File(symbols["sioctl.pdb"]!.path)).toBe(symbols["sioctl.pdb"]!.sha256);
      expect(files["sioctl.sys"]!.machine).toBe("x64");
      // refresh notices a PDB deleted by hand
      fs.rmSync(symbols["ioctlapp.pdb"]!.path);
      expect((await buildP.read("id", outs)).props?.drift).toEqual(["ioctlapp.pdb: missing"]);
      await buildP.delete("id", outs);
      expect(fs.existsSync(outDir)).toBe(false);
    });
  });

  /** The x64 Debug outputs of a sample copied flat into a run folder (as the workflow copies them into WinPE). */
  function runFolder(name: string, files: string[]): string {
    const r = built.get(`${name}|Debug|x64`);
    if (!r) throw new Error(`${name} Debug|x64 was not built (an earlier test failed)`);
    const dir = path.join(scratch, `run-${name}`);
    fs.mkdirSync(dir, { recursive: true });
    for (const f of files) fs.copyFileSync(path.join(r.outDir, f), path.join(dir, path.basename(f)));
    return dir;
  }
  const prefix = () => fs.mkdtempSync(path.join(scratch, "wineprefix-"));

  describe("under Wine (x64 Debug): the samples' apps install, start, exercise and remove their drivers", () => {
    it("ioctlapp.exe with no options: installs and starts sioctl.sys, METHOD_BUFFERED round trip", {
      timeout: 300_000,
    }, async () => {
      const dir = runFolder("ioctl-wdm", ["ioctlapp.exe", "sioctl.sys"]);
      const run = await runAppUnderWine(dir, prefix(), {
        app: "ioctlapp.exe",
        debug: "fixme+ntoskrnl",
        resource: RESOURCE,
      });
      const out = run.stdout.replace(/\r\n/g, "\n");
      console.log(
        `Wine: ioctlapp.exe (unmodified sample) output:\n${out}\nWine's ntoskrnl FIXME lines:\n${run.stderr}`,
      );
      // the app found no device, installed the driver from its folder, started it and opened \\.\IoctlTest
      expect(out).toMatch(/^InputBuffer Pointer = [0-9A-F]+, BufLength = 100$/m);
      expect(out).toContain(
        "Calling DeviceIoControl METHOD_BUFFERED:\n    OutBuffer (38): This String is from Device Driver !!!",
      );
      // Wine 8 stops it at METHOD_NEITHER: sioctl.sys maps the caller's buffer with MmGetSystemAddressForMdlSafe, and
      // Wine's MmMapLockedPagesSpecifyCache is a stub that returns NULL, so the driver answers
      // STATUS_INSUFFICIENT_RESOURCES (1450) and the app returns (as written) without its remaining calls
      expect(out).toContain("Calling DeviceIoControl METHOD_NEITHER\nError in DeviceIoControl : 1450");
      expect(run.stderr).toMatch(/fixme:ntoskrnl:MmMapLockedPagesSpecifyCache .* stub/);
    });

    it("canclapp.exe: installs and starts cancel.sys (IoCreateDeviceSecure); Wine lacks the cancel-safe queue", {
      timeout: 300_000,
    }, async () => {
      const dir = runFolder("cancel", ["canclapp.exe", "sys/cancel.sys"]);
      const run = await runAppUnderWine(dir, prefix(), {
        app: "canclapp.exe",
        debug: "fixme+ntoskrnl",
        resource: RESOURCE,
        type: { when: (o) => o.includes("Enter 'q'"), afterMs: 3000, text: "q\n" },
        timeoutMs: 60_000,
      });
      const out = run.stdout.replace(/\r\n/g, "\n");
      console.log(`Wine: canclapp.exe (unmodified sample) output:\n${out}\nWine's messages:\n${run.stderr}`);
      // the driver loaded (its DriverEntry created the device with the SDDL's descriptor) and the app opened it
      expect(out).toContain("Number of threads : 1\nEnter 'q' to exit gracefully:");
      // the reads go to the driver's cancel-safe queue: Wine 8 stubs IoCsqInitialize and does not implement
      // IoCsqInsertIrp, so the driver host aborts on the first read
      expect(run.stderr).toMatch(/fixme:ntoskrnl:IoCsqInitialize .* stub/);
      expect(run.stderr).toMatch(/unimplemented function ntoskrnl\.exe\.IoCsqInsertIrp/);
    });

    it("event.exe: its driver stops at DbgBreakPoint in DriverEntry, which needs a kernel debugger", {
      timeout: 300_000,
    }, async () => {
      const dir = runFolder("event", ["exe/event.exe", "wdm/event.sys"]);
      // event.exe <delay> <0/1>: IRP-based notification after 1 s
      const run = await runAppUnderWine(dir, prefix(), {
        app: "event.exe",
        args: ["1", "0"],
        resource: RESOURCE,
        timeoutMs: 60_000,
      });
      const out = run.stdout.replace(/\r\n/g, "\n");
      console.log(`Wine: event.exe (unmodified sample) output:\n${out}\nWine's messages:\n${run.stderr}`);
      // event.c calls DbgBreakPoint() at the top of DriverEntry (an int3, as cl.exe compiles it): with the kernel
      // debugger of the workflow's step 7 attached it stops there; Wine has none, so the driver host dies
      expect(run.stderr).toMatch(/Unhandled exception 0x80000003/);
      expect(out).toContain("Unable to install driver.");
      const sys = path.join(dir, "event.sys");
      const dis = (await runTool("llvm-objdump", ["-d", sys], { resource: RESOURCE })).stdout;
      expect(dis).toMatch(/\tint3\n/);
    });
  });
}
