/**
 * The adk toolchain's driver test: not run on the host. On Windows the host is the developer's own machine; the
 * test driver is loaded by WinPE in the VM (the boot-time test, `winpe-lab:test.boot`), never into the host's
 * kernel. So the DriverTest resource records "not run" with that reason (never a pass), and `winpe plan` prints
 * what the stack does instead (pure builders below).
 *
 * Driver Verifier in the offline image: winpe-lab's REGF module writes the two values into the mounted image's
 * SYSTEM hive (no tool). Its equivalent with Windows' own tools, for comparison only (the plan shows it as a note):
 * `reg load HKLM\WinPeLabSystem <mount>\Windows\System32\config\SYSTEM`, `reg add "HKLM\WinPeLabSystem\
 * ControlSet001\Control\Session Manager\Memory Management" /v VerifyDrivers /t REG_SZ /d sioctl.sys /f` (and
 * VerifyDriverLevel, REG_DWORD), `reg unload HKLM\WinPeLabSystem`.
 * Docs: https://learn.microsoft.com/windows-server/administration/windows-commands/reg-load,
 * https://learn.microsoft.com/windows-server/administration/windows-commands/reg-add,
 * https://learn.microsoft.com/windows-server/administration/windows-commands/reg-unload
 */
import * as path from "node:path";
import { MEMORY_MANAGEMENT, SYSTEM_HIVE_PATH, type VerifierValues } from "../../formats/verifier";
import type { TestBackend } from "../types";
import type { AdkCommand } from "./types";
import { windowsPath } from "./validate";

/** Why the adk toolchain does not run the test on the host. */
export const ADK_NOT_RUN =
  "the adk toolchain does not run the driver test on the Windows host (that would load the test driver into the " +
  "host's own kernel): the boot-time test in WinPE (winpe-lab:test.boot) runs it in the VM and writes " +
  "'WINPE-LAB TEST <pass|fail>' to its serial port";

export const adkTestBackend: TestBackend = {
  toolchain: "adk",
  cannotRun() {
    return ADK_NOT_RUN;
  },
  async run() {
    return { ran: false, reason: ADK_NOT_RUN, runner: "none" };
  },
  async clean() {
    // nothing was made
  },
};

const LOAD_KEY = "HKLM\\WinPeLabSystem";
const DOC_REG = "https://learn.microsoft.com/windows-server/administration/windows-commands/reg";

/**
 * The `reg` commands that would make the same Driver Verifier edit in a DISM-mounted image as winpe-lab's REGF
 * module does (for comparison in `winpe plan`; winpe-lab does not run them).
 *
 * @param mountDir - the DISM mount folder
 * @param values - the two values
 * @param controlSet - the control set `Select\Current` names (known only once the hive is read) @default ControlSet001
 */
export function verifierRegCommands(
  mountDir: string,
  values: VerifierValues,
  controlSet = "ControlSet001",
): AdkCommand[] {
  const hive = path.win32.join(windowsPath("mountDir", mountDir), ...SYSTEM_HIVE_PATH.split("/"));
  const key = `${LOAD_KEY}\\${controlSet}\\${MEMORY_MANAGEMENT}`;
  return [
    {
      tool: "reg",
      argv: ["load", LOAD_KEY, hive],
      shell: "cmd",
      why: "load the image's SYSTEM hive",
      doc: `${DOC_REG}-load`,
    },
    {
      tool: "reg",
      argv: ["add", key, "/v", "VerifyDrivers", "/t", "REG_SZ", "/d", values.VerifyDrivers, "/f"],
      shell: "cmd",
      why: "the drivers Driver Verifier checks (verifier /driver)",
      doc: `${DOC_REG}-add`,
    },
    {
      tool: "reg",
      argv: [
        "add",
        key,
        "/v",
        "VerifyDriverLevel",
        "/t",
        "REG_DWORD",
        "/d",
        `0x${values.VerifyDriverLevel.toString(16)}`,
        "/f",
      ],
      shell: "cmd",
      why: "the verification options (verifier /flags)",
      doc: `${DOC_REG}-add`,
    },
    { tool: "reg", argv: ["unload", LOAD_KEY], shell: "cmd", why: "unload the hive", doc: `${DOC_REG}-unload` },
  ];
}
