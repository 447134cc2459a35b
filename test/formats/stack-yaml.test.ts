/**
 * The strict reader of Pulumi stack files used by `winpe plan` (formats/stack-yaml.ts): the repo's own
 * stack files, the subset's scalars, Pulumi's raw config form, and refusals (with file and line) of everything
 * outside the subset.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import {
  isSecureValue,
  parseStackYaml,
  pulumiRawConfig,
  readStackYaml,
  StackYamlError,
} from "../../formats/stack-yaml";
import { parseStackConfig, rawConfigToObject } from "../../stack/config";

const STACKS = path.join(__dirname, "..", "..", "stacks");

describe("stack YAML reader (subset of YAML for stacks/Pulumi.<stack>.yaml)", () => {
  it("reads the x64 stack file as Pulumi would hand it to the program", () => {
    const doc = readStackYaml(path.join(STACKS, "Pulumi.x64.yaml"));
    const raw = pulumiRawConfig(doc, () => {
      throw new Error("no secret expected");
    });
    expect(raw).toEqual({
      "winpe-lab:toolchain": "adk",
      "winpe-lab:arch": "amd64",
      "winpe-lab:workspace": "D:\\WinPE_amd64",
      "winpe-lab:project": "examples\\ioctl\\ioctl.sln",
      "winpe-lab:configuration": "Debug",
      "winpe-lab:injectDir": "Windows\\Ioctl",
      "winpe-lab:bcd": '{"stores":"efi","testsigning":true,"debug":true}',
      "winpe-lab:kdnet": '{"hostIp":"192.168.0.10","port":50005}',
      "winpe-lab:iso": '{"path":"D:\\\\WinPE_amd64\\\\winpe_x64_debug.iso"}',
      "winpe-lab:vm": '{"name":"WinPE-x64","memoryMb":2048}',
    });
  });

  it("reads every stack file of the repo; secure values reach onSecure with their path", () => {
    for (const name of fs.readdirSync(STACKS).filter((n) => n.endsWith(".yaml"))) {
      const doc = readStackYaml(path.join(STACKS, name));
      const secrets: string[] = [];
      const raw = pulumiRawConfig(doc, (at) => {
        secrets.push(at.join("."));
        return "1.2.3.4";
      });
      const obj = rawConfigToObject(raw);
      // the adk stacks leave the KDNET key to `pulumi config set --secret`
      if (name === "Pulumi.x64.yaml" || name === "Pulumi.arm64.yaml")
        (obj.kdnet as Record<string, string>).key = "1.2.3.4";
      const config = parseStackConfig(obj);
      expect(["adk", "open"]).toContain(config.toolchain);
      if (name.startsWith("Pulumi.demo-")) {
        expect(secrets).toEqual(["winpe-lab:kdnet.key"]);
        expect(typeof doc.encryptionsalt).toBe("string");
        expect(config.kdnet?.key).toBe("1.2.3.4");
      } else {
        expect(secrets).toEqual([]);
      }
    }
  });

  it("types scalars as YAML 1.2's core schema does; quoted strings stay strings", () => {
    const doc = parseStackYaml(
      [
        "---",
        "# comment",
        "a: true",
        "b: False",
        "c: 50005",
        "d: -1.5",
        "e: null",
        "f: ~",
        "g: on",
        "h: '50005'",
        'i: "tab\\there \\u00e9 \\\\ \\"q\\""  # comment',
        "j: 'it''s # not a comment'",
        "k: value # a comment",
        "l: a#b",
        "m: D:\\WinPE_amd64\\x y",
        "n:",
        "  deeper:",
        "    secure: v1:abc:def",
        "  x: 1",
        "",
      ].join("\n"),
    );
    expect(doc).toEqual({
      a: true,
      b: false,
      c: 50005,
      d: -1.5,
      e: null,
      f: null,
      g: "on",
      h: "50005",
      i: 'tab\there é \\ "q"',
      j: "it's # not a comment",
      k: "value",
      l: "a#b",
      m: "D:\\WinPE_amd64\\x y",
      n: { deeper: { secure: "v1:abc:def" }, x: 1 },
    });
    expect(isSecureValue((doc.n as Record<string, never>).deeper)).toBe(true);
  });

  it("drops a secret when onSecure returns undefined, and needs a config mapping", () => {
    const doc = parseStackYaml("config:\n  other:key:\n    secure: v1:x\n  winpe-lab:arch: amd64\n");
    expect(pulumiRawConfig(doc, () => undefined)).toEqual({ "winpe-lab:arch": "amd64" });
    expect(() => pulumiRawConfig(parseStackYaml("a: 1\n"), () => undefined, "S.yaml")).toThrow(
      "S.yaml: the stack file has no 'config:' mapping",
    );
  });

  it.each([
    ["config:\n  - a\n", 2, /sequences/],
    ["config:\n  a: [1, 2]\n", 2, /flow collections/],
    ["config:\n  a: {b: 1}\n", 2, /flow collections/],
    ["config:\n  a: &x 1\n", 2, /anchors/],
    ["config:\n  a: |\n    text\n", 2, /block scalars/],
    ["config:\n\ta: 1\n", 2, /tabs/],
    ["config:\n  a: 1\n  a: 2\n", 3, /duplicate key 'a'/],
    ["config:\n  a: 1\n    b: 2\n", 3, /unexpected indentation/],
    ["config:\n  a: 'open\n", 2, /unterminated single-quoted/],
    ['config:\n  a: "x\\q"\n', 2, /unsupported escape/],
    ["config:\n  a: 'x' y\n", 2, /unexpected text after the quoted string/],
    ["config:\n  just text\n", 2, /expected 'key: value'/],
    ["config:\n  a: b: c\n", 2, /must not contain ': '/],
    ["config:\n", 1, /'config' has no value/],
    ["a: 1\n---\nb: 2\n", 2, /one YAML document/],
  ])("refuses %j at line %i", (text, line, message) => {
    let err: unknown;
    try {
      parseStackYaml(text, "P.yaml");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StackYamlError);
    expect((err as StackYamlError).line).toBe(line);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message.startsWith(`P.yaml:${line}: `)).toBe(true);
  });

  it("names the file when it cannot be read", () => {
    expect(() => readStackYaml("/nonexistent/Pulumi.x.yaml")).toThrow(
      /\/nonexistent\/Pulumi\.x\.yaml: cannot read the stack file \(ENOENT\)/,
    );
  });
});
