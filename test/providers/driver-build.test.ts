/**
 * TestCertificate and DriverBuild providers driven directly on real files with the open toolchain: real clang/lld
 * builds of a copy of examples/ioctl for x64 and ARM64, test-signed, read back with llvm-readobj and osslsigncode;
 * incremental updates counted in the tool log (an edit of the driver's source: one compile, one link, one sign).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as buildP from "../../resources/providers/driver-build";
import * as testCertP from "../../resources/providers/test-certificate";
import { sha256File } from "../../runtime/digest";
import { runTool } from "../../runtime/exec";
import { setProgressFallback } from "../../runtime/progress";

type Props = Record<string, unknown>;
const REPO = path.resolve(__dirname, "..", "..");

interface ToolLine {
  tool: string;
  argv: string[];
}

/** Run `f` with the tool log on, and return what it gave and the tools it ran (WINPE_TOOL_LOG lines). */
async function traced<T>(f: () => Promise<T>): Promise<{ value: T; tools: ToolLine[] }> {
  const log = path.join(os.tmpdir(), `winpe-driver-build-tools-${process.pid}.jsonl`);
  fs.rmSync(log, { force: true });
  const prev = process.env.WINPE_TOOL_LOG;
  process.env.WINPE_TOOL_LOG = log;
  try {
    const value = await f();
    const text = fs.existsSync(log) ? fs.readFileSync(log, "utf8") : "";
    const tools = text
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l) as ToolLine);
    return { value, tools };
  } finally {
    if (prev === undefined) delete process.env.WINPE_TOOL_LOG;
    else process.env.WINPE_TOOL_LOG = prev;
    fs.rmSync(log, { force: true });
  }
}

/** Inode, modification time and sha256 of each file: what "not touched" means. */
function stamps(files: string[]): Record<string, string> {
  return Object.fromEntries(
    files.map((f) => {
      const st = fs.statSync(f, { bigint: true });
      return [f, `${st.ino}|${st.mtimeNs}|${sha256File(f)}`];
    }),
  );
}

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
      const cacheDir = () => path.join(dir, "cache");
      const outputs = () =>
        ["sioctl.sys", "sioctl.pdb", "ioctlapp.exe", "ioctlapp.pdb"].map((n) => path.join(outDir(), n));
      const inputs = () => ({
        toolchain: "open",
        project: path.join(src, "ioctl.sln"),
        configuration: "Debug",
        platform,
        outDir: outDir(),
        signing: { certPem: cert.certPem, keyPem: cert.keyPem, thumbprint: cert.thumbprint },
        revisions: {},
        cacheDir: cacheDir(),
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

      it("an edit of one .c file of the driver: one compile, one link, one sign; the app's project runs nothing", async () => {
        const before = stamps(outputs());
        const file = path.join(src, "sys", "sioctl.c");
        const text = fs.readFileSync(file, "utf8");
        expect(text).toMatch(/"Debug build[^"]*"/);
        fs.writeFileSync(file, text.replace(/"Debug build[^"]*"/, `"Debug build (provider edit ${platform})"`));
        const news = (await buildP.check({}, inputs())).inputs as Props;
        expect((await buildP.diff("id", state, news)).changes).toBe(true);
        const { value, tools } = await traced(async () => (await buildP.update("id", state, news)).outs as Props);
        expect(tools.filter((l) => l.tool === "clang").map((l) => l.argv.includes("-c"))).toEqual([true]);
        expect(tools.find((l) => l.tool === "clang")!.argv).toContain(file);
        expect(
          tools.filter((l) => l.tool === "lld-link").map((l) => l.argv.find((a) => a.startsWith("/out:"))),
        ).toEqual([expect.stringMatching(/\/sioctl\.sys$/)]);
        // one signing run and no `osslsigncode verify`: the signature is verified in-process (formats/authenticode.ts)
        expect(tools.filter((l) => l.tool === "osslsigncode").map((l) => l.argv[0])).toEqual(["sign"]);
        // nothing of the app's project ran, and its files are as they were (same inode, time and bytes)
        expect(tools.filter((l) => l.argv.some((a) => /ioctlapp/.test(a)))).toEqual([]);
        const after = stamps(outputs());
        for (const f of outputs().filter((x) => x.includes("ioctlapp"))) expect(after[f]).toBe(before[f]);
        for (const f of outputs().filter((x) => x.includes("sioctl"))) expect(after[f]).not.toBe(before[f]);
        const files = value.files as Record<string, { sha256: string; signed: boolean; linkKey: string }>;
        const old = state.files as typeof files;
        expect(files["ioctlapp.exe"]).toEqual(old["ioctlapp.exe"]);
        expect(files["sioctl.sys"].signed).toBe(true);
        expect(files["sioctl.sys"].linkKey).not.toBe(old["sioctl.sys"].linkKey);
        const v = await runTool("osslsigncode", ["verify", "-CAfile", String(cert.certFile), "-in", outputs()[0]!], {
          okExitCodes: [0, 1],
        });
        expect(v.stdout + v.stderr).toMatch(/Signature verification: ok/);
        state = value;
      });

      it("a no-op update (after a refresh that found nothing) runs no tool and touches no file", async () => {
        const before = stamps(outputs());
        const r = await buildP.read("id", state);
        expect(r.props?.drift).toEqual([]);
        const news = (await buildP.check({}, inputs())).inputs as Props;
        const { value, tools } = await traced(
          async () => (await buildP.update("id", r.props as Props, news)).outs as Props,
        );
        expect(tools).toEqual([]);
        expect(stamps(outputs())).toEqual(before);
        expect(value.files).toEqual(state.files);
        expect(value.inputsHash).toBe(state.inputsHash);
        state = value;
      });

      it("the incremental outputs equal a clean build's (drivers compared with the signature removed)", async () => {
        // a clean build: the same cache folder, empty (moved aside), and another output folder
        const cleanOut = path.join(dir, `clean-${platform}`);
        fs.renameSync(cacheDir(), `${cacheDir()}.aside`);
        let clean: Props;
        try {
          const news = (await buildP.check({}, { ...inputs(), outDir: cleanOut })).inputs as Props;
          clean = (await buildP.create(news)).outs as Props;
        } finally {
          fs.rmSync(cacheDir(), { recursive: true, force: true });
          fs.renameSync(`${cacheDir()}.aside`, cacheDir());
        }
        const unsigned = async (f: string) => {
          const out = path.join(dir, `unsigned-${path.basename(f)}-${sha256File(f).slice(0, 8)}`);
          await runTool("osslsigncode", ["remove-signature", "-in", f, "-out", out]);
          return sha256File(out);
        };
        for (const n of ["ioctlapp.exe", "ioctlapp.pdb", "sioctl.pdb"]) {
          expect(sha256File(path.join(cleanOut, n)), n).toBe(sha256File(path.join(outDir(), n)));
        }
        expect(await unsigned(path.join(cleanOut, "sioctl.sys"))).toBe(
          await unsigned(path.join(outDir(), "sioctl.sys")),
        );
        expect((clean.files as Record<string, { linkKey: string }>)["sioctl.sys"].linkKey).toBe(
          (state.files as Record<string, { linkKey: string }>)["sioctl.sys"].linkKey,
        );
        await buildP.delete("id", clean);
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
