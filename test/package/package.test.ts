/**
 * winpe-lab as an installed library in a user's own Pulumi project, on the real engine (Automation API):
 * `npm pack` of a copy of the checkout's sources, the tarball installed with npm into a fresh project folder under
 * the system's temporary folder (the other dependencies from the npm registry, npm's cache first), a program there
 * that imports `BcdSettings`, `WinPeIso` and `composeStack` from "winpe-lab", then `up`, a no-op `up` (zero tool
 * runs), `preview` after an edit and `destroy`. Every engine run happens with the checkout hidden (an empty tmpfs
 * over it in a private mount namespace: test/package/hidden-checkout.ts), so neither its dist/ nor its sources nor
 * its node_modules can be what the program or the dynamic providers load.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type EngineEvent, LocalWorkspace, type Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runTool } from "../../runtime/exec";
import { opsByType } from "../helpers/demo-stack";
import { npmInstall, packFromCopy, tarballFiles } from "../helpers/pack";
import { REPO_ROOT, readToolLog, TEST_PASSPHRASE } from "../helpers/pulumi";
import { treeDigestHere } from "../helpers/tree-digest";
import { type HiddenEngine, hiddenCheckoutEngine } from "./hidden-checkout";

const PROJECT = "my-winpe-media";
const STACK = "dev";

/** The user's program: the whole stack through composeStack, plus README's BcdSettings + WinPeIso example. */
function programSource(): string {
  return `import * as fs from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { BcdSettings, ConfigError, composeStack, parseStackConfig, rawConfigToObject, WinPeIso } from "winpe-lab";

const stack = pulumi.getStack();
let config: ReturnType<typeof parseStackConfig>;
try {
  config = parseStackConfig(rawConfigToObject(pulumi.runtime.allConfig()));
} catch (e) {
  if (e instanceof ConfigError) throw new pulumi.RunError(e.message);
  throw e;
}
const full = composeStack(config, __dirname, stack, \`\${pulumi.getProject()}/\${stack}\`);

// only the BCD flags and the ISO, on a working folder of their own (README "Use the resources in your own program")
const cfg = new pulumi.Config();
const ws = cfg.require("smallWorkspace");
const bcd = new BcdSettings("bcd", {
  toolchain: "open",
  stores: [\`\${ws}/media/EFI/Microsoft/Boot/BCD\`],
  flags: { testsigning: "on", debug: "on" },
  kdnet: pulumi.secret({ hostIp: "192.168.0.10", port: 50005, key: "5.5.5.5" }),
  stateDir: \`\${ws}/.winpe-lab/bcd\`,
});
const iso = new WinPeIso("iso", {
  toolchain: "open",
  arch: "amd64",
  workspace: ws,
  isoPath: cfg.require("smallIso"),
  contentHashes: bcd.storeHashes,
});

export const isoPath = full.isoPath;
export const isoDigest = full.isoDigest;
export const injectedFiles = full.injectedFiles;
export const bootCheck = full.bootCheck;
export const smallIsoDigest = iso.digest;
// what this program could see: the package it imports, and whether the checkout was visible
export const winpeLabModule = require.resolve("winpe-lab");
export const checkoutVisible = fs.existsSync(${JSON.stringify(path.join(REPO_ROOT, "package.json"))});
export const checkoutDistVisible = fs.existsSync(${JSON.stringify(path.join(REPO_ROOT, "dist"))});
`;
}

describe("winpe-lab installed from its npm pack tarball into a project outside the checkout", () => {
  let dir: string;
  let tarball: string;
  let project: string;
  let engine: HiddenEngine;
  let stack: Stack;
  let toolLog: string;
  let ws: string;
  let smallWs: string;
  const pristine: Record<string, Buffer> = {};
  let resourceCount = 0;
  const toolLines = () => readToolLog(toolLog).length;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "winpe-package-"));
    tarball = await packFromCopy(path.join(dir, "pack"));
    project = path.join(dir, PROJECT);
    fs.mkdirSync(project);
    const own = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8"));
    fs.writeFileSync(
      path.join(project, "package.json"),
      `${JSON.stringify(
        {
          name: PROJECT,
          private: true,
          dependencies: {
            "@pulumi/pulumi": own.devDependencies["@pulumi/pulumi"],
            "winpe-lab": `file:${path.relative(project, tarball)}`,
          },
          devDependencies: { "@types/node": "^20", "ts-node": "10.9.2", typescript: "5.9.3" },
        },
        null,
        2,
      )}\n`,
    );
    await npmInstall(project);
    fs.writeFileSync(
      path.join(project, "Pulumi.yaml"),
      `name: ${PROJECT}\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n`,
    );
    fs.writeFileSync(
      path.join(project, "tsconfig.json"),
      `${JSON.stringify({ compilerOptions: { target: "ES2022", module: "commonjs", moduleResolution: "node", strict: true, esModuleInterop: true, skipLibCheck: true, types: ["node"] }, files: ["index.ts"] }, null, 2)}\n`,
    );
    fs.writeFileSync(path.join(project, "index.ts"), programSource());
    fs.cpSync(path.join(project, "node_modules", "winpe-lab", "examples", "ioctl"), path.join(project, "driver"), {
      recursive: true,
    });

    // working folders made by the installed package's own CLI (its `bin`), with a cache of this test's
    toolLog = path.join(dir, "tools.jsonl");
    ws = path.join(project, "WinPE_amd64");
    smallWs = path.join(project, "WinPE_small");
    const cliEnv = { WINPE_LAB_CACHE: path.join(dir, "cache"), WINPE_TOOL_LOG: toolLog };
    for (const w of [ws, smallWs]) {
      await runTool(path.join(project, "node_modules", ".bin", "winpe"), ["copype", "amd64", w, "--synthetic"], {
        cwd: project,
        env: cliEnv,
        resource: "test/package",
      });
    }
    for (const rel of ["media/EFI/Microsoft/Boot/BCD", "media/Boot/BCD"]) {
      pristine[`ws/${rel}`] = fs.readFileSync(path.join(ws, rel));
      pristine[`small/${rel}`] = fs.readFileSync(path.join(smallWs, rel));
    }

    engine = hiddenCheckoutEngine(dir);
    const stateDir = path.join(dir, "state");
    fs.mkdirSync(stateDir);
    stack = await LocalWorkspace.createOrSelectStack(
      { stackName: STACK, workDir: project },
      {
        pulumiCommand: await engine.command(),
        envVars: {
          PATH: engine.path(),
          PULUMI_BACKEND_URL: `file://${stateDir}`,
          PULUMI_HOME: path.join(dir, "pulumi-home"),
          PULUMI_CONFIG_PASSPHRASE: TEST_PASSPHRASE,
          PULUMI_SKIP_UPDATE_CHECK: "true",
          PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
          PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
          WINPE_TOOL_LOG: toolLog,
          WINPE_LAB_LOCK_DIR: path.join(dir, "locks"),
          WINPE_LAB_CACHE: path.join(dir, "cache"),
        },
      },
    );
    await stack.setAllConfig({
      "winpe-lab:toolchain": { value: "open" },
      "winpe-lab:arch": { value: "amd64" },
      "winpe-lab:workspace": { value: "WinPE_amd64" },
      "winpe-lab:project": { value: "driver/ioctl.sln" },
      "winpe-lab:bcd": { value: JSON.stringify({ stores: "both", testsigning: true, debug: true }) },
      "winpe-lab:kdnet": { value: JSON.stringify({ hostIp: "10.0.2.2", port: 50005, key: "7.7.7.7" }), secret: true },
      "winpe-lab:iso": { value: JSON.stringify({ path: "winpe_amd64.iso" }) },
      "winpe-lab:vm": { value: JSON.stringify({ bootCheck: true }) },
      [`${PROJECT}:smallWorkspace`]: { value: smallWs },
      [`${PROJECT}:smallIso`]: { value: path.join(project, "small.iso") },
    });
  });

  afterAll(async () => {
    if (stack) await stack.workspace.removeStack(STACK, { force: true }).catch(() => undefined);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("the tarball holds the compiled library, its declarations, the CLI and the support files, and nothing else", async () => {
    const files = await tarballFiles(tarball);
    for (const f of [
      "package.json",
      "dist/resources/index.js",
      "dist/resources/index.d.ts",
      "dist/resources/program.js",
      "dist/resources/providers/bcd-settings.js",
      "dist/resources/providers/shell.js",
      "dist/stack/config.js",
      "dist/cli/main.js",
      "dist/cli/init.js",
      "toolchains/open/efi/standin.c",
      "toolchains/open/support/importlibs/msvcrt.def",
      "examples/ioctl/ioctl.sln",
      "examples/ioctl/sys/sioctl.c",
    ])
      expect(files).toContain(f);
    // no TypeScript sources, tests, scripts, the checkout's own program or source maps
    expect(files.filter((f) => /\.ts$/.test(f) && !/\.d\.ts$/.test(f))).toEqual([]);
    expect(files.filter((f) => /^(test|scripts|bench|engine|stacks)\//.test(f) || f.endsWith(".map"))).toEqual([]);
    expect(files).not.toContain("dist/index.js");
    const pkg = JSON.parse(fs.readFileSync(path.join(project, "node_modules", "winpe-lab", "package.json"), "utf8"));
    expect(pkg.exports["."]).toEqual({ types: "./dist/resources/index.d.ts", default: "./dist/resources/index.js" });
    expect(pkg.exports["./providers/*"]).toBe("./dist/resources/providers/*.js");
    expect(pkg.bin).toEqual({ winpe: "dist/cli/main.js" });
    expect(pkg.peerDependencies["@pulumi/pulumi"]).toBeDefined();
    expect(pkg.dependencies["@pulumi/pulumi"]).toBeUndefined();
    // one @pulumi/pulumi in the project (the peer), none nested under winpe-lab
    expect(fs.existsSync(path.join(project, "node_modules", "winpe-lab", "node_modules", "@pulumi"))).toBe(false);
    // the CLI is the compiled one, linked as the project's bin
    expect(fs.realpathSync(path.join(project, "node_modules", ".bin", "winpe"))).toBe(
      path.join(fs.realpathSync(project), "node_modules", "winpe-lab", "dist", "cli", "main.js"),
    );
  });

  it("the program type-checks against the package's declarations", async () => {
    const r = await runTool(path.join(project, "node_modules", ".bin", "tsc"), ["--noEmit", "-p", "tsconfig.json"], {
      cwd: project,
      resource: "test/package",
    });
    expect(r.exitCode).toBe(0);
  });

  it("up creates the whole stack and the small BCD + ISO pair, from the installed package only", async () => {
    const r = await stack.up();
    expect(r.summary.result).toBe("succeeded");
    expect(r.outputs.checkoutVisible.value).toBe(false);
    expect(r.outputs.checkoutDistVisible.value).toBe(false);
    expect(r.outputs.winpeLabModule.value).toBe(
      path.join(fs.realpathSync(project), "node_modules", "winpe-lab", "dist", "resources", "index.js"),
    );
    expect(r.outputs.bootCheck.value).toMatch(/WINPE-LAB STAND-IN BOOT OK arch=amd64/);
    expect(Object.keys(r.outputs.injectedFiles.value).sort()).toEqual([
      "Windows/Ioctl/ioctlapp.exe",
      "Windows/Ioctl/sioctl.sys",
    ]);
    expect(fs.existsSync(path.join(project, "winpe_amd64.iso"))).toBe(true);
    expect(treeDigestHere(fs.readFileSync(path.join(project, "small.iso")))).toBe(r.outputs.smallIsoDigest.value);
    // the stack, composeStack's resources, bcd and iso: every one created
    const state = await stack.exportStack();
    const resources = (state.deployment.resources ?? []) as Array<{
      type: string;
      urn: string;
      inputs?: Record<string, unknown>;
    }>;
    const own = resources.filter((res) => !res.type.startsWith("pulumi:providers:"));
    resourceCount = own.length;
    expect(r.summary.resourceChanges).toEqual({ create: resourceCount });
    const names = own.map((res) => res.urn.split("::").slice(-2).join("::")).sort();
    for (const n of [
      "pulumi-nodejs:dynamic/winpe-lab:BcdSettings::bcd",
      "pulumi-nodejs:dynamic/winpe-lab:BcdSettings::bcd-settings",
      "pulumi-nodejs:dynamic/winpe-lab:DriverBuild::driver-build",
      "pulumi-nodejs:dynamic/winpe-lab:ImageCommit::image-commit",
      "pulumi-nodejs:dynamic/winpe-lab:InjectedFiles::injected-files",
      "pulumi-nodejs:dynamic/winpe-lab:MountedImage::boot-wim",
      "pulumi-nodejs:dynamic/winpe-lab:TestCertificate::test-certificate",
      "pulumi-nodejs:dynamic/winpe-lab:VmBootMedia::vm-boot-media",
      "pulumi-nodejs:dynamic/winpe-lab:WinPeIso::iso",
      "pulumi-nodejs:dynamic/winpe-lab:WinPeIso::winpe-iso",
    ])
      expect(names).toContain(n);
    // an independent reader: the small working folder's BCD store now has testsigning on
    const hive = path.join(smallWs, "media", "EFI", "Microsoft", "Boot", "BCD");
    expect(fs.readFileSync(hive).equals(pristine["small/media/EFI/Microsoft/Boot/BCD"]!)).toBe(false);

    // what Pulumi serialized for each dynamic resource names the module, never a folder of this machine
    const providers = resources
      .map((res) => res.inputs?.__provider)
      .filter((p: unknown): p is string => typeof p === "string");
    expect(providers.length).toBeGreaterThanOrEqual(10);
    for (const p of providers) {
      expect(p).toContain("winpe-lab/providers/");
      expect(p).not.toContain(dir);
      expect(p).not.toContain(REPO_ROOT);
    }
  });

  it("a second up with nothing changed runs no tool", async () => {
    const mark = toolLines();
    const r = await stack.up();
    expect(r.summary.resourceChanges).toEqual({ same: resourceCount });
    expect(readToolLog(toolLog).slice(mark)).toEqual([]);
  });

  it("preview after a driver source edit names exactly the downstream resources", async () => {
    const file = path.join(project, "driver", "sys", "sioctl.c");
    fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace('"Debug build"', '"Debug build (edited)"'));
    const mark = toolLines();
    const events: EngineEvent[] = [];
    const p = await stack.preview({ onEvent: (e) => events.push(e), diff: true });
    expect(opsByType(events).update).toEqual([
      "DriverBuild",
      "DriverTest",
      "ImageCommit",
      "InjectedFiles",
      "VmBootMedia",
      "WinPeIso",
    ]);
    expect(p.stdout).toMatch(/~ Windows\/Ioctl\/sioctl\.sys/);
    expect(readToolLog(toolLog).slice(mark)).toEqual([]); // preview runs no tool either
  });

  it("destroy removes everything and puts both working folders' BCD stores back byte for byte", async () => {
    // the package is "upgraded" after the up: destroy runs the installed code of now, not the code of the up
    // (the state names only the module), so a fixed provider is fixed for the destroy of old state too
    const marker = path.join(dir, "iso-delete-upgraded.txt");
    const impl = path.join(project, "node_modules", "winpe-lab", "dist", "resources", "providers", "winpe-iso.js");
    fs.appendFileSync(
      impl,
      `\n{ const del = exports.delete; exports.delete = async (id, props) => { require("node:fs").appendFileSync(${JSON.stringify(marker)}, id + "\\n"); return del(id, props); }; }\n`,
    );
    const r = await stack.destroy();
    expect(r.summary.result).toBe("succeeded");
    expect(fs.readFileSync(marker, "utf8").trim().split("\n").sort()).toEqual(
      [path.join(fs.realpathSync(project), "small.iso"), path.join(fs.realpathSync(project), "winpe_amd64.iso")].sort(),
    );
    const state = await stack.exportStack();
    expect(state.deployment.resources ?? []).toHaveLength(0);
    expect(fs.existsSync(path.join(project, "winpe_amd64.iso"))).toBe(false);
    expect(fs.existsSync(path.join(project, "small.iso"))).toBe(false);
    for (const rel of ["media/EFI/Microsoft/Boot/BCD", "media/Boot/BCD"]) {
      expect(fs.readFileSync(path.join(ws, rel)).equals(pristine[`ws/${rel}`]!)).toBe(true);
      expect(fs.readFileSync(path.join(smallWs, rel)).equals(pristine[`small/${rel}`]!)).toBe(true);
    }
  });
});
