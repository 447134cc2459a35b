/**
 * `winpe init`: the project it writes runs as written. `npm run -s winpe -- init <folder> --package <tarball>` (the
 * tarball from `npm pack` of a copy of the checkout's sources) writes a Pulumi project of the user's own in a folder
 * outside the checkout (its path has spaces); the test then runs the commands of the project's README, line by
 * line, with the engine (checkout hidden, test/package/hidden-checkout.ts) and a scratch file backend: npm install,
 * npm run make-workspace, pulumi stack init, up, destroy. Also: --arch arm64, an existing empty folder, and bad
 * input (a non-empty folder, an unknown architecture) that writes nothing.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run as initRun } from "../../cli/init";
import { runTool } from "../../runtime/exec";
import { listAll } from "../helpers/demo-stack";
import { packFromCopy } from "../helpers/pack";
import { REPO_ROOT, readToolLog, TEST_PASSPHRASE } from "../helpers/pulumi";
import { type HiddenEngine, hiddenCheckoutEngine } from "./hidden-checkout";

/** The commands of the project README's sh block (comments removed), one argv per line. */
function readmeCommands(readme: string): string[][] {
  const block = /```sh\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error("the project's README has no sh block");
  return block
    .split("\n")
    .map((l) => l.replace(/\s+#.*$/, "").trim())
    .filter((l) => l.length > 0)
    .map((l) => l.split(/\s+/));
}

describe("winpe init: a Pulumi project of the user's own that runs as written", () => {
  let dir: string;
  let tarball: string;
  let project: string;
  let engine: HiddenEngine;
  let toolLog: string;
  let env: Record<string, string>;
  let initOutput = "";
  const pristine: Record<string, Buffer> = {};

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "winpe-init-"));
    tarball = await packFromCopy(path.join(dir, "pack"));
    project = path.join(dir, "My WinPE media");
    const r = await runTool("npm", ["run", "-s", "winpe", "--", "init", project, "--package", tarball], {
      cwd: REPO_ROOT,
      resource: "test/init",
    });
    initOutput = r.stdout;
    engine = hiddenCheckoutEngine(dir);
    toolLog = path.join(dir, "tools.jsonl");
    fs.mkdirSync(path.join(dir, "state"));
    env = {
      PATH: engine.path(),
      PULUMI_BACKEND_URL: `file://${path.join(dir, "state")}`,
      PULUMI_HOME: path.join(dir, "pulumi-home"),
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      // a person answers "yes" at the prompts of `pulumi up` and `pulumi destroy`
      PULUMI_SKIP_CONFIRMATIONS: "true",
      WINPE_TOOL_LOG: toolLog,
      WINPE_LAB_LOCK_DIR: path.join(dir, "locks"),
      WINPE_LAB_CACHE: path.join(dir, "cache"),
      // npm: the cache first, no audit or funding requests
      npm_config_prefer_offline: "true",
      npm_config_audit: "false",
      npm_config_fund: "false",
      npm_config_update_notifier: "false",
    };
  });

  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("writes the project: Pulumi.yaml, index.ts, a stack file, package.json depending on winpe-lab, a driver", () => {
    expect(initOutput).toContain(`init: wrote the Pulumi project 'My-WinPE-media' in ${project}`);
    const files = listAll(project);
    for (const f of [
      "Pulumi.yaml",
      "Pulumi.dev.yaml",
      "index.ts",
      "package.json",
      "tsconfig.json",
      "README.md",
      ".gitignore",
      "driver/ioctl.sln",
      "driver/sys/sioctl.c",
      "driver/sys/sioctl.vcxproj",
      "driver/exe/ioctlapp.c",
      "driver/inc/public.h",
    ])
      expect(files).toContain(f);
    expect(fs.readFileSync(path.join(project, "Pulumi.yaml"), "utf8")).toMatch(/^name: My-WinPE-media$/m);
    const pkg = JSON.parse(fs.readFileSync(path.join(project, "package.json"), "utf8"));
    expect(pkg.dependencies["winpe-lab"]).toBe(`file:../pack/${path.basename(tarball)}`);
    expect(pkg.dependencies["@pulumi/pulumi"]).toBe(
      JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")).devDependencies["@pulumi/pulumi"],
    );
    expect(pkg.scripts["make-workspace"]).toBe("winpe copype amd64 WinPE_amd64 --synthetic");
    const stackFile = fs.readFileSync(path.join(project, "Pulumi.dev.yaml"), "utf8");
    expect(stackFile).toMatch(/^ {2}winpe-lab:arch: amd64$/m);
    expect(stackFile).toMatch(/^ {2}winpe-lab:workspace: WinPE_amd64$/m);
    expect(fs.readFileSync(path.join(project, "index.ts"), "utf8")).toContain('from "winpe-lab"');
    // no temporary folder left next to it
    expect(fs.readdirSync(dir).filter((n) => n.includes("winpe-init"))).toEqual([]);
  });

  it("runs as written: the README's commands, npm install to pulumi destroy", async () => {
    const readme = fs.readFileSync(path.join(project, "README.md"), "utf8");
    const steps = readmeCommands(readme);
    expect(steps.map((s) => s.slice(0, 2).join(" "))).toEqual([
      "npm install",
      "npm run",
      "export PULUMI_CONFIG_PASSPHRASE=...",
      "pulumi stack",
      "pulumi up",
      "pulumi destroy",
    ]);
    for (const argv of steps) {
      const [cmd, ...args] = argv as [string, ...string[]];
      if (cmd === "export") {
        // the passphrase is the user's choice: the test's
        const [name] = args[0]!.split("=");
        env[name!] = TEST_PASSPHRASE;
        continue;
      }
      if (cmd !== "npm" && cmd !== "pulumi") throw new Error(`the README runs '${cmd}': the test knows npm and pulumi`);
      const mark = readToolLog(toolLog).length;
      const r = await runTool(cmd === "pulumi" ? engine.pulumi : "npm", args, {
        cwd: project,
        env,
        resource: "test/init",
      });
      if (args[0] === "run") {
        // the synthetic working folder, made by the installed package's CLI
        for (const rel of ["media/EFI/Microsoft/Boot/BCD", "media/Boot/BCD"])
          pristine[rel] = fs.readFileSync(path.join(project, "WinPE_amd64", rel));
      }
      if (args[0] === "up") {
        expect(r.stdout).toMatch(/\+ +1[0-9] created/);
        const out = await runTool(engine.pulumi, ["stack", "output", "--json", "--stack", "dev"], {
          cwd: project,
          env,
          resource: "test/init",
        });
        const o = JSON.parse(out.stdout);
        expect(o.bootCheck).toMatch(/WINPE-LAB STAND-IN BOOT OK arch=amd64/);
        expect(o.isoPath).toBe(path.join(fs.realpathSync(project), "winpe_amd64.iso"));
        expect(fs.existsSync(path.join(project, "winpe_amd64.iso"))).toBe(true);
        expect(Object.keys(o.injectedFiles).sort()).toEqual(["Windows/Ioctl/ioctlapp.exe", "Windows/Ioctl/sioctl.sys"]);
        const tools = readToolLog(toolLog).slice(mark);
        expect(tools.map((t) => t.tool)).toContain("xorriso");
      }
      if (args[0] === "destroy") {
        expect(r.stdout).toMatch(/- +1[0-9] deleted/);
        expect(fs.existsSync(path.join(project, "winpe_amd64.iso"))).toBe(false);
        for (const [rel, bytes] of Object.entries(pristine))
          expect(fs.readFileSync(path.join(project, "WinPE_amd64", rel)).equals(bytes)).toBe(true);
      }
    }
    expect(Object.keys(pristine)).toHaveLength(2);
  });

  it("--arch arm64, into an existing empty folder: an arm64 stack (EFI store only)", async () => {
    const target = path.join(dir, "arm");
    fs.mkdirSync(target);
    expect(await initRun([target, "--arch", "arm64", "--stack", "lab"])).toBe(0);
    const stackFile = fs.readFileSync(path.join(target, "Pulumi.lab.yaml"), "utf8");
    expect(stackFile).toMatch(/^ {2}winpe-lab:arch: arm64$/m);
    expect(stackFile).toMatch(/^ {2}winpe-lab:workspace: WinPE_arm64$/m);
    expect(stackFile).toMatch(/^ {4}stores: efi$/m);
    const pkg = JSON.parse(fs.readFileSync(path.join(target, "package.json"), "utf8"));
    expect(pkg.scripts["make-workspace"]).toBe("winpe copype arm64 WinPE_arm64 --synthetic");
    expect(pkg.dependencies["winpe-lab"]).toMatch(/^\^\d+\.\d+\.\d+$/); // no --package: the registry version
  });

  it("bad input writes nothing: a folder that is not empty, an unknown architecture", async () => {
    const full = path.join(dir, "full");
    fs.mkdirSync(full);
    fs.writeFileSync(path.join(full, "keep.txt"), "mine\n");
    const r = await runTool("npm", ["run", "-s", "winpe", "--", "init", full], {
      cwd: REPO_ROOT,
      resource: "test/init",
      okExitCodes: [1],
    });
    expect(r.stderr).toContain(`winpe init: '${full}' is not empty: give a new or empty folder (nothing was written)`);
    expect(fs.readdirSync(full)).toEqual(["keep.txt"]);
    const none = path.join(dir, "none");
    expect(await initRun([none, "--arch", "x86"])).toBe(2);
    expect(fs.existsSync(none)).toBe(false);
    expect(fs.readdirSync(dir).filter((n) => n.includes("winpe-init"))).toEqual([]);
  });
});
