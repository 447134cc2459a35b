/**
 * The adk stacks on Linux: `pulumi preview` fails fast with one clear line saying the adk toolchain needs
 * Windows, never a stack trace — through the real engine, and through `npm run -s pulumi`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runTool } from "../../runtime/exec";
import { writeProgram } from "../helpers/demo-stack";
import { openStack, REPO_ROOT, scratchDir } from "../helpers/pulumi";

describe("adk stack on Linux", () => {
  const dir = scratchDir("adk-linux");
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("the program (real engine) stops with the one-line adk message, no stack trace", async () => {
    const program = path.join(dir, "program");
    writeProgram(program);
    const stack = await openStack(program, "x64", path.join(dir, "state"));
    await stack.setAllConfig({
      "winpe-lab:toolchain": { value: "adk" },
      "winpe-lab:arch": { value: "amd64" },
      "winpe-lab:workspace": { value: "D:\\WinPE_amd64" },
      "winpe-lab:project": { value: "examples\\ioctl\\ioctl.sln" },
      "winpe-lab:iso": { value: JSON.stringify({ path: "D:\\WinPE_amd64\\winpe_x64_debug.iso" }) },
    });
    const err = await stack.preview().then(
      () => "",
      (e: Error) => e.message,
    );
    expect(err).toMatch(/stack 'x64' uses the adk toolchain .* which needs Windows/);
    expect(err).not.toMatch(/\n\s+at .*\.(ts|js):\d+/);
  });

  it("npm run -s pulumi -- preview --stack x64 prints one line and exits non-zero", async () => {
    const r = await runTool("bash", [path.join(REPO_ROOT, "scripts", "pulumi.sh"), "preview", "--stack", "x64"], {
      okExitCodes: [1],
      env: { PULUMI_CONFIG_PASSPHRASE: undefined },
    });
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/adk toolchain .* needs Windows/);
  });
});
