/**
 * The BCD module and `winpe bcd` against the bcdedit-made fixtures and the WinPE media store we create; every
 * change is read back by hivexget / reglookup / hivexsh / hivexregedit.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newDebugKey, run } from "../../cli/bcd";
import {
  BcdError,
  buildWinPeMediaStore,
  createWinPeMediaStore,
  encodeRamdiskDevice,
  openStore,
  WELL_KNOWN_OBJECTS,
  WINPE_LOADER_ID,
  WINPE_RAMDISK_OPTIONS_ID,
} from "../../formats/bcd/index";
import { readHive } from "../../formats/regf/index";
import { runTool } from "../../runtime/exec";
import {
  canonOfHive,
  canonOfHivex,
  canonText,
  captureRun,
  copyFixture,
  dumpDiff,
  FIXTURE_DIR,
  fileSha,
  hivexgetHex,
  hivexgetText,
  makeScratch,
  RESOURCE,
  reglookupDump,
  removeScratch,
} from "./helpers";

const REPO = path.resolve(__dirname, "../..");
const NTLOADER_DEFAULT = "{19260817-6666-8888-abcd-000000000000}";
const NTLOADER_OPTIONS = "{19260817-6666-8888-abcd-100000000000}";
const RAMDISK_LOADER = "{19260817-6666-8888-abcd-000000000000}";
const DBG = WELL_KNOWN_OBJECTS.dbgsettings;

let dir: string;
beforeAll(() => {
  dir = makeScratch("bcd");
});
afterAll(() => removeScratch(dir));

const el = (obj: string, id: string) => `\\Objects\\${obj}\\Elements\\${id}`;

async function bcd(...args: string[]) {
  return captureRun(run, args);
}

/** Run `args` and expect failure: exit non-zero, one stderr line matching `msg`, the file byte-identical. */
async function refused(file: string, args: string[], msg: RegExp): Promise<void> {
  const sha = fileSha(file);
  const r = await bcd(...args);
  expect(r.code, r.stderr).not.toBe(0);
  expect(r.stderr.split("\n")).toHaveLength(1);
  expect(r.stderr).toMatch(msg);
  expect(fileSha(file)).toBe(sha);
}

describe("createWinPeMediaStore", () => {
  for (const firmware of ["uefi", "bios"] as const) {
    it(`${firmware}: every object and element reads back through hivexget, reglookup, hivexsh and our parser`, async () => {
      const file = path.join(dir, `winpe-${firmware}.bcd`);
      createWinPeMediaStore(file, { firmware, description: "WinPE driver test" });
      expect(await hivexgetText(file, "\\Description", "KeyName")).toBe("BCD00000000");
      expect(await hivexgetText(file, "\\Description", "System")).toBe("1");
      expect(await hivexgetText(file, "\\Description", "TreatAsSystem")).toBe("1");
      const types: Record<string, number> = {
        [WELL_KNOWN_OBJECTS.bootmgr]: 0x10100002,
        [WINPE_LOADER_ID]: 0x10200003,
        [WINPE_RAMDISK_OPTIONS_ID]: 0x30000000,
        [WELL_KNOWN_OBJECTS.bootloadersettings]: 0x20200003,
        [WELL_KNOWN_OBJECTS.globalsettings]: 0x20100000,
        [DBG]: 0x20100000,
      };
      for (const [obj, type] of Object.entries(types))
        expect(await hivexgetText(file, `\\Objects\\${obj}\\Description`, "Type")).toBe(String(type));
      const B = WELL_KNOWN_OBJECTS.bootmgr;
      expect(await hivexgetText(file, el(B, "23000003"), "Element")).toBe(WINPE_LOADER_ID);
      expect(await hivexgetText(file, el(B, "12000004"), "Element")).toBe("Windows Boot Manager");
      expect(await hivexgetHex(file, el(B, "25000004"), "Element")).toBe("0000000000000000");
      expect(await hivexgetText(file, el(WINPE_LOADER_ID, "12000004"), "Element")).toBe("WinPE driver test");
      expect(await hivexgetText(file, el(WINPE_LOADER_ID, "12000002"), "Element")).toBe(
        firmware === "uefi" ? "\\windows\\system32\\boot\\winload.efi" : "\\windows\\system32\\boot\\winload.exe",
      );
      expect(await hivexgetText(file, el(WINPE_LOADER_ID, "22000002"), "Element")).toBe("\\windows");
      expect(await hivexgetHex(file, el(WINPE_LOADER_ID, "26000010"), "Element")).toBe("01");
      expect(await hivexgetHex(file, el(WINPE_LOADER_ID, "26000022"), "Element")).toBe("01");
      const wim = encodeRamdiskDevice("\\sources\\boot.wim", WINPE_RAMDISK_OPTIONS_ID).toString("hex");
      expect(await hivexgetHex(file, el(WINPE_LOADER_ID, "11000001"), "Element")).toBe(wim);
      expect(await hivexgetHex(file, el(WINPE_LOADER_ID, "21000001"), "Element")).toBe(wim);
      expect(wim.startsWith("c8dc1976fefad911b411000476eba25f")).toBe(true); // the options GUID, mixed-endian
      expect(wim).toContain(Buffer.from("\\sources\\boot.wim\0", "utf16le").toString("hex"));
      // `ramdisksdidevice boot`: byte-for-byte what bcdedit wrote in the fixture
      const fixtureSdiDevice = await hivexgetHex(
        path.join(FIXTURE_DIR, "ramdisk-wim-nodefault.bcd"),
        el(WELL_KNOWN_OBJECTS.ramdiskoptions, "31000003"),
        "Element",
      );
      expect(await hivexgetHex(file, el(WINPE_RAMDISK_OPTIONS_ID, "31000003"), "Element")).toBe(fixtureSdiDevice);
      expect(await hivexgetText(file, el(WINPE_RAMDISK_OPTIONS_ID, "32000004"), "Element")).toBe("\\boot\\boot.sdi");
      expect(await hivexgetHex(file, el(DBG, "15000011"), "Element")).toBe("0000000000000000");
      expect(await hivexgetHex(file, el(DBG, "15000013"), "Element")).toBe("0100000000000000");
      expect(await hivexgetHex(file, el(DBG, "15000014"), "Element")).toBe("00c2010000000000");
      // inheritance chain loader -> {bootloadersettings} -> {globalsettings} -> {dbgsettings}
      const lines = await reglookupDump(file);
      expect(lines).toContain(
        `/Objects/${WINPE_LOADER_ID}/Elements/14000006/Element,MULTI_SZ,${WELL_KNOWN_OBJECTS.bootloadersettings}`,
      );
      expect(lines).toContain(
        `/Objects/${WELL_KNOWN_OBJECTS.bootloadersettings}/Elements/14000006/Element,MULTI_SZ,${WELL_KNOWN_OBJECTS.globalsettings}`,
      );
      expect(lines).toContain(
        `/Objects/${WELL_KNOWN_OBJECTS.globalsettings}/Elements/14000006/Element,MULTI_SZ,${DBG}`,
      );
      const hs = await runTool("hivexsh", [file], { resource: RESOURCE, secrets: [], input: "ls\ncd Objects\nls\n" });
      expect(hs.stdout.trim().split("\n")).toEqual(["Description", "Objects", ...Object.keys(types).sort()]);
      expect(canonText(canonOfHive(readHive(file)))).toBe(canonText((await canonOfHivex(file))!));
      readHive(file).check();
      const store = openStore(file);
      const eff = store.getEffectiveElement("{default}", "debugtype");
      expect(eff?.from).toBe(DBG);
      expect(eff?.via).toEqual([
        WINPE_LOADER_ID,
        WELL_KNOWN_OBJECTS.bootloadersettings,
        WELL_KNOWN_OBJECTS.globalsettings,
        DBG,
      ]);
    });
  }

  it("is deterministic and atomic; bad options write nothing", () => {
    const a = path.join(dir, "det-a.bcd");
    const b = path.join(dir, "det-b.bcd");
    createWinPeMediaStore(a, { firmware: "uefi", description: "X" });
    createWinPeMediaStore(b, { firmware: "uefi", description: "X" });
    expect(fileSha(a)).toBe(fileSha(b));
    expect(fs.readdirSync(dir).filter((n) => n.startsWith(".winpe-tmp-"))).toEqual([]);
    const c = path.join(dir, "det-c.bcd");
    expect(() => createWinPeMediaStore(c, { firmware: "arm" as "uefi", description: "X" })).toThrow(BcdError);
    expect(() => createWinPeMediaStore(c, { firmware: "bios", description: "" })).toThrow(/description/);
    expect(fs.existsSync(c)).toBe(false);
    expect(buildWinPeMediaStore(c, { firmware: "bios", description: "Y" }).isModified()).toBe(true);
  });
});

describe("BcdStore API", () => {
  it("resolves aliases, {default}, GUIDs in any case; refuses {current}", () => {
    const s = openStore(path.join(FIXTURE_DIR, "ntloader-multi.bcd"));
    expect(s.resolve("{bootmgr}")).toBe(WELL_KNOWN_OBJECTS.bootmgr);
    expect(s.resolve("{BootMgr}")).toBe(WELL_KNOWN_OBJECTS.bootmgr);
    expect(s.resolve("{default}")).toBe(NTLOADER_DEFAULT);
    expect(s.resolve(NTLOADER_DEFAULT.toUpperCase())).toBe(NTLOADER_DEFAULT);
    expect(s.resolve("{ramdiskoptions}")).toBe(WELL_KNOWN_OBJECTS.ramdiskoptions);
    expect(s.resolve("{globalsettings}")).toBe(WELL_KNOWN_OBJECTS.globalsettings);
    expect(() => s.resolve("{current}")).toThrow(/running system/);
    expect(() => s.resolve("{dbgsettings}")).toThrow(/has no object/);
    expect(s.resolve("{dbgsettings}", { mustExist: false })).toBe(DBG);
    expect(() => s.resolve("{nonsense}")).toThrow(/not a known identifier/);
    expect(() => s.resolve("12345")).toThrow(/not a valid identifier/);
    const ids = s.listObjects().map((o) => o.id);
    expect(ids[0]).toBe(WELL_KNOWN_OBJECTS.bootmgr);
    expect(ids).toHaveLength(10);
    expect(s.listObjects().find((o) => o.isDefault)?.id).toBe(NTLOADER_DEFAULT);
  });

  it("a store without a default: {default} is a clear error naming 23000003", () => {
    const s = openStore(path.join(FIXTURE_DIR, "ramdisk-wim-nodefault.bcd"));
    expect(() => s.resolve("{default}")).toThrow(
      "the store has no default boot entry ({bootmgr} element 23000003 is absent); name the object by its GUID",
    );
  });

  it("elements by name and by id, typed values, inheritance with its source, cycle-safe", () => {
    const file = copyFixture(dir, "ntloader-multi.bcd", "api.bcd");
    const s = openStore(file);
    for (const form of ["testsigning", "TESTSIGNING", "16000049", "0x16000049", "custom:16000049", 0x16000049])
      expect(s.getElement(NTLOADER_OPTIONS, form)?.value).toBe(true);
    expect(s.getElement("{default}", "testsigning")).toBeUndefined();
    const eff = s.getEffectiveElement("{default}", "testsigning");
    expect(eff?.from).toBe(NTLOADER_OPTIONS);
    expect(eff?.via).toEqual([NTLOADER_DEFAULT, NTLOADER_OPTIONS]);
    expect(eff?.element.hex).toBe("01");
    expect(s.getElement("{bootmgr}", "timeout")?.value).toBe(1n);
    expect(s.getElement("{bootmgr}", "displayorder")?.value).toEqual([NTLOADER_DEFAULT]);
    expect(s.getElement("{default}", "description")?.value).toBe("NT6+ WIM");
    expect(s.getElement("{bootmgr}", "default")?.name).toBe("default");
    expect(() => s.getElement("{default}", "default")).toThrow(/does not apply/); // a boot manager element
    expect(s.elementId(NTLOADER_DEFAULT, "resumeobject")).toBe(0x23000003);
    expect(() => s.getElement("{default}", "displayorder")).toThrow(/does not apply/);
    expect(() => s.getElement("{default}", "nosuchthing")).toThrow(/not a known element name/);
    // an inherit cycle: A -> options -> A; lookups of absent elements terminate
    s.setElement(NTLOADER_OPTIONS, "inherit", [NTLOADER_DEFAULT]);
    expect(s.getEffectiveElement("{default}", "bootdebug")).toBeUndefined();
    expect(s.getEffectiveElement(NTLOADER_OPTIONS, "description")?.from).toBe(NTLOADER_DEFAULT);
  });

  it("typed encodings, read back by hivexget", async () => {
    const file = copyFixture(dir, "ntloader-multi.bcd", "enc.bcd");
    const s = openStore(file);
    s.createObject(DBG, 0x20100000);
    s.setElement("{default}", "testsigning", true);
    s.setElement("{default}", "nointegritychecks", false);
    s.setElement("{default}", "debug", true);
    s.setElement("{bootmgr}", "bootdebug", true);
    s.setElement(DBG, "debugtype", 3n);
    s.setElement(DBG, "hostip", "192.168.0.1");
    s.setElement(DBG, "port", 50005);
    s.setElement(DBG, "key", "a.b.c.d");
    s.setElement(DBG, "dhcp", false);
    s.setElement(DBG, "busparams", "0.25.0");
    s.setElement("{bootmgr}", "displayorder", [NTLOADER_DEFAULT, "{19260817-6666-8888-ABCD-000000000001}"]);
    s.setElement("{default}", "description", "Test entry");
    s.setElementRaw("{default}", "custom:45000001", "0102");
    s.setElement("{bootmgr}", "default", "{19260817-6666-8888-abcd-000000000002}");
    expect(() => s.setElement("{default}", "testsigning", 1)).toThrow(/true or false/);
    expect(() => s.setElement(DBG, "hostip", "300.1.1.1")).toThrow(/IPv4/);
    expect(s.save()).toBe(true);
    expect(s.save()).toBe(false);
    const D = NTLOADER_DEFAULT;
    expect(await hivexgetHex(file, el(D, "16000049"), "Element")).toBe("01");
    expect(await hivexgetHex(file, el(D, "16000048"), "Element")).toBe("00");
    expect(await hivexgetHex(file, el(D, "260000a0"), "Element")).toBe("01");
    expect(await hivexgetHex(file, el(WELL_KNOWN_OBJECTS.bootmgr, "16000010"), "Element")).toBe("01");
    expect(await hivexgetHex(file, el(DBG, "15000011"), "Element")).toBe("0300000000000000");
    expect(await hivexgetHex(file, el(DBG, "1500001a"), "Element")).toBe("c0a8000100000000");
    expect(await hivexgetHex(file, el(DBG, "1500001b"), "Element")).toBe("55c3000000000000");
    expect(await hivexgetText(file, el(DBG, "1200001d"), "Element")).toBe("a.b.c.d");
    expect(await hivexgetHex(file, el(DBG, "1600001c"), "Element")).toBe("00");
    expect(await hivexgetText(file, el(DBG, "12000019"), "Element")).toBe("0.25.0");
    expect(await hivexgetText(file, el(WELL_KNOWN_OBJECTS.bootmgr, "23000003"), "Element")).toBe(
      "{19260817-6666-8888-abcd-000000000002}",
    );
    expect(await hivexgetHex(file, el(D, "45000001"), "Element")).toBe("0102");
    const dump = await reglookupDump(file);
    expect(dump).toContain(
      `/Objects/${WELL_KNOWN_OBJECTS.bootmgr}/Elements/24000001/Element,MULTI_SZ,${NTLOADER_DEFAULT}|{19260817-6666-8888-abcd-000000000001}`,
    );
    // restore a value from its hex form (what a drift-detecting resource does)
    const s2 = openStore(file);
    const hex = s2.getElement("{bootmgr}", "timeout")!.hex;
    s2.setElement("{bootmgr}", "timeout", 30);
    s2.setElementRaw("{bootmgr}", "timeout", hex);
    expect(s2.getElement("{bootmgr}", "timeout")?.value).toBe(1n);
  });
});

describe("winpe bcd (bcdedit syntax)", () => {
  const storesWithDefault = async (): Promise<Array<[string, string]>> => {
    const made = path.join(dir, "made.bcd");
    createWinPeMediaStore(made, { firmware: "uefi", description: "WinPE" });
    return [
      [copyFixture(dir, "ntloader-multi.bcd", "acc-ntloader.bcd"), NTLOADER_DEFAULT],
      [made, WINPE_LOADER_ID],
    ];
  };

  it("acceptance: /set {default} testsigning on, read back by hivexget; dump differs only there; /deletevalue restores", async () => {
    for (const [S, guid] of await storesWithDefault()) {
      const before = await reglookupDump(S);
      const set = await runTool(
        "bash",
        [path.join(REPO, "bin/winpe"), "bcd", "/store", S, "/set", "{default}", "testsigning", "on"],
        {
          resource: RESOURCE,
          secrets: [],
        },
      );
      expect(set.exitCode).toBe(0);
      expect(set.stdout.trim()).toBe("The operation completed successfully.");
      expect(await hivexgetHex(S, `\\Objects\\${guid}\\Elements\\16000049`, "Element")).toBe("01");
      const after = await reglookupDump(S);
      const d = dumpDiff(before, after);
      expect(d.removed).toEqual([]);
      expect(d.added).toEqual([
        `/Objects/${guid}/Elements/16000049,KEY,`,
        `/Objects/${guid}/Elements/16000049/Element,BINARY,%01`,
      ]);
      const del = await bcd("/store", S, "/deletevalue", "{default}", "testsigning");
      expect(del.code).toBe(0);
      expect(await reglookupDump(S)).toEqual(before);
      readHive(S).check();
    }
  });

  it("changing an existing element in place: only that value differs; setting it back restores the bytes", async () => {
    const S = copyFixture(dir, "ramdisk-wim-nodefault.bcd", "inplace.bcd");
    const orig = fs.readFileSync(S);
    const before = await reglookupDump(S);
    expect((await bcd("/store", S, "/set", RAMDISK_LOADER, "testsigning", "off")).code).toBe(0);
    expect(await hivexgetHex(S, el(RAMDISK_LOADER, "16000049"), "Element")).toBe("00");
    const d = dumpDiff(before, await reglookupDump(S));
    expect(d.removed).toEqual([`/Objects/${RAMDISK_LOADER}/Elements/16000049/Element,BINARY,%01`]);
    expect(d.added).toEqual([`/Objects/${RAMDISK_LOADER}/Elements/16000049/Element,BINARY,%00`]);
    expect((await bcd("/store", S, "/set", RAMDISK_LOADER.toUpperCase(), "TESTSIGNING", "Yes")).code).toBe(0);
    const now = fs.readFileSync(S);
    // identical except the sequence numbers (4..11) and the checksum (508..511)
    const diffAt: number[] = [];
    for (let i = 0; i < orig.length; i++) if (orig[i] !== now[i]) diffAt.push(i);
    expect(diffAt.every((i) => (i >= 4 && i < 12) || (i >= 508 && i < 512))).toBe(true);
    expect(now.readUInt32LE(4)).toBe(orig.readUInt32LE(4) + 2);
    expect(now.readUInt32LE(8)).toBe(now.readUInt32LE(4));
    // setting what is already there does not write at all
    const st = fs.statSync(S);
    expect((await bcd("/store", S, "/set", RAMDISK_LOADER, "testsigning", "true")).code).toBe(0);
    expect(fs.statSync(S).mtimeMs).toBe(st.mtimeMs);
  });

  it("/dbgsettings net writes debugtype, hostip, port, key, dhcp; newkey prints Key=", async () => {
    const S = copyFixture(dir, "ramdisk-wim-nodefault.bcd", "dbg.bcd");
    const r = await bcd(
      "/store",
      S,
      "/dbgsettings",
      "NET",
      "HOSTIP:192.168.0.1",
      "port:50005",
      "key:1.2.3.4",
      "nodhcp",
      "busparams:0.25.0",
    );
    expect(r.code).toBe(0);
    expect(await hivexgetText(S, `\\Objects\\${DBG}\\Description`, "Type")).toBe(String(0x20100000));
    expect(await hivexgetHex(S, el(DBG, "15000011"), "Element")).toBe("0300000000000000");
    expect(await hivexgetHex(S, el(DBG, "1500001a"), "Element")).toBe("c0a8000100000000");
    expect(await hivexgetHex(S, el(DBG, "1500001b"), "Element")).toBe("55c3000000000000");
    expect(await hivexgetText(S, el(DBG, "1200001d"), "Element")).toBe("1.2.3.4");
    expect(await hivexgetHex(S, el(DBG, "1600001c"), "Element")).toBe("00");
    expect(await hivexgetText(S, el(DBG, "12000019"), "Element")).toBe("0.25.0");
    const nk = await bcd("/store", S, "/dbgsettings", "net", "hostip:10.0.0.2", "port:50000", "newkey");
    expect(nk.code).toBe(0);
    const m = nk.stdout.trim().match(/^Key=([0-9a-z]+\.[0-9a-z]+\.[0-9a-z]+\.[0-9a-z]+)$/);
    expect(m).not.toBeNull();
    expect(await hivexgetText(S, el(DBG, "1200001d"), "Element")).toBe(m![1]);
    expect(await hivexgetHex(S, el(DBG, "1600001c"), "Element")).toBe("01");
    const show = await bcd("/store", S, "/dbgsettings");
    expect(show.stdout).toMatch(/^debugtype\s+NET$/m);
    expect(show.stdout).toMatch(/^hostip\s+10\.0\.0\.2$/m);
    expect(show.stdout).toMatch(/^port\s+50000$/m);
    expect(show.stdout).toMatch(/^dhcp\s+Yes$/m);
    await refused(S, ["/store", S, "/dbgsettings", "net", "hostip:10.0.0.300", "port:50000"], /IPv4/);
    await refused(S, ["/store", S, "/dbgsettings", "net", "hostip:10.0.0.3", "port:80"], /49152/);
    await refused(S, ["/store", S, "/dbgsettings", "net", "hostip:10.0.0.3"], /port/);
    await refused(S, ["/store", S, "/dbgsettings", "net", "hostip:10.0.0.3", "port:50000", "key:bad key"], /key/);
    await refused(S, ["/store", S, "/dbgsettings", "carrierpigeon"], /debugger type/);
    for (let i = 0; i < 20; i++) expect(newDebugKey()).toMatch(/^[0-9a-z]{1,13}(\.[0-9a-z]{1,13}){3}$/);
  });

  it("/createstore makes a store with only the Description key", async () => {
    const S = path.join(dir, "created.bcd");
    const r = await bcd("/createstore", S);
    expect(r.code).toBe(0);
    expect((await reglookupDump(S)).slice(1)).toEqual([
      "/,KEY,",
      "/Description,KEY,",
      "/Description/KeyName,SZ,BCD00000001",
    ]);
    const hs = await runTool("hivexsh", [S], { resource: RESOURCE, secrets: [], input: "ls\n" });
    expect(hs.stdout.trim()).toBe("Description");
    expect((await bcd("/store", S, "/enum", "all")).stdout).toBe("There are no matching objects.");
    await refused(S, ["/createstore", S], /exists already/);
  });

  it("/enum reads like bcdedit's", async () => {
    const S = copyFixture(dir, "ntloader-multi.bcd", "enum.bcd");
    expect((await bcd("/store", S, "/set", "{bootmgr}", "custom:16000999", "on")).code).toBe(0);
    const r = await bcd("/STORE", S, "/ENUM");
    expect(r.code).toBe(0);
    const text = r.stdout;
    expect(text).toContain("Windows Boot Manager\n--------------------\nidentifier              {bootmgr}\n");
    expect(text).toMatch(/^default\s+\{default\}$/m);
    expect(text).toMatch(/^displaybootmenu\s+No$/m);
    expect(text).toMatch(/^custom:16000999\s+Yes$/m);
    expect(text).toContain("Windows Boot Loader\n-------------------\nidentifier              {default}\n");
    expect(text).toMatch(/^inherit\s+\{19260817-6666-8888-abcd-100000000000\}$/m);
    expect(text).not.toContain("Resume from Hibernate"); // not in the display order
    const all = (await bcd("/store", S, "/enum", "ALL")).stdout;
    expect(all).toContain("Resume from Hibernate");
    expect(all).toContain("Global Settings");
    expect(all).toMatch(/^testsigning\s+Yes$/m);
    expect(all).toMatch(/^ramdisksdipath\s+\\boot\\boot\.sdi$/m);
    const v = (await bcd("/store", S, "/enum", "{default}", "/v")).stdout;
    expect(v).toContain(`identifier              ${NTLOADER_DEFAULT}`);
    expect(v).toContain(`,${WELL_KNOWN_OBJECTS.ramdiskoptions}`);
    const made = path.join(dir, "enum-made.bcd");
    createWinPeMediaStore(made, { firmware: "uefi", description: "WinPE" });
    const m = (await bcd("-store", made, "-enum", "all")).stdout;
    expect(m).toMatch(/^device\s+ramdisk=\[boot\]\\sources\\boot\.wim,\{7619dcc8-fafe-11d9-b411-000476eba25f\}$/m);
    expect(m).toMatch(/^winpe\s+Yes$/m);
    expect(m).toContain("Debugger Settings\n-----------------\nidentifier              {dbgsettings}\n");
    expect(m).toMatch(/^debugtype\s+Serial$/m);
  });

  it("errors: one clear line, non-zero exit, file untouched", async () => {
    const N = copyFixture(dir, "ramdisk-wim-nodefault.bcd", "err.bcd");
    await refused(
      N,
      ["/store", N, "/set", "{default}", "testsigning", "on"],
      /no default boot entry \(\{bootmgr\} element 23000003 is absent\)/,
    );
    await refused(N, ["/store", N, "/enum", "{default}"], /no default boot entry/);
    await refused(N, ["/store", N, "/set", "{current}", "testsigning", "on"], /running system/);
    await refused(N, ["/store", N, "/set", RAMDISK_LOADER, "frobnicate", "on"], /not a known element name/);
    await refused(N, ["/store", N, "/set", RAMDISK_LOADER, "testsigning", "maybe"], /boolean/);
    await refused(N, ["/store", N, "/set", RAMDISK_LOADER, "debug"], /needs <id> <element> <value>/);
    await refused(N, ["/store", N, "/set", "{bootmgr}", "timeout", "soon"], /number/);
    await refused(N, ["/store", N, "/deletevalue", RAMDISK_LOADER, "bootdebug"], /not set/);
    await refused(N, ["/store", N, "/set", "{dbgsettings}", "debugtype", "net"], /has no object/);
    await refused(N, ["/enum"], /needs \/store/);
    await refused(N, ["/store", N, "/frobnicate"], /not supported/);
    await refused(N, ["/store", path.join(dir, "missing.bcd"), "/enum"], /no such file/);
    const ro = copyFixture(dir, "ntloader-multi.bcd", "readonly.bcd");
    fs.chmodSync(ro, 0o444);
    await refused(ro, ["/store", ro, "/set", "{default}", "testsigning", "on"], /read-only/);
    fs.chmodSync(ro, 0o644);
    await refused(N, ["/createstore", path.join(dir, "no-such-folder", "x.bcd")], /does not exist/);
    const notHive = path.join(dir, "not-a-hive.bcd");
    fs.writeFileSync(notHive, "hello");
    await refused(notHive, ["/store", notHive, "/enum"], /registry hive/);
  });
});
