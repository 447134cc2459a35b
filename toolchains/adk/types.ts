/**
 * Types of the adk toolchain's command builders.
 *
 * The adk tools (bcdedit, DISM, MakeWinPEMedia/oscdimg, Hyper-V, WinDbg) run on Windows only. On Linux their
 * command lines are built and rendered by pure functions and tested as strings; nothing here starts a process.
 *
 * An {@link AdkCommand} keeps its arguments as structured {@link ArgPart}s rather than as a finished string, so
 * one command renders correctly for `cmd.exe` ({@link renderCmdLine} in `quote.ts`) and for PowerShell
 * ({@link renderPowerShell}), and so a renderer knows which parts are secrets.
 *
 * Every argument a native tool receives is one *logical argument*: the string its C runtime puts into
 * `argv[i]`. A part only says how that string is built and how it likes to be quoted.
 */

/** The shell a command is meant for. */
export type AdkShell = "cmd" | "powershell";

/**
 * A value glued to a switch, with the quote placed after the switch: `{ switch: "/ImageFile:", value:
 * "D:\\x y\\boot.wim", quote: "always" }` renders for cmd as `/ImageFile:"D:\x y\boot.wim"`, the form Microsoft
 * documents for DISM. The logical argument is `switch + value` (`/ImageFile:D:\x y\boot.wim`): the C runtime
 * removes quotes anywhere inside an argument, so the program sees the same string either way; the position of
 * the quote only matters to people comparing with the documentation.
 *
 * `switch` is literal text: it must not contain whitespace or `"`. It may be empty (a lone value that is
 * secret or always quoted).
 */
export interface SwitchArg {
  readonly switch: string;
  readonly value: string;
  /**
   * cmd rendering: `"always"` quotes the value even when it needs no quotes (DISM's documented style);
   * `"auto"` quotes it only when it contains whitespace or `"` or is empty.
   * @default "auto"
   */
  readonly quote?: "always" | "auto";
  /** The value is a secret (a KDNET key): renderers print `[secret]` in its place unless asked to reveal it. */
  readonly secret?: boolean;
}

/**
 * Several switch+value pairs concatenated into one logical argument, e.g. oscdimg's
 * `-bootdata:2#p0,e,b"<etfsboot.com>"#pEF,e,b"<efisys.bin>"`.
 */
export interface CompoundArg {
  readonly compound: readonly SwitchArg[];
}

/** PowerShell only: a parameter name, rendered `-Name`. */
export interface PsParam {
  readonly param: string;
}

/**
 * PowerShell only: a literal that is not a string: `2`, `2GB`, `$null`, `$true`, `$false`, or a bare enum name
 * such as `Off`. Anything else is refused by the renderer (this is not a way to inject code).
 */
export interface PsLiteral {
  readonly literal: string;
}

/** PowerShell only: another PowerShell command whose result is the argument, rendered `(Get-VMDvdDrive ...)`. */
export interface PsSubcommand {
  readonly subcommand: AdkCommand;
}

/**
 * One argument of an {@link AdkCommand}. A plain string is one logical argument, quoted by the renderer as
 * needed (`D:\WinPE_amd64\media\EFI\Microsoft\Boot\BCD`, `{default}`, `/index:1`).
 */
export type ArgPart = string | SwitchArg | CompoundArg | PsParam | PsLiteral | PsSubcommand;

/** A command of the adk toolchain, built by a pure function and never run on Linux. */
export interface AdkCommand {
  /** The program or cmdlet: `bcdedit`, `Dism`, `oscdimg`, `New-VM`, or a full path to an executable. */
  readonly tool: string;
  readonly argv: readonly ArgPart[];
  /** The shell the command is written for (a native tool renders for both; cmdlets need PowerShell). */
  readonly shell: AdkShell;
  /** One line for people: what the command does and why. */
  readonly why: string;
  /** Microsoft's documentation of the command's syntax. */
  readonly doc?: string;
}
