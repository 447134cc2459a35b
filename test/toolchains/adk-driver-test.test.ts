/**
 * The adk toolchain and the driver test (pure: the adk toolchain cannot run here; nothing is pretended to run):
 * the host never runs the test ("not run", with the reason), and `winpe plan` shows the boot-time hook going into
 * the mounted image (with startnet.cmd's original kept) and Driver Verifier's edit of the mounted SYSTEM hive, with
 * its `reg load`/`reg add` equivalent.
 */
import { describe, expect, it } from "vitest";
import { planStack, renderPlan } from "../../cli/plan";
import { parseStackConfig } from "../../stack/config";
import { testBackend } from "../../toolchains";
import { ADK_NOT_RUN, adkTestBackend, verifierRegCommands } from "../../toolchains/adk/driver-test";
import { renderCommand } from "../../toolchains/adk/quote";

const config = parseStackConfig({
  toolchain: "adk",
  arch: "amd64",
  workspace: "D:\\WinPE_amd64",
  project: "examples\\ioctl\\ioctl.sln",
  iso: { path: "D:\\WinPE_amd64\\winpe_x64_debug.iso" },
  test: {
    boot: true,
    pass: { exitCode: 0, output: "^METHOD_BUFFERED: ok: " },
    verifier: { flags: "standard irpLogging" },
  },
});
const project = {
  needsRestore: false,
  outputs: [
    { name: "sioctl.sys", kind: "driver" as const, projectFile: "C:\\winpe-lab\\examples\\ioctl\\sys\\sioctl.vcxproj" },
    {
      name: "ioctlapp.exe",
      kind: "application" as const,
      projectFile: "C:\\winpe-lab\\examples\\ioctl\\exe\\ioctlapp.vcxproj",
    },
  ],
};

describe("adk: the driver test is not run on the host", () => {
  it("says so, with the reason, and runs nothing", async () => {
    expect(await testBackend("adk")).toBe(adkTestBackend);
    expect(adkTestBackend.cannotRun("amd64")).toBe(ADK_NOT_RUN);
    const r = await adkTestBackend.run({} as never, { resource: "t" });
    expect(r).toEqual({ ran: false, reason: ADK_NOT_RUN, runner: "none" });
    expect(ADK_NOT_RUN).toMatch(/host's own kernel/);
  });

  it("the reg equivalent of the verifier edit (for comparison in the plan)", () => {
    const cmds = verifierRegCommands("D:\\WinPE_amd64\\mount", {
      VerifyDrivers: "sioctl.sys",
      VerifyDriverLevel: 0x209bb,
    });
    expect(cmds.map((c) => renderCommand(c))).toEqual([
      "reg load HKLM\\WinPeLabSystem D:\\WinPE_amd64\\mount\\Windows\\System32\\config\\SYSTEM",
      'reg add "HKLM\\WinPeLabSystem\\ControlSet001\\Control\\Session Manager\\Memory Management" /v VerifyDrivers /t REG_SZ /d sioctl.sys /f',
      'reg add "HKLM\\WinPeLabSystem\\ControlSet001\\Control\\Session Manager\\Memory Management" /v VerifyDriverLevel /t REG_DWORD /d 0x209bb /f',
      "reg unload HKLM\\WinPeLabSystem",
    ]);
  });
});

describe("winpe plan with test.boot and test.verifier", () => {
  const up = planStack({ config, stackName: "x64", root: "C:\\winpe-lab", action: "up", project });
  const lines = renderPlan(up, { shell: "cmd", header: [] });

  it("orders the steps as the program: ImageCommit, DriverVerifier, DriverTest, WinPeIso", () => {
    expect(up.map((s) => s.type)).toEqual([
      "TestCertificate",
      "DriverBuild",
      "BcdSettings",
      "MountedImage",
      "InjectedFiles",
      "ImageCommit",
      "DriverVerifier",
      "DriverTest",
      "WinPeIso",
      "VmBootMedia",
    ]);
    const dt = up.find((s) => s.type === "DriverTest")!;
    expect(dt.commands).toEqual([]);
    expect(dt.notes).toEqual([`not run on this host: ${ADK_NOT_RUN}`]);
  });

  it("stages the start hook from winpe-lab's folder into the mount", () => {
    expect(lines).toContain(
      "Copy-Item -LiteralPath 'D:\\WinPE_amd64\\.winpe-lab\\mount-mount\\inline\\Windows\\System32\\startnet.cmd' -Destination 'D:\\WinPE_amd64\\mount\\Windows\\System32\\startnet.cmd' -Force",
    );
    expect(lines.some((l) => l.includes("winpe-lab\\test.cmd") && l.startsWith("Copy-Item"))).toBe(true);
  });

  it("the verifier edit: our module's copy into the mount, a DISM commit, the reg equivalent as a note", () => {
    const v = up.find((s) => s.type === "DriverVerifier")!;
    expect(v.commands.map((c) => renderCommand(c))).toEqual([
      "New-Item -ItemType Directory -Force -Path 'D:\\WinPE_amd64\\mount\\Windows\\System32\\config'",
      "Copy-Item -LiteralPath 'D:\\WinPE_amd64\\.winpe-lab\\verifier\\SYSTEM.edited' -Destination 'D:\\WinPE_amd64\\mount\\Windows\\System32\\config\\SYSTEM' -Force",
      'Dism /Commit-Image /MountDir:"D:\\WinPE_amd64\\mount"',
    ]);
    expect(lines.join("\n")).toContain("VerifyDriverLevel=0x20dbb (REG_DWORD)");
    expect(lines.join("\n")).toContain("/v VerifyDriverLevel /t REG_DWORD /d 0x20dbb /f");
  });

  it("destroy: the untouched hive and startnet.cmd's original go back", () => {
    const down = planStack({ config, stackName: "x64", root: "C:\\winpe-lab", action: "destroy", project });
    const text = renderPlan(down, { shell: "cmd", header: [] }).join("\n");
    expect(text).toContain(
      "\\.winpe-lab\\verifier\\SYSTEM.original' -Destination 'D:\\WinPE_amd64\\mount\\Windows\\System32\\config\\SYSTEM'",
    );
    expect(text).toContain(
      "\\originals\\Windows\\System32\\startnet.cmd' -Destination 'D:\\WinPE_amd64\\mount\\Windows\\System32\\startnet.cmd'",
    );
  });
});
