/**
 * The structure the code promises (DEVELOPERS.md, issue 15), checked on the source itself:
 * - every error class of winpe-lab extends the one base, WinpeError (runtime/errors.ts), directly or through
 *   another of ours;
 * - only resources/ (and the program's entry, index.ts) import Pulumi: formats/, runtime/, toolchains/, stack/ and
 *   cli/ know nothing of it;
 * - providers name no toolchain: no file of resources/ imports toolchains/adk/* or toolchains/open/* (every step
 *   goes through a backend that toolchains/index.ts picks).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "..");
const CODE_DIRS = ["resources", "stack", "formats", "runtime", "toolchains", "cli"];

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(ROOT, rel), { withFileTypes: true })) {
      const r = `${rel}/${e.name}`;
      if (e.isDirectory()) walk(r);
      else if (e.name.endsWith(".ts")) out.push(r);
    }
  };
  walk(dir);
  return out.sort();
}

const files = CODE_DIRS.flatMap(tsFiles);
const source = (f: string) => fs.readFileSync(path.join(ROOT, f), "utf8");

describe("code structure", () => {
  it("every error class extends WinpeError", () => {
    const classes = new Map<string, string>(); // class -> what it extends
    for (const f of files) {
      for (const m of source(f).matchAll(/class (\w+Error) extends (\w+)/g))
        if (m[1] !== "WinpeError") classes.set(m[1]!, `${m[2]} (${f})`);
    }
    expect(classes.size).toBeGreaterThan(15);
    const roots = [...classes].filter(([, base]) => {
      let b = base.split(" ")[0]!;
      for (let i = 0; i < 10 && b !== "WinpeError" && classes.has(b); i++) b = classes.get(b)!.split(" ")[0]!;
      return b !== "WinpeError";
    });
    expect(roots.map(([c, base]) => `${c} extends ${base}`)).toEqual([]);
  });

  it("only resources/ imports Pulumi", () => {
    const offenders = files
      .filter((f) => !f.startsWith("resources/"))
      .filter((f) => /from "@pulumi\/|require\("@pulumi\//.test(source(f).replace(/^\s*(\/\/|\*).*$/gm, "")));
    expect(offenders).toEqual([]);
  });

  it("providers name no toolchain: resources/ imports no toolchains/adk or toolchains/open module", () => {
    const offenders = files
      .filter((f) => f.startsWith("resources/"))
      .flatMap((f) =>
        [...source(f).matchAll(/(?:from |import\()"([^"]*toolchains\/(?:adk|open)\/[^"]*)"/g)].map(
          (m) => `${f}: ${m[1]}`,
        ),
      );
    expect(offenders).toEqual([]);
    // and the backends are there to be picked: every step's interface has both implementations
    const index = source("toolchains/index.ts");
    for (const b of ["image", "cert", "iso", "build", "vm"]) expect(index, b).toMatch(new RegExp(`${b}Backend\\(`));
  });
});
