/**
 * Visual C++ project files (.vcxproj, MSBuild XML) read without MSBuild: a small strict XML reader, and an
 * evaluator for the subset of MSBuild that C/C++ driver projects use (properties with conditions,
 * item definitions, ClCompile/ClInclude items, the standard Microsoft.Cpp imports).
 *
 * Evaluation follows MSBuild's order: all properties in document order (conditions see the properties
 * defined before them), then item definitions, then items. Anything that could change what gets compiled
 * and that this module cannot honour (custom build steps, build events, other imports, custom targets, unknown
 * item types or compiler settings, property functions, ...) raises a {@link ProjectFormatError} that names the
 * feature and the file (and line). Files are read as MSBuild reads them: UTF-8 (with or without a byte-order mark)
 * or UTF-16 with a byte-order mark, any line ends; file and folder names resolve in any letter case, as on
 * Windows. `.vcxproj.filters` files only group files in Visual Studio's tree and are never read (as by MSBuild).
 * No Pulumi imports.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { WinpeError } from "../runtime/errors";

// ---------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------

/** A project or solution file that cannot be read, or that uses a feature this module does not support. */
export class ProjectFormatError extends WinpeError {
  constructor(
    message: string,
    /** The project or solution file. */
    readonly file: string,
    /** 1-based line in `file`, when known. */
    readonly line?: number,
    /** The unsupported feature (e.g. `CustomBuild`, `Import`), when that is the reason. */
    readonly feature?: string,
  ) {
    super(message);
    this.name = "ProjectFormatError";
  }
}

function fail(file: string, line: number | undefined, message: string, feature?: string): never {
  const where = line !== undefined ? `${file}:${line}` : file;
  throw new ProjectFormatError(`${where}: ${message}`, file, line, feature);
}

// ---------------------------------------------------------------------------------------------------
// XML reader
// ---------------------------------------------------------------------------------------------------

/** One XML element. Text is the concatenated character data directly inside the element. */
export interface XmlElement {
  /** Element name as written (MSBuild uses no prefixes). */
  name: string;
  /** Attributes by name. */
  attributes: Record<string, string>;
  /** Child elements in document order. */
  children: XmlElement[];
  /** Character data and CDATA directly inside this element, entities decoded. */
  text: string;
  /** 1-based line of the start tag. */
  line: number;
}

/** Limits of {@link parseXml}. */
export interface XmlLimits {
  /** Largest accepted document in characters. @default 16 MiB */
  maxChars?: number;
  /** Deepest accepted element nesting. @default 64 */
  maxDepth?: number;
  /** Most elements accepted. @default 200000 */
  maxElements?: number;
}

const NAME_START = /[A-Za-z_:\u00C0-\uFFFF]/;
const NAME_CHAR = /[A-Za-z0-9_:.\-\u00B7\u00C0-\uFFFF]/;
const PREDEFINED_ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

/**
 * Parse an XML document strictly (well-formedness only; no DTDs, no external entities).
 * Returns the root element.
 *
 * @param text the document (a leading byte-order mark is allowed)
 * @param file name used in error messages
 * @param limits size, depth and element-count limits
 * @throws ProjectFormatError naming the file and line of the first error
 */
export function parseXml(text: string, file: string, limits: XmlLimits = {}): XmlElement {
  const maxChars = limits.maxChars ?? 16 * 1024 * 1024;
  const maxDepth = limits.maxDepth ?? 64;
  const maxElements = limits.maxElements ?? 200_000;
  if (text.length > maxChars) fail(file, undefined, `is larger than ${maxChars} characters: not a project file`);
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  const n = text.length;
  let elements = 0;

  const err = (msg: string): never => fail(file, line, `not valid XML: ${msg}`);
  const advance = (to: number) => {
    for (let k = i; k < to; k++) if (text.charCodeAt(k) === 10) line++;
    i = to;
  };
  const startsWith = (s: string) => text.startsWith(s, i);
  const skipSpace = () => {
    let k = i;
    while (k < n) {
      const c = text.charCodeAt(k);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) k++;
      else break;
    }
    advance(k);
  };
  const readName = (): string => {
    if (i >= n || !NAME_START.test(text[i]!)) err(`expected a name at ${JSON.stringify(text.slice(i, i + 12))}`);
    let k = i + 1;
    while (k < n && NAME_CHAR.test(text[k]!)) k++;
    const name = text.slice(i, k);
    advance(k);
    return name;
  };
  // XML 1.0 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF] (no NUL, no surrogates)
  const xmlChar = (cp: number) =>
    cp === 0x9 ||
    cp === 0xa ||
    cp === 0xd ||
    (cp >= 0x20 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd) ||
    (cp >= 0x10000 && cp <= 0x10ffff);
  const decode = (raw: string): string => {
    if (raw.indexOf("&") < 0) return raw;
    return raw.replace(/&([^;\s&<]{0,16});?/g, (m, ent: string) => {
      if (!m.endsWith(";")) err(`unterminated entity reference '${m}'`);
      if (ent.startsWith("#x") || ent.startsWith("#X")) {
        const cp = Number.parseInt(ent.slice(2), 16);
        if (!/^[0-9a-fA-F]+$/.test(ent.slice(2)) || !xmlChar(cp)) err(`bad character reference '${m}'`);
        return String.fromCodePoint(cp);
      }
      if (ent.startsWith("#")) {
        const cp = Number.parseInt(ent.slice(1), 10);
        if (!/^[0-9]+$/.test(ent.slice(1)) || !xmlChar(cp)) err(`bad character reference '${m}'`);
        return String.fromCodePoint(cp);
      }
      const v = PREDEFINED_ENTITIES[ent];
      if (v === undefined) err(`unknown entity '&${ent};' (DTD entities are not supported)`);
      return v as string;
    });
  };
  const skipMisc = (allowDecl: boolean) => {
    for (;;) {
      skipSpace();
      if (startsWith("<?")) {
        const end = text.indexOf("?>", i + 2);
        if (end < 0) err("unterminated processing instruction");
        const target = text.slice(i + 2, end).split(/\s/)[0] ?? "";
        if (target.toLowerCase() === "xml" && !allowDecl) err("XML declaration is only allowed at the very start");
        advance(end + 2);
        allowDecl = false;
      } else if (startsWith("<!--")) {
        const end = text.indexOf("-->", i + 4);
        if (end < 0) err("unterminated comment");
        advance(end + 3);
        allowDecl = false;
      } else if (startsWith("<!DOCTYPE") || startsWith("<!doctype")) {
        err("DOCTYPE declarations are not supported in project files");
      } else {
        return;
      }
    }
  };

  const parseElement = (depth: number): XmlElement => {
    if (depth > maxDepth) err(`elements nested deeper than ${maxDepth}`);
    if (++elements > maxElements) err(`more than ${maxElements} elements`);
    const startLine = line;
    advance(i + 1); // '<'
    const name = readName();
    const attributes: Record<string, string> = {};
    for (;;) {
      const before = i;
      skipSpace();
      if (startsWith("/>")) {
        advance(i + 2);
        return { name, attributes, children: [], text: "", line: startLine };
      }
      if (startsWith(">")) {
        advance(i + 1);
        break;
      }
      if (i === before) err(`expected whitespace, '>' or '/>' in <${name}>`);
      const attr = readName();
      skipSpace();
      if (text[i] !== "=") err(`attribute '${attr}' of <${name}> has no value`);
      advance(i + 1);
      skipSpace();
      const q = text[i];
      if (q !== '"' && q !== "'") err(`value of attribute '${attr}' is not quoted`);
      const end = text.indexOf(q as string, i + 1);
      if (end < 0) err(`unterminated value of attribute '${attr}'`);
      const raw = text.slice(i + 1, end);
      if (raw.includes("<")) err(`'<' in the value of attribute '${attr}'`);
      if (Object.hasOwn(attributes, attr)) err(`attribute '${attr}' appears twice in <${name}>`);
      attributes[attr] = decode(raw).replace(/[\t\n\r]/g, " ");
      advance(end + 1);
    }
    const children: XmlElement[] = [];
    let body = "";
    for (;;) {
      if (i >= n) err(`<${name}> (line ${startLine}) is never closed`);
      const lt = text.indexOf("<", i);
      if (lt < 0) err(`<${name}> (line ${startLine}) is never closed`);
      if (lt > i) {
        const raw = text.slice(i, lt);
        if (raw.includes("]]>")) err("']]>' in character data");
        body += decode(raw);
        advance(lt);
      }
      if (startsWith("</")) {
        advance(i + 2);
        const close = readName();
        if (close !== name) err(`</${close}> closes <${name}> (opened on line ${startLine})`);
        skipSpace();
        if (text[i] !== ">") err(`expected '>' after </${close}`);
        advance(i + 1);
        return { name, attributes, children, text: body, line: startLine };
      }
      if (startsWith("<!--")) {
        const end = text.indexOf("-->", i + 4);
        if (end < 0) err("unterminated comment");
        advance(end + 3);
      } else if (startsWith("<![CDATA[")) {
        const end = text.indexOf("]]>", i + 9);
        if (end < 0) err("unterminated CDATA section");
        body += text.slice(i + 9, end);
        advance(end + 3);
      } else if (startsWith("<?")) {
        const end = text.indexOf("?>", i + 2);
        if (end < 0) err("unterminated processing instruction");
        advance(end + 2);
      } else if (startsWith("<!")) {
        err("markup declarations are not supported");
      } else {
        children.push(parseElement(depth + 1));
      }
    }
  };

  skipMisc(true);
  if (i >= n) err("the document is empty");
  if (text[i] !== "<") err(`text before the root element: ${JSON.stringify(text.slice(i, i + 20))}`);
  const root = parseElement(1);
  skipMisc(false);
  if (i < n) err(`content after the root element </${root.name}>`);
  return root;
}

// ---------------------------------------------------------------------------------------------------
// MSBuild values: properties, macros, conditions
// ---------------------------------------------------------------------------------------------------

/** A property value and the undefined properties it (transitively) referenced. */
interface PropValue {
  value: string;
  /** Names of properties that were referenced while undefined (MSBuild expands them to ""). */
  undefinedRefs: string[];
}

type Props = Map<string, PropValue>; // keys lower-cased: MSBuild property names are case-insensitive

interface ExpandContext {
  file: string;
  line: number;
  props: Props;
  /** Metadata values for `%(Name)` (lower-cased keys); absent: `%(...)` is an error. */
  metadata?: Map<string, string>;
  /** The item type the metadata belong to: `%(Type.Name)` of this type reads them too. */
  metadataType?: string;
  /** Where the value is used, for error messages. */
  what: string;
}

/** Expand `$(Name)` (and `%(Name)` when metadata is given). Unsupported syntax is an error. */
function expand(raw: string, ctx: ExpandContext): PropValue {
  const undefinedRefs: string[] = [];
  let out = "";
  let k = 0;
  while (k < raw.length) {
    const c = raw[k];
    if ((c === "$" || c === "%" || c === "@") && raw[k + 1] === "(") {
      const close = raw.indexOf(")", k + 2);
      if (close < 0) fail(ctx.file, ctx.line, `unterminated '${c}(' in ${ctx.what}: ${raw}`);
      const inner = raw.slice(k + 2, close);
      if (c === "$") {
        if (inner.startsWith("[") || !/^[A-Za-z_][A-Za-z0-9_-]*$/.test(inner)) {
          fail(
            ctx.file,
            ctx.line,
            `MSBuild property functions and registry references are not supported ('$(${inner}...)' in ${ctx.what})`,
            "property function",
          );
        }
        const v = ctx.props.get(inner.toLowerCase());
        if (v === undefined) undefinedRefs.push(inner);
        else {
          out += v.value;
          undefinedRefs.push(...v.undefinedRefs);
        }
      } else if (c === "%") {
        if (!ctx.metadata) {
          fail(ctx.file, ctx.line, `item metadata '%(${inner})' cannot be used in ${ctx.what}`, "item metadata");
        }
        const qualified = /^([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(inner);
        if (qualified && ctx.metadataType && qualified[1]!.toLowerCase() === ctx.metadataType.toLowerCase()) {
          out += ctx.metadata.get(qualified[2]!.toLowerCase()) ?? "";
        } else if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(inner)) {
          fail(ctx.file, ctx.line, `qualified item metadata '%(${inner})' is not supported (${ctx.what})`, "metadata");
        } else {
          out += ctx.metadata.get(inner.toLowerCase()) ?? "";
        }
      } else {
        fail(ctx.file, ctx.line, `item lists '@(${inner})' are not supported in ${ctx.what}`, "item list");
      }
      k = close + 1;
    } else {
      out += c;
      k++;
    }
  }
  return { value: out, undefinedRefs };
}

/** MSBuild escapes (%3B for ';' and so on), decoded after splitting. */
function unescapeMsbuild(s: string): string {
  return s.replace(/%([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
}

function splitList(value: string): string[] {
  return value
    .split(";")
    .map((s) => unescapeMsbuild(s.trim()))
    .filter((s) => s.length > 0);
}

/**
 * Substitute `%(Name)` with the metadata's value so far (item definitions and items refer to the value they
 * extend). `$(...)` is left for {@link expand} at use time, so the use site still sees which properties a value
 * references. Item lists `@(...)` are not supported here.
 */
function substituteMetadata(
  raw: string,
  current: Map<string, string>,
  ctx: { file: string; line: number; what: string },
): string {
  return raw.replace(/([%@])\(([^)]*)\)/g, (_m, sigil: string, inner: string) => {
    if (sigil === "@")
      fail(ctx.file, ctx.line, `item lists '@(${inner})' are not supported in ${ctx.what}`, "item list");
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(inner)) {
      fail(ctx.file, ctx.line, `qualified item metadata '%(${inner})' is not supported (${ctx.what})`, "metadata");
    }
    return current.get(inner.toLowerCase()) ?? "";
  });
}

type Token =
  | { kind: "str"; value: string }
  | { kind: "word"; value: string }
  | { kind: "op"; value: string }
  | { kind: "prop"; value: string };

/**
 * Evaluate an MSBuild condition: `'$(Configuration)|$(Platform)'=='Debug|x64'`, `==`/`!=`/`<`/`>`/`<=`/`>=`,
 * `and`, `or`, `!`, parentheses, `exists('path')`, `HasTrailingSlash('path')`, `true`/`false`.
 * Comparisons are case-insensitive, as in MSBuild.
 */
function evaluateCondition(cond: string, ctx: ExpandContext, baseDir: string): boolean {
  const bad = (why: string): never =>
    fail(ctx.file, ctx.line, `unsupported condition ${JSON.stringify(cond)}: ${why}`, "condition");
  const tokens: Token[] = [];
  let k = 0;
  while (k < cond.length) {
    const c = cond[k]!;
    if (/\s/.test(c)) {
      k++;
    } else if (c === "'") {
      const end = cond.indexOf("'", k + 1);
      if (end < 0) bad("unterminated quoted string");
      tokens.push({ kind: "str", value: cond.slice(k + 1, end) });
      k = end + 1;
    } else if (c === "$" && cond[k + 1] === "(") {
      const end = cond.indexOf(")", k);
      if (end < 0) bad("unterminated $(");
      tokens.push({ kind: "prop", value: cond.slice(k, end + 1) });
      k = end + 1;
    } else if (/[=!<>]/.test(c)) {
      const two = cond.slice(k, k + 2);
      if (two === "==" || two === "!=" || two === "<=" || two === ">=") {
        tokens.push({ kind: "op", value: two });
        k += 2;
      } else if (c === "!" || c === "<" || c === ">") {
        tokens.push({ kind: "op", value: c });
        k++;
      } else {
        bad(`unexpected '${c}'`);
      }
    } else if (c === "(" || c === ")" || c === ",") {
      tokens.push({ kind: "op", value: c });
      k++;
    } else if (/[A-Za-z0-9_.-]/.test(c)) {
      let e = k + 1;
      while (e < cond.length && /[A-Za-z0-9_.-]/.test(cond[e]!)) e++;
      tokens.push({ kind: "word", value: cond.slice(k, e) });
      k = e;
    } else {
      bad(`unexpected '${c}'`);
    }
  }
  let p = 0;
  const peek = () => tokens[p];
  const isOp = (v: string) => {
    const t = peek();
    return t !== undefined && t.kind === "op" && t.value === v;
  };
  const isWord = (v: string) => {
    const t = peek();
    return t !== undefined && t.kind === "word" && t.value.toLowerCase() === v;
  };
  const expandStr = (s: string) => expand(s, { ...ctx, what: `condition ${JSON.stringify(cond)}` }).value;
  const toBool = (v: string): boolean => {
    const l = v.toLowerCase();
    if (l === "true" || l === "on" || l === "yes") return true;
    if (l === "false" || l === "off" || l === "no") return false;
    return bad(`'${v}' is not a boolean`);
  };
  type Val = { s: string } | { b: boolean };
  const operand = (): Val => {
    const t = peek();
    if (t === undefined) return bad("unexpected end");
    if (t.kind === "op" && t.value === "!") {
      p++;
      const v = operand();
      return { b: !("b" in v ? v.b : toBool(v.s)) };
    }
    if (t.kind === "op" && t.value === "(") {
      p++;
      const b = orExpr();
      if (!isOp(")")) bad("missing ')'");
      p++;
      return { b };
    }
    if (t.kind === "str") {
      p++;
      return { s: expandStr(t.value) };
    }
    if (t.kind === "prop") {
      p++;
      return { s: expandStr(t.value) };
    }
    if (t.kind === "word") {
      p++;
      if (isOp("(")) {
        p++;
        const fn = t.value.toLowerCase();
        const argTok = peek();
        if (argTok === undefined || (argTok.kind !== "str" && argTok.kind !== "prop"))
          bad(`${t.value}() needs a string`);
        p++;
        if (!isOp(")")) bad(`${t.value}() takes one argument`);
        p++;
        const arg = expandStr((argTok as { value: string }).value);
        if (fn === "exists") {
          if (arg.trim() === "") return { b: false };
          return { b: fs.existsSync(path.resolve(baseDir, toPosixPath(arg.trim()))) };
        }
        if (fn === "hastrailingslash") return { b: /[\\/]$/.test(arg) };
        return bad(`function ${t.value}() is not supported`);
      }
      return { s: t.value };
    }
    return bad(`unexpected '${t.value}'`);
  };
  const compare = (): boolean => {
    const left = operand();
    const t = peek();
    if (t && t.kind === "op" && ["==", "!=", "<", ">", "<=", ">="].includes(t.value)) {
      p++;
      const right = operand();
      const ls = "s" in left ? left.s : String(left.b);
      const rs = "s" in right ? right.s : String(right.b);
      if (t.value === "==") return ls.toLowerCase() === rs.toLowerCase();
      if (t.value === "!=") return ls.toLowerCase() !== rs.toLowerCase();
      const ln = Number(ls);
      const rn = Number(rs);
      if (ls.trim() === "" || rs.trim() === "" || Number.isNaN(ln) || Number.isNaN(rn)) {
        bad(`'${t.value}' compares numbers only ('${ls}' ${t.value} '${rs}')`);
      }
      if (t.value === "<") return ln < rn;
      if (t.value === ">") return ln > rn;
      if (t.value === "<=") return ln <= rn;
      return ln >= rn;
    }
    return "b" in left ? left.b : toBool(left.s);
  };
  const andExpr = (): boolean => {
    let v = compare();
    while (isWord("and")) {
      p++;
      const r = compare();
      v = v && r;
    }
    return v;
  };
  const orExpr = (): boolean => {
    let v = andExpr();
    while (isWord("or")) {
      p++;
      const r = andExpr();
      v = v || r;
    }
    return v;
  };
  if (tokens.length === 0) return true;
  const result = orExpr();
  if (p !== tokens.length) bad(`unexpected '${(tokens[p] as { value: string }).value}'`);
  return result;
}

/** Windows path text (as written in project files) to a POSIX path: backslashes become slashes. */
export function toPosixPath(p: string): string {
  return p.replace(/\\/g, "/");
}

function isWindowsAbsolute(p: string): boolean {
  return /^[A-Za-z]:[\\/]/.test(p) || /^[\\/]{2}/.test(p);
}

// ---------------------------------------------------------------------------------------------------
// Project model
// ---------------------------------------------------------------------------------------------------

/** MSBuild ConfigurationType values. */
export type ConfigurationType = "Application" | "Driver" | "DynamicLibrary" | "StaticLibrary" | "Utility" | "Makefile";
const CONFIGURATION_TYPES: ConfigurationType[] = [
  "Application",
  "Driver",
  "DynamicLibrary",
  "StaticLibrary",
  "Utility",
  "Makefile",
];
const DEFAULT_TARGET_EXT: Record<ConfigurationType, string> = {
  Application: ".exe",
  Driver: ".sys",
  DynamicLibrary: ".dll",
  StaticLibrary: ".lib",
  Utility: "",
  Makefile: "",
};

/** One `<ProjectConfiguration Include="Debug|x64">`. */
export interface ProjectConfiguration {
  configuration: string;
  platform: string;
}

/** A .vcxproj read and checked for well-formedness, ready to be evaluated per configuration. */
export interface VcxProject {
  /** Absolute path of the project file. */
  file: string;
  /** Folder of the project file. */
  projectDir: string;
  /** File name without extension ($(MSBuildProjectName)). */
  projectName: string;
  /** `<ProjectGuid>` from the Globals group (upper-case, with braces), when present. */
  projectGuid?: string;
  /** Declared configurations (`ProjectConfigurations` item group). */
  configurations: ProjectConfiguration[];
  /** The parsed document. */
  root: XmlElement;
}

/** Compiler settings of one ClCompile item (after item definitions and per-item metadata). */
export interface ClCompileSettings {
  /** Include folders, absolute POSIX paths, in order (toolchain-provided SDK/WDK folders removed). */
  additionalIncludeDirectories: string[];
  /** `NAME` or `NAME=VALUE`, in order. */
  preprocessorDefinitions: string[];
  /** Names to undefine (`/U`). */
  undefinePreprocessorDefinitions: string[];
  /** Headers included before the source (`/FI`), absolute paths. */
  forcedIncludeFiles: string[];
  /** `Default`, `CompileAsC` or `CompileAsCpp`. */
  compileAs: "Default" | "CompileAsC" | "CompileAsCpp";
  /** `Disabled`, `MinSpace`, `MaxSpeed`, `Full` or "" (not set: the configuration's default). */
  optimization: string;
  /** `MultiThreaded`, `MultiThreadedDebug`, `MultiThreadedDLL`, `MultiThreadedDebugDLL` or "". */
  runtimeLibrary: string;
  /** C language standard (`stdc11`, `stdc17`, ...) or "". */
  languageStandardC: string;
  /** C++ language standard (`stdcpp17`, ...) or "". */
  languageStandard: string;
  /** `Create`, `Use`, `NotUsing` or "" (not set: not using). */
  precompiledHeader: string;
  /** The header a precompiled header stands for (`pch.h`), as written in the #include directive; "" when not set. */
  precompiledHeaderFile: string;
  /** `TurnOffAllWarnings`, `Level1`..`Level4`, `EnableAllWarnings` or "". */
  warningLevel: string;
  /** `TreatWarningAsError` (`/WX`). */
  treatWarningAsError: boolean;
  /** `DisableSpecificWarnings` (`/wd`), MSVC warning numbers. */
  disableSpecificWarnings: number[];
  /** `TreatSpecificWarningsAsErrors` (`/we`), MSVC warning numbers. */
  treatSpecificWarningsAsErrors: number[];
  /** `DebugInformationFormat`: `ProgramDatabase`, `OldStyle`, `EditAndContinue`, `None` or "" (not set). */
  debugInformationFormat: string;
  /** `AdditionalOptions` with `%(AdditionalOptions)` removed (raw cl.exe options), and the line that set them. */
  additionalOptions: { text: string; line: number };
}

/** Settings of one ResourceCompile item (after item definitions and per-item metadata). */
export interface ResourceCompileSettings {
  /** Include folders, absolute POSIX paths, in order (toolchain-provided SDK/WDK folders removed). */
  additionalIncludeDirectories: string[];
  /** `NAME` or `NAME=VALUE`, in order. */
  preprocessorDefinitions: string[];
  /** Names to undefine. */
  undefinePreprocessorDefinitions: string[];
  /** `Culture` (`0x0409`) or "": the default language of the resources. */
  culture: string;
  /** `NullTerminateStrings` (`/n`). */
  nullTerminateStrings: boolean;
  /** `IgnoreStandardIncludePath` (`/x`). */
  ignoreStandardIncludePath: boolean;
}

/** One resource script to compile. */
export interface VcxResource {
  /** Absolute POSIX path. */
  file: string;
  /** The `Include` text as written in the project. */
  include: string;
  /** 1-based line of the item in the project file. */
  line: number;
  settings: ResourceCompileSettings;
}

/** One source file to compile. */
export interface VcxSource {
  /** Absolute POSIX path. */
  file: string;
  /** The `Include` text as written in the project. */
  include: string;
  /** 1-based line of the item in the project file. */
  line: number;
  settings: ClCompileSettings;
}

/** Link settings of a configuration. */
export interface LinkSettings {
  /** `Console`, `Windows`, `Native`, ... or "" (not set). */
  subsystem: string;
  /** `GenerateDebugInformation`: `true`, `false`, `DebugFull`, `DebugFastLink`, or "" (not set). */
  generateDebugInformation: string;
  /** `AdditionalOptions` with `%(AdditionalOptions)` removed (raw link.exe options), and the line that set them. */
  additionalOptions: { text: string; line: number };
  /** Line of the `AdditionalDependencies` setting (the project element when not set). */
  additionalDependenciesLine: number;
  /** Entry point symbol, or "" (the default for the configuration type). */
  entryPointSymbol: string;
  /** Library names (`kernel32.lib`), in order, `%(AdditionalDependencies)` removed. */
  additionalDependencies: string[];
  /** The list keeps `%(AdditionalDependencies)` (or is not set): MSBuild's default libraries apply too. */
  inheritsDefaultDependencies: boolean;
}

/** A project evaluated for one configuration and platform. */
export interface VcxConfiguration {
  /** Absolute path of the project file. */
  file: string;
  projectDir: string;
  projectName: string;
  projectGuid?: string;
  configuration: string;
  platform: string;
  configurationType: ConfigurationType;
  /** `<DriverType>` (WDM, KMDF, UMDF) or "". */
  driverType: string;
  /** Output file name without extension. */
  targetName: string;
  /** Output extension with its dot (`.sys`, `.exe`). */
  targetExt: string;
  /** `<UseDebugLibraries>` (true in Debug configurations of the standard templates). */
  useDebugLibraries: boolean;
  /** `<CharacterSet>`: `Unicode`, `MultiByte`, `NotSet` or "". */
  characterSet: string;
  /** `<TargetVersion>` of WDK projects (`Windows10`, ...) or "". */
  targetVersion: string;
  /** `<PlatformToolset>` or "". */
  platformToolset: string;
  /** `<IncludePath>` folders (VC++ Directories), absolute, toolchain-provided entries removed. */
  includePath: string[];
  /** ClCompile items that are built, in project order. */
  sources: VcxSource[];
  /** ResourceCompile items that are built, in project order. */
  resources: VcxResource[];
  /** ClCompile items excluded from this configuration (absolute paths). */
  excludedSources: string[];
  /** ClInclude items (absolute paths). */
  headers: string[];
  link: LinkSettings;
  /** `<PackageReference Include>` names (NuGet). */
  packageReferences: string[];
  /** Every evaluated property, by name as first written. */
  properties: Record<string, string>;
  /** Line of the element that last set each property defined in the project file (by name as first written). */
  propertyLines: Record<string, number>;
}

/** Options of {@link evaluateVcxproj}. */
export interface EvaluateOptions {
  /** Configuration name, e.g. `Debug`. */
  configuration: string;
  /** Platform name, e.g. `x64` or `ARM64`. */
  platform: string;
  /** Folder of the solution this build comes from ($(SolutionDir)). @default the project's folder */
  solutionDir?: string;
  /** Solution file name without extension ($(SolutionName)). @default undefined (not defined) */
  solutionName?: string;
  /**
   * Properties the toolchain's own imports define (what Microsoft.Cpp.props and the WDK's props would), e.g.
   * `DDK_LIB_PATH`. Defined before the project's properties, which may override them.
   */
  toolchainProperties?: Record<string, string>;
  /**
   * Properties the toolchain's imports derive from the project's (e.g. `_NT_TARGET_VERSION` from `TargetVersion`):
   * called after the property pass with a reader of the evaluated properties; the result is defined unless the
   * project set the property itself.
   */
  derivedProperties?: (prop: (name: string) => string) => Record<string, string>;
  /**
   * Called after the property pass, before item definitions and items are read: a toolchain refuses a project
   * here for what its properties say (e.g. `DriverType KMDF`), before anything about its items can fail.
   * `line(name)` is the line that set a property in the project file.
   */
  checkProperties?: (prop: (name: string) => string, line: (name: string) => number | undefined) => void;
}

/**
 * Properties the standard WDK/SDK imports define as include folders. They name folders the open
 * toolchain provides itself (mingw-w64 headers), so entries made of only these are dropped.
 */
const TOOLCHAIN_INCLUDE_MACROS = new Set(
  [
    "IncludePath",
    "DDK_INC_PATH",
    "KM_IncludePath",
    "UM_IncludePath",
    "SDK_INC_PATH",
    "CRT_IncludePath",
    "KIT_SHARED_INC_PATH",
    "KIT_SHARED_IncludePath",
    "WindowsSDK_IncludePath",
    "VC_IncludePath",
    "UniversalCRT_IncludePath",
    "WDK_IncludePath",
    "IFSKIT_INC_PATH",
    "KIT_SHARED_INC_PATH_WDK",
    "WDK_UM_INC_PATH",
    "CRT_INC_PATH",
  ].map((s) => s.toLowerCase()),
);

/** Imports that are part of every C++ project; honoured by this evaluator's own defaults. */
const STANDARD_IMPORTS = [
  /^\$\(VCTargetsPath\)[\\/]Microsoft\.Cpp\.Default\.props$/i,
  /^\$\(VCTargetsPath\)[\\/]Microsoft\.Cpp\.props$/i,
  /^\$\(VCTargetsPath\)[\\/]Microsoft\.Cpp\.targets$/i,
];
/** Per-user property sheets (absent on a build machine: their `exists()` condition is false here). */
const USER_PROPS_IMPORT = /^\$\(UserRootDir\)[\\/]Microsoft\.Cpp\.\$\(Platform\)\.user\.props$/i;

/** ClCompile metadata that do not change what the open toolchain produces (diagnostics, IDE, MSVC-only codegen). */
const IGNORED_CLCOMPILE = new Set(
  [
    "EnablePREfast",
    "PREfastAdditionalOptions",
    "PREfastAdditionalPlugins",
    "PREfastLog",
    "PREfastRulesetFile",
    "SDLCheck",
    "ConformanceMode",
    "MultiProcessorCompilation",
    "ProcessorNumber",
    "MinimalRebuild",
    "BasicRuntimeChecks",
    "FunctionLevelLinking",
    "IntrinsicFunctions",
    "StringPooling",
    "SupportJustMyCode",
    "BufferSecurityCheck",
    "ControlFlowGuard",
    "GuardEHContMetadata",
    "SpectreMitigation",
    "ExceptionHandling",
    "ProgramDataBaseFileName",
    "ObjectFileName",
    "AssemblerListingLocation",
    "AssemblerOutput",
    "BrowseInformation",
    "BrowseInformationFile",
    "XMLDocumentationFileName",
    "GenerateXMLDocumentationFiles",
    "ErrorReporting",
    "DiagnosticsFormat",
    "SuppressStartupBanner",
    "UseFullPaths",
    "OmitFramePointers",
    "EnableFiberSafeOptimizations",
    "FavorSizeOrSpeed",
    "WholeProgramOptimization",
    "InlineFunctionExpansion",
    "RuntimeTypeInfo",
    "TreatWChar_tAsBuiltInType",
    "ForceConformanceInForLoopScope",
    "RemoveUnreferencedCodeData",
    "EnableParallelCodeGeneration",
    "SmallerTypeCheck",
    "ShowIncludes",
    "FloatingPointExceptions",
    "CreateHotpatchableImage",
    "ExpandAttributedSource",
    "ScanSourceForModuleDependencies",
    "TranslateIncludes",
    "ExternalWarningLevel",
    "ExternalTemplatesDiagnostics",
    "DisableAnalyzeExternal",
    "UseStandardPreprocessor",
    "EnforceTypeConversionRules",
    "ProgramDatabaseFileName",
    "PrecompiledHeaderOutputFile",
    "WppKernelMode",
    "WppEnabled",
    "WppRecorderEnabled",
    "WppScanConfigurationData",
    "WppMinimalRebuildFromTracking",
  ].map((s) => s.toLowerCase()),
);

/** Link metadata that do not change what the open toolchain produces. */
const IGNORED_LINK = new Set(
  [
    "AdditionalLibraryDirectories",
    "TreatLinkerWarningAsErrors",
    "OptimizeReferences",
    "EnableCOMDATFolding",
    "IgnoreAllDefaultLibraries",
    "IgnoreSpecificDefaultLibraries",
    "ProgramDatabaseFile",
    "GenerateMapFile",
    "MapFileName",
    "SuppressStartupBanner",
    "LinkTimeCodeGeneration",
    "RandomizedBaseAddress",
    "DataExecutionPrevention",
    "ImageHasSafeExceptionHandlers",
    "LinkErrorReporting",
    "ShowProgress",
    "Driver",
    "SetChecksum",
    "TargetMachine",
    "OutputFile",
    "ManifestFile",
    "GenerateManifest",
    "AllowIsolation",
    "EnableUAC",
    "UACExecutionLevel",
    "UACUIAccess",
    "CETCompat",
    "FullProgramDatabaseFile",
    "MinimumRequiredVersion",
    "SpectreMitigation",
  ].map((s) => s.toLowerCase()),
);

/** ItemDefinitionGroup tools whose settings only matter for items this evaluator rejects anyway. */
const IGNORED_TOOLS = new Set(
  [
    "Midl",
    "Lib",
    "Manifest",
    "ManifestResourceCompile",
    "DriverSign",
    "Inf",
    "Bscmake",
    "Xdcmake",
    "ProjectReference",
    "PackageValidation",
    "FilesToPackage",
    "Message",
    "MASM",
    "PostBuildEvent",
    "PreBuildEvent",
    "PreLinkEvent",
    "CustomBuildStep",
  ].map((s) => s.toLowerCase()),
);

/** Build-event-like tools: only an empty command is acceptable. */
const EVENT_TOOLS = new Set(["postbuildevent", "prebuildevent", "prelinkevent", "custombuildstep"]);

/** Item types read for their files, and item types that only describe files (never compiled). */
const PASSIVE_ITEMS = new Set(
  [
    "None",
    "Text",
    "Image",
    "Xml",
    "Natvis",
    "Font",
    "Content",
    "FilesToPackage",
    "ProjectCapability",
    "Filter",
    "CopyFileToFolders",
    "DriverFile",
    // INF files are packaging (stampinf/inf2cat), not compilation: the binaries are the same without them
    "Inf",
  ].map((s) => s.toLowerCase()),
);

/** Item types whose presence changes the build and which the open toolchain cannot honour. */
const UNSUPPORTED_ITEMS: Record<string, string> = {
  custombuild: "custom build tools (CustomBuild)",
  masm: "assembler sources (MASM)",
  marmasm: "assembler sources (MARMASM)",
  midl: "MIDL interface files (Midl)",
  library: "prebuilt libraries (Library items)",
  projectreference: "project references (ProjectReference): list the projects in a .sln instead",
  messagecompile: "message files (MessageCompile, .mc)",
  fxcompile: "shaders (FxCompile)",
  wpp: "WPP tracing",
  manifest: "application manifests (Manifest)",
  cudacompile: "CUDA sources",
};

const IGNORED_PROJECT_CHILDREN = new Set(["projectextensions"]);

/**
 * Read a .vcxproj: parse the XML, check the root element and the declared configurations.
 *
 * @param file path of the .vcxproj
 * @throws ProjectFormatError when the file is missing, not XML (with the line), or not an MSBuild project
 */
export function readVcxproj(file: string): VcxProject {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = decodeText(fs.readFileSync(abs));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") fail(abs, undefined, "project file not found");
    if (code === "EISDIR") fail(abs, undefined, "is a folder, not a project file");
    fail(abs, undefined, `cannot read the project file: ${(e as Error).message}`);
  }
  const root = parseXml(text, abs);
  if (root.name !== "Project")
    fail(abs, root.line, `root element is <${root.name}>, not <Project>: not an MSBuild project`);
  if (root.attributes.Sdk !== undefined) {
    fail(abs, root.line, `SDK-style projects (Sdk="${root.attributes.Sdk}") are not supported`, "Sdk");
  }
  const configurations: ProjectConfiguration[] = [];
  let projectGuid: string | undefined;
  for (const el of root.children) {
    if (el.name === "ItemGroup") {
      for (const it of el.children) {
        if (it.name !== "ProjectConfiguration") continue;
        const inc = it.attributes.Include ?? "";
        const [c, p, extra] = inc.split("|");
        if (!c || !p || extra !== undefined) {
          fail(abs, it.line, `ProjectConfiguration Include="${inc}" is not of the form Configuration|Platform`);
        }
        configurations.push({ configuration: c, platform: p });
      }
    } else if (el.name === "PropertyGroup" && el.attributes.Label === "Globals") {
      const g = el.children.find((x) => x.name === "ProjectGuid");
      if (g) projectGuid = g.text.trim().toUpperCase();
    }
  }
  return {
    file: abs,
    projectDir: path.dirname(abs),
    projectName: path.basename(abs).replace(/\.[^.]*$/, ""),
    projectGuid,
    configurations,
    root,
  };
}

/**
 * The text of a file as MSBuild and the Visual Studio tools read it: UTF-16 (little or big endian) when it starts
 * with that byte-order mark, else UTF-8 (a UTF-8 byte-order mark is kept as U+FEFF for the caller to skip).
 */
export function decodeText(buf: Buffer): string {
  if (buf.length >= 2 && buf[0] === 0xff && buf[1] === 0xfe) return buf.subarray(2).toString("utf16le");
  if (buf.length >= 2 && buf[0] === 0xfe && buf[1] === 0xff) {
    const swapped = Buffer.from(buf.subarray(2));
    swapped.swap16();
    return swapped.toString("utf16le");
  }
  return buf.toString("utf8");
}

/**
 * `p` as it exists on disk, matching each missing component in any letter case (Windows file systems are case
 * insensitive, so projects name files in any case). Returns `p` itself when it exists or nothing matches.
 */
export function resolveCaseInsensitive(p: string): string {
  const abs = path.resolve(p);
  if (fs.existsSync(abs)) return abs;
  const parts = abs.split(path.sep).filter((x) => x.length > 0);
  let cur: string = path.sep;
  for (const part of parts) {
    const exact = path.join(cur, part);
    if (fs.existsSync(exact)) {
      cur = exact;
      continue;
    }
    let names: string[];
    try {
      names = fs.readdirSync(cur);
    } catch {
      return abs;
    }
    const lower = part.toLowerCase();
    const match = names.filter((n) => n.toLowerCase() === lower).sort()[0];
    if (match === undefined) return abs;
    cur = path.join(cur, match);
  }
  return cur;
}

function emptySettings(): ClCompileSettings {
  return {
    additionalIncludeDirectories: [],
    preprocessorDefinitions: [],
    undefinePreprocessorDefinitions: [],
    forcedIncludeFiles: [],
    compileAs: "Default",
    optimization: "",
    runtimeLibrary: "",
    languageStandardC: "",
    languageStandard: "",
    precompiledHeader: "",
    precompiledHeaderFile: "",
    warningLevel: "",
    treatWarningAsError: false,
    disableSpecificWarnings: [],
    treatSpecificWarningsAsErrors: [],
    debugInformationFormat: "",
    additionalOptions: { text: "", line: 0 },
  };
}

/** Simple wildcard expansion (`*`, `?` in the last path component only). */
function expandWildcard(pattern: string, baseDir: string, file: string, line: number): string[] {
  const posix = toPosixPath(pattern);
  if (posix.includes("**")) fail(file, line, `recursive wildcards ('**' in ${pattern}) are not supported`, "wildcard");
  const dir = path.resolve(baseDir, path.dirname(posix));
  const last = path.basename(posix);
  if (/[*?]/.test(path.dirname(posix))) {
    fail(file, line, `wildcards in folder names (${pattern}) are not supported`, "wildcard");
  }
  const re = new RegExp(
    `^${last
      .split("")
      .map((ch) => (ch === "*" ? ".*" : ch === "?" ? "." : ch.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
      .join("")}$`,
    "i",
  );
  let names: string[] = [];
  try {
    names = fs.readdirSync(resolveCaseInsensitive(dir)).filter((n) => re.test(n));
  } catch {
    names = [];
  }
  return names.sort().map((n) => path.join(resolveCaseInsensitive(dir), n));
}

/**
 * Evaluate a project for one configuration and platform.
 *
 * @throws ProjectFormatError when the project lacks the configuration/platform, or uses an unsupported feature
 */
export function evaluateVcxproj(project: VcxProject, options: EvaluateOptions): VcxConfiguration {
  const { file, projectDir, projectName } = project;
  const { configuration, platform } = options;
  const declared = project.configurations;
  if (declared.length === 0) {
    fail(file, undefined, 'declares no ProjectConfiguration items (ItemGroup Label="ProjectConfigurations")');
  }
  if (!declared.some((c) => c.platform.toLowerCase() === platform.toLowerCase())) {
    const have = [...new Set(declared.map((c) => c.platform))].join(", ");
    fail(file, undefined, `the project has no platform '${platform}' (it has: ${have})`, "platform");
  }
  const match = declared.find(
    (c) =>
      c.configuration.toLowerCase() === configuration.toLowerCase() &&
      c.platform.toLowerCase() === platform.toLowerCase(),
  );
  if (!match) {
    const have = declared.map((c) => `${c.configuration}|${c.platform}`).join(", ");
    fail(
      file,
      undefined,
      `the project has no configuration '${configuration}|${platform}' (it has: ${have})`,
      "configuration",
    );
  }

  const slash = (d: string) => (d.endsWith("/") ? d : `${d}/`);
  const props: Props = new Map();
  const names = new Map<string, string>(); // lower -> first spelling
  const propLines = new Map<string, number>(); // lower -> line of the element that last set it
  const setProp = (name: string, value: string, undefinedRefs: string[] = [], line?: number) => {
    const key = name.toLowerCase();
    if (!names.has(key)) names.set(key, name);
    props.set(key, { value, undefinedRefs });
    if (line !== undefined) propLines.set(key, line);
  };
  // Global properties: a project cannot override them (MSBuild semantics).
  const globals = new Set<string>();
  const setGlobal = (name: string, value: string) => {
    setProp(name, value);
    globals.add(name.toLowerCase());
  };
  setGlobal("Configuration", match.configuration);
  setGlobal("Platform", match.platform);
  setGlobal("SolutionDir", slash(options.solutionDir ? path.resolve(options.solutionDir) : projectDir));
  if (options.solutionName !== undefined) setGlobal("SolutionName", options.solutionName);
  // Reserved MSBuild properties.
  setGlobal("MSBuildProjectDirectory", projectDir);
  setGlobal("MSBuildProjectFile", path.basename(file));
  setGlobal("MSBuildProjectName", projectName);
  setGlobal("MSBuildProjectExtension", path.extname(file));
  setGlobal("MSBuildProjectFullPath", file);
  setGlobal("MSBuildThisFileDirectory", slash(projectDir));
  setGlobal("MSBuildThisFile", path.basename(file));
  setGlobal("MSBuildThisFileName", projectName);
  setGlobal("MSBuildThisFileFullPath", file);
  // What Microsoft.Cpp.Default.props would define that projects commonly reference.
  setProp("ProjectDir", slash(projectDir));
  setProp("ProjectName", projectName);
  setProp("ProjectFileName", path.basename(file));
  setProp("ProjectPath", file);
  setProp("IncludePath", "");
  setProp("PlatformTarget", match.platform);
  // Microsoft.Cpp.Default.props: intermediate and output folders (relative to the project; generated files such as
  // MIDL or WPP headers would be there)
  setProp("IntDir", `${match.platform}\\${match.configuration}\\`);
  setProp(
    "OutDir",
    options.solutionDir
      ? `${slash(path.resolve(options.solutionDir))}${match.platform}/${match.configuration}/`
      : `${match.platform}\\${match.configuration}\\`,
  );
  for (const [k, v] of Object.entries(options.toolchainProperties ?? {})) setProp(k, v);

  const baseCtx = (line: number, what: string): ExpandContext => ({ file, line, props, what });
  const cond = (el: XmlElement): boolean => {
    const c = el.attributes.Condition;
    if (c === undefined) return true;
    return evaluateCondition(c, baseCtx(el.line, `Condition of <${el.name}>`), projectDir);
  };
  /** The condition of a metadata element: `%(Name)` and `%(Type.Name)` read the item's metadata so far. */
  const condMeta = (el: XmlElement, type: string, metadata: Map<string, string>): boolean => {
    const c = el.attributes.Condition;
    if (c === undefined) return true;
    const ctx = { ...baseCtx(el.line, `Condition of <${el.name}>`), metadata, metadataType: type };
    return evaluateCondition(c, ctx, projectDir);
  };

  // ---- pass 1: properties (and imports, in document order) ----
  const handleImport = (el: XmlElement) => {
    const proj = el.attributes.Project ?? "";
    if (STANDARD_IMPORTS.some((re) => re.test(proj))) return;
    if (!cond(el)) return;
    if (USER_PROPS_IMPORT.test(proj)) return; // only reached without an exists() condition
    fail(
      file,
      el.line,
      `Import of '${proj}' is not supported by the open toolchain (only the standard Microsoft.Cpp imports are); ` +
        "remove it or build with the adk toolchain",
      "Import",
    );
  };
  const propertyPass = (children: XmlElement[]) => {
    for (const el of children) {
      switch (el.name) {
        case "PropertyGroup":
          if (!cond(el)) break;
          for (const p of el.children) {
            if (p.children.length > 0) fail(file, p.line, `property <${p.name}> contains XML elements`);
            if (!cond(p)) continue;
            if (globals.has(p.name.toLowerCase())) continue;
            const v = expand(p.text.trim(), baseCtx(p.line, `property ${p.name}`));
            setProp(p.name, v.value, v.undefinedRefs, p.line);
          }
          break;
        case "Import":
          handleImport(el);
          break;
        case "ImportGroup":
          if (!cond(el)) break;
          for (const imp of el.children) {
            if (imp.name !== "Import") fail(file, imp.line, `<${imp.name}> inside <ImportGroup>`);
            handleImport(imp);
          }
          break;
        case "ItemGroup":
        case "ItemDefinitionGroup":
          break;
        case "Target":
          fail(
            file,
            el.line,
            `custom build target <Target Name="${el.attributes.Name ?? ""}"> is not supported`,
            "Target",
          );
          break;
        case "UsingTask":
          fail(file, el.line, "custom build tasks (UsingTask) are not supported", "UsingTask");
          break;
        case "Choose":
          fail(file, el.line, "<Choose>/<When> blocks are not supported", "Choose");
          break;
        default:
          if (!IGNORED_PROJECT_CHILDREN.has(el.name.toLowerCase())) {
            fail(file, el.line, `unknown element <${el.name}> in <Project>`, el.name);
          }
      }
    }
  };
  propertyPass(project.root.children);

  const prop = (name: string): string => props.get(name.toLowerCase())?.value ?? "";
  for (const [k, v] of Object.entries(options.derivedProperties?.(prop) ?? {})) {
    if (!propLines.has(k.toLowerCase())) setProp(k, v);
  }
  options.checkProperties?.(prop, (name) => propLines.get(name.toLowerCase()));
  const configurationTypeRaw = prop("ConfigurationType") || "Application";
  const configurationType = CONFIGURATION_TYPES.find((t) => t.toLowerCase() === configurationTypeRaw.toLowerCase());
  if (!configurationType) {
    fail(
      file,
      undefined,
      `unknown ConfigurationType '${configurationTypeRaw}' for ${configuration}|${platform} (known: ${CONFIGURATION_TYPES.join(", ")})`,
      "ConfigurationType",
    );
  }
  for (const [name, allowed] of [
    ["UseOfMfc", ["", "false"]],
    ["UseOfAtl", ["", "false"]],
    ["CLRSupport", ["", "false"]],
    ["EnableASAN", ["", "false"]],
    ["EnableFuzzer", ["", "false"]],
  ] as const) {
    const v = prop(name).toLowerCase();
    if (!(allowed as readonly string[]).includes(v)) {
      fail(file, undefined, `${name}=${prop(name)} is not supported by the open toolchain`, name);
    }
  }

  // Paths from lists: expand, split, map toolchain macros away, resolve.
  const pathList = (raw: string, line: number, what: string, metadata?: Map<string, string>): string[] => {
    const out: string[] = [];
    for (const entry of raw.split(";")) {
      const trimmed = entry.trim();
      if (trimmed === "") continue;
      const onlyMacro = /^\$\(([A-Za-z_][A-Za-z0-9_]*)\)[\\/]?$/.exec(trimmed);
      if (onlyMacro && TOOLCHAIN_INCLUDE_MACROS.has(onlyMacro[1]!.toLowerCase())) continue;
      const v = expand(trimmed, { file, line, props, metadata, what });
      const undef = v.undefinedRefs.filter((r) => !TOOLCHAIN_INCLUDE_MACROS.has(r.toLowerCase()));
      if (undef.length > 0) {
        fail(
          file,
          line,
          `${what} entry '${trimmed}' uses $(${undef[0]}), which is not defined for the open toolchain`,
          `$(${undef[0]})`,
        );
      }
      for (const part of splitList(v.value)) {
        if (isWindowsAbsolute(part)) {
          fail(file, line, `${what} entry '${part}' is an absolute Windows path, which cannot exist on this machine`);
        }
        out.push(resolveCaseInsensitive(path.resolve(projectDir, toPosixPath(part))));
      }
    }
    return out;
  };
  const includePath = pathList(prop("IncludePath"), project.root.line, "IncludePath");

  // ---- pass 2: item definitions ----
  const defs = new Map<string, Map<string, string>>(); // tool(lower) -> metadata(lower) -> value
  const defLines = new Map<string, number>();
  for (const el of project.root.children) {
    if (el.name !== "ItemDefinitionGroup" || !cond(el)) continue;
    for (const tool of el.children) {
      if (!cond(tool)) continue;
      const toolKey = tool.name.toLowerCase();
      if (
        toolKey !== "clcompile" &&
        toolKey !== "link" &&
        toolKey !== "resourcecompile" &&
        !IGNORED_TOOLS.has(toolKey)
      ) {
        fail(file, tool.line, `settings for tool <${tool.name}> are not supported by the open toolchain`, tool.name);
      }
      const current = defs.get(toolKey) ?? new Map<string, string>();
      if (toolKey === "link" && !current.has("additionaldependencies")) {
        // MSBuild's default libraries stay in the list for as long as it keeps %(AdditionalDependencies)
        current.set("additionaldependencies", "%(AdditionalDependencies)");
      }
      for (const m of tool.children) {
        if (!condMeta(m, tool.name, current)) continue;
        const key = m.name.toLowerCase();
        const what = `${tool.name}/${m.name}`;
        const raw = substituteMetadata(m.text.trim(), current, { file, line: m.line, what });
        current.set(key, raw);
        defLines.set(`${toolKey}/${key}`, m.line);
        const value = EVENT_TOOLS.has(toolKey) && key === "command" ? expand(raw, baseCtx(m.line, what)).value : "";
        if (value.trim() !== "") {
          fail(
            file,
            m.line,
            `${tool.name} with a command is not supported by the open toolchain (it would run '${value.trim().split(/\r?\n/)[0]}')`,
            tool.name,
          );
        }
      }
      defs.set(toolKey, current);
    }
  }
  const clDefs = defs.get("clcompile") ?? new Map<string, string>();
  const linkDefs = defs.get("link") ?? new Map<string, string>();
  const rcDefs = defs.get("resourcecompile") ?? new Map<string, string>();

  const checkClMetadata = (meta: Map<string, string>, lineOf: (key: string) => number) => {
    for (const [key, raw] of meta) {
      const line = lineOf(key);
      const value =
        key === "additionalincludedirectories" || key === "forcedincludefiles"
          ? raw
          : expand(raw, baseCtx(line, `ClCompile/${key}`)).value;
      if (IGNORED_CLCOMPILE.has(key)) {
        if ((key === "wppenabled" || key === "wpprecorderenabled") && value.toLowerCase() === "true") {
          const name = key === "wppenabled" ? "WppEnabled" : "WppRecorderEnabled";
          fail(
            file,
            line,
            `WPP software tracing (${name}=true) is not supported by the open toolchain (it has no tracewpp preprocessor); build this project with the adk toolchain (Visual Studio + WDK)`,
            name,
          );
        }
        continue;
      }
      switch (key) {
        case "additionalincludedirectories":
        case "preprocessordefinitions":
        case "undefinepreprocessordefinitions":
        case "forcedincludefiles":
        case "compileas":
        case "optimization":
        case "runtimelibrary":
        case "languagestandard_c":
        case "languagestandard":
        case "excludedfrombuild":
        case "precompiledheaderfile":
        case "additionaloptions": // mapped (or refused, naming the option) by the toolchain
        case "debuginformationformat":
        case "disablespecificwarnings":
        case "treatspecificwarningsaserrors":
          break;
        case "precompiledheader":
          if (!["", "create", "use", "notusing"].includes(value.trim().toLowerCase())) {
            fail(file, line, `PrecompiledHeader=${value} is not Create, Use or NotUsing`, "PrecompiledHeader");
          }
          break;
        case "warninglevel":
          if (!/^(|turnoffallwarnings|level[0-4]|enableallwarnings)$/i.test(value.trim())) {
            fail(file, line, `WarningLevel=${value} is not a warning level (Level1..Level4, ...)`, "WarningLevel");
          }
          break;
        case "treatwarningaserror":
          if (!/^(|true|false)$/i.test(value.trim())) {
            fail(file, line, `TreatWarningAsError=${value} is not true or false`, "TreatWarningAsError");
          }
          break;
        case "callingconvention":
          if (value !== "" && value.toLowerCase() !== "cdecl") {
            fail(file, line, `CallingConvention=${value} is not supported (x64/arm64 have one)`, "CallingConvention");
          }
          break;
        case "structmemberalignment":
          if (value !== "" && value.toLowerCase() !== "default") {
            fail(
              file,
              line,
              `StructMemberAlignment=${value} is not supported by the open toolchain`,
              "StructMemberAlignment",
            );
          }
          break;
        case "openmpsupport":
        case "enablemodules":
          if (value !== "" && value.toLowerCase() !== "false") {
            fail(file, line, `${key}=${value} is not supported by the open toolchain`, key);
          }
          break;
        default:
          if (value.trim() !== "") {
            fail(
              file,
              line,
              `ClCompile setting <${key}> is not supported by the open toolchain (it may change the compilation)`,
              key,
            );
          }
      }
    }
  };
  checkClMetadata(clDefs, (k) => defLines.get(`clcompile/${k}`) ?? project.root.line);
  for (const [key, raw] of linkDefs) {
    const line = defLines.get(`link/${key}`) ?? project.root.line;
    const value = expand(raw.replace(/%\(AdditionalDependencies\)/gi, ""), baseCtx(line, `Link/${key}`)).value;
    if (IGNORED_LINK.has(key)) continue;
    switch (key) {
      case "additionaldependencies":
      case "subsystem":
      case "entrypointsymbol":
      case "additionaloptions": // mapped (or refused, naming the option) by the toolchain
      case "generatedebuginformation":
        break;
      case "moduledefinitionfile":
      case "delayloaddlls":
      case "forcesymbolreferences":
      case "baseaddress":
      case "stackreservesize":
      case "stackcommitsize":
      case "sectionalignment":
      case "mergesections":
      case "specifysectionattributes":
        if (value.trim() !== "" && !/^%\([A-Za-z]+\)$/.test(value.trim())) {
          fail(file, line, `Link setting <${key}> is not supported by the open toolchain`, key);
        }
        break;
      default:
        if (value.trim() !== "") fail(file, line, `Link setting <${key}> is not supported by the open toolchain`, key);
    }
  }

  const warningNumbers = (text: string, line: number, what: string): number[] => {
    const out: number[] = [];
    for (const part of splitList(text)) {
      if (!/^\d+$/.test(part)) fail(file, line, `${what} entry '${part}' is not a warning number`, what);
      out.push(Number(part));
    }
    return out;
  };
  const settingsFrom = (
    meta: Map<string, string>,
    line: number,
    lineOf: (key: string) => number = () => line,
  ): ClCompileSettings => {
    const s = emptySettings();
    const raw = (k: string) => meta.get(k.toLowerCase()) ?? "";
    const get = (k: string) => expand(raw(k), baseCtx(line, `ClCompile/${k}`)).value;
    s.additionalIncludeDirectories = pathList(
      raw("AdditionalIncludeDirectories"),
      line,
      "AdditionalIncludeDirectories",
    );
    s.preprocessorDefinitions = splitList(get("PreprocessorDefinitions"));
    s.undefinePreprocessorDefinitions = splitList(get("UndefinePreprocessorDefinitions"));
    s.forcedIncludeFiles = pathList(raw("ForcedIncludeFiles"), line, "ForcedIncludeFiles");
    const compileAs = get("CompileAs");
    if (compileAs === "" || /^default$/i.test(compileAs)) s.compileAs = "Default";
    else if (/^compileasc$/i.test(compileAs)) s.compileAs = "CompileAsC";
    else if (/^compileascpp$/i.test(compileAs)) s.compileAs = "CompileAsCpp";
    else fail(file, line, `CompileAs=${compileAs} is not supported by the open toolchain`, "CompileAs");
    s.optimization = get("Optimization");
    s.runtimeLibrary = get("RuntimeLibrary");
    s.languageStandardC = get("LanguageStandard_C");
    s.languageStandard = get("LanguageStandard");
    s.precompiledHeader = get("PrecompiledHeader").trim();
    s.precompiledHeaderFile = get("PrecompiledHeaderFile").trim();
    s.warningLevel = get("WarningLevel").trim();
    s.treatWarningAsError = get("TreatWarningAsError").trim().toLowerCase() === "true";
    s.disableSpecificWarnings = warningNumbers(get("DisableSpecificWarnings"), line, "DisableSpecificWarnings");
    s.treatSpecificWarningsAsErrors = warningNumbers(
      get("TreatSpecificWarningsAsErrors"),
      line,
      "TreatSpecificWarningsAsErrors",
    );
    s.debugInformationFormat = get("DebugInformationFormat").trim();
    s.additionalOptions = {
      text: get("AdditionalOptions")
        .replace(/%\(AdditionalOptions\)/gi, "")
        .trim(),
      line: lineOf("additionaloptions"),
    };
    for (const d of s.preprocessorDefinitions) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*(=.*)?$/s.test(d)) {
        fail(file, line, `PreprocessorDefinitions entry '${d}' is not NAME or NAME=VALUE`, "PreprocessorDefinitions");
      }
    }
    return s;
  };
  // Validate the definitions once, even when no item uses them.
  const clDefLine = (k: string) => defLines.get(`clcompile/${k}`) ?? project.root.line;
  settingsFrom(clDefs, project.root.line, clDefLine);

  const RC_KNOWN = new Set([
    "additionalincludedirectories",
    "preprocessordefinitions",
    "undefinepreprocessordefinitions",
    "culture",
    "nullterminatestrings",
    "ignorestandardincludepath",
    "excludedfrombuild",
    "resourceoutputfilename",
    "showprogress",
    "suppressstartupbanner",
    "additionaloptions",
  ]);
  const rcSettingsFrom = (meta: Map<string, string>, lineOf: (key: string) => number): ResourceCompileSettings => {
    for (const [key, raw] of meta) {
      const line = lineOf(key);
      const value =
        key === "additionalincludedirectories" ? raw : expand(raw, baseCtx(line, `ResourceCompile/${key}`)).value;
      if (!RC_KNOWN.has(key) && value.trim() !== "") {
        fail(file, line, `ResourceCompile setting <${key}> is not supported by the open toolchain`, key);
      }
      if (key === "additionaloptions" && value.replace(/%\(AdditionalOptions\)/gi, "").trim() !== "") {
        fail(
          file,
          line,
          `resource compiler options (ResourceCompile AdditionalOptions '${value.trim()}') are not supported by the open toolchain`,
          "AdditionalOptions",
        );
      }
    }
    const get = (k: string) =>
      expand(meta.get(k.toLowerCase()) ?? "", baseCtx(lineOf(k.toLowerCase()), `ResourceCompile/${k}`)).value;
    const defs = splitList(get("PreprocessorDefinitions"));
    for (const d of defs) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*(=.*)?$/s.test(d)) {
        fail(
          file,
          lineOf("preprocessordefinitions"),
          `ResourceCompile PreprocessorDefinitions entry '${d}' is not NAME or NAME=VALUE`,
          "PreprocessorDefinitions",
        );
      }
    }
    return {
      additionalIncludeDirectories: pathList(
        meta.get("additionalincludedirectories") ?? "",
        lineOf("additionalincludedirectories"),
        "ResourceCompile AdditionalIncludeDirectories",
      ),
      preprocessorDefinitions: defs,
      undefinePreprocessorDefinitions: splitList(get("UndefinePreprocessorDefinitions")),
      culture: get("Culture").trim(),
      nullTerminateStrings: get("NullTerminateStrings").trim().toLowerCase() === "true",
      ignoreStandardIncludePath: get("IgnoreStandardIncludePath").trim().toLowerCase() === "true",
    };
  };
  const rcDefLine = (k: string) => defLines.get(`resourcecompile/${k}`) ?? project.root.line;
  rcSettingsFrom(rcDefs, rcDefLine);

  // ---- pass 3: items ----
  const sources: VcxSource[] = [];
  const resources: VcxResource[] = [];
  const excludedSources: string[] = [];
  const headers: string[] = [];
  const packageReferences: string[] = [];
  const itemsByType = new Map<string, string[]>();
  for (const group of project.root.children) {
    if (group.name !== "ItemGroup" || !cond(group)) continue;
    for (const item of group.children) {
      const type = item.name.toLowerCase();
      if (type === "projectconfiguration") continue;
      if (!cond(item)) continue;
      const include = item.attributes.Include;
      if (include === undefined) {
        if (item.attributes.Remove !== undefined || item.attributes.Update !== undefined) {
          fail(file, item.line, `<${item.name}> with Remove/Update is not supported`, "item Remove/Update");
        }
        fail(file, item.line, `<${item.name}> has no Include attribute`);
      }
      const ctx: ExpandContext = { file, line: item.line, props, what: `${item.name} Include` };
      const incExpanded = expand(include, ctx);
      let files: string[] = [];
      for (const part of splitList(incExpanded.value)) {
        if (/[*?]/.test(part)) files.push(...expandWildcard(part, projectDir, file, item.line));
        else files.push(isWindowsAbsolute(part) ? part : path.resolve(projectDir, toPosixPath(part)));
      }
      const exclude = item.attributes.Exclude;
      if (exclude !== undefined) {
        const drop = new Set<string>();
        for (const part of splitList(exclude)) {
          const ref = /^@\(([A-Za-z_][A-Za-z0-9_]*)\)$/.exec(part);
          if (ref) for (const f of itemsByType.get(ref[1]!.toLowerCase()) ?? []) drop.add(f);
          else {
            const ex = expand(part, { ...ctx, what: `${item.name} Exclude` }).value;
            for (const f of /[*?]/.test(ex) ? expandWildcard(ex, projectDir, file, item.line) : [ex]) {
              drop.add(path.resolve(projectDir, toPosixPath(f)));
            }
          }
        }
        files = files.filter((f) => !drop.has(f));
      }
      const seen = itemsByType.get(type) ?? [];
      seen.push(...files);
      itemsByType.set(type, seen);

      if (type === "clcompile") {
        if (incExpanded.undefinedRefs.length > 0) {
          fail(
            file,
            item.line,
            `ClCompile Include '${include}' uses $(${incExpanded.undefinedRefs[0]}), which is not defined`,
          );
        }
        const meta = new Map(clDefs);
        const lines = new Map<string, number>();
        for (const m of item.children) {
          if (!condMeta(m, item.name, meta)) continue;
          const key = m.name.toLowerCase();
          meta.set(
            key,
            substituteMetadata(m.text.trim(), meta, { file, line: m.line, what: `${item.name}/${m.name}` }),
          );
          lines.set(key, m.line);
        }
        checkClMetadata(new Map([...meta].filter(([k]) => lines.has(k))), (k) => lines.get(k) ?? item.line);
        const excluded =
          expand(meta.get("excludedfrombuild") ?? "", baseCtx(item.line, "ExcludedFromBuild")).value.toLowerCase() ===
          "true";
        const settings = settingsFrom(meta, item.line, (k) => lines.get(k) ?? clDefLine(k));
        for (const f of files) {
          if (isWindowsAbsolute(f)) fail(file, item.line, `source '${f}' is an absolute Windows path`);
          if (excluded) excludedSources.push(f);
          else sources.push({ file: resolveCaseInsensitive(f), include, line: item.line, settings });
        }
      } else if (type === "resourcecompile") {
        if (incExpanded.undefinedRefs.length > 0) {
          fail(
            file,
            item.line,
            `ResourceCompile Include '${include}' uses $(${incExpanded.undefinedRefs[0]}), which is not defined`,
          );
        }
        const meta = new Map(rcDefs);
        const lines = new Map<string, number>();
        for (const m of item.children) {
          if (!condMeta(m, item.name, meta)) continue;
          const key = m.name.toLowerCase();
          meta.set(
            key,
            substituteMetadata(m.text.trim(), meta, { file, line: m.line, what: `${item.name}/${m.name}` }),
          );
          lines.set(key, m.line);
        }
        const excluded =
          expand(meta.get("excludedfrombuild") ?? "", baseCtx(item.line, "ExcludedFromBuild")).value.toLowerCase() ===
          "true";
        const settings = rcSettingsFrom(meta, (k) => lines.get(k) ?? rcDefLine(k));
        for (const f of files) {
          if (isWindowsAbsolute(f)) fail(file, item.line, `resource script '${f}' is an absolute Windows path`);
          if (!excluded) resources.push({ file: resolveCaseInsensitive(f), include, line: item.line, settings });
        }
      } else if (type === "clinclude") {
        headers.push(...files.filter((f) => !isWindowsAbsolute(f)));
      } else if (type === "packagereference") {
        packageReferences.push(include);
      } else if (PASSIVE_ITEMS.has(type)) {
        // describes files only
      } else if (UNSUPPORTED_ITEMS[type] !== undefined) {
        if (files.length > 0) {
          fail(
            file,
            item.line,
            `${UNSUPPORTED_ITEMS[type]} are not supported by the open toolchain (<${item.name} Include="${include}">)`,
            item.name,
          );
        }
      } else {
        fail(file, item.line, `item type <${item.name}> is not supported by the open toolchain`, item.name);
      }
    }
  }

  const linkLine = (k: string) => defLines.get(`link/${k.toLowerCase()}`) ?? project.root.line;
  const linkGet = (k: string) => expand(linkDefs.get(k.toLowerCase()) ?? "", baseCtx(linkLine(k), `Link/${k}`)).value;
  const depsRaw = linkDefs.get("additionaldependencies") ?? "%(AdditionalDependencies)";
  const inheritsDefaultDependencies = /%\(AdditionalDependencies\)/i.test(depsRaw);
  const additionalDependencies = splitList(
    expand(
      depsRaw.replace(/%\(AdditionalDependencies\)/gi, ""),
      baseCtx(project.root.line, "Link/AdditionalDependencies"),
    ).value,
  );
  const targetName = prop("TargetName") || projectName;
  const targetExt = prop("TargetExt") || DEFAULT_TARGET_EXT[configurationType];
  if (/[\\/]/.test(targetName) || targetName === "." || targetName === "..") {
    fail(file, undefined, `TargetName '${targetName}' is not a plain file name`, "TargetName");
  }

  const properties: Record<string, string> = {};
  for (const key of [...props.keys()].sort()) properties[names.get(key) ?? key] = props.get(key)!.value;
  const propertyLines: Record<string, number> = {};
  for (const key of [...propLines.keys()].sort()) propertyLines[names.get(key) ?? key] = propLines.get(key)!;

  return {
    file,
    projectDir,
    projectName,
    projectGuid: project.projectGuid,
    configuration: match.configuration,
    platform: match.platform,
    configurationType,
    driverType: prop("DriverType"),
    targetName,
    targetExt,
    useDebugLibraries: prop("UseDebugLibraries").toLowerCase() === "true",
    characterSet: prop("CharacterSet"),
    targetVersion: prop("TargetVersion"),
    platformToolset: prop("PlatformToolset"),
    includePath,
    sources,
    resources,
    excludedSources,
    headers,
    link: {
      subsystem: linkGet("SubSystem"),
      generateDebugInformation: linkGet("GenerateDebugInformation").trim(),
      additionalOptions: {
        text: linkGet("AdditionalOptions")
          .replace(/%\(AdditionalOptions\)/gi, "")
          .trim(),
        line: linkLine("AdditionalOptions"),
      },
      additionalDependenciesLine: linkLine("AdditionalDependencies"),
      entryPointSymbol: linkGet("EntryPointSymbol"),
      additionalDependencies,
      inheritsDefaultDependencies,
    },
    packageReferences,
    properties,
    propertyLines,
  };
}

/**
 * Read and evaluate a .vcxproj in one step.
 *
 * @throws ProjectFormatError (see {@link readVcxproj} and {@link evaluateVcxproj})
 */
export function loadVcxproj(file: string, options: EvaluateOptions): VcxConfiguration {
  return evaluateVcxproj(readVcxproj(file), options);
}
