/** The README stays true: its config reference names every key the schema accepts, and the two commands exist. */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { StackConfigSchema } from "../../stack/config";

const ROOT = path.resolve(__dirname, "..", "..");
const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");

/** Dotted keys of an object schema (nested objects expanded), e.g. `iso.path`. */
function keysOf(schema: z.ZodType, prefix = ""): string[] {
  let s: z.ZodType = schema;
  // unwrap defaults, optionals and refinements down to the object
  for (let i = 0; i < 10; i++) {
    const def = (s as unknown as { def: { type: string; innerType?: z.ZodType; in?: z.ZodType; schema?: z.ZodType } })
      .def;
    if (def.type === "default" || def.type === "optional" || def.type === "nullable") s = def.innerType as z.ZodType;
    else if (def.type === "pipe") s = def.in as z.ZodType;
    else break;
  }
  if (!(s instanceof z.ZodObject)) return [prefix];
  return Object.entries(s.shape).flatMap(([k, v]) => keysOf(v as z.ZodType, prefix ? `${prefix}.${k}` : k));
}

describe("README", () => {
  it("documents every stack config key", () => {
    const keys = keysOf(StackConfigSchema);
    expect(keys.length).toBeGreaterThan(15);
    for (const k of keys) expect(readme, k).toContain(`\`winpe-lab:${k}\``);
  });

  it("gives the two commands, and .ci/run calls the test command", () => {
    expect(readme).toContain("npm run demo");
    expect(readme).toContain("npm test");
    const ci = fs.readFileSync(path.join(ROOT, ".ci", "run"), "utf8");
    expect(ci).toMatch(/^npm test$/m);
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
    expect(pkg.scripts.demo).toBeDefined();
    expect(pkg.scripts.test).toBeDefined();
  });
});
