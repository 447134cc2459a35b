/**
 * The Pulumi engine run with this checkout out of sight: a `pulumi` command (for the Automation API, or run
 * directly) that enters a private mount namespace (`unshare --mount`, as root: these machines and CI run as root),
 * bind-mounts the checkout's engine binaries (.tools/bin) at a folder outside the checkout, mounts an empty,
 * read-only tmpfs over the checkout (and over its node_modules when that is a link to elsewhere), and runs the
 * engine from there. Every process of an engine run (the CLI, the language host, the program, the dynamic
 * providers, the tools they start) lives in that namespace: none can read the checkout's dist/, sources or
 * node_modules. The checkout itself is not changed (the mounts exist only inside the namespace).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { PulumiCommand } from "@pulumi/pulumi/automation";
import { REPO_ROOT, TOOLS_BIN } from "../helpers/pulumi";

export interface HiddenEngine {
  /** The `pulumi` wrapper (outside the checkout). */
  pulumi: string;
  /** Where the engine binaries appear inside the namespace: put it first on PATH. */
  engineBin: string;
  /** The folders hidden inside the namespace. */
  hidden: string[];
  /** The wrapper as an Automation API command. */
  command(): Promise<PulumiCommand>;
  /** PATH for engine runs: the engine folder, then the system's PATH without anything inside the checkout. */
  path(): string;
}

const q = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

/** Write the wrapper under `dir` (outside the checkout). */
export function hiddenCheckoutEngine(dir: string): HiddenEngine {
  if (!fs.existsSync(path.join(TOOLS_BIN, "pulumi"))) {
    throw new Error(`the Pulumi engine is not built (${TOOLS_BIN}/pulumi missing): run 'npm run setup'`);
  }
  if (path.resolve(dir).startsWith(`${REPO_ROOT}${path.sep}`)) throw new Error(`${dir} is inside the checkout`);
  const engineBin = path.join(dir, "engine-bin");
  fs.mkdirSync(engineBin, { recursive: true });
  const hidden = [REPO_ROOT];
  const modules = fs.realpathSync(path.join(REPO_ROOT, "node_modules"));
  if (!modules.startsWith(`${REPO_ROOT}${path.sep}`)) hidden.push(modules);
  const root = path.join(dir, "pulumi-cmd");
  const pulumi = path.join(root, "bin", "pulumi");
  fs.mkdirSync(path.dirname(pulumi), { recursive: true });
  fs.writeFileSync(
    pulumi,
    [
      "#!/bin/bash",
      "# written by test/package/hidden-checkout.ts: the Pulumi CLI with the winpe-lab checkout hidden",
      "set -euo pipefail",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a bash parameter expansion, not a template
      'if [ "${WINPE_HIDDEN_NS:-}" != 1 ]; then',
      '  WINPE_HIDDEN_NS=1 exec unshare --mount --propagation private -- "$0" "$@"',
      "fi",
      "unset WINPE_HIDDEN_NS",
      `mount --bind ${q(TOOLS_BIN)} ${q(engineBin)}`,
      ...hidden.map((h) => `mount -t tmpfs -o size=64k,mode=0555 winpe-lab-hidden ${q(h)}`),
      `exec ${q(path.join(engineBin, "pulumi"))} "$@"`,
      "",
    ].join("\n"),
    { mode: 0o755 },
  );
  const systemPath = (process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin")
    .split(":")
    .filter((p) => p && !hidden.some((h) => p === h || p.startsWith(`${h}${path.sep}`)));
  return {
    pulumi,
    engineBin,
    hidden,
    command: () => PulumiCommand.get({ root, skipVersionCheck: true }),
    path: () => [engineBin, ...systemPath].join(":"),
  };
}
