/**
 * Kernel debugging on the open toolchain, without Windows: the VM definition per debug transport (golden argv),
 * the BCD {dbgsettings} per transport read back with hivexget, and real QEMU boots of the demo media where each
 * transport's path is proven up to the debugger's end on the host:
 * - serial: the VM's COM1 socket exists and receives what the guest writes to COM1; the boot check's console is on
 *   COM2 and still sees the marker.
 * - net: the stand-in boot application reads {dbgsettings} of the media's BCD (NET, hostip 10.0.2.2, port) and
 *   sends a UDP datagram through the firmware's network stack (UEFI SNP, the KDNET NIC e1000e); it arrives at the
 *   host's port, where the debugger listens.
 * - gdb: the definition boots with the gdbstub on; the VM started frozen answers the GDB remote protocol on its
 *   loopback port, and ntoseye attaches to it (KVM: ntoseye's gdb backend reads guest RAM from the KVM process) and
 *   reports in --batch mode that no Windows kernel is there.
 * The adk (Hyper-V) commands are pure builders, checked as strings (never run here).
 */
import * as dgram from "node:dgram";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as bcdP from "../../resources/providers/bcd-settings";
import * as vmP from "../../resources/providers/vm-boot-media";
import * as isoP from "../../resources/providers/winpe-iso";
import { runTool } from "../../runtime/exec";
import { setProgressFallback } from "../../runtime/progress";
import { parseStackConfig } from "../../stack/config";
import { preflight } from "../../stack/preflight";
import { resolveStack } from "../../stack/resolve";
import { planVm } from "../../toolchains/adk/plan";
import { renderCommand } from "../../toolchains/adk/quote";
import { adkVmBackend } from "../../toolchains/adk/vm";
import { freeLoopbackPort } from "../../toolchains/open/boot";
import { copype } from "../../toolchains/open/copype";
import { findNtoseye, runNtoseye } from "../../toolchains/open/debugger";
import { openVmDefinition, readDefinition, runningVm, startVm, stopVm } from "../../toolchains/open/vm";
import type { VmSpec } from "../../toolchains/types";

type Props = Record<string, unknown>;
const DBG = "\\Objects\\{4636856e-540f-4170-a130-a84776f4c654}\\Elements";
const REPO = path.resolve(__dirname, "..", "..");

async function hexOf(store: string, key: string): Promise<string | null> {
  const r = await runTool("hivexget", [store, key, "Element"], { okExitCodes: [0, 1], binaryStdout: true });
  return r.exitCode === 0 ? r.stdoutBuffer.toString("hex") : null;
}

/** A UDP socket on 127.0.0.1 at a free port of KDNET's range (49152-65535). */
async function udpListener(): Promise<{ port: number; socket: dgram.Socket; received: Buffer[] }> {
  for (let i = 0; i < 50; i++) {
    const port = 49152 + Math.floor(Math.random() * 12000);
    const socket = dgram.createSocket("udp4");
    const ok = await new Promise<boolean>((resolve) => {
      socket.once("error", () => resolve(false));
      socket.bind(port, "127.0.0.1", () => resolve(true));
    });
    if (ok) {
      const received: Buffer[] = [];
      socket.on("message", (m) => received.push(m));
      return { port, socket, received };
    }
    socket.close();
  }
  throw new Error("no free UDP port in 49152-61152");
}

/** One GDB remote-protocol exchange: send `packet`, return the first reply packet's body. */
async function rsp(port: number, packet: string): Promise<string> {
  const sum = [...packet].reduce((a, c) => a + c.charCodeAt(0), 0) % 256;
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1");
    let data = "";
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no reply to ${packet} (got ${JSON.stringify(data)})`));
    }, 10_000);
    s.on("connect", () => s.write(`$${packet}#${sum.toString(16).padStart(2, "0")}`));
    s.on("data", (d) => {
      data += d.toString("latin1");
      const m = /\$([^#]*)#[0-9a-f]{2}/.exec(data);
      if (m) {
        clearTimeout(timer);
        s.write("+");
        s.end();
        resolve(m[1]!);
      }
    });
    s.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** Read from a Unix socket until `pattern` shows up (or the peer closes, or `timeoutMs`). */
async function readSocketUntil(file: string, pattern: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
    const s = net.connect(file);
    const done = () => {
      clearTimeout(timer);
      s.destroy();
      resolve(text);
    };
    const timer = setTimeout(done, timeoutMs);
    s.on("data", (d) => {
      text += d.toString("latin1");
      if (pattern.test(text)) done();
    });
    s.on("close", done);
    s.on("error", done);
  });
}

describe("stack config: winpe-lab:debug.transport (zod, errors name the key)", () => {
  const open = {
    toolchain: "open",
    arch: "amd64",
    workspace: "/w",
    project: "/p/ioctl.sln",
    iso: { path: "/w/x.iso" },
    kdnet: { hostIp: "10.0.2.2", key: "5.5.5.5" },
  };
  const adk = { ...open, toolchain: "adk", workspace: "D:\\W", iso: { path: "D:\\W\\x.iso" } };
  const err = (c: Record<string, unknown>) => {
    try {
      parseStackConfig(c);
    } catch (e) {
      return (e as Error).message;
    }
    return "";
  };

  it("accepts each transport where it exists, with its defaults", () => {
    expect(parseStackConfig({ ...open, debug: { transport: "gdb" } }).debug).toEqual({
      transport: "gdb",
      gdbPort: 1234,
    });
    expect(parseStackConfig({ ...open, debug: { transport: "serial" } }).debug?.transport).toBe("serial");
    expect(parseStackConfig({ ...adk, debug: { transport: "serial" } }).debug?.transport).toBe("serial");
    expect(
      parseStackConfig({ ...adk, kdnet: { hostIp: "192.168.0.10", key: "5.5.5.5" }, debug: { transport: "net" } }).vm
        .accel,
    ).toBe("tcg");
  });

  it("refuses what cannot work, naming the key", () => {
    expect(err({ ...adk, debug: { transport: "gdb" } })).toBe(
      "'winpe-lab:debug.transport' gdb needs QEMU's gdbstub, and the adk toolchain's Hyper-V has none: use net or serial",
    );
    expect(err({ ...open, kdnet: undefined, debug: { transport: "net" } })).toMatch(
      /^'winpe-lab:kdnet' is required when 'winpe-lab:debug.transport' is net/,
    );
    expect(err({ ...open, kdnet: { hostIp: "192.168.0.10", key: "5.5.5.5" }, debug: { transport: "net" } })).toMatch(
      /^'winpe-lab:kdnet.hostIp' must be 10.0.2.2 with the open toolchain/,
    );
    expect(err({ ...open, arch: "arm64", debug: { transport: "serial" } })).toMatch(
      /^'winpe-lab:debug.transport' serial needs a second UART .* arm64 virt machine has one/,
    );
    expect(err({ ...open, debug: { transport: "usb" } })).toMatch(/^'winpe-lab:debug.transport' /);
    expect(err({ ...adk, vm: { accel: "kvm" } })).toMatch(/^'winpe-lab:vm.accel' is an open-toolchain/);
  });
});

describe("VM definition per debug transport (golden argv)", () => {
  const base: VmSpec = {
    name: "vm",
    arch: "amd64",
    isoPath: "/w/winpe.iso",
    isoDigest: "s",
    vmDir: "/w/vm",
    memoryMb: 1024,
    createVm: true,
    accel: "tcg",
  };
  const head = [
    "qemu-system-x86_64",
    "-machine",
    "q35",
    "-accel",
    "tcg",
    "-m",
    "1024",
    "-display",
    "none",
    "-monitor",
    "none",
    "-drive",
    "if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd",
    "-drive",
    "if=pflash,format=raw,unit=1,file=/w/vm/vars.fd",
    "-drive",
    "file=/w/winpe.iso,index=2,media=cdrom",
    "-boot",
    "d",
  ];

  it("no transport: COM1 is the console, no network", () => {
    const d = openVmDefinition(base);
    expect(d.startArgv).toEqual([
      ...head,
      "-chardev",
      "stdio,id=console",
      "-serial",
      "chardev:console",
      "-net",
      "none",
    ]);
    expect(d.debug).toBeUndefined();
  });

  it("net: the KDNET NIC (e1000e = Intel 82574L, 8086:10D3) on QEMU's user network with the host at 10.0.2.2", () => {
    const d = openVmDefinition({ ...base, debug: { transport: "net", hostIp: "10.0.2.2", port: 50005 } });
    expect(d.startArgv).toEqual([
      ...head,
      "-chardev",
      "stdio,id=console",
      "-serial",
      "chardev:console",
      "-netdev",
      "user,id=kdnet,net=10.0.2.0/24,host=10.0.2.2",
      "-device",
      "e1000e,netdev=kdnet",
    ]);
    expect(d.debug).toEqual({ transport: "net", connect: "127.0.0.1:50005" });
  });

  it("serial: COM1 is a Unix socket in the VM's folder, the console moves to COM2", () => {
    const d = openVmDefinition({ ...base, debug: { transport: "serial" } });
    expect(d.startArgv).toEqual([
      ...head,
      "-chardev",
      "socket,id=kd,path=/w/vm/kd.sock,server=on,wait=off",
      "-serial",
      "chardev:kd",
      "-chardev",
      "stdio,id=console",
      "-serial",
      "chardev:console",
      "-net",
      "none",
    ]);
    expect(d.debug).toEqual({ transport: "serial", connect: "/w/vm/kd.sock" });
    expect(d.startCommand).toContain("-serial chardev:kd -chardev stdio,id=console -serial chardev:console");
  });

  it("gdb: the gdbstub on a loopback port", () => {
    const d = openVmDefinition({ ...base, debug: { transport: "gdb", port: 1234 } });
    expect(d.startArgv).toEqual([
      ...head,
      "-chardev",
      "stdio,id=console",
      "-serial",
      "chardev:console",
      "-net",
      "none",
      "-gdb",
      "tcp:127.0.0.1:1234",
    ]);
    expect(d.debug).toEqual({ transport: "gdb", connect: "127.0.0.1:1234" });
  });

  it("arm64: virt + AAVMF; a COM1 socket path longer than a Unix socket allows is refused", () => {
    const d = openVmDefinition({ ...base, arch: "arm64", debug: { transport: "gdb", port: 1234 } });
    expect(d.startArgv.slice(0, 7)).toEqual(["qemu-system-aarch64", "-M", "virt", "-cpu", "max", "-accel", "tcg"]);
    expect(d.startArgv).not.toContain("-boot");
    expect(() => openVmDefinition({ ...base, vmDir: `/${"x".repeat(110)}`, debug: { transport: "serial" } })).toThrow(
      /longer than a Unix socket path may be/,
    );
  });

  it("adk (Hyper-V, pure builders): COM1 as a named pipe for serial, the network adapter on a switch for net", () => {
    const spec = { ...base, name: "WinPE-x64", isoPath: "D:\\WinPE_amd64\\winpe.iso", vmDir: "D:\\vm" };
    const serial = planVm({ ...spec, debug: { transport: "serial" } }).map((c) => renderCommand(c));
    expect(serial).toContain("Set-VMComPort -VMName 'WinPE-x64' -Number 1 -Path '\\\\.\\pipe\\WinPE-x64-com1'");
    const netCmds = planVm({ ...spec, debug: { transport: "net" }, switchName: "Lab Switch" }).map((c) =>
      renderCommand(c),
    );
    expect(netCmds).toContain("Connect-VMNetworkAdapter -VMName 'WinPE-x64' -SwitchName 'Lab Switch'");
    expect(() => planVm({ ...spec, debug: { transport: "gdb" } })).toThrow(/Hyper-V has none/);
    expect(adkVmBackend.debugEndpoint({ ...spec, debug: { transport: "serial" } })).toEqual({
      transport: "serial",
      connect: "\\\\.\\pipe\\WinPE-x64-com1",
    });
  });
});

describe("debug transports on real QEMU boots of the demo media (no Windows)", () => {
  let dir: string;
  let ws: string;
  let store: string;
  let bcd: Props;
  let iso: Props;
  let vm: Props;
  let listener: Awaited<ReturnType<typeof udpListener>>;
  /** {dbgsettings} KDNET elements as copype made the store. */
  const pristine: Record<string, string | null> = {};
  const vmDir = () => path.join(dir, "vm");

  beforeAll(async () => {
    setProgressFallback(() => undefined);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "winpe-dbg-"));
    process.env.WINPE_LAB_LOCK_DIR = path.join(dir, "locks");
    ws = path.join(dir, "ws");
    await copype("amd64", ws);
    store = path.join(ws, "media", "EFI", "Microsoft", "Boot", "BCD");
    for (const [k, id] of [
      ["hostip", "1500001a"],
      ["port", "1500001b"],
      ["key", "1200001d"],
    ])
      pristine[k!] = await hexOf(store, `${DBG}\\${id}`);
    listener = await udpListener();
  });
  afterAll(async () => {
    await stopVm(vmDir()).catch(() => false);
    listener?.socket.close();
    fs.rmSync(dir, { recursive: true, force: true });
    delete process.env.WINPE_LAB_LOCK_DIR;
  });

  const bcdInputs = (debug: Props) => ({
    toolchain: "open",
    stores: [store],
    flags: { testsigning: "on", debug: "on" },
    stateDir: path.join(ws, ".winpe-lab", "bcd"),
    ...debug,
  });
  const isoInputs = () => ({
    toolchain: "open",
    arch: "amd64",
    workspace: ws,
    isoPath: path.join(dir, "winpe.iso"),
    contentHashes: bcd.storeHashes as Record<string, string>,
  });
  const vmInputs = (debug: Props, bootPattern?: string) => ({
    toolchain: "open",
    arch: "amd64",
    name: "dbg-vm",
    isoPath: iso.isoPath,
    isoDigest: iso.digest,
    vmDir: vmDir(),
    bootCheck: true,
    bootTimeoutSec: 120,
    ...(bootPattern === undefined ? {} : { bootPattern }),
    debug,
  });
  async function media(debug: Props): Promise<void> {
    const news = (await bcdP.check({}, bcdInputs(debug))).inputs as Props;
    expect((await bcdP.check({}, bcdInputs(debug))).failures ?? []).toEqual([]);
    bcd = (bcd ? (await bcdP.update("id", bcd, news)).outs : (await bcdP.create(news)).outs) as Props;
    const isoNews = (await isoP.check({}, isoInputs())).inputs as Props;
    iso = (iso ? (await isoP.update("id", iso, isoNews)).outs : (await isoP.create(isoNews)).outs) as Props;
  }
  async function attach(debug: Props, bootPattern?: string): Promise<void> {
    const news = (await vmP.check({}, vmInputs(debug, bootPattern))).inputs as Props;
    vm = (vm ? (await vmP.update("id", vm, news)).outs : (await vmP.create(news)).outs) as Props;
  }

  it("net: BCD {dbgsettings} NET (hivexget); the guest's datagram reaches the host's UDP port", async () => {
    await media({ kdnet: { hostIp: "10.0.2.2", port: listener.port, key: "a1.b2.c3.d4" } });
    expect(await hexOf(store, `${DBG}\\15000011`)).toBe("0300000000000000"); // debugtype NET
    expect(await hexOf(store, `${DBG}\\1500001a`)).toBe("0a00020200000000"); // hostip 10.0.2.2
    const port = Buffer.alloc(8);
    port.writeUInt16LE(listener.port);
    expect(await hexOf(store, `${DBG}\\1500001b`)).toBe(port.toString("hex"));

    // the boot check boots the definition with the KDNET NIC; the stand-in reads the media's BCD and sends its
    // probe to hostip:port through the firmware's network interface. It does that after its boot marker, so the
    // boot check waits for the line it prints once the NIC reported the frame sent (QEMU is killed at the match)
    await attach({ transport: "net", hostIp: "10.0.2.2", port: listener.port }, "stand-in: sent a UDP probe to");
    expect(vm.bootCheckLine).toBe(`winpe-lab stand-in: sent a UDP probe to 10.0.2.2:${listener.port}`);
    expect(vm.startArgv).toContain("e1000e,netdev=kdnet");
    for (let i = 0; i < 100 && listener.received.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(listener.received.map((b) => b.toString("latin1"))).toContain("WINPE-LAB STAND-IN KDNET PROBE arch=amd64");
  });

  it("serial: BCD {dbgsettings} SERIAL, COM1 115200 (hivexget); COM1 socket receives the guest's COM1 output", async () => {
    expect(await hexOf(store, `${DBG}\\15000011`)).toBe("0300000000000000"); // NET before the switch
    await media({ serial: { debugport: 1, baudrate: 115200 } });
    // bcdedit /dbgsettings serial debugport:1 baudrate:115200, read back by libhivex
    expect(await hexOf(store, `${DBG}\\15000011`)).toBe("0000000000000000"); // debugtype Serial
    expect(await hexOf(store, `${DBG}\\15000013`)).toBe("0100000000000000"); // debugport 1
    expect(await hexOf(store, `${DBG}\\15000014`)).toBe("00c2010000000000"); // baudrate 115200
    // the KDNET elements we no longer manage are back to what copype's store had
    expect(await hexOf(store, `${DBG}\\1500001a`)).toBe(pristine.hostip);
    expect(await hexOf(store, `${DBG}\\1500001b`)).toBe(pristine.port);
    expect(await hexOf(store, `${DBG}\\1200001d`)).toBe(pristine.key);
    expect((bcd.effective as Record<string, Record<string, string>>)[store]).toMatchObject({
      "dbgsettings.debugtype": "Serial",
      "dbgsettings.debugport": "1",
      "dbgsettings.baudrate": "115200",
    });

    // the boot check boots the same definition: its console (COM2) sees the marker
    await attach({ transport: "serial" });
    expect(vm.bootCheckLine).toBe("WINPE-LAB STAND-IN BOOT OK arch=amd64");
    const def = readDefinition(vmDir());
    expect(def?.argv).toEqual(vm.startArgv);
    expect(def?.argv).toContain("socket,id=kd,path=" + path.join(vmDir(), "kd.sock") + ",server=on,wait=off");

    // the VM as winpe debug starts it: its COM1 socket gets what the guest writes to COM1
    const running = await startVm(def!.spec);
    expect(runningVm(vmDir())?.transport).toBe("serial");
    const sock = path.join(vmDir(), "kd.sock");
    expect(fs.statSync(sock).isSocket()).toBe(true);
    const text = await readSocketUntil(sock, /shutting down/, 90_000);
    expect(text).toContain("WINPE-LAB STAND-IN BOOT OK arch=amd64");
    expect(text).toContain("BCD {dbgsettings}: debugtype SERIAL debugport 1 baudrate 115200");
    // ... and the console log (COM2) the same lines
    expect(fs.readFileSync(running.consoleLog, "latin1")).toContain("WINPE-LAB STAND-IN BOOT OK arch=amd64");
    await stopVm(vmDir());
  });

  it("gdb: the definition boots with its gdbstub; frozen, the VM answers GDB's protocol and ntoseye attaches", async () => {
    const port = await freeLoopbackPort();
    await attach({ transport: "gdb", port });
    expect(vm.bootCheckLine).toBe("WINPE-LAB STAND-IN BOOT OK arch=amd64");
    expect(vm.startArgv).toContain(`tcp:127.0.0.1:${port}`);

    // ntoseye's gdb backend reads guest RAM from the KVM process (on Linux it looks for a process with /dev/kvm
    // open before it connects): the VM runs with -accel kvm, frozen at its first instruction (-S), as `winpe debug`
    // starts a gdb VM
    const def = readDefinition(vmDir())!;
    const vmRun = await startVm({ ...def.spec, accel: "kvm" }, { frozen: true });
    expect(vmRun.transport).toBe("gdb");
    const stop = await rsp(port, "?");
    expect(stop).toMatch(/^[ST]05/); // stopped (SIGTRAP): the frozen CPU
    const install = findNtoseye(REPO);
    const r = await runNtoseye(
      install,
      { transport: "gdb", connect: `127.0.0.1:${port}`, symbolPath: [], commands: ["k"], batch: true },
      { timeoutMs: 60_000 },
    );
    expect(r.exitCode).toBe(1);
    // it found the VM process, mapped its RAM, talked to the gdbstub, and found no Windows kernel there
    expect(r.output).toMatch(/no Windows kernel in the 1024 MiB of guest memory/);
    await stopVm(vmDir());
    expect(runningVm(vmDir())).toBeUndefined();
  });

  it("pre-flight: a COM1 socket path too long for a Unix socket is refused before anything is written", () => {
    const config = parseStackConfig({
      toolchain: "open",
      arch: "amd64",
      workspace: ws,
      project: path.join(REPO, "examples", "ioctl", "ioctl.sln"),
      iso: { path: path.join(dir, "x.iso") },
      debug: { transport: "serial" },
      vm: { name: "v".repeat(64) },
    });
    const r = resolveStack(config, dir, "long");
    expect(() => preflight({ config, stack: r, outputs: [], holder: "winpe-lab/long" })).toThrow(
      /'winpe-lab:debug.transport' serial puts COM1 on the socket .*kd\.sock, \d+ bytes long, but a Unix socket path holds at most 107: use a shorter working folder or 'winpe-lab:vm.name'/,
    );
    expect(fs.existsSync(r.vmDir)).toBe(false);
  });

  it("delete stops a VM winpe debug started and removes the definition", async () => {
    const def = readDefinition(vmDir())!;
    await startVm(def.spec, { frozen: true });
    const pid = runningVm(vmDir())!.pid;
    await vmP.delete("id", vm);
    expect(fs.existsSync(vmDir())).toBe(false);
    expect(fs.existsSync(`/proc/${pid}`)).toBe(false);
  });
});
