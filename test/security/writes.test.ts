/**
 * No write outside the stack's declared folders: a full `pulumi up` + `destroy` of a demo stack on the real engine
 * runs under strace, which records every file the engine, the language host, the providers and every tool they
 * start create, open for writing, rename, remove or make. Each such path must lie in a declared folder.
 *
 * Declared folders: the stack's scratch folder (working folder, sources, ISO folder, state backend, PULUMI_HOME,
 * lock folder, TMPDIR, the user cache folder WINPE_LAB_CACHE), `dist/` (not written here), and the kernel's
 * pseudo files (`/dev/null`, `/dev/pts`, `/proc/self`).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runTool } from "../../runtime/exec";
import { type DemoStack, openDemoStack } from "../helpers/demo-stack";
import { engineEnv, REPO_ROOT, TOOLS_BIN } from "../helpers/pulumi";

const WRITE_CALLS =
  "openat,open,creat,mkdir,mkdirat,rename,renameat,renameat2,unlink,unlinkat,rmdir,truncate,symlink,symlinkat,link,linkat";

/** Paths written by the traced processes (absolute), from strace's `-f` log. */
function writtenPaths(log: string): string[] {
  const out = new Set<string>();
  for (const line of log.split("\n")) {
    const m = /^\d+\s+(\w+)\((.*)\)\s+=\s+(-?\d+)/.exec(line);
    if (!m) continue;
    const [, call, args, ret] = m;
    if (Number(ret) < 0) continue; // failed calls changed nothing
    if ((call === "openat" || call === "open") && !/O_WRONLY|O_RDWR|O_CREAT|O_TRUNC/.test(args)) continue;
    const quoted = [...args.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((q) => q[1]!);
    // a symbolic link's target is not written, only the link (Wine links its prefix's z: to "/")
    const written = call === "symlink" || call === "symlinkat" ? quoted.slice(-1) : quoted;
    for (const p of written) if (p.startsWith("/")) out.add(path.normalize(p));
  }
  return [...out].sort();
}

describe("writes stay in the stack's declared folders (strace of up + destroy)", () => {
  let d: DemoStack;
  let programDir: string;
  beforeAll(async () => {
    d = await openDemoStack("amd64", { bootCheck: true, name: "writes-amd64" });
    programDir = path.join(d.dir, "program");
  });
  afterAll(async () => {
    if (d) await d.cleanup();
  });

  it("every path written during up and destroy is inside a declared folder", { timeout: 600_000 }, async () => {
    const tmp = path.join(d.dir, "tmp");
    fs.mkdirSync(tmp, { recursive: true });
    const env = {
      ...engineEnv(path.join(d.dir, "state"), {
        WINPE_TOOL_LOG: d.toolLog,
        WINPE_LAB_LOCK_DIR: d.lockDir,
        // the build cache is the user's cache folder (~/.cache/winpe-lab unless WINPE_LAB_CACHE says): here, the
        // stack's own scratch folder, so that every write of the run is accounted for
        WINPE_LAB_CACHE: path.join(d.dir, "cache"),
      }),
      TMPDIR: tmp,
      HOME: path.join(d.dir, "home"),
    };
    const paths: string[] = [];
    for (const action of [
      ["up", "--yes", "--skip-preview"],
      ["destroy", "--yes", "--skip-preview"],
    ]) {
      const log = path.join(d.dir, `strace-${action[0]}.log`);
      await runTool(
        "strace",
        [
          "-f",
          "-qq",
          "-e",
          `trace=${WRITE_CALLS}`,
          "-o",
          log,
          path.join(TOOLS_BIN, "pulumi"),
          ...action,
          "--stack",
          "writes-amd64",
          "--non-interactive",
        ],
        { cwd: programDir, env, resource: "test/writes", timeoutMs: 300_000 },
      );
      paths.push(...writtenPaths(fs.readFileSync(log, "utf8")));
    }
    const allowed = [
      d.dir,
      path.join(REPO_ROOT, ".work"),
      "/dev/null",
      "/dev/pts/",
      "/dev/tty",
      "/proc/self/",
      "/dev/shm/",
    ];
    const outside = [...new Set(paths)].filter(
      (p) =>
        !allowed.some((a) => p === a || p.startsWith(a.endsWith("/") ? a : `${a}/`)) &&
        !/^\/proc\/\d+\//.test(p) &&
        // Wine's mount manager opens the host's serial ports when a prefix starts (the driver test's Wine
        // pre-flight) to map COM1..COM4: opened, nothing written to them
        !/^\/dev\/ttyS\d+$/.test(p),
    );
    expect(paths.length).toBeGreaterThan(20); // the trace really saw the work
    expect(outside).toEqual([]);
  });
});
