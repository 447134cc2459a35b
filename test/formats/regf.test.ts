/**
 * REGF reader/writer against the bcdedit-made fixtures and hives we build, read back by independent readers
 * (hivexregedit, hivexget, reglookup, hivexsh).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  baseBlockChecksum,
  encodeString,
  Hive,
  lhHash,
  RegfError,
  RegType,
  readHive,
  saveHive,
} from "../../formats/regf/index";
import { runTool } from "../../runtime/exec";
import {
  canonOfHive,
  canonOfHivex,
  canonText,
  copyFixture,
  dumpDiff,
  FIXTURE_DIR,
  FIXTURES,
  fileSha,
  hivexgetHex,
  hivexgetText,
  makeScratch,
  RESOURCE,
  reglookupDump,
  removeScratch,
} from "./helpers";

let dir: string;
beforeAll(() => {
  dir = makeScratch("regf");
});
afterAll(() => removeScratch(dir));

function header(file: string) {
  const b = fs.readFileSync(file);
  return {
    primary: b.readUInt32LE(4),
    secondary: b.readUInt32LE(8),
    checksum: b.readUInt32LE(508),
    computed: baseBlockChecksum(b),
    binsSize: b.readUInt32LE(40),
    length: b.length,
  };
}

describe("reading the fixtures", () => {
  for (const name of FIXTURES) {
    it(`${name}: our parse equals hivexregedit's export`, async () => {
      const file = path.join(FIXTURE_DIR, name);
      const ours = canonText(canonOfHive(readHive(file)));
      const theirs = await canonOfHivex(file);
      expect(theirs).not.toBeNull();
      expect(ours).toBe(canonText(theirs!));
    });

    it(`${name}: parse + serialize without changes is byte-identical, and save writes nothing`, () => {
      const copy = copyFixture(dir, name, `noop-${name}`);
      const before = fs.readFileSync(copy);
      const st = fs.statSync(copy);
      const hive = readHive(copy);
      expect(hive.isModified()).toBe(false);
      expect(hive.serialize().equals(before)).toBe(true);
      expect(saveHive(hive, copy)).toBe(false);
      // setting a value to what it already is changes nothing either
      const first = [...hive.walk()].find((k) => k.key.values().length > 0)!;
      const v = first.key.values()[0];
      expect(hive.setValue(first.path, v.name, v.type, v.data)).toBe(false);
      expect(saveHive(hive, copy)).toBe(false);
      // a change and its undo in one session (same-size data, rewritten in place) leaves nothing to write
      expect(hive.setValue(first.path, v.name, v.type, Buffer.alloc(v.data.length, 0xee))).toBe(true);
      expect(hive.isModified()).toBe(true);
      expect(hive.setValue(first.path, v.name, v.type, v.data)).toBe(true);
      expect(hive.isModified()).toBe(false);
      expect(saveHive(hive, copy)).toBe(false);
      expect(fs.readFileSync(copy).equals(before)).toBe(true);
      expect(fs.statSync(copy).mtimeMs).toBe(st.mtimeMs);
    });
  }

  it("keys and values are found case-insensitively", () => {
    const hive = readHive(path.join(FIXTURE_DIR, "ntloader-multi.bcd"));
    const v = hive.getValue("objects\\{9DEA862C-5CDD-4E70-ACC1-F32B344D4795}\\ELEMENTS\\12000004", "element");
    expect(v?.type).toBe(RegType.SZ);
    expect(v?.data.toString("utf16le")).toBe("NTloader\0");
    expect(hive.getKey("Objects\\nope")).toBeUndefined();
  });
});

describe("writing", () => {
  it("set/create/delete values in a fixture: independent readers see exactly the change", async () => {
    const file = copyFixture(dir, "ntloader-multi.bcd", "w1.bcd");
    const before = await reglookupDump(file);
    const key = "Objects\\{9dea862c-5cdd-4e70-acc1-f32b344d4795}\\Elements\\12000004";
    const hive = readHive(file);
    expect(hive.setValue(key, "Element", RegType.SZ, encodeString("A longer description than before"))).toBe(true);
    expect(hive.setValue(key, "Extra", RegType.DWORD, Buffer.from([1, 2, 3, 4]))).toBe(true);
    expect(saveHive(hive, file)).toBe(true);
    expect(await hivexgetText(file, `\\${key}`, "Element")).toBe("A longer description than before");
    expect(await hivexgetText(file, `\\${key}`, "Extra")).toBe(String(0x04030201)); // hivexget prints DWORDs in decimal
    const after = await reglookupDump(file);
    const d = dumpDiff(before, after);
    expect(d.removed).toEqual([`/${key.replace(/\\/g, "/")}/Element,SZ,NTloader`]);
    expect(d.added.sort()).toEqual(
      [
        `/${key.replace(/\\/g, "/")}/Element,SZ,A longer description than before`,
        `/${key.replace(/\\/g, "/")}/Extra,DWORD,0x04030201`,
      ].sort(),
    );
    const h = header(file);
    expect(h.primary).toBe(h.secondary);
    expect(h.checksum).toBe(h.computed);
    readHive(file).check();

    // delete both again: the dump is back to the original
    const again = readHive(file);
    expect(again.setValue(key, "Element", RegType.SZ, encodeString("NTloader"))).toBe(true);
    expect(again.deleteValue(key, "Extra")).toBe(true);
    expect(again.deleteValue(key, "Extra")).toBe(false);
    saveHive(again, file);
    expect(await reglookupDump(file)).toEqual(before);
  });

  it("creating keys (and parents) keeps Windows order in an lf list; deleting restores the dump", async () => {
    const file = copyFixture(dir, "ramdisk-wim-nodefault.bcd", "w2.bcd");
    const before = await reglookupDump(file);
    const beforeCanon = canonText(canonOfHive(readHive(file)));
    const hive = readHive(file);
    hive.createKey("Objects\\{aaaaaaaa-0000-0000-0000-000000000000}\\Elements\\16000049");
    hive.setValue(
      "Objects\\{aaaaaaaa-0000-0000-0000-000000000000}\\Elements\\16000049",
      "Element",
      RegType.BINARY,
      Buffer.from([1]),
    );
    hive.createKey("Objects\\{00000000-0000-0000-0000-000000000000}");
    hive.createKey("Objects\\{ffffffff-0000-0000-0000-000000000000}");
    saveHive(hive, file);
    const names = readHive(file)
      .getKey("Objects")!
      .subkeys()
      .map((k) => k.name);
    expect(names).toEqual([...names].sort((a, b) => (a.toUpperCase() < b.toUpperCase() ? -1 : 1)));
    expect(names[0]).toBe("{00000000-0000-0000-0000-000000000000}");
    expect(
      await hivexgetHex(file, "\\Objects\\{aaaaaaaa-0000-0000-0000-000000000000}\\Elements\\16000049", "Element"),
    ).toBe("01");
    const hs = await runTool("hivexsh", [file], { resource: RESOURCE, secrets: [], input: "cd \\Objects\nls\n" });
    expect(hs.stdout.split("\n").filter((l) => l.startsWith("{"))).toEqual(names);
    // the new list is an lf list with the first four characters as hints
    const h2 = readHive(file);
    const dumpAfter = await reglookupDump(file);
    expect(dumpDiff(before, dumpAfter).removed).toEqual([]);
    expect(dumpDiff(before, dumpAfter).added.length).toBe(6); // 5 keys + 1 value
    for (const k of [
      "Objects\\{aaaaaaaa-0000-0000-0000-000000000000}",
      "Objects\\{00000000-0000-0000-0000-000000000000}",
      "Objects\\{ffffffff-0000-0000-0000-000000000000}",
    ])
      expect(h2.deleteKey(k, { recursive: true })).toBe(true);
    expect(h2.deleteKey("Objects\\nope")).toBe(false);
    saveHive(h2, file);
    expect(await reglookupDump(file)).toEqual(before);
    expect(canonText(canonOfHive(readHive(file)))).toBe(beforeCanon);
    readHive(file).check();
  });

  it("a key with subkeys is deleted only recursively; the root never", () => {
    const hive = Hive.create({ rootName: "R" });
    hive.createKey("A\\B");
    expect(() => hive.deleteKey("A")).toThrow(RegfError);
    expect(() => hive.deleteKey("")).toThrow(/root/);
    expect(hive.deleteKey("A", { recursive: true })).toBe(true);
    expect(hive.root().subkeys()).toEqual([]);
  });

  it("grows the hive with new hbins, keeps free space well-formed and merges freed cells", async () => {
    const file = path.join(dir, "grow.hive");
    const hive = Hive.create({ rootName: "ROOT" });
    for (let i = 0; i < 40; i++) {
      hive.createKey(`K\\sub${i}`);
      hive.setValue(`K\\sub${i}`, "data", RegType.BINARY, Buffer.alloc(900 + i, i));
    }
    hive.check();
    const grown = hive.stats();
    expect(grown.bins).toBeGreaterThan(1);
    saveHive(hive, file);
    const h = header(file);
    expect(h.binsSize + 4096).toBe(h.length);
    expect(h.primary).toBe(h.secondary);
    expect(h.checksum).toBe(h.computed);
    expect(await hivexgetHex(file, "\\K\\sub7", "data")).toBe(Buffer.alloc(907, 7).toString("hex"));
    const h2 = readHive(file);
    for (let i = 0; i < 40; i++) h2.deleteKey(`K\\sub${i}`);
    h2.check();
    const s = h2.stats();
    // all that remains allocated: root, its subkey list, K, the security cell; each hbin is one merged free cell at most
    expect(s.usedCells).toBe(4);
    expect(s.freeCells).toBeLessThanOrEqual(s.bins);
    saveHive(h2, file);
    expect((await reglookupDump(file)).slice(1)).toEqual(["/,KEY,", "/K,KEY,"]);
  });

  it("big values: a single cell in 1.3 hives, 'db' big data records in 1.5 hives (read back by hivex)", async () => {
    for (const minor of [3, 5]) {
      const file = path.join(dir, `big-${minor}.hive`);
      const hive = Hive.create({ rootName: "ROOT", minorVersion: minor });
      const data = Buffer.alloc(40_000);
      for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
      hive.createKey("Big");
      hive.setValue("Big", "v", RegType.BINARY, data);
      saveHive(hive, file);
      expect(readHive(file).getValue("Big", "v")?.data.equals(data)).toBe(true);
      expect(await hivexgetHex(file, "\\Big", "v")).toBe(data.toString("hex"));
      // shrink it to inline and back
      const h2 = readHive(file);
      h2.setValue("Big", "v", RegType.BINARY, Buffer.from([9]));
      h2.check();
      saveHive(h2, file);
      expect(await hivexgetHex(file, "\\Big", "v")).toBe("09");
      expect(readHive(file).stats().usedCells).toBe(6); // root, its subkey list, sk, Big, its value list, the vk
    }
  });

  it("more than 500 subkeys go into an ri index of lf leaves, read back by reglookup and hivex", async () => {
    const file = path.join(dir, "ri.hive");
    const hive = Hive.create({ rootName: "ROOT" });
    for (let i = 0; i < 1100; i++) hive.createKey(`Many\\k${String(i).padStart(4, "0")}`);
    saveHive(hive, file);
    const dump = await reglookupDump(file);
    expect(dump.filter((l) => l.startsWith("/Many/k")).length).toBe(1100);
    const canon = await canonOfHivex(file);
    expect(canonText(canonOfHive(readHive(file)))).toBe(canonText(canon!));
    const h2 = readHive(file);
    for (let i = 0; i < 1100; i += 2) h2.deleteKey(`Many\\k${String(i).padStart(4, "0")}`);
    h2.check();
    saveHive(h2, file);
    expect((await reglookupDump(file)).filter((l) => l.startsWith("/Many/k")).length).toBe(550);
  });

  it("keeps lh lists as lh (with Windows' hash) when editing hivex-made hives", async () => {
    expect(lhHash("abc")).toBe(((65 * 37 + 66) * 37 + 67) >>> 0);
    const file = path.join(dir, "hivex-made.hive");
    saveHive(Hive.create({ rootName: "ROOT" }), file);
    await runTool("hivexsh", ["-w", file], { resource: RESOURCE, secrets: [], input: "add foo\nadd bar\ncommit\n" });
    const rootListSig = (f: string) => {
      const b = fs.readFileSync(f);
      const rootCell = b.readUInt32LE(36);
      const list = b.readUInt32LE(4096 + rootCell + 4 + 28);
      return b.toString("latin1", 4096 + list + 4, 4096 + list + 6);
    };
    expect(rootListSig(file)).toBe("lh");
    const hive = readHive(file);
    hive.createKey("baz");
    saveHive(hive, file);
    expect(rootListSig(file)).toBe("lh");
    const hs = await runTool("hivexsh", [file], { resource: RESOURCE, secrets: [], input: "ls\n" });
    expect(hs.stdout.trim().split("\n")).toEqual(["bar", "baz", "foo"]);
  });

  it("non-ASCII names are stored as UTF-16 and read back", async () => {
    const file = path.join(dir, "utf16.hive");
    const hive = Hive.create({ rootName: "ROOT" });
    hive.createKey("Schlüssel\\键");
    hive.setValue("Schlüssel\\键", "wert→", RegType.SZ, encodeString("ok"));
    saveHive(hive, file);
    expect(readHive(file).getValue("SCHLÜSSEL\\键", "WERT→")?.data.toString("utf16le")).toBe("ok\0");
    const canon = await canonOfHivex(file);
    expect(canon?.has("\\Schlüssel\\键")).toBe(true);
  });

  it("refuses to edit a hive whose sequence numbers differ (pending log), and leaves it untouched", () => {
    const file = copyFixture(dir, "ntloader-multi.bcd", "dirty.bcd");
    const b = fs.readFileSync(file);
    b.writeUInt32LE(b.readUInt32LE(4) + 1, 4);
    b.writeUInt32LE(baseBlockChecksum(b), 508);
    fs.writeFileSync(file, b);
    const sha = fileSha(file);
    const hive = readHive(file);
    expect(hive.getKey("Objects")).toBeDefined();
    expect(() => hive.createKey("X")).toThrow(/sequence numbers differ/);
    expect(fileSha(file)).toBe(sha);
  });

  it("timestamps: untouched by default, stamped when a clock is given", () => {
    const file = copyFixture(dir, "ntloader-multi.bcd", "clock.bcd");
    const plain = readHive(file);
    const objectsTs = plain.getKey("Objects")!.lastWritten;
    plain.createKey("Objects\\{12345678-0000-0000-0000-000000000000}");
    expect(plain.getKey("Objects")!.lastWritten).toBe(objectsTs);
    const clocked = Hive.parse(fs.readFileSync(file), { clock: () => 133_000_000_000_000_000n });
    clocked.createKey("Objects\\{12345678-0000-0000-0000-000000000000}");
    expect(clocked.getKey("Objects")!.lastWritten).toBe(133_000_000_000_000_000n);
    expect(clocked.getKey("Objects\\{12345678-0000-0000-0000-000000000000}")!.lastWritten).toBe(
      133_000_000_000_000_000n,
    );
  });
});
