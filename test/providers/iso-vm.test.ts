/**
 * WinPeIso and VmBootMedia providers driven directly on a real synthetic workspace (open toolchain): xorriso
 * writes the ISO, QEMU boots it; results read back with xorriso and the VM definition file.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as vmP from "../../resources/providers/vm-boot-media";
import * as isoP from "../../resources/providers/winpe-iso";
import { runTool } from "../../runtime/exec";
import { setProgressFallback } from "../../runtime/progress";
import { copype } from "../../toolchains/open/copype";
import { treeDigestHere } from "../helpers/tree-digest";

type Props = Record<string, unknown>;

describe("WinPeIso + VmBootMedia providers (open toolchain, real ISO, real QEMU)", () => {
  let dir: string;
  let ws: string;
  let iso: Props;
  let vm: Props;

  beforeAll(async () => {
    setProgressFallback(() => undefined);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "winpe-iso-"));
    process.env.WINPE_LAB_LOCK_DIR = path.join(dir, "locks");
    ws = path.join(dir, "ws");
    await copype("amd64", ws);
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    delete process.env.WINPE_LAB_LOCK_DIR;
  });

  const isoInputs = (hashes: Record<string, string>) => ({
    toolchain: "open",
    arch: "amd64",
    workspace: ws,
    isoPath: path.join(dir, "winpe.iso"),
    contentHashes: hashes,
  });

  it("WinPeIso create writes a bootable ISO atomically and reports its sha256", async () => {
    iso = (await isoP.create((await isoP.check({}, isoInputs({ wim: "a" }))).inputs as Props)).outs as Props;
    expect(iso.digest).toBe(treeDigestHere(fs.readFileSync(path.join(dir, "winpe.iso"))));
    const et = await runTool("xorriso", ["-indev", String(iso.isoPath), "-report_el_torito", "plain"]);
    expect(et.stdout).toMatch(/UEFI/);
    expect(fs.readdirSync(dir).filter((f) => f.includes(".winpe-tmp-"))).toEqual([]);
  });

  it("WinPeIso diff: same hashes -> nothing; a changed content hash -> rebuild", async () => {
    const same = (await isoP.check({}, isoInputs({ wim: "a" }))).inputs as Props;
    expect((await isoP.diff("id", iso, same)).changes).toBe(false);
    const changed = (await isoP.check({}, isoInputs({ wim: "b" }))).inputs as Props;
    expect((await isoP.diff("id", iso, changed)).changes).toBe(true);
  });

  it("WinPeIso read notices the ISO altered or deleted by hand", async () => {
    const file = String(iso.isoPath);
    const bytes = fs.readFileSync(file);
    fs.appendFileSync(file, "x");
    expect((await isoP.read("id", iso)).props?.state).toBe("altered");
    fs.rmSync(file);
    const r = await isoP.read("id", iso);
    expect(r.props?.state).toBe("missing");
    iso = (await isoP.update("id", r.props as Props, (await isoP.check({}, isoInputs({ wim: "a" }))).inputs as Props))
      .outs as Props;
    // reproducible: the same media give the same bytes
    expect(fs.readFileSync(file).equals(bytes)).toBe(true);
  });

  it("VmBootMedia create writes the QEMU definition and passes the boot check", async () => {
    const inputs = {
      toolchain: "open",
      arch: "amd64",
      name: "test-vm",
      isoPath: iso.isoPath,
      isoDigest: iso.digest,
      vmDir: path.join(dir, "vm"),
      bootCheck: true,
      bootTimeoutSec: 120,
    };
    vm = (await vmP.create((await vmP.check({}, inputs)).inputs as Props)).outs as Props;
    expect(vm.bootCheckLine).toBe("WINPE-LAB STAND-IN BOOT OK arch=amd64");
    const def = JSON.parse(fs.readFileSync(path.join(dir, "vm", "vm.json"), "utf8"));
    expect(def.argv[0]).toBe("qemu-system-x86_64");
    // the ISO as a CD-ROM in option syntax (a comma in its path is doubled), the same argv the boot check ran
    expect(def.argv).toContain(`file=${String(iso.isoPath)},index=2,media=cdrom`);
    expect(def.spec.isoDigest).toBe(iso.digest);
    expect(fs.existsSync(path.join(dir, "vm", "vars.fd"))).toBe(true);
    expect(String(vm.startCommand)).toMatch(/^qemu-system-x86_64 -machine q35/);
  });

  it("VmBootMedia: a changed ISO hash re-attaches; a removed definition is drift; delete removes the VM files", async () => {
    const news = (await vmP.check({}, { ...vm, isoDigest: "other", bootCheck: false })).inputs as Props;
    expect((await vmP.diff("id", vm, news)).changes).toBe(true);
    fs.rmSync(path.join(dir, "vm", "vm.json"));
    expect((await vmP.read("id", vm)).props?.state).toBe("missing");
    await vmP.delete("id", vm);
    expect(fs.existsSync(path.join(dir, "vm"))).toBe(false);
  });

  it("bad input: an ISO path that is a folder, a bad boot pattern — clear errors naming the property", async () => {
    fs.mkdirSync(path.join(dir, "folder.iso"));
    const a = (await isoP.check({}, { ...isoInputs({}), isoPath: path.join(dir, "folder.iso") })).inputs as Props;
    await expect(isoP.create(a)).rejects.toThrow(/'isoPath' .*folder\.iso is a folder/);
    const bad = await vmP.check(
      {},
      { toolchain: "open", arch: "amd64", name: "x", isoPath: "/x.iso", isoDigest: "s", vmDir: "/v", bootPattern: "(" },
    );
    expect(bad.failures?.[0]?.property).toBe("bootPattern");
    const rel = await isoP.check({}, { ...isoInputs({}), isoPath: "out.iso" });
    expect(rel.failures?.[0]?.property).toBe("isoPath");
  });
});
