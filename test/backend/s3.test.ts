/**
 * Shared state for a team: Pulumi's self-managed backend on an S3-compatible bucket, with Pulumi's stack locks, on
 * the real engine (Automation API). A real S3 server (gofakes3, test/helpers/s3server.ts) runs on loopback for the
 * test. Two separate checkouts (two program folders, each with its own PULUMI_HOME, WinPE working folder, driver
 * sources, tool log and winpe-lab lock folder: two developers' machines) use one bucket:
 *   checkout A logs the engine in (`pulumi login s3://...`), checkout B sets PULUMI_BACKEND_URL (as scripts/env.sh
 *   passes it through); each runs `up` of its own stack; both stacks are listed from either checkout and from
 *   `npm run -s pulumi` in this repository; B reads A's outputs; a no-op `up` runs no tool; while A's `up` runs, a
 *   second `up` of the same stack is refused by Pulumi's lock; `destroy` leaves both stacks without resources in
 *   the bucket, and `stack rm --remove-backups` leaves nothing of them there.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { LocalWorkspace, type Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runTool } from "../../runtime/exec";
import { copype } from "../../toolchains/open/copype";
import { writeProgram } from "../helpers/demo-stack";
import { pulumiCommand, REPO_ROOT, readToolLog, scratchDir, TEST_PASSPHRASE, TOOLS_BIN } from "../helpers/pulumi";
import { type S3Server, startS3Server } from "../helpers/s3server";

const PROJECT = "winpe-lab"; // the checkout's project name: `npm run -s pulumi -- stack ls` lists these stacks

interface Checkout {
  name: string;
  dir: string;
  program: string;
  workspace: string;
  src: string;
  toolLog: string;
  env: Record<string, string>;
  pristine: Record<string, Buffer>;
  stacks: Map<string, Stack>;
}

describe("shared state in an S3-compatible bucket: two checkouts, Pulumi's stack locks", () => {
  let dir: string;
  let s3: S3Server;
  let a: Checkout;
  let b: Checkout;
  const stacksOf = (c: Checkout, name: string): Stack => {
    const s = c.stacks.get(name);
    if (!s) throw new Error(`${c.name} has no stack ${name} open`);
    return s;
  };

  async function makeCheckout(name: string, backend: "login" | "env"): Promise<Checkout> {
    const cdir = path.join(dir, name);
    const program = path.join(cdir, "program");
    writeProgram(program, PROJECT);
    const src = path.join(cdir, "src");
    fs.cpSync(path.join(REPO_ROOT, "examples", "ioctl"), src, { recursive: true });
    const cp = await copype("amd64", path.join(cdir, "WinPE_amd64"));
    const pristine: Record<string, Buffer> = {};
    for (const s of cp.bcdStores) pristine[s] = fs.readFileSync(s);
    const env: Record<string, string> = {
      PATH: `${TOOLS_BIN}:${process.env.PATH ?? ""}`,
      PULUMI_HOME: path.join(cdir, "pulumi-home"),
      PULUMI_CONFIG_PASSPHRASE: TEST_PASSPHRASE,
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
      PULUMI_NODEJS_TRANSPILE_ONLY: "true",
      GIT_OPTIONAL_LOCKS: "0",
      WINPE_TOOL_LOG: path.join(cdir, "tools.jsonl"),
      // winpe-lab's own workspace locks are per machine: each checkout has its own folder
      WINPE_LAB_LOCK_DIR: path.join(cdir, "locks"),
      ...s3.env,
      // A: the backend comes from `pulumi login` (an empty PULUMI_BACKEND_URL is unset for the CLI);
      // B: from PULUMI_BACKEND_URL, as scripts/env.sh passes it through
      PULUMI_BACKEND_URL: backend === "env" ? s3.backendUrl : "",
    };
    fs.mkdirSync(env.PULUMI_HOME!, { recursive: true });
    if (backend === "login") {
      await runTool(path.join(TOOLS_BIN, "pulumi"), ["login", s3.backendUrl], { env, resource: "test/s3" });
    }
    return {
      name,
      dir: cdir,
      program,
      workspace: cp.dir,
      src,
      toolLog: env.WINPE_TOOL_LOG!,
      env,
      pristine,
      stacks: new Map(),
    };
  }

  async function openStack(c: Checkout, stackName: string): Promise<Stack> {
    const stack = await LocalWorkspace.createOrSelectStack(
      { stackName, workDir: c.program },
      { pulumiCommand: await pulumiCommand(), envVars: c.env },
    );
    c.stacks.set(stackName, stack);
    return stack;
  }

  async function configure(c: Checkout, stack: Stack): Promise<void> {
    await stack.setAllConfig({
      "winpe-lab:toolchain": { value: "open" },
      "winpe-lab:arch": { value: "amd64" },
      "winpe-lab:workspace": { value: c.workspace },
      "winpe-lab:project": { value: path.join(c.src, "ioctl.sln") },
      "winpe-lab:bcd": { value: JSON.stringify({ stores: "both", testsigning: true, debug: true }) },
      "winpe-lab:kdnet": { value: JSON.stringify({ hostIp: "10.0.2.2", port: 50005, key: "7.7.7.7" }), secret: true },
      "winpe-lab:iso": { value: JSON.stringify({ path: path.join(c.dir, "winpe.iso") }) },
      "winpe-lab:vm": { value: JSON.stringify({ bootCheck: false }) },
    });
  }

  const names = (list: Array<{ name: string }>) => list.map((s) => s.name.split("/").pop()).sort();

  beforeAll(async () => {
    // the program folders lie in the checkout's .work/tmp (their imports resolve the checkout's node_modules)
    dir = scratchDir("s3-backend");
    s3 = await startS3Server(path.join(dir, "s3"));
    a = await makeCheckout("checkout-a", "login");
    b = await makeCheckout("checkout-b", "env");
    await configure(a, await openStack(a, "alpha"));
    await configure(b, await openStack(b, "beta"));
  });

  afterAll(async () => {
    for (const c of [a, b]) {
      for (const [name, stack] of c?.stacks ?? []) {
        await stack.workspace.removeStack(name, { force: true }).catch(() => undefined);
      }
    }
    if (s3) await s3.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("the engine is logged in to the bucket (checkout A) and both stacks live in it", async () => {
    const who = await runTool(path.join(TOOLS_BIN, "pulumi"), ["whoami", "--verbose"], {
      env: a.env,
      cwd: a.program,
      resource: "test/s3",
    });
    expect(who.stdout).toContain(`Backend URL: ${s3.backendUrl}`);
    // each stack's checkpoint (and Pulumi's copy of the previous one, .bak)
    const keys = await s3.keys(".pulumi/stacks/");
    expect(keys.filter((k) => !k.endsWith(".bak"))).toEqual([
      `.pulumi/stacks/${PROJECT}/alpha.json`,
      `.pulumi/stacks/${PROJECT}/beta.json`,
    ]);
  });

  it("while A's first up of alpha runs, a second up of alpha (from B) is refused by Pulumi's lock", async () => {
    // B gets alpha's stack file (a team commits them): same config, same passphrase salt
    fs.copyFileSync(path.join(a.program, "Pulumi.alpha.yaml"), path.join(b.program, "Pulumi.alpha.yaml"));
    const bAlpha = await openStack(b, "alpha");
    const lockPrefix = `.pulumi/locks/organization/${PROJECT}/alpha/`;
    expect(await s3.keys(lockPrefix)).toEqual([]);

    const first = stacksOf(a, "alpha").up();
    let firstDone = false;
    const firstResult = first.finally(() => {
      firstDone = true;
    });
    // wait until A holds the lock (its lock object is in the bucket)
    const deadline = Date.now() + 60_000;
    let locks: string[] = [];
    while (Date.now() < deadline && !firstDone) {
      locks = await s3.keys(lockPrefix);
      if (locks.length > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(locks).toHaveLength(1);
    const holder = JSON.parse((await s3.get(locks[0]!)) ?? "{}") as { pid?: number; hostname?: string };
    expect(Number.isInteger(holder.pid)).toBe(true);

    const marks = readToolLog(b.toolLog).length;
    const second = await bAlpha.up().then(
      () => undefined,
      (e: Error) => e,
    );
    expect(second).toBeInstanceOf(Error);
    const message = String(second?.message);
    console.log(`the second up, refused: ${message.split("\n").find((l) => l.includes("currently locked"))}`);
    expect(message).toContain("the stack is currently locked by 1 lock(s)");
    expect(message).toContain("wait for the other process(es) to end or delete the lock file with `pulumi cancel`");
    expect(message).toContain(`(pid ${holder.pid})`);
    expect(message).toContain(`s3://${s3.bucket}/${lockPrefix}`);
    expect(readToolLog(b.toolLog).slice(marks)).toEqual([]); // the refused up ran nothing
    expect(firstDone).toBe(false); // refused while A was still running

    const r = await firstResult;
    expect(r.summary.result).toBe("succeeded");
    expect(r.outputs.isoPath.value).toBe(path.join(a.dir, "winpe.iso"));
    expect(await s3.keys(lockPrefix)).toEqual([]); // A released its lock; B left none behind
  });

  it("B's up of its own stack beta succeeds in the same bucket", async () => {
    const r = await stacksOf(b, "beta").up();
    expect(r.summary.result).toBe("succeeded");
    expect(fs.existsSync(path.join(b.dir, "winpe.iso"))).toBe(true);
  });

  it("both stacks are listed from either checkout and from `npm run -s pulumi` in this repository", async () => {
    for (const c of [a, b]) {
      const list = await stacksOf(c, c === a ? "alpha" : "beta").workspace.listStacks();
      expect(names(list)).toEqual(["alpha", "beta"]);
      for (const s of list) expect(s.resourceCount ?? 0).toBeGreaterThan(0);
    }
    const r = await runTool("bash", [path.join(REPO_ROOT, "scripts", "pulumi.sh"), "stack", "ls", "--json"], {
      cwd: REPO_ROOT,
      env: { ...s3.env, PULUMI_BACKEND_URL: s3.backendUrl, PULUMI_CONFIG_PASSPHRASE: TEST_PASSPHRASE },
      resource: "test/s3",
    });
    expect(names(JSON.parse(r.stdout) as Array<{ name: string }>)).toEqual(["alpha", "beta"]);
  });

  it("one checkout reads the other's outputs (`stack output`)", async () => {
    const own = await stacksOf(a, "alpha").outputs();
    const seenFromB = await stacksOf(b, "beta").workspace.stackOutputs("alpha");
    expect(seenFromB.isoDigest.value).toBe(own.isoDigest.value);
    expect(seenFromB.isoPath.value).toBe(path.join(a.dir, "winpe.iso"));
    expect(seenFromB.injectedFiles.value).toEqual(own.injectedFiles.value);
    // and through the repository's own wrapper, with the bucket in PULUMI_BACKEND_URL
    const r = await runTool(
      "bash",
      [path.join(REPO_ROOT, "scripts", "pulumi.sh"), "stack", "output", "--json", "--stack", "beta"],
      {
        cwd: REPO_ROOT,
        env: { ...s3.env, PULUMI_BACKEND_URL: s3.backendUrl, PULUMI_CONFIG_PASSPHRASE: TEST_PASSPHRASE },
        resource: "test/s3",
      },
    );
    const beta = await stacksOf(b, "beta").outputs();
    expect(JSON.parse(r.stdout).isoDigest).toBe(beta.isoDigest.value);
  });

  it("a no-op up of each stack runs no tool", async () => {
    for (const [c, name] of [
      [a, "alpha"],
      [b, "beta"],
    ] as const) {
      const mark = readToolLog(c.toolLog).length;
      const r = await stacksOf(c, name).up();
      const changes = r.summary.resourceChanges ?? {};
      expect(Object.keys(changes)).toEqual(["same"]);
      expect(readToolLog(c.toolLog).slice(mark)).toEqual([]);
    }
  });

  it("destroy leaves both stacks in the bucket without resources; stack rm --remove-backups leaves nothing of them", async () => {
    for (const [c, name] of [
      [a, "alpha"],
      [b, "beta"],
    ] as const) {
      const r = await stacksOf(c, name).destroy();
      expect(r.summary.result).toBe("succeeded");
      for (const [store, bytes] of Object.entries(c.pristine)) expect(fs.readFileSync(store).equals(bytes)).toBe(true);
      expect(fs.existsSync(path.join(c.dir, "winpe.iso"))).toBe(false);
    }
    for (const name of ["alpha", "beta"]) {
      const text = await s3.get(`.pulumi/stacks/${PROJECT}/${name}.json`);
      const checkpoint = JSON.parse(text ?? "{}") as { checkpoint?: { latest?: { resources?: unknown[] } } };
      expect(checkpoint.checkpoint?.latest?.resources ?? []).toEqual([]);
    }
    expect(await s3.keys(".pulumi/locks/")).toEqual([]);
    // `stack rm --remove-backups` takes the checkpoint, its .bak, the history and the backups out of the bucket
    for (const [c, name] of [
      [a, "alpha"],
      [b, "beta"],
    ] as const) {
      await runTool(path.join(TOOLS_BIN, "pulumi"), ["stack", "rm", "--yes", "--remove-backups", "--stack", name], {
        cwd: c.program,
        env: c.env,
        resource: "test/s3",
      });
    }
    a.stacks.clear();
    b.stacks.clear();
    const left = await s3.keys(".pulumi/");
    expect(left.filter((k) => /^\.pulumi\/(stacks|locks|history|backups)\//.test(k))).toEqual([]);
    for (const k of left) expect(await s3.get(k)).not.toMatch(/winpe-lab:(BcdSettings|WinPeIso|DriverBuild)/);
    console.log(`the bucket after stack rm: ${left.join(", ") || "(empty)"}`);
  });
});
