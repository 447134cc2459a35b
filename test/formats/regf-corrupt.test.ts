/**
 * Truncated, corrupted, hostile and randomly mutated hives: every failure is a RegfError naming an offset (never
 * another exception, a hang or a huge allocation), and the file on disk is never touched. Hives that survive a
 * mutation must read the same as an independent reader (hivexregedit) reads them.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../cli/bcd";
import { BcdError, openStore } from "../../formats/bcd/index";
import { baseBlockChecksum, encodeString, Hive, RegfError, RegType, readHive } from "../../formats/regf/index";
import {
  canonOfHive,
  canonOfHivex,
  canonText,
  captureRun,
  FIXTURE_DIR,
  FIXTURES,
  fileSha,
  makeScratch,
  removeScratch,
  rng,
} from "./helpers";

let dir: string;
beforeAll(() => {
  dir = makeScratch("regf-corrupt");
});
afterAll(() => removeScratch(dir));

const fixtureBytes = (name: string) => fs.readFileSync(path.join(FIXTURE_DIR, name));

function fixChecksum(b: Buffer): Buffer {
  b.writeUInt32LE(baseBlockChecksum(b), 508);
  return b;
}

/** Everything a reader can do with a hive, plus an edit and a re-parse of the result. */
function exercise(bytes: Uint8Array): Hive {
  const hive = Hive.parse(bytes);
  for (const { key } of hive.walk()) {
    void key.name;
    for (const v of key.values()) void v.data.length;
  }
  if (bytes.length >= 8 && Buffer.from(bytes).readUInt32LE(4) === Buffer.from(bytes).readUInt32LE(8)) {
    hive.createKey("Objects\\{fuzz0000-0000-0000-0000-000000000000}\\Elements\\16000049");
    hive.setValue(
      "Objects\\{fuzz0000-0000-0000-0000-000000000000}\\Elements\\16000049",
      "Element",
      RegType.BINARY,
      Buffer.from([1]),
    );
    hive.setValue("", "big", RegType.BINARY, Buffer.alloc(5000, 1));
    hive.deleteKey("Objects\\{fuzz0000-0000-0000-0000-000000000000}", { recursive: true });
    Hive.parse(hive.serialize());
  }
  return hive;
}

/** Run `fn`; it must succeed or throw a RegfError (or BcdError) naming an offset. Returns the error, if any. */
function onlyClearErrors(fn: () => void): Error | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    if (e instanceof RegfError) {
      expect(e.message).toMatch(/registry hive/);
      return e;
    }
    if (e instanceof BcdError) return e;
    throw new Error(`unexpected ${(e as Error)?.name}: ${(e as Error)?.message}\n${(e as Error)?.stack}`);
  }
}

/** The store via the CLI: must fail with exit 1, one stderr line, and leave the file byte-identical. */
async function cliRefuses(file: string): Promise<void> {
  const sha = fileSha(file);
  for (const args of [
    ["/store", file, "/enum", "all"],
    ["/store", file, "/set", "{bootmgr}", "testsigning", "on"],
  ]) {
    const r = await captureRun(run, args);
    expect(r.code).toBe(1);
    expect(r.stderr.split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^winpe bcd: /);
    expect(fileSha(file)).toBe(sha);
  }
}

describe.each(FIXTURES)("%s", (name) => {
  const orig = fixtureBytes(name);

  it("truncated copies: clear RegfError, file untouched", async () => {
    const lengths = [0, 1, 4, 100, 507, 4095, 4096, 4100, 4096 + 31, 8191, orig.length - 4096, orig.length - 1];
    for (const len of lengths) {
      const cut = orig.subarray(0, len);
      const err = onlyClearErrors(() => Hive.parse(cut));
      expect(err, `length ${len}`).toBeInstanceOf(RegfError);
    }
    const file = path.join(dir, `trunc-${name}`);
    fs.writeFileSync(file, orig.subarray(0, orig.length - 100));
    expect(() => readHive(file)).toThrow(/truncated/);
    await cliRefuses(file);
  });

  const headerCases: Array<[string, (b: Buffer) => void, RegExp]> = [
    ["signature", (b) => b.write("regx", 0, "latin1"), /regf/],
    ["checksum", (b) => b.writeUInt32LE((b.readUInt32LE(508) ^ 1) >>> 0, 508), /checksum/],
    ["a header byte without fixing the checksum", (b) => b.writeUInt8(b[48] ^ 0x40, 48), /checksum/],
    ["major version", (b) => fixChecksum(b.writeUInt32LE(2, 20) ? b : b), /version/],
    ["file type (log)", (b) => fixChecksum(b.writeUInt32LE(1, 28) ? b : b), /file type/],
    ["hive bins size past the end", (b) => fixChecksum(b.writeUInt32LE(0x7ffff000, 40) ? b : b), /truncated/],
    ["hive bins size not 4K-aligned", (b) => fixChecksum(b.writeUInt32LE(0x1001, 40) ? b : b), /multiple of 4096/],
    ["root cell offset", (b) => fixChecksum(b.writeUInt32LE(0x123456, 36) ? b : b), /root key/],
  ];
  const hbinCases: Array<[string, (b: Buffer) => void, RegExp]> = [
    ["first hbin signature", (b) => b.write("hbix", 4096, "latin1"), /hbin/],
    ["first hbin offset field", (b) => b.writeUInt32LE(0x1000, 4096 + 4), /offset field/],
    ["first hbin size", (b) => b.writeUInt32LE(0x123, 4096 + 8), /hbin size/],
    ["first hbin size past the end", (b) => b.writeUInt32LE(0x100000, 4096 + 8), /runs past/],
  ];
  const rootCell = orig.readUInt32LE(36);
  const rootP = 4096 + rootCell;
  const cellCases: Array<[string, (b: Buffer) => void, RegExp]> = [
    ["root cell size 0", (b) => b.writeInt32LE(0, rootP), /cell size/],
    ["root cell size misaligned", (b) => b.writeInt32LE(-0x5c, rootP), /multiple of 8/],
    ["root cell size past the hbin", (b) => b.writeInt32LE(-0x10000, rootP), /crosses the end/],
    ["root nk signature", (b) => b.write("xx", rootP + 4, "latin1"), /nk/],
    ["root subkey count", (b) => b.writeUInt32LE(0xffffffff, rootP + 4 + 20), /subkeys|entries/],
    ["root subkey list offset", (b) => b.writeUInt32LE(0x7ffffff8, rootP + 4 + 28), /subkey list/],
    ["root name length", (b) => b.writeUInt16LE(0xffff, rootP + 4 + 72), /name/],
    ["root value count", (b) => b.writeUInt32LE(0x40000000, rootP + 4 + 36), /value list/],
    [
      "subkey list entry pointing back at the root (a cycle)",
      (b) => {
        const list = b.readUInt32LE(rootP + 4 + 28);
        b.writeUInt32LE(rootCell, 4096 + list + 4 + 4);
      },
      /used twice|parent field/,
    ],
    [
      "subkey list signature",
      (b) => {
        const list = b.readUInt32LE(rootP + 4 + 28);
        b.write("zz", 4096 + list + 4, "latin1");
      },
      /unknown signature/,
    ],
  ];

  for (const [what, corrupt, msg] of [...headerCases, ...hbinCases, ...cellCases]) {
    it(`corrupted ${what}: clear RegfError with an offset, file untouched`, async () => {
      const b = Buffer.from(orig);
      corrupt(b);
      const err = onlyClearErrors(() => Hive.parse(b));
      expect(err).toBeInstanceOf(RegfError);
      expect(err!.message).toMatch(/at offset 0x[0-9a-f]+/);
      expect(err!.message).toMatch(msg);
      const file = path.join(dir, `corrupt-${what.replace(/\W+/g, "_")}-${name}`);
      fs.writeFileSync(file, b);
      await cliRefuses(file);
    });
  }

  it("random single-bit flips: a clear RegfError or a result that hivexregedit agrees with", async () => {
    const rand = rng(0xb1f1 + name.length);
    const survivors: Buffer[] = [];
    let errors = 0;
    const started = Date.now();
    for (let i = 0; i < 4000; i++) {
      const b = Buffer.from(orig);
      const bit = Math.floor(rand() * b.length * 8);
      b[bit >> 3] ^= 1 << (bit & 7);
      const t0 = Date.now();
      const err = onlyClearErrors(() => exercise(b));
      expect(Date.now() - t0).toBeLessThan(2000);
      if (err) errors++;
      else if (bit >= 4096 * 8 && survivors.length < 20 && rand() < 0.3) survivors.push(b);
    }
    expect(errors).toBeGreaterThan(0);
    expect(Date.now() - started).toBeLessThan(60_000);
    // survivors: our reading equals hivex's (when hivex reads the file and all names are plain)
    let compared = 0;
    for (const [i, b] of survivors.entries()) {
      const ours = canonOfHive(Hive.parse(b));
      const plain = [...ours.entries()].every(
        ([k, vals]) =>
          /^[\x20-\x7e]*$/.test(k) &&
          !/[[\]"]/.test(k) &&
          [...vals.keys()].every((n) => /^[\x20-\x5b\x5d-\x7e]*$/.test(n) && !n.includes('"')),
      );
      if (!plain) continue;
      const file = path.join(dir, `survivor-${i}-${name}`);
      fs.writeFileSync(file, b);
      const theirs = await canonOfHivex(file);
      if (!theirs) continue;
      expect(canonText(ours)).toBe(canonText(theirs));
      compared++;
    }
    expect(compared).toBeGreaterThan(0);
  });

  it("property: random byte mutations and truncations give a RegfError or a consistent hive (fast-check)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: orig.length - 1 }), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 12,
        }),
        fc.option(fc.nat({ max: orig.length }), { freq: 4 }),
        fc.boolean(),
        (writes, cut, fixSum) => {
          let b = Buffer.from(orig);
          for (const [at, v] of writes) b[at] = v;
          if (fixSum) fixChecksum(b);
          if (cut !== null) b = b.subarray(0, cut);
          onlyClearErrors(() => exercise(b));
        },
      ),
      { numRuns: 1500, seed: 20261125 },
    );
  });

  it("property: mutations only inside the hbins (checksum intact) exercise the cell checks (fast-check)", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.integer({ min: 4096, max: orig.length - 4 }),
            fc.oneof(fc.constant(0), fc.constant(0xffffffff), fc.nat(), fc.integer({ min: -4096, max: 4096 })),
          ),
          { minLength: 1, maxLength: 6 },
        ),
        (writes) => {
          const b = Buffer.from(orig);
          for (const [at, v] of writes) b.writeUInt32LE(v >>> 0, at & ~3);
          onlyClearErrors(() => exercise(b));
          // the BCD layer on the same bytes: only clear errors too
          const file = path.join(dir, `prop-${name}`);
          fs.writeFileSync(file, b);
          onlyClearErrors(() => {
            const s = openStore(file);
            s.formatObjects(s.listObjects().map((o) => o.id));
            for (const o of s.listObjects()) s.getEffectiveElement(o.id, "testsigning");
          });
        },
      ),
      { numRuns: 800, seed: 4242 },
    );
  });
});

describe("hostile hives", () => {
  it("a subkey list naming the same key thousands of times fails fast", () => {
    const hive = Hive.create({ rootName: "R" });
    for (let i = 0; i < 3000; i++) hive.createKey(`k${i}`);
    const b = hive.serialize();
    const root = b.readUInt32LE(36);
    const ri = 4096 + b.readUInt32LE(4096 + root + 4 + 28) + 4;
    expect(b.toString("latin1", ri, ri + 2)).toBe("ri");
    // every leaf entry now names the same key: a cycle-free but shared structure
    const firstLeaf = 4096 + b.readUInt32LE(ri + 4) + 4;
    const same = b.readUInt32LE(firstLeaf + 4);
    for (let l = 0; l < b.readUInt16LE(ri + 2); l++) {
      const leaf = 4096 + b.readUInt32LE(ri + 4 + l * 4) + 4;
      for (let e = 0; e < b.readUInt16LE(leaf + 2); e++) b.writeUInt32LE(same, leaf + 4 + e * 8);
    }
    const t0 = Date.now();
    expect(() => Hive.parse(b)).toThrow(/used twice/);
    // and an ri index naming one leaf many times
    const c = hive.serialize();
    const ri2 = 4096 + c.readUInt32LE(4096 + root + 4 + 28) + 4;
    for (let l = 1; l < c.readUInt16LE(ri2 + 2); l++) c.writeUInt32LE(c.readUInt32LE(ri2 + 4), ri2 + 4 + l * 4);
    expect(() => Hive.parse(c)).toThrow(/twice/);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it("deep nesting (2000 levels) neither overflows the stack nor slows down", () => {
    const hive = Hive.create({ rootName: "R" });
    const names = Array.from({ length: 2000 }, (_, i) => `k${i}`);
    hive.createKey(names);
    hive.setValue(names, "v", RegType.SZ, encodeString("deep"));
    const bytes = hive.serialize();
    const t0 = Date.now();
    const again = Hive.parse(bytes);
    expect(again.getValue(names.join("\\"), "v")?.data.toString("utf16le")).toBe("deep\0");
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it("a value claiming 2 GiB of data is refused without allocating it", () => {
    const hive = Hive.create({ rootName: "R" });
    hive.setValue("", "v", RegType.BINARY, Buffer.alloc(64, 1));
    const b = hive.serialize();
    // find the vk cell and make its size huge
    const at = b.indexOf(Buffer.from("vk\x01\x00", "latin1"), 4096);
    b.writeUInt32LE(0x7ffffff0, at + 4);
    expect(() => Hive.parse(b)).toThrow(/value data/);
  });
});
