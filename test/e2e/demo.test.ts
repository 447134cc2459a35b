/**
 * The end-to-end acceptance suite: the real program (index.ts) on the real Pulumi engine through the Automation
 * API, for both demo architectures (open toolchain, synthetic WinPE workspace, examples/ioctl, QEMU boot check).
 * Everything is checked with independent readers: xorriso (ISO), hivexget (BCD), wimlib-imagex (WIM),
 * osslsigncode (signature).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256 } from "../../runtime/digest";
import { runTool } from "../../runtime/exec";
import { readIsoRecord } from "../../toolchains/open/iso-update";
import { makeMedia } from "../../toolchains/open/makemedia";
import { snapshot, snapshotDiff } from "../bad-inputs/workspace";
import {
  type DemoArch,
  type DemoStack,
  extractFromIso,
  listAll,
  openDemoStack,
  opsByType,
} from "../helpers/demo-stack";
import { treeDigestHere } from "../helpers/tree-digest";
import { wimContent } from "../helpers/wim";
import { runIoctlAppUnderWine } from "../helpers/wine";

const DBG = "{4636856e-540f-4170-a130-a84776f4c654}";

async function hivex(store: string, key: string, binary = true): Promise<string | null> {
  const r = await runTool("hivexget", [store, key, "Element"], { okExitCodes: [0, 1], binaryStdout: binary });
  if (r.exitCode !== 0) return null;
  return binary ? r.stdoutBuffer.toString("hex") : r.stdoutBuffer.toString("utf8").trim();
}

describe.each<DemoArch>(["amd64", "arm64"])("e2e %s: demo stack on the real engine", (arch) => {
  let d: DemoStack;
  let firstIsoSha = "";
  let builtSha: Record<string, string> = {};

  beforeAll(async () => {
    d = await openDemoStack(arch);
  });
  afterAll(async () => {
    if (d) await d.cleanup();
  });

  /**
   * WinPeIso changed the ISO in place (no tool run: no xorriso write, and the writer known from the ISO's record),
   * and the result is byte for byte the ISO a full write (makeMedia: xorriso) of the same working folder makes.
   */
  async function expectIsoUpdatedInPlace(mark: number): Promise<void> {
    const runs = d.toolLinesSince(mark).filter((l) => String(l.resource).startsWith("WinPeIso"));
    expect(runs.map((l) => `${l.tool} ${(l.argv as string[]).join(" ")}`)).toEqual([]);
    const ref = path.join(d.dir, "full-write.iso");
    await makeMedia(d.workspace, ref, { force: true, arch });
    expect(fs.readFileSync(d.isoPath).equals(fs.readFileSync(ref)), "the updated ISO differs from a full write").toBe(
      true,
    );
    fs.rmSync(ref);
  }

  /** How the last in-place update knew boot.wim's kept part (the ISO's record, toolchains/open/iso-update.ts). */
  function isoKeptBy(): string | undefined {
    return readIsoRecord(path.join(d.workspace, ".winpe-lab"), d.isoPath)?.last?.keptBy;
  }

  async function bcdFromIso(): Promise<string> {
    const data = await extractFromIso(d.isoPath, "/EFI/Microsoft/Boot/BCD", d.dir);
    const f = path.join(d.dir, `bcd-${sha256(data).slice(0, 8)}`);
    fs.writeFileSync(f, data);
    return f;
  }

  it("a preview of the new stack writes nothing the user sees (working folder and ISO folder unchanged)", async () => {
    const before = { ws: snapshot(d.workspace), iso: snapshot(path.dirname(d.isoPath)) };
    await d.stack.preview();
    expect(snapshotDiff(before.ws, snapshot(d.workspace))).toEqual([]);
    expect(snapshotDiff(before.iso, snapshot(path.dirname(d.isoPath)))).toEqual([]);
  });

  it("up from nothing: ISO, BCD with testsigning and KDNET, signed binaries in boot.wim, boot check", async () => {
    const r = await d.stack.up();
    expect(r.summary.result).toBe("succeeded");
    // ten resources and the driver test (DriverTest)
    expect(r.summary.resourceChanges).toEqual({ create: 11 });
    expect(fs.existsSync(d.isoPath)).toBe(true);
    firstIsoSha = r.outputs.isoDigest.value;
    expect(treeDigestHere(fs.readFileSync(d.isoPath))).toBe(firstIsoSha);

    // El Torito: the UEFI boot image is there
    const et = await runTool("xorriso", ["-indev", d.isoPath, "-report_el_torito", "plain"]);
    expect(et.stdout).toMatch(/El Torito boot img :\s+1\s+UEFI/);

    // the BCD inside the ISO, read by hivexget
    const bcd = await bcdFromIso();
    const def = await hivex(bcd, "\\Objects\\{9dea862c-5cdd-4e70-acc1-f32b344d4795}\\Elements\\23000003", false);
    expect(await hivex(bcd, `\\Objects\\${def}\\Elements\\16000049`)).toBe("01"); // testsigning
    expect(await hivex(bcd, `\\Objects\\${def}\\Elements\\260000a0`)).toBe("01"); // debug
    expect(await hivex(bcd, `\\Objects\\${DBG}\\Elements\\15000011`)).toBe("0300000000000000"); // debugtype NET
    expect(await hivex(bcd, `\\Objects\\${DBG}\\Elements\\1500001b`)).toBe("55c3000000000000"); // port 50005

    // boot.wim inside the ISO holds the built, signed binaries (hashes match DriverBuild's outputs)
    const built = r.outputs.builtFiles.value as Record<string, { sha256: string; signed: boolean; machine: string }>;
    builtSha = Object.fromEntries(Object.entries(built).map(([n, f]) => [n, f.sha256]));
    expect(Object.keys(built).sort()).toEqual(["ioctlapp.exe", "sioctl.sys"]);
    expect(built["sioctl.sys"].signed).toBe(true);
    expect(built["sioctl.sys"].machine).toBe(arch === "amd64" ? "x64" : "ARM64");
    const wimFromIso = path.join(d.dir, "boot-from-iso.wim");
    fs.writeFileSync(wimFromIso, await extractFromIso(d.isoPath, "/sources/boot.wim", d.dir));
    const content = await wimContent(wimFromIso, d.dir);
    expect(content["Windows/Ioctl/sioctl.sys"]).toBe(built["sioctl.sys"].sha256);
    expect(content["Windows/Ioctl/ioctlapp.exe"]).toBe(built["ioctlapp.exe"].sha256);
    // the signature verifies against the stack's test certificate
    const sys = path.join(d.dir, "sioctl-from-iso.sys");
    await runTool("wimlib-imagex", [
      "extract",
      wimFromIso,
      "1",
      "/Windows/Ioctl/sioctl.sys",
      `--dest-dir=${d.dir}`,
      "--no-acls",
    ]);
    fs.renameSync(path.join(d.dir, "sioctl.sys"), sys);
    const crt = path.join(d.workspace, ".winpe-lab", "cert", "winpe-lab-test.crt");
    const v = await runTool("osslsigncode", ["verify", "-CAfile", crt, "-in", sys], { okExitCodes: [0, 1] });
    expect(v.stdout + v.stderr).toMatch(/Signature verification: ok/);

    // the QEMU boot check saw the stand-in's marker
    expect(r.outputs.bootCheck.value).toContain(`WINPE-LAB STAND-IN BOOT OK arch=${arch}`);
    // the debugger command is a secret output
    expect(r.outputs.debuggerCommand.secret).toBe(true);
    // the driver test's verdict: x64 under Wine; arm64 says plainly that it did not run, and why
    const t = r.outputs.driverTest.value as { verdict: string; reason: string; outputHead: string[] };
    if (arch === "amd64") {
      expect(t.verdict, JSON.stringify(t)).toBe("pass");
      expect(t.outputHead).toContain(
        'METHOD_BUFFERED: ok: "SIOCTL answers METHOD_BUFFERED: hello from the kernel!" (55 bytes)',
      );
    } else {
      expect(t.verdict).toBe("not run");
      expect(t.reason).toMatch(/the image is arm64 and Wine runs x64 Windows programs only/);
    }
  });

  it("secrets never appear in plain text: state files, tool log, stack outputs", async () => {
    const key = d.kdnetKey;
    const keyUtf16Hex = Buffer.from(`${key}\0`, "utf16le").toString("hex");
    const state = path.join(d.dir, "state");
    const files = listAll(state).map((f) => path.join(state, f));
    files.push(d.toolLog);
    expect(files.length).toBeGreaterThan(1);
    for (const f of files) {
      const text = fs.readFileSync(f, "utf8");
      expect(text.includes(key), f).toBe(false);
      expect(text.includes(keyUtf16Hex), f).toBe(false);
      expect(/BEGIN [A-Z ]*PRIVATE KEY/.test(text), f).toBe(false);
    }
    const out = await d.stack.outputs();
    expect(JSON.stringify(out.bcdSettings.value)).not.toContain(key);
  });

  // x64 only (Wine runs x64 Windows programs): registered for amd64, not skipped for arm64
  if (arch === "amd64")
    it("Wine: the app and driver taken from the ISO's boot.wim complete the METHOD_BUFFERED round trip", {
      timeout: 300_000,
    }, async () => {
      const wim = path.join(d.dir, "wine-boot.wim");
      fs.writeFileSync(wim, await extractFromIso(d.isoPath, "/sources/boot.wim", d.dir));
      const run = path.join(d.dir, "wine-run");
      await runTool("wimlib-imagex", ["extract", wim, "1", "/Windows/Ioctl", `--dest-dir=${run}`, "--no-acls"]);
      expect(fs.readdirSync(path.join(run, "Ioctl")).sort()).toEqual(["ioctlapp.exe", "sioctl.sys"]);
      const out = await runIoctlAppUnderWine(path.join(run, "Ioctl"), path.join(d.dir, "wineprefix"));
      expect(out, out).toContain('METHOD_BUFFERED: ok: "SIOCTL answers METHOD_BUFFERED: hello from the kernel!"');
      expect(out, out).toMatch(/service SIoctl stopped and deleted/);
    });

  it("a second up: its preview and the up show no changes, zero new tool-log lines", async () => {
    const mark = d.toolLineCount();
    // the preview too: no output a dependent reads may be unknown (an update shown for nothing)
    const p = await d.stack.preview();
    expect(p.changeSummary).toEqual({ same: 11 });
    const r = await d.stack.up();
    expect(r.summary.resourceChanges).toEqual({ same: 11 });
    expect(d.toolLinesSince(mark)).toEqual([]);
  });

  it("edit one driver source: preview names exactly the downstream resources; up runs only their tools", async () => {
    const file = path.join(d.src, "sys", "sioctl.c");
    fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace('"Debug build"', '"Debug build (edited by e2e)"'));
    const events: EngineEvent[] = [];
    const p = await d.stack.preview({ onEvent: (e) => events.push(e), diff: true });
    expect(opsByType(events).update).toEqual([
      "DriverBuild",
      "DriverTest",
      "ImageCommit",
      "InjectedFiles",
      "VmBootMedia",
      "WinPeIso",
    ]);
    expect(p.changeSummary).toEqual({ same: 5, update: 6 });
    // the InjectedFiles diff names that file, not the app
    expect(p.stdout).toMatch(/~ Windows\/Ioctl\/sioctl\.sys/);
    expect(p.stdout).not.toMatch(/~ Windows\/Ioctl\/ioctlapp\.exe/);

    const mark = d.toolLineCount();
    const upEvents: EngineEvent[] = [];
    const r = await d.stack.up({ onEvent: (e) => upEvents.push(e) });
    expect(opsByType(upEvents).update).toEqual([
      "DriverBuild",
      "DriverTest",
      "ImageCommit",
      "InjectedFiles",
      "VmBootMedia",
      "WinPeIso",
    ]);
    const built = r.outputs.builtFiles.value as Record<string, { sha256: string }>;
    expect(built["sioctl.sys"].sha256).not.toBe(builtSha["sioctl.sys"]);
    expect(built["ioctlapp.exe"].sha256).toBe(builtSha["ioctlapp.exe"]);
    const lines = d.toolLinesSince(mark);
    const who = new Set(lines.map((l) => String(l.resource).split("(")[0]));
    for (const w of who)
      expect(["DriverBuild", "InjectedFiles", "ImageCommit", "WinPeIso", "VmBootMedia", "DriverTest"]).toContain(w);
    expect(who.has("ImageCommit")).toBe(true);
    expect(who.has("BcdSettings") || who.has("MountedImage")).toBe(false);
    // the build is incremental: the driver's one compile, its link and its signature (with their checks), nothing
    // of the app's project (its object comes from the cache, its binary is left as it was), no toolchain probe
    const build = lines
      .filter((l) => String(l.resource).startsWith("DriverBuild"))
      .map((l) => ({ tool: String(l.tool), argv: l.argv as string[] }));
    const step = (l: { tool: string; argv: string[] }) =>
      l.tool === "clang"
        ? l.argv.includes("-c")
          ? "compile"
          : `clang ${l.argv[0]}`
        : l.tool === "osslsigncode"
          ? `osslsigncode ${l.argv[0]}`
          : l.tool;
    expect(build.map(step).sort()).toEqual([
      "compile",
      "lld-link",
      "llvm-readobj",
      "osslsigncode sign", // verified in-process (formats/authenticode.ts): no `osslsigncode verify` run
    ]);
    expect(build.find((l) => l.tool === "clang")?.argv).toContain(file);
    expect(build.find((l) => l.tool === "lld-link")?.argv.find((a) => a.startsWith("/out:"))).toMatch(/sioctl\.sys$/);
    expect(build.filter((l) => l.argv.some((a) => a.includes("ioctlapp")))).toEqual([]);
    await expectIsoUpdatedInPlace(mark);
    // boot.wim was not read again: ImageCommit's append is on record (toolchains/open/wim-appends.ts)
    expect(isoKeptBy()).toBe("record");
  });

  it("testsigning off: only BcdSettings, WinPeIso and VmBootMedia change; the WIM is not touched", async () => {
    const wimBefore = sha256(fs.readFileSync(d.wim));
    await d.stack.setConfig("winpe-lab:bcd", {
      value: JSON.stringify({ stores: arch === "amd64" ? "both" : "efi", testsigning: false, debug: true }),
    });
    const events: EngineEvent[] = [];
    await d.stack.preview({ onEvent: (e) => events.push(e) });
    expect(opsByType(events).update, JSON.stringify(opsByType(events))).toEqual([
      "BcdSettings",
      "VmBootMedia",
      "WinPeIso",
    ]);
    const upEvents: EngineEvent[] = [];
    const mark = d.toolLineCount();
    await d.stack.up({ onEvent: (e) => upEvents.push(e) });
    expect(opsByType(upEvents).update).toEqual(["BcdSettings", "VmBootMedia", "WinPeIso"]);
    expect(sha256(fs.readFileSync(d.wim))).toBe(wimBefore);
    await expectIsoUpdatedInPlace(mark);
    const bcd = await bcdFromIso();
    const def = await hivex(bcd, "\\Objects\\{9dea862c-5cdd-4e70-acc1-f32b344d4795}\\Elements\\23000003", false);
    expect(await hivex(bcd, `\\Objects\\${def}\\Elements\\16000049`)).toBe("00");
  });

  it("refresh after deleting the ISO by hand shows the drift; up puts it back", async () => {
    const before = sha256(fs.readFileSync(d.isoPath));
    fs.rmSync(d.isoPath);
    const events: EngineEvent[] = [];
    const rf = await d.stack.refresh({ onEvent: (e) => events.push(e) });
    expect(rf.summary.resourceChanges?.update).toBeGreaterThanOrEqual(1);
    const state = await d.stack.exportStack();
    const iso = state.deployment.resources.find((x: { type: string }) => x.type.endsWith(":WinPeIso"));
    expect(iso.outputs.state).toBe("missing");
    const r = await d.stack.up();
    expect(r.summary.resourceChanges?.update).toBeGreaterThanOrEqual(1);
    expect(fs.existsSync(d.isoPath)).toBe(true);
    // the ISO is reproducible: the same media give the same bytes
    expect(sha256(fs.readFileSync(d.isoPath))).toBe(before);
  });

  it("destroy: no mount, no ISO, no VM files, BCD stores byte-identical to after copype, stack empty", async () => {
    const r = await d.stack.destroy();
    expect(r.summary.result).toBe("succeeded");
    expect(fs.existsSync(d.isoPath)).toBe(false);
    expect(listAll(d.mountDir)).toEqual([]);
    expect(fs.existsSync(d.vmDir)).toBe(false);
    for (const [rel, bytes] of Object.entries(d.pristineStores)) {
      expect(fs.readFileSync(path.join(d.mediaDir, ...rel.split("/"))).equals(bytes), rel).toBe(true);
    }
    // WIM content as before (the Windows/Ioctl folder we created is gone too), nothing of ours left in the
    // workspace (no bookkeeping folder, no digest cache), no temp files, no locks
    const content = await wimContent(d.wim, d.dir);
    expect(Object.keys(content).filter((k) => k.startsWith("Windows/Ioctl"))).toEqual([]);
    expect(listAll(d.workspace).filter((f) => !f.startsWith("media/") && !f.startsWith("fwfiles/"))).toEqual([]);
    expect(fs.existsSync(path.join(d.workspace, ".winpe-lab"))).toBe(false);
    expect(listAll(d.workspace).filter((f) => f.includes(".winpe-tmp-"))).toEqual([]);
    expect(listAll(d.lockDir)).toEqual([]);
    const state = await d.stack.exportStack();
    expect(state.deployment.resources ?? []).toHaveLength(0);
  });
});
