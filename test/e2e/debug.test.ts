/**
 * `winpe debug` and the debug transports on the real engine (a demo stack of the open toolchain, amd64):
 * - its one-line errors: a stack without debug settings, ntoseye missing, gdb without KVM, a VM already running on
 *   another transport;
 * - switching the transport is an update of the resources it concerns only (preview names them; up agrees): adding
 *   the transport to a stack whose BCD already holds the KDNET settings changes VmBootMedia alone; net -> serial
 *   changes BcdSettings, the ISO that carries the BCD, and VmBootMedia; the build and the image are untouched;
 * - a net session end to end without Windows: `winpe debug` starts the VM, the stand-in boot application sends its
 *   datagram to the KDNET port from inside the guest, and ntoseye's KDNET listener receives it;
 * - the KDNET key is in no process listing (argv, environment) of the debugger, not in the tool log, not in any
 *   output.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256 } from "../../runtime/digest";
import { runTool } from "../../runtime/exec";
import { readDefinition, runningVm, startVm, stopVm } from "../../toolchains/open/vm";
import { type DemoStack, extractFromIso, openDemoStack, opsByType } from "../helpers/demo-stack";
import { engineEnv, REPO_ROOT } from "../helpers/pulumi";

const DBG = "\\Objects\\{4636856e-540f-4170-a130-a84776f4c654}\\Elements";
const STACK = "dbg-amd64";

async function hexOf(store: string, key: string): Promise<string | null> {
  const r = await runTool("hivexget", [store, key, "Element"], { okExitCodes: [0, 1], binaryStdout: true });
  return r.exitCode === 0 ? r.stdoutBuffer.toString("hex") : null;
}

describe("winpe debug and the debug transports on the real engine (open toolchain, amd64)", () => {
  let d: DemoStack;
  const programDir = () => path.join(d.dir, "program");
  // a KDNET key and port of this run only, so a grep can tell them from anything else
  const key = `t${Date.now().toString(36)}.k${Math.floor(Math.random() * 1e9).toString(36)}.x7.y9`;
  const port = 49152 + Math.floor(Math.random() * 12000);

  beforeAll(async () => {
    d = await openDemoStack("amd64", { bootCheck: false, name: STACK });
    await d.stack.setConfig("winpe-lab:kdnet", {
      value: JSON.stringify({ hostIp: "10.0.2.2", port, key }),
      secret: true,
    });
  }, 120_000);
  afterAll(async () => {
    if (!d) return;
    await stopVm(d.vmDir).catch(() => false);
    await d.stack.destroy().catch(() => undefined);
    await d.cleanup();
  });

  /** `winpe debug` as a user runs it, in the stack's project folder, with the engine's environment. */
  async function winpeDebug(args: string[], extraEnv: Record<string, string> = {}, onStarted?: () => void) {
    const env = engineEnv(path.join(d.dir, "state"), {
      WINPE_TOOL_LOG: d.toolLog,
      WINPE_LAB_LOCK_DIR: d.lockDir,
      ...extraEnv,
    });
    onStarted?.();
    const r = await runTool("bash", [path.join(REPO_ROOT, "bin", "winpe"), "debug", "--stack", STACK, ...args], {
      cwd: programDir(),
      env,
      okExitCodes: [0, 1, 2],
      timeoutMs: 180_000,
    });
    return { code: r.exitCode, out: r.stdout, err: r.stderr };
  }

  it("up without a transport; winpe debug says the stack has no debug settings (one line, exit 1)", async () => {
    const r = await d.stack.up();
    expect(r.summary.resourceChanges).toEqual({ create: 11 });
    expect(r.outputs.debugTarget.value).toBe("");
    // the KDNET settings are in the store (no transport: the store's settings only, as before)
    const bcd = await extractBcd();
    expect(await hexOf(bcd, `${DBG}\\15000011`)).toBe("0300000000000000");
    const e = await winpeDebug(["--batch", "-c", "k"]);
    expect(e.code).toBe(1);
    expect(e.err.trim()).toBe(
      `winpe debug: stack '${STACK}' has no debug settings: set winpe-lab:debug.transport (net, serial or gdb) and run 'pulumi up'`,
    );
  });

  async function extractBcd(): Promise<string> {
    const data = await extractFromIso(d.isoPath, "/EFI/Microsoft/Boot/BCD", d.dir);
    const f = path.join(d.dir, `bcd-${sha256(data).slice(0, 8)}`);
    fs.writeFileSync(f, data);
    return f;
  }

  async function previewAndUp(): Promise<Record<string, string[]>> {
    const events: EngineEvent[] = [];
    await d.stack.preview({ onEvent: (e) => events.push(e) });
    const planned = opsByType(events);
    const upEvents: EngineEvent[] = [];
    await d.stack.up({ onEvent: (e) => upEvents.push(e) });
    expect(opsByType(upEvents).update).toEqual(planned.update);
    return planned;
  }

  it("debug.transport net on a stack whose BCD holds the KDNET settings: an update of VmBootMedia only", async () => {
    await d.stack.setConfig("winpe-lab:debug", { value: JSON.stringify({ transport: "net" }) });
    const planned = await previewAndUp();
    expect(planned.update).toEqual(["VmBootMedia"]);
    const out = await d.stack.outputs();
    expect(out.debugTarget.secret).toBe(true);
    expect(out.debuggerCommand.secret).toBe(true);
    expect(String(out.debuggerCommand.value)).toMatch(/^ntoseye --backend kdnet --connect 127\.0\.0\.1:\d+ /);
    expect(String(out.vmStartCommand.value)).toContain("-device e1000e,netdev=kdnet");
  });

  it("net end to end: winpe debug starts the VM, the guest's datagram reaches ntoseye's KDNET listener; the key is nowhere", async () => {
    const mark = d.toolLineCount();
    const listings: string[] = [];
    const environs: string[] = [];
    let running = true;
    const watch = (async () => {
      while (running) {
        const ps = await runTool("ps", ["-eo", "pid,args"], { okExitCodes: [0, 1] });
        listings.push(ps.stdout);
        for (const line of ps.stdout.split("\n")) {
          const m = /^\s*(\d+)\s.*--backend kdnet/.exec(line);
          if (m) {
            try {
              environs.push(fs.readFileSync(`/proc/${m[1]}/environ`, "latin1"));
            } catch {
              // gone already
            }
          }
        }
        await new Promise((r) => setTimeout(r, 150));
      }
    })();
    const r = await winpeDebug(["--batch", "--timeout", "25", "-c", "k"]);
    running = false;
    await watch;
    const all = `${r.out}\n${r.err}`;
    // the VM was started with the stack's transport, and the stand-in's datagram arrived at the debugger's listener
    expect(r.err).toMatch(/started the VM winpe-lab-dbg-amd64 \(pid \d+, net\)/);
    expect(all).toMatch(new RegExp(`kdnet: listening on 127\\.0\\.0\\.1:${port}`));
    expect(all).toMatch(
      /KDNET listener received [1-9]\d* UDP datagram\(s\), but none contained a usable target packet/,
    );
    expect(r.code).toBe(1);
    // the guest side: the stand-in read the media's BCD and sent its probe
    const consoleLog = fs.readFileSync(path.join(d.vmDir, "console.log"), "latin1");
    expect(consoleLog).toContain(`sent a UDP probe to 10.0.2.2:${port}`);

    // the key: not on any command line (the launcher got it through a pipe), not in its environment, not logged
    const ours = listings
      .join("\n")
      .split("\n")
      .filter((l) => l.includes("--backend kdnet"));
    expect(ours.length).toBeGreaterThan(0); // the listing did see the debugger running
    expect(listings.join("\n")).not.toContain(key);
    expect(environs.length).toBeGreaterThan(0);
    for (const e of environs) expect(e).not.toContain(key);
    expect(all).not.toContain(key);
    const log = d.toolLinesSince(mark);
    expect(log.some((l) => JSON.stringify(l.argv).includes("--backend"))).toBe(true);
    expect(fs.readFileSync(d.toolLog, "utf8")).not.toContain(key);
    await stopVm(d.vmDir);
  });

  it("ntoseye missing, gdb without KVM: one-line errors, nothing started", async () => {
    const missing = await winpeDebug(["--batch"], { WINPE_NTOSEYE: path.join(d.dir, "no-ntoseye") });
    expect(missing.code).toBe(1);
    expect(missing.err.trim().split("\n")).toHaveLength(1);
    expect(missing.err).toMatch(/^winpe debug: ntoseye was not found at WINPE_NTOSEYE=/);
    expect(runningVm(d.vmDir)).toBeUndefined();

    await d.stack.setConfig("winpe-lab:debug", { value: JSON.stringify({ transport: "gdb", gdbPort: 41000 }) });
    await d.stack.up();
    const gdb = await winpeDebug(["--batch"]);
    expect(gdb.code).toBe(1);
    expect(gdb.err.trim().split("\n")).toHaveLength(1);
    expect(gdb.err).toMatch(/ntoseye's gdb backend reads the guest's memory from a KVM VM process.*vm\.accel tcg/);
    expect(runningVm(d.vmDir)).toBeUndefined();
  });

  it("net -> serial: BcdSettings, WinPeIso (it carries the BCD) and VmBootMedia only; a VM still running on net is refused", async () => {
    await d.stack.setConfig("winpe-lab:debug", { value: JSON.stringify({ transport: "net" }) });
    await d.stack.up();
    // the net VM, as winpe debug left it running (frozen here, so that it stays)
    const netVm = await startVm(readDefinition(d.vmDir)!.spec, { frozen: true });
    const wimBefore = sha256(fs.readFileSync(d.wim));

    await d.stack.setConfig("winpe-lab:debug", { value: JSON.stringify({ transport: "serial" }) });
    const planned = await previewAndUp();
    expect(planned.update).toEqual(["BcdSettings", "VmBootMedia", "WinPeIso"]);
    expect(sha256(fs.readFileSync(d.wim))).toBe(wimBefore);
    const bcd = await extractBcd();
    expect(await hexOf(bcd, `${DBG}\\15000011`)).toBe("0000000000000000"); // debugtype Serial
    expect(await hexOf(bcd, `${DBG}\\15000013`)).toBe("0100000000000000"); // debugport 1
    expect(await hexOf(bcd, `${DBG}\\15000014`)).toBe("00c2010000000000"); // baudrate 115200
    expect(await hexOf(bcd, `${DBG}\\1200001d`)).toBeNull(); // no KDNET key left on the media

    const busy = await winpeDebug(["--batch"]);
    expect(busy.code).toBe(1);
    expect(busy.err.trim()).toBe(
      `winpe debug: the VM winpe-lab-${STACK} is already running (pid ${netVm.pid}) on transport net, and stack '${STACK}' now uses serial: stop it first (winpe debug --stack ${STACK} --stop)`,
    );
    const stop = await winpeDebug(["--stop"]);
    expect(stop.code).toBe(0);
    expect(stop.out.trim()).toBe(`stopped the VM winpe-lab-${STACK}`);
    expect(runningVm(d.vmDir)).toBeUndefined();
  });

  it("serial session: winpe debug starts the VM with COM1 on its socket and ntoseye's KD backend connects to it", async () => {
    const r = await winpeDebug(["--batch", "--timeout", "10", "-c", "k"]);
    expect(r.err).toMatch(/started the VM winpe-lab-dbg-amd64 \(pid \d+, serial\)/);
    // ntoseye connected to the socket (KD over serial) and saw no Windows KD handshake: the stand-in is no Windows
    const said = `${r.out}${r.err}`;
    expect(said, said).toMatch(/kd: serial connected/);
    expect(said, said).toMatch(/KD protocol failure/); // it read the stand-in's COM1 text, not KD packets
    expect(said, said).not.toMatch(/No such file|Connection refused/i);
    expect(r.code).toBe(1);
    // the guest wrote its console to COM2 (the console log) while COM1 was the debugger's
    let consoleLog = "";
    for (let i = 0; i < 300 && !consoleLog.includes("debugtype SERIAL"); i++) {
      await new Promise((res) => setTimeout(res, 100));
      consoleLog = fs.readFileSync(path.join(d.vmDir, "console.log"), "latin1");
    }
    expect(consoleLog).toContain("BCD {dbgsettings}: debugtype SERIAL debugport 1 baudrate 115200");
    await stopVm(d.vmDir);
  });
});
