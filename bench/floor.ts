/**
 * The engine floor's plumbing: record the real stack's resource shapes (inputs and output values, with secret
 * values replaced by same-length placeholders), and open a scratch stack of bench/floor-program.ts on the same
 * engine, with the same environment, whose providers are bench/floor-provider.js.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import * as ts from "typescript";
import { writeProgram } from "../test/helpers/demo-stack";
import { openStack, REPO_ROOT, scratchDir } from "../test/helpers/pulumi";
import type { FloorShape } from "./floor-program";

const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** A secret's plaintext with every string replaced by `x`s of the same length (no key material leaves state). */
function placeholder(v: unknown): unknown {
  if (typeof v === "string") return "x".repeat(v.length);
  if (Array.isArray(v)) return v.map(placeholder);
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = placeholder(x);
    return out;
  }
  return v;
}

/** State values: a secret (`{sig, plaintext}`) becomes `{__secret: placeholder}` (`asSecret`) or the placeholder. */
function unwrap(v: unknown, asSecret: boolean): unknown {
  if (Array.isArray(v)) return v.map((x) => unwrap(x, asSecret));
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    if (SECRET_SIG in o) {
      const plain = typeof o.plaintext === "string" ? (JSON.parse(o.plaintext) as unknown) : "";
      return asSecret ? { __secret: placeholder(plain) } : placeholder(plain);
    }
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) out[k] = unwrap(x, asSecret);
    return out;
  }
  return v;
}

/** Write the shapes of `stack`'s winpe-lab resources to `file` (after a successful `up`). */
export async function captureShapes(stack: Stack, file: string): Promise<void> {
  const state = await stack.exportStack();
  const shapes: Record<string, FloorShape> = {};
  const resources = (state.deployment?.resources ?? []) as Array<Record<string, unknown>>;
  for (const r of resources) {
    const m = /^pulumi-nodejs:dynamic\/winpe-lab:(\w+)$/.exec(String(r.type));
    if (!m) continue;
    const inputs = { ...((r.inputs ?? {}) as Record<string, unknown>) };
    const outputs = (r.outputs ?? {}) as Record<string, unknown>;
    const prov = String(inputs.__provider ?? outputs.__provider ?? "");
    delete inputs.__provider;
    const impl = /implName: \\?"([\w-]+)\\?"/.exec(prov)?.[1] ?? "";
    const extraOutputs: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(outputs)) {
      if (k === "__provider" || k in inputs) continue;
      extraOutputs[k] = unwrap(v, false);
    }
    const urnName = String(r.urn).split("::").pop() ?? m[1];
    shapes[m[1]] = {
      impl,
      name: urnName,
      inputs: unwrap(inputs, true) as Record<string, unknown>,
      extraOutputs,
      secretOutputs: (r.additionalSecretOutputs as string[] | undefined) ?? [],
    };
  }
  const want = [
    "TestCertificate",
    "DriverBuild",
    "BcdSettings",
    "MountedImage",
    "InjectedFiles",
    "ImageCommit",
    "WinPeIso",
    "VmBootMedia",
  ];
  const missing = want.filter((k) => !shapes[k]?.impl);
  if (missing.length > 0) throw new Error(`bench: could not record the shapes of ${missing.join(", ")}`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(shapes, null, 1)}\n`);
}

export interface FloorStack {
  dir: string;
  stack: Stack;
  cleanup(): Promise<void>;
}

/** A scratch stack of the floor program (its own state backend), reading `shapesFile`. */
export async function openFloorStack(shapesFile: string, name: string): Promise<FloorStack> {
  const dir = scratchDir("bench-floor");
  const programDir = path.join(dir, "program");
  writeProgram(programDir, "winpe-floor"); // the same Pulumi.yaml as the real program's (`main: index.js`)
  // the floor program as compiled JS, like the real program (dist/): transpiled here, its provider shell from dist/
  const src = fs.readFileSync(path.join(REPO_ROOT, "bench", "floor-program.ts"), "utf8");
  const js = ts
    .transpileModule(src, {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    })
    .outputText.replace(
      /require\("\.\.\/resources\/providers\/shell"\)/,
      `require(${JSON.stringify(path.join(REPO_ROOT, "dist", "resources", "providers", "shell.js"))})`,
    );
  if (!js.includes(path.join("dist", "resources", "providers", "shell.js")))
    throw new Error("bench: the floor program no longer imports ../resources/providers/shell");
  fs.writeFileSync(path.join(programDir, "floor-program.js"), js);
  fs.writeFileSync(path.join(programDir, "index.js"), 'module.exports = require("./floor-program.js");\n');
  // the shells load `winpe-lab/providers/<impl>` by module resolution from the program folder: a package.json of
  // its own (so Node's self-reference to the checkout does not apply) and a node_modules/winpe-lab whose
  // providers/<impl>.js are the floor's immediate providers
  fs.writeFileSync(
    path.join(programDir, "package.json"),
    `${JSON.stringify({ name: "winpe-floor", private: true })}\n`,
  );
  const pkgDir = path.join(programDir, "node_modules", "winpe-lab");
  const provDir = path.join(pkgDir, "providers");
  fs.mkdirSync(provDir, { recursive: true });
  fs.writeFileSync(
    path.join(pkgDir, "package.json"),
    `${JSON.stringify({ name: "winpe-lab", private: true, exports: { "./providers/*": "./providers/*.js" } })}\n`,
  );
  const shapes = JSON.parse(fs.readFileSync(shapesFile, "utf8")) as Record<string, FloorShape>;
  const impl = path.join(REPO_ROOT, "bench", "floor-provider.js");
  for (const [kind, s] of Object.entries(shapes)) {
    fs.writeFileSync(
      path.join(provDir, `${s.impl}.js`),
      `module.exports = require(${JSON.stringify(impl)})(${JSON.stringify(kind)});\n`,
    );
  }
  const stack = await openStack(programDir, name, path.join(dir, "state"), {
    WINPE_FLOOR_SHAPES: shapesFile,
  });
  return {
    dir,
    stack,
    cleanup: async () => {
      await stack.workspace.removeStack(name, { force: true }).catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
