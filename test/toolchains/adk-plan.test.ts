/**
 * `winpe plan` and the adk providers' command lists: pure command construction. The adk toolchain (MSBuild,
 * signtool, bcdedit, DISM, oscdimg/MakeWinPEMedia, Hyper-V) cannot run on Linux, so nothing here runs it: the
 * tests check the commands the providers would run, rendered as `winpe plan` prints them, against the workflow
 * (`shared/docs/workflow.md`) and Microsoft's documented syntax (each group names its page). The DISM output the
 * parser reads is written here as samples after Microsoft's documentation (not captured from a real DISM run).
 */
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { findCheckout, loadStackForPlan, localProjectPath, planHeader, planStack, renderPlan } from "../../cli/plan";
import { runTool } from "../../runtime/exec";
import type { StackConfig } from "../../stack/config";
import { renderCommand } from "../../toolchains/adk/commands";
import { type DismMountedImage, findMount, mountStateOf, parseMountedImageInfo } from "../../toolchains/adk/dism-info";
import {
  adkCommitCommands,
  adkMountCommands,
  adkRecoverCommands,
  adkStageCommands,
  adkStatusCommands,
  adkUnmountCommands,
  adkUnstageCommands,
  imageDestParts,
  mountPathOf,
} from "../../toolchains/adk/image";
import {
  isoTempPath,
  planBcdSettings,
  planBcdSettingsRestore,
  planDriverBuild,
  planIso,
  planTestCertificateDestroy,
  planVm,
  planVmDestroy,
  readAdkProjectFacts,
  THUMBPRINT_PLACEHOLDER,
} from "../../toolchains/adk/plan";
import type { AdkCommand } from "../../toolchains/adk/types";

const CHECKOUT = findCheckout(__dirname);
const ROOT = "C:\\winpe-lab";

interface PlanOptions {
  action?: "up" | "destroy";
  shell?: "cmd" | "powershell";
  bcdWriter?: "module" | "bcdedit";
  root?: string;
  override?: (c: StackConfig) => StackConfig;
}

/** The plan's lines, as `winpe plan` prints them (same functions, in process). */
function plan(stack: string, o: PlanOptions = {}): string[] {
  const loaded = loadStackForPlan(CHECKOUT, stack);
  const config = o.override ? o.override(loaded.config) : loaded.config;
  const root = o.root ?? ROOT;
  const local = localProjectPath(config.project, root, CHECKOUT)!;
  const project = readAdkProjectFacts(local, config.configuration, config.arch === "amd64" ? "x64" : "ARM64");
  const action = o.action ?? "up";
  const shell = o.shell ?? "cmd";
  const steps = planStack({ config, stackName: stack, root, action, bcdWriter: o.bcdWriter, project });
  const header = planHeader({
    stackName: stack,
    action,
    root,
    defaultRoot: o.root === undefined,
    shell,
    signing: config.signing,
    notes: loaded.notes,
  });
  return renderPlan(steps, { shell, header });
}

/** The command lines only (no comments). */
const commands = (lines: readonly string[], comment = "rem ") => lines.filter((l) => !l.startsWith(comment));

/** Each expected line is present, in this order. */
function expectInOrder(lines: readonly string[], expected: readonly string[]): void {
  let at = -1;
  for (const e of expected) {
    const i = lines.indexOf(e, at + 1);
    expect(i, `line not found (in order): ${e}\n---\n${lines.join("\n")}`).toBeGreaterThan(at);
    at = i;
  }
}

const X64 = {
  msbuild:
    "MSBuild C:\\winpe-lab\\examples\\ioctl\\ioctl.sln /t:Build /p:Configuration=Debug /p:Platform=x64 /p:OutDir=D:\\WinPE_amd64\\build\\ /m /nologo",
  sign: "signtool sign /fd sha256 /sha1 [thumbprint] /s My D:\\WinPE_amd64\\build\\sioctl.sys",
  testsigning: "bcdedit /store D:\\WinPE_amd64\\media\\EFI\\Microsoft\\Boot\\BCD /set {default} testsigning on",
  debug: "bcdedit /store D:\\WinPE_amd64\\media\\EFI\\Microsoft\\Boot\\BCD /set {default} debug on",
  dbgsettings:
    "bcdedit /store D:\\WinPE_amd64\\media\\EFI\\Microsoft\\Boot\\BCD /dbgsettings net hostip:192.168.0.10 port:50005 key:[secret]",
  mount:
    'Dism /Mount-Image /ImageFile:"D:\\WinPE_amd64\\media\\sources\\boot.wim" /index:1 /MountDir:"D:\\WinPE_amd64\\mount"',
  mkdir: "New-Item -ItemType Directory -Force -Path 'D:\\WinPE_amd64\\mount\\Windows\\Ioctl'",
  copyApp:
    "Copy-Item -LiteralPath 'D:\\WinPE_amd64\\build\\ioctlapp.exe' -Destination 'D:\\WinPE_amd64\\mount\\Windows\\Ioctl\\ioctlapp.exe' -Force",
  copySys:
    "Copy-Item -LiteralPath 'D:\\WinPE_amd64\\build\\sioctl.sys' -Destination 'D:\\WinPE_amd64\\mount\\Windows\\Ioctl\\sioctl.sys' -Force",
  commit: 'Dism /Commit-Image /MountDir:"D:\\WinPE_amd64\\mount"',
  oscdimg:
    'oscdimg -bootdata:2#p0,e,bD:\\WinPE_amd64\\fwfiles\\etfsboot.com#pEF,e,b"C:\\Program Files (x86)\\Windows Kits\\10\\Assessment and Deployment Kit\\Deployment Tools\\amd64\\Oscdimg\\efisys_noprompt.bin" -u1 -udfver102 D:\\WinPE_amd64\\media D:\\WinPE_amd64\\winpe_x64_debug.iso',
  makeWinPEMedia: "rem     MakeWinPEMedia /ISO /F D:\\WinPE_amd64 D:\\WinPE_amd64\\winpe_x64_debug.iso",
  newVm: "New-VM -Name 'WinPE-x64' -Generation 2 -MemoryStartupBytes 2GB -NoVHD",
  secureBootOff: "Set-VMFirmware -VMName 'WinPE-x64' -EnableSecureBoot Off",
  dvd: "Add-VMDvdDrive -VMName 'WinPE-x64' -Path 'D:\\WinPE_amd64\\winpe_x64_debug.iso'",
  bootDvd: "Set-VMFirmware -VMName 'WinPE-x64' -FirstBootDevice (Get-VMDvdDrive -VMName 'WinPE-x64')",
};

describe("winpe plan: pure command construction (the adk toolchain cannot run on Linux)", () => {
  describe("x64 stack: the workflow's commands in effect", () => {
    const lines = plan("x64");
    const cmds = commands(lines);

    it("says in its first comment line that the checkout root is the default C:\\winpe-lab, and that nothing ran", () => {
      expect(lines[0]).toMatch(
        /^rem winpe plan: stack 'x64', action up, adk toolchain; checkout root C:\\winpe-lab \(the default/,
      );
      expect(lines[0]).toMatch(/Nothing was run\.$/);
      expect(lines.some((l) => /kdnet\.key is not set/.test(l))).toBe(true);
    });

    it("prints every command in the program's resource order, and nothing else", () => {
      // TestCertificate, DriverBuild, (BcdSettings: our module, no command), MountedImage, InjectedFiles,
      // ImageCommit, (DriverTest: not run on the host, no command), WinPeIso, VmBootMedia
      expect(cmds).toEqual([
        "New-SelfSignedCertificate -Type CodeSigningCert -Subject 'CN=winpe-lab test signing' -CertStoreLocation 'Cert:\\CurrentUser\\My'",
        X64.msbuild,
        X64.sign,
        X64.mount,
        X64.mkdir,
        X64.copyApp,
        X64.mkdir,
        X64.copySys,
        X64.commit,
        X64.oscdimg,
        X64.newVm,
        X64.secureBootOff,
        X64.dvd,
        X64.bootDvd,
      ]);
      const headers = lines.filter((l) => /^rem \[\d\/9\]/.test(l)).map((l) => l.split(" ")[2]);
      expect(headers).toEqual([
        "TestCertificate",
        "DriverBuild",
        "BcdSettings",
        "MountedImage",
        "InjectedFiles",
        "ImageCommit",
        "DriverTest",
        "WinPeIso",
        "VmBootMedia",
      ]);
    });

    it("builds the solution for Debug|x64 with MSBuild and test-signs the driver (workflow step 1)", () => {
      // https://learn.microsoft.com/en-us/visualstudio/msbuild/msbuild-command-line-reference
      // (-target:/t:, -property:/p:name=value, -maxCpuCount:/m, -noLogo)
      expect(cmds).toContain(X64.msbuild);
      // https://learn.microsoft.com/en-us/windows/win32/seccrypto/signtool (sign /fd sha256 /sha1 <hash> /s <store>)
      expect(cmds).toContain(X64.sign);
      // https://learn.microsoft.com/en-us/powershell/module/pki/new-selfsignedcertificate
      expect(cmds[0]).toMatch(/^New-SelfSignedCertificate -Type CodeSigningCert /);
    });

    it("with writer bcdedit (config override), runs the workflow's bcdedit line (workflow step 2)", () => {
      // https://learn.microsoft.com/en-us/windows-hardware/drivers/devtest/bcdedit--set
      // https://learn.microsoft.com/en-us/windows-hardware/drivers/devtest/bcdedit--dbgsettings
      const withBcdedit = commands(plan("x64", { bcdWriter: "bcdedit" }));
      expect(withBcdedit).toContain(
        "bcdedit /store D:\\WinPE_amd64\\media\\EFI\\Microsoft\\Boot\\BCD /set {default} testsigning on",
      );
      expectInOrder(withBcdedit, [X64.sign, X64.testsigning, X64.debug, X64.dbgsettings, X64.mount]);
      // with our module (the default), the same commands appear as comments only
      expect(cmds.some((l) => l.startsWith("bcdedit"))).toBe(false);
      expect(lines).toContain(`rem     ${X64.testsigning}`);
    });

    it("mounts boot.wim with the workflow's exact DISM line (workflow step 3)", () => {
      // https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/dism-image-management-command-line-options-s14
      expect(cmds).toContain(
        'Dism /Mount-Image /ImageFile:"D:\\WinPE_amd64\\media\\sources\\boot.wim" /index:1 /MountDir:"D:\\WinPE_amd64\\mount"',
      );
    });

    it("copies sioctl.sys and ioctlapp.exe to \\Windows\\Ioctl in the mounted image (workflow step 4)", () => {
      // https://learn.microsoft.com/en-us/powershell/module/microsoft.powershell.management/new-item
      // https://learn.microsoft.com/en-us/powershell/module/microsoft.powershell.management/copy-item
      expectInOrder(cmds, [X64.mount, X64.mkdir, X64.copyApp, X64.mkdir, X64.copySys, X64.commit]);
    });

    it("commits the image (workflow step 5: DISM commit, the image stays mounted for the next up)", () => {
      // https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/dism-image-management-command-line-options-s14
      expect(cmds).toContain('Dism /Commit-Image /MountDir:"D:\\WinPE_amd64\\mount"');
    });

    it("makes the ISO with MakeWinPEMedia's own oscdimg command, BIOS+UEFI, and shows MakeWinPEMedia /ISO /F (workflow step 6)", () => {
      // https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/oscdimg-command-line-options
      expect(cmds).toContain(X64.oscdimg);
      // https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/winpe-create-usb-bootable-drive
      expectInOrder(lines, [X64.makeWinPEMedia, X64.oscdimg]);
    });

    it("attaches the ISO to a Generation 2 Hyper-V VM with Secure Boot off (workflow step 7)", () => {
      // https://learn.microsoft.com/en-us/powershell/module/hyper-v/new-vm, .../set-vmfirmware, .../add-vmdvddrive,
      // .../get-vmdvddrive
      expectInOrder(cmds, [X64.oscdimg, X64.newVm, X64.secureBootOff, X64.dvd, X64.bootDvd]);
      // https://learn.microsoft.com/en-us/powershell/module/hyper-v/start-vm and the debugger host
      // (https://learn.microsoft.com/en-us/windows-hardware/drivers/debugger/performing-kernel-mode-debugging-using-windbg):
      // shown, not run
      expect(lines).toContain("rem     Start-VM -Name 'WinPE-x64'");
      expect(lines).toContain("rem     windbg.exe -k net:port=50005,key=[secret]");
    });

    it("never shows a KDNET key: a secure key is shown as [secret]", () => {
      const secure = plan("x64", {
        bcdWriter: "bcdedit",
        override: (c) => ({ ...c, kdnet: { hostIp: "192.168.0.10", port: 50005, key: "5.5.5.5" } }),
      });
      expect(secure.join("\n")).not.toContain("5.5.5.5");
      expect(secure).toContain(X64.dbgsettings);
    });

    it("renders every line as PowerShell with --shell powershell", () => {
      const ps = commands(plan("x64", { shell: "powershell", bcdWriter: "bcdedit" }), "# ");
      expect(ps).toContain(
        "MSBuild C:\\winpe-lab\\examples\\ioctl\\ioctl.sln /t:Build /p:Configuration=Debug /p:Platform=x64 /p:OutDir=D:\\WinPE_amd64\\build\\ /m /nologo",
      );
      // braces would be a script block in PowerShell: quoted
      expect(ps).toContain(
        "bcdedit /store D:\\WinPE_amd64\\media\\EFI\\Microsoft\\Boot\\BCD /set '{default}' testsigning on",
      );
      expect(ps).toContain("signtool sign /fd sha256 /sha1 '[thumbprint]' /s My D:\\WinPE_amd64\\build\\sioctl.sys");
      expect(ps).toContain(
        "Dism /Mount-Image /ImageFile:D:\\WinPE_amd64\\media\\sources\\boot.wim /index:1 /MountDir:D:\\WinPE_amd64\\mount",
      );
      expect(ps).toContain(
        "oscdimg '-bootdata:2#p0,e,bD:\\WinPE_amd64\\fwfiles\\etfsboot.com#pEF,e,bC:\\Program Files (x86)\\Windows Kits\\10\\Assessment and Deployment Kit\\Deployment Tools\\amd64\\Oscdimg\\efisys_noprompt.bin' -u1 -udfver102 D:\\WinPE_amd64\\media D:\\WinPE_amd64\\winpe_x64_debug.iso",
      );
      expect(ps).toContain(X64.newVm);
    });
  });

  describe("x64 stack: destroy after up", () => {
    it("detaches the VM, removes the injected files, commits, unmounts, removes the certificate, in reverse order", () => {
      // https://learn.microsoft.com/en-us/powershell/module/hyper-v/stop-vm, .../remove-vm
      // https://learn.microsoft.com/en-us/powershell/module/microsoft.powershell.management/remove-item
      // https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/dism-image-management-command-line-options-s14
      // https://learn.microsoft.com/en-us/powershell/module/microsoft.powershell.security/about/about_certificate_provider
      const lines = plan("x64", { action: "destroy" });
      expect(commands(lines)).toEqual([
        "Stop-VM -Name 'WinPE-x64' -TurnOff",
        "Remove-VM -Name 'WinPE-x64' -Force",
        "Remove-Item -LiteralPath 'D:\\WinPE_amd64\\mount\\Windows\\Ioctl\\ioctlapp.exe' -Force",
        "Remove-Item -LiteralPath 'D:\\WinPE_amd64\\mount\\Windows\\Ioctl\\sioctl.sys' -Force",
        'Dism /Commit-Image /MountDir:"D:\\WinPE_amd64\\mount"',
        "Dism /English /Get-MountedImageInfo",
        'Dism /Unmount-Image /MountDir:"D:\\WinPE_amd64\\mount" /Discard',
        "Remove-Item -LiteralPath 'Cert:\\CurrentUser\\My\\[thumbprint]' -DeleteKey",
      ]);
      expect(lines.filter((l) => /^rem \[\d\/9\]/.test(l)).map((l) => l.split(" ")[2])).toEqual([
        "VmBootMedia",
        "WinPeIso",
        "DriverTest",
        "ImageCommit",
        "InjectedFiles",
        "MountedImage",
        "BcdSettings",
        "DriverBuild",
        "TestCertificate",
      ]);
    });

    it("with writer bcdedit, removes the flags it set with /deletevalue (flags assumed absent before up)", () => {
      // https://learn.microsoft.com/en-us/windows-hardware/drivers/devtest/bcdedit--deletevalue
      const cmds = commands(plan("x64", { action: "destroy", bcdWriter: "bcdedit" }));
      expectInOrder(cmds, [
        'Dism /Unmount-Image /MountDir:"D:\\WinPE_amd64\\mount" /Discard',
        "bcdedit /store D:\\WinPE_amd64\\media\\EFI\\Microsoft\\Boot\\BCD /deletevalue {default} testsigning",
        "bcdedit /store D:\\WinPE_amd64\\media\\EFI\\Microsoft\\Boot\\BCD /deletevalue {default} debug",
        "Remove-Item -LiteralPath 'Cert:\\CurrentUser\\My\\[thumbprint]' -DeleteKey",
      ]);
    });
  });

  describe("arm64 stack: ARM64 build, UEFI-only media", () => {
    const cmds = commands(plan("arm64"));

    it("builds Debug|ARM64 and makes UEFI-only media (-bootdata:1#pEF, no etfsboot.com)", () => {
      // https://learn.microsoft.com/en-us/visualstudio/msbuild/msbuild-command-line-reference
      expect(cmds).toContain(
        "MSBuild C:\\winpe-lab\\examples\\ioctl\\ioctl.sln /t:Build /p:Configuration=Debug /p:Platform=ARM64 /p:OutDir=D:\\WinPE_arm64\\build\\ /m /nologo",
      );
      // https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/oscdimg-command-line-options
      expect(cmds).toContain(
        'oscdimg -bootdata:1#pEF,e,b"C:\\Program Files (x86)\\Windows Kits\\10\\Assessment and Deployment Kit\\Deployment Tools\\arm64\\Oscdimg\\efisys_noprompt.bin" -u1 -udfver102 D:\\WinPE_arm64\\media D:\\WinPE_arm64\\winpe_arm64_debug.iso',
      );
      expect(cmds.join("\n")).not.toMatch(/etfsboot|bootdata:2/);
      // https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/dism-image-management-command-line-options-s14
      expect(cmds).toContain(
        'Dism /Mount-Image /ImageFile:"D:\\WinPE_arm64\\media\\sources\\boot.wim" /index:1 /MountDir:"D:\\WinPE_arm64\\mount"',
      );
      expect(cmds).toContain(
        "Copy-Item -LiteralPath 'D:\\WinPE_arm64\\build\\sioctl.sys' -Destination 'D:\\WinPE_arm64\\mount\\Windows\\Ioctl\\sioctl.sys' -Force",
      );
      // https://learn.microsoft.com/en-us/powershell/module/hyper-v/new-vm
      expect(cmds).toContain("New-VM -Name 'WinPE-arm64' -Generation 2 -MemoryStartupBytes 2GB -NoVHD");
    });
  });

  describe("paths with spaces, &, ^, % for cmd.exe and PowerShell", () => {
    const root = "C:\\Users\\A & B\\100% lab";
    const odd = (c: StackConfig): StackConfig => ({
      ...c,
      workspace: "D:\\Win PE & Co\\x^y",
      iso: { path: "D:\\Win PE & Co\\out (1).iso" },
    });

    it("quotes for cmd.exe: operators inside quotes, % doubled (batch-file lines)", () => {
      // https://learn.microsoft.com/en-us/cpp/c-language/parsing-c-command-line-arguments
      const cmds = commands(plan("x64", { root, override: odd }));
      expect(cmds).toContain(
        'MSBuild "C:\\Users\\A & B\\100%% lab\\examples\\ioctl\\ioctl.sln" /t:Build /p:Configuration=Debug /p:Platform=x64 /p:OutDir="D:\\Win PE & Co\\x^y\\build\\\\" /m /nologo',
      );
      expect(cmds).toContain(
        'Dism /Mount-Image /ImageFile:"D:\\Win PE & Co\\x^y\\media\\sources\\boot.wim" /index:1 /MountDir:"D:\\Win PE & Co\\x^y\\mount"',
      );
      expect(cmds).toContain(
        'oscdimg -bootdata:2#p0,e,b"D:\\Win PE & Co\\x^y\\fwfiles\\etfsboot.com"#pEF,e,b"C:\\Program Files (x86)\\Windows Kits\\10\\Assessment and Deployment Kit\\Deployment Tools\\amd64\\Oscdimg\\efisys_noprompt.bin" -u1 -udfver102 "D:\\Win PE & Co\\x^y\\media" "D:\\Win PE & Co\\out (1).iso"',
      );
    });

    it("quotes for PowerShell: single-quoted literals, nothing else special", () => {
      // https://learn.microsoft.com/en-us/powershell/module/microsoft.powershell.core/about/about_quoting_rules
      const ps = commands(plan("x64", { root, override: odd, shell: "powershell" }), "# ");
      expect(ps).toContain(
        "MSBuild 'C:\\Users\\A & B\\100% lab\\examples\\ioctl\\ioctl.sln' /t:Build /p:Configuration=Debug /p:Platform=x64 '/p:OutDir=D:\\Win PE & Co\\x^y\\build\\' /m /nologo",
      );
      expect(ps).toContain(
        "Dism /Mount-Image '/ImageFile:D:\\Win PE & Co\\x^y\\media\\sources\\boot.wim' /index:1 '/MountDir:D:\\Win PE & Co\\x^y\\mount'",
      );
      expect(ps).toContain(
        "Copy-Item -LiteralPath 'D:\\Win PE & Co\\x^y\\build\\sioctl.sys' -Destination 'D:\\Win PE & Co\\x^y\\mount\\Windows\\Ioctl\\sioctl.sys' -Force",
      );
      expect(ps).toContain("Add-VMDvdDrive -VMName 'WinPE-x64' -Path 'D:\\Win PE & Co\\out (1).iso'");
    });

    it("leaves out the MakeWinPEMedia comparison line when its script could not take the paths", () => {
      const lines = plan("x64", { override: odd });
      expect(lines.some((l) => l.includes("MakeWinPEMedia /ISO"))).toBe(false);
    });

    it("refuses a path no Windows command line can carry, naming the field", () => {
      expect(() => plan("x64", { override: (c) => ({ ...c, workspace: 'D:\\a"b' }) })).toThrow(/must not contain/);
    });
  });

  describe("the winpe plan CLI (a real process)", () => {
    it("`bash bin/winpe plan --stack x64` exits 0 and prints the plan", async () => {
      const r = await runTool("bash", ["bin/winpe", "plan", "--stack", "x64"], { cwd: CHECKOUT, resource: "test" });
      expect(r.exitCode).toBe(0);
      const lines = r.stdout.trimEnd().split("\n");
      expect(lines[0]).toMatch(/^rem winpe plan: stack 'x64'.*checkout root C:\\winpe-lab \(the default/);
      expect(lines).toEqual(plan("x64"));
      expectInOrder(lines, [X64.msbuild, X64.sign, X64.mount, X64.copyApp, X64.copySys, X64.commit, X64.oscdimg]);
      expectInOrder(lines, [X64.newVm, X64.secureBootOff, X64.dvd, X64.bootDvd]);
    });

    it("takes --bcd-writer bcdedit, --action destroy and --shell powershell", async () => {
      const r = await runTool(
        "bash",
        ["bin/winpe", "plan", "--stack", "x64", "--bcd-writer", "bcdedit", "--action=destroy", "--shell", "powershell"],
        { cwd: CHECKOUT, resource: "test" },
      );
      expect(r.stdout).toContain(
        "bcdedit /store D:\\WinPE_amd64\\media\\EFI\\Microsoft\\Boot\\BCD /deletevalue '{default}' testsigning",
      );
      expect(r.stdout.split("\n")[0]).toMatch(/^# winpe plan: stack 'x64', action destroy/);
    });

    it("says plan is for adk stacks for an open stack (exit 2), and names a missing stack file (exit 1)", async () => {
      const open = await runTool("bash", ["bin/winpe", "plan", "--stack", "demo-x64"], {
        cwd: CHECKOUT,
        resource: "test",
        okExitCodes: [2],
      });
      expect(open.stderr).toMatch(/uses the open toolchain: plan prints the Windows commands of adk stacks/);
      expect(open.stdout).toBe("");
      const missing = await runTool("bash", ["bin/winpe", "plan", "--stack", "nope"], {
        cwd: CHECKOUT,
        resource: "test",
        okExitCodes: [1],
      });
      expect(missing.stderr).toMatch(/Pulumi\.nope\.yaml: no such stack file \(stacks: .*x64/);
      const usage = await runTool("bash", ["bin/winpe", "plan", "--stack", "x64", "--shell", "bash"], {
        cwd: CHECKOUT,
        resource: "test",
        okExitCodes: [2],
      });
      expect(usage.stderr).toMatch(/--shell must be cmd or powershell/);
    });
  });

  describe("stack loading for plan", () => {
    it("shows a secure: KDNET key as [secret] without decrypting it", () => {
      const loaded = loadStackForPlan(CHECKOUT, "demo-x64");
      expect(loaded.config.toolchain).toBe("open");
      expect(loaded.notes.join("\n")).toMatch(/kdnet\.key is a secret \(secure:\) that plan does not decrypt/);
    });

    it("maps the project into this checkout: relative, or absolute under --root", () => {
      expect(localProjectPath("examples\\ioctl\\ioctl.sln", ROOT, "/co")).toBe("/co/examples/ioctl/ioctl.sln");
      expect(localProjectPath("C:\\WinPE-Lab\\examples\\ioctl\\ioctl.sln", ROOT, "/co")).toBe(
        "/co/examples/ioctl/ioctl.sln",
      );
      expect(localProjectPath("D:\\src\\x.sln", ROOT, "/co")).toBeUndefined();
    });

    it("reads the example solution's outputs for MSBuild (driver and app, no NuGet)", () => {
      const facts = readAdkProjectFacts(path.join(CHECKOUT, "examples", "ioctl", "ioctl.sln"), "Debug", "ARM64");
      expect(facts.needsRestore).toBe(false);
      expect(facts.outputs.map((o) => [o.name, o.kind])).toEqual([
        ["sioctl.sys", "driver"],
        ["ioctlapp.exe", "application"],
      ]);
    });
  });
});

/* ------------------------------------------------------------------------------------------------------------
 * Provider command lists (toolchains/adk/plan.ts) and the adk image backend (toolchains/adk/image.ts)
 * ---------------------------------------------------------------------------------------------------------- */

const cmd = (c: AdkCommand) => renderCommand(c);
const MOUNT = "D:\\WinPE_amd64\\mount";
const WIM = "D:\\WinPE_amd64\\media\\sources\\boot.wim";
const M = { wim: WIM, index: 1, mountDir: MOUNT };

describe("adk provider command lists: pure command construction (the adk toolchain cannot run on Linux)", () => {
  it("DriverBuild: nuget restore first when the project needs it, signtool only for drivers", () => {
    // https://learn.microsoft.com/en-us/nuget/reference/cli-reference/cli-ref-restore
    const cmds = planDriverBuild(
      {
        project: "D:\\src\\ioctl.sln",
        configuration: "Release",
        platform: "x64",
        outDir: "D:\\out",
        signing: { thumbprint: "ab".repeat(20) },
      },
      {
        needsRestore: true,
        outputs: [
          { name: "a.sys", kind: "driver", projectFile: "x" },
          { name: "b.exe", kind: "application", projectFile: "y" },
        ],
      },
    ).map(cmd);
    expect(cmds).toEqual([
      "nuget restore D:\\src\\ioctl.sln",
      "MSBuild D:\\src\\ioctl.sln /t:Build /p:Configuration=Release /p:Platform=x64 /p:OutDir=D:\\out\\ /m /nologo",
      `signtool sign /fd sha256 /sha1 ${"AB".repeat(20)} /s My D:\\out\\a.sys`,
    ]);
  });

  it("BcdSettings: nothing with our module; bcdedit per store; restore with /set or /deletevalue", () => {
    // https://learn.microsoft.com/en-us/windows-hardware/drivers/devtest/bcdedit--set
    // https://learn.microsoft.com/en-us/windows-hardware/drivers/devtest/bcdedit--deletevalue
    const a = {
      stores: ["D:\\w\\media\\EFI\\Microsoft\\Boot\\BCD", "D:\\w\\media\\Boot\\BCD"],
      object: "{default}",
      flags: { debug: "on", testsigning: "off" } as const,
    };
    expect(planBcdSettings(a)).toEqual([]);
    expect(planBcdSettings({ ...a, writer: "bcdedit" }).map(cmd)).toEqual([
      "bcdedit /store D:\\w\\media\\EFI\\Microsoft\\Boot\\BCD /set {default} testsigning off",
      "bcdedit /store D:\\w\\media\\EFI\\Microsoft\\Boot\\BCD /set {default} debug on",
      "bcdedit /store D:\\w\\media\\Boot\\BCD /set {default} testsigning off",
      "bcdedit /store D:\\w\\media\\Boot\\BCD /set {default} debug on",
    ]);
    const guid = "{7619dcc9-fafe-11d9-b411-000476eba25f}";
    expect(planBcdSettingsRestore("D:\\B", guid, { testsigning: null, debug: "off" }).map(cmd)).toEqual([
      `bcdedit /store D:\\B /deletevalue ${guid} testsigning`,
      `bcdedit /store D:\\B /set ${guid} debug off`,
    ]);
  });

  it("WinPeIso: oscdimg into a temporary .iso beside the ISO", () => {
    // https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/oscdimg-command-line-options
    const tmp = isoTempPath("D:\\WinPE_amd64\\winpe_x64_debug.iso", "1234.ab12cd34");
    expect(tmp).toBe("D:\\WinPE_amd64\\.winpe-tmp-winpe_x64_debug.1234.ab12cd34.iso");
    const [c] = planIso({ arch: "amd64", workspace: "D:\\WinPE_amd64", isoPath: "D:\\x.iso", noPrompt: false }, tmp);
    expect(cmd(c!)).toBe(
      `oscdimg -bootdata:2#p0,e,bD:\\WinPE_amd64\\fwfiles\\etfsboot.com#pEF,e,bD:\\WinPE_amd64\\fwfiles\\efisys.bin -u1 -udfver102 D:\\WinPE_amd64\\media ${tmp}`,
    );
    expect(() => isoTempPath("D:\\x.iso", "a b")).toThrow(/'token'/);
  });

  it("VmBootMedia: create, re-attach to a VM we created, attach to an existing VM; detach", () => {
    // https://learn.microsoft.com/en-us/powershell/module/hyper-v/set-vmdvddrive (-Path $null ejects)
    const a = { name: "vm1", memoryMb: 1536, isoPath: "D:\\x.iso", createVm: true };
    expect(planVm(a).map(cmd)).toEqual([
      "New-VM -Name 'vm1' -Generation 2 -MemoryStartupBytes 1536MB -NoVHD",
      "Set-VMFirmware -VMName 'vm1' -EnableSecureBoot Off",
      "Add-VMDvdDrive -VMName 'vm1' -Path 'D:\\x.iso'",
      "Set-VMFirmware -VMName 'vm1' -FirstBootDevice (Get-VMDvdDrive -VMName 'vm1')",
    ]);
    const reattach = [
      "Set-VMDvdDrive -VMName 'vm1' -Path 'D:\\x.iso'",
      "Set-VMFirmware -VMName 'vm1' -FirstBootDevice (Get-VMDvdDrive -VMName 'vm1')",
    ];
    expect(planVm(a, true).map(cmd)).toEqual(reattach);
    expect(planVm({ ...a, createVm: false }).map(cmd)).toEqual(reattach);
    expect(planVmDestroy(a, true).map(cmd)).toEqual(["Stop-VM -Name 'vm1' -TurnOff", "Remove-VM -Name 'vm1' -Force"]);
    expect(planVmDestroy(a, false).map(cmd)).toEqual(["Set-VMDvdDrive -VMName 'vm1' -Path $null"]);
  });

  it("TestCertificate delete: the certificate and its key leave the user's store", () => {
    // https://learn.microsoft.com/en-us/powershell/module/microsoft.powershell.security/about/about_certificate_provider
    expect(planTestCertificateDestroy({ thumbprint: "ab".repeat(20) }).map(cmd)).toEqual([
      `Remove-Item -LiteralPath 'Cert:\\CurrentUser\\My\\${"AB".repeat(20)}' -DeleteKey`,
    ]);
    expect(planTestCertificateDestroy({ thumbprint: THUMBPRINT_PLACEHOLDER }).map(cmd)).toEqual([
      "Remove-Item -LiteralPath 'Cert:\\CurrentUser\\My\\[thumbprint]' -DeleteKey",
    ]);
    expect(() => planTestCertificateDestroy({ thumbprint: "x'; Remove-Item C:\\ -Recurse; '" })).toThrow(/thumbprint/);
  });
});

describe("adk image backend command functions: pure command construction (DISM cannot run on Linux)", () => {
  // https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/dism-image-management-command-line-options-s14
  // https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/dism-global-options-for-command-line-syntax (/English)
  const ok: DismMountedImage = {
    mountDir: MOUNT,
    imageFile: WIM,
    imageIndex: 1,
    readWrite: true,
    status: "Ok",
    statusText: "Ok",
  };

  it("mounts, lists mounts in English", () => {
    expect(adkMountCommands(M).map(cmd)).toEqual([
      'Dism /Mount-Image /ImageFile:"D:\\WinPE_amd64\\media\\sources\\boot.wim" /index:1 /MountDir:"D:\\WinPE_amd64\\mount"',
    ]);
    expect(adkStatusCommands().map(cmd)).toEqual(["Dism /English /Get-MountedImageInfo"]);
  });

  it("recovers by DISM's status: remount, nothing, or cleanup and mount again; refuses another image", () => {
    expect(adkRecoverCommands(M, { ...ok, status: "NeedsRemount", statusText: "Needs Remount" }).map(cmd)).toEqual([
      'Dism /Remount-Image /MountDir:"D:\\WinPE_amd64\\mount"',
    ]);
    expect(adkRecoverCommands(M, ok)).toEqual([]);
    const again = [
      "Dism /Cleanup-Mountpoints",
      'Dism /Mount-Image /ImageFile:"D:\\WinPE_amd64\\media\\sources\\boot.wim" /index:1 /MountDir:"D:\\WinPE_amd64\\mount"',
    ];
    expect(adkRecoverCommands(M, undefined).map(cmd)).toEqual(again);
    expect(adkRecoverCommands(M, { ...ok, status: "Invalid", statusText: "Invalid" }).map(cmd)).toEqual(again);
    expect(() => adkRecoverCommands(M, { ...ok, imageFile: "E:\\other.wim" })).toThrow(/E:\\other\.wim.*mounted at/);
  });

  it("unmounts with /Discard (after a remount when needed), cleans up a corrupt mount, leaves others alone", () => {
    const discard = 'Dism /Unmount-Image /MountDir:"D:\\WinPE_amd64\\mount" /Discard';
    expect(adkUnmountCommands(M, ok).map(cmd)).toEqual([discard]);
    expect(adkUnmountCommands(M, { ...ok, status: "NeedsRemount", statusText: "Needs Remount" }).map(cmd)).toEqual([
      'Dism /Remount-Image /MountDir:"D:\\WinPE_amd64\\mount"',
      discard,
    ]);
    expect(adkUnmountCommands(M, { ...ok, status: "Invalid", statusText: "Invalid" }).map(cmd)).toEqual([
      "Dism /Cleanup-Mountpoints",
    ]);
    expect(adkUnmountCommands(M, undefined)).toEqual([]);
    expect(adkUnmountCommands(M, { ...ok, imageIndex: 2 })).toEqual([]);
  });

  it("stages with New-Item and Copy-Item -LiteralPath; refuses files at the image root", () => {
    // https://learn.microsoft.com/en-us/powershell/module/microsoft.powershell.management/copy-item
    expect(adkStageCommands(MOUNT, "D:\\b\\it's [1].sys", "Windows/Ioctl/x.sys").map(cmd)).toEqual([
      "New-Item -ItemType Directory -Force -Path 'D:\\WinPE_amd64\\mount\\Windows\\Ioctl'",
      "Copy-Item -LiteralPath 'D:\\b\\it''s [1].sys' -Destination 'D:\\WinPE_amd64\\mount\\Windows\\Ioctl\\x.sys' -Force",
    ]);
    expect(imageDestParts("Windows\\Ioctl\\x.sys")).toEqual({ dir: "Windows\\Ioctl", name: "x.sys" });
    expect(() => adkStageCommands(MOUNT, "D:\\b\\x.sys", "x.sys")).toThrow(/image root/);
    expect(mountPathOf(MOUNT, "Windows/Ioctl/x.sys")).toBe("D:\\WinPE_amd64\\mount\\Windows\\Ioctl\\x.sys");
  });

  it("unstages: the original back, or removed when present, or nothing", () => {
    // https://learn.microsoft.com/en-us/powershell/module/microsoft.powershell.management/remove-item
    expect(
      adkUnstageCommands(MOUNT, "Windows/Ioctl/x.sys", "D:\\p\\originals\\Windows\\Ioctl\\x.sys", false).map(cmd),
    ).toEqual([
      "New-Item -ItemType Directory -Force -Path 'D:\\WinPE_amd64\\mount\\Windows\\Ioctl'",
      "Copy-Item -LiteralPath 'D:\\p\\originals\\Windows\\Ioctl\\x.sys' -Destination 'D:\\WinPE_amd64\\mount\\Windows\\Ioctl\\x.sys' -Force",
    ]);
    expect(adkUnstageCommands(MOUNT, "Windows/Ioctl/x.sys", null, true).map(cmd)).toEqual([
      "Remove-Item -LiteralPath 'D:\\WinPE_amd64\\mount\\Windows\\Ioctl\\x.sys' -Force",
    ]);
    expect(adkUnstageCommands(MOUNT, "Windows/Ioctl/x.sys", null, false)).toEqual([]);
  });

  it("commits: staged adds copy nothing, other adds copy, deletes remove what is present, then /Commit-Image", () => {
    const commit = 'Dism /Commit-Image /MountDir:"D:\\WinPE_amd64\\mount"';
    expect(adkCommitCommands(MOUNT, [])).toEqual([]);
    expect(
      adkCommitCommands(
        MOUNT,
        [
          { op: "add", source: "d:\\winpe_amd64\\MOUNT\\Windows\\Ioctl\\a.sys", dest: "Windows/Ioctl/a.sys" },
          { op: "add", source: "D:\\p\\originals\\Windows\\b.dll", dest: "Windows/b.dll" },
          { op: "delete", dest: "Windows/Ioctl/c.exe" },
          { op: "delete", dest: "Windows/Ioctl/gone.exe" },
        ],
        (d) => d !== "Windows/Ioctl/gone.exe",
      ).map(cmd),
    ).toEqual([
      "New-Item -ItemType Directory -Force -Path 'D:\\WinPE_amd64\\mount\\Windows'",
      "Copy-Item -LiteralPath 'D:\\p\\originals\\Windows\\b.dll' -Destination 'D:\\WinPE_amd64\\mount\\Windows\\b.dll' -Force",
      "Remove-Item -LiteralPath 'D:\\WinPE_amd64\\mount\\Windows\\Ioctl\\c.exe' -Force",
      commit,
    ]);
  });
});

/*
 * DISM output samples, written after the format shown in Microsoft's documentation of /Get-MountedImageInfo
 * (https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/dism-image-management-command-line-options-s14)
 * and the mount states of DismMountStatus (Ok, Needs Remount, Invalid;
 * https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/dism/dismmountstatus-enumeration).
 * They are samples, not captures of a real DISM run.
 */
const SAMPLE_ONE_OK = [
  "",
  "Deployment Image Servicing and Management tool",
  "Version: 10.0.26100.1",
  "",
  "Mounted images:",
  "",
  "Mount Dir : D:\\WinPE_amd64\\mount",
  "Image File : D:\\WinPE_amd64\\media\\sources\\boot.wim",
  "Image Index : 1",
  "Mounted Read/Write : Yes",
  "Status : Ok",
  "",
  "The operation completed successfully.",
  "",
].join("\r\n");

const SAMPLE_THREE = `
Deployment Image Servicing and Management tool
Version: 10.0.26100.1

Mounted images:

Mount Dir : C:\\mount\\install
Image File : C:\\images\\install.wim
Image Index : 3
Mounted Read/Write : No
Status : Invalid

Mount Dir : D:\\WinPE_amd64\\mount\\
Image File : D:\\WinPE_amd64\\media\\sources\\boot.wim
Image Index : 1
Mounted Read/Write : Yes
Status : Needs Remount

Mount Dir : E:\\m
Image File : E:\\x.wim
Image Index : 1
Mounted Read/Write : Yes
Status : Ok

The operation completed successfully.
`;

const SAMPLE_NONE = `
Deployment Image Servicing and Management tool
Version: 10.0.26100.1

No mounted images found.

The operation completed successfully.
`;

describe("DISM /Get-MountedImageInfo parser (on sample output)", () => {
  it("reads one healthy mount (CRLF)", () => {
    expect(parseMountedImageInfo(SAMPLE_ONE_OK)).toEqual([
      {
        mountDir: "D:\\WinPE_amd64\\mount",
        imageFile: "D:\\WinPE_amd64\\media\\sources\\boot.wim",
        imageIndex: 1,
        readWrite: true,
        status: "Ok",
        statusText: "Ok",
      },
    ]);
    expect(mountStateOf(parseMountedImageInfo(SAMPLE_ONE_OK), M)).toEqual({ state: "mounted" });
  });

  it("reads several mounts and their states; finds ours ignoring case and a trailing backslash", () => {
    const list = parseMountedImageInfo(SAMPLE_THREE);
    expect(list.map((e) => [e.mountDir, e.status, e.readWrite, e.imageIndex])).toEqual([
      ["C:\\mount\\install", "Invalid", false, 3],
      ["D:\\WinPE_amd64\\mount\\", "NeedsRemount", true, 1],
      ["E:\\m", "Ok", true, 1],
    ]);
    expect(findMount(list, "d:\\winpe_amd64\\MOUNT")?.statusText).toBe("Needs Remount");
    expect(mountStateOf(list, M)).toEqual({
      state: "stale",
      reason: "DISM says the mount at D:\\WinPE_amd64\\mount needs a remount (e.g. after a reboot)",
    });
    expect(mountStateOf(list, { wim: "C:\\images\\install.wim", index: 3, mountDir: "C:\\mount\\install" }).state).toBe(
      "stale",
    );
    expect(mountStateOf(list, { wim: WIM, index: 1, mountDir: "E:\\m" })).toEqual({
      state: "stale",
      reason: "DISM has E:\\x.wim (index 1) mounted at E:\\m, not D:\\WinPE_amd64\\media\\sources\\boot.wim (index 1)",
    });
  });

  it("reads 'No mounted images found.' as no mount: ours is missing", () => {
    expect(parseMountedImageInfo(SAMPLE_NONE)).toEqual([]);
    expect(mountStateOf([], M)).toEqual({
      state: "missing",
      reason: "DISM lists no image mounted at D:\\WinPE_amd64\\mount",
    });
  });

  it("refuses a mount block without a status", () => {
    expect(() => parseMountedImageInfo("Mount Dir : D:\\m\nImage File : D:\\x.wim\n")).toThrow(
      /without a 'Status' line/,
    );
  });
});
