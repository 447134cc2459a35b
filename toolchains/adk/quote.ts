/**
 * Windows command-line rendering for the adk toolchain: pure functions, no process is started here.
 *
 * Three layers, applied from the inside out (the order is the whole point; see "Summary of Important Concepts
 * For Quoting and Escaping Windows Command Line Arguments", http://www.windowsinspired.com/summary-of-important-concepts-for-quoting-and-escaping-command-line-arguments/):
 *
 * 1. **The program's own parser.** Almost every Windows program splits its command line with the Microsoft C
 *    runtime rules, which `CommandLineToArgvW` shares: arguments are separated by spaces/tabs; `"` toggles
 *    quoting anywhere inside an argument; `2n` backslashes before `"` become `n` backslashes and the quote is a
 *    delimiter; `2n+1` backslashes before `"` become `n` backslashes and a literal `"`; other backslashes are
 *    literal. {@link quoteWindowsArg} produces that encoding.
 *    - https://learn.microsoft.com/en-us/cpp/c-language/parsing-c-command-line-arguments
 *    - https://learn.microsoft.com/en-us/windows/win32/api/shellapi/nf-shellapi-commandlinetoargvw
 *    - https://learn.microsoft.com/en-us/archive/blogs/twistylittlepassagesallalike/everyone-quotes-command-line-arguments-the-wrong-way
 * 2. **cmd.exe**, when the line goes through it ({@link renderCmdLine}). cmd does not know layer 1: every `"`
 *    toggles its own quote flag (an escaped `\"` too), and outside its quotes `& | < > ( ) ^` are operators
 *    unless preceded by a caret, which cmd then removes. Inside its quotes they are literal and a caret is a
 *    literal caret. So carets go exactly where cmd's own quote flag is off, tracked quote by quote.
 *    `%` is expanded *before* quotes and carets are looked at (phase 1 in the parser model of
 *    https://stackoverflow.com/questions/4094699/how-does-the-windows-command-interpreter-cmd-exe-parse-scripts),
 *    so no caret and no quote protects it. In a batch file `%%` is a literal `%`, inside quotes or not; at the
 *    interactive prompt there is no reliable escape (the `^%` trick fails for `%PATH:a=b^%`, which is the
 *    search-and-replace expansion of PATH). Rendered lines are therefore **batch-file lines**: `%` becomes `%%`.
 *    `!` is special only with delayed expansion enabled, which is off by default and which
 *    {@link renderCmdScript} turns off explicitly; with it off, `!` is an ordinary character and must not be
 *    escaped (a caret inside quotes would stay in the argument).
 * 3. **PowerShell** ({@link renderPowerShell}): every string argument is a single-quoted literal, where nothing
 *    is special except the quote itself, doubled to escape it. PowerShell's tokenizer also treats the
 *    typographic quotes U+2018, U+2019, U+201A and U+201B as single quotes, so they are doubled too, exactly
 *    as PowerShell's own `CodeGeneration.EscapeSingleQuotedStringContent` does
 *    (https://learn.microsoft.com/en-us/powershell/module/microsoft.powershell.core/about/about_quoting_rules).
 *    PowerShell then builds the native command line itself, quoting each argument as a whole; `--%` is never
 *    used.
 */

import { WinpeError } from "../../runtime/errors";
import type { AdkCommand, ArgPart, CompoundArg, PsLiteral, PsParam, PsSubcommand, SwitchArg } from "./types";

/** What a renderer prints in place of a secret value. */
export const SECRET_MASK = "[secret]";

/** Raised when an argument cannot be represented in the requested shell; the message says what to do. */
export class AdkRenderError extends WinpeError {
  constructor(message: string) {
    super(message);
    this.name = "AdkRenderError";
  }
}

/** Options of the renderers. */
export interface RenderOptions {
  /**
   * `"mask"` prints `[secret]` in place of secret values (for logs, previews, errors); `"reveal"` prints them
   * (only for a line that is really going to run).
   * @default "mask"
   */
  secrets?: "mask" | "reveal";
}

function isSwitchArg(p: ArgPart): p is SwitchArg {
  return typeof p === "object" && "switch" in p;
}
function isCompoundArg(p: ArgPart): p is CompoundArg {
  return typeof p === "object" && "compound" in p;
}
function isPsParam(p: ArgPart): p is PsParam {
  return typeof p === "object" && "param" in p;
}
function isPsLiteral(p: ArgPart): p is PsLiteral {
  return typeof p === "object" && "literal" in p;
}
function isPsSubcommand(p: ArgPart): p is PsSubcommand {
  return typeof p === "object" && "subcommand" in p;
}

function describe(p: ArgPart): string {
  if (isPsParam(p)) return `parameter -${p.param}`;
  if (isPsLiteral(p)) return `literal ${p.literal}`;
  return "a PowerShell subcommand";
}

/**
 * Quote one argument so that the Microsoft C runtime (and `CommandLineToArgvW`) gives it back unchanged.
 *
 * An argument without space, tab, newline, vertical tab or `"` that is not empty is returned as is. Otherwise it
 * is wrapped in quotes; backslashes that precede a `"` (or the closing quote) are doubled, and each `"` is
 * escaped as `\"`. Not for `argv[0]` (the program name has its own rule: quotes only, no escapes).
 *
 * @param arg - the argument as the program should receive it
 * @param options - `force: true` quotes even an argument that would not need it (DISM's documented style)
 * @returns the encoded argument
 * @throws AdkRenderError for an argument containing NUL, which no Windows command line can carry
 */
export function quoteWindowsArg(arg: string, options: { force?: boolean } = {}): string {
  if (arg.includes("\0")) throw new AdkRenderError("a Windows command-line argument cannot contain a NUL character");
  if (!options.force && arg.length > 0 && !/[ \t\n\v"]/.test(arg)) return arg;
  let out = '"';
  let backslashes = 0;
  for (const ch of arg) {
    if (ch === "\\") {
      backslashes++;
      continue;
    }
    if (ch === '"') out += `${"\\".repeat(backslashes * 2 + 1)}"`;
    else out += "\\".repeat(backslashes) + ch;
    backslashes = 0;
  }
  return `${out}${"\\".repeat(backslashes * 2)}"`;
}

function checkSwitchText(text: string): void {
  if (/[\s"\0]/.test(text)) {
    throw new AdkRenderError(
      `switch text ${JSON.stringify(text)} must not contain whitespace or '"': put such characters into the value`,
    );
  }
}

/**
 * The logical argument a part stands for: the exact string the program finds in `argv[i]`.
 *
 * @param part - a native-tool argument (a string, a {@link SwitchArg} or a {@link CompoundArg})
 * @returns the argument as the program receives it
 * @throws AdkRenderError for PowerShell-only parts, which have no native meaning
 */
export function logicalArg(part: ArgPart): string {
  if (typeof part === "string") return part;
  if (isSwitchArg(part)) return part.switch + part.value;
  if (isCompoundArg(part)) return part.compound.map((s) => s.switch + s.value).join("");
  throw new AdkRenderError(`${describe(part)} is a PowerShell-only argument: a native program cannot receive it`);
}

/**
 * The argv a native program receives (without `argv[0]`), e.g. for a future Windows runner that passes an
 * argv array to `runTool`.
 *
 * @param argv - the command's parts
 * @returns one string per logical argument
 * @throws AdkRenderError when a part is PowerShell-only
 */
export function logicalArgv(argv: readonly ArgPart[]): string[] {
  return argv.map(logicalArg);
}

/**
 * The secret values in a command, including those of nested PowerShell subcommands: pass them as `secrets:` to
 * `runTool` so the tool log and errors redact them.
 *
 * @param cmd - the command
 * @returns the secret values, in argument order, without duplicates
 */
export function commandSecrets(cmd: AdkCommand): string[] {
  const found: string[] = [];
  const visit = (parts: readonly ArgPart[]) => {
    for (const p of parts) {
      if (isSwitchArg(p)) {
        if (p.secret) found.push(p.value);
      } else if (isCompoundArg(p)) {
        for (const s of p.compound) {
          if (s.secret) found.push(s.value);
        }
      } else if (isPsSubcommand(p)) {
        visit(p.subcommand.argv);
      }
    }
  };
  visit(cmd.argv);
  return [...new Set(found.filter((s) => s.length > 0))];
}

/* ----------------------------------------------------------------------------------------------------------
 * cmd.exe
 * -------------------------------------------------------------------------------------------------------- */

/** A run of command-line text (already in C-runtime form) and whether it is a secret value. */
interface Piece {
  text: string;
  secret: boolean;
}

/** Operators of cmd.exe's special-character phase, literal inside its quotes, caret-escaped outside. */
const CMD_OPERATORS = new Set(["&", "|", "<", ">", "(", ")", "^"]);

function crtPiecesOfSwitch(s: SwitchArg): Piece[] {
  checkSwitchText(s.switch);
  const value = quoteWindowsArg(s.value, { force: s.quote === "always" });
  if (s.switch.endsWith("\\") && value.startsWith('"')) {
    // `D:\` + `"x y"` would read as `D:` + an escaped quote
    throw new AdkRenderError(
      `switch text ${JSON.stringify(s.switch)} ends with a backslash before a quoted value: move the backslash into the value`,
    );
  }
  return [
    { text: s.switch, secret: false },
    { text: value, secret: s.secret === true },
  ];
}

function crtPieces(part: ArgPart): Piece[] {
  if (typeof part === "string") return [{ text: quoteWindowsArg(part), secret: false }];
  if (isSwitchArg(part)) return crtPiecesOfSwitch(part);
  if (isCompoundArg(part)) return part.compound.flatMap(crtPiecesOfSwitch);
  throw new AdkRenderError(`${describe(part)} is a PowerShell-only argument: this command cannot render for cmd.exe`);
}

/** `argv[0]` for cmd: quoted as a whole when it has spaces or operators; quotes cannot be escaped in it. */
function cmdProgramText(tool: string): string {
  if (tool.length === 0) throw new AdkRenderError("the program name must not be empty");
  if (/["\0\r\n\x1a]/.test(tool)) {
    throw new AdkRenderError(`program ${JSON.stringify(tool)} must not contain '"' or line breaks`);
  }
  return /[\s&|<>^(),;=]/.test(tool) ? `"${tool}"` : tool;
}

function maskedLike(text: string): string {
  return text.length >= 2 && text.startsWith('"') && text.endsWith('"') ? `"${SECRET_MASK}"` : SECRET_MASK;
}

/**
 * Render a native command as one line of a cmd.exe batch file.
 *
 * Each argument is first quoted for the C runtime ({@link quoteWindowsArg}; a {@link SwitchArg} keeps its switch
 * unquoted and quotes only the value: `/ImageFile:"D:\x y\boot.wim"`). Then, following cmd's own quote flag
 * (every `"` toggles it), `& | < > ( ) ^` outside quotes get a caret, and every `%` becomes `%%` (the batch-file
 * rule: cmd expands `%` before it looks at quotes or carets). `!` is left alone: the line assumes delayed
 * expansion is disabled, cmd's default and what {@link renderCmdScript} sets.
 *
 * @param tool - the program: a name on PATH (`Dism`) or a full path (quoted when it has spaces)
 * @param argv - the arguments
 * @param options - secrets are masked unless `secrets: "reveal"`
 * @returns the batch-file line, e.g. `Dism /Mount-Image /ImageFile:"D:\WinPE_amd64\media\sources\boot.wim" ...`
 * @throws AdkRenderError for PowerShell-only parts, NUL, CR, LF or Ctrl-Z (a batch line cannot carry them)
 */
export function renderCmdLine(tool: string, argv: readonly ArgPart[], options: RenderOptions = {}): string {
  const reveal = options.secrets === "reveal";
  const pieces: Piece[] = [{ text: cmdProgramText(tool), secret: false }];
  for (const part of argv) {
    pieces.push({ text: " ", secret: false }, ...crtPieces(part));
  }
  let inQuotes = false;
  let line = "";
  for (const piece of pieces) {
    let rendered = "";
    for (const ch of piece.text) {
      if (ch === "\r" || ch === "\n" || ch === "\x1a") {
        throw new AdkRenderError("a cmd.exe line cannot carry CR, LF or Ctrl-Z inside an argument");
      }
      if (ch === '"') {
        inQuotes = !inQuotes;
        rendered += ch;
      } else if (ch === "%") {
        rendered += "%%";
      } else if (!inQuotes && CMD_OPERATORS.has(ch)) {
        rendered += `^${ch}`;
      } else {
        rendered += ch;
      }
    }
    line += piece.secret && !reveal ? maskedLike(piece.text) : rendered;
  }
  return line;
}

/**
 * Programs that are batch files themselves (the ADK's `MakeWinPEMedia.cmd` and `copype.cmd`, or any `.cmd`/`.bat`).
 * A batch file started from another one without `call` never returns to the caller.
 */
const BATCH_PROGRAM = /(?:^|\\)(?:MakeWinPEMedia|copype)(?:\.cmd)?$|\.(?:cmd|bat)$/i;

/**
 * A complete `.cmd` script running the given commands in order and stopping at the first failure. It starts
 * with `setlocal EnableExtensions DisableDelayedExpansion`, the mode {@link renderCmdLine}'s escaping is
 * written for. Batch-file programs (MakeWinPEMedia, copype) are started with `call`, or the script would end
 * there; `call` expands `%` a second time and doubles carets (phase 6 of the parser model cited above), so
 * their lines must not contain `%` or `^` at all.
 *
 * @param commands - native commands (PowerShell commands are refused: run them with {@link renderPowerShell})
 * @param options - secrets are masked unless `secrets: "reveal"`
 * @returns the script text with CRLF line endings
 * @throws AdkRenderError for a PowerShell command, or a batch-file program whose line contains `%` or `^`
 */
export function renderCmdScript(commands: readonly AdkCommand[], options: RenderOptions = {}): string {
  const lines = ["@echo off", "setlocal EnableExtensions DisableDelayedExpansion"];
  for (const cmd of commands) {
    if (cmd.shell !== "cmd") {
      throw new AdkRenderError(`'${cmd.tool}' is a PowerShell command: it cannot be part of a cmd.exe script`);
    }
    lines.push(`rem ${cmd.why.replace(/[\r\n]+/g, " ").replace(/[%&|<>^]/g, " ")}`);
    const line = renderCmdLine(cmd.tool, cmd.argv, options);
    if (BATCH_PROGRAM.test(cmd.tool)) {
      if (/[%^]/.test(renderCmdLine(cmd.tool, cmd.argv, { secrets: "reveal" }))) {
        throw new AdkRenderError(
          `'${cmd.tool}' is a batch file, started with 'call', which expands % twice and doubles carets: its arguments must not contain % or ^`,
        );
      }
      lines.push(`call ${line}`);
    } else {
      lines.push(line);
    }
    lines.push("if errorlevel 1 exit /b %errorlevel%");
  }
  return `${lines.join("\r\n")}\r\n`;
}

/* ----------------------------------------------------------------------------------------------------------
 * PowerShell
 * -------------------------------------------------------------------------------------------------------- */

/** ' and the typographic single quotes PowerShell's tokenizer also accepts (U+2018, U+2019, U+201A, U+201B). */
const PS_SINGLE_QUOTES = /['\u2018\u2019\u201a\u201b]/g;

/**
 * A PowerShell single-quoted string literal: every single-quote character (including the typographic ones
 * PowerShell treats as quotes) is doubled; nothing else is special, not `$`, not the backtick.
 *
 * @param value - any string
 * @returns the literal, e.g. `'it''s'`
 */
export function quotePowerShellString(value: string): string {
  return `'${value.replace(PS_SINGLE_QUOTES, (q) => q + q)}'`;
}

/** `Verb-Noun`: a cmdlet or function name, rendered without the call operator. */
const CMDLET_NAME = /^[A-Za-z]+-[A-Za-z][A-Za-z0-9]*$/;
/** A program name PowerShell can take as a bare command word. */
const BARE_PROGRAM = /^[A-Za-z][A-Za-z0-9_.-]*$/;
/**
 * A native-command argument that PowerShell's argument mode passes through unchanged without quotes: starts
 * with a letter or `/` (never a digit: `2GB` or `0x10` would be parsed as numbers), or is a simple `-flag`;
 * contains none of PowerShell's special characters (space, quotes, `$ @ # ; , | & ( ) { } [ ] < >` and the
 * backtick). Everything else is single-quoted.
 */
const BARE_NATIVE_ARG = /^(?:[A-Za-z][\w.:=+\\/-]*|\/[\w.:=+\\/-]*|-[A-Za-z][A-Za-z0-9]*)$/;
const PS_PARAM_NAME = /^[A-Za-z][A-Za-z0-9]*$/;
const PS_LITERAL = /^(?:\$null|\$true|\$false|\d+(?:KB|MB|GB|TB|PB)?|[A-Za-z][A-Za-z0-9]*)$/;

/** Text pieces of one PowerShell string argument, with the secret values marked for masking. */
function psStringArg(part: string | SwitchArg | CompoundArg, native: boolean, reveal: boolean): string {
  const segments: { text: string; secret: boolean }[] =
    typeof part === "string"
      ? [{ text: part, secret: false }]
      : (isCompoundArg(part) ? part.compound : [part]).flatMap((s) => {
          checkSwitchText(s.switch);
          return [
            { text: s.switch, secret: false },
            { text: s.value, secret: s.secret === true },
          ];
        });
  const whole = segments.map((s) => s.text).join("");
  if (native) {
    // Windows PowerShell 5.1 drops empty arguments and does not escape embedded quotes when it builds the native
    // command line; PowerShell 7.3+ does ($PSNativeCommandArgumentPassing). Neither is needed by these tools.
    if (whole.length === 0) {
      throw new AdkRenderError("an empty argument cannot be passed to a native program from PowerShell reliably");
    }
    if (whole.includes('"')) {
      throw new AdkRenderError(
        `argument ${JSON.stringify(whole)} contains '"': PowerShell versions pass it to native programs differently; render for cmd.exe instead`,
      );
    }
  }
  const bare = native && BARE_NATIVE_ARG.test(whole);
  const shown = segments.map((s) => (s.secret && !reveal ? SECRET_MASK : s.text)).join("");
  return bare ? shown : quotePowerShellString(shown);
}

function renderPsPart(part: ArgPart, native: boolean, reveal: boolean): string {
  if (isPsParam(part)) {
    if (!PS_PARAM_NAME.test(part.param)) {
      throw new AdkRenderError(`PowerShell parameter name ${JSON.stringify(part.param)} must be letters and digits`);
    }
    return `-${part.param}`;
  }
  if (isPsLiteral(part)) {
    if (!PS_LITERAL.test(part.literal)) {
      throw new AdkRenderError(
        `PowerShell literal ${JSON.stringify(part.literal)} must be a number (with an optional KB/MB/GB/TB/PB suffix), $null, $true, $false or a bare enum name`,
      );
    }
    return part.literal;
  }
  if (isPsSubcommand(part)) {
    const sub = part.subcommand;
    return `(${renderPowerShell(sub.tool, sub.argv, { secrets: reveal ? "reveal" : "mask" })})`;
  }
  return psStringArg(part, native, reveal);
}

/**
 * Render a command for PowerShell.
 *
 * A `Verb-Noun` name is a cmdlet: its string values are always single-quoted. Anything else is a native program:
 * a bare name (`bcdedit`, `windbg.exe`) is written as is, a path goes through the call operator
 * (`& 'C:\Program Files\...\oscdimg.exe'`). Native string arguments are written bare when PowerShell passes them
 * unchanged (`/store`, `on`, `/index:1`) and single-quoted otherwise (`'{default}'`, where braces would make a
 * script block). A {@link SwitchArg} becomes one string (`'/ImageFile:D:\x y\boot.wim'`): PowerShell quotes the
 * whole argument when it builds the command line, which the C runtime reads as the same `argv[i]`.
 *
 * @param cmdletOrTool - a cmdlet (`New-VM`), a program name or a program path
 * @param args - the arguments; {@link PsParam}, {@link PsLiteral} and {@link PsSubcommand} are for cmdlets
 * @param options - secrets are masked unless `secrets: "reveal"`
 * @returns one PowerShell statement
 * @throws AdkRenderError for arguments PowerShell cannot pass to a native program reliably (empty, or with `"`)
 */
export function renderPowerShell(cmdletOrTool: string, args: readonly ArgPart[], options: RenderOptions = {}): string {
  const reveal = options.secrets === "reveal";
  if (cmdletOrTool.length === 0) throw new AdkRenderError("the command name must not be empty");
  if (/[\0\r\n]/.test(cmdletOrTool)) throw new AdkRenderError("the command name must not contain line breaks");
  const native = !CMDLET_NAME.test(cmdletOrTool);
  const head = !native || BARE_PROGRAM.test(cmdletOrTool) ? cmdletOrTool : `& ${quotePowerShellString(cmdletOrTool)}`;
  return [head, ...args.map((a) => renderPsPart(a, native, reveal))].join(" ");
}

/**
 * Render a command for the shell it was built for (`cmd.shell`).
 *
 * @param cmd - the command
 * @param options - secrets are masked unless `secrets: "reveal"`
 * @returns a cmd.exe batch line or a PowerShell statement
 */
export function renderCommand(cmd: AdkCommand, options: RenderOptions = {}): string {
  return cmd.shell === "cmd"
    ? renderCmdLine(cmd.tool, cmd.argv, options)
    : renderPowerShell(cmd.tool, cmd.argv, options);
}
