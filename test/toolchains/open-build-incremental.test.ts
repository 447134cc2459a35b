/**
 * Incremental builds of the open toolchain (toolchains/open/build.ts + build-cache.ts), with real clang/lld-link on
 * copies of examples/ioctl and of the pch and resources test projects. What ran is read from the tool log
 * (WINPE_TOOL_LOG, one line per tool run): an edit of one source compiles that unit and links that binary only; a
 * header edit compiles exactly the units that include it; a rebuild with nothing changed runs no tool and writes
 * nothing; the outputs are byte-identical to a clean build's; a corrupt cache entry is found and rebuilt; a build
 * killed while writing a cache entry leaves nothing that a later build uses; the cache stays within its limit.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256, sha256File } from "../../runtime/digest";
import { runTool, ToolError } from "../../runtime/exec";
import {
  type BuildInput,
  type BuildResult,
  buildProject,
  type PreviousOutput,
  resourceFileReferences,
} from "../../toolchains/open/build";
import { BuildCache } from "../../toolchains/open/build-cache";

const REPO = path.resolve(__dirname, "..", "..");
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "winpe-incremental-"));
const toolLog = path.join(scratch, "tools.jsonl");
let savedLog: string | undefined;

beforeAll(() => {
  savedLog = process.env.WINPE_TOOL_LOG;
  process.env.WINPE_TOOL_LOG = toolLog;
});
afterAll(() => {
  if (savedLog === undefined) delete process.env.WINPE_TOOL_LOG;
  else process.env.WINPE_TOOL_LOG = savedLog;
  fs.rmSync(scratch, { recursive: true, force: true });
});

interface ToolLine {
  tool: string;
  argv: string[];
  cwd: string;
}

function readLog(file = toolLog): ToolLine[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as ToolLine);
}

/** What ran, by kind. */
function summarize(lines: ToolLine[]) {
  // the project's translation units (compiled in the build's object folder, <tmp>/winpe-build-*/<n>-<project>),
  // not winpe-lab's own libraries (compiled once into the cache)
  const compiles = lines.filter(
    (l) => l.tool === "clang" && l.argv.includes("-c") && path.basename(path.dirname(l.cwd)).startsWith("winpe-build-"),
  );
  return {
    all: lines,
    /** source files compiled (clang -c): the argument before -o */
    compiled: compiles.map((l) => path.basename(l.argv[l.argv.indexOf("-o") - 1]!)).sort(),
    precompiles: lines.filter((l) => l.tool === "clang" && l.argv.some((a) => /^c(\+\+)?-header$/.test(a))).length,
    preprocessed: lines.filter((l) => l.tool === "clang" && l.argv.includes("-E")).length,
    rc: lines.filter((l) => l.tool === "llvm-rc").length,
    linked: lines
      .filter((l) => l.tool === "lld-link" && l.argv.some((a) => a.startsWith("/out:")))
      .map((l) => path.basename(l.argv.find((a) => a.startsWith("/out:"))!.slice(5)))
      .sort(),
  };
}

/** Run `f` and return what it did and the tools it ran. */
async function traced<T>(f: () => Promise<T>): Promise<{ value: T; tools: ReturnType<typeof summarize> }> {
  const mark = readLog().length;
  const value = await f();
  return { value, tools: summarize(readLog().slice(mark)) };
}

/** What a result left in outDir, as the next build's `previous`. */
function previousOf(r: BuildResult): PreviousOutput[] {
  return r.outputs.map((o) => ({
    path: o.path,
    sha256: o.sha256,
    linkKey: o.linkKey,
    pdb: o.pdb ? { path: o.pdb, sha256: r.symbols.find((s) => s.path === o.pdb)!.sha256 } : null,
  }));
}

/** Every file below `dir` with its sha256 (relative paths). */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (abs: string, rel: string) => {
    for (const e of fs.readdirSync(abs, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(abs, e.name), `${rel}${e.name}/`);
      else out[`${rel}${e.name}`] = sha256File(path.join(abs, e.name));
    }
  };
  walk(dir, "");
  return out;
}

/** Inode, modification time and sha256 of each file: what "not touched" means. */
function stamps(files: string[]): Record<string, string> {
  return Object.fromEntries(
    files.map((f) => {
      const st = fs.statSync(f, { bigint: true });
      return [f, `${st.ino}|${st.mtimeNs}|${sha256File(f)}`];
    }),
  );
}

function edit(file: string, from: string, to: string): void {
  const text = fs.readFileSync(file, "utf8");
  expect(text).toContain(from);
  fs.writeFileSync(file, text.replace(from, to));
}

/** A copy of a project folder under the scratch folder. */
function copy(from: string, tag: string): string {
  const dir = path.join(scratch, tag);
  fs.cpSync(from, dir, { recursive: true });
  return dir;
}

/**
 * A clean build: nothing cached (the cache folder moved aside for it: outputs name the cache's libraries by path,
 * so a clean build is one with the same cache folder, empty) and an empty output folder.
 */
async function cleanBuild(input: Omit<BuildInput, "outDir">, outDir: string): Promise<BuildResult> {
  const cacheDir = input.cacheDir!;
  const aside = `${cacheDir}.aside`;
  fs.renameSync(cacheDir, aside);
  try {
    const r = await buildProject({ ...input, outDir });
    expect(r.stats).toMatchObject({ cached: 0, reused: 0 });
    return r;
  } finally {
    fs.rmSync(cacheDir, { recursive: true, force: true });
    fs.renameSync(aside, cacheDir);
  }
}

/** Build, each time with what the last build of this tree left as `previous`. */
function builder(base: Omit<BuildInput, "outDir" | "previous">, outDir: string) {
  let last: BuildResult | undefined;
  const notices: string[] = [];
  return {
    notices,
    get last() {
      return last!;
    },
    async build(extra: Partial<BuildInput> = {}) {
      const t = await traced(() =>
        buildProject({
          ...base,
          outDir,
          previous: last ? previousOf(last) : undefined,
          onNotice: (m) => notices.push(m),
          ...extra,
        }),
      );
      last = t.value;
      return t;
    },
  };
}

describe("examples/ioctl, x64 Debug: what an edit rebuilds", () => {
  const src = copy(path.join(REPO, "examples", "ioctl"), "ioctl");
  const cacheDir = path.join(scratch, "cache-ioctl");
  const outDir = path.join(scratch, "out-ioctl");
  const b = builder(
    { project: path.join(src, "ioctl.sln"), configuration: "Debug", platform: "x64", cacheDir, resource: "test" },
    outDir,
  );
  const app = () => [path.join(outDir, "ioctlapp.exe"), path.join(outDir, "ioctlapp.pdb")];
  const drv = () => [path.join(outDir, "sioctl.sys"), path.join(outDir, "sioctl.pdb")];

  it("a cold build compiles and links everything", async () => {
    const { value, tools } = await b.build();
    expect(tools.compiled).toEqual(expect.arrayContaining(["ioctlapp.c", "sioctl.c"]));
    expect(tools.linked).toEqual(["ioctlapp.exe", "sioctl.sys"]);
    expect(value.stats).toMatchObject({ linked: 2, reused: 0 });
    expect(value.outputs.every((o) => !o.reused && /^[0-9a-f]{64}$/.test(o.linkKey))).toBe(true);
  });

  it("a rebuild with nothing changed runs no tool at all and leaves outDir untouched", async () => {
    const before = stamps([...drv(), ...app()]);
    const hash = b.last.inputsHash;
    const { value, tools } = await b.build();
    expect(tools.all).toEqual([]);
    expect(value.stats).toEqual({ compiled: 0, cached: 2, linked: 0, reused: 2, repaired: 0 });
    expect(value.outputs.every((o) => o.reused)).toBe(true);
    expect(value.inputsHash).toBe(hash);
    expect(stamps([...drv(), ...app()])).toEqual(before);
  });

  it("a .c edit: exactly one compile (that unit) and one link (that binary); the app's files untouched", async () => {
    const appBefore = stamps(app());
    const drvBefore = stamps(drv());
    edit(path.join(src, "sys", "sioctl.c"), '"Debug build"', '"Debug build (incremental 1)"');
    const { value, tools } = await b.build();
    expect(tools.compiled).toEqual(["sioctl.c"]);
    expect(tools.linked).toEqual(["sioctl.sys"]);
    expect(tools.all.map((l) => l.tool).sort()).toEqual(["clang", "lld-link", "llvm-readobj"]);
    expect(stamps(app())).toEqual(appBefore);
    expect(stamps(drv())).not.toEqual(drvBefore);
    expect(fs.readFileSync(drv()[0]!).includes(Buffer.from("(incremental 1)"))).toBe(true);
    expect(value.outputs.find((o) => o.path === app()[0])?.reused).toBe(true);
  });

  it("a header edit compiles exactly the units that include it, in every project; links what changed", async () => {
    const appBefore = stamps(app());
    const drvBefore = stamps(drv());
    const pub = path.join(src, "inc", "public.h");
    // inc/public.h: both projects include it; the device name is used by the driver only
    edit(pub, '\\\\SIOCTL"', '\\\\SIOCTL2"');
    let t = await b.build();
    expect(t.tools.compiled).toEqual(["ioctlapp.c", "sioctl.c"]);
    expect(t.tools.linked).toEqual(["sioctl.sys"]);
    expect(stamps(app())).toEqual(appBefore);
    // the service name is used by the app only
    edit(pub, '"SIoctl"', '"SIoctl2"');
    t = await b.build();
    expect(t.tools.compiled).toEqual(["ioctlapp.c", "sioctl.c"]);
    expect(t.tools.linked).toEqual(["ioctlapp.exe"]);
    expect(stamps(drv())).not.toEqual(drvBefore);
    // a new header in the driver's project folder (it could shadow another): that project's units compile again,
    // their objects are the same, nothing is linked
    const appNow = stamps(app());
    const drvNow = stamps(drv());
    fs.writeFileSync(path.join(src, "sys", "winpe-lab-new.h"), "#define WINPE_LAB_NEW 1\n");
    t = await b.build();
    expect(t.tools.compiled).toEqual(["sioctl.c"]);
    expect(t.tools.linked).toEqual([]);
    expect(stamps([...app(), ...drv()])).toEqual({ ...appNow, ...drvNow });
  });

  it("an edit and its undo: the undo comes from the cache (no compile), and links the earlier binary again", async () => {
    const file = path.join(src, "sys", "sioctl.c");
    const original = fs.readFileSync(file);
    const before = sha256File(drv()[0]!);
    edit(file, "(incremental 1)", "(incremental 2)");
    let t = await b.build();
    expect(t.tools.compiled).toEqual(["sioctl.c"]);
    fs.writeFileSync(file, original);
    t = await b.build();
    expect(t.tools.compiled).toEqual([]);
    expect(t.tools.linked).toEqual(["sioctl.sys"]);
    expect(sha256File(drv()[0]!)).toBe(before);
  });

  it("an output altered or a PDB deleted in outDir: that binary is linked again, from the cache", async () => {
    fs.rmSync(app()[1]!);
    const t = await b.build();
    expect(t.tools.compiled).toEqual([]);
    expect(t.tools.linked).toEqual(["ioctlapp.exe"]);
    expect(fs.existsSync(app()[1]!)).toBe(true);
  });

  it("the incremental outputs are byte-identical to a clean build's (empty cache, empty outDir)", async () => {
    const clean = path.join(scratch, "out-ioctl-clean");
    const r = await cleanBuild(
      { project: path.join(src, "ioctl.sln"), configuration: "Debug", platform: "x64", cacheDir },
      clean,
    );
    expect(r.stats).toMatchObject({ cached: 0, compiled: 2, linked: 2 });
    expect(tree(outDir)).toEqual(tree(clean));
    expect(r.inputs).toEqual(b.last.inputs);
    expect(r.inputsHash).toBe(b.last.inputsHash);
    expect(r.outputs.map((o) => o.linkKey)).toEqual(b.last.outputs.map((o) => o.linkKey));
  });

  it("a second process with the same cache runs no tool: no toolchain probe, no export-list read", async () => {
    const childLog = path.join(scratch, "child-tools.jsonl");
    const script = `
      const { buildProject } = require(${JSON.stringify(path.join(REPO, "dist", "toolchains", "open", "build.js"))});
      buildProject(JSON.parse(process.env.BUILD_INPUT)).then(
        (r) => console.log(JSON.stringify(r.stats)),
        (e) => { console.error(e); process.exit(1); },
      );`;
    const input = {
      project: path.join(src, "ioctl.sln"),
      configuration: "Debug",
      platform: "x64",
      outDir,
      cacheDir,
      previous: previousOf(b.last),
    };
    const r = await runTool(process.execPath, ["-e", script], {
      env: { WINPE_TOOL_LOG: childLog, BUILD_INPUT: JSON.stringify(input) },
    });
    expect(JSON.parse(r.stdout)).toMatchObject({ compiled: 0, linked: 0, reused: 2 });
    expect(readLog(childLog)).toEqual([]);
  });
});

describe("corrupt cache entries are found and rebuilt", () => {
  const src = copy(path.join(REPO, "examples", "ioctl"), "ioctl-corrupt");
  const cacheDir = path.join(scratch, "cache-corrupt");
  const input = { project: path.join(src, "ioctl.sln"), configuration: "Debug", platform: "x64", cacheDir } as const;
  let reference: Record<string, string>;

  /** The cache entry (manifest and result) of the unit compiled from `source`. */
  function entryOf(source: string): { manifest: string; blob: string } {
    const dir = path.join(cacheDir, "manifests");
    for (const n of fs.readdirSync(dir)) {
      const m = JSON.parse(fs.readFileSync(path.join(dir, n), "utf8")) as {
        entries: Array<{ sha256: string; deps: Array<{ path: string }> }>;
      };
      if (m.entries[0]!.deps.some((d) => d.path === source)) {
        return { manifest: path.join(dir, n), blob: path.join(cacheDir, "objects", `${m.entries[0]!.sha256}.blob`) };
      }
    }
    throw new Error(`no cache entry for ${source}`);
  }

  beforeAll(async () => {
    await buildProject({ ...input, outDir: path.join(scratch, "corrupt-0") });
    reference = tree(path.join(scratch, "corrupt-0"));
  });

  it.each([
    ["truncated", (b: Buffer) => b.subarray(0, b.length >> 1)],
    ["altered (same size)", (b: Buffer) => Buffer.from(b.map((x, i) => (i === b.length >> 1 ? x ^ 0xff : x)))],
  ])("an object %s: reported, compiled again, the outputs as before", async (what, damage) => {
    const { blob } = entryOf(path.join(src, "exe", "ioctlapp.c"));
    fs.writeFileSync(blob, damage(fs.readFileSync(blob)));
    const notices: string[] = [];
    const outDir = path.join(scratch, `corrupt-${what.replace(/\W+/g, "-")}`);
    const { value, tools } = await traced(() => buildProject({ ...input, outDir, onNotice: (m) => notices.push(m) }));
    expect(notices.join("\n")).toMatch(/build cache: entry .*\.blob is corrupt .*rebuilt/);
    expect(tools.compiled).toEqual(["ioctlapp.c"]);
    expect(value.stats).toMatchObject({ repaired: 1, compiled: 1, cached: 1, linked: 2 });
    expect(tree(outDir)).toEqual(reference);
    // the entry is whole again
    expect(sha256File(entryOf(path.join(src, "exe", "ioctlapp.c")).blob)).toBe(
      path.basename(entryOf(path.join(src, "exe", "ioctlapp.c")).blob, ".blob"),
    );
  });

  it("an unreadable manifest: reported, the unit compiled again", async () => {
    const { manifest } = entryOf(path.join(src, "sys", "sioctl.c"));
    fs.writeFileSync(manifest, '{"entries": [{"deps": ');
    const notices: string[] = [];
    const outDir = path.join(scratch, "corrupt-manifest");
    const { tools } = await traced(() => buildProject({ ...input, outDir, onNotice: (m) => notices.push(m) }));
    expect(notices.join("\n")).toMatch(/manifest .* is unreadable \(corrupt entry\)/);
    expect(tools.compiled).toEqual(["sioctl.c"]);
    expect(tree(outDir)).toEqual(reference);
  });

  it("a corrupt import library in the cache: reported and made again", async () => {
    const lib = fs
      .readdirSync(cacheDir)
      .filter((d) => d.startsWith("implib-x64-"))
      .map((d) => path.join(cacheDir, d, "ntoskrnl.lib"))
      .find((f) => fs.existsSync(f))!;
    fs.truncateSync(lib, 100);
    const notices: string[] = [];
    const outDir = path.join(scratch, "corrupt-lib");
    const { tools } = await traced(() => buildProject({ ...input, outDir, onNotice: (m) => notices.push(m) }));
    expect(notices.join("\n")).toMatch(/ntoskrnl\.lib is corrupt .*made again/);
    expect(tools.all.filter((l) => l.tool === "llvm-dlltool")).toHaveLength(1);
    expect(tree(outDir)).toEqual(reference);
  });
});

describe("a build killed while writing a cache entry", () => {
  const HOOK = `"use strict";
// test only: pause a write into the build cache, so the test can kill the process there
const fs = require("node:fs");
const dir = process.env.HOOK_DIR, mode = process.env.HOOK_MODE, signal = process.env.HOOK_SIGNAL;
const pause = () => { fs.writeFileSync(signal, String(process.pid)); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 600000); };
if (mode === "rename") {
  const rename = fs.renameSync;
  fs.renameSync = function (from, to) { if (String(to).startsWith(dir)) pause(); return rename.apply(this, arguments); };
}
if (mode === "torn") {
  const write = fs.writeSync;
  fs.writeSync = function (fd, buf, off, len) {
    let p = "";
    try { p = fs.readlinkSync("/proc/self/fd/" + fd); } catch {}
    if (p.startsWith(dir) && typeof len === "number" && len > 1) { const n = write.call(this, fd, buf, off, len >> 1); pause(); return n; }
    return write.apply(this, arguments);
  };
}
`;
  const cases = [
    { name: "mid-write of an object (torn temporary file)", mode: "torn", dir: "objects" },
    { name: "before the object's rename (complete temporary file)", mode: "rename", dir: "objects" },
    { name: "before the manifest's rename (object stored, no manifest)", mode: "rename", dir: "manifests" },
  ];
  for (const [i, c] of cases.entries()) {
    it(`${c.name}: no half entry is used; the next build compiles that unit and matches a clean build`, async () => {
      const src = copy(path.join(REPO, "examples", "ioctl"), `ioctl-kill-${i}`);
      const cacheDir = path.join(scratch, `cache-kill-${i}`);
      const input = {
        project: path.join(src, "ioctl.sln"),
        configuration: "Debug",
        platform: "x64",
        cacheDir,
      } as const;
      await buildProject({ ...input, outDir: path.join(scratch, `kill-${i}-warm`) });
      edit(path.join(src, "sys", "sioctl.c"), '"Debug build"', `"Debug build (kill ${i})"`);
      const hook = path.join(scratch, `hook-${i}.js`);
      const signal = path.join(scratch, `hook-${i}.signal`);
      fs.writeFileSync(hook, HOOK);
      const script = `require(${JSON.stringify(path.join(REPO, "dist", "toolchains", "open", "build.js"))})
        .buildProject(JSON.parse(process.env.BUILD_INPUT)).then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });`;
      const abort = new AbortController();
      const child = runTool(process.execPath, ["--require", hook, "-e", script], {
        env: {
          WINPE_TOOL_LOG: path.join(scratch, `kill-${i}-tools.jsonl`),
          BUILD_INPUT: JSON.stringify({ ...input, outDir: path.join(scratch, `kill-${i}-killed`) }),
          HOOK_DIR: path.join(cacheDir, c.dir),
          HOOK_MODE: c.mode,
          HOOK_SIGNAL: signal,
        },
        signal: abort.signal,
      });
      const deadline = Date.now() + 180_000;
      while (!fs.existsSync(signal)) {
        if (Date.now() > deadline) throw new Error("the build never reached the cache write");
        await Promise.race([child.catch(() => undefined), new Promise((r) => setTimeout(r, 100))]);
      }
      const pid = Number(fs.readFileSync(signal, "utf8"));
      abort.abort(); // SIGKILL while the write is paused
      await expect(child).rejects.toBeInstanceOf(ToolError);
      expect(() => process.kill(pid, 0)).toThrow();
      expect(fs.existsSync(path.join(scratch, `kill-${i}-killed`))).toBe(false);

      // the killed writer left a temporary file (the kill was inside the write), never an entry under its name
      const leftovers = fs.readdirSync(path.join(cacheDir, c.dir)).filter((n) => n.startsWith(".winpe-tmp-"));
      expect(leftovers.length).toBe(1);
      for (const n of fs.readdirSync(path.join(cacheDir, "objects")).filter((x) => x.endsWith(".blob"))) {
        expect(sha256File(path.join(cacheDir, "objects", n))).toBe(n.slice(0, -".blob".length));
      }

      const outDir = path.join(scratch, `kill-${i}-after`);
      const { value, tools } = await traced(() => buildProject({ ...input, outDir }));
      expect(tools.compiled).toEqual(["sioctl.c"]);
      expect(value.stats).toMatchObject({ compiled: 1, cached: 1, repaired: 0 });
      // the stale temporary file of the dead writer is gone
      expect(fs.readdirSync(path.join(cacheDir, c.dir)).filter((n) => n.startsWith(".winpe-tmp-"))).toEqual([]);
      const clean = path.join(scratch, `kill-${i}-clean`);
      await cleanBuild(input, clean);
      expect(tree(outDir)).toEqual(tree(clean));
    });
  }
});

describe("precompiled headers and resource scripts", () => {
  it("pch: a forced include recompiles its one unit; the precompiled header is built only for a Use unit that misses", async () => {
    const src = copy(path.join(REPO, "test", "fixtures", "projects", "pch"), "pch");
    const outDir = path.join(scratch, "out-pch");
    const b = builder(
      {
        project: path.join(src, "pchapp.vcxproj"),
        configuration: "Debug",
        platform: "x64",
        cacheDir: path.join(scratch, "cache-pch"),
      },
      outDir,
    );
    let t = await b.build();
    expect(t.tools.compiled).toEqual(["main.c", "other.c", "pch.c"]);
    expect(t.tools.precompiles).toBe(1);
    // forced.h is included by other.c only (ForcedIncludeFiles): no precompiled header needed
    edit(path.join(src, "forced.h"), "FORCED_VALUE 7", "FORCED_VALUE 8");
    t = await b.build();
    expect(t.tools.compiled).toEqual(["other.c"]);
    expect(t.tools.precompiles).toBe(0);
    // main.c uses the precompiled header: it is made again for that compile
    fs.appendFileSync(path.join(src, "main.c"), "\n/* edited */\n");
    t = await b.build();
    expect(t.tools.compiled).toEqual(["main.c"]);
    expect(t.tools.precompiles).toBe(1);
    // pch.h: the unit that creates it and the unit that uses it; not other.c
    edit(path.join(src, "pch.h"), "PCH_MAGIC 42", "PCH_MAGIC 43");
    t = await b.build();
    expect(t.tools.compiled).toEqual(["main.c", "pch.c"]);
    expect(t.tools.precompiles).toBe(1);
    t = await b.build();
    expect(t.tools.all).toEqual([]);
    const clean = path.join(scratch, "out-pch-clean");
    await cleanBuild(
      {
        project: path.join(src, "pchapp.vcxproj"),
        configuration: "Debug",
        platform: "x64",
        cacheDir: path.join(scratch, "cache-pch"),
      },
      clean,
    );
    expect(tree(outDir)).toEqual(tree(clean));
  });

  it("resources: a script comes from the cache; a file it names (RCDATA payload) and its header are dependencies", async () => {
    const src = copy(path.join(REPO, "test", "fixtures", "projects", "resources"), "res");
    const outDir = path.join(scratch, "out-res");
    const b = builder(
      {
        project: path.join(src, "resources.sln"),
        configuration: "Debug",
        platform: "x64",
        cacheDir: path.join(scratch, "cache-res"),
      },
      outDir,
    );
    let t = await b.build();
    expect(t.tools.rc).toBe(2);
    expect(b.last.inputs.map((i) => i.path)).toContain(path.join(src, "drv", "payload.bin"));
    // the RCDATA file: only the driver's script is compiled again, no C source
    fs.appendFileSync(path.join(src, "drv", "payload.bin"), "more payload");
    t = await b.build();
    expect(t.tools).toMatchObject({ compiled: [], rc: 1, preprocessed: 1, linked: ["resdrv.sys"] });
    expect(fs.readFileSync(path.join(outDir, "resdrv.sys")).includes(Buffer.from("more payload"))).toBe(true);
    // a header the script includes
    edit(path.join(src, "inc", "resdrv-version.h"), "(flavor 2)", "(flavor 2, edited)");
    t = await b.build();
    expect(t.tools).toMatchObject({ compiled: [], rc: 1, linked: ["resdrv.sys"] });
    // a comment there: compiled again, the same resources, nothing linked
    fs.appendFileSync(path.join(src, "inc", "resdrv-version.h"), "\n/* edited */\n");
    t = await b.build();
    expect(t.tools).toMatchObject({ compiled: [], rc: 1, linked: [] });
    t = await b.build();
    expect(t.tools.all).toEqual([]);
    const clean = path.join(scratch, "out-res-clean");
    await cleanBuild(
      {
        project: path.join(src, "resources.sln"),
        configuration: "Debug",
        platform: "x64",
        cacheDir: path.join(scratch, "cache-res"),
      },
      clean,
    );
    expect(tree(outDir)).toEqual(tree(clean));
  });

  it("resourceFileReferences finds quoted and bare file names in the script's folder and include folders", () => {
    const dir = path.join(scratch, "rcrefs");
    fs.mkdirSync(path.join(dir, "inc", "res"), { recursive: true });
    fs.writeFileSync(path.join(dir, "App.ico"), "icon");
    fs.writeFileSync(path.join(dir, "inc", "res", "data.bin"), "data");
    const text = [
      '#line 1 "x.rc"',
      "IDI_APP ICON app.ico",
      'DATA RCDATA "res\\\\data.bin"',
      'STRINGTABLE BEGIN 1 "not a file.txt" END',
      'VS_VERSION_INFO VERSIONINFO FILEVERSION 1,0,0,0 BEGIN VALUE "FileVersion", "1.0.0.0" END',
    ].join("\n");
    expect(resourceFileReferences(text, [dir, path.join(dir, "inc")])).toEqual(
      [path.join(dir, "App.ico"), path.join(dir, "inc", "res", "data.bin")].sort(),
    );
  });
});

describe("the cache's bound", () => {
  it("prune removes the least recently used entries beyond the limit, down to three quarters of it", () => {
    const root = path.join(scratch, "cache-bound");
    const cache = new BuildCache(root, { maxBytes: 4000 });
    const work = path.join(scratch, "bound-work");
    fs.mkdirSync(work, { recursive: true });
    const dep = path.join(work, "dep.h");
    fs.writeFileSync(dep, "dep");
    const keys: string[] = [];
    for (let i = 0; i < 4; i++) {
      const f = path.join(work, `r${i}`);
      fs.writeFileSync(f, Buffer.alloc(1000, i));
      keys.push(BuildCache.key({ i }));
      cache.store(keys[i]!, [dep], f);
    }
    // oldest first: 0, 1, 2, 3; a hit makes 0 the most recent
    const past = Date.now() / 1000 - 100;
    for (const n of fs.readdirSync(path.join(root, "objects")))
      fs.utimesSync(path.join(root, "objects", n), past, past);
    for (const n of fs.readdirSync(path.join(root, "manifests")))
      fs.utimesSync(path.join(root, "manifests", n), past, past);
    expect(cache.lookup(keys[0]!)).not.toBeNull();
    const removed = cache.prune();
    expect(removed.length).toBeGreaterThan(0);
    let total = 0;
    for (const d of ["objects", "manifests"])
      for (const n of fs.readdirSync(path.join(root, d))) total += fs.statSync(path.join(root, d, n)).size;
    expect(total).toBeLessThanOrEqual(3000);
    expect(cache.lookup(keys[0]!)).not.toBeNull();
    expect(fs.existsSync(cache.blobPath(sha256(Buffer.alloc(1000, 0))))).toBe(true);
    expect(fs.existsSync(cache.blobPath(sha256(Buffer.alloc(1000, 1))))).toBe(false);
  });

  it("a build with a tiny limit still builds right, and the next one compiles again", async () => {
    const src = copy(path.join(REPO, "examples", "ioctl"), "ioctl-bound");
    const input = {
      project: path.join(src, "ioctl.sln"),
      configuration: "Debug",
      platform: "x64",
      cacheDir: path.join(scratch, "cache-tiny"),
      cacheMaxBytes: 1,
    } as const;
    const first = await buildProject({ ...input, outDir: path.join(scratch, "tiny-1") });
    expect(fs.readdirSync(path.join(input.cacheDir, "objects"))).toEqual([]);
    const { value } = await traced(() => buildProject({ ...input, outDir: path.join(scratch, "tiny-2") }));
    expect(value.stats).toMatchObject({ compiled: 2, cached: 0 });
    expect(value.outputs.map((o) => o.sha256)).toEqual(first.outputs.map((o) => o.sha256));
  });
});
