/**
 * BcdSettings provider on real stores: a copy of a bcdedit-made fixture and the stores our copype makes.
 * Every write is read back by hivexget (libhivex, an independent reader).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as bcdP from "../../resources/providers/bcd-settings";
import { sha256 } from "../../runtime/digest";
import { runTool } from "../../runtime/exec";
import { setProgressFallback } from "../../runtime/progress";

const FIXTURES = path.resolve(__dirname, "..", "fixtures", "bcd");
type Props = Record<string, unknown>;

/** hivexget's output for a value: REG_SZ as text (trimmed); null when the value does not exist. */
async function hivexget(store: string, key: string): Promise<string | null> {
  const r = await runTool("hivexget", [store, key, "Element"], { okExitCodes: [0, 1] });
  return r.exitCode === 0 ? r.stdout.trim() : null;
}

/** hivexget's output for a REG_BINARY value (it prints the raw bytes) as hex; null when absent. */
async function hexOf(store: string, key: string): Promise<string | null> {
  const r = await runTool("hivexget", [store, key, "Element"], { okExitCodes: [0, 1], binaryStdout: true });
  return r.exitCode === 0 ? r.stdoutBuffer.toString("hex") : null;
}

describe("BcdSettings provider (our BCD module, real stores)", () => {
  let dir: string;
  let store: string;
  let original: Buffer;
  let state: Props;
  let defaultGuid: string;

  beforeAll(async () => {
    setProgressFallback(() => undefined);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "winpe-bcd-"));
    process.env.WINPE_LAB_LOCK_DIR = path.join(dir, "locks");
    store = path.join(dir, "BCD");
    fs.copyFileSync(path.join(FIXTURES, "ntloader-multi.bcd"), store);
    fs.chmodSync(store, 0o644);
    original = fs.readFileSync(store);
    const r = await runTool("hivexget", [
      store,
      "\\Objects\\{9dea862c-5cdd-4e70-acc1-f32b344d4795}\\Elements\\23000003",
      "Element",
    ]);
    defaultGuid = r.stdout.trim();
    expect(defaultGuid).toMatch(/^\{[0-9a-f-]{36}\}$/i);
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    delete process.env.WINPE_LAB_LOCK_DIR;
  });

  const inputs = (flags: Props, kdnet?: Props) => ({
    toolchain: "open",
    stores: [store],
    object: "{default}",
    flags,
    ...(kdnet ? { kdnet } : {}),
    stateDir: path.join(dir, "state"),
  });

  it("check normalizes on/off and rejects a low port naming the property", async () => {
    const ok = await bcdP.check({}, inputs({ testsigning: true }));
    expect(ok.inputs?.flags).toEqual({ testsigning: "on" });
    const bad = await bcdP.check({}, inputs({}, { hostIp: "10.0.0.1", port: 1234, key: "1.2.3.4" }));
    expect(bad.failures?.[0]?.property).toBe("kdnet.port");
    const badIp = await bcdP.check({}, inputs({}, { hostIp: "10.0.0.256", port: 50005, key: "1.2.3.4" }));
    expect(badIp.failures?.[0]?.property).toBe("kdnet.hostIp");
  });

  it("create sets testsigning, debug and KDNET; hivexget reads the exact bytes", async () => {
    const checked = await bcdP.check(
      {},
      inputs({ testsigning: "on", debug: "on" }, { hostIp: "10.0.2.2", port: 50005, key: "5.5.5.5" }),
    );
    state = (await bcdP.create(checked.inputs as Props)).outs as Props;
    const el = (obj: string, id: string) => `\\Objects\\${obj}\\Elements\\${id}`;
    expect(await hexOf(store, el(defaultGuid, "16000049"))).toBe("01");
    expect(await hexOf(store, el(defaultGuid, "260000a0"))).toBe("01");
    const dbg = "{4636856e-540f-4170-a130-a84776f4c654}";
    expect(await hexOf(store, el(dbg, "15000011"))).toBe("0300000000000000");
    expect(await hexOf(store, el(dbg, "1500001b"))).toBe("55c3000000000000");
    expect(await hivexget(store, el(dbg, "1200001d"))).toBe("5.5.5.5");
    expect((state.effective as Record<string, Props>)[store]).toMatchObject({
      testsigning: "on",
      debug: "on",
      "dbgsettings.port": "50005",
      "dbgsettings.key": "[secret]",
    });
    expect(JSON.stringify(state.effective)).not.toContain("5.5.5.5");
    expect((state.storeHashes as Props)[store]).toBe(sha256(fs.readFileSync(store)));
  });

  it("a second apply with the same settings changes nothing", async () => {
    const before = fs.readFileSync(store);
    const news = await bcdP.check(
      {},
      inputs({ testsigning: "on", debug: "on" }, { hostIp: "10.0.2.2", port: 50005, key: "5.5.5.5" }),
    );
    const d = await bcdP.diff("id", state, news.inputs as Props);
    expect(d.changes).toBe(false);
    expect(fs.readFileSync(store).equals(before)).toBe(true);
  });

  it("refresh reports a flag flipped by hand; update puts it back", async () => {
    await runTool("bash", [
      path.resolve(__dirname, "..", "..", "bin", "winpe"),
      "bcd",
      "/store",
      store,
      "/set",
      "{default}",
      "testsigning",
      "off",
    ]);
    const r = await bcdP.read("id", state);
    expect(r.props?.drift).toEqual(["testsigning: on -> off"]);
    const news = inputs({ testsigning: "on", debug: "on" }, { hostIp: "10.0.2.2", port: 50005, key: "5.5.5.5" });
    expect((await bcdP.diff("id", r.props as Props, (await bcdP.check({}, news)).inputs as Props)).changes).toBe(true);
    state = (await bcdP.update("id", r.props as Props, (await bcdP.check({}, news)).inputs as Props)).outs as Props;
    expect(await hexOf(store, `\\Objects\\${defaultGuid}\\Elements\\16000049`)).toBe("01");
  });

  it("update that drops debug restores its previous value only", async () => {
    const news = (
      await bcdP.check({}, inputs({ testsigning: "on" }, { hostIp: "10.0.2.2", port: 50005, key: "5.5.5.5" }))
    ).inputs as Props;
    expect((await bcdP.diff("id", state, news)).changes).toBe(true);
    state = (await bcdP.update("id", state, news)).outs as Props;
    expect(await hivexget(store, `\\Objects\\${defaultGuid}\\Elements\\260000a0`)).toBeNull();
  });

  it("delete restores the store element by element after a foreign change, and byte for byte otherwise", async () => {
    // the hand edit above means the pristine copy no longer applies: restore is element by element
    await bcdP.delete("id", state);
    const r = await runTool("reglookup", ["-H", store]);
    const o = await runTool("reglookup", ["-H", path.join(FIXTURES, "ntloader-multi.bcd")]);
    const strip = (s: string) =>
      s
        .split("\n")
        .map((l) =>
          l
            .split(",")
            .filter((_, i) => i !== 1)
            .join(","),
        )
        .sort()
        .join("\n");
    expect(strip(r.stdout)).toBe(strip(o.stdout));
    // a clean cycle: byte-identical
    fs.writeFileSync(store, original);
    const s2 = (
      await bcdP.create((await bcdP.check({}, inputs({ testsigning: "on", nointegritychecks: "on" }))).inputs as Props)
    ).outs as Props;
    expect(fs.readFileSync(store).equals(original)).toBe(false);
    await bcdP.delete("id", s2);
    expect(fs.readFileSync(store).equals(original)).toBe(true);
    expect(fs.readdirSync(path.join(dir, "state"))).toEqual([]);
  });

  it("a store without a default is a clear error naming the object; the file is untouched", async () => {
    const nd = path.join(dir, "nodefault.bcd");
    fs.copyFileSync(path.join(FIXTURES, "ramdisk-wim-nodefault.bcd"), nd);
    fs.chmodSync(nd, 0o644);
    const before = sha256(fs.readFileSync(nd));
    const args = { ...inputs({ testsigning: "on" }), stores: [nd] };
    await expect(bcdP.create((await bcdP.check({}, args)).inputs as Props)).rejects.toThrow(
      /'object' \{default\}.*no default boot entry/,
    );
    expect(sha256(fs.readFileSync(nd))).toBe(before);
  });
});
