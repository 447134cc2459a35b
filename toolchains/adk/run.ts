/**
 * Runs an adk command (built by the pure builders in this folder) on Windows. On any other host it refuses
 * with a clear message and runs nothing: the adk toolchain is never pretended to run.
 */

import { WinpeError } from "../../runtime/errors";
import { type RunResult, runTool } from "../../runtime/exec";
import { commandSecrets, logicalArgv, renderCommand } from "./quote";
import type { AdkCommand } from "./types";

export class AdkUnavailableError extends WinpeError {
  constructor(message: string) {
    super(message);
    this.name = "AdkUnavailableError";
  }
}

/** Throw unless this host can run the adk toolchain. */
export function assertWindows(what: string): void {
  if (process.platform !== "win32") {
    throw new AdkUnavailableError(
      `the adk toolchain needs Windows: ${what} was not run. Use the open toolchain on this host, or ` +
        "'npm run -s winpe -- plan --stack <name>' to see the commands the stack runs on Windows.",
    );
  }
}

/** Run one adk command: native tools with their argv, cmdlets through PowerShell (no cmd.exe). */
export function runAdk(cmd: AdkCommand, ctx: { resource: string; onLine?: (l: string) => void }): Promise<RunResult> {
  assertWindows(`'${cmd.tool}' (${cmd.why})`);
  const secrets = commandSecrets(cmd);
  if (cmd.shell === "powershell") {
    const script = `$ErrorActionPreference = 'Stop'; ${renderCommand(cmd, { secrets: "reveal" })}`;
    return runTool(
      "powershell.exe",
      ["-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-Command", script],
      {
        resource: ctx.resource,
        secrets,
        onLine: ctx.onLine,
      },
    );
  }
  return runTool(cmd.tool, logicalArgv(cmd.argv), { resource: ctx.resource, secrets, onLine: ctx.onLine });
}
