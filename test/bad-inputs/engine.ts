/**
 * The real program (`index.ts`) on the real engine, for the bad-config cases: a scratch program folder under
 * `.work/tmp` holding a copy of `index.ts` (imports rewritten to the repo's `resources/`) and a Pulumi.yaml, one
 * stack in a scratch file backend; each case writes the stack's config file and runs `pulumi up`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { openStack, REPO_ROOT, scratchDir, TOOLS_BIN, writeWinpeProgram } from "../helpers/pulumi";
import type { Outcome } from "./workspace";

const STACK = "bad-inputs";

export class EngineProgram {
  private dir?: string;
  private program?: string;
  private stack?: Stack;
  private salt = "";

  /** Whether the engine is built (npm run setup); the engine cases are skipped with a note when it is not. */
  static available(): boolean {
    return fs.existsSync(path.join(TOOLS_BIN, "pulumi")) && fs.existsSync(path.join(REPO_ROOT, "dist", "resources"));
  }

  private async open(): Promise<Stack> {
    if (this.stack) return this.stack;
    this.dir = scratchDir("bad-inputs-engine");
    this.program = path.join(this.dir, "program");
    fs.mkdirSync(this.program);
    writeWinpeProgram(this.program);
    this.stack = await openStack(this.program, STACK, path.join(this.dir, "state"));
    const cfgFile = path.join(this.program, `Pulumi.${STACK}.yaml`);
    if (fs.existsSync(cfgFile)) this.salt = /^encryptionsalt:.*$/m.exec(fs.readFileSync(cfgFile, "utf8"))?.[0] ?? "";
    return this.stack;
  }

  /**
   * `pulumi up` of the program with `config` (keys with the `winpe-lab:` namespace, values as in a stack file)
   * as the whole stack config. Resolves with how it failed (or `ok` when it did not).
   */
  async up(config: Record<string, unknown>): Promise<Outcome> {
    const stack = await this.open();
    // YAML is a superset of JSON: the stack file is written as JSON, exactly as given
    const text = `${this.salt ? `${this.salt}\n` : ""}config: ${JSON.stringify(config)}\n`;
    fs.writeFileSync(path.join(this.program!, `Pulumi.${STACK}.yaml`), text);
    let output = "";
    try {
      await stack.up({ onOutput: (s) => (output += s), color: "never" });
      return { kind: "ok", detail: output.slice(-300) };
    } catch (e) {
      const err = e as Error & { commandResult?: { stdout?: string; stderr?: string } };
      // onOutput saw stdout; the error adds stderr (its stdout is the same text again)
      const all = `${output}\n${err.commandResult?.stderr ?? ""}`;
      return { kind: "engine", message: engineMessage(output) || engineMessage(all), output: all };
    }
  }

  /**
   * After a case: destroy what a failed `up` created anyway (a failed up keeps what it made in the state), so the
   * next case starts from an empty stack. Call it after the workspace was compared.
   */
  async reset(): Promise<void> {
    if (!this.stack) return;
    const state = await this.stack.exportStack();
    if ((state.deployment.resources ?? []).length > 0) await this.stack.destroy({ color: "never" });
  }

  async dispose(): Promise<void> {
    if (this.stack) await this.stack.workspace.removeStack(STACK, { force: true }).catch(() => undefined);
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * The program's error as the engine shows it: the `error:` diagnostics in the Diagnostics section of `pulumi up`'s
 * output (each with its continuation lines), without Pulumi's own summary lines.
 */
export function engineMessage(output: string): string {
  const lines = output.split("\n");
  const at = lines.findIndex((l) => l.trim() === "Diagnostics:");
  if (at < 0) return "";
  const out: string[] = [];
  let inDiag = false;
  for (const l of lines.slice(at + 1)) {
    const t = l.trimEnd();
    if (t === "" || /^\S/.test(t)) break; // end of the section
    if (/^\s*error: /.test(t)) {
      if (/update failed|preview failed/.test(t)) continue;
      inDiag = true;
      out.push(t.replace(/^\s*error: /, ""));
    } else if (/^\s*(warning|info): /.test(t) || /^\s{0,3}\S/.test(t)) {
      inDiag = false; // another diagnostic or another resource's heading
    } else if (inDiag) out.push(t.trim());
  }
  return out.join("\n").trim();
}
