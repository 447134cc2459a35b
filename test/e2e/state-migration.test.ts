/**
 * A state written by the previous layout (before resources were declared once and states carried a
 * `stateVersion`: test/fixtures/state-v0/README.md) is read by today's code on the real engine: preview and up see
 * no change to any old resource and run no tool for them (the old states migrate as they are read, validated); the
 * one change is the driver test (issue 17), which the old program did not have: it is created, and its tools are
 * the only ones that run; a second up is a no-op. Destroy undoes everything
 * that old up did: the BCD stores byte-identical to their pristine copies, boot.wim without what was injected, no
 * ISO, no build outputs, no bookkeeping.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256 } from "../../runtime/digest";
import { runTool } from "../../runtime/exec";
import { opsByType } from "../helpers/demo-stack";
import { openStack, REPO_ROOT, readToolLog, writeWinpeProgram } from "../helpers/pulumi";
import { wimContent } from "../helpers/wim";

const FIXTURE = path.join(REPO_ROOT, "test", "fixtures", "state-v0");
/** Where the recorded world lived (its paths are absolute, the ledger's keys too): it is unpacked there again. */
const ROOT = "/tmp/wlstate";
const STACK = "state-v0";

describe("state migration: a version-0 state is read, diffed and destroyed by today's code", () => {
  let stack: Stack;
  const toolLog = path.join(ROOT, "tools.jsonl");
  const pristine: Record<string, Buffer> = {};
  const stores = ["EFI/Microsoft/Boot/BCD", "Boot/BCD"].map((r) => path.join(ROOT, "WinPE_amd64", "media", r));

  beforeAll(async () => {
    fs.rmSync(ROOT, { recursive: true, force: true });
    fs.mkdirSync(ROOT, { recursive: true });
    await runTool("tar", ["xzf", path.join(FIXTURE, "world.tgz"), "-C", ROOT]);
    fs.symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(ROOT, "node_modules"));
    const program = path.join(ROOT, "prog");
    writeWinpeProgram(program);
    // today's provider shells load `winpe-lab/providers/<name>` by module resolution from the program's folder,
    // which lies outside the checkout here: it gets winpe-lab as an installed package would be (the checkout)
    fs.mkdirSync(path.join(program, "node_modules"), { recursive: true });
    fs.symlinkSync(REPO_ROOT, path.join(program, "node_modules", "winpe-lab"));
    fs.copyFileSync(path.join(FIXTURE, `Pulumi.${STACK}.yaml`), path.join(program, `Pulumi.${STACK}.yaml`));
    stack = await openStack(program, STACK, path.join(ROOT, "state"), {
      WINPE_TOOL_LOG: toolLog,
      WINPE_LAB_LOCK_DIR: path.join(ROOT, "locks"),
    });
    const deployment = JSON.parse(fs.readFileSync(path.join(FIXTURE, "state.json"), "utf8"));
    await stack.importStack(deployment);
    // the pristine copies the old BcdSettings kept (its state names them, as a secret: found by their names here)
    const dir = path.join(ROOT, "WinPE_amd64", ".winpe-lab", "bcd");
    for (const s of stores) pristine[s] = fs.readFileSync(path.join(dir, `pristine-${sha256(s).slice(0, 16)}.bcd`));
  }, 120_000);

  afterAll(() => {
    fs.rmSync(ROOT, { recursive: true, force: true });
  });

  it("has the old state: nine resources of ours, none with a stateVersion", async () => {
    const d = await stack.exportStack();
    const ours = d.deployment.resources.filter((r: { type: string }) => r.type.startsWith("pulumi-nodejs:dynamic"));
    expect(ours).toHaveLength(9);
    for (const r of ours) expect(r.outputs.stateVersion, r.urn).toBeUndefined();
  });

  it("preview and up: the up changes nothing but the new DriverTest's create; only the driver test runs tools", async () => {
    // the old state predates the driver test (issue 17): its create is the one change, every old resource is the same
    const events: EngineEvent[] = [];
    const p = await stack.preview({ onEvent: (e) => events.push(e) });
    // one preview-only artifact of an upgrade: the WIM's and the ISO's identities are ImageCommit's `wimDigest` and
    // WinPeIso's `digest` since their v2; the old state stores them as `wimSha256` and `sha256`, and Pulumi resolves
    // an output a stored state lacks as unknown in a preview, so WinPeIso and VmBootMedia (whose inputs come from
    // them) show as possible updates. The up below knows the values (the program falls back to the stored sha256s)
    // and changes nothing there.
    expect(p.changeSummary).toEqual({ same: 8, create: 1, update: 2 });
    expect(opsByType(events).create).toEqual(["DriverTest"]);
    expect(opsByType(events).update).toEqual(["VmBootMedia", "WinPeIso"]);
    const u = await stack.up();
    expect(u.summary.resourceChanges).toEqual({ same: 10, create: 1 });
    const tools = readToolLog(toolLog);
    expect(tools.length).toBeGreaterThan(0);
    for (const t of tools) expect(String(t.resource), JSON.stringify(t)).toMatch(/^DriverTest\(/);
    expect((u.outputs.driverTest.value as { verdict: string }).verdict).toBe("pass");
    // and now nothing at all
    const again = await stack.up();
    expect(again.summary.resourceChanges).toEqual({ same: 11 });
    expect(readToolLog(toolLog)).toHaveLength(tools.length);
  }, 300_000);

  it("destroy undoes the old up: BCD stores byte-identical, boot.wim as copype made it, nothing left", async () => {
    const r = await stack.destroy();
    expect(r.summary.result).toBe("succeeded");
    for (const s of stores) expect(fs.readFileSync(s).equals(pristine[s]!), s).toBe(true);
    const wim = await wimContent(path.join(ROOT, "WinPE_amd64", "media", "sources", "boot.wim"), ROOT);
    expect(Object.keys(wim).filter((k) => k.startsWith("Windows/Ioctl"))).toEqual([]);
    expect(fs.existsSync(path.join(ROOT, "out", "winpe_amd64.iso"))).toBe(false);
    expect(fs.existsSync(path.join(ROOT, "WinPE_amd64", "build"))).toBe(false);
    expect(fs.existsSync(path.join(ROOT, "WinPE_amd64", ".winpe-lab"))).toBe(false);
    expect(fs.readdirSync(path.join(ROOT, "WinPE_amd64", "mount"))).toEqual([]);
    const state = await stack.exportStack();
    expect(state.deployment.resources ?? []).toHaveLength(0);
  });
});
