/**
 * The Windows host check (toolchains/adk/host-check.ts) is a pure function of the host's facts: tested here with
 * the facts of a complete and of an empty Windows host, written as Microsoft's default install paths. And the set-up
 * script takes its Windows branch (no Debian packages; the adk check instead) when told it runs on Windows.
 */
import { describe, expect, it } from "vitest";
import { runTool } from "../../runtime/exec";
import { checkAdkHost, formatHostReport, type HostFacts } from "../../toolchains/adk/host-check";
import { REPO_ROOT } from "../helpers/pulumi";

const ADK = "C:\\Program Files (x86)\\Windows Kits\\10\\Assessment and Deployment Kit";
const KITS = "C:\\Program Files (x86)\\Windows Kits\\10";

function host(files: string[], onPath: string[] = []): HostFacts {
  const set = new Set(files.map((f) => f.toLowerCase()));
  return {
    exists: (p) => set.has(p.toLowerCase()),
    list: (dir) => {
      const prefix = `${dir.toLowerCase()}\\`;
      const names = new Set<string>();
      for (const f of files) if (f.toLowerCase().startsWith(prefix)) names.add(f.slice(prefix.length).split("\\")[0]!);
      return [...names];
    },
    onPath: (c) => onPath.includes(c),
    env: { "ProgramFiles(x86)": "C:\\Program Files (x86)", SystemRoot: "C:\\Windows" },
  };
}

const COMPLETE = [
  `${ADK}\\Deployment Tools\\amd64\\Oscdimg\\oscdimg.exe`,
  `${ADK}\\Windows Preinstallation Environment\\copype.cmd`,
  `${ADK}\\Windows Preinstallation Environment\\MakeWinPEMedia.cmd`,
  `${ADK}\\Windows Preinstallation Environment\\amd64\\en-us\\winpe.wim`,
  `${ADK}\\Windows Preinstallation Environment\\arm64\\en-us\\winpe.wim`,
  `${KITS}\\Include\\10.0.22621.0\\km\\wdm.h`,
  `${KITS}\\Include\\10.0.26100.0\\um\\windows.h`,
  `${KITS}\\bin\\10.0.22621.0\\x64\\signtool.exe`,
  "C:\\Program Files (x86)\\Microsoft Visual Studio\\Installer\\vswhere.exe",
  "C:\\Windows\\System32\\Dism.exe",
  "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\Modules\\Hyper-V",
];

describe("adk host check", () => {
  it("a complete host: every part found, where", () => {
    const checks = checkAdkHost(host(COMPLETE, ["go", "bash"]));
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    expect(checks.find((c) => c.item.startsWith("Windows Driver Kit"))?.detail).toBe(
      `${KITS}\\Include\\10.0.22621.0\\km`,
    );
    expect(formatHostReport(checks)).toMatchObject({ missingRequired: 0 });
  });

  it("an empty host: each missing part says what to install; Hyper-V is not required", () => {
    const checks = checkAdkHost(host([], ["bash"]));
    const missing = checks.filter((c) => !c.ok).map((c) => c.item);
    expect(missing).toEqual([
      "Windows ADK Deployment Tools (oscdimg)",
      "WinPE add-on (copype, MakeWinPEMedia)",
      "WinPE amd64 image",
      "WinPE arm64 image",
      "Windows Driver Kit (km headers)",
      "signtool (Windows SDK)",
      "MSBuild (Visual Studio with the WDK extension)",
      "DISM",
      "Hyper-V PowerShell module",
      "Pulumi engine (Go to build it, or a pulumi CLI)",
    ]);
    const report = formatHostReport(checks);
    expect(report.missingRequired).toBe(9);
    expect(report.text).toMatch(/MISSING {2}Windows Driver Kit \(km headers\): install the WDK/);
    expect(report.text).toMatch(/missing {2}Hyper-V PowerShell module: .*vm\.enabled false/);
  });

  it("a pulumi CLI stands in for Go; an arm64-only stack needs only the arm64 image", () => {
    const checks = checkAdkHost(
      host(
        COMPLETE.filter((f) => !f.includes("\\amd64\\en-us")),
        ["pulumi", "bash"],
      ),
      ["arm64"],
    );
    expect(checks.filter((c) => !c.ok)).toEqual([]);
  });

  it("set-up takes the Windows branch on Windows: no Debian packages, the adk check", async () => {
    const env = { WINPE_SETUP_PLATFORM: "windows" };
    const r = await runTool("bash", [`${REPO_ROOT}/scripts/setup.sh`, "--dry-run"], { env });
    expect(r.stdout).toMatch(/^\[setup\] windows: npm packages \(npm ci\); adk toolchain check/m);
    expect(r.stdout).not.toMatch(/Debian/);
    const l = await runTool("bash", [`${REPO_ROOT}/scripts/setup.sh`, "--dry-run"], {
      env: { WINPE_SETUP_PLATFORM: "linux" },
    });
    expect(l.stdout).toMatch(/linux: Debian packages/);
  });
});
