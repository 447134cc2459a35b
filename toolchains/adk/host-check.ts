/**
 * What a Windows host needs for the adk toolchain, checked from facts about the host (files, commands on PATH)
 * handed in by the caller: a pure function, so the same checks are tested on any machine (`winpe doctor` and
 * `npm run setup` on Windows give it the real host).
 *
 * Locations are Microsoft's defaults (overridable with WINPE_ADK_ROOT and WINPE_KITS_ROOT):
 * - ADK Deployment Tools: `<ADK>\Deployment Tools\amd64\Oscdimg\oscdimg.exe`
 *   (https://learn.microsoft.com/en-us/windows-hardware/get-started/adk-install)
 * - WinPE add-on: `<ADK>\Windows Preinstallation Environment\copype.cmd`, `MakeWinPEMedia.cmd`,
 *   `<arch>\en-us\winpe.wim` (https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/winpe-create-usb-bootable-drive)
 * - WDK: `<Kits>\Include\<version>\km\wdm.h`, signtool `<Kits>\bin\<version>\x64\signtool.exe`
 *   (https://learn.microsoft.com/en-us/windows-hardware/drivers/download-the-wdk)
 * - MSBuild: Visual Studio's `vswhere.exe` finds it (`<ProgramFiles(x86)>\Microsoft Visual Studio\Installer`), or
 *   `MSBuild` on PATH (a Developer Command Prompt)
 * - DISM (`%SystemRoot%\System32\Dism.exe`), the Hyper-V PowerShell module
 *   (`%SystemRoot%\System32\WindowsPowerShell\v1.0\Modules\Hyper-V`)
 * - the Pulumi engine: Go on PATH (scripts/build-engine.sh builds it), or a `pulumi` CLI already installed
 * - Git Bash: the project's scripts are bash
 */
import * as path from "node:path";
import { DEFAULT_ADK_ROOT } from "./media";

const win = path.win32;

/** The facts the checks need, as the caller reads them from the host. */
export interface HostFacts {
  /** Whether a file or folder exists. */
  exists(p: string): boolean;
  /** The entries of a folder ([] when it does not exist). */
  list(dir: string): string[];
  /** Whether a command is on PATH. */
  onPath(command: string): boolean;
  env: Record<string, string | undefined>;
}

export interface HostCheck {
  /** What is checked, e.g. `Windows ADK Deployment Tools (oscdimg)`. */
  item: string;
  ok: boolean;
  /** Where it was found, or what to do when it was not. */
  detail: string;
  /** Without it the adk stacks cannot run (false: one step only, e.g. the Hyper-V VM). */
  required: boolean;
}

/** Check the host for the adk toolchain, for the WinPE architectures given. */
export function checkAdkHost(
  facts: HostFacts,
  arches: ReadonlyArray<"amd64" | "arm64"> = ["amd64", "arm64"],
): HostCheck[] {
  const env = facts.env;
  const adk = env.WINPE_ADK_ROOT || DEFAULT_ADK_ROOT;
  const kits =
    env.WINPE_KITS_ROOT || win.join(env["ProgramFiles(x86)"] || "C:\\Program Files (x86)", "Windows Kits", "10");
  const sysroot = env.SystemRoot || "C:\\Windows";
  const winpe = win.join(adk, "Windows Preinstallation Environment");
  const out: HostCheck[] = [];
  const check = (item: string, found: string | undefined, fix: string, required = true) =>
    out.push({ item, ok: found !== undefined, detail: found ?? fix, required });
  const first = (...cands: string[]) => cands.find((c) => facts.exists(c));

  check(
    "Windows ADK Deployment Tools (oscdimg)",
    first(win.join(adk, "Deployment Tools", "amd64", "Oscdimg", "oscdimg.exe")),
    `install the Windows ADK with the Deployment Tools (https://learn.microsoft.com/en-us/windows-hardware/get-started/adk-install); looked in ${adk}`,
  );
  check(
    "WinPE add-on (copype, MakeWinPEMedia)",
    first(win.join(winpe, "copype.cmd")) && first(win.join(winpe, "MakeWinPEMedia.cmd")),
    `install the Windows PE add-on for the ADK; looked for ${win.join(winpe, "copype.cmd")}`,
  );
  for (const a of arches) {
    check(
      `WinPE ${a} image`,
      first(win.join(winpe, a, "en-us", "winpe.wim")),
      `the WinPE add-on has no ${a} image (${win.join(winpe, a, "en-us", "winpe.wim")}): install it with ${a} support`,
    );
  }
  const versions = facts
    .list(win.join(kits, "Include"))
    .filter((v) => /^10\.\d+\.\d+\.\d+$/.test(v))
    .sort();
  const wdk = [...versions].reverse().find((v) => facts.exists(win.join(kits, "Include", v, "km", "wdm.h")));
  check(
    "Windows Driver Kit (km headers)",
    wdk ? win.join(kits, "Include", wdk, "km") : undefined,
    `install the WDK matching your SDK (https://learn.microsoft.com/en-us/windows-hardware/drivers/download-the-wdk); looked in ${win.join(kits, "Include")}`,
  );
  const signtool = [...versions]
    .reverse()
    .map((v) => win.join(kits, "bin", v, "x64", "signtool.exe"))
    .find((p) => facts.exists(p));
  check(
    "signtool (Windows SDK)",
    signtool,
    `install the Windows SDK (signtool.exe) with the WDK; looked in ${win.join(kits, "bin")}`,
  );
  const vswhere = win.join(
    env["ProgramFiles(x86)"] || "C:\\Program Files (x86)",
    "Microsoft Visual Studio",
    "Installer",
    "vswhere.exe",
  );
  check(
    "MSBuild (Visual Studio with the WDK extension)",
    facts.onPath("MSBuild") ? "MSBuild on PATH" : first(vswhere),
    "install Visual Studio with 'Desktop development with C++' and the WDK extension, or run from a Developer Command Prompt",
  );
  check(
    "DISM",
    first(win.join(sysroot, "System32", "Dism.exe")),
    `Dism.exe is part of Windows; looked in ${win.join(sysroot, "System32")}`,
  );
  check(
    "Hyper-V PowerShell module",
    first(win.join(sysroot, "System32", "WindowsPowerShell", "v1.0", "Modules", "Hyper-V")),
    "enable Hyper-V with its management tools (Turn Windows features on or off), or set winpe-lab:vm.enabled false",
    false,
  );
  check(
    "Pulumi engine (Go to build it, or a pulumi CLI)",
    facts.onPath("go")
      ? "go on PATH (npm run setup builds the engine)"
      : facts.onPath("pulumi")
        ? "pulumi on PATH"
        : undefined,
    "install Go (https://go.dev/dl/) so that npm run setup builds the engine, or install the Pulumi CLI",
  );
  check(
    "Git Bash",
    facts.onPath("bash") ? "bash on PATH" : undefined,
    "install Git for Windows (its Git Bash runs the project's scripts)",
  );
  return out;
}

/** The report `winpe doctor` prints: one line per check, then what is missing (empty when all required are there). */
export function formatHostReport(checks: readonly HostCheck[]): { text: string; missingRequired: number } {
  const lines = checks.map((c) => `${c.ok ? "ok     " : c.required ? "MISSING" : "missing"}  ${c.item}: ${c.detail}`);
  const missing = checks.filter((c) => !c.ok && c.required).length;
  lines.push(
    missing === 0
      ? "everything the adk toolchain needs is there"
      : `${missing} required part(s) missing: install them, then run npm run setup again`,
  );
  return { text: lines.join("\n"), missingRequired: missing };
}
