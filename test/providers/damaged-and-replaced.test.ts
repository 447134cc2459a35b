/**
 * Regressions of the hostile pass (issue 13), provider by provider, on real files:
 * - a boot.wim truncated after the commit (item 5): refresh reports it as drift with the reason (no stack trace),
 *   and destroy finishes (it says nothing of ours can be taken out of a damaged WIM) instead of being stuck;
 * - a test certificate replaced after its .crt was deleted by hand (item 7): the replacement's delete of the old
 *   certificate leaves the new certificate's files alone (they have the same names).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as commitP from "../../resources/providers/image-commit";
import * as injectP from "../../resources/providers/injected-files";
import * as mountP from "../../resources/providers/mounted-image";
import * as certP from "../../resources/providers/test-certificate";
import { setProgressFallback } from "../../runtime/progress";
import { makeWim } from "../helpers/wim";

type Props = Record<string, unknown>;

describe("a boot.wim truncated after the commit", () => {
  let dir: string;
  let wim: string;
  let mount: Props;
  let inject: Props;
  let commit: Props;
  const notices: string[] = [];

  beforeAll(async () => {
    setProgressFallback((l) => notices.push(l));
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "winpe-damaged-"));
    process.env.WINPE_LAB_LOCK_DIR = path.join(dir, "locks");
    wim = await makeWim(dir);
    const src = path.join(dir, "readme.txt");
    fs.writeFileSync(src, "ours\n");
    mount = (
      await mountP.create({ toolchain: "open", wim, index: 1, mountDir: path.join(dir, "mount"), holder: "test/d" })
    ).outs as Props;
    const ref = {
      toolchain: "open",
      wim,
      index: 1,
      mountDir: path.join(dir, "mount"),
      privateDir: mount.privateDir,
      holder: "test/d",
    };
    inject = (await injectP.create({ mount: ref, files: { "Windows/Test/readme.txt": { source: src } } }))
      .outs as Props;
    commit = (await commitP.create({ mount: ref, files: inject.staged, contentHash: inject.contentHash }))
      .outs as Props;
    const b = fs.readFileSync(wim);
    fs.writeFileSync(wim, b.subarray(0, Math.floor(b.length / 2)));
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    delete process.env.WINPE_LAB_LOCK_DIR;
  });

  it("refresh: the commit reports the WIM as drift, the mount as stale, with the reason; nothing throws", async () => {
    notices.length = 0;
    const c = await commitP.read("id", commit);
    expect(c.props?.drift).toEqual(["<wim>"]);
    expect(notices.join("\n")).toMatch(/boot\.wim is truncated or damaged: .* make the working folder again/);
    const m = await mountP.read("id", mount);
    expect(m.props?.status).toBe("stale");
    expect(String(m.props?.statusReason)).toMatch(/is truncated or damaged/);
  });

  it("destroy finishes: it says nothing of ours can be taken out of the damaged WIM", async () => {
    notices.length = 0;
    await commitP.delete("id", commit);
    expect(notices.join("\n")).toMatch(/cannot be read or taken out/);
    await injectP.delete("id", inject);
    await mountP.delete("id", mount);
    expect(fs.readdirSync(path.join(dir, "mount"))).toEqual([]);
  });
});

describe("a test certificate replaced after its .crt was deleted by hand", () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "winpe-cert-replace-"));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("the old certificate's delete leaves the new certificate's files", async () => {
    const inputs = { toolchain: "open", certDir: path.join(dir, "cert") };
    const old = (await certP.create(inputs)).outs as Props;
    fs.rmSync(String(old.certFile));
    const refreshed = (await certP.read("id", old)).props as Props;
    expect(refreshed.certFile).toBe("");
    const d = await certP.diff("id", refreshed, inputs);
    expect(d.replaces).toContain("certFile");
    // create-before-delete: the replacement writes the same file names, then the old one is deleted
    const fresh = (await certP.create(inputs)).outs as Props;
    expect(fresh.thumbprint).not.toBe(old.thumbprint);
    await certP.delete("id", refreshed);
    expect(fs.existsSync(String(fresh.certFile))).toBe(true);
    expect(fs.existsSync(String(fresh.cerFile))).toBe(true);
    await certP.delete("id", fresh);
    expect(fs.existsSync(path.join(dir, "cert"))).toBe(false);
  });
});
