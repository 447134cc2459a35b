/**
 * The kernel debugger on the host (pure builder; WinDbg runs on Windows only).
 *
 * Syntax: `windbg [-y SymbolPath] -k net:port=PortNumber,key=Key[,target=...]`
 * https://learn.microsoft.com/en-us/windows-hardware/drivers/debugger/performing-kernel-mode-debugging-using-windbg
 * (ports 49152-65535; the key is the one `bcdedit /dbgsettings` put into the target's BCD).
 */
import type { AdkCommand, ArgPart } from "./types";
import { AdkArgumentError, kdnetKey, kdnetPort, windowsPath } from "./validate";

const DOC =
  "https://learn.microsoft.com/en-us/windows-hardware/drivers/debugger/performing-kernel-mode-debugging-using-windbg";

/**
 * `windbg.exe [-y <symbols>] -k net:port=<port>,key=<key>`, e.g. the workflow's
 * `windbg.exe -k net:port=50005,key=5.5.5.5`. The key is marked secret: renderers print
 * `net:port=50005,key=[secret]` unless asked to reveal it.
 * Doc: https://learn.microsoft.com/en-us/windows-hardware/drivers/debugger/performing-kernel-mode-debugging-using-windbg
 *
 * @param options - port, key, optional symbol folders (the `.pdb` folders of the built driver and app) and the
 *   program (default `windbg.exe`, on PATH in a Debugging Tools prompt)
 * @returns the command (cmd)
 */
export function windbgKdnet(options: { port: number; key: string; symbolPath?: string[]; tool?: string }): AdkCommand {
  const port = kdnetPort("port", options.port);
  const key = kdnetKey("key", options.key);
  const symbols: ArgPart[] = [];
  if (options.symbolPath !== undefined) {
    if (options.symbolPath.length === 0) throw new AdkArgumentError(`'symbolPath' must list at least one folder`);
    const dirs = options.symbolPath.map((d, i) => windowsPath(`symbolPath[${i}]`, d));
    if (dirs.some((d) => d.includes(";"))) throw new AdkArgumentError(`'symbolPath' folders must not contain ';'`);
    symbols.push("-y", dirs.join(";"));
  }
  return {
    tool: options.tool ?? "windbg.exe",
    argv: [...symbols, "-k", { switch: `net:port=${port},key=`, value: key, secret: true }],
    shell: "cmd",
    why: `wait for the target's kernel debugger on UDP port ${port} (KDNET)`,
    doc: DOC,
  };
}

/**
 * `windbg.exe [-y <symbols>] -k com:pipe,port=\\.\pipe\<vm>-com1,resets=0,reconnect`: kernel debugging of a Hyper-V
 * VM whose COM1 is a named pipe (`Set-VMComPort`), the target's BCD saying `dbgsettings serial debugport:1`.
 * Doc: https://learn.microsoft.com/en-us/windows-hardware/drivers/debugger/attaching-to-a-virtual-machine--kernel-mode-
 *
 * @param options - the pipe (`\\.\pipe\<name>`), optional symbol folders, the program (default `windbg.exe`)
 * @returns the command (cmd)
 */
export function windbgComPipe(options: { pipe: string; symbolPath?: string[]; tool?: string }): AdkCommand {
  if (!/^\\\\\.\\pipe\\[A-Za-z0-9_.-]{1,100}$/.test(options.pipe)) {
    throw new AdkArgumentError(`'pipe' must be a named pipe like \\\\.\\pipe\\WinPE-x64-com1`);
  }
  const symbols: ArgPart[] = [];
  if (options.symbolPath !== undefined) {
    if (options.symbolPath.length === 0) throw new AdkArgumentError(`'symbolPath' must list at least one folder`);
    const dirs = options.symbolPath.map((d, i) => windowsPath(`symbolPath[${i}]`, d));
    if (dirs.some((d) => d.includes(";"))) throw new AdkArgumentError(`'symbolPath' folders must not contain ';'`);
    symbols.push("-y", dirs.join(";"));
  }
  return {
    tool: options.tool ?? "windbg.exe",
    argv: [...symbols, "-k", `com:pipe,port=${options.pipe},resets=0,reconnect`],
    shell: "cmd",
    why: `attach to the target's kernel debugger on COM1 of the VM (named pipe ${options.pipe})`,
    doc: "https://learn.microsoft.com/en-us/windows-hardware/drivers/debugger/attaching-to-a-virtual-machine--kernel-mode-",
  };
}
