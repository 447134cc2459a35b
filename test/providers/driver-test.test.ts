/**
 * Issue 17's providers driven directly on real files (no engine): a synthetic WinPE working folder (its boot.wim
 * with the stand-in SYSTEM hive), examples/ioctl built with clang/lld, the image chain (MountedImage,
 * InjectedFiles with inline content, ImageCommit), then DriverTest (Wine) and DriverVerifier (our REGF module),
 * read back with independent readers (wimlib-imagex, hivexget).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Hive, RegType } from "../../formats/regf/index";
import { applyVerifierValues, readVerifierValues, restoreVerifierValues } from "../../formats/verifier";
import { boundLines, judge } from "../../resources/driver-test";
import * as testP from "../../resources/providers/driver-test";
import * as verifierP from "../../resources/providers/driver-verifier";
import * as commitP from "../../resources/providers/image-commit";
import * as injectP from "../../resources/providers/injected-files";
import * as mountP from "../../resources/providers/mounted-image";
import { sha256 } from "../../runtime/digest";
import { runTool } from "../../runtime/exec";
import { setProgressFallback } from "../../runtime/progress";
import { buildProject } from "../../toolchains/open/build";
import { copype } from "../../toolchains/open/copype";
import { REPO_ROOT, readToolLog } from "../helpers/pulumi";
import { wimContent } from "../helpers/wim";

type Props = Record<string, unknown>;
const HIVE = "Windows/System32/config/SYSTEM";
const MM = "ControlSet001\\Control\\Session Manager\\Memory Management";

describe("judging a run (pure)", () => {
  it("passes on the exit code and an output line; fails naming each problem", () => {
    const out = 'ioctlapp: driver X\r\nMETHOD_BUFFERED: ok: "x"\r\nioctlapp: 4 of 4 replies correct\r\n';
    const pass = { exitCode: 0, output: "^METHOD_BUFFERED: ok: " };
    expect(judge({ exitCode: 0, output: out, timedOut: false }, pass, 60)).toEqual({ verdict: "pass", reason: "" });
    expect(judge({ exitCode: 1, output: out, timedOut: false }, pass, 60)).toEqual({
      verdict: "fail",
      reason: "exit code 1, expected 0",
    });
    expect(judge({ exitCode: 0, output: "nothing", timedOut: false }, pass, 60).reason).toBe(
      "no output line matches /^METHOD_BUFFERED: ok: /",
    );
    expect(judge({ exitCode: 7, output: out, timedOut: false }, { exitCode: null, output: "4 of 4" }, 60).verdict).toBe(
      "pass",
    );
    expect(judge({ exitCode: null, output: "", timedOut: true }, pass, 9)).toEqual({
      verdict: "fail",
      reason: "did not finish within 9 s (ended)",
    });
  });

  it("keeps the output bounded: first and last lines, long lines cut", () => {
    const lines = Array.from({ length: 100 }, (_, i) => `line ${i}`);
    const b = boundLines(`${lines.join("\r\n")}\r\n`);
    expect(b.count).toBe(100);
    expect(b.head).toEqual(lines.slice(0, 20));
    expect(b.tail).toEqual(lines.slice(80));
    expect(boundLines("x".repeat(1000)).head[0]).toHaveLength(403);
    expect(boundLines("")).toEqual({ head: [], tail: [], count: 0 });
  });
});

describe("DriverTest and DriverVerifier providers (open toolchain, real WIM, Wine)", () => {
  let dir: string;
  let wim: string;
  let ref: Props;
  let commit: Props;
  let pristineHive: Buffer;
  const toolLog = () => readToolLog(path.join(dir, "tools.jsonl"));
  const notices: string[] = [];
  const savedLog = process.env.WINPE_TOOL_LOG;

  async function imageFile(imagePath: string): Promise<Buffer> {
    const out = path.join(dir, `x-${Math.random().toString(16).slice(2)}`);
    await runTool("wimlib-imagex", ["extract", wim, "1", `/${imagePath}`, `--dest-dir=${out}`, "--no-acls"]);
    const b = fs.readFileSync(path.join(out, path.basename(imagePath)));
    fs.rmSync(out, { recursive: true, force: true });
    return b;
  }

  beforeAll(async () => {
    setProgressFallback((l) => notices.push(l));
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "winpe-drivertest-"));
    process.env.WINPE_LAB_LOCK_DIR = path.join(dir, "locks");
    process.env.WINPE_TOOL_LOG = path.join(dir, "tools.jsonl");
    const ws = await copype("amd64", path.join(dir, "WinPE_amd64"));
    wim = ws.bootWim;
    pristineHive = await imageFile(HIVE);
    const built = await buildProject({
      project: path.join(REPO_ROOT, "examples", "ioctl", "ioctl.sln"),
      configuration: "Debug",
      platform: "x64",
      outDir: path.join(dir, "build"),
      cacheDir: path.join(dir, "cache"),
    });
    const mount = (await mountP.create({ toolchain: "open", wim, index: 1, mountDir: ws.mount, holder: "test/dt" }))
      .outs as Props;
    ref = { toolchain: "open", wim, index: 1, mountDir: ws.mount, privateDir: mount.privateDir, holder: "test/dt" };
    const files: Record<string, unknown> = {};
    for (const o of built.outputs) files[`Windows/Ioctl/${path.basename(o.path)}`] = { source: o.path };
    files["Windows/Ioctl/notes.txt"] = { content: "given by its content\r\n" };
    const checked = await injectP.check({}, { mount: ref, files });
    expect(checked.failures).toBeUndefined();
    const inject = (await injectP.create(checked.inputs as Props)).outs as Props;
    commit = (await commitP.create({ mount: ref, files: inject.staged, contentHash: inject.contentHash }))
      .outs as Props;
    const content = await wimContent(wim, dir);
    expect(content["Windows/Ioctl/notes.txt"]).toBe(sha256("given by its content\r\n"));
  }, 300_000);
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    delete process.env.WINPE_LAB_LOCK_DIR;
    if (savedLog === undefined) delete process.env.WINPE_TOOL_LOG;
    else process.env.WINPE_TOOL_LOG = savedLog;
  });

  const testArgs = (over: Props = {}): Props => ({
    toolchain: "open",
    arch: "amd64",
    mount: ref,
    folder: "Windows/Ioctl",
    contentDigest: "digest-1",
    command: ["ioctlapp.exe"],
    pass: { exitCode: 0, output: "^METHOD_BUFFERED: ok: " },
    timeoutSec: 120,
    onFail: "error",
    workDir: path.join(dir, "WinPE_amd64", ".winpe-lab", "test"),
    redact: ["SIoctl"],
    ...over,
  });

  it("DriverTest runs the app and driver read out of the WIM under Wine: pass, output redacted", {
    timeout: 300_000,
  }, async () => {
    const checked = await testP.check({}, testArgs());
    expect(checked.failures).toBeUndefined();
    const outs = (await testP.create(checked.inputs as Props)).outs as Props;
    expect(outs).toMatchObject({ verdict: "pass", reason: "", exitCode: 0, testedDigest: "digest-1" });
    const head = outs.outputHead as string[];
    expect(head).toContain('METHOD_BUFFERED: ok: "SIOCTL answers METHOD_BUFFERED: hello from the kernel!" (55 bytes)');
    // a redacted string never shows
    expect(head.join("\n")).not.toContain("SIoctl");
    expect(head).toContain("ioctlapp: service [secret] stopped and deleted");
    // the folder it ran in holds exactly what the image holds there (read out with wimlib)
    const image = path.join(dir, "WinPE_amd64", ".winpe-lab", "test", "image", "Windows", "Ioctl");
    expect(fs.readdirSync(image).sort()).toEqual(["ioctlapp.exe", "notes.txt", "sioctl.sys"]);
    expect(toolLog().some((l) => l.tool === "wimlib-imagex" && String(l.resource).startsWith("DriverTest"))).toBe(true);
  });

  it("a fail with onFail error throws with the output; with warn it records verdict fail", {
    timeout: 300_000,
  }, async () => {
    await expect(testP.create(testArgs({ pass: { exitCode: 3, output: null } }))).rejects.toThrow(
      /DriverTest: the driver test failed: ioctlapp\.exe in Windows\/Ioctl \(wine-.*?, x64\): exit code 0, expected 3\nits output:\n {2}ioctlapp: driver/,
    );
    const outs = (await testP.create(testArgs({ pass: { exitCode: 3, output: null }, onFail: "warn" }))).outs as Props;
    expect(outs).toMatchObject({ verdict: "fail", reason: "exit code 0, expected 3", exitCode: 0 });
    expect(notices.some((n) => /the driver test failed/.test(n) && /onFail is warn/.test(n))).toBe(true);
  });

  it("a program that is not in the image fails, naming what the folder holds", { timeout: 120_000 }, async () => {
    const outs = (await testP.create(testArgs({ command: ["missing.exe"], onFail: "warn" }))).outs as Props;
    expect(outs.verdict).toBe("fail");
    expect((outs.outputHead as string[])[0]).toBe(
      "winpe-lab: missing.exe is not in the image's Windows/Ioctl (it holds: ioctlapp.exe, notes.txt, sioctl.sys)",
    );
  });

  it("arm64 (and no command) say plainly that the test did not run, and run no tool", async () => {
    const before = toolLog().length;
    const arm = (await testP.create(testArgs({ arch: "arm64" }))).outs as Props;
    expect(arm.verdict).toBe("not run");
    expect(arm.reason).toMatch(/the image is arm64 and Wine runs x64 Windows programs only/);
    const none = (await testP.create(testArgs({ command: [], noCommandReason: "no app" }))).outs as Props;
    expect(none).toMatchObject({ verdict: "not run", reason: "no app" });
    expect(toolLog().length).toBe(before);
    // diff runs nothing; a not-run test whose reason is gone (an amd64 image on a host with Wine) runs again
    expect((await testP.diff("id", arm, testArgs({ arch: "arm64" }))).changes).toBe(false);
    expect((await testP.diff("id", { ...arm, arch: "amd64" }, testArgs())).changes).toBe(true);
    expect(toolLog().length).toBe(before);
  });

  it("delete removes the stack's test folder (the Wine prefix)", async () => {
    const workDir = testArgs().workDir as string;
    expect(fs.existsSync(path.join(workDir, "wineprefix"))).toBe(true);
    await testP.delete("id", {
      ...testArgs(),
      verdict: "pass",
      reason: "",
      exitCode: 0,
      outputHead: [],
      outputTail: [],
      outputLines: 0,
      durationMs: 1,
      testedDigest: "d",
      runner: "wine",
      stateVersion: 1,
    });
    expect(fs.existsSync(workDir)).toBe(false);
  });

  const verifierArgs = (level = 0x209bb): Props => ({
    mount: ref,
    values: { VerifyDrivers: "sioctl.sys", VerifyDriverLevel: level },
    flags: ["standard"],
    imageRevision: commit.wimDigest,
    stateDir: path.join(dir, "WinPE_amd64", ".winpe-lab", "verifier"),
  });

  async function hiveNow(): Promise<string> {
    const f = path.join(dir, `hive-${Math.random().toString(16).slice(2)}`);
    fs.writeFileSync(f, await imageFile(HIVE));
    return f;
  }

  it("DriverVerifier writes the two values into the image's SYSTEM hive; destroy restores it byte for byte", {
    timeout: 120_000,
  }, async () => {
    const checked = await verifierP.check({}, verifierArgs());
    expect(checked.failures).toBeUndefined();
    const outs = (await verifierP.create(checked.inputs as Props)).outs as Props;
    expect(outs).toMatchObject({
      controlSet: "ControlSet001",
      previous: { VerifyDrivers: null, VerifyDriverLevel: null },
      pristineKept: true,
      drift: [],
    });
    const h = await hiveNow();
    expect((await runTool("hivexget", [h, MM, "VerifyDrivers"])).stdout.trim()).toBe("sioctl.sys");
    expect(Number((await runTool("hivexget", [h, MM, "VerifyDriverLevel"])).stdout.trim())).toBe(0x209bb);
    // reglookup (another reader) sees the types Microsoft documents: REG_SZ and REG_DWORD
    const rl = await runTool("reglookup", ["-p", "/ControlSet001/Control/Session Manager/Memory Management", h]);
    expect(rl.stdout).toMatch(/\/VerifyDrivers,SZ,sioctl\.sys,/);
    expect(rl.stdout).toMatch(/\/VerifyDriverLevel,DWORD,0x000209BB,/i);
    // an update of the level, then a no-op update that writes nothing
    const up = (await verifierP.update("id", outs, verifierArgs(0x209bb | 0x400))).outs as Props;
    expect(Number((await runTool("hivexget", [await hiveNow(), MM, "VerifyDriverLevel"])).stdout.trim())).toBe(
      0x209bb | 0x400,
    );
    const wimBefore = sha256(fs.readFileSync(wim));
    const again = (await verifierP.update("id", up, verifierArgs(0x209bb | 0x400))).outs as Props;
    expect(sha256(fs.readFileSync(wim))).toBe(wimBefore);
    expect((await verifierP.read("id", again)).props?.drift).toEqual([]);
    await verifierP.delete("id", again);
    expect((await imageFile(HIVE)).equals(pristineHive)).toBe(true);
    expect(fs.existsSync(verifierArgs().stateDir as string)).toBe(false);
  });

  it("when someone else changed the hive since, destroy puts back only the two values", {
    timeout: 120_000,
  }, async () => {
    const outs = (await verifierP.create(verifierArgs())).outs as Props;
    // another tool adds a value of its own to the same key, and commits the hive
    const other = Hive.parse(await imageFile(HIVE));
    other.setValue(MM, "PagingFiles", RegType.MULTI_SZ, Buffer.from("x:\\pagefile.sys\0\0", "utf16le"));
    const otherFile = path.join(dir, "SYSTEM.other");
    fs.writeFileSync(otherFile, other.serialize());
    await runTool("wimlib-imagex", ["update", wim, "1"], { input: `add "${otherFile}" "/${HIVE}"\n` });
    expect((await verifierP.read("id", outs)).props?.drift).toEqual(["hive"]);
    await verifierP.delete("id", outs);
    const h = await hiveNow();
    expect((await runTool("hivexget", [h, MM, "PagingFiles"])).stdout).toContain("x:\\pagefile.sys");
    expect((await runTool("hivexget", [h, MM, "VerifyDrivers"], { okExitCodes: [0, 1] })).stdout.trim()).toBe("");
    expect(notices.some((n) => /changed by someone else/.test(n))).toBe(true);
  });

  it("the REGF edit records and restores values that were there before", () => {
    const hive = Hive.parse(pristineHive);
    const level = Buffer.alloc(4);
    level.writeUInt32LE(3, 0);
    hive.setValue(MM, "VerifyDriverLevel", RegType.DWORD, level);
    const before = readVerifierValues(hive);
    const bytes = hive.serialize();
    const h2 = Hive.parse(bytes);
    expect(applyVerifierValues(h2, { VerifyDrivers: "a.sys b.sys", VerifyDriverLevel: 0x209bb })).toEqual(before);
    restoreVerifierValues(h2, before);
    expect(readVerifierValues(h2)).toEqual(before);
  });
});
