/**
 * Security checks (issue 8, part 4):
 * (a) no external tool is started through a shell: a scan of the project's code (resources/, index.ts, scripts/*.ts,
 *     bin/) for exec(, execSync(, execFile, spawn(, shell: true and child_process imports outside
 *     runtime/exec.ts, with an allowlist naming each exception and why; and in engine/, only the command
 *     provider runs a user-given interpreter;
 * (b) the tool log proves argv arrays: real library calls with WINPE_TOOL_LOG set, every line has `argv` as an
 *     array of strings and no line holds a secret;
 * (c) secrets never in plain text: TestCertificate, DriverBuild (signing) and BcdSettings (KDNET key) through their
 *     providers with the tool log and the progress captured, then a grep of the log, the progress and every file the
 *     providers wrote (and the temporary folder) for the key PEM and the KDNET key, in several encodings;
 * (d) the state files of a real engine run (Automation API, scratch backend) hold neither secret.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as bcdP from "../../resources/providers/bcd-settings";
import * as buildP from "../../resources/providers/driver-build";
import * as certP from "../../resources/providers/test-certificate";
import { runTool } from "../../runtime/exec";
import { setProgressFallback } from "../../runtime/progress";
import { copype } from "../../toolchains/open/copype";
import { makeMedia } from "../../toolchains/open/makemedia";
import { createTestCertificate, signFile, verifySignature } from "../../toolchains/open/sign";
import { wimImageInfo } from "../../toolchains/open/wim";
import { openStack, REPO_ROOT, readToolLog, scratchDir } from "../helpers/pulumi";

type Props = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------------
// (a) the code scan
// ---------------------------------------------------------------------------------------------------

/** The one module that may start processes. */
const EXEC_MODULE = "runtime/exec.ts";

/**
 * Exceptions to the scan rules, each with its reason. A rule hit not listed here fails the test; an entry that no
 * longer matches anything fails it too (so the list stays true).
 */
const ALLOWLIST: Array<{ file: string; rule: string; match: RegExp; why: string }> = [
  {
    file: "toolchains/adk/run.ts",
    rule: "runTool-interpreter",
    match: /"powershell\.exe"/,
    why:
      "adk cmdlets (New-VM, Mount-DiskImage, New-SelfSignedCertificate, ...) exist only inside PowerShell: the " +
      "command is rendered by toolchains/adk/quote.ts with PowerShell quoting (golden and round-trip tested) and " +
      "secrets passed to runTool for redaction; native adk tools (bcdedit, DISM, oscdimg) run with argv, no shell. " +
      "Windows only: refused on Linux.",
  },
  {
    file: "toolchains/adk/run.ts",
    rule: "runTool-dynamic-tool",
    match: /runTool\(cmd\.tool\b/,
    why: "the native adk tool of a command built by the pure adk builders (bcdedit, Dism, oscdimg, ...), run with argv",
  },
  {
    file: "toolchains/open/boot.ts",
    rule: "runTool-dynamic-tool",
    match: /runTool\(info\.qemu\b/,
    why: "qemu-system-x86_64 or qemu-system-aarch64 from the fixed per-architecture table, run with argv",
  },
  {
    file: "toolchains/open/vm.ts",
    rule: "runTool-dynamic-tool",
    match: /runTool\(qemuBinary\(/,
    why: "qemu-system-x86_64 or qemu-system-aarch64 by architecture (toolchains/open/qemu.ts), run with argv",
  },
  {
    file: "toolchains/open/wine.ts",
    rule: "runTool-dynamic-tool",
    match: /runTool\((wine|wineserver|w\.wineserver)\b/,
    why: "Wine's own programs (wine64 or wine, wineserver) as findWine found them on PATH (a fixed set of names), run with argv",
  },
  {
    file: "toolchains/open/debugger.ts",
    rule: "runTool-dynamic-tool",
    match: /runTool\(install\.python\b/,
    why:
      "ntoseye's own Python (the #! of its console script) running our constant LAUNCHER with ntoseye's argv: it " +
      "reads the KDNET key from a pipe at fd 3, so the key is never on a command line; no shell",
  },
  {
    file: "cli/debug.ts",
    rule: "runTool-dynamic-tool",
    match: /runTool\(tool, \[\.\.\.args, "stack", "output"/,
    why:
      "`pulumi stack output`: in a checkout through the project's own scripts/pulumi.sh (run by bash: it knows the " +
      "demo stacks' passphrase and the local backend), else the pulumi CLI; fixed argv, no shell string",
  },
  {
    file: "resources/providers/tool-probe.ts",
    rule: "runTool-dynamic-tool",
    match: /runTool\(tool\b/,
    why:
      "ToolProbe runs the tool the user names with the user's argv (a version probe; the smoke e2e's dynamic " +
      "resource): no shell, but any program, so it is a place that runs a user-given program (see the report)",
  },
];

/** Every file of the project's own code that the scan covers (relative to the repo). */
function scannedFiles(): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const abs = path.join(REPO_ROOT, rel);
    for (const e of fs.readdirSync(abs, { withFileTypes: true })) {
      const r = `${rel}/${e.name}`;
      if (e.isDirectory()) walk(r);
      else if (/\.(ts|js|mjs|cjs)$/.test(e.name)) out.push(r);
    }
  };
  for (const dir of ["resources", "stack", "formats", "runtime", "toolchains", "cli"]) walk(dir);
  out.push("index.ts");
  const scripts = path.join(REPO_ROOT, "scripts");
  if (fs.existsSync(scripts))
    for (const f of fs.readdirSync(scripts)) if (/\.(ts|js)$/.test(f)) out.push(`scripts/${f}`);
  for (const f of fs.readdirSync(path.join(REPO_ROOT, "bin"))) out.push(`bin/${f}`);
  return out.sort();
}

/**
 * Code without comments (block comments, and `//` comments that start a line or follow a space or punctuation),
 * blanked with spaces so that offsets (and line numbers) stay those of the file.
 */
function stripComments(text: string): string {
  const blank = (m: string) => m.replace(/[^\n]/g, " ");
  return text
    .replace(/\/\*[\s\S]*?\*\//g, blank)
    .replace(/(^|[\s;{}(),])(\/\/.*)$/gm, (_m, pre: string, comment: string) => pre + blank(comment));
}

function lineOf(text: string, index: number): number {
  return text.slice(0, index).split("\n").length;
}

interface Hit {
  file: string;
  line: number;
  rule: string;
  text: string;
}

const INTERPRETERS = [
  "sh",
  "bash",
  "dash",
  "zsh",
  "ksh",
  "/bin/sh",
  "/bin/bash",
  "/usr/bin/env",
  "env",
  "cmd",
  "cmd.exe",
  "powershell",
  "powershell.exe",
  "pwsh",
  "pwsh.exe",
  "python",
  "python3",
  "perl",
  "node",
  "wscript",
  "cscript",
];

/** Apply the scan rules to one file. */
function scanFile(rel: string): Hit[] {
  const raw = fs.readFileSync(path.join(REPO_ROOT, rel), "utf8");
  const hits: Hit[] = [];
  const add = (rule: string, index: number, text: string) =>
    hits.push({ file: rel, line: lineOf(raw, index), rule, text: text.trim().slice(0, 120) });

  if (rel.startsWith("bin/") && !/\.(ts|js)$/.test(rel)) {
    // a launcher script: it may exec node with our CLI, nothing else
    for (const m of raw.matchAll(/\b(eval|source)\b|\b(ba)?sh\s+-c\b|`[^`]*`|\$\((?!\s*(cd|dirname|readlink|pwd)\b)/g))
      add("launcher-shell-feature", m.index ?? 0, m[0]);
    return hits;
  }

  const code = stripComments(raw);
  const regexVars = new Set<string>();
  for (const m of code.matchAll(/\b(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*(?::\s*RegExp\s*)?=\s*\//g))
    regexVars.add(m[1]!);
  for (const m of code.matchAll(/\b([A-Za-z_$][\w$]*)\s*:\s*RegExp\b/g)) regexVars.add(m[1]!);
  for (const m of code.matchAll(/\b(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=\s*new RegExp\(/g)) regexVars.add(m[1]!);

  const rules: Array<[string, RegExp]> = [
    ["child_process-import", /(from\s+|require\(\s*|import\(\s*)["'`](node:)?child_process["'`]/g],
    ["shell-true", /\bshell\s*:\s*(true|!0|1)\b/g],
    ["execSync", /\bexecSync\s*\(/g],
    ["execFile", /\bexecFile(Sync)?\s*\(/g],
    ["spawnSync", /\bspawnSync\s*\(/g],
    ["spawn", /\bspawn\s*\(/g],
    ["fork", /\bfork\s*\(/g],
    ["process-binding", /\bprocess\.binding\s*\(|\binternalBinding\s*\(/g],
    [
      "spawning-package",
      /(from\s+|require\(\s*|import\(\s*)["'`](execa|shelljs|cross-spawn|zx|node-pty|child-process-promise|@pulumi\/command)["'`]/g,
    ],
  ];
  for (const [rule, re] of rules) {
    if (rel === EXEC_MODULE && (rule === "child_process-import" || rule === "spawn")) continue;
    for (const m of code.matchAll(re)) add(rule, m.index ?? 0, code.slice(m.index ?? 0, (m.index ?? 0) + 80));
  }
  // exec(: only RegExp.prototype.exec on a regex literal or a variable holding a RegExp
  for (const m of code.matchAll(/(\S{0,40}?)\bexec\s*\(/g)) {
    const before = m[1] ?? "";
    const regexLiteral = /\/[dgimsuvy]*\.$/.test(before);
    const regexVar = /([A-Za-z_$][\w$]*)\.$/.exec(before)?.[1];
    if (regexLiteral || (regexVar !== undefined && regexVars.has(regexVar))) continue;
    add("exec(", m.index ?? 0, m[0]);
  }
  // runTool(<tool>, ...): a literal tool must not be an interpreter; a computed tool must be allowlisted
  for (const m of code.matchAll(/\brunTool\(\s*([^,)]*)/g)) {
    if (rel === EXEC_MODULE) continue;
    const first = (m[1] ?? "").trim();
    const lit = /^["'`]([^"'`]*)["'`]$/.exec(first)?.[1];
    if (lit === undefined) add("runTool-dynamic-tool", m.index ?? 0, code.slice(m.index ?? 0, (m.index ?? 0) + 60));
    else if (INTERPRETERS.includes(lit.toLowerCase()) || /(^|\/)(ba|da|z|k)?sh$/.test(lit))
      add("runTool-interpreter", m.index ?? 0, code.slice(m.index ?? 0, (m.index ?? 0) + 60));
  }
  return hits;
}

function allowed(h: Hit): (typeof ALLOWLIST)[number] | undefined {
  const raw = fs.readFileSync(path.join(REPO_ROOT, h.file), "utf8");
  const lines = raw.split("\n");
  const around = lines.slice(Math.max(0, h.line - 1), h.line + 2).join("\n");
  return ALLOWLIST.find((a) => a.file === h.file && a.rule === h.rule && a.match.test(around));
}

describe("(a) no tool starts through a shell: code scan", () => {
  const files = scannedFiles();
  const hits = files.flatMap(scanFile);

  it("scans the project's code (resources/, stack/, formats/, runtime/, toolchains/, cli/, index.ts, scripts/*.ts, bin/)", () => {
    expect(files).toContain("index.ts");
    expect(files).toContain(EXEC_MODULE);
    expect(files).toContain("bin/winpe");
    for (const dir of ["resources/", "stack/", "formats/", "runtime/", "toolchains/", "cli/"])
      expect(files.filter((f) => f.startsWith(dir)).length, dir).toBeGreaterThan(2);
    expect(files.length).toBeGreaterThan(60);
  });

  it("finds no exec(, execSync(, execFile, spawn(, shell: true or child_process outside the allowlist", () => {
    const bad = hits.filter((h) => !allowed(h)).map((h) => `${h.file}:${h.line} [${h.rule}] ${h.text}`);
    expect(bad).toEqual([]);
  });

  it("every allowlist entry names a real exception (no stale entries) and says why", () => {
    for (const a of ALLOWLIST) {
      expect(a.why.length, a.file).toBeGreaterThan(20);
      const used = hits.some((h) => h.file === a.file && h.rule === a.rule && allowed(h) === a);
      expect(used, `${a.file} [${a.rule}] ${a.match}`).toBe(true);
    }
    console.log(["scan allowlist:", ...ALLOWLIST.map((a) => `  ${a.file} [${a.rule}]: ${a.why}`)].join("\n"));
  });

  it("runtime/exec.ts starts processes with spawn, shell: false, argv as an array", () => {
    const code = stripComments(fs.readFileSync(path.join(REPO_ROOT, EXEC_MODULE), "utf8"));
    expect(code).toMatch(/import \{ spawn \} from "node:child_process";/);
    expect(code.match(/\bspawn\(/g)).toHaveLength(1);
    expect(code).toMatch(/spawn\(tool, \[\.\.\.argv\], \{[\s\S]*?shell: false,[\s\S]*?\}\)/);
    expect(code).toMatch(/if \(!Array\.isArray\(argv\)\) throw new TypeError/);
  });

  it("the scanner catches what it must (self-test on bad snippets)", () => {
    const tmp = path.join(REPO_ROOT, ".work", "tmp");
    fs.mkdirSync(tmp, { recursive: true });
    const dir = fs.mkdtempSync(path.join(tmp, "scan-selftest-"));
    try {
      const rel = path.relative(REPO_ROOT, path.join(dir, "bad.ts")).split(path.sep).join("/");
      const snippets: Array<[string, string]> = [
        ['import { exec } from "child_process";', "child_process-import"],
        ['const cp = require("node:child_process");', "child_process-import"],
        ['exec("ls " + dir);', "exec("],
        ['cp.execSync("ls");', "execSync"],
        ['execFile("ls", [], { shell: true });', "shell-true"],
        ['spawn("ls", [dir]);', "spawn"],
        ['runTool("bash", ["-c", cmd]);', "runTool-interpreter"],
        ["runTool(someTool, []);", "runTool-dynamic-tool"],
        ['import { $ } from "zx";', "spawning-package"],
      ];
      for (const [snippet, rule] of snippets) {
        fs.writeFileSync(path.join(dir, "bad.ts"), `${snippet}\n`);
        expect(
          scanFile(rel).map((h) => h.rule),
          snippet,
        ).toContain(rule);
      }
      fs.writeFileSync(
        path.join(dir, "bad.ts"),
        'const RE = /a(b)/;\nconst m = RE.exec(x);\nconst n = /^x$/m.exec(y);\n// exec("in a comment")\nrunTool("xorriso", []);\n',
      );
      expect(scanFile(rel)).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("engine/: only the command provider runs a user-given interpreter", () => {
    const goFiles: string[] = [];
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name.endsWith(".go") && !e.name.endsWith("_test.go")) goFiles.push(p);
      }
    };
    walk(path.join(REPO_ROOT, "engine"));
    const rel = (p: string) => path.relative(REPO_ROOT, p).split(path.sep).join("/");
    const commandProvider = "engine/cmd/pulumi-resource-command/";
    const languageHost = "engine/cmd/pulumi-language-nodejs/";
    const problems: string[] = [];
    for (const f of goFiles) {
      const r = rel(f);
      const text = fs.readFileSync(f, "utf8");
      const startsProcesses = /"os\/exec"|syscall\.(Exec|ForkExec)|os\.StartProcess/.test(text);
      if (!startsProcesses) continue;
      if (r.startsWith(commandProvider)) continue; // its job: run the user's command with the user's interpreter
      if (r.startsWith(languageHost)) {
        // the language host starts node (found on PATH) with our runner; nothing else
        for (const m of text.matchAll(/exec\.Command(Context)?\(([^)]*)\)/g)) {
          const args = m[2]!.split(",").map((s) => s.trim());
          const program = m[1] ? args[1] : args[0];
          if (program !== "node") problems.push(`${r}: ${m[0]} starts ${program}, not node`);
        }
        if (/syscall\.(Exec|ForkExec)|os\.StartProcess|"\/bin\/sh"|"sh", "-c"|"cmd", "\/c"/i.test(text))
          problems.push(`${r}: starts a process other than through exec.Command(node, ...)`);
        continue;
      }
      problems.push(`${r}: starts processes (only the command provider and the language host may)`);
    }
    expect(problems).toEqual([]);
    // the interpreter (default /bin/sh -c) is a property of the command provider only
    const interp = goFiles.filter((f) =>
      /defaultInterpreter|"\/bin\/sh"|"interpreter"/.test(fs.readFileSync(f, "utf8")),
    );
    expect(interp.map(rel).every((r) => r.startsWith(commandProvider))).toBe(true);
    expect(interp.length).toBeGreaterThan(0);
  });
});

// ---------------------------------------------------------------------------------------------------
// helpers for (b), (c), (d)
// ---------------------------------------------------------------------------------------------------

/** A KDNET key that cannot appear by chance (four words of letters and digits). */
function randomKdnetKey(): string {
  return Array.from({ length: 4 }, () => `k${crypto.randomBytes(6).toString("hex")}`).join(".");
}

/** The forms a secret could take in a file: as is, UTF-16LE (registry strings), hex and base64 of both. */
function secretForms(secret: string): Array<{ name: string; bytes: Buffer }> {
  const utf8 = Buffer.from(secret, "utf8");
  const utf16 = Buffer.from(secret, "utf16le");
  return [
    { name: "text", bytes: utf8 },
    { name: "utf16le", bytes: utf16 },
    { name: "hex", bytes: Buffer.from(utf8.toString("hex")) },
    { name: "utf16le hex", bytes: Buffer.from(utf16.toString("hex")) },
    { name: "base64", bytes: Buffer.from(utf8.toString("base64")) },
    { name: "utf16le base64", bytes: Buffer.from(utf16.toString("base64")) },
  ];
}

/** The pieces of a PEM private key worth looking for: the base64 body joined, and each full body line. */
function pemPieces(pem: string): string[] {
  const lines = pem
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith("-----"));
  expect(lines.length).toBeGreaterThan(10);
  return [lines.join(""), ...lines.filter((l) => l.length >= 32)];
}

/** Every file under `dir` (recursively; missing dir -> none). */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  if (!fs.existsSync(dir)) return out;
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/** Where (file and encoding) any of the secrets occurs in the buffers; [] when nowhere. */
function leaks(
  haystacks: Array<{ name: string; bytes: Buffer }>,
  secrets: Array<{ label: string; value: string; forms?: boolean }>,
): string[] {
  const out: string[] = [];
  for (const s of secrets) {
    const needles = s.forms === false ? [{ name: "text", bytes: Buffer.from(s.value) }] : secretForms(s.value);
    for (const h of haystacks) {
      for (const n of needles) if (h.bytes.includes(n.bytes)) out.push(`${s.label} (${n.name}) in ${h.name}`);
    }
  }
  return out;
}

const fileHaystacks = (files: string[]) => files.map((f) => ({ name: f, bytes: fs.readFileSync(f) }));

// ---------------------------------------------------------------------------------------------------
// (b) the tool log proves argv arrays
// ---------------------------------------------------------------------------------------------------

describe("(b) the tool log: argv arrays, no secrets", () => {
  let dir: string;
  let log: string;
  const saved = { log: process.env.WINPE_TOOL_LOG, tmp: process.env.TMPDIR };
  const kdnetKey = randomKdnetKey();
  let keyPem = "";

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "winpe-security-log-"));
    log = path.join(dir, "tools.jsonl");
    process.env.WINPE_TOOL_LOG = log;
    process.env.TMPDIR = path.join(dir, "tmp");
    fs.mkdirSync(process.env.TMPDIR);
    setProgressFallback(() => undefined);
    // a working folder and its ISO: copype (wimlib, mtools, ...), wimlib-imagex info, xorriso
    const ws = await copype("amd64", path.join(dir, "WinPE_amd64"), { kind: "synthetic" }, { resource: "security" });
    await wimImageInfo(ws.bootWim, 1, { resource: "security" });
    await makeMedia(ws.dir, path.join(dir, "winpe.iso"), { resource: "security" });
    // a certificate and a signature: openssl, osslsigncode (the key passed as a secret)
    const cert = await createTestCertificate({ subject: "CN=winpe-lab security", outDir: path.join(dir, "cert") });
    keyPem = cert.keyPem;
    const efi = path.join(dir, "signed.efi");
    fs.copyFileSync(ws.efiBootFile, efi);
    await signFile(efi, cert, { resource: "security" });
    expect((await verifySignature(efi, cert.certPem, { resource: "security" })).valid).toBe(true);
    // a secret on a command line is redacted; failures and missing tools are logged too
    await runTool("printf", ["%s", `key=${kdnetKey}`], { resource: "security", secrets: [kdnetKey] });
    await runTool("false", [], { resource: "security" }).catch(() => undefined);
    await runTool("winpe-lab-no-such-tool", ["--version"], { resource: "security" }).catch(() => undefined);
  });

  afterAll(() => {
    for (const [k, v] of [
      ["WINPE_TOOL_LOG", saved.log],
      ["TMPDIR", saved.tmp],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("every line is JSON with tool, argv (an array of strings), cwd, exitCode and resource", () => {
    const lines = fs
      .readFileSync(log, "utf8")
      .split("\n")
      .filter((l) => l.length > 0);
    expect(lines.length).toBeGreaterThanOrEqual(8);
    for (const l of lines) {
      const e = JSON.parse(l) as Props;
      expect(typeof e.tool, l).toBe("string");
      expect(Array.isArray(e.argv), l).toBe(true);
      for (const a of e.argv as unknown[]) expect(typeof a, l).toBe("string");
      expect(typeof e.cwd, l).toBe("string");
      expect(e.exitCode === null || typeof e.exitCode === "number", l).toBe(true);
      expect(e.resource === null || typeof e.resource === "string", l).toBe(true);
      expect(typeof e.durationMs, l).toBe("number");
      // the tool is a program, never a shell given a script
      expect(INTERPRETERS, l).not.toContain(String(e.tool).toLowerCase());
    }
    const tools = new Set(readToolLog(log).map((e) => e.tool));
    for (const t of [
      "wimlib-imagex",
      "xorriso",
      "openssl",
      "osslsigncode",
      "printf",
      "false",
      "winpe-lab-no-such-tool",
    ])
      expect(tools, t).toContain(t);
  });

  it("no line holds the signing key or the KDNET key; the secret argument shows as [secret]", () => {
    const text = fs.readFileSync(log);
    expect(leaks([{ name: "tool log", bytes: text }], [{ label: "KDNET key", value: kdnetKey }])).toEqual([]);
    expect(
      leaks(
        [{ name: "tool log", bytes: text }],
        pemPieces(keyPem).map((p, i) => ({ label: `key PEM piece ${i}`, value: p, forms: false })),
      ),
    ).toEqual([]);
    const printf = readToolLog(log).find((e) => e.tool === "printf");
    expect(printf?.argv).toEqual(["%s", "key=[secret]"]);
    const sign = readToolLog(log).find((e) => e.tool === "osslsigncode" && (e.argv as string[])[0] === "sign");
    const signArgv = (sign?.argv ?? []) as string[];
    const keyArg = signArgv[signArgv.indexOf("-key") + 1] ?? "";
    expect(keyArg).toMatch(/key\.pem$/); // a file name, not the key
    expect(fs.existsSync(keyArg)).toBe(false); // and the file is gone
  });

  it("the private temporary folders of signing are gone", () => {
    expect(fs.readdirSync(process.env.TMPDIR!).filter((n) => n.startsWith("winpe-sign-"))).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------
// (c) secrets never in plain text: providers
// ---------------------------------------------------------------------------------------------------

describe("(c) secrets through the providers: not in the tool log, the progress or any written file", () => {
  let dir: string;
  let log: string;
  let tmp: string;
  const progress: string[] = [];
  const saved = { log: process.env.WINPE_TOOL_LOG, tmp: process.env.TMPDIR, locks: process.env.WINPE_LAB_LOCK_DIR };
  const key1 = randomKdnetKey();
  const key2 = randomKdnetKey();
  let keyPem = "";
  let certDir: string;
  let buildOut: string;
  let ws: Awaited<ReturnType<typeof copype>>;
  let bcdState: string;
  let original: Buffer;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "winpe-security-secrets-"));
    log = path.join(dir, "tools.jsonl");
    tmp = path.join(dir, "tmp");
    fs.mkdirSync(tmp);
    process.env.WINPE_TOOL_LOG = log;
    process.env.TMPDIR = tmp;
    process.env.WINPE_LAB_LOCK_DIR = path.join(dir, "locks");
    setProgressFallback((l) => progress.push(l));
    certDir = path.join(dir, "work", ".winpe-lab", "cert");
    buildOut = path.join(dir, "work", "build");
    bcdState = path.join(dir, "work", ".winpe-lab", "bcd");
    ws = await copype("amd64", path.join(dir, "work", "WinPE_amd64"));
    original = fs.readFileSync(ws.bcdStores[0]!);
  });

  afterAll(() => {
    for (const [k, v] of [
      ["WINPE_TOOL_LOG", saved.log],
      ["TMPDIR", saved.tmp],
      ["WINPE_LAB_LOCK_DIR", saved.locks],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const everything = () => [
    { name: "tool log", bytes: fs.existsSync(log) ? fs.readFileSync(log) : Buffer.alloc(0) },
    { name: "progress", bytes: Buffer.from(progress.join("\n")) },
    ...fileHaystacks(filesUnder(path.join(dir, "work")).filter((f) => !ws.bcdStores.includes(f))),
    ...fileHaystacks(filesUnder(tmp)),
  ];

  it("TestCertificate create (open): the key PEM is only in the (secret) output", async () => {
    const inputs = { toolchain: "open", subject: "CN=winpe-lab security", certDir };
    const checked = await certP.check({}, inputs);
    const r = await certP.create(checked.inputs as Props);
    keyPem = String((r.outs as Props).keyPem);
    expect(keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(fs.readdirSync(certDir).sort()).toEqual(["winpe-lab-test.cer", "winpe-lab-test.crt"]);
    // the grep finds what is there: the public certificate's body is in the .crt
    const certLine = pemPieces(String((r.outs as Props).certPem))[1]!;
    expect(
      leaks(fileHaystacks([path.join(certDir, "winpe-lab-test.crt")]), [
        { label: "cert", value: certLine, forms: false },
      ]),
    ).not.toEqual([]);
    const pieces = pemPieces(keyPem).map((p, i) => ({ label: `key PEM piece ${i}`, value: p, forms: false }));
    expect(leaks(everything(), pieces)).toEqual([]);
    expect(filesUnder(tmp)).toEqual([]);
  });

  it("DriverBuild create with signing: the key reaches osslsigncode only through a removed 0600 file", async () => {
    const inputs = {
      toolchain: "open",
      project: path.join(REPO_ROOT, "examples", "ioctl", "sys", "sioctl.vcxproj"),
      configuration: "Debug",
      platform: "x64",
      outDir: buildOut,
      signing: {
        certPem: fs.readFileSync(path.join(certDir, "winpe-lab-test.crt"), "utf8"),
        keyPem,
        thumbprint: "unused-by-open",
      },
    };
    const checked = await buildP.check({}, inputs);
    expect(checked.failures).toBeUndefined();
    const r = await buildP.create(checked.inputs as Props);
    const files = (r.outs as Props).files as Record<string, { signed: boolean }>;
    expect(files["sioctl.sys"]?.signed).toBe(true);
    const pieces = pemPieces(keyPem).map((p, i) => ({ label: `key PEM piece ${i}`, value: p, forms: false }));
    expect(leaks(everything(), pieces)).toEqual([]);
    expect(filesUnder(tmp)).toEqual([]);
  });

  /** A fresh copy of the synthetic EFI store, and BcdSettings inputs for it. */
  const bcdCase = (name: string) => {
    // outside work/ (grepped for leaks): the store itself must hold the key while it is configured
    fs.mkdirSync(path.join(dir, "stores"), { recursive: true });
    const store = path.join(dir, "stores", `${name}.bcd`);
    fs.writeFileSync(store, original);
    const inputs = (key: string, flags: Props = { testsigning: "on", debug: "on" }) => ({
      toolchain: "open",
      stores: [store],
      object: "{default}",
      flags,
      kdnet: { hostIp: "10.0.2.2", port: 50005, key },
      stateDir: bcdState,
    });
    return { store, inputs };
  };
  const handEdit = (store: string) =>
    runTool(
      "bash",
      [path.join(REPO_ROOT, "bin", "winpe"), "bcd", "/store", store, "/set", "{default}", "debug", "off"],
      {
        resource: "security",
      },
    );

  it("BcdSettings create/update/read/delete with KDNET keys: keys only in the store, gone after destroy", async () => {
    const { store, inputs } = bcdCase("main");
    const c1 = await bcdP.check({}, inputs(key1));
    const s1 = (await bcdP.create(c1.inputs as Props)).outs as Props;
    // the grep finds the key where it must be: the BCD store holds it (REG_SZ, UTF-16LE)
    expect(leaks(fileHaystacks([store]), [{ label: "key1", value: key1 }])).toContain(`key1 (utf16le) in ${store}`);
    expect(JSON.stringify(s1.effective)).not.toContain(key1);
    const c2 = await bcdP.check(s1, inputs(key2));
    const s2 = (await bcdP.update("id", s1, c2.inputs as Props)).outs as Props;
    expect(JSON.stringify(s2.effective)).not.toContain(key2);
    const rd = await bcdP.read("id", s2);
    expect((rd.props as Props).drift).toEqual([]);
    const secrets = [
      { label: "KDNET key 1", value: key1 },
      { label: "KDNET key 2", value: key2 },
    ];
    expect(leaks(everything(), secrets)).toEqual([]);
    await bcdP.delete("id", s2);
    expect(leaks(everything(), secrets)).toEqual([]);
    expect(fs.readFileSync(store).equals(original)).toBe(true);
  });

  it("BcdSettings refresh after a hand edit: the drift report and the progress hold no key", async () => {
    const { inputs, store } = bcdCase("drift");
    const c1 = await bcdP.check({}, inputs(key1));
    const s1 = (await bcdP.create(c1.inputs as Props)).outs as Props;
    await handEdit(store);
    const rd = await bcdP.read("id", s1);
    expect((rd.props as Props).drift).toEqual(["debug: on -> off"]);
    expect(leaks(everything(), [{ label: "KDNET key 1", value: key1 }])).toEqual([]);
  });

  // Fixed in formats/regf/hive.ts: a released cell's bytes are zeroed, and a cell reused for shorter
  // data is zero-filled behind it, so a deleted or replaced KDNET key does not stay in the store's free space.
  it("destroy after a hand edit (element-by-element restore) leaves no KDNET key in the store", async () => {
    const { inputs, store } = bcdCase("restore");
    const c1 = await bcdP.check({}, inputs(key1));
    const s1 = (await bcdP.create(c1.inputs as Props)).outs as Props;
    await handEdit(store); // the store is no longer as we wrote it: delete restores element by element
    await bcdP.delete("id", s1);
    expect(leaks(fileHaystacks([store]), [{ label: "KDNET key 1", value: key1 }])).toEqual([]);
  });

  it("changing the KDNET key to one of another length leaves no old key in the store", async () => {
    const { inputs, store } = bcdCase("rekey");
    const short = `s${crypto.randomBytes(3).toString("hex")}.a.b.c`;
    const c1 = await bcdP.check({}, inputs(short));
    const s1 = (await bcdP.create(c1.inputs as Props)).outs as Props;
    const c2 = await bcdP.check(s1, inputs(key2));
    await bcdP.update("id", s1, c2.inputs as Props);
    expect(leaks(fileHaystacks([store]), [{ label: "old KDNET key", value: short }])).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------
// (d) the state files of a real engine run
// ---------------------------------------------------------------------------------------------------

describe("(d) real engine: the state holds no secret in plain text", () => {
  let dir: string;
  let stack: Stack;
  let stateDir: string;
  let program: string;
  let store: string;
  let original: Buffer;
  let log: string;
  let tmp: string;
  let upOutput = "";
  const kdnetKey = randomKdnetKey();

  beforeAll(async () => {
    dir = scratchDir("security-state");
    program = path.join(dir, "program");
    stateDir = path.join(dir, "state");
    tmp = path.join(dir, "tmp");
    log = path.join(dir, "tools.jsonl");
    fs.mkdirSync(program);
    fs.mkdirSync(tmp);
    const ws = await copype("amd64", path.join(dir, "WinPE_amd64"));
    store = ws.bcdStores[0]!;
    original = fs.readFileSync(store);
    const rel = path.relative(program, path.join(REPO_ROOT, "resources")).split(path.sep).join("/");
    fs.writeFileSync(
      path.join(program, "Pulumi.yaml"),
      "name: winpe-lab-security\nruntime:\n  name: nodejs\n  options:\n    typescript: true\nmain: index.ts\n",
    );
    fs.writeFileSync(
      path.join(program, "index.ts"),
      [
        'import * as pulumi from "@pulumi/pulumi";',
        `import { BcdSettings } from "${rel}/bcd-settings";`,
        `import { TestCertificate } from "${rel}/test-certificate";`,
        "const cfg = new pulumi.Config();",
        'const cert = new TestCertificate("cert", { toolchain: "open", certDir: cfg.require("certDir") });',
        'const bcd = new BcdSettings("bcd", {',
        '  toolchain: "open",',
        '  stores: [cfg.require("store")],',
        '  object: "{default}",',
        '  flags: { testsigning: "on" },',
        '  kdnet: pulumi.secret({ hostIp: "10.0.2.2", port: 50005, key: cfg.requireSecret("kdnetKey") }),',
        '  stateDir: cfg.require("stateDir"),',
        "});",
        "export const thumbprint = cert.thumbprint;",
        "export const keyPem = cert.keyPem;",
        "export const signing = cert.signing;",
        "export const effective = bcd.effective;",
        "",
      ].join("\n"),
    );
    stack = await openStack(program, "security", stateDir, {
      WINPE_TOOL_LOG: log,
      TMPDIR: tmp,
      WINPE_LAB_LOCK_DIR: path.join(dir, "locks"),
    });
    await stack.setAllConfig({
      certDir: { value: path.join(ws.dir, ".winpe-lab", "cert") },
      store: { value: store },
      stateDir: { value: path.join(ws.dir, ".winpe-lab", "bcd") },
      kdnetKey: { value: kdnetKey, secret: true },
    });
  });

  afterAll(async () => {
    if (stack) await stack.workspace.removeStack("security", { force: true }).catch(() => undefined);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("up: the key PEM and the KDNET key are encrypted in the state, the stack file and the output", async () => {
    const r = await stack.up({ onOutput: (s) => (upOutput += s), color: "never" });
    expect(r.summary.result).toBe("succeeded");
    const keyPem = String(r.outputs.keyPem?.value ?? "");
    expect(keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(r.outputs.keyPem?.secret).toBe(true);
    expect(r.outputs.signing?.secret).toBe(true);
    // positive control: the store holds the KDNET key
    expect(leaks(fileHaystacks([store]), [{ label: "kdnet", value: kdnetKey }]).length).toBeGreaterThan(0);
    const stateFiles = filesUnder(stateDir).filter((f) => !f.includes(`${path.sep}.pulumi-home${path.sep}`));
    expect(stateFiles.some((f) => /\.pulumi\/stacks\/.*security\.json$/.test(f))).toBe(true);
    const haystacks = [
      ...fileHaystacks(stateFiles),
      ...fileHaystacks([path.join(program, "Pulumi.security.yaml")]),
      { name: "pulumi up output", bytes: Buffer.from(upOutput) },
      { name: "tool log", bytes: fs.existsSync(log) ? fs.readFileSync(log) : Buffer.alloc(0) },
      ...fileHaystacks(filesUnder(tmp)),
    ];
    const secrets = [
      { label: "KDNET key", value: kdnetKey },
      ...pemPieces(keyPem).map((p, i) => ({ label: `key PEM piece ${i}`, value: p, forms: false })),
    ];
    expect(leaks(haystacks, secrets)).toEqual([]);
    // the state marks them as secrets (the Automation API's export shows plaintext, decrypted: only the marks count)
    const exported = JSON.stringify(await stack.exportStack());
    const secretValues = [
      ...exported.matchAll(
        /"4dabf18193072939515e22adb298388d":"1b47061264138c4ac30d75fd1eb44270","plaintext":"((?:[^"\\]|\\.)*)"/g,
      ),
    ].map((m) => m[1]!);
    expect(secretValues.some((v) => v.includes(kdnetKey))).toBe(true);
    expect(secretValues.some((v) => v.includes(pemPieces(keyPem)[1]!))).toBe(true);
  });

  it("destroy: the store is byte-identical again and no state file (history, backups) holds a secret", async () => {
    const outputs = await stack.outputs();
    const keyPem = String(outputs.keyPem?.value ?? "");
    await stack.destroy({ color: "never" });
    expect(fs.readFileSync(store).equals(original)).toBe(true);
    const stateFiles = filesUnder(stateDir).filter((f) => !f.includes(`${path.sep}.pulumi-home${path.sep}`));
    const secrets = [
      { label: "KDNET key", value: kdnetKey },
      ...pemPieces(keyPem).map((p, i) => ({ label: `key PEM piece ${i}`, value: p, forms: false })),
    ];
    expect(leaks(fileHaystacks(stateFiles), secrets)).toEqual([]);
  });
});
