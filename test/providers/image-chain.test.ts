/**
 * MountedImage -> InjectedFiles -> ImageCommit providers driven directly on real WIMs with the open toolchain
 * (wimlib); every result read back with wimlib-imagex extract (an independent reader).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as commitP from "../../resources/providers/image-commit";
import * as injectP from "../../resources/providers/injected-files";
import * as mountP from "../../resources/providers/mounted-image";
import { sha256 } from "../../runtime/digest";
import { setProgressFallback } from "../../runtime/progress";
import { buildProject } from "../../toolchains/open/build";
import { REPO_ROOT } from "../helpers/pulumi";
import { makeWim, wimCompression, wimContent } from "../helpers/wim";

type Props = Record<string, unknown>;

describe("image chain providers (open toolchain, real WIMs)", () => {
  let dir: string;
  let wim: string;
  let mountDir: string;
  let original: Record<string, string>;
  let mount: Props;
  let inject: Props;
  let commit: Props;
  const notices: string[] = [];
  let builtDriver: Buffer;
  const src = (name: string, content: string) => {
    const f = path.join(dir, "src", name);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    // Windows binaries must be real PE images of their kind: a real driver with `content` appended (an overlay)
    fs.writeFileSync(f, name.endsWith(".sys") ? Buffer.concat([builtDriver, Buffer.from(content)]) : content);
    return f;
  };
  const digestOf = (name: string) => sha256(fs.readFileSync(path.join(dir, "src", name)));

  beforeAll(async () => {
    setProgressFallback((l) => notices.push(l));
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "winpe-image-"));
    process.env.WINPE_LAB_LOCK_DIR = path.join(dir, "locks");
    wim = await makeWim(dir, { "Windows/Ioctl/readme.txt": "original file of the image\n" });
    const built = await buildProject({
      project: path.join(REPO_ROOT, "examples", "ioctl", "sys", "sioctl.vcxproj"),
      configuration: "Release",
      platform: "x64",
      outDir: path.join(dir, "build"),
      cacheDir: path.join(dir, "cache"),
    });
    builtDriver = fs.readFileSync(built.outputs[0]!.path);
    mountDir = path.join(dir, "mount");
    original = await wimContent(wim, dir);
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    delete process.env.WINPE_LAB_LOCK_DIR;
  });

  it("mounts (claims) the WIM and reports its image", async () => {
    const inputs = { toolchain: "open", wim, index: 1, mountDir, holder: "test/a" };
    expect((await mountP.check({}, inputs)).failures).toBeUndefined();
    const r = await mountP.create(inputs);
    mount = r.outs as Props;
    expect(mount).toMatchObject({ status: "mounted", imageName: "WINPE-LAB TEST STAND-IN", compression: "LZX" });
    expect(fs.readdirSync(mountDir)).toEqual([]);
  });

  it("refuses a second holder of the same WIM, naming the holder", async () => {
    const other = { toolchain: "open", wim, index: 1, mountDir: path.join(dir, "mount2"), holder: "test/b" };
    await expect(mountP.create(other)).rejects.toThrow(/already mounted by test\/a/);
    expect(fs.existsSync(path.join(dir, "mount2"))).toBe(false);
  });

  it("rejects a wrong image index before anything changes", async () => {
    const other = { toolchain: "open", wim, index: 3, mountDir: path.join(dir, "mount3"), holder: "test/c" };
    await expect(mountP.create(other)).rejects.toThrow(/'imageIndex' 3 does not exist/);
  });

  it("injects and commits files; the WIM holds them, stays LZX", async () => {
    const ref = { toolchain: "open", wim, index: 1, mountDir, privateDir: mount.privateDir, holder: "test/a" };
    const files = {
      "Windows\\Ioctl\\sioctl.sys": { source: src("sioctl.sys", "driver v1") },
      "Windows/Ioctl/readme.txt": { source: src("readme.txt", "replaced readme") },
    };
    const checked = await injectP.check({}, { mount: ref, files });
    expect(checked.failures).toBeUndefined();
    const r = await injectP.create(checked.inputs as Props);
    inject = r.outs as Props;
    expect(Object.keys(inject.staged as Props).sort()).toEqual([
      "Windows/Ioctl/readme.txt",
      "Windows/Ioctl/sioctl.sys",
    ]);
    expect(sha256(fs.readFileSync(path.join(mountDir, "Windows/Ioctl/sioctl.sys")))).toBe(digestOf("sioctl.sys"));
    const c = await commitP.create({ mount: ref, files: inject.staged, contentHash: inject.contentHash });
    commit = c.outs as Props;
    const content = await wimContent(wim, dir);
    expect(content["Windows/Ioctl/sioctl.sys"]).toBe(digestOf("sioctl.sys"));
    expect(content["Windows/Ioctl/readme.txt"]).toBe(sha256("replaced readme"));
    expect(await wimCompression(wim)).toBe("LZX");
  });

  it("diff names exactly the changed file; update replaces only it", async () => {
    const files = {
      "Windows/Ioctl/sioctl.sys": { source: src("sioctl.sys", "driver v2") },
      "Windows/Ioctl/readme.txt": { source: path.join(dir, "src", "readme.txt") },
    };
    const news = { mount: inject.mount, files };
    expect(injectP.planFileChanges(inject, news)).toEqual({
      added: [],
      replaced: ["Windows/Ioctl/sioctl.sys"],
      removed: [],
    });
    expect((await injectP.diff("id", inject, news)).changes).toBe(true);
    inject = (await injectP.update("id", inject, news)).outs as Props;
    const cNews = { mount: inject.mount, files: inject.staged, contentHash: inject.contentHash };
    expect((await commitP.diff("id", commit, cNews)).changes).toBe(true);
    expect(
      commitP.changesBetween(inject.mount as never, commit.committed as never, inject.staged as never),
    ).toHaveLength(1);
    commit = (await commitP.update("id", commit, cNews)).outs as Props;
    expect((await wimContent(wim, dir))["Windows/Ioctl/sioctl.sys"]).toBe(digestOf("sioctl.sys"));
    // a no-op diff
    expect((await injectP.diff("id", inject, news)).changes).toBe(false);
    expect((await commitP.diff("id", commit, cNews)).changes).toBe(false);
  });

  it("refresh notices a file changed in the image and the next update repairs it", async () => {
    const m = inject.mount as { mountDir: string };
    fs.writeFileSync(path.join(m.mountDir, "Windows/Ioctl/sioctl.sys"), "tampered");
    const r = await injectP.read("id", inject);
    expect(r.props?.drift).toEqual(["Windows/Ioctl/sioctl.sys"]);
    const news = { mount: inject.mount, files: inject.files };
    expect((await injectP.diff("id", r.props as Props, news)).changes).toBe(true);
    inject = (await injectP.update("id", r.props as Props, news)).outs as Props;
    expect(sha256(fs.readFileSync(path.join(m.mountDir, "Windows/Ioctl/sioctl.sys")))).toBe(digestOf("sioctl.sys"));
  });

  it("adds a file in a folder the image does not have; taking it out again removes the folder too", async () => {
    const news = {
      mount: inject.mount,
      files: { ...(inject.files as Props), "Windows/WinpeLabNew/Deep/extra.sys": { source: src("extra.sys", "x") } },
    };
    inject = (await injectP.update("id", inject, news)).outs as Props;
    const staged = inject.staged as Record<string, { createdFolders?: string[] }>;
    expect(staged["Windows/WinpeLabNew/Deep/extra.sys"]!.createdFolders).toEqual([
      "Windows/WinpeLabNew",
      "Windows/WinpeLabNew/Deep",
    ]);
    expect(staged["Windows/Ioctl/sioctl.sys"]!.createdFolders).toBeUndefined();
    const cNews = { mount: inject.mount, files: inject.staged, contentHash: inject.contentHash };
    commit = (await commitP.update("id", commit, cNews)).outs as Props;
    expect(await wimContent(wim, dir)).toHaveProperty("Windows/WinpeLabNew/Deep/");
    // remove it again: the file and both folders we created leave the image
    const back = { mount: inject.mount, files: { ...(inject.files as Props) } };
    delete (back.files as Props)["Windows/WinpeLabNew/Deep/extra.sys"];
    inject = (await injectP.update("id", inject, back)).outs as Props;
    const cBack = { mount: inject.mount, files: inject.staged, contentHash: inject.contentHash };
    expect(commitP.changesBetween(inject.mount as never, commit.committed as never, inject.staged as never)).toEqual([
      { op: "delete", dest: "Windows/WinpeLabNew/Deep/extra.sys" },
      { op: "delete", dest: "Windows/WinpeLabNew/Deep", folder: true },
      { op: "delete", dest: "Windows/WinpeLabNew", folder: true },
    ]);
    commit = (await commitP.update("id", commit, cBack)).outs as Props;
    const content = await wimContent(wim, dir);
    expect(Object.keys(content).filter((k) => k.startsWith("Windows/WinpeLabNew"))).toEqual([]);
  });

  it("refuses binaries that are not PE images of their kind, before anything is staged", async () => {
    const ref = inject.mount;
    const text = src("fake.txt", "not a driver");
    const exe = path.join(dir, "src", "notdriver.sys");
    fs.copyFileSync(path.join(REPO_ROOT, "examples", "ioctl", "ioctl.sln"), exe);
    for (const [dest, source, why] of [
      ["Windows/Ioctl/text.sys", text, /is not a Windows binary/],
      ["Windows/Ioctl/sln.sys", exe, /is not a Windows binary/],
      ["Windows/Ioctl/driver.dll", path.join(dir, "src", "sioctl.sys"), /is not a DLL/],
    ] as const) {
      const before = fs.readdirSync(mountDir, { recursive: true }).sort();
      await expect(injectP.create({ mount: ref, files: { [dest]: { source } }, arch: "amd64" })).rejects.toThrow(why);
      expect(fs.readdirSync(mountDir, { recursive: true }).sort()).toEqual(before);
    }
    await expect(
      injectP.create({ mount: ref, files: { "Windows/Ioctl/x.sys": { source: src("x.sys", "") } }, arch: "arm64" }),
    ).rejects.toThrow(/is built for amd64, not arm64/);
    const r = await injectP.check({}, { mount: ref, files: { "Windows/Ioctl/": { source: text } } });
    expect(r.failures?.[0]?.reason).toMatch(/names a folder/);
  });

  it("a leftover temporary file makes the mount stale; update recovers it", async () => {
    const leftover = path.join(mountDir, ".winpe-tmp-sioctl.sys.999.dead");
    fs.writeFileSync(leftover, "half");
    const r = await mountP.read("id", mount);
    expect(r.props?.status).toBe("stale");
    expect(String(r.props?.statusReason)).toMatch(/leftover temporary files/);
    expect((await mountP.diff("id", r.props as Props, mount)).changes).toBe(true);
    mount = (await mountP.update("id", r.props as Props, mount)).outs as Props;
    expect(mount.status).toBe("mounted");
    expect(fs.existsSync(leftover)).toBe(false);
  });

  it("delete reverts the WIM's content, empties the mount folder and releases the WIM", async () => {
    await commitP.delete("id", commit);
    await injectP.delete("id", inject);
    await mountP.delete("id", mount);
    expect(await wimContent(wim, dir)).toEqual(original);
    expect(fs.readdirSync(mountDir)).toEqual([]);
    // another holder can mount it now
    const other = { toolchain: "open", wim, index: 1, mountDir: path.join(dir, "mount2"), holder: "test/b" };
    const r = await mountP.create(other);
    await mountP.delete("id", r.outs as Props);
  });

  it("rejects destinations that escape the image or collide", async () => {
    const ref = { toolchain: "open", wim, index: 1, mountDir, privateDir: "/x", holder: "h" };
    const bad = ["../evil.sys", "/abs.sys", "C:\\x.sys", "\\\\?\\C:\\x", "Windows/CON", "a\0b", "Windows/x.sys|y"];
    for (const d of bad) {
      const r = await injectP.check({}, { mount: ref, files: { [d]: { source: "/x" } } });
      expect(r.failures?.[0]?.property, d).toBe("files");
    }
    const r = await injectP.check(
      {},
      { mount: ref, files: { "Windows/A.sys": { source: "/x" }, "windows/a.SYS": { source: "/y" } } },
    );
    expect(r.failures?.[0]?.reason).toMatch(/differ only in case/);
  });
});
