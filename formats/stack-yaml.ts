/**
 * A small, strict reader for Pulumi stack files (`stacks/Pulumi.<stack>.yaml`), for `winpe plan`, which reads a
 * stack's config without the Pulumi engine. No Pulumi imports, no YAML library.
 *
 * It reads the subset of YAML the stack files use, and refuses everything else with an error naming the file
 * and line (so nothing is silently misread):
 * - block mappings nested by indentation (spaces only; each level indented further than its parent);
 * - `key: value` with a plain key (`winpe-lab:iso`: a colon not followed by a space belongs to the key);
 * - scalars: plain (`D:\WinPE_amd64`, backslashes are literal), single-quoted (`'it''s'`) and double-quoted
 *   (`"a\tb"`, with the escapes `\\ \" \/ \n \t \r \0 \xXX \uXXXX`); plain `true`/`false` (any case), `null`/`~`
 *   and decimal numbers are typed as YAML 1.2's core schema types them, everything else is a string;
 * - full-line comments and ` #` comments after a value; blank lines; a leading `---`.
 * Refused: sequences (`- x`), flow collections (`{`, `[`), anchors/aliases/tags (`& * !`), block scalars
 * (`|`, `>`), multi-line scalars, tabs in indentation, duplicate keys, a key without a value at the end.
 *
 * A Pulumi secret is the mapping `{ secure: <ciphertext> }`; {@link pulumiRawConfig} hands each one to the
 * caller (`winpe plan` cannot decrypt them and shows `[secret]`).
 */
import * as fs from "node:fs";
import { WinpeError } from "../runtime/errors";

/** A YAML value of the supported subset. */
export type YamlValue = string | number | boolean | null | YamlMap;
/** A block mapping, keys in file order. */
export interface YamlMap {
  [key: string]: YamlValue;
}

/** A stack file that is not in the supported subset, or has no `config:` mapping; names the file and line. */
export class StackYamlError extends WinpeError {
  constructor(
    message: string,
    readonly file: string,
    readonly line?: number,
  ) {
    super(line !== undefined ? `${file}:${line}: ${message}` : `${file}: ${message}`);
    this.name = "StackYamlError";
  }
}

interface Line {
  no: number;
  indent: number;
  text: string;
}

/** Cut a ` #` comment off a plain value (quoted values are handled by their own scanners). */
function stripComment(text: string): string {
  const m = text.match(/(^|[ \t])#/);
  return (m ? text.slice(0, m.index) : text).trimEnd();
}

function parseDoubleQuoted(body: string, fail: (m: string) => never): string {
  let out = "";
  for (let i = 0; i < body.length; i++) {
    const ch = body[i]!;
    if (ch !== "\\") {
      out += ch;
      continue;
    }
    const e = body[++i];
    const simple: Record<string, string> = { "\\": "\\", '"': '"', "/": "/", n: "\n", t: "\t", r: "\r", "0": "\0" };
    if (e !== undefined && simple[e] !== undefined) out += simple[e];
    else if (e === "x" || e === "u") {
      const len = e === "x" ? 2 : 4;
      const hex = body.slice(i + 1, i + 1 + len);
      if (!new RegExp(`^[0-9A-Fa-f]{${len}}$`).test(hex)) fail(`bad \\${e} escape in a double-quoted string`);
      out += String.fromCharCode(Number.parseInt(hex, 16));
      i += len;
    } else fail(`unsupported escape '\\${e ?? ""}' in a double-quoted string`);
  }
  return out;
}

/** A quoted scalar at the start of `text`, and whatever follows it (only a comment may). */
function parseQuoted(text: string, fail: (m: string) => never): string {
  const q = text[0]!;
  let i = 1;
  let body = "";
  for (;;) {
    if (i >= text.length)
      fail(`unterminated ${q === "'" ? "single" : "double"}-quoted string (multi-line strings are not supported)`);
    const ch = text[i]!;
    if (q === "'" && ch === "'") {
      if (text[i + 1] === "'") {
        body += "'";
        i += 2;
        continue;
      }
      break;
    }
    if (q === '"' && ch === "\\") {
      body += ch + (text[i + 1] ?? "");
      i += 2;
      continue;
    }
    if (q === '"' && ch === '"') break;
    body += ch;
    i++;
  }
  const rest = text.slice(i + 1);
  if (rest.trim() !== "" && !/^[ \t]+#/.test(rest)) fail(`unexpected text after the quoted string: ${rest.trim()}`);
  return q === "'" ? body : parseDoubleQuoted(body, fail);
}

function parseScalar(raw: string, fail: (m: string) => never): YamlValue {
  const text = raw.trim();
  if (text.startsWith("'") || text.startsWith('"')) return parseQuoted(text, fail);
  const v = stripComment(text);
  if (v === "") fail("a value is missing");
  if (/^[[{]/.test(v)) fail("flow collections ({...}, [...]) are not supported: use indented mappings");
  if (/^[&*!]/.test(v)) fail("anchors, aliases and tags (&, *, !) are not supported");
  if (/^[|>]/.test(v)) fail("block scalars (| and >) are not supported");
  if (/^-( |$)/.test(v)) fail("sequences (- item) are not supported");
  if (/^(true|false)$/i.test(v)) return v.toLowerCase() === "true";
  if (/^(null|~)$/i.test(v)) return null;
  if (/^[-+]?\d+$/.test(v)) {
    const n = Number(v);
    if (Number.isSafeInteger(n)) return n;
    return v;
  }
  if (/^[-+]?(\d+\.\d*|\.\d+)([eE][-+]?\d+)?$/.test(v)) return Number(v);
  if (/: /.test(v) || v.endsWith(":")) fail(`a plain value must not contain ': ' (quote it): ${v}`);
  return v;
}

/**
 * Parse the text of a stack file (the subset described in the module comment).
 *
 * @param text - the file's content
 * @param file - the file name, for error messages
 * @returns the top-level mapping
 * @throws StackYamlError naming the file and line for anything outside the subset
 */
export function parseStackYaml(text: string, file = "<stack file>"): YamlMap {
  const lines: Line[] = [];
  const raw = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  raw.forEach((l, i) => {
    const no = i + 1;
    if (/^\s*(#.*)?$/.test(l)) return;
    if (no === 1 && l.trim() === "---") return;
    const indentText = l.match(/^[ \t]*/)![0];
    if (indentText.includes("\t"))
      throw new StackYamlError("tabs are not allowed in indentation: use spaces", file, no);
    lines.push({ no, indent: indentText.length, text: l.slice(indentText.length) });
  });
  let pos = 0;

  const parseMap = (indent: number): YamlMap => {
    const map: YamlMap = {};
    while (pos < lines.length) {
      const line = lines[pos]!;
      if (line.indent < indent) break;
      const fail = (m: string): never => {
        throw new StackYamlError(m, file, line.no);
      };
      if (line.indent > indent) fail("unexpected indentation");
      if (line.text === "---" || line.text === "...") fail("only one YAML document is supported");
      if (/^-( |$)/.test(line.text)) fail("sequences (- item) are not supported");
      if (/^[[{&*!|>'"?]/.test(line.text)) fail(`unsupported key syntax: ${line.text}`);
      const sep = line.text.search(/:( |$)/);
      if (sep <= 0) fail(`expected 'key: value' or 'key:' (got ${line.text})`);
      const key = line.text.slice(0, sep).trimEnd();
      const rest = line.text.slice(sep + 1);
      if (key.includes("#")) fail(`a key must not contain '#': ${key}`);
      if (Object.hasOwn(map, key)) fail(`duplicate key '${key}'`);
      pos++;
      if (rest.trim() === "" || /^[ \t]+#/.test(rest)) {
        const next = lines[pos];
        if (!next || next.indent <= indent) fail(`'${key}' has no value`);
        map[key] = parseMap(next.indent);
      } else {
        map[key] = parseScalar(rest, fail);
      }
    }
    return map;
  };

  if (lines.length === 0) return {};
  if (lines[0]!.indent !== 0)
    throw new StackYamlError("the top-level mapping must not be indented", file, lines[0]!.no);
  const doc = parseMap(0);
  if (pos < lines.length) throw new StackYamlError("unexpected indentation", file, lines[pos]!.no);
  return doc;
}

/** Read and parse a stack file; see {@link parseStackYaml}. */
export function readStackYaml(file: string): YamlMap {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new StackYamlError(
      `cannot read the stack file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      file,
    );
  }
  return parseStackYaml(text, file);
}

/** Whether a value is a Pulumi secret: the mapping `{ secure: "<ciphertext>" }`. */
export function isSecureValue(v: YamlValue | undefined): v is { secure: string } {
  return !!v && typeof v === "object" && Object.keys(v).length === 1 && typeof (v as YamlMap).secure === "string";
}

/**
 * The stack's config as Pulumi hands it to a program (`pulumi.runtime.allConfig()`): one string per top-level
 * config key, scalars as text (`"50005"`, `"true"`), mappings as JSON. Each secret is passed to `onSecure` with
 * its path (`["winpe-lab:kdnet", "key"]`), whose return value replaces it (`undefined` drops the key); throw
 * from `onSecure` to refuse it.
 *
 * @param doc - the parsed stack file
 * @param onSecure - what to put in place of each secret
 * @param file - the file name, for error messages
 * @returns the raw config map
 * @throws StackYamlError when `config` is missing or not a mapping
 */
export function pulumiRawConfig(
  doc: YamlMap,
  onSecure: (path: readonly string[]) => YamlValue | undefined,
  file = "<stack file>",
): Record<string, string> {
  const config = doc.config;
  if (config === undefined) throw new StackYamlError("the stack file has no 'config:' mapping", file);
  if (!config || typeof config !== "object" || isSecureValue(config)) {
    throw new StackYamlError("'config' must be a mapping of config keys", file);
  }
  const resolve = (v: YamlValue, at: string[]): YamlValue | undefined => {
    if (isSecureValue(v)) return onSecure(at);
    if (v && typeof v === "object") {
      const out: YamlMap = {};
      for (const [k, x] of Object.entries(v)) {
        const r = resolve(x, [...at, k]);
        if (r !== undefined) out[k] = r;
      }
      return out;
    }
    return v;
  };
  const raw: Record<string, string> = {};
  for (const [key, value] of Object.entries(config)) {
    const v = resolve(value, [key]);
    if (v === undefined) continue;
    raw[key] = v !== null && typeof v === "object" ? JSON.stringify(v) : String(v);
  }
  return raw;
}
