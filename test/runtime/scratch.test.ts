/**
 * Scratch folders (runtime/scratch.ts): a step killed with SIGKILL cannot remove its own scratch folder (the signing
 * step's holds a copy of the private key); the next scratch folder made by any step removes those of dead writers,
 * and nothing else. Real processes, real folders.
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { scratchDir, sweepScratch } from "../../runtime/scratch";

const made: string[] = [];
afterEach(() => {
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function parent(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "scratch-test-"));
  made.push(d);
  return d;
}

/** The pid of a process that ran and has ended. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(r.stdout);
}

describe("scratch folders of killed steps are removed by the next step", () => {
  it("a dead writer's folders (any kind, with their files) go; a live writer's, a link and other names stay", async () => {
    const p = parent();
    const dead = deadPid();
    const live = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
    try {
      const deadSign = path.join(p, `winpe-sign-${dead}-AbC123`);
      const deadBuild = path.join(p, `winpe-build-${dead}-xyz789`);
      const liveSign = path.join(p, `winpe-sign-${live.pid}-Qwe456`);
      const other = path.join(p, `winpe-sign-notapid-Qwe456`);
      const elsewhere = path.join(p, "elsewhere");
      const link = path.join(p, `winpe-boot-${dead}-LnK000`);
      for (const d of [deadSign, deadBuild, liveSign, other, elsewhere]) fs.mkdirSync(d);
      fs.writeFileSync(path.join(deadSign, "key.pem"), "-----BEGIN PRIVATE KEY-----\n");
      fs.writeFileSync(path.join(elsewhere, "keep.txt"), "mine");
      fs.symlinkSync(elsewhere, link);

      const fresh = scratchDir("sign", p);
      expect(path.basename(fresh)).toMatch(new RegExp(`^winpe-sign-${process.pid}-[A-Za-z0-9]{6}$`));
      expect(fs.statSync(fresh).mode & 0o777).toBe(0o700);
      expect(fs.existsSync(deadSign)).toBe(false);
      expect(fs.existsSync(deadBuild)).toBe(false);
      expect(fs.existsSync(liveSign)).toBe(true);
      expect(fs.existsSync(other)).toBe(true);
      expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
      expect(fs.readFileSync(path.join(elsewhere, "keep.txt"), "utf8")).toBe("mine");
      // this process's own folders are never swept
      expect(sweepScratch(p)).toEqual([]);
      expect(fs.existsSync(fresh)).toBe(true);
    } finally {
      live.kill("SIGKILL");
    }
  });

  it("a signing step killed with SIGKILL leaves its folder; the next step's scratch folder removes it", async () => {
    const p = parent();
    const child = spawn(
      process.execPath,
      [
        "-r",
        "ts-node/register/transpile-only",
        "-e",
        `const s = require(${JSON.stringify(path.resolve(__dirname, "../../runtime/scratch"))});
         const d = s.scratchDir("sign", ${JSON.stringify(p)});
         require("node:fs").writeFileSync(d + "/key.pem", "secret");
         process.stdout.write(d + "\\n");
         setTimeout(() => {}, 60000);`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const dir = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (b: Buffer) => {
        out += b.toString();
        if (out.includes("\n")) resolve(out.trim());
      });
      child.on("exit", (code) => reject(new Error(`child ended (${code}) before it made its folder`)));
    });
    expect(fs.readFileSync(path.join(dir, "key.pem"), "utf8")).toBe("secret");
    child.kill("SIGKILL");
    await new Promise((r) => child.on("exit", r));
    expect(fs.existsSync(dir)).toBe(true); // the kill left it
    const next = scratchDir("build", p);
    expect(fs.existsSync(dir)).toBe(false);
    expect(fs.existsSync(next)).toBe(true);
  });
});
