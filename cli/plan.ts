/**
 * `winpe plan --stack <name> [--action up|destroy] [--root <folder>] [--shell cmd|powershell] [--bcd-writer
 * module|bcdedit]`: print, in order, every external command an adk stack's resources run on Windows on a clean
 * `up` (or on a `destroy` after it), one per line, with Windows quoting, secrets masked (`key:[secret]`). Runs
 * nothing, and works on any host.
 *
 * - The stack file `stacks/Pulumi.<name>.yaml` is read with our small YAML reader (formats/stack-yaml.ts) and
 *   validated by the program's own schema (`parseStackConfig(rawConfigToObject(...))`); paths come from the
 *   program's `resolveStack`, resource args from the resources' own schemas (same defaults), and the commands from
 *   the same pure functions the providers run (toolchains/adk/plan.ts, toolchains/adk/image.ts).
 * - `--root` is the checkout's folder on Windows (relative paths of the stack, e.g. `examples\ioctl\ioctl.sln`,
 *   resolve against it); default `C:\winpe-lab`. The project files are read from this checkout to learn what
 *   MSBuild produces.
 * - `--shell cmd` (default): native tools as cmd.exe batch-file lines, cmdlets as PowerShell statements;
 *   `--shell powershell`: every line a PowerShell statement.
 * - `--bcd-writer bcdedit` plans BcdSettings with `writer: "bcdedit"` (the stack config has no such key yet; the
 *   program uses our BCD module, which runs no command).
 * - A `secure:` KDNET key (which plan cannot decrypt) and a key not set yet are both shown as `[secret]`.
 * - An open stack: plan says it is for adk stacks and exits 2 (open stacks run on this host; `pulumi preview`
 *   shows them).
 * Exit codes: 0 printed, 1 bad stack (file or config), 2 bad usage or an open stack.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { pulumiRawConfig, readStackYaml, StackYamlError } from "../formats/stack-yaml";
import { SYSTEM_HIVE_PATH, verifierValues } from "../formats/verifier";
import { hookFiles, STARTNET_PATH } from "../formats/winpe-hook";
import { BcdSettingsArgsSchema } from "../resources/bcd-settings";
import { DriverBuildArgsSchema } from "../resources/driver-build";
import { MountedImageArgsSchema, privateDirFor } from "../resources/mounted-image";
import { TestCertificateArgsSchema } from "../resources/test-certificate";
import { VmBootMediaArgsSchema } from "../resources/vm-boot-media";
import { WinPeIsoArgsSchema } from "../resources/winpe-iso";
import { ConfigError, parseStackConfig, rawConfigToObject, type StackConfig } from "../stack/config";
import { testCommand, verifierDrivers } from "../stack/preflight";
import { resolveStack } from "../stack/resolve";
import { wireStack } from "../stack/wiring";
import { adkBuildBackend } from "../toolchains/adk/builder";
import { adkCertBackend } from "../toolchains/adk/cert";
import { windbgComPipe, windbgKdnet } from "../toolchains/adk/debugger";
import { windowsPathKey } from "../toolchains/adk/dism-info";
import { ADK_NOT_RUN, verifierRegCommands } from "../toolchains/adk/driver-test";
import { comPipeName, startVm } from "../toolchains/adk/hyperv";
import {
  adkCommitCommands,
  adkMountCommands,
  adkStageCommands,
  adkStatusCommands,
  adkUnmountCommands,
  adkUnstageCommands,
  assumedMountEntry,
  mountPathOf,
} from "../toolchains/adk/image";
import { adkIsoBackend } from "../toolchains/adk/iso";
import {
  type AdkProjectFacts,
  bcdeditCommandsFor,
  makeWinPEMediaEquivalent,
  planBcdSettings,
  planBcdSettingsRestore,
  planVm,
  planVmDestroy,
  readAdkProjectFacts,
  THUMBPRINT_PLACEHOLDER,
} from "../toolchains/adk/plan";
import { renderCommand, renderPowerShell, SECRET_MASK } from "../toolchains/adk/quote";
import type { AdkCommand, AdkShell } from "../toolchains/adk/types";
import { AdkArgumentError, windowsPath } from "../toolchains/adk/validate";
import type { ImageChange } from "../toolchains/types";

const USAGE =
  "usage: winpe plan --stack <name> [--action up|destroy] [--root <checkout folder on Windows>] [--shell cmd|powershell] [--bcd-writer module|bcdedit]";

/** The checkout's folder on Windows when `--root` is not given. */
export const DEFAULT_ROOT = "C:\\winpe-lab";

/** Stands in for a KDNET key plan cannot (or need not) know; only ever rendered masked. */
const KEY_STAND_IN = "0.0.0.0";

/**
 * A comment of the plan: a line of text, or a command shown for comparison but not run (e.g. the bcdedit
 * equivalent of our module's writes), rendered like the commands.
 */
export type PlanNote = string | { command: AdkCommand };

/** One resource of the plan: what it runs, and notes for people. */
export interface PlanStep {
  /** Resource type, e.g. `MountedImage`. */
  type: string;
  /** Resource name in the program, e.g. `boot-wim`. */
  name: string;
  /** The commands the provider runs, in order. */
  commands: AdkCommand[];
  /** Comments before the commands: what is done without an external tool, assumptions. */
  notes: PlanNote[];
  /** Comments after the commands (what to do next). */
  after: PlanNote[];
}

/** Inputs of {@link planStack}. */
export interface StackPlanInput {
  /** The validated stack config (toolchain adk). */
  config: StackConfig;
  stackName: string;
  /** The checkout's folder on Windows. */
  root: string;
  action: "up" | "destroy";
  /** BcdSettings' writer. @default the stack's `winpe-lab:bcd.writer` */
  bcdWriter?: "module" | "bcdedit";
  /** The project's outputs ({@link readAdkProjectFacts}); null when the project could not be read here. */
  project: AdkProjectFacts | null;
}

const step = (type: string, name: string, commands: AdkCommand[], notes: PlanNote[] = []): PlanStep => ({
  type,
  name,
  commands,
  notes,
  after: [],
});

/**
 * The plan of an adk stack: the steps of its resources in the program's order (TestCertificate, DriverBuild,
 * BcdSettings, MountedImage, InjectedFiles, ImageCommit, WinPeIso, VmBootMedia) for `up`, in reverse (the order
 * Pulumi deletes in) for `destroy`. Resource args are built as `composeStack` builds them and parsed by each
 * resource's schema, so defaults are the providers' own.
 *
 * @param input - config, stack name, checkout root, action, BCD writer, project facts
 * @returns the steps, in the order they run
 * @throws Error for a stack that is not adk, or args a resource refuses
 */
export function planStack(input: StackPlanInput): PlanStep[] {
  const { config, stackName, root, action } = input;
  if (config.toolchain !== "adk")
    throw new Error(`stack '${stackName}' uses the ${config.toolchain} toolchain: plan is for adk stacks`);
  const r = resolveStack(config, root, stackName);
  const up = action === "up";
  const facts = input.project ?? { needsRestore: false, outputs: [] };

  // the program's own wiring (stack/wiring.ts), each resource's args then parsed by its schema (its defaults)
  const w = wireStack(
    config,
    r,
    facts.outputs.map((o) => ({ outputPath: o.name, kind: o.kind })),
    `winpe-lab/${stackName}`,
  );
  const cert = w.cert ? TestCertificateArgsSchema.parse(w.cert) : undefined;
  const build = DriverBuildArgsSchema.parse({
    ...w.build,
    signing: cert ? { certPem: "", keyPem: "", thumbprint: THUMBPRINT_PLACEHOLDER } : null,
    revisions: {},
  });
  const bcd = BcdSettingsArgsSchema.parse({ ...w.bcd, writer: input.bcdWriter ?? w.bcd.writer });
  const mount = MountedImageArgsSchema.parse(w.mount);
  const kinds: Record<string, "driver" | "application"> = {};
  for (const o of facts.outputs) kinds[o.name] = o.kind;
  const t = config.test;
  const testCmd = testCommand(config, kinds);
  const hook = t.enabled && t.boot && testCmd.length > 0;
  const hookDests = hook
    ? Object.keys(
        hookFiles({ folder: r.injectDir, command: testCmd, exitCode: t.pass.exitCode, output: t.pass.output ?? null }),
      )
    : [];
  const inlineDir = path.win32.join(privateDirFor("adk", r.mountDir), "inline");
  const originalsDir = path.win32.join(privateDirFor("adk", r.mountDir), "originals");
  // every WinPE image has a startnet.cmd: the hook replaces it, the original is kept and put back
  const originalOf = (dest: string) =>
    hook && dest === STARTNET_PATH ? path.win32.join(originalsDir, ...dest.split("/")) : null;
  const files = [
    ...w.builtFiles.map((f) => ({ dest: f.dest, source: f.source })),
    ...hookDests.map((d) => ({ dest: d, source: path.win32.join(inlineDir, ...d.split("/")) })),
  ].sort((a, b) => (a.dest < b.dest ? -1 : a.dest > b.dest ? 1 : 0));
  const iso = WinPeIsoArgsSchema.parse({ ...w.iso, contentHashes: {} });
  const vm = w.vm
    ? VmBootMediaArgsSchema.parse({
        ...w.vm,
        isoPath: r.isoPath,
        isoDigest: "(known after WinPeIso)",
        bootPattern: config.vm.bootPattern,
      })
    : undefined;

  const steps: PlanStep[] = [];
  const projectNote = input.project
    ? []
    : [
        "the project files could not be read on this host: the driver outputs (signtool, the injected files) are not shown",
      ];

  // TestCertificate
  if (cert) {
    steps.push(
      up
        ? step("TestCertificate", "test-certificate", adkCertBackend.commands(cert), [
            `its output holds the new certificate's thumbprint, shown as ${THUMBPRINT_PLACEHOLDER} below`,
          ])
        : step("TestCertificate", "test-certificate", adkCertBackend.removeCommands({})),
    );
  }

  // DriverBuild
  steps.push(
    up
      ? step(
          "DriverBuild",
          "driver-build",
          adkBuildBackend.commands(
            {
              project: build.project,
              configuration: build.configuration,
              platform: build.platform,
              outDir: build.outDir,
              signing: build.signing ? { thumbprint: build.signing.thumbprint } : null,
            },
            facts,
          ),
          [
            ...projectNote,
            ...(facts.outputs.length > 0
              ? [`outputs in ${build.outDir}: ${facts.outputs.map((o) => `${o.name} (${o.kind})`).join(", ")}`]
              : []),
          ],
        )
      : step(
          "DriverBuild",
          "driver-build",
          [],
          [`deletes the files it built from ${build.outDir} (Node fs; no external command)`],
        ),
  );

  // BcdSettings
  const bcdStep = step(
    "BcdSettings",
    "bcd-settings",
    up
      ? planBcdSettings(bcd)
      : bcd.writer === "bcdedit"
        ? bcd.stores.flatMap((s) =>
            planBcdSettingsRestore(s, bcd.object, Object.fromEntries(Object.keys(bcd.flags).map((f) => [f, null]))),
          )
        : [],
  );
  if (bcd.writer === "bcdedit") {
    if (!up) {
      bcdStep.notes.push(
        "assumes each flag was absent before 'up' (a fresh copype store): a flag that had a value is set back to it with /set",
      );
      if (bcd.kdnet)
        bcdStep.notes.push("the {dbgsettings} elements are put back by winpe-lab's BCD module (no command)");
    }
  } else {
    bcdStep.notes.push(
      up
        ? `winpe-lab's BCD module writes ${bcd.stores.join(", ")} itself (no external command); the bcdedit equivalent (--bcd-writer bcdedit runs it):`
        : "winpe-lab's BCD module puts the stores back (the untouched copy when nobody else changed them; no external command)",
    );
    if (up) {
      for (const s of bcd.stores) {
        for (const c of bcdeditCommandsFor(bcd, s)) bcdStep.notes.push({ command: c });
      }
    }
  }
  steps.push(bcdStep);

  // MountedImage, InjectedFiles, ImageCommit
  const mountStep = up
    ? step("MountedImage", "boot-wim", adkMountCommands(mount), [
        `makes ${mount.mountDir} when it is missing (Node fs); DISM mounts into an empty folder`,
      ])
    : step(
        "MountedImage",
        "boot-wim",
        [...adkStatusCommands(), ...adkUnmountCommands(mount, assumedMountEntry(mount))],
        [
          "reads DISM's mount list first (a stale mount is remounted or cleaned up instead); the discard drops nothing: the changes were committed",
        ],
      );
  const injectStep = up
    ? step(
        "InjectedFiles",
        "injected-files",
        files.flatMap((f) => adkStageCommands(mount.mountDir, f.source, f.dest)),
        [
          ...projectNote,
          ...(files.length > 0
            ? [
                `hashes ${files.map((f) => f.dest).join(", ")} in the mount folder first (Node fs): a clean image has ${
                  hook
                    ? `only ${STARTNET_PATH} of them, whose original is copied to ${originalsDir} first (Node fs)`
                    : "none of them, so no original is backed up"
                }`,
              ]
            : []),
        ],
      )
    : step(
        "InjectedFiles",
        "injected-files",
        files.flatMap((f) => adkUnstageCommands(mount.mountDir, f.dest, originalOf(f.dest), false)),
        [
          hook
            ? `ImageCommit's delete removed the files from the mount folder already; ${STARTNET_PATH}'s original is copied back once more`
            : "nothing left to take out: ImageCommit's delete removed the files from the mount folder already",
        ],
      );
  const changes: ImageChange[] = up
    ? files.map((f) => ({ op: "add", source: mountPathOf(mount.mountDir, f.dest), dest: f.dest }))
    : files.map((f): ImageChange => {
        const original = originalOf(f.dest);
        return original ? { op: "add", source: original, dest: f.dest } : { op: "delete", dest: f.dest };
      });
  const commitStep = step(
    "ImageCommit",
    "image-commit",
    adkCommitCommands(mount.mountDir, changes),
    up
      ? [
          "the staged files are already in the mount folder (the image): nothing to copy; it reads their hashes back with Node fs",
        ]
      : [
          hook
            ? `puts ${STARTNET_PATH}'s original back and removes the files it added, then commits`
            : "removes the files it added (the image had no originals there), then commits",
        ],
  );

  // WinPeIso
  const isoStep = up
    ? step("WinPeIso", "winpe-iso", adkIsoBackend.commands(iso), [
        `oscdimg writes a temporary .iso beside ${iso.isoPath} (.winpe-tmp-...), renamed to it when complete`,
        iso.noPrompt
          ? "efisys_noprompt.bin: UEFI boots without 'Press any key'; MakeWinPEMedia (a .cmd script, which Node cannot start without a shell) uses fwfiles\\efisys.bin, which waits for a key. Its documented equivalent:"
          : "MakeWinPEMedia is a .cmd script, which Node cannot start without a shell; its documented equivalent:",
      ])
    : step("WinPeIso", "winpe-iso", [], [`deletes ${iso.isoPath} (Node fs; no external command)`]);
  const eq = up ? makeWinPEMediaEquivalent(iso) : undefined;
  if (eq) isoStep.notes.push({ command: eq });

  // VmBootMedia
  let vmStep: PlanStep | undefined;
  if (vm) {
    vmStep = up
      ? step(
          "VmBootMedia",
          "vm-boot-media",
          planVm({
            name: vm.name,
            memoryMb: vm.memoryMb,
            isoPath: vm.isoPath,
            createVm: vm.createVm,
            debug: vm.debug,
            switchName: vm.switchName,
          }),
        )
      : step("VmBootMedia", "vm-boot-media", planVmDestroy({ name: vm.name }, vm.createVm));
    if (up) {
      vmStep.after.push("then you start the VM (the stack output 'vmStartCommand'; not run by winpe-lab):", {
        command: startVm(vm.name),
      });
      const transport = config.debug?.transport;
      const debuggerCmd =
        transport === "serial"
          ? windbgComPipe({ pipe: comPipeName(vm.name), symbolPath: [r.buildDir] })
          : config.kdnet && transport !== "gdb"
            ? windbgKdnet({ port: config.kdnet.port, key: config.kdnet.key })
            : undefined;
      if (debuggerCmd) {
        vmStep.after.push(
          "and the kernel debugger on the host (the stack output 'debuggerCommand'; not run by winpe-lab):",
          { command: debuggerCmd },
        );
      }
    }
  }

  if (hook && up) {
    injectStep.notes.push(
      `the boot-time test's start hook (${hookDests.join(", ")}) is written by winpe-lab into ${inlineDir} first (Node fs); ` +
        "the image's own startnet.cmd is backed up and put back on destroy",
    );
  }

  // DriverVerifier: our REGF module edits the mounted image's SYSTEM hive, then DISM commits it
  let verifierStep: PlanStep | undefined;
  if (t.verifier) {
    const values = verifierValues(verifierDrivers(config, kinds), t.verifier.flags);
    const hiveInMount = mountPathOf(mount.mountDir, SYSTEM_HIVE_PATH);
    const copy = path.win32.join(r.verifierDir, up ? "SYSTEM.edited" : "SYSTEM.original");
    verifierStep = step(
      "DriverVerifier",
      "driver-verifier",
      [
        ...adkStageCommands(mount.mountDir, copy, SYSTEM_HIVE_PATH),
        ...adkCommitCommands(mount.mountDir, [{ op: "add", source: hiveInMount, dest: SYSTEM_HIVE_PATH }]),
      ],
      up
        ? [
            `winpe-lab's REGF module reads ${hiveInMount}, keeps the untouched copy, and writes VerifyDrivers=${JSON.stringify(values.VerifyDrivers)} (REG_SZ) and VerifyDriverLevel=0x${values.VerifyDriverLevel.toString(16)} (REG_DWORD) into ControlSet00N\\Control\\Session Manager\\Memory Management (N from Select\\Current) of the copy it puts back (no external command for the edit); the reg equivalent, not run:`,
            ...verifierRegCommands(mount.mountDir, values).map((c) => ({ command: c })),
          ]
        : [
            "puts the untouched SYSTEM hive back (byte for byte) when the image still holds what winpe-lab wrote; else only the two values (no external command for the edit)",
          ],
    );
  }
  const testStep = t.enabled
    ? step("DriverTest", "driver-test", [], [up ? `not run on this host: ${ADK_NOT_RUN}` : "nothing to remove on adk"])
    : undefined;

  steps.push(mountStep, injectStep, commitStep);
  if (verifierStep) steps.push(verifierStep);
  if (testStep) steps.push(testStep);
  steps.push(isoStep);
  if (vmStep) steps.push(vmStep);
  return up ? steps : steps.reverse();
}

/** Options of {@link renderPlan}. */
export interface RenderPlanOptions {
  /** `cmd`: native tools as batch-file lines, cmdlets as PowerShell; `powershell`: everything as PowerShell. */
  shell: AdkShell;
  /** Comment lines printed first. */
  header: readonly string[];
}

/**
 * Render a plan: comment lines (`rem` for cmd, `#` for PowerShell) for the header and each step's notes, then one
 * line per command. Secrets are masked (`[secret]`).
 *
 * @param steps - from {@link planStack}
 * @param options - shell and header
 * @returns the lines
 */
export function renderPlan(steps: readonly PlanStep[], options: RenderPlanOptions): string[] {
  const c = options.shell === "cmd" ? "rem" : "#";
  const render = (cmd: AdkCommand) =>
    options.shell === "cmd" ? renderCommand(cmd) : renderPowerShell(cmd.tool, cmd.argv);
  const note = (n: PlanNote) => (typeof n === "string" ? `${c}   ${n}` : `${c}     ${render(n.command)}`);
  const lines = options.header.map((h) => `${c} ${h}`);
  steps.forEach((s, i) => {
    lines.push(
      `${c} [${i + 1}/${steps.length}] ${s.type} '${s.name}'${s.commands.length === 0 ? ": no external command" : ""}`,
    );
    for (const n of s.notes) lines.push(note(n));
    for (const cmd of s.commands) lines.push(render(cmd));
    for (const n of s.after) lines.push(note(n));
  });
  return lines;
}

/** The checkout this CLI runs from: the nearest folder above it with winpe-lab's package.json. */
export function findCheckout(from: string = __dirname): string {
  let dir = path.resolve(from);
  for (;;) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as { name?: string };
      if (pkg.name === "winpe-lab") return dir;
    } catch {
      // no package.json here
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find the winpe-lab checkout above ${from}`);
    dir = up;
  }
}

/** A stack's config read for planning, with the notes the reading produced. */
export interface LoadedStack {
  file: string;
  config: StackConfig;
  /** Comment lines for the plan's header (secrets not decrypted, keys not set). */
  notes: string[];
}

/**
 * Read `stacks/Pulumi.<name>.yaml` of a checkout and validate it with the program's schema. `secure:` values
 * are not decrypted: the KDNET key (the only secret the schema has) is replaced by a stand-in that is only ever
 * shown masked, and so is a KDNET key that is not set yet (with a note: `up` refuses the stack until it is).
 *
 * @param checkout - the checkout folder on this host
 * @param stackName - the stack
 * @returns the config and notes
 * @throws StackYamlError or ConfigError naming the file and key
 */
export function loadStackForPlan(checkout: string, stackName: string): LoadedStack {
  if (!/^[A-Za-z0-9_.-]+$/.test(stackName)) {
    throw new AdkArgumentError(`'--stack' must be a stack name like x64 (letters, digits, '.', '_', '-')`);
  }
  const file = path.join(checkout, "stacks", `Pulumi.${stackName}.yaml`);
  if (!fs.existsSync(file)) {
    const known = fs.existsSync(path.join(checkout, "stacks"))
      ? fs
          .readdirSync(path.join(checkout, "stacks"))
          .map((n) => n.match(/^Pulumi\.(.+)\.yaml$/)?.[1])
          .filter((n): n is string => !!n)
      : [];
    throw new StackYamlError(`no such stack file (stacks: ${known.join(", ") || "none"})`, file);
  }
  const notes: string[] = [];
  const doc = readStackYaml(file);
  const raw = pulumiRawConfig(
    doc,
    (at) => {
      if (!at[0]!.startsWith("winpe-lab:")) return undefined;
      if (at.length === 2 && at[0] === "winpe-lab:kdnet" && at[1] === "key") {
        notes.push(`winpe-lab:kdnet.key is a secret (secure:) that plan does not decrypt: shown as ${SECRET_MASK}`);
        return KEY_STAND_IN;
      }
      throw new StackYamlError(
        `'${at.join(".")}' is a secret (secure:), which plan cannot decrypt; only winpe-lab:kdnet.key is a secret setting`,
        file,
      );
    },
    file,
  );
  const obj = rawConfigToObject(raw);
  const kdnet = obj.kdnet;
  if (kdnet && typeof kdnet === "object" && !Array.isArray(kdnet) && !("key" in kdnet)) {
    (kdnet as Record<string, unknown>).key = KEY_STAND_IN;
    notes.push(
      `warning: winpe-lab:kdnet.key is not set: 'pulumi up' refuses the stack until it is (npm run -s pulumi -- config set --secret --path kdnet.key <key> --stack ${stackName}); shown as ${SECRET_MASK}`,
    );
  }
  let config: StackConfig;
  try {
    config = parseStackConfig(obj);
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`invalid stack config in ${file}:\n${e.message}`);
    throw e;
  }
  return { file, config, notes };
}

/**
 * The project's path in this checkout: a relative stack path as is, an absolute one when it lies under `root`
 * (the checkout's Windows folder); undefined otherwise (it is not in this checkout).
 *
 * @param project - `winpe-lab:project` of the stack
 * @param root - the checkout's folder on Windows
 * @param checkout - the checkout's folder on this host
 * @returns the local path, or undefined
 */
export function localProjectPath(project: string, root: string, checkout: string): string | undefined {
  let rel = project;
  if (path.win32.isAbsolute(project) || /^[A-Za-z]:/.test(project)) {
    const key = windowsPathKey(project);
    const rootKey = windowsPathKey(root);
    if (!key.startsWith(`${rootKey}\\`)) return undefined;
    rel = path.win32.normalize(project).slice(rootKey.length + 1);
  }
  return path.join(checkout, ...rel.split(/[\\/]+/).filter((s) => s !== "" && s !== "."));
}

interface Options {
  stack?: string;
  action: "up" | "destroy";
  root?: string;
  shell: AdkShell;
  bcdWriter?: "module" | "bcdedit";
}

function parseArgs(args: readonly string[]): Options | string | "help" {
  const o: Options = { action: "up", shell: "cmd" };
  const seen = new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--help" || a === "-h") return "help";
    const eq = a.indexOf("=");
    const [flag, inline] = a.startsWith("--") && eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
    if (!["--stack", "--action", "--root", "--shell", "--bcd-writer"].includes(flag)) {
      return a.startsWith("-") ? `unknown option '${a}'` : `unexpected argument '${a}'`;
    }
    if (seen.has(flag)) return `${flag} given twice`;
    seen.add(flag);
    const value = inline ?? args[++i];
    if (value === undefined || value === "") return `${flag} needs a value`;
    if (flag === "--stack") o.stack = value;
    else if (flag === "--root") o.root = value;
    else if (flag === "--action") {
      if (value !== "up" && value !== "destroy") return `--action must be up or destroy`;
      o.action = value;
    } else if (flag === "--shell") {
      if (value !== "cmd" && value !== "powershell") return `--shell must be cmd or powershell`;
      o.shell = value;
    } else {
      if (value !== "module" && value !== "bcdedit") return `--bcd-writer must be module or bcdedit`;
      o.bcdWriter = value;
    }
  }
  if (!o.stack) return "--stack is required";
  return o;
}

/**
 * The header comment lines of a plan.
 *
 * @param o - stack, action, root (and whether it is the default), shell, extra notes
 * @returns the lines (without the comment marker)
 */
export function planHeader(o: {
  stackName: string;
  action: "up" | "destroy";
  root: string;
  defaultRoot: boolean;
  shell: AdkShell;
  signing: boolean;
  notes: readonly string[];
}): string[] {
  return [
    `winpe plan: stack '${o.stackName}', action ${o.action}, adk toolchain; checkout root ${o.root}${o.defaultRoot ? " (the default: set --root to the checkout's folder on Windows)" : ""}. Nothing was run.`,
    o.action === "up"
      ? "Every external command the stack's resources run on a clean 'pulumi up', in the program's resource order, one per line."
      : "Every external command the stack's resources run on 'pulumi destroy' after an 'up', in the order Pulumi deletes them, one per line.",
    o.shell === "cmd"
      ? "Native tools: cmd.exe batch-file lines (a % is written %%). Verb-Noun cmdlets: PowerShell statements, each run as powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -Command with $ErrorActionPreference = 'Stop'."
      : "Every line is a PowerShell statement; cmdlets run as powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -Command with $ErrorActionPreference = 'Stop', native tools are started directly with the same arguments.",
    `Secrets show as ${SECRET_MASK}.${o.signing ? ` ${THUMBPRINT_PLACEHOLDER} is the test certificate's thumbprint, known once New-SelfSignedCertificate has run.` : ""}`,
    ...o.notes,
  ];
}

/**
 * Run `winpe plan`.
 *
 * @param args - the arguments after `plan`
 * @returns the exit code: 0 printed, 1 bad stack file or config, 2 bad usage or an open stack
 */
export async function run(args: string[]): Promise<number> {
  const o = parseArgs(args);
  if (o === "help") {
    console.log(USAGE);
    return 0;
  }
  if (typeof o === "string") {
    console.error(`winpe plan: ${o}\n${USAGE}`);
    return 2;
  }
  let root: string;
  try {
    root = windowsPath("root", o.root ?? DEFAULT_ROOT);
  } catch (e) {
    console.error(`winpe plan: --root: ${(e as Error).message}`);
    return 2;
  }
  const checkout = findCheckout();
  let loaded: LoadedStack;
  try {
    loaded = loadStackForPlan(checkout, o.stack!);
  } catch (e) {
    if (e instanceof AdkArgumentError) {
      console.error(`winpe plan: ${e.message}\n${USAGE}`);
      return 2;
    }
    if (e instanceof StackYamlError || e instanceof ConfigError) {
      console.error(`winpe plan: ${e.message}`);
      return 1;
    }
    throw e;
  }
  const { config } = loaded;
  if (config.toolchain !== "adk") {
    console.error(
      `winpe plan: stack '${o.stack}' uses the ${config.toolchain} toolchain: plan prints the Windows commands of adk stacks. ` +
        `An open stack runs on this host: 'npm run -s pulumi -- preview --stack ${o.stack}' shows what it would change, and WINPE_TOOL_LOG records every tool it runs.`,
    );
    return 2;
  }
  const notes = [...loaded.notes];
  let project: AdkProjectFacts | null = null;
  const local = localProjectPath(config.project, root, checkout);
  if (!local) {
    notes.push(`the project ${config.project} is not under --root ${root}, so it is not read from this checkout`);
  } else {
    try {
      project = readAdkProjectFacts(local, config.configuration, config.arch === "amd64" ? "x64" : "ARM64");
    } catch (e) {
      notes.push(`could not read the project ${local}: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  const steps = planStack({
    config,
    stackName: o.stack!,
    root,
    action: o.action,
    bcdWriter: o.bcdWriter,
    project,
  });
  const header = planHeader({
    stackName: o.stack!,
    action: o.action,
    root,
    defaultRoot: o.root === undefined,
    shell: o.shell,
    signing: config.signing,
    notes,
  });
  console.log(renderPlan(steps, { shell: o.shell, header }).join("\n"));
  return 0;
}
