/**
 * Ways to stop a `pulumi up` at an exact point (test-only machinery; the product never runs through a shell):
 *
 * - a **tool wrapper**: a small bash script named like the tool, first on PATH, which for the N-th run whose argv
 *   contains given words either pauses before the tool starts (`before`), runs the tool and pauses before
 *   returning (`after`), starts the tool and lets it run (`start`), or runs the tool with a preloaded library that
 *   stops it (SIGSTOP) right after its N-th write to a given file (`torn`), so the kill lands mid-write;
 * - a **rename hook**: a Node preload (`NODE_OPTIONS=--require`) in the engine's Node processes (the dynamic
 *   provider among them) that pauses `fs.renameSync` onto a given path, before or after the rename: the kill then
 *   lands inside an atomic write (temporary file complete, rename pending) or right after it (file replaced, the
 *   provider not yet returned);
 * - a **product hook**: environment variables a step reads to pause itself at a point of its own (the in-place ISO
 *   update's `WINPE_LAB_FAULT_ISO_UPDATE`: after its journal, after the n-th write into the ISO), writing
 *   `WINPE_LAB_FAULT_SIGNAL` when it gets there.
 *
 * Each signals the test by creating a file (`signalFile`); the test then kills the whole process tree.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { runTool } from "../../runtime/exec";

export type WrapperMode = "before" | "after" | "start" | "torn";

export interface ToolFault {
  kind: "tool";
  /** The tool's name as the product runs it (PATH lookup), e.g. `wimlib-imagex`. */
  tool: string;
  /** Words that must all be argv elements of the run to count, e.g. `["update"]`. */
  args: string[];
  /** Which matching run (1-based). @default 1 */
  nth?: number;
  mode: WrapperMode;
  /** torn: substring of the written file's path, and after which write to stop. */
  writePath?: string;
  writeNth?: number;
}

export interface RenameFault {
  kind: "rename";
  /** Absolute path the rename targets (exact) or, with `suffix`, its ending. */
  target: string;
  suffix?: boolean;
  nth?: number;
  when: "before" | "after";
}

export interface EventFault {
  kind: "event";
  /** Kill when an engine event (from `--event-log`) satisfies this. */
  match: (event: Record<string, unknown>) => boolean;
}

export interface HookFault {
  kind: "hook";
  /** The step's own pause variables, e.g. `{ WINPE_LAB_FAULT_ISO_UPDATE: "3" }`. */
  env: Record<string, string>;
}

export type Fault = ToolFault | RenameFault | EventFault | HookFault;

/** Find a program on PATH (the real tool a wrapper execs). */
export function whichTool(tool: string, pathEnv = process.env.PATH ?? ""): string {
  for (const dir of pathEnv.split(":")) {
    if (!dir) continue;
    const p = path.join(dir, tool);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      // next
    }
  }
  throw new Error(`fault suite: '${tool}' is not on PATH`);
}

function bashQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

const PRELOAD_C = String.raw`
/* fault suite: stop the process (SIGSTOP) right after its N-th write to a file whose path contains a pattern */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static long hits = 0;

static void after_write(int fd) {
  const char *pattern = getenv("WINPE_FAULT_WRITE_PATH");
  const char *nth = getenv("WINPE_FAULT_WRITE_NTH");
  const char *sig = getenv("WINPE_FAULT_SIGNAL");
  if (!pattern || !nth || !sig) return;
  char link[64], target[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, target, sizeof target - 1);
  if (n <= 0) return;
  target[n] = 0;
  if (!strstr(target, pattern)) return;
  if (++hits != atol(nth)) return;
  int s = open(sig, O_CREAT | O_WRONLY | O_TRUNC, 0644);
  if (s >= 0) {
    dprintf(s, "%d %s\n", (int)getpid(), target);
    close(s);
  }
  raise(SIGSTOP);
}

#define REAL(name) static __typeof__(name) *real_##name; if (!real_##name) real_##name = (__typeof__(name) *)dlsym(RTLD_NEXT, #name)

ssize_t write(int fd, const void *buf, size_t count) {
  REAL(write);
  ssize_t r = real_write(fd, buf, count);
  if (r > 0) after_write(fd);
  return r;
}
ssize_t pwrite(int fd, const void *buf, size_t count, off_t off) {
  REAL(pwrite);
  ssize_t r = real_pwrite(fd, buf, count, off);
  if (r > 0) after_write(fd);
  return r;
}
ssize_t pwrite64(int fd, const void *buf, size_t count, off_t off) {
  REAL(pwrite64);
  ssize_t r = real_pwrite64(fd, buf, count, off);
  if (r > 0) after_write(fd);
  return r;
}
ssize_t writev(int fd, const struct iovec *iov, int cnt) {
  REAL(writev);
  ssize_t r = real_writev(fd, iov, cnt);
  if (r > 0) after_write(fd);
  return r;
}
ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off) {
  REAL(pwritev);
  ssize_t r = real_pwritev(fd, iov, cnt, off);
  if (r > 0) after_write(fd);
  return r;
}
`;

/** Build the write-stopping preload library (with the project's clang) into `dir`; returns its path. */
export async function buildPreload(dir: string): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  const src = path.join(dir, "fault-preload.c");
  const so = path.join(dir, "fault-preload.so");
  fs.writeFileSync(src, PRELOAD_C);
  await runTool("clang", ["-shared", "-fPIC", "-O1", "-o", so, src, "-ldl"]);
  return so;
}

const RENAME_HOOK_JS = `// fault suite (test only): pause fs.renameSync onto one path; see test/faults/injectors.ts
"use strict";
const fs = require("node:fs");
const target = process.env.WINPE_FAULT_RENAME_TARGET;
if (target) {
  const suffix = process.env.WINPE_FAULT_RENAME_SUFFIX === "1";
  const nth = Number(process.env.WINPE_FAULT_RENAME_NTH || "1");
  const when = process.env.WINPE_FAULT_RENAME_WHEN || "before";
  const signal = process.env.WINPE_FAULT_SIGNAL;
  const original = fs.renameSync;
  let hits = 0;
  const pause = (to) => {
    fs.writeFileSync(signal, process.pid + " " + to + "\\n");
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 600000);
  };
  fs.renameSync = function renameSync(from, to) {
    const t = String(to);
    const hit = (suffix ? t.endsWith(target) : t === target) && ++hits === nth;
    if (hit && when === "before") pause(t);
    const r = original.call(this, from, to);
    if (hit && when === "after") pause(t);
    return r;
  };
}
`;

/** What to add to the engine's environment for a fault, plus files it needs (written into `dir`). */
export function installFault(
  fault: Fault,
  opts: { dir: string; signalFile: string; preload: string; basePath: string },
): Record<string, string> {
  fs.mkdirSync(opts.dir, { recursive: true });
  if (fault.kind === "event") return {};
  if (fault.kind === "hook") return { ...fault.env, WINPE_LAB_FAULT_SIGNAL: opts.signalFile };
  if (fault.kind === "rename") {
    const hook = path.join(opts.dir, "rename-hook.js");
    fs.writeFileSync(hook, RENAME_HOOK_JS);
    return {
      NODE_OPTIONS: `--require ${hook}`,
      WINPE_FAULT_RENAME_TARGET: fault.target,
      WINPE_FAULT_RENAME_SUFFIX: fault.suffix ? "1" : "0",
      WINPE_FAULT_RENAME_NTH: String(fault.nth ?? 1),
      WINPE_FAULT_RENAME_WHEN: fault.when,
      WINPE_FAULT_SIGNAL: opts.signalFile,
    };
  }
  const bin = path.join(opts.dir, "bin");
  fs.mkdirSync(bin, { recursive: true });
  const real = whichTool(fault.tool, opts.basePath);
  const counter = path.join(opts.dir, `count-${fault.tool}`);
  const sig = bashQuote(opts.signalFile);
  const action: Record<WrapperMode, string> = {
    before: `  echo "$$ before" > ${sig}\n  exec sleep 600`,
    after: `  "$real" "$@"\n  rc=$?\n  echo "$$ after rc=$rc" > ${sig}\n  sleep 600\n  exit $rc`,
    start: `  echo "$$ start" > ${sig}\n  exec "$real" "$@"`,
    torn: [
      `  export LD_PRELOAD=${bashQuote(opts.preload)}`,
      `  export WINPE_FAULT_WRITE_PATH=${bashQuote(fault.writePath ?? "")}`,
      `  export WINPE_FAULT_WRITE_NTH=${fault.writeNth ?? 1}`,
      `  export WINPE_FAULT_SIGNAL=${sig}`,
      `  exec "$real" "$@"`,
    ].join("\n"),
  };
  const script = [
    "#!/bin/bash",
    `# fault-suite wrapper for ${fault.tool} (test only): see test/faults/injectors.ts`,
    `real=${bashQuote(real)}`,
    `want=(${fault.args.map(bashQuote).join(" ")})`,
    "match=1",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a bash array expansion, not a template
    'for w in "${want[@]}"; do',
    "  found=0",
    '  for a in "$@"; do [ "$a" = "$w" ] && found=1; done',
    "  [ $found = 1 ] || match=0",
    "done",
    "if [ $match = 1 ]; then",
    `  n=$(( $(cat ${bashQuote(counter)} 2>/dev/null || echo 0) + 1 ))`,
    `  echo $n > ${bashQuote(counter)}`,
    `  if [ $n = ${fault.nth ?? 1} ]; then`,
    action[fault.mode].replace(/^ {2}/gm, "    "),
    "  fi",
    "fi",
    'exec "$real" "$@"',
    "",
  ].join("\n");
  const file = path.join(bin, fault.tool);
  fs.writeFileSync(file, script, { mode: 0o755 });
  return { PATH: `${bin}:${opts.basePath}` };
}
