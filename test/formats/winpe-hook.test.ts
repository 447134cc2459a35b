/**
 * The boot-time test's start hook (formats/winpe-hook.ts): the findstr translation of the pass pattern, cmd
 * quoting, the files it makes, the verdict line; and the generated test.cmd run for real under Wine's cmd with COM1
 * on a FIFO (a passing and a failing test), its serial output parsed by the same function the stack uses.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  cmdArg,
  findstrPattern,
  HOOK_PATTERN_PATH,
  HOOK_TEST_PATH,
  hookFiles,
  parseVerdictLine,
  STARTNET_PATH,
  VERDICT_BOOT_PATTERN,
} from "../../formats/winpe-hook";
import { buildProject } from "../../toolchains/open/build";
import { REPO_ROOT } from "../helpers/pulumi";
import { runHookUnderWine } from "../helpers/wine-serial";

describe("findstr translation of the pass pattern", () => {
  it.each([
    ["^METHOD_BUFFERED: ok: ", "^METHOD_BUFFERED: ok: "],
    ["replies correct$", "replies correct$"],
    ["4 of 4", "4 of 4"],
    ["a.*b", "a.*b"],
    ["\\(55 bytes\\)", "(55 bytes)"],
    ["v1\\.0", "v1\\.0"],
    ["[0-9]* of [0-9]*", "[0-9]* of [0-9]*"],
  ])("%s -> %s", (js, fs_) => {
    expect(findstrPattern(js)).toBe(fs_);
    // the same meaning in JavaScript (what the pre-flight uses)
    expect(() => new RegExp(js)).not.toThrow();
  });

  it.each([
    ["\\d+ of 4", /uses \\d, which findstr does not have/],
    ["ok|fine", /uses '\|'/],
    ["(ok)", /uses '\('/],
    ["a+", /uses '\+'/],
    ["a^b", /\^ other than at its start/],
    ["a$b", /\$ other than at its end/],
    ["[\\w]", /class with an escape/],
    ["é", /U\+e9/],
  ])("refuses %s", (js, why) => {
    expect(() => findstrPattern(js)).toThrow(why);
  });
});

describe("cmd arguments", () => {
  it("quotes only what needs it, doubles %, refuses what cmd cannot pass", () => {
    expect(cmdArg("ioctlapp.exe")).toBe("ioctlapp.exe");
    expect(cmdArg("two words")).toBe('"two words"');
    expect(cmdArg("a&b")).toBe('"a&b"');
    expect(cmdArg("100%")).toBe('"100%%"');
    expect(() => cmdArg('say "hi"')).toThrow(/double quote/);
    expect(() => cmdArg("a\nb")).toThrow(/control or non-ASCII/);
  });
});

describe("the hook's files", () => {
  it("startnet.cmd: wpeinit, the test, wpeutil shutdown; test.cmd and the pattern file; CRLF, ASCII", () => {
    const f = hookFiles({ folder: "Windows/Ioctl", command: ["ioctlapp.exe", "-v"], exitCode: 0, output: "^ok$" });
    expect(Object.keys(f).sort()).toEqual([HOOK_PATTERN_PATH, HOOK_TEST_PATH, STARTNET_PATH].sort());
    const lines = f[STARTNET_PATH]!.split("\r\n");
    const at = (s: string) => lines.indexOf(s);
    expect(at("wpeinit")).toBeGreaterThan(0);
    expect(at('call "%~dp0winpe-lab\\test.cmd"')).toBeGreaterThan(at("wpeinit"));
    expect(at("wpeutil shutdown")).toBeGreaterThan(at('call "%~dp0winpe-lab\\test.cmd"'));
    expect(f[HOOK_PATTERN_PATH]).toBe("^ok$\r\n");
    expect(f[HOOK_TEST_PATH]).toContain('cd /d "%~dp0..\\..\\..\\Windows\\Ioctl"');
    expect(f[HOOK_TEST_PATH]).toContain('ioctlapp.exe -v >"%WLT_LOG%" 2>&1');
    for (const text of Object.values(f)) {
      expect(/[^\x20-\x7e\r\n]/.test(text)).toBe(false);
      expect(text.replace(/\r\n/g, "")).not.toContain("\n");
    }
    // no exit-code check, no pattern file
    const g = hookFiles({ folder: "Windows/Ioctl", command: ["t.exe"], exitCode: null, output: "x" });
    expect(g[HOOK_TEST_PATH]).not.toContain('WLT_RC%"==');
    expect(
      hookFiles({ folder: "A", command: ["t.exe"], exitCode: 0, output: null })[HOOK_PATTERN_PATH],
    ).toBeUndefined();
  });

  it("the verdict line and the boot check's pattern", () => {
    expect(parseVerdictLine("WINPE-LAB TEST pass exit=0 output=matched")).toEqual({
      verdict: "pass",
      details: "exit=0 output=matched",
    });
    expect(parseVerdictLine("  WINPE-LAB TEST fail exit=1 output=no-match\r")?.verdict).toBe("fail");
    expect(parseVerdictLine("WINPE-LAB TEST start command=ioctlapp.exe")).toBeUndefined();
    const re = new RegExp(VERDICT_BOOT_PATTERN);
    expect(re.test("WINPE-LAB TEST pass exit=0")).toBe(true);
    expect(re.test("WINPE-LAB TEST start command=x")).toBe(false);
  });
});

describe("test.cmd under Wine's cmd: the serial path (COM1 on a FIFO)", () => {
  let dir: string;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "winpe-hook-"));
    const built = await buildProject({
      project: path.join(REPO_ROOT, "examples", "ioctl", "ioctl.sln"),
      configuration: "Debug",
      platform: "x64",
      outDir: path.join(dir, "build"),
      cacheDir: path.join(dir, "cache"),
    });
    for (const root of ["pass", "fail"]) {
      fs.mkdirSync(path.join(dir, root, "Windows", "Ioctl"), { recursive: true });
      for (const o of built.outputs)
        fs.copyFileSync(o.path, path.join(dir, root, "Windows", "Ioctl", path.basename(o.path)));
    }
  }, 300_000);
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const write = (root: string, files: Record<string, string>) => {
    for (const [p, text] of Object.entries(files)) {
      const f = path.join(dir, root, ...p.split("/"));
      fs.mkdirSync(path.dirname(f), { recursive: true });
      fs.writeFileSync(f, text);
    }
  };

  it("a passing test writes the app's output and 'WINPE-LAB TEST pass' to COM1", { timeout: 300_000 }, async () => {
    write("pass", hookFiles({ folder: "Windows/Ioctl", command: ["ioctlapp.exe"], exitCode: 0, output: null }));
    const serial = await runHookUnderWine(path.join(dir, "pass"), path.join(dir, "prefix"));
    expect(serial).toContain("WINPE-LAB TEST start command=ioctlapp.exe");
    expect(serial).toContain("ioctlapp: 4 of 4 replies correct");
    const verdict = serial
      .split("\n")
      .map(parseVerdictLine)
      .find((v) => v !== undefined);
    expect(verdict).toEqual({ verdict: "pass", details: "exit=0 output=unchecked" });
  });

  it("a failing test (exit code not the one asked for) writes 'WINPE-LAB TEST fail'", {
    timeout: 300_000,
  }, async () => {
    write("fail", hookFiles({ folder: "Windows/Ioctl", command: ["ioctlapp.exe"], exitCode: 7, output: null }));
    const serial = await runHookUnderWine(path.join(dir, "fail"), path.join(dir, "prefix"));
    const verdict = serial
      .split("\n")
      .map(parseVerdictLine)
      .find((v) => v !== undefined);
    expect(verdict).toEqual({ verdict: "fail", details: "exit=0 output=unchecked" });
  });
});
