/**
 * `npm run -s pulumi` removes a stack lock left by a killed `pulumi` (same host, pid gone) and says so; a lock
 * whose process still runs stays. (Pulumi 3.248's file backend never finds its own locks stale.)
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runTool } from "../../runtime/exec";
import { REPO_ROOT, scratchDir } from "../helpers/pulumi";

describe("stale Pulumi stack locks", () => {
  const dir = scratchDir("stale-lock");
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("a dead holder's lock is removed with a notice; a live holder's lock stays", async () => {
    const locks = path.join(dir, "state", ".pulumi", "locks", "organization", "winpe-lab", "demo-locktest");
    fs.mkdirSync(locks, { recursive: true });
    const dead = path.join(locks, "11111111-1111-1111-1111-111111111111.json");
    const live = path.join(locks, "22222222-2222-2222-2222-222222222222.json");
    // a pid that is not running: a child that has exited
    const gone = await runTool("bash", ["-c", "echo $$"]);
    const deadPid = Number(gone.stdout.trim());
    fs.writeFileSync(dead, JSON.stringify({ pid: deadPid, username: "u", hostname: os.hostname(), timestamp: "t" }));
    fs.writeFileSync(`${dead}.attrs`, "");
    fs.writeFileSync(
      live,
      JSON.stringify({ pid: process.pid, username: "u", hostname: os.hostname(), timestamp: "t" }),
    );
    const r = await runTool(
      "bash",
      [path.join(REPO_ROOT, "scripts", "pulumi.sh"), "stack", "ls", "--stack", "demo-locktest"],
      {
        env: { PULUMI_BACKEND_URL: `file://${path.join(dir, "state")}`, PULUMI_HOME: path.join(dir, "home") },
        okExitCodes: [0, 1, 255],
      },
    );
    expect(r.stderr).toMatch(
      new RegExp(`removed the lock of stack demo-locktest left by a killed pulumi \\(pid ${deadPid}`),
    );
    expect(fs.existsSync(dead)).toBe(false);
    expect(fs.existsSync(`${dead}.attrs`)).toBe(false);
    expect(fs.existsSync(live)).toBe(true);
  });
});
