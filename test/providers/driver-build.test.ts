/**
 * TestCertificate and DriverBuild providers driven directly on real files with the open toolchain: real clang/lld
 * builds of a copy of examples/ioctl for x64 and ARM64, test-signed, read back with llvm-readobj and osslsigncode.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as buildP from "../../resources/providers/driver-build";
import * as testCertP from "../../resources/providers/test-certificate";
import { runTool } from "../../runtime/exec";
import { setProgressFallback } from "../../runtime/progress";

type Props = Record<string, unknown>;
const REPO = path.resolve(__dirname, "..", "..");

describe("TestCertificate + DriverBuild providers (open toolchain, real builds)", () => {
  let dir: string;
  let src: string;
  let cert: Props;

  beforeAll(async () => {
    setProgressFallback(() => undefined);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "winpe-build-"));
    src = path.join(dir, "src");
    fs.cpSync(path.join(REPO, "examples", "ioctl"), src, { recursive: true });
    const checked = await testCertP.check({}, { toolchain: "open", certDir: path.join(dir, "cert") });
    expect(checked.failures).toBeUndefined();
    cert = (await testCertP.create(checked.inputs as Props)).outs as Props;
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("the certificate: public files written, the key only in the (secret) output", async () => {
    expect(String(cert.keyPem)).toMatch(/BEGIN PRIVATE KEY/);
    expect(String(cert.thumbprint)).toMatch(/^[0-9A-F]{40}$/);
    for (const f of fs.readdirSync(path.join(dir, "cert"))) {
      expect(fs.readFileSync(path.join(dir, "cert", f), "latin1")).not.toMatch(/PRIVATE KEY/);
    }
    expect((await testCertP.read("id", cert)).props?.certFile).toBe(cert.certFile);
  });

  for (const platform of ["x64", "ARM64"] as const) {
    describe(platform, () => {
      let state: Props;
      const outDir = () => path.join(dir, `out-${platform}`);
      const inputs = () => ({
        toolchain: "open",
        project: path.join(src, "ioctl.sln"),
        configuration: "Debug",
        platform,
        outDir: outDir(),
        signing: { certPem: cert.certPem, keyPem: cert.keyPem, thumbprint: cert.thumbprint },
        revisions: {},
      });

      it("create builds, signs the driver and verifies both outputs", async () => {
        state = (await buildP.create((await buildP.check({}, inputs())).inputs as Props)).outs as Props;
        const files = state.files as Record<
          string,
          { path: string; machine: string; subsystem: string; signed: boolean }
        >;
        expect(Object.keys(files).sort()).toEqual(["ioctlapp.exe", "sioctl.sys"]);
        // the program databases (Debug), beside the binaries, are outputs too
        const symbols = state.symbols as Record<string, { path: string; sha256: string; binary: string }>;
        expect(Object.keys(symbols).sort()).toEqual(["ioctlapp.pdb", "sioctl.pdb"]);
        expect(symbols["sioctl.pdb"]).toMatchObject({ path: path.join(outDir(), "sioctl.pdb"), binary: "sioctl.sys" });
        const dbg = await runTool("llvm-readobj", ["--coff-debug-directory", files["sioctl.sys"].path]);
        expect(dbg.stdout).toMatch(/PDBFileName: sioctl\.pdb$/m);
        expect(files["sioctl.sys"]).toMatchObject({ machine: platform, subsystem: "native", signed: true });
        expect(files["ioctlapp.exe"]).toMatchObject({ machine: platform, subsystem: "console", signed: false });
        // independent readers: llvm-readobj for the headers, osslsigncode for the signature
        const ro = await runTool("llvm-readobj", ["--file-headers", "--coff-imports", files["sioctl.sys"].path]);
        expect(ro.stdout).toMatch(platform === "x64" ? /IMAGE_FILE_MACHINE_AMD64/ : /IMAGE_FILE_MACHINE_ARM64/);
        expect(ro.stdout).toMatch(/IMAGE_SUBSYSTEM_NATIVE/);
        expect(ro.stdout).toMatch(/Name: ntoskrnl\.exe/);
        const v = await runTool(
          "osslsigncode",
          ["verify", "-CAfile", String(cert.certFile), "-in", files["sioctl.sys"].path],
          {
            okExitCodes: [0, 1],
          },
        );
        expect(v.stdout + v.stderr).toMatch(/Signature verification: ok/);
      });

      it("diff: nothing changed -> no rebuild; a changed source -> rebuild", async () => {
        const news = (await buildP.check({}, inputs())).inputs as Props;
        expect((await buildP.diff("id", state, news)).changes).toBe(false);
        const c = path.join(src, "exe", "ioctlapp.c");
        const before = fs.readFileSync(c, "utf8");
        fs.writeFileSync(c, `${before}\n/* edited by a test */\n`);
        try {
          expect((await buildP.diff("id", state, news)).changes).toBe(true);
        } finally {
          fs.writeFileSync(c, before);
        }
        expect((await buildP.diff("id", state, news)).changes).toBe(false);
      });

      it("read notices an output deleted by hand; update rebuilds it", async () => {
        const files = state.files as Record<string, { path: string }>;
        fs.rmSync(files["ioctlapp.exe"].path);
        const r = await buildP.read("id", state);
        expect(r.props?.drift).toEqual(["ioctlapp.exe: missing"]);
        const news = (await buildP.check({}, inputs())).inputs as Props;
        expect((await buildP.diff("id", r.props as Props, news)).changes).toBe(true);
        state = (await buildP.update("id", r.props as Props, news)).outs as Props;
        expect(fs.existsSync(files["ioctlapp.exe"].path)).toBe(true);
      });

      it("delete removes exactly the files it produced (binaries and PDBs)", async () => {
        const other = path.join(outDir(), "keep.txt");
        fs.writeFileSync(other, "not ours");
        await buildP.delete("id", state);
        expect(fs.readdirSync(outDir())).toEqual(["keep.txt"]);
        fs.rmSync(outDir(), { recursive: true });
      });
    });
  }

  it("bad input: missing project, non-XML project, a platform the project lacks — clear errors, nothing written", async () => {
    const base = {
      toolchain: "open",
      configuration: "Debug",
      platform: "x64",
      outDir: path.join(dir, "bad-out"),
      signing: null,
      revisions: {},
    };
    await expect(buildP.create({ ...base, project: path.join(dir, "nope.sln") })).rejects.toThrow(/nope\.sln/);
    const broken = path.join(dir, "broken.vcxproj");
    fs.writeFileSync(broken, "<Project><ItemGroup></Project");
    await expect(buildP.create({ ...base, project: broken })).rejects.toThrow(/broken\.vcxproj/);
    const sysProj = path.join(src, "sys", "sioctl.vcxproj");
    const x86Only = path.join(dir, "x86only.vcxproj");
    fs.writeFileSync(
      x86Only,
      fs.readFileSync(sysProj, "utf8").replaceAll("|x64", "|Win32").replaceAll("|ARM64", "|Win32"),
    );
    await expect(buildP.create({ ...base, project: x86Only })).rejects.toThrow(/x64/);
    expect(fs.existsSync(path.join(dir, "bad-out"))).toBe(false);
    const rel = await buildP.check({}, { ...base, project: "relative/ioctl.sln" });
    expect(rel.failures?.[0]?.property).toBe("project");
  });
});
