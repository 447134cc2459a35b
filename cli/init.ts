/**
 * `winpe init <folder> [--arch amd64|arm64] [--stack <name>] [--package <spec>]`: write a minimal Pulumi project of
 * the user's own that uses winpe-lab as a library: Pulumi.yaml, index.ts (the whole stack: `winpeProgram`, which
 * validates the stack config and calls `composeStack`),
 * a stack file (open toolchain, a synthetic working folder inside the project), package.json depending on winpe-lab
 * and @pulumi/pulumi, tsconfig.json, a README with the steps, and a copy of our IOCTL driver as the driver project
 * (replace it with yours). The project is written to a temporary folder next to `<folder>` and renamed into place
 * (its entries moved into `<folder>` when that is an existing empty folder): a failure leaves nothing behind.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "../runtime/atomic";
import { packageFile } from "../runtime/paths";

const USAGE = "usage: winpe init <folder> [--arch amd64|arm64] [--stack <name>] [--package <npm spec or .tgz>]";

export interface InitOptions {
  /** The folder to create (absent or empty). */
  folder: string;
  arch: "amd64" | "arm64";
  /** Stack name of the stack file written. @default "dev" */
  stack: string;
  /**
   * What package.json depends on for winpe-lab: an npm spec (`^0.1.0`, a git URL) or the path of a tarball made by
   * `npm pack` (written as `file:` relative to the project). @default `^<this package's version>`
   */
  packageSpec?: string;
}

export interface InitResult {
  dir: string;
  projectName: string;
  files: string[];
}

interface OwnPackage {
  version: string;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

/** A Pulumi project name from a folder name: letters, digits, `-`, `_`, `.`; starts with a letter or digit. */
export function projectNameFor(folder: string): string {
  const base = path
    .basename(path.resolve(folder))
    .replace(/[^A-Za-z0-9_.-]+/g, "-")
    .replace(/^[^A-Za-z0-9]+/, "")
    .slice(0, 100);
  return base || "winpe-media";
}

/** The files of the project, by relative path (the driver project is copied separately). */
export function projectFiles(opts: InitOptions, own: OwnPackage, projectName: string): Record<string, string> {
  const ws = opts.arch === "amd64" ? "WinPE_amd64" : "WinPE_arm64";
  const iso = `winpe_${opts.arch}.iso`;
  const pulumiVersion = own.devDependencies?.["@pulumi/pulumi"] ?? own.peerDependencies?.["@pulumi/pulumi"] ?? "^3";
  let spec = opts.packageSpec ?? `^${own.version}`;
  if (/\.(tgz|tar\.gz)$/.test(spec) && !/^[a-z+]+:/.test(spec)) {
    const rel = path.relative(path.resolve(opts.folder), path.resolve(spec)).split(path.sep).join("/");
    spec = `file:${rel}`;
  }
  const pkg = {
    name: projectName.toLowerCase(),
    version: "0.1.0",
    private: true,
    description: "WinPE driver-test media as a Pulumi stack (winpe-lab)",
    scripts: {
      "make-workspace": `winpe copype ${opts.arch} ${ws} --synthetic`,
    },
    dependencies: {
      "@pulumi/pulumi": pulumiVersion,
      "winpe-lab": spec,
    },
    devDependencies: {
      "@types/node": "^20",
      "ts-node": "10.9.2",
      typescript: "5.9.3",
    },
  };
  const tsconfig = {
    compilerOptions: {
      target: "ES2022",
      module: "commonjs",
      moduleResolution: "node",
      strict: true,
      esModuleInterop: true,
      skipLibCheck: true,
      types: ["node"],
    },
    files: ["index.ts"],
  };
  return {
    "Pulumi.yaml": [
      `name: ${projectName}`,
      "description: WinPE driver-test media (driver build, BCD settings, boot.wim, ISO, VM boot media) with winpe-lab",
      "runtime:",
      "  name: nodejs",
      "  options:",
      "    typescript: true",
      "",
    ].join("\n"),
    [`Pulumi.${opts.stack}.yaml`]: [
      "# winpe-lab stack config (every key: winpe-lab's README, 'Stack configuration reference').",
      "# Relative paths are resolved against this folder. The working folder is a synthetic one made by",
      `# 'npm run make-workspace' (winpe copype ${opts.arch} ${ws} --synthetic); point winpe-lab:workspace at a real`,
      "# copype folder and winpe-lab:project at your driver's .sln or .vcxproj when you have them.",
      "config:",
      "  winpe-lab:toolchain: open",
      `  winpe-lab:arch: ${opts.arch}`,
      `  winpe-lab:workspace: ${ws}`,
      "  winpe-lab:project: driver/ioctl.sln",
      "  winpe-lab:injectDir: Windows/Ioctl",
      "  winpe-lab:bcd:",
      `    stores: ${opts.arch === "amd64" ? "both" : "efi"}`,
      "    testsigning: true",
      "  winpe-lab:iso:",
      `    path: ${iso}`,
      "  winpe-lab:vm:",
      "    bootCheck: true",
      "  # kernel debugging over the network (the key is a secret):",
      "  #   pulumi config set --path winpe-lab:kdnet.hostIp 192.168.0.10",
      "  #   pulumi config set --secret --path winpe-lab:kdnet.key 1.2.3.4",
      "",
    ].join("\n"),
    "index.ts": `/**
 * WinPE driver-test media as a Pulumi stack: winpe-lab's whole program from this stack's config (the
 * \`winpe-lab:*\` keys of Pulumi.<stack>.yaml): WorkspaceClaim -> TestCertificate -> DriverBuild -> BcdSettings ->
 * MountedImage -> InjectedFiles -> ImageCommit -> WinPeIso -> VmBootMedia. \`winpeProgram\` validates the config
 * (errors name the key) and calls \`composeStack\`; import the resources themselves (BcdSettings, WinPeIso, ...)
 * from "winpe-lab" for a graph of your own.
 */
import { winpeProgram } from "winpe-lab";

// relative paths in the config are resolved against this folder; the return value is the stack's outputs
export = () => winpeProgram(__dirname);
`,
    "package.json": `${JSON.stringify(pkg, null, 2)}\n`,
    "tsconfig.json": `${JSON.stringify(tsconfig, null, 2)}\n`,
    ".gitignore": ["node_modules/", `${ws}/`, "*.iso", ""].join("\n"),
    "README.md": [
      `# ${projectName}`,
      "",
      "WinPE driver-test media as a Pulumi stack, made with winpe-lab (`winpe init`). On Linux it uses winpe-lab's open",
      "toolchain (clang/lld, wimlib, xorriso, QEMU: see winpe-lab's README for the Debian packages). Where Pulumi keeps",
      "the stack's state is chosen once per machine: `pulumi login --local`, or a team's bucket",
      "(`PULUMI_BACKEND_URL=s3://...`, winpe-lab's README 'Shared state'). Then:",
      "",
      "```sh",
      "npm install",
      `npm run make-workspace                      # a synthetic WinPE working folder: ${ws}/`,
      "export PULUMI_CONFIG_PASSPHRASE=...         # your stack's secrets are encrypted with it",
      `pulumi stack init ${opts.stack}`,
      `pulumi up --stack ${opts.stack}             # builds driver/, sets the BCD flags, injects, writes ${iso}, boots it`,
      `pulumi destroy --stack ${opts.stack}        # takes it all back out`,
      "```",
      "",
      "`driver/` is winpe-lab's IOCTL sample driver; point `winpe-lab:project` in the stack file at your own",
      "`.sln`/`.vcxproj`. A team shares stacks through a common state backend (`PULUMI_BACKEND_URL=s3://...`): see",
      "winpe-lab's README, 'Shared state'.",
      "",
    ].join("\n"),
  };
}

function copyTree(from: string, to: string, files: string[], rel = ""): void {
  fs.mkdirSync(to, { recursive: true });
  for (const e of fs.readdirSync(from, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) copyTree(path.join(from, e.name), path.join(to, e.name), files, r);
    else if (e.isFile()) {
      writeFileAtomic(path.join(to, e.name), fs.readFileSync(path.join(from, e.name)));
      files.push(r);
    }
  }
}

/** Write the project. Throws (before writing anything) for a folder that exists and is not empty. */
export function initProject(opts: InitOptions): InitResult {
  const dir = path.resolve(opts.folder);
  if (fs.existsSync(dir)) {
    if (!fs.statSync(dir).isDirectory()) throw new Error(`'${opts.folder}' exists and is not a folder`);
    if (fs.readdirSync(dir).length > 0) {
      throw new Error(`'${opts.folder}' is not empty: give a new or empty folder (nothing was written)`);
    }
  }
  const driverSrc = packageFile("examples", "ioctl");
  if (!fs.existsSync(path.join(driverSrc, "ioctl.sln"))) {
    throw new Error(`winpe-lab's sample driver is missing (${driverSrc}): reinstall winpe-lab`);
  }
  const own = JSON.parse(fs.readFileSync(packageFile("package.json"), "utf8")) as OwnPackage;
  const projectName = projectNameFor(dir);
  const contents = projectFiles(opts, own, projectName);

  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const tmp = fs.mkdtempSync(path.join(path.dirname(dir), `.${path.basename(dir)}.winpe-init-`));
  try {
    const files: string[] = [];
    for (const [rel, text] of Object.entries(contents)) {
      writeFileAtomic(path.join(tmp, rel), text);
      files.push(rel);
    }
    copyTree(driverSrc, path.join(tmp, "driver"), files, "driver");
    if (!fs.existsSync(dir)) {
      fs.renameSync(tmp, dir);
    } else {
      // an existing empty folder (perhaps the shell's current one) stays: move the entries in, or none of them
      const moved: string[] = [];
      try {
        for (const name of fs.readdirSync(tmp)) {
          fs.renameSync(path.join(tmp, name), path.join(dir, name));
          moved.push(name);
        }
      } catch (e) {
        for (const name of moved) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
        throw e;
      }
      fs.rmdirSync(tmp);
    }
    return { dir, projectName, files: files.sort() };
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** Run the subcommand; returns the exit code (0 ok, 1 failed, 2 bad usage). */
export async function run(args: string[]): Promise<number> {
  const positional: string[] = [];
  let arch = "amd64";
  let stack = "dev";
  let packageSpec: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const eq = a.indexOf("=");
    const [flag, inline] = a.startsWith("--") && eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
    if (flag === "--help" || flag === "-h") {
      console.log(USAGE);
      return 0;
    }
    if (flag === "--arch" || flag === "--stack" || flag === "--package") {
      const value = inline ?? args[++i];
      if (value === undefined || value === "") {
        console.error(`winpe init: ${flag} needs a value\n${USAGE}`);
        return 2;
      }
      if (flag === "--arch") arch = value;
      else if (flag === "--stack") stack = value;
      else packageSpec = value;
    } else if (a.startsWith("-") && a.length > 1) {
      console.error(`winpe init: unknown option '${a}'\n${USAGE}`);
      return 2;
    } else {
      positional.push(a);
    }
  }
  if (positional.length !== 1) {
    console.error(`winpe init: expected one folder\n${USAGE}`);
    return 2;
  }
  if (arch !== "amd64" && arch !== "arm64") {
    console.error(`winpe init: --arch must be amd64 or arm64, not '${arch}'\n${USAGE}`);
    return 2;
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(stack)) {
    console.error(`winpe init: --stack '${stack}' is not a stack name (letters, digits, '-', '_', '.')\n${USAGE}`);
    return 2;
  }
  if (packageSpec && /\.(tgz|tar\.gz)$/.test(packageSpec) && !fs.existsSync(packageSpec)) {
    console.error(`winpe init: --package '${packageSpec}' does not exist (make it with 'npm pack')`);
    return 2;
  }
  const r = initProject({ folder: positional[0]!, arch, stack, packageSpec });
  const rel = path.relative(process.cwd(), r.dir) || ".";
  console.log(`init: wrote the Pulumi project '${r.projectName}' in ${r.dir} (${r.files.length} files). Next:`);
  if (rel !== ".") console.log(`  cd ${rel}`);
  console.log("  npm install");
  console.log("  npm run make-workspace");
  console.log("  export PULUMI_CONFIG_PASSPHRASE=...");
  console.log(`  pulumi stack init ${stack} && pulumi up --stack ${stack}`);
  return 0;
}
