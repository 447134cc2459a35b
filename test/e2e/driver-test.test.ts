/**
 * Issue 17 on the real engine (Automation API, the real program, the open toolchain, amd64): every `pulumi up` ends
 * with the driver test's verdict. The Wine pre-flight runs the app and driver read out of the committed WIM; a
 * driver edit that breaks the METHOD_BUFFERED reply fails the up with the app's output; reverting passes again; a
 * no-op up runs no tool; `onFail: warn` finishes with a warning and `verdict: fail`. The boot-time hook and the
 * Driver Verifier values are read back from the WIM inside the ISO (xorriso, wimlib, hivexget); the hook's test
 * script, taken from there, runs under Wine's cmd with COM1 on a FIFO and writes its verdict line; destroy puts
 * the SYSTEM hive back byte for byte.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256 } from "../../runtime/digest";
import { runTool } from "../../runtime/exec";
import { type DemoStack, extractFromIso, listAll, openDemoStack, opsByType } from "../helpers/demo-stack";
import { wimContent } from "../helpers/wim";
import { runHookUnderWine } from "../helpers/wine-serial";

const HIVE = "Windows/System32/config/SYSTEM";
const MM = "ControlSet001\\Control\\Session Manager\\Memory Management";
const GOOD = "Irp->IoStatus.Information = SioctlPutReply(buffer, outLength, SIOCTL_REPLY_BUFFERED);";
const BROKEN = 'Irp->IoStatus.Information = SioctlPutReply(buffer, outLength, "SIOCTL answers: something else");';

interface Summary {
  verdict: string;
  reason: string;
  exitCode: number | null;
  outputHead: string[];
  outputTail: string[];
  testedDigest: string;
  runner: string;
}

async function extractImageFile(wim: string, imagePath: string, scratch: string): Promise<Buffer> {
  const out = path.join(scratch, `x-${sha256(imagePath + Math.random()).slice(0, 8)}`);
  await runTool("wimlib-imagex", ["extract", wim, "1", `/${imagePath}`, `--dest-dir=${out}`, "--no-acls"]);
  const data = fs.readFileSync(path.join(out, path.basename(imagePath)));
  fs.rmSync(out, { recursive: true, force: true });
  return data;
}

async function hivexget(hive: string, key: string, value: string): Promise<string> {
  const r = await runTool("hivexget", [hive, key, value]);
  return r.stdout.trim();
}

describe("e2e amd64: the driver test (DriverTest, boot hook, Driver Verifier) on the real engine", () => {
  let d: DemoStack;
  let pristineHive: Buffer;
  let pristineStartnet: Buffer;
  let pristineContent: Record<string, string>;
  let driverSource = "";

  beforeAll(async () => {
    d = await openDemoStack("amd64", {
      bootCheck: false,
      name: "e2e-drivertest",
      test: { boot: true, pass: { exitCode: 0, output: "^METHOD_BUFFERED: ok: " }, verifier: { flags: ["standard"] } },
    });
    pristineHive = await extractImageFile(d.wim, HIVE, d.dir);
    pristineStartnet = await extractImageFile(d.wim, "Windows/System32/startnet.cmd", d.dir);
    pristineContent = await wimContent(d.wim, d.dir);
    driverSource = path.join(d.src, "sys", "sioctl.c");
    expect(fs.readFileSync(driverSource, "utf8")).toContain(GOOD);
  }, 120_000);
  afterAll(async () => {
    if (d) await d.cleanup();
  });

  /** The boot.wim inside the ISO, extracted with xorriso. */
  async function wimFromIso(): Promise<string> {
    const f = path.join(d.dir, `iso-boot-${Math.random().toString(16).slice(2)}.wim`);
    fs.writeFileSync(f, await extractFromIso(d.isoPath, "/sources/boot.wim", d.dir));
    return f;
  }

  it("up: the verdict is pass, with the app's round-trip lines; the tested digest is the image's", {
    timeout: 600_000,
  }, async () => {
    const r = await d.stack.up();
    expect(r.summary.result).toBe("succeeded");
    expect(r.summary.resourceChanges).toEqual({ create: 12 });
    const t = r.outputs.driverTest.value as Summary;
    expect(t.verdict, JSON.stringify(t)).toBe("pass");
    expect(t.exitCode).toBe(0);
    expect(t.runner).toMatch(/^wine-\d/);
    expect(t.outputHead).toContain(
      'METHOD_BUFFERED: ok: "SIOCTL answers METHOD_BUFFERED: hello from the kernel!" (55 bytes)',
    );
    expect(t.outputHead).toContain("ioctlapp: service SIoctl stopped and deleted");
    expect(t.testedDigest).toMatch(/^[0-9a-f]{64}$/);
    // the files it ran were read out of the WIM (wimlib), in the stack's own folder, with the stack's own prefix
    const who = d.toolLinesSince(0).filter((l) => String(l.resource).startsWith("DriverTest"));
    expect(who.some((l) => l.tool === "wimlib-imagex" && (l.argv as string[])[0] === "extract")).toBe(true);
    expect(who.some((l) => String(l.tool).endsWith("wine64") && (l.argv as string[])[0] === "ioctlapp.exe")).toBe(true);
    expect(fs.existsSync(path.join(d.workspace, ".winpe-lab", "test", "wineprefix", "system.reg"))).toBe(true);
    // the synthetic media cannot run the boot-time test: said plainly
    expect(r.outputs.bootTest.value).toMatch(/^not run: the synthetic working folder's stand-in/);
  });

  it("the ISO's boot.wim holds the start hook and the Driver Verifier values (xorriso + wimlib + hivexget)", async () => {
    const wim = await wimFromIso();
    const startnet = (await extractImageFile(wim, "Windows/System32/startnet.cmd", d.dir)).toString("latin1");
    expect(startnet).toMatch(/^wpeinit\r$/m);
    expect(startnet).toContain('call "%~dp0winpe-lab\\test.cmd"');
    expect(startnet).toMatch(/^wpeutil shutdown\r$/m);
    expect(startnet.indexOf("wpeinit")).toBeLessThan(startnet.indexOf("winpe-lab\\test.cmd"));
    const testCmd = (await extractImageFile(wim, "Windows/System32/winpe-lab/test.cmd", d.dir)).toString("latin1");
    expect(testCmd).toContain("ioctlapp.exe");
    expect(testCmd).toContain(">COM1 echo WINPE-LAB TEST %WLT_VERDICT%");
    const hive = path.join(d.dir, "SYSTEM-from-iso");
    fs.writeFileSync(hive, await extractImageFile(wim, HIVE, d.dir));
    expect(await hivexget(hive, MM, "VerifyDrivers")).toBe("sioctl.sys");
    expect(Number(await hivexget(hive, MM, "VerifyDriverLevel"))).toBe(0x209bb);
    const out = await d.stack.outputs();
    expect(out.verifier.value).toMatchObject({
      values: { VerifyDrivers: "sioctl.sys", VerifyDriverLevel: 0x209bb },
      flags: ["standard"],
    });
  });

  it("the hook's test.cmd from the ISO's WIM runs under Wine's cmd and writes its verdict to COM1", {
    timeout: 300_000,
  }, async () => {
    const wim = await wimFromIso();
    const root = path.join(d.dir, "hook-root");
    await runTool("wimlib-imagex", [
      "extract",
      wim,
      "1",
      "/Windows/System32/winpe-lab",
      "/Windows/Ioctl",
      `--dest-dir=${root}`,
      "--no-acls",
      "--preserve-dir-structure",
    ]);
    const serial = await runHookUnderWine(root, path.join(d.dir, "hook-prefix"));
    expect(serial).toContain("WINPE-LAB TEST start command=ioctlapp.exe");
    expect(serial).toContain('METHOD_BUFFERED: ok: "SIOCTL answers METHOD_BUFFERED: hello from the kernel!"');
    expect(serial).toMatch(/^WINPE-LAB TEST pass exit=0 output=matched\s*$/m);
  });

  it("a no-op up changes nothing and runs no tool", async () => {
    const mark = d.toolLineCount();
    const r = await d.stack.up();
    expect(r.summary.resourceChanges).toEqual({ same: 12 });
    expect(d.toolLinesSince(mark)).toEqual([]);
  });

  it("a driver edit that breaks the METHOD_BUFFERED reply: preview shows DriverTest as an update; up fails with the app's output", {
    timeout: 600_000,
  }, async () => {
    fs.writeFileSync(driverSource, fs.readFileSync(driverSource, "utf8").replace(GOOD, BROKEN));
    const events: EngineEvent[] = [];
    await d.stack.preview({ onEvent: (e) => events.push(e) });
    expect(opsByType(events).update).toContain("DriverTest");
    let message = "";
    await d.stack.up({ onOutput: (s) => (message += s) }).then(
      () => expect.fail("the up succeeded with a broken driver"),
      (e: Error) => {
        message += `\n${e.message}`;
      },
    );
    expect(message).toMatch(/DriverTest: the driver test failed: ioctlapp\.exe in Windows\/Ioctl/);
    expect(message).toMatch(/exit code 1, expected 0/);
    expect(message).toContain('METHOD_BUFFERED: FAILED: unexpected reply "SIOCTL answers: something else"');
    expect(message).toContain("ioctlapp: 3 of 4 replies correct");
  });

  it("reverting the edit passes again", { timeout: 600_000 }, async () => {
    fs.writeFileSync(driverSource, fs.readFileSync(driverSource, "utf8").replace(BROKEN, GOOD));
    const r = await d.stack.up();
    expect(r.summary.result).toBe("succeeded");
    const t = r.outputs.driverTest.value as Summary;
    expect(t.verdict).toBe("pass");
    expect(t.outputHead).toContain("ioctlapp: 4 of 4 replies correct");
  });

  it("preview names the Driver Verifier values that change; up writes them", { timeout: 600_000 }, async () => {
    const test = {
      boot: true,
      pass: { exitCode: 0, output: "^METHOD_BUFFERED: ok: " },
      verifier: { flags: ["standard", "irpLogging"] },
    };
    await d.stack.setConfig("winpe-lab:test", { value: JSON.stringify(test) });
    const events: EngineEvent[] = [];
    const p = await d.stack.preview({ diff: true, onEvent: (e) => events.push(e) });
    expect(opsByType(events).update).toEqual(["DriverVerifier", "VmBootMedia", "WinPeIso"]);
    expect(p.stdout).toMatch(/VerifyDriverLevel\s*:\s*133563 => 134587/);
    const mark = d.toolLineCount();
    await d.stack.up();
    // the driver test does not run again: what it tests (the image folder, the test settings) did not change
    expect(d.toolLinesSince(mark).filter((l) => String(l.resource).startsWith("DriverTest"))).toEqual([]);
    const hive = path.join(d.dir, "SYSTEM-from-iso-2");
    fs.writeFileSync(hive, await extractImageFile(await wimFromIso(), HIVE, d.dir));
    expect(Number(await hivexget(hive, MM, "VerifyDriverLevel"))).toBe(0x209bb | 0x400);
  });

  it("onFail warn: the up finishes with a warning and verdict fail", { timeout: 600_000 }, async () => {
    await d.stack.setConfig("winpe-lab:test", {
      value: JSON.stringify({
        boot: true,
        pass: { exitCode: 0, output: "^METHOD_BUFFERED: ok: " },
        onFail: "warn",
        verifier: { flags: ["standard", "irpLogging"] },
      }),
    });
    fs.writeFileSync(driverSource, fs.readFileSync(driverSource, "utf8").replace(GOOD, BROKEN));
    let out = "";
    const r = await d.stack.up({ onOutput: (s) => (out += s) });
    expect(r.summary.result).toBe("succeeded");
    const t = r.outputs.driverTest.value as Summary;
    expect(t.verdict).toBe("fail");
    expect(t.exitCode).toBe(1);
    expect(t.reason).toMatch(/exit code 1, expected 0; no output line matches/);
    expect(out).toMatch(/warning: .*the driver test failed/);
    fs.writeFileSync(driverSource, fs.readFileSync(driverSource, "utf8").replace(BROKEN, GOOD));
  });

  it("destroy: the SYSTEM hive and startnet.cmd byte for byte as before, the hook gone, no test folder", {
    timeout: 300_000,
  }, async () => {
    const r = await d.stack.destroy();
    expect(r.summary.result).toBe("succeeded");
    expect((await extractImageFile(d.wim, HIVE, d.dir)).equals(pristineHive)).toBe(true);
    expect((await extractImageFile(d.wim, "Windows/System32/startnet.cmd", d.dir)).equals(pristineStartnet)).toBe(true);
    // the whole image as copype made it (files and folders)
    expect(await wimContent(d.wim, d.dir)).toEqual(pristineContent);
    expect(fs.existsSync(path.join(d.workspace, ".winpe-lab"))).toBe(false);
    expect(listAll(d.mountDir)).toEqual([]);
  });
});
