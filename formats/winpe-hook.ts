/**
 * The boot-time driver test's start hook for WinPE (pure text generation, no tools, no Pulumi).
 *
 * WinPE runs `Windows\System32\startnet.cmd` at start (through winpeshl.exe, when no winpeshl.ini names other
 * programs); the default one runs `wpeinit` only. Microsoft documents adding commands there, after `wpeinit`:
 * "WinPE: Mount and Customize", section "Add a startup script"
 * (https://learn.microsoft.com/windows-hardware/manufacture/desktop/winpe-mount-and-customize#add-a-startup-script)
 * and "Wpeinit and Startnet.cmd: Using WinPE startup scripts"
 * (https://learn.microsoft.com/windows-hardware/manufacture/desktop/wpeinit-and-startnetcmd-using-winpe-startup-scripts);
 * `wpeutil shutdown` ends WinPE ("Wpeutil command-line options",
 * https://learn.microsoft.com/windows-hardware/manufacture/desktop/wpeutil-command-line-options).
 *
 * The hook is two files: our `startnet.cmd` (`wpeinit`, the test, `wpeutil shutdown`) replaces the image's (the
 * image chain keeps the original and puts it back on destroy), and `test.cmd` runs the test: it changes to the
 * image folder, runs the command with its output in a file, copies that output to the first serial port (COM1),
 * judges the exit code and the output (`findstr /R /G:<pattern file>`: the same pattern the pre-flight uses, in
 * findstr's dialect), and writes one line `WINPE-LAB TEST <pass|fail> <details>` to COM1. `test.cmd` needs no WinPE
 * tool, so it also runs under Wine's cmd (the tests do that, with COM1 mapped to a file).
 */
import { WinpeError } from "../runtime/errors";

/** Where the hook's files go in the image. */
export const STARTNET_PATH = "Windows/System32/startnet.cmd";
export const HOOK_DIR = "Windows/System32/winpe-lab";
export const HOOK_TEST_PATH = `${HOOK_DIR}/test.cmd`;
export const HOOK_PATTERN_PATH = `${HOOK_DIR}/pattern.txt`;

/** The verdict line: `WINPE-LAB TEST pass exit=0 output=matched`. */
export const VERDICT_LINE_RE = /^WINPE-LAB TEST (pass|fail)\b ?(.*)$/;
/** The boot check's pattern when the hook is in the image (a regular expression over each console line). */
export const VERDICT_BOOT_PATTERN = "^WINPE-LAB TEST (pass|fail)\\b";

export class HookError extends WinpeError {
  constructor(message: string) {
    super(message);
    this.name = "HookError";
  }
}

/**
 * The JavaScript regular expression `pattern` in findstr's dialect (`findstr /R`: `.` `*` `^` `$` `[class]`
 * `\x`), or a {@link HookError} naming what findstr cannot express. The pre-flight matches the JavaScript pattern
 * against each line of the output, findstr does the same with its translation: the subset that means the same in
 * both is literal text, `.`, `*`, `^` at the start, `$` at the end, simple `[...]` classes and escaped punctuation.
 */
export function findstrPattern(pattern: string): string {
  let out = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    const code = c.charCodeAt(0);
    if (code < 0x20 || code > 0x7e)
      throw new HookError(`has the character U+${code.toString(16)}, which findstr cannot match reliably`);
    if (c === "\\") {
      const n = pattern[i + 1];
      if (n === undefined) throw new HookError("ends in a lone backslash");
      if (/[A-Za-z0-9]/.test(n))
        throw new HookError(`uses \\${n}, which findstr does not have (write the characters out, e.g. [0-9] for \\d)`);
      out += /[.*^$[\]\\]/.test(n) ? `\\${n}` : n;
      i++;
    } else if (c === "^") {
      if (i !== 0) throw new HookError("uses ^ other than at its start, which findstr cannot express");
      out += c;
    } else if (c === "$") {
      if (i !== pattern.length - 1) throw new HookError("uses $ other than at its end, which findstr cannot express");
      out += c;
    } else if (c === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end < 0) throw new HookError("has a [ without a closing ]");
      const body = pattern.slice(i + 1, end);
      if (body.includes("\\") || body.includes("["))
        throw new HookError("has a [...] class with an escape or a nested [, which findstr cannot express");
      out += `[${body}]`;
      i = end;
    } else if ("+?{}|()".includes(c)) {
      throw new HookError(
        `uses '${c}', which findstr's regular expressions do not have (use literal text, '.', '*', '^', '$' and [...] classes)`,
      );
    } else {
      out += c;
    }
  }
  if (out.length === 0) throw new HookError("is empty");
  return out;
}

/** One argument of a cmd command line inside a .cmd file: bare when safe, else quoted, `%` doubled. */
export function cmdArg(arg: string, label = "argument"): string {
  if (arg.length === 0) return '""';
  for (const ch of arg) {
    const code = ch.charCodeAt(0);
    if (code < 0x20 || code > 0x7e)
      throw new HookError(
        `${label} ${JSON.stringify(arg)} has a control or non-ASCII character, which a cmd script cannot pass`,
      );
    if (ch === '"')
      throw new HookError(`${label} ${JSON.stringify(arg)} has a double quote, which a cmd script cannot pass`);
  }
  const esc = arg.replace(/%/g, "%%");
  return /^[A-Za-z0-9_.:\\/=+,-]+$/.test(arg) ? esc : `"${esc}"`;
}

/** What the boot-time test runs and how it is judged (the same settings as the pre-flight). */
export interface HookSettings {
  /** The image folder the command runs in (`Windows/Ioctl`). */
  folder: string;
  /** The program (a file in `folder`) and its arguments. */
  command: readonly string[];
  /** Required exit code, or null (not checked). */
  exitCode: number | null;
  /** A regular expression one output line must match (JavaScript syntax, the findstr subset), or null. */
  output: string | null;
}

/** The files of the hook: image path -> content (CRLF line ends, ASCII). */
export function hookFiles(s: HookSettings): Record<string, string> {
  if (s.command.length === 0) throw new HookError("the test has no command");
  const files: Record<string, string> = {};
  const winFolder = s.folder.split("/").join("\\");
  const cmdLine = s.command.map((a, i) => cmdArg(a, i === 0 ? "the program" : `argument ${i}`)).join(" ");
  const lines = [
    "@echo off",
    "rem winpe-lab: the boot-time driver test (generated from the stack's winpe-lab:test settings; do not edit).",
    "rem It runs the test in the image folder, copies its output to COM1, and writes one line",
    "rem WINPE-LAB TEST <pass|fail> <details> to COM1.",
    "setlocal",
    'set "WLT_LOG=%TEMP%\\winpe-lab-test.log"',
    'if "%TEMP%"=="" set "WLT_LOG=%SystemRoot%\\Temp\\winpe-lab-test.log"',
    // the image root is three folders above this script (Windows\System32\winpe-lab): X:\ in WinPE
    `cd /d "%~dp0..\\..\\..\\${winFolder}"`,
    "if errorlevel 1 (",
    `  >COM1 echo WINPE-LAB TEST fail folder-missing folder=${winFolder.replace(/%/g, "%%")}`,
    "  goto :eof",
    ")",
    `>COM1 echo WINPE-LAB TEST start command=${cmdArg(s.command[0]!, "the program").replace(/"/g, "")}`,
    `${cmdLine} >"%WLT_LOG%" 2>&1`,
    "set WLT_RC=%ERRORLEVEL%",
    'type "%WLT_LOG%" >COM1',
    "set WLT_VERDICT=pass",
    "set WLT_OUT=unchecked",
  ];
  if (s.exitCode !== null) lines.push(`if not "%WLT_RC%"=="${s.exitCode}" set WLT_VERDICT=fail`);
  if (s.output !== null) {
    files[HOOK_PATTERN_PATH] = `${findstrPattern(s.output)}\r\n`;
    lines.push(
      "set WLT_OUT=matched",
      `findstr /R /G:"%~dp0pattern.txt" "%WLT_LOG%" >nul`,
      "if errorlevel 1 set WLT_OUT=no-match",
      'if "%WLT_OUT%"=="no-match" set WLT_VERDICT=fail',
    );
  }
  lines.push(">COM1 echo WINPE-LAB TEST %WLT_VERDICT% exit=%WLT_RC% output=%WLT_OUT%", "endlocal", "");
  files[HOOK_TEST_PATH] = lines.join("\r\n");
  files[STARTNET_PATH] = [
    "@echo off",
    "rem winpe-lab: WinPE's start script, replaced while the stack has a boot-time test (the image's own",
    "rem startnet.cmd is put back by 'pulumi destroy'). As the default one: wpeinit first.",
    "wpeinit",
    'call "%~dp0winpe-lab\\test.cmd"',
    "wpeutil shutdown",
    "",
  ].join("\r\n");
  return files;
}

/** The verdict in a console line (`WINPE-LAB TEST fail exit=1 output=no-match`), or undefined. */
export function parseVerdictLine(line: string): { verdict: "pass" | "fail"; details: string } | undefined {
  const m = VERDICT_LINE_RE.exec(line.trim());
  if (!m) return undefined;
  return { verdict: m[1] as "pass" | "fail", details: m[2]!.trim() };
}
