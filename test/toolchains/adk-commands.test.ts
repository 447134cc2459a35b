/**
 * Golden and property tests of the adk toolchain's command builders and renderers.
 *
 * These are not mocks of anything: bcdedit, DISM, MakeWinPEMedia/oscdimg, Hyper-V and WinDbg cannot run on
 * Linux, so their command construction lives in pure functions, and this file checks the exact strings against
 * the workflow (`shared/docs/workflow.md`) and Microsoft's documented syntax (each test names its page).
 *
 * The helpers below are independent re-implementations of the parsers on the receiving end:
 * - `commandLineToArgvW`: the CommandLineToArgvW / MS C runtime algorithm, written after Wine's
 *   `dlls/shell32/shell32_main.c` (which mirrors Windows, including the post-2008 rule for runs of quotes) and
 *   https://learn.microsoft.com/en-us/windows/win32/api/shellapi/nf-shellapi-commandlinetoargvw
 * - `cmdBatchLine`: cmd.exe's phase 1 (percent expansion, batch mode) and phase 2 (quotes, carets, operators)
 *   of a batch line, after https://stackoverflow.com/questions/4094699 (delayed expansion disabled)
 * - `psTokens`: PowerShell's argument-mode split of single-quoted and bare words
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  AdkArgumentError,
  type AdkCommand,
  AdkRenderError,
  addDvdDrive,
  bcdeditDbgSettingsNet,
  bcdeditDeleteValue,
  bcdeditEnum,
  bcdeditSet,
  bootFromDvd,
  commandSecrets,
  copyIntoImage,
  disableSecureBoot,
  dismCleanupMountpoints,
  dismCommitImage,
  dismGetMountedImageInfo,
  dismMountImage,
  dismRemountImage,
  dismUnmountImage,
  ejectDvd,
  logicalArgv,
  makeImageDir,
  makeWinPEMediaIso,
  newVm,
  oscdimgIso,
  quotePowerShellString,
  quoteWindowsArg,
  removeFromImage,
  removeVm,
  renderCmdLine,
  renderCmdScript,
  renderCommand,
  renderPowerShell,
  type SwitchArg,
  setDvdDrive,
  startVm,
  stopVm,
  windbgKdnet,
} from "../../toolchains/adk/commands";

/* ------------------------------------------------------------------------------------------------------------
 * Test helpers: the receiving parsers
 * ---------------------------------------------------------------------------------------------------------- */

/** CommandLineToArgvW, as Wine implements it (argv[0] has its own rule: quotes only, no escapes). */
function commandLineToArgvW(line: string): string[] {
  const argv: string[] = [];
  let i = 0;
  let arg = "";
  if (line[i] === '"') {
    i++;
    while (i < line.length && line[i] !== '"') arg += line[i++];
    if (i < line.length) i++;
  } else {
    while (i < line.length && line[i] !== " " && line[i] !== "\t") arg += line[i++];
  }
  argv.push(arg);
  while (line[i] === " " || line[i] === "\t") i++;
  if (i >= line.length) return argv;
  arg = "";
  let qcount = 0;
  let bcount = 0;
  while (i < line.length) {
    const c = line[i];
    if ((c === " " || c === "\t") && qcount === 0) {
      argv.push(arg);
      arg = "";
      bcount = 0;
      while (line[i] === " " || line[i] === "\t") i++;
      if (i >= line.length) return argv;
    } else if (c === "\\") {
      arg += c;
      bcount++;
      i++;
    } else if (c === '"') {
      if (bcount % 2 === 0) {
        // 2n backslashes + quote: n backslashes, and the quote toggles quoting
        arg = arg.slice(0, arg.length - bcount / 2);
        qcount++;
      } else {
        // 2n+1 backslashes + quote: n backslashes and a literal quote
        arg = `${arg.slice(0, arg.length - (bcount - 1) / 2 - 1)}"`;
      }
      i++;
      bcount = 0;
      // a run of quotes: every third one is a literal quote (Windows 2008+ rule)
      while (line[i] === '"') {
        if (++qcount === 3) {
          arg += '"';
          qcount = 0;
        }
        i++;
      }
      if (qcount === 2) qcount = 0;
    } else {
      arg += c;
      bcount = 0;
      i++;
    }
  }
  argv.push(arg);
  return argv;
}

/**
 * What a program receives from one line of a batch file: phase 1 (`%%` is `%`; any other `%` would expand, so
 * the renderer must never leave one) and phase 2 (every `"` toggles the quote flag; outside quotes a caret
 * escapes the next character and is removed, and an unescaped operator would be a real operator: an error here).
 */
function cmdBatchLine(line: string): string {
  let afterPercent = "";
  for (let i = 0; i < line.length; i++) {
    if (line[i] !== "%") {
      afterPercent += line[i];
    } else if (line[i + 1] === "%") {
      afterPercent += "%";
      i++;
    } else {
      throw new Error(`lone % at ${i} would be expanded: ${line}`);
    }
  }
  let out = "";
  let inQuotes = false;
  for (let i = 0; i < afterPercent.length; i++) {
    const c = afterPercent[i];
    if (c === '"') {
      inQuotes = !inQuotes;
      out += c;
    } else if (inQuotes) {
      out += c;
    } else if (c === "^") {
      if (i + 1 >= afterPercent.length) throw new Error(`caret at the end continues the line: ${line}`);
      out += afterPercent[++i];
    } else if ("&|<>()".includes(c)) {
      throw new Error(`unescaped ${c} outside quotes at ${i}: ${line}`);
    } else {
      out += c;
    }
  }
  return out;
}

const PS_QUOTE = /['\u2018\u2019\u201a\u201b]/;

/** PowerShell argument mode for the shapes the renderer emits: single-quoted words and bare words. */
function psTokens(statement: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < statement.length) {
    if (statement[i] === " ") {
      i++;
      continue;
    }
    let token = "";
    if (PS_QUOTE.test(statement[i])) {
      i++;
      for (;;) {
        if (i >= statement.length) throw new Error(`unterminated string: ${statement}`);
        const c = statement[i];
        if (PS_QUOTE.test(c)) {
          if (i + 1 < statement.length && PS_QUOTE.test(statement[i + 1])) {
            token += c;
            i += 2;
            continue;
          }
          i++;
          break;
        }
        token += c;
        i++;
      }
      if (i < statement.length && statement[i] !== " ") throw new Error(`text glued to a string: ${statement}`);
    } else {
      while (i < statement.length && statement[i] !== " ") token += statement[i++];
    }
    tokens.push(token);
  }
  return tokens;
}

/** Round trip through cmd.exe (batch) and the C runtime: what the program finds in argv[1..]. */
function argvThroughCmd(tool: string, parts: Parameters<typeof renderCmdLine>[1]): string[] {
  return commandLineToArgvW(cmdBatchLine(renderCmdLine(tool, parts, { secrets: "reveal" }))).slice(1);
}

/* ------------------------------------------------------------------------------------------------------------
 * The workflow's values
 * ---------------------------------------------------------------------------------------------------------- */

const WORKDIR = "D:\\WinPE_amd64";
const BCD = "D:\\WinPE_amd64\\media\\EFI\\Microsoft\\Boot\\BCD";
const WIM = "D:\\WinPE_amd64\\media\\sources\\boot.wim";
const MOUNT = "D:\\WinPE_amd64\\mount";
const ISO = "D:\\WinPE_amd64\\winpe_x64_debug.iso";
const INJECT = "\\Windows\\Ioctl";
const KDNET = { hostIp: "192.168.0.10", port: 50005, key: "5.5.5.5" };
const VM = "WinPE-x64";

const ps = (cmd: AdkCommand, reveal = false) =>
  renderPowerShell(cmd.tool, cmd.argv, reveal ? { secrets: "reveal" } : {});
const cmdLine = (cmd: AdkCommand, reveal = false) =>
  renderCmdLine(cmd.tool, cmd.argv, reveal ? { secrets: "reveal" } : {});

/** Characters that break naive quoting, in cmd.exe and PowerShell. */
const NASTY = ["&", "^", "%", '"', "!", "'", "(", ")", "|", "<", ">", " ", "\t", "\\", "‘", "’", "$", "`", "é", "日"];

describe("adk command builders (pure; the adk toolchain cannot run on Linux)", () => {
  describe("quoteWindowsArg: MS C runtime / CommandLineToArgvW encoding", () => {
    // https://learn.microsoft.com/en-us/cpp/c-language/parsing-c-command-line-arguments
    it("leaves plain arguments alone and quotes the ones with spaces, tabs or quotes, and the empty one", () => {
      expect(quoteWindowsArg("D:\\WinPE_amd64\\mount")).toBe("D:\\WinPE_amd64\\mount");
      expect(quoteWindowsArg("D:\\x y\\boot.wim")).toBe('"D:\\x y\\boot.wim"');
      expect(quoteWindowsArg("a\tb")).toBe('"a\tb"');
      expect(quoteWindowsArg("")).toBe('""');
      expect(quoteWindowsArg("/index:1", { force: true })).toBe('"/index:1"');
    });

    it("doubles backslashes only before a quote or the closing quote, and escapes quotes", () => {
      expect(quoteWindowsArg('say "hi"')).toBe('"say \\"hi\\""');
      expect(quoteWindowsArg("D:\\dir with space\\")).toBe('"D:\\dir with space\\\\"');
      expect(quoteWindowsArg('a\\"b')).toBe('"a\\\\\\"b"');
      expect(quoteWindowsArg("a\\\\b c")).toBe('"a\\\\b c"');
    });

    it("matches the documented examples when parsed back", () => {
      // the table of https://learn.microsoft.com/en-us/cpp/c-language/parsing-c-command-line-arguments
      expect(commandLineToArgvW('x "a b c" d e').slice(1)).toEqual(["a b c", "d", "e"]);
      expect(commandLineToArgvW('x "ab\\"c" "\\\\" d').slice(1)).toEqual(['ab"c', "\\", "d"]);
      expect(commandLineToArgvW('x a\\\\\\b d"e f"g h').slice(1)).toEqual(["a\\\\\\b", "de fg", "h"]);
      expect(commandLineToArgvW('x a\\\\\\"b c d').slice(1)).toEqual(['a\\"b', "c", "d"]);
      expect(commandLineToArgvW('x a\\\\\\\\"b c" d e').slice(1)).toEqual(["a\\\\b c", "d", "e"]);
      expect(commandLineToArgvW('x a"b"" c d').slice(1)).toEqual(['ab"', "c", "d"]);
    });

    it("round-trips any arguments through CommandLineToArgvW (property)", () => {
      const arg = fc.string({ unit: "binary", maxLength: 24 }).filter((s) => !s.includes("\0"));
      fc.assert(
        fc.property(fc.array(arg, { minLength: 1, maxLength: 6 }), fc.boolean(), (args, force) => {
          const line = ["tool", ...args.map((a) => quoteWindowsArg(a, { force }))].join(" ");
          expect(commandLineToArgvW(line).slice(1)).toEqual(args);
        }),
        { numRuns: 2000 },
      );
    });

    it("round-trips arguments made of quotes, backslashes and spaces (property)", () => {
      const arg = fc.string({ unit: fc.constantFrom('"', "\\", " ", "\t", "a"), maxLength: 16 });
      fc.assert(
        fc.property(fc.array(arg, { minLength: 1, maxLength: 6 }), (args) => {
          const line = ["tool", ...args.map((a) => quoteWindowsArg(a))].join(" ");
          expect(commandLineToArgvW(line).slice(1)).toEqual(args);
        }),
        { numRuns: 2000 },
      );
    });

    it("refuses NUL, which no Windows command line can carry", () => {
      expect(() => quoteWindowsArg("a\0b")).toThrow(AdkRenderError);
    });
  });

  describe("renderCmdLine: batch-file lines for cmd.exe", () => {
    it("caret-escapes operators outside quotes and doubles % everywhere", () => {
      expect(renderCmdLine("tool", ["D:\\A&B^C(1)%x!|y<z>"])).toBe("tool D:\\A^&B^^C^(1^)%%x!^|y^<z^>");
      // inside quotes the operators are literal for cmd; % still expands in phase 1, so it is doubled there too
      expect(renderCmdLine("tool", ["D:\\Lab & Co\\WinPE (x64)\\100% ^done!\\it's"])).toBe(
        'tool "D:\\Lab & Co\\WinPE (x64)\\100%% ^done!\\it\'s"',
      );
    });

    it("follows cmd's own quote flag when an argument contains a quote", () => {
      // CRT form "a\"b&c": cmd sees the \" as a closing quote, so & is outside cmd's quotes and needs a caret
      expect(renderCmdLine("tool", ['a"b&c'])).toBe('tool "a\\"b^&c"');
      expect(argvThroughCmd("tool", ['a"b&c'])).toEqual(['a"b&c']);
    });

    it("quotes the program when it has spaces or operators", () => {
      expect(renderCmdLine("C:\\Program Files (x86)\\Windows Kits\\10\\bin\\x.exe", ["/v"])).toBe(
        '"C:\\Program Files (x86)\\Windows Kits\\10\\bin\\x.exe" /v',
      );
      expect(() => renderCmdLine('a"b', [])).toThrow(AdkRenderError);
    });

    it("refuses characters a batch line cannot carry and PowerShell-only parts", () => {
      expect(() => renderCmdLine("tool", ["a\nb"])).toThrow(AdkRenderError);
      expect(() => renderCmdLine("tool", ["a\rb"])).toThrow(AdkRenderError);
      expect(() => renderCmdLine("tool", [{ param: "Name" }])).toThrow(/PowerShell-only/);
      expect(() => renderCommand(newVm({ name: VM }))).not.toThrow();
      expect(() => renderCmdLine(newVm({ name: VM }).tool, newVm({ name: VM }).argv)).toThrow(AdkRenderError);
    });

    it("puts the quote after the switch and round-trips switch arguments (property)", () => {
      const sw: SwitchArg = { switch: "/ImageFile:", value: "D:\\x y\\boot.wim", quote: "always" };
      expect(renderCmdLine("Dism", [sw])).toBe('Dism /ImageFile:"D:\\x y\\boot.wim"');
      expect(argvThroughCmd("Dism", [sw])).toEqual(["/ImageFile:D:\\x y\\boot.wim"]);
      const text = fc.string({ unit: fc.constantFrom(...NASTY, "a", "/", ":"), maxLength: 12 });
      const switchText = fc
        .string({
          unit: fc.constantFrom("/", "-", ":", "#", ",", "=", "a", "Z", "&", "^", "%", "(", "!"),
          maxLength: 8,
        })
        .filter((s) => !s.endsWith("\\"));
      fc.assert(
        fc.property(switchText, text, fc.constantFrom<"always" | "auto">("always", "auto"), (s, value, quote) => {
          const part: SwitchArg = { switch: s, value, quote };
          expect(argvThroughCmd("tool", [part])).toEqual(logicalArgv([part]));
        }),
        { numRuns: 2000 },
      );
    });

    it("round-trips any arguments through cmd.exe and the C runtime (property)", () => {
      const arg = fc.string({ unit: fc.constantFrom(...NASTY, "a", "b", "1"), maxLength: 16 });
      fc.assert(
        fc.property(fc.array(arg, { minLength: 1, maxLength: 6 }), (args) => {
          expect(argvThroughCmd("tool", args)).toEqual(args);
        }),
        { numRuns: 3000 },
      );
      const anyArg = fc.string({ unit: "binary", maxLength: 16 }).filter((s) => !/[\0\r\n\x1a]/.test(s));
      fc.assert(
        fc.property(fc.array(anyArg, { minLength: 1, maxLength: 4 }), (args) => {
          expect(argvThroughCmd("tool", args)).toEqual(args);
        }),
        { numRuns: 2000 },
      );
    });

    it("writes a script that disables delayed expansion and stops at the first failure", () => {
      const script = renderCmdScript([
        bcdeditSet(BCD, "testsigning", true),
        dismMountImage({ wim: WIM, index: 1, mountDir: MOUNT }),
      ]);
      expect(script.split("\r\n")).toEqual([
        "@echo off",
        "setlocal EnableExtensions DisableDelayedExpansion",
        "rem turn on testsigning (load test-signed drivers) for {default} in the media's BCD store",
        "bcdedit /store D:\\WinPE_amd64\\media\\EFI\\Microsoft\\Boot\\BCD /set {default} testsigning on",
        "if errorlevel 1 exit /b %errorlevel%",
        "rem mount image 1 of D:\\WinPE_amd64\\media\\sources\\boot.wim at D:\\WinPE_amd64\\mount to service it",
        'Dism /Mount-Image /ImageFile:"D:\\WinPE_amd64\\media\\sources\\boot.wim" /index:1 /MountDir:"D:\\WinPE_amd64\\mount"',
        "if errorlevel 1 exit /b %errorlevel%",
        "",
      ]);
      expect(() => renderCmdScript([startVm(VM)])).toThrow(/PowerShell command/);
    });

    it("starts batch-file programs with call, so the script goes on after them", () => {
      const script = renderCmdScript([makeWinPEMediaIso({ workdir: WORKDIR, iso: ISO }), dismGetMountedImageInfo()]);
      expect(script).toContain(
        "\r\ncall MakeWinPEMedia /ISO /F D:\\WinPE_amd64 D:\\WinPE_amd64\\winpe_x64_debug.iso\r\n",
      );
      expect(script).toContain("\r\nDism /Get-MountedImageInfo\r\n");
      // call expands % a second time and doubles carets: refuse rather than render something that changes
      const batch: AdkCommand = { tool: "tool.cmd", argv: ["100%"], shell: "cmd", why: "t" };
      expect(() => renderCmdScript([batch])).toThrow(/must not contain % or \^/);
    });
  });

  describe("renderPowerShell: single-quoted literals, call operator for paths", () => {
    // https://learn.microsoft.com/en-us/powershell/module/microsoft.powershell.core/about/about_quoting_rules
    it("doubles single quotes, including the typographic ones PowerShell also accepts", () => {
      expect(quotePowerShellString("it's")).toBe("'it''s'");
      expect(quotePowerShellString("a’b‘c‚d‛e")).toBe("'a’’b‘‘c‚‚d‛‛e'");
      expect(quotePowerShellString('$x `n "q"')).toBe("'$x `n \"q\"'");
    });

    it("round-trips any string through a single-quoted literal (property)", () => {
      fc.assert(
        fc.property(fc.string({ unit: "binary", maxLength: 24 }), (s) => {
          expect(psTokens(quotePowerShellString(s))).toEqual([s]);
        }),
        { numRuns: 2000 },
      );
    });

    it("quotes what PowerShell would parse (braces, commas, numbers) and leaves plain words bare", () => {
      expect(renderPowerShell("bcdedit", ["/store", BCD, "/set", "{default}", "testsigning", "on"])).toBe(
        "bcdedit /store D:\\WinPE_amd64\\media\\EFI\\Microsoft\\Boot\\BCD /set '{default}' testsigning on",
      );
      expect(renderPowerShell("tool", ["2GB", "0x10", "a,b", "-k", "-x.y", "@a", "$a", "a;b", "#c"])).toBe(
        "tool '2GB' '0x10' 'a,b' -k '-x.y' '@a' '$a' 'a;b' '#c'",
      );
    });

    it("uses the call operator for a program path and single-quotes it", () => {
      expect(renderPowerShell("C:\\Program Files (x86)\\Kits\\oscdimg.exe", ["-u1"])).toBe(
        "& 'C:\\Program Files (x86)\\Kits\\oscdimg.exe' -u1",
      );
    });

    it("refuses native arguments whose passing differs between PowerShell versions", () => {
      expect(() => renderPowerShell("tool", ['a"b'])).toThrow(/render for cmd.exe/);
      expect(() => renderPowerShell("tool", [""])).toThrow(AdkRenderError);
      expect(renderPowerShell("Write-Output", [""])).toBe("Write-Output ''");
      expect(() => renderPowerShell("New-VM", [{ literal: "Get-Process; rm x" }])).toThrow(AdkRenderError);
      expect(() => renderPowerShell("New-VM", [{ param: "Name x" }])).toThrow(AdkRenderError);
    });

    it("round-trips native arguments through PowerShell's argument mode (property)", () => {
      const arg = fc.string({ unit: fc.constantFrom(...NASTY, "a", "b", "1", "-", "/", ",", "{", "}"), maxLength: 12 });
      fc.assert(
        fc.property(
          fc.array(
            arg.filter((a) => a.length > 0 && !a.includes('"')),
            { minLength: 1, maxLength: 5 },
          ),
          (args) => {
            expect(psTokens(renderPowerShell("tool", args)).slice(1)).toEqual(args);
          },
        ),
        { numRuns: 2000 },
      );
    });
  });

  describe("bcdedit", () => {
    // https://learn.microsoft.com/en-us/windows-hardware/drivers/devtest/bcdedit--set
    it("sets testsigning on the workflow's store, byte for byte (workflow step 2)", () => {
      const cmd = bcdeditSet(BCD, "testsigning", true);
      expect(cmdLine(cmd)).toBe(
        "bcdedit /store D:\\WinPE_amd64\\media\\EFI\\Microsoft\\Boot\\BCD /set {default} testsigning on",
      );
      expect(ps(cmd)).toBe(
        "bcdedit /store D:\\WinPE_amd64\\media\\EFI\\Microsoft\\Boot\\BCD /set '{default}' testsigning on",
      );
      expect(cmd.shell).toBe("cmd");
      expect(cmd.doc).toBe("https://learn.microsoft.com/en-us/windows-hardware/drivers/devtest/bcdedit--set");
      expect(cmdLine(bcdeditSet(BCD, "testsigning", false))).toMatch(/ testsigning off$/);
    });

    // https://learn.microsoft.com/en-us/windows-hardware/drivers/devtest/bcd-boot-options-reference
    it("sets debug, bootdebug and nointegritychecks", () => {
      expect(cmdLine(bcdeditSet(BCD, "debug", true))).toBe(`bcdedit /store ${BCD} /set {default} debug on`);
      expect(cmdLine(bcdeditSet(BCD, "bootdebug", true))).toBe(`bcdedit /store ${BCD} /set {default} bootdebug on`);
      expect(cmdLine(bcdeditSet(BCD, "nointegritychecks", true))).toBe(
        `bcdedit /store ${BCD} /set {default} nointegritychecks on`,
      );
      expect(cmdLine(bcdeditSet(BCD, "debug", true, "{7619dcc9-fafe-11d9-b411-000476eba25f}"))).toBe(
        `bcdedit /store ${BCD} /set {7619dcc9-fafe-11d9-b411-000476eba25f} debug on`,
      );
    });

    // https://learn.microsoft.com/en-us/windows-hardware/drivers/devtest/bcdedit--deletevalue
    it("deletes a value", () => {
      const cmd = bcdeditDeleteValue(BCD, "testsigning");
      expect(cmdLine(cmd)).toBe(`bcdedit /store ${BCD} /deletevalue {default} testsigning`);
      expect(ps(cmd)).toBe(`bcdedit /store ${BCD} /deletevalue '{default}' testsigning`);
    });

    // https://learn.microsoft.com/en-us/windows-hardware/drivers/devtest/bcdedit--dbgsettings
    it("configures KDNET with the key masked unless revealed", () => {
      const cmd = bcdeditDbgSettingsNet(BCD, KDNET);
      expect(cmdLine(cmd)).toBe(`bcdedit /store ${BCD} /dbgsettings net hostip:192.168.0.10 port:50005 key:[secret]`);
      expect(cmdLine(cmd, true)).toBe(
        `bcdedit /store ${BCD} /dbgsettings net hostip:192.168.0.10 port:50005 key:5.5.5.5`,
      );
      expect(ps(cmd)).toBe(`bcdedit /store ${BCD} /dbgsettings net hostip:192.168.0.10 port:50005 key:[secret]`);
      expect(ps(cmd, true)).toBe(`bcdedit /store ${BCD} /dbgsettings net hostip:192.168.0.10 port:50005 key:5.5.5.5`);
      expect(renderCommand(cmd)).not.toContain("5.5.5.5");
      expect(commandSecrets(cmd)).toEqual(["5.5.5.5"]);
      expect(logicalArgv(cmd.argv)).toContain("key:5.5.5.5");
    });

    it("never echoes the key in a validation error", () => {
      expect(() => bcdeditDbgSettingsNet(BCD, { ...KDNET, key: "s3cr3t" })).toThrow(AdkArgumentError);
      try {
        bcdeditDbgSettingsNet(BCD, { ...KDNET, key: "s3cr3t" });
      } catch (e) {
        expect(String(e)).not.toContain("s3cr3t");
        expect(String(e)).toContain("'key'");
      }
      expect(() => bcdeditDbgSettingsNet(BCD, { ...KDNET, port: 80 })).toThrow(/'port' must be an integer from 49152/);
      expect(() => bcdeditDbgSettingsNet(BCD, { ...KDNET, hostIp: "host" })).toThrow(/'hostIp'/);
    });

    // https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/bcdedit-command-line-options
    it("reads an entry back with full identifiers", () => {
      expect(cmdLine(bcdeditEnum(BCD))).toBe(`bcdedit /store ${BCD} /enum {default} /v`);
      expect(ps(bcdeditEnum(BCD))).toBe(`bcdedit /store ${BCD} /enum '{default}' /v`);
    });

    it("quotes a store path with spaces and cmd operators correctly for both shells", () => {
      const store = "D:\\Lab & Co (x64)\\100% done!\\it's\\BCD";
      const cmd = bcdeditSet(store, "testsigning", true);
      expect(cmdLine(cmd)).toBe(
        'bcdedit /store "D:\\Lab & Co (x64)\\100%% done!\\it\'s\\BCD" /set {default} testsigning on',
      );
      expect(ps(cmd)).toBe(
        "bcdedit /store 'D:\\Lab & Co (x64)\\100% done!\\it''s\\BCD' /set '{default}' testsigning on",
      );
      expect(argvThroughCmd(cmd.tool, cmd.argv)).toEqual(logicalArgv(cmd.argv));
      expect(psTokens(ps(cmd)).slice(1)).toEqual(logicalArgv(cmd.argv));
    });

    it("refuses relative paths and unknown identifiers, naming the field", () => {
      expect(() => bcdeditSet("media\\BCD", "testsigning", true)).toThrow(/'store' must be an absolute Windows path/);
      expect(() => bcdeditSet(BCD, "testsigning", true, "default")).toThrow(/'object'/);
    });
  });

  describe("DISM", () => {
    // https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/dism-image-management-command-line-options-s14
    it("mounts with the workflow's exact command (workflow step 3)", () => {
      const cmd = dismMountImage({ wim: WIM, index: 1, mountDir: MOUNT });
      expect(cmdLine(cmd)).toBe(
        'Dism /Mount-Image /ImageFile:"D:\\WinPE_amd64\\media\\sources\\boot.wim" /index:1 /MountDir:"D:\\WinPE_amd64\\mount"',
      );
      expect(ps(cmd)).toBe(
        "Dism /Mount-Image /ImageFile:D:\\WinPE_amd64\\media\\sources\\boot.wim /index:1 /MountDir:D:\\WinPE_amd64\\mount",
      );
      expect(logicalArgv(cmd.argv)).toEqual([
        "/Mount-Image",
        "/ImageFile:D:\\WinPE_amd64\\media\\sources\\boot.wim",
        "/index:1",
        "/MountDir:D:\\WinPE_amd64\\mount",
      ]);
      expect(cmd.doc).toBe(
        "https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/dism-image-management-command-line-options-s14",
      );
      expect(cmdLine(dismMountImage({ wim: WIM, index: 2, mountDir: `${MOUNT}\\`, readOnly: true }))).toBe(
        'Dism /Mount-Image /ImageFile:"D:\\WinPE_amd64\\media\\sources\\boot.wim" /index:2 /MountDir:"D:\\WinPE_amd64\\mount" /ReadOnly',
      );
    });

    it("commits, unmounts, lists, remounts and cleans up", () => {
      expect(cmdLine(dismCommitImage(MOUNT))).toBe('Dism /Commit-Image /MountDir:"D:\\WinPE_amd64\\mount"');
      expect(cmdLine(dismUnmountImage(MOUNT, "commit"))).toBe(
        'Dism /Unmount-Image /MountDir:"D:\\WinPE_amd64\\mount" /Commit',
      );
      expect(cmdLine(dismUnmountImage(MOUNT, "discard"))).toBe(
        'Dism /Unmount-Image /MountDir:"D:\\WinPE_amd64\\mount" /Discard',
      );
      expect(cmdLine(dismGetMountedImageInfo())).toBe("Dism /Get-MountedImageInfo");
      expect(cmdLine(dismRemountImage(MOUNT))).toBe('Dism /Remount-Image /MountDir:"D:\\WinPE_amd64\\mount"');
      expect(cmdLine(dismCleanupMountpoints())).toBe("Dism /Cleanup-Mountpoints");
      expect(ps(dismUnmountImage(MOUNT, "commit"))).toBe(
        "Dism /Unmount-Image /MountDir:D:\\WinPE_amd64\\mount /Commit",
      );
    });

    it("quotes paths with spaces, &, ^, %, !, ', ( and ) for cmd and PowerShell", () => {
      const wim = "D:\\Lab & Co\\WinPE (x64)\\100% ^done!\\it's\\boot.wim";
      const cmd = dismMountImage({ wim, index: 1, mountDir: "D:\\m^n" });
      expect(cmdLine(cmd)).toBe(
        'Dism /Mount-Image /ImageFile:"D:\\Lab & Co\\WinPE (x64)\\100%% ^done!\\it\'s\\boot.wim" /index:1 /MountDir:"D:\\m^n"',
      );
      expect(ps(cmd)).toBe(
        "Dism /Mount-Image '/ImageFile:D:\\Lab & Co\\WinPE (x64)\\100% ^done!\\it''s\\boot.wim' /index:1 '/MountDir:D:\\m^n'",
      );
      expect(argvThroughCmd(cmd.tool, cmd.argv)).toEqual(logicalArgv(cmd.argv));
    });

    it("refuses bad inputs, naming the field", () => {
      expect(() => dismMountImage({ wim: WIM, index: 0, mountDir: MOUNT })).toThrow(/'index' must be an integer/);
      expect(() => dismMountImage({ wim: "boot.wim", index: 1, mountDir: MOUNT })).toThrow(/'wim'/);
      expect(() => dismMountImage({ wim: WIM, index: 1, mountDir: 'D:\\a"b' })).toThrow(/'mountDir'/);
    });
  });

  describe("files in the mounted image (PowerShell Copy-Item -LiteralPath)", () => {
    // https://learn.microsoft.com/en-us/powershell/module/microsoft.powershell.management/new-item
    // https://learn.microsoft.com/en-us/powershell/module/microsoft.powershell.management/copy-item
    // https://learn.microsoft.com/en-us/powershell/module/microsoft.powershell.management/remove-item
    it("creates \\Windows\\Ioctl and copies the driver and the app into it (workflow step 4)", () => {
      expect(renderCommand(makeImageDir(MOUNT, INJECT))).toBe(
        "New-Item -ItemType Directory -Force -Path 'D:\\WinPE_amd64\\mount\\Windows\\Ioctl'",
      );
      expect(renderCommand(copyIntoImage(MOUNT, "D:\\ioctl\\sys\\x64\\Debug\\sioctl.sys", INJECT))).toBe(
        "Copy-Item -LiteralPath 'D:\\ioctl\\sys\\x64\\Debug\\sioctl.sys' -Destination 'D:\\WinPE_amd64\\mount\\Windows\\Ioctl\\sioctl.sys' -Force",
      );
      expect(renderCommand(copyIntoImage(MOUNT, "D:\\ioctl\\exe\\x64\\Debug\\ioctlapp.exe", "Windows/Ioctl"))).toBe(
        "Copy-Item -LiteralPath 'D:\\ioctl\\exe\\x64\\Debug\\ioctlapp.exe' -Destination 'D:\\WinPE_amd64\\mount\\Windows\\Ioctl\\ioctlapp.exe' -Force",
      );
      expect(makeImageDir(MOUNT, INJECT).shell).toBe("powershell");
    });

    it("removes files and folders", () => {
      expect(renderCommand(removeFromImage(MOUNT, "Windows\\Ioctl\\sioctl.sys"))).toBe(
        "Remove-Item -LiteralPath 'D:\\WinPE_amd64\\mount\\Windows\\Ioctl\\sioctl.sys' -Force",
      );
      expect(renderCommand(removeFromImage(MOUNT, INJECT, { recurse: true }))).toBe(
        "Remove-Item -LiteralPath 'D:\\WinPE_amd64\\mount\\Windows\\Ioctl' -Force -Recurse",
      );
    });

    it("keeps [, ], ' and $ literal in paths", () => {
      expect(renderCommand(copyIntoImage(MOUNT, "D:\\o'brien [1]\\$x.sys", INJECT, "x (1).sys"))).toBe(
        "Copy-Item -LiteralPath 'D:\\o''brien [1]\\$x.sys' -Destination 'D:\\WinPE_amd64\\mount\\Windows\\Ioctl\\x (1).sys' -Force",
      );
    });

    it("refuses paths that leave the image", () => {
      expect(() => makeImageDir(MOUNT, "..\\..\\Windows")).toThrow(/'dirInImage'/);
      expect(() => makeImageDir(MOUNT, "C:\\Windows")).toThrow(/'dirInImage'/);
      expect(() => copyIntoImage(MOUNT, "D:\\a.sys", INJECT, "..\\b.sys")).toThrow(/'name'/);
    });
  });

  describe("MakeWinPEMedia and oscdimg", () => {
    // https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/winpe-create-usb-bootable-drive
    it("makes the ISO with /F so an existing ISO does not stop the run (workflow step 6)", () => {
      const cmd = makeWinPEMediaIso({ workdir: WORKDIR, iso: ISO });
      expect(cmdLine(cmd)).toBe("MakeWinPEMedia /ISO /F D:\\WinPE_amd64 D:\\WinPE_amd64\\winpe_x64_debug.iso");
      expect(ps(cmd)).toBe("MakeWinPEMedia /ISO /F D:\\WinPE_amd64 D:\\WinPE_amd64\\winpe_x64_debug.iso");
      expect(cmdLine(makeWinPEMediaIso({ workdir: WORKDIR, iso: ISO, force: false }))).toBe(
        "MakeWinPEMedia /ISO D:\\WinPE_amd64 D:\\WinPE_amd64\\winpe_x64_debug.iso",
      );
      expect(cmdLine(makeWinPEMediaIso({ workdir: "D:\\Win PE", iso: "D:\\Win PE\\x.iso" }))).toBe(
        'MakeWinPEMedia /ISO /F "D:\\Win PE" "D:\\Win PE\\x.iso"',
      );
    });

    it("refuses paths MakeWinPEMedia's own script cannot handle", () => {
      expect(() => makeWinPEMediaIso({ workdir: "D:\\A&B", iso: ISO })).toThrow(/use oscdimgIso/);
      expect(() => makeWinPEMediaIso({ workdir: WORKDIR, iso: "D:\\x.img" })).toThrow(/'iso' must end in .iso/);
    });

    // https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/oscdimg-command-line-options
    it("builds MakeWinPEMedia's oscdimg command for amd64 (BIOS and UEFI)", () => {
      const cmd = oscdimgIso({ arch: "amd64", workdir: WORKDIR, iso: ISO });
      expect(cmdLine(cmd)).toBe(
        "oscdimg -bootdata:2#p0,e,bD:\\WinPE_amd64\\fwfiles\\etfsboot.com#pEF,e,bD:\\WinPE_amd64\\fwfiles\\efisys.bin -u1 -udfver102 D:\\WinPE_amd64\\media D:\\WinPE_amd64\\winpe_x64_debug.iso",
      );
      expect(ps(cmd)).toBe(
        "oscdimg '-bootdata:2#p0,e,bD:\\WinPE_amd64\\fwfiles\\etfsboot.com#pEF,e,bD:\\WinPE_amd64\\fwfiles\\efisys.bin' -u1 -udfver102 D:\\WinPE_amd64\\media D:\\WinPE_amd64\\winpe_x64_debug.iso",
      );
      expect(cmd.doc).toBe(
        "https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/oscdimg-command-line-options",
      );
    });

    it("builds the UEFI-only arm64 variant (no etfsboot.com)", () => {
      const cmd = oscdimgIso({
        arch: "arm64",
        workdir: "D:\\WinPE_arm64",
        iso: "D:\\WinPE_arm64\\winpe_arm64_debug.iso",
      });
      expect(cmdLine(cmd)).toBe(
        "oscdimg -bootdata:1#pEF,e,bD:\\WinPE_arm64\\fwfiles\\efisys.bin -u1 -udfver102 D:\\WinPE_arm64\\media D:\\WinPE_arm64\\winpe_arm64_debug.iso",
      );
      expect(cmdLine(cmd)).not.toContain("etfsboot");
    });

    it("uses the ADK's efisys_noprompt.bin for unattended boots, quoted after the b like MakeWinPEMedia", () => {
      const kit = "C:\\Program Files (x86)\\Windows Kits\\10\\Assessment and Deployment Kit\\Deployment Tools";
      expect(cmdLine(oscdimgIso({ arch: "amd64", workdir: WORKDIR, iso: ISO, noPrompt: true }))).toBe(
        `oscdimg -bootdata:2#p0,e,bD:\\WinPE_amd64\\fwfiles\\etfsboot.com#pEF,e,b"${kit}\\amd64\\Oscdimg\\efisys_noprompt.bin" -u1 -udfver102 D:\\WinPE_amd64\\media D:\\WinPE_amd64\\winpe_x64_debug.iso`,
      );
      const arm = oscdimgIso({
        arch: "arm64",
        workdir: "D:\\WinPE_arm64",
        iso: "D:\\WinPE_arm64\\winpe_arm64_debug.iso",
        noPrompt: true,
      });
      expect(cmdLine(arm)).toBe(
        `oscdimg -bootdata:1#pEF,e,b"${kit}\\arm64\\Oscdimg\\efisys_noprompt.bin" -u1 -udfver102 D:\\WinPE_arm64\\media D:\\WinPE_arm64\\winpe_arm64_debug.iso`,
      );
      expect(argvThroughCmd(arm.tool, arm.argv)[0]).toBe(
        `-bootdata:1#pEF,e,b${kit}\\arm64\\Oscdimg\\efisys_noprompt.bin`,
      );
    });

    it("handles a working folder with spaces and cmd operators", () => {
      const cmd = oscdimgIso({ arch: "amd64", workdir: "D:\\Lab & Co\\PE (x64)", iso: "D:\\out\\100%.iso" });
      expect(cmdLine(cmd)).toBe(
        'oscdimg -bootdata:2#p0,e,b"D:\\Lab & Co\\PE (x64)\\fwfiles\\etfsboot.com"#pEF,e,b"D:\\Lab & Co\\PE (x64)\\fwfiles\\efisys.bin" -u1 -udfver102 "D:\\Lab & Co\\PE (x64)\\media" D:\\out\\100%%.iso',
      );
      expect(argvThroughCmd(cmd.tool, cmd.argv)).toEqual(logicalArgv(cmd.argv));
    });
  });

  describe("Hyper-V (PowerShell)", () => {
    // https://learn.microsoft.com/en-us/powershell/module/hyper-v/new-vm
    it("creates a Generation 2 VM without a disk", () => {
      const cmd = newVm({ name: VM });
      expect(renderCommand(cmd)).toBe("New-VM -Name 'WinPE-x64' -Generation 2 -MemoryStartupBytes 2GB -NoVHD");
      expect(renderCommand(newVm({ name: VM, memoryMb: 1536 }))).toBe(
        "New-VM -Name 'WinPE-x64' -Generation 2 -MemoryStartupBytes 1536MB -NoVHD",
      );
      expect(cmd.doc).toBe("https://learn.microsoft.com/en-us/powershell/module/hyper-v/new-vm");
      expect(() => newVm({ name: "a b" })).toThrow(/'name'/);
    });

    // https://learn.microsoft.com/en-us/powershell/module/hyper-v/set-vmfirmware
    it("turns Secure Boot off and boots from the DVD drive", () => {
      expect(renderCommand(disableSecureBoot(VM))).toBe("Set-VMFirmware -VMName 'WinPE-x64' -EnableSecureBoot Off");
      expect(renderCommand(bootFromDvd(VM))).toBe(
        "Set-VMFirmware -VMName 'WinPE-x64' -FirstBootDevice (Get-VMDvdDrive -VMName 'WinPE-x64')",
      );
    });

    // https://learn.microsoft.com/en-us/powershell/module/hyper-v/add-vmdvddrive
    // https://learn.microsoft.com/en-us/powershell/module/hyper-v/set-vmdvddrive
    it("attaches, swaps and ejects the ISO", () => {
      expect(renderCommand(addDvdDrive(VM, ISO))).toBe(
        "Add-VMDvdDrive -VMName 'WinPE-x64' -Path 'D:\\WinPE_amd64\\winpe_x64_debug.iso'",
      );
      expect(renderCommand(setDvdDrive(VM, ISO))).toBe(
        "Set-VMDvdDrive -VMName 'WinPE-x64' -Path 'D:\\WinPE_amd64\\winpe_x64_debug.iso'",
      );
      expect(renderCommand(ejectDvd(VM))).toBe("Set-VMDvdDrive -VMName 'WinPE-x64' -Path $null");
      expect(renderCommand(setDvdDrive(VM, "D:\\it's (1) & 100%.iso"))).toBe(
        "Set-VMDvdDrive -VMName 'WinPE-x64' -Path 'D:\\it''s (1) & 100%.iso'",
      );
    });

    // https://learn.microsoft.com/en-us/powershell/module/hyper-v/start-vm
    // https://learn.microsoft.com/en-us/powershell/module/hyper-v/stop-vm
    // https://learn.microsoft.com/en-us/powershell/module/hyper-v/remove-vm
    it("starts, turns off and removes the VM", () => {
      expect(renderCommand(startVm(VM))).toBe("Start-VM -Name 'WinPE-x64'");
      expect(renderCommand(stopVm(VM))).toBe("Stop-VM -Name 'WinPE-x64' -TurnOff");
      expect(renderCommand(removeVm(VM))).toBe("Remove-VM -Name 'WinPE-x64' -Force");
    });
  });

  describe("WinDbg on the host", () => {
    // https://learn.microsoft.com/en-us/windows-hardware/drivers/debugger/performing-kernel-mode-debugging-using-windbg
    it("waits for the target with the workflow's port and key, the key masked (workflow step 7)", () => {
      const cmd = windbgKdnet({ port: 50005, key: "5.5.5.5" });
      expect(cmdLine(cmd)).toBe("windbg.exe -k net:port=50005,key=[secret]");
      expect(cmdLine(cmd, true)).toBe("windbg.exe -k net:port=50005,key=5.5.5.5");
      expect(ps(cmd)).toBe("windbg.exe -k 'net:port=50005,key=[secret]'");
      expect(ps(cmd, true)).toBe("windbg.exe -k 'net:port=50005,key=5.5.5.5'");
      expect(commandSecrets(cmd)).toEqual(["5.5.5.5"]);
    });

    it("passes the symbol folders with -y", () => {
      const cmd = windbgKdnet({
        port: 50005,
        key: "5.5.5.5",
        symbolPath: ["D:\\ioctl\\sys\\x64\\Debug", "D:\\ioctl\\exe\\x64\\Debug"],
      });
      expect(cmdLine(cmd)).toBe(
        "windbg.exe -y D:\\ioctl\\sys\\x64\\Debug;D:\\ioctl\\exe\\x64\\Debug -k net:port=50005,key=[secret]",
      );
      expect(ps(cmd)).toBe(
        "windbg.exe -y 'D:\\ioctl\\sys\\x64\\Debug;D:\\ioctl\\exe\\x64\\Debug' -k 'net:port=50005,key=[secret]'",
      );
    });
  });

  describe("secrets", () => {
    it("masks every secret in every renderer and lists them for the tool log", () => {
      const key = "abc1.def2.ghi3.jkl4";
      const commands = [bcdeditDbgSettingsNet(BCD, { ...KDNET, key }), windbgKdnet({ port: 50005, key })];
      for (const cmd of commands) {
        for (const text of [cmdLine(cmd), ps(cmd), renderCommand(cmd), renderCmdScript([cmd])]) {
          expect(text).not.toContain(key);
          expect(text).toContain("[secret]");
        }
        expect(cmdLine(cmd, true)).toContain(key);
        expect(commandSecrets(cmd)).toEqual([key]);
      }
    });

    it("keeps the quotes around a masked value that needs them", () => {
      const secret: SwitchArg = { switch: "/pass:", value: "a b", secret: true };
      expect(renderCmdLine("tool", [secret])).toBe('tool /pass:"[secret]"');
      expect(renderCmdLine("tool", [secret], { secrets: "reveal" })).toBe('tool /pass:"a b"');
      expect(renderPowerShell("tool", [secret])).toBe("tool '/pass:[secret]'");
    });

    it("finds secrets inside PowerShell subcommands", () => {
      const inner: AdkCommand = {
        tool: "Get-Thing",
        argv: [{ param: "Key" }, { switch: "", value: "k3y", secret: true }],
        shell: "powershell",
        why: "test",
      };
      const outer: AdkCommand = {
        tool: "Set-Thing",
        argv: [{ param: "X" }, { subcommand: inner }],
        shell: "powershell",
        why: "t",
      };
      expect(commandSecrets(outer)).toEqual(["k3y"]);
      expect(renderCommand(outer)).toBe("Set-Thing -X (Get-Thing -Key '[secret]')");
      expect(renderCommand(outer, { secrets: "reveal" })).toBe("Set-Thing -X (Get-Thing -Key 'k3y')");
    });
  });
});
