/**
 * Smoke e2e: the real Pulumi engine (built from Go modules by scripts/build-engine.sh) through the Automation
 * API, on a tiny program with one dynamic resource of ours and one @pulumi/command local.Command.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStack, REPO_ROOT, readToolLog, scratchDir } from "../helpers/pulumi";

describe("smoke: real engine, dynamic resource + local.Command", () => {
  let dir: string;
  let stack: Stack;
  let toolLog: string;
  const changes = (summary: { resourceChanges?: Record<string, number> }) => summary.resourceChanges ?? {};

  beforeAll(async () => {
    dir = scratchDir("smoke");
    const program = path.join(dir, "program");
    fs.mkdirSync(program);
    const yaml = fs.readFileSync(path.join(__dirname, "smoke-program", "Pulumi.yaml"), "utf8");
    const plugins = `plugins:\n  providers:\n    - name: command\n      version: 1.2.1\n      path: ${path.join(REPO_ROOT, ".tools", "bin")}\n`;
    fs.writeFileSync(path.join(program, "Pulumi.yaml"), `${yaml}${plugins}`);
    const rel = path
      .relative(program, path.join(REPO_ROOT, "resources", "tool-probe"))
      .split(path.sep)
      .join("/");
    const source = fs
      .readFileSync(path.join(__dirname, "smoke-program", "index.ts"), "utf8")
      .replace("../../../resources/tool-probe", rel);
    fs.writeFileSync(path.join(program, "index.ts"), source);
    toolLog = path.join(dir, "tools.jsonl");
    stack = await openStack(program, "smoke", path.join(dir, "state"), { WINPE_TOOL_LOG: toolLog });
    await stack.setConfig("greeting", { value: "hello" });
  });

  afterAll(async () => {
    if (stack) await stack.workspace.removeStack("smoke", { force: true }).catch(() => undefined);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("preview lists the creates", async () => {
    const r = await stack.preview();
    expect(r.changeSummary).toEqual({ create: 3 }); // stack + 2 resources
  });

  it("up creates both resources and records the dynamic resource's tool run", async () => {
    const r = await stack.up();
    expect(r.summary.result).toBe("succeeded");
    expect(changes(r.summary)).toEqual({ create: 3 });
    expect(r.outputs.echoed.value).toBe("hello");
    expect(String(r.outputs.toolVersion.value)).toMatch(/xorriso/i);
    const lines = readToolLog(toolLog);
    const probe = lines.filter((l) => l.tool === "xorriso");
    expect(probe).toHaveLength(1);
    expect(probe[0]).toMatchObject({ argv: ["-version"], exitCode: 0, resource: "ToolProbe(xorriso)" });
    expect(typeof probe[0].durationMs).toBe("number");
    expect(typeof probe[0].cwd).toBe("string");
  });

  it("a second up reports no changes and runs no tool", async () => {
    const before = readToolLog(toolLog).length;
    const r = await stack.up();
    expect(changes(r.summary)).toEqual({ same: 3 });
    expect(readToolLog(toolLog).length).toBe(before);
  });

  it("a changed input shows as an update in preview and up", async () => {
    await stack.setConfig("greeting", { value: "bonjour" });
    const p = await stack.preview();
    expect(p.changeSummary).toEqual({ same: 2, update: 1 });
    const r = await stack.up();
    expect(changes(r.summary)).toEqual({ same: 2, update: 1 });
    expect(r.outputs.echoed.value).toBe("bonjour");
  });

  it("destroy removes both and leaves the stack empty", async () => {
    const r = await stack.destroy();
    expect(changes(r.summary)).toEqual({ delete: 3 });
    const state = await stack.exportStack();
    expect(state.deployment.resources ?? []).toHaveLength(0);
  });
});
