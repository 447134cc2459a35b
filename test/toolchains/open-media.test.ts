/**
 * The open toolchain's WinPE workspace and media, with the real tools: copype (synthetic, from a folder, from an
 * ISO), makeMedia (xorriso), the El Torito catalog, the ISO's content (sha256 per file, BCD via hivexget, WIM via
 * wimlib), reproducibility, the boot check under QEMU (TCG) for amd64 and arm64, and bad input (clear error,
 * nothing written).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fileTreeDigest, sha256File } from "../../runtime/digest";
import { runTool } from "../../runtime/exec";
import { BootCheckError, bootCheck } from "../../toolchains/open/boot";
import { copype } from "../../toolchains/open/copype";
import { buildStandinEfiApp, standinMarker } from "../../toolchains/open/efi-app";
import { makeMedia } from "../../toolchains/open/makemedia";
import { ARCH_INFO, ARCHES, type Arch, listFiles, MediaError, peMachine } from "../../toolchains/open/media";

const REPO = path.resolve(__dirname, "..", "..");
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "winpe-open-media-"));
const timings: string[] = [];

afterAll(() => {
  makeWritable(scratch);
  fs.rmSync(scratch, { recursive: true, force: true });
  if (timings.length > 0) console.log(`open-media timings:\n  ${timings.join("\n  ")}`);
});

function makeWritable(dir: string): void {
  if (!fs.existsSync(dir)) return;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      fs.chmodSync(p, 0o755);
      makeWritable(p);
    }
  }
}

async function timed<T>(label: string, f: () => Promise<T>): Promise<T> {
  const t = Date.now();
  const r = await f();
  timings.push(`${label}: ${((Date.now() - t) / 1000).toFixed(2)} s`);
  return r;
}

/** Names, kinds and content hashes of everything below `dir` ("absent" when it does not exist). */
function treeDigest(dir: string): string {
  if (!fs.existsSync(dir)) return "absent";
  const out: string[] = [];
  const walk = (abs: string, rel: string) => {
    for (const e of fs.readdirSync(abs, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const r = `${rel}/${e.name}`;
      const p = path.join(abs, e.name);
      if (e.isDirectory()) {
        out.push(`d ${r}`);
        walk(p, r);
      } else out.push(`f ${r} ${sha256File(p)}`);
    }
  };
  walk(dir, "");
  return out.join("\n");
}

function tool(name: string, argv: string[]) {
  return runTool(name, argv, { resource: "test:open-media" });
}

async function expectNothingWritten(dirs: string[], f: () => Promise<unknown>, message: RegExp): Promise<void> {
  const before = dirs.map(treeDigest);
  await expect(f()).rejects.toThrow(message);
  expect(dirs.map(treeDigest)).toEqual(before);
}

/** Platform ids of the El Torito catalog: the default entry's (validation entry) and each section header's. */
function eltoritoPlatforms(iso: string): number[] {
  const fd = fs.openSync(iso, "r");
  try {
    const brvd = Buffer.alloc(2048);
    fs.readSync(fd, brvd, 0, 2048, 17 * 2048);
    expect(brvd.toString("latin1", 1, 6)).toBe("CD001");
    expect(brvd.toString("latin1", 7, 30)).toBe("EL TORITO SPECIFICATION");
    const cat = Buffer.alloc(2048);
    fs.readSync(fd, cat, 0, 2048, brvd.readUInt32LE(0x47) * 2048);
    expect(cat[0]).toBe(1); // validation entry (its platform id is the default entry's)
    expect(cat[32]).toBe(0x88); // default entry is bootable
    const platforms = [cat[1]!];
    let off = 64;
    while (off + 32 <= 2048) {
      const id = cat[off]!;
      if (id !== 0x90 && id !== 0x91) break; // section header: 0x90 more follow, 0x91 final
      platforms.push(cat[off + 1]!);
      off += 32 + 32 * cat.readUInt16LE(off + 2);
      if (id === 0x91) break;
    }
    return platforms;
  } finally {
    fs.closeSync(fd);
  }
}

async function extractIso(iso: string, dest: string): Promise<void> {
  await tool("xorriso", ["-osirrox", "on", "-indev", iso, "-extract", "/", dest]);
  makeWritable(dest);
}

function utf16Strings(file: string): string {
  return fs.readFileSync(file).toString("utf16le");
}

/** Copy a tree creating entries in reverse name order (new inodes, other order, other mtimes). */
function copyReversed(src: string, dst: string): void {
  fs.mkdirSync(dst);
  for (const e of fs.readdirSync(src, { withFileTypes: true }).sort((a, b) => b.name.localeCompare(a.name))) {
    const s = path.join(src, e.name);
    const d = path.join(dst, e.name);
    if (e.isDirectory()) copyReversed(s, d);
    else {
      fs.copyFileSync(s, d);
      fs.utimesSync(d, new Date(), new Date(Date.now() + 86_400_000));
      fs.chmodSync(d, 0o700);
    }
  }
}

describe("stand-in EFI application", () => {
  it.each(ARCHES)("%s: builds a PE32+ EFI application of the right machine, cached and reproducible", async (arch) => {
    const cache = fs.mkdtempSync(path.join(scratch, "efi-cache-"));
    const out1 = path.join(scratch, `standin-${arch}-1.efi`);
    const out2 = path.join(scratch, `standin-${arch}-2.efi`);
    const first = await buildStandinEfiApp(arch, out1, { cacheDir: cache });
    const second = await buildStandinEfiApp(arch, out2, { cacheDir: cache });
    expect(first.cached).toBe(false);
    expect(second.cached).toBe(true);
    expect(second.sha256).toBe(first.sha256);
    expect(peMachine(out1)).toBe(ARCH_INFO[arch].peMachine);
    // subsystem 10 = EFI application (PE optional header offset 68)
    const buf = fs.readFileSync(out1);
    const pe = buf.readUInt32LE(0x3c);
    expect(buf.readUInt16LE(pe + 24 + 68)).toBe(10);
    const text = utf16Strings(out1);
    expect(text).toContain(standinMarker(arch));
    expect(text).toContain("stand-in EFI application (not Windows Boot Manager");
    // a fresh build (other cache) gives the same bytes
    const cache2 = fs.mkdtempSync(path.join(scratch, "efi-cache-"));
    const third = await buildStandinEfiApp(arch, path.join(scratch, `standin-${arch}-3.efi`), { cacheDir: cache2 });
    expect(third.cached).toBe(false);
    expect(third.sha256).toBe(first.sha256);
  });

  it("rejects an unsupported architecture and a missing output folder", async () => {
    await expect(buildStandinEfiApp("x86" as Arch, path.join(scratch, "x.efi"))).rejects.toThrow(/'arch' must be/);
    await expect(buildStandinEfiApp("amd64", path.join(scratch, "missing", "x.efi"))).rejects.toThrow(/does not exist/);
  });
});

describe.each(ARCHES)("%s synthetic workspace, ISO and boot", (arch) => {
  const info = ARCH_INFO[arch];
  const ws = path.join(scratch, `ws-${arch}`);
  const isoDir = path.join(scratch, `iso-${arch}`);
  const iso = path.join(isoDir, `winpe_${arch}.iso`);
  const extracted = path.join(scratch, `extracted-${arch}`);

  beforeAll(async () => {
    fs.mkdirSync(isoDir);
    await timed(`${arch} copype --synthetic`, () => copype(arch, ws, { kind: "synthetic" }));
    await timed(`${arch} makemedia`, () => makeMedia(ws, iso));
    await extractIso(iso, extracted);
  });

  it("copype made the copype layout, every part saying it is a stand-in", async () => {
    const files = listFiles(ws);
    const expected = [
      "fwfiles/efisys.bin",
      "fwfiles/efisys_noprompt.bin",
      ...(arch === "amd64" ? ["media/Boot/BCD"] : []),
      `media/EFI/Boot/${info.efiBootFile}`,
      "media/EFI/Microsoft/Boot/BCD",
      "media/WINPE-LAB-STANDIN.txt",
      "media/sources/boot.wim",
    ].sort();
    expect(files).toEqual(expected);
    expect(fs.readdirSync(path.join(ws, "mount"))).toEqual([]);
    expect(fs.existsSync(path.join(ws, "fwfiles", "etfsboot.com"))).toBe(false);
    // no staging leftovers beside the workspace
    expect(fs.readdirSync(scratch).filter((n) => n.startsWith(".winpe-tmp-"))).toEqual([]);
    // efisys.bin is a FAT image holding the stand-in as EFI/BOOT/BOOT*.EFI
    const fromFat = path.join(scratch, `from-fat-${arch}.efi`);
    await tool("mcopy", [
      "-i",
      path.join(ws, "fwfiles", "efisys.bin"),
      `::/EFI/BOOT/${info.efiBootFileUpper}`,
      fromFat,
    ]);
    expect(sha256File(fromFat)).toBe(sha256File(path.join(ws, "media", "EFI", "Boot", info.efiBootFile)));
    expect(sha256File(path.join(ws, "fwfiles", "efisys_noprompt.bin"))).toBe(
      sha256File(path.join(ws, "fwfiles", "efisys.bin")),
    );
    expect(utf16Strings(path.join(ws, "media", "EFI", "Boot", info.efiBootFile))).toContain(standinMarker(arch));
  });

  it("the ISO has the expected El Torito boot entries (UEFI 0xEF; no BIOS without etfsboot.com)", async () => {
    const r = await tool("xorriso", ["-indev", iso, "-report_el_torito", "plain"]);
    const entries = r.stdout.split("\n").filter((l) => l.startsWith("El Torito boot img"));
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatch(/:\s+1\s+UEFI\s+y\s+none/);
    expect(eltoritoPlatforms(iso)).toEqual([0xef]);
    // the boot image is efisys_noprompt.bin (unattended boots)
    const images = path.join(scratch, `eltorito-${arch}`);
    await tool("xorriso", ["-osirrox", "on", "-indev", iso, "-extract_boot_images", images]);
    const uefi = fs.readdirSync(images).find((n) => n.endsWith("_uefi.img"))!;
    expect(sha256File(path.join(images, uefi))).toBe(sha256File(path.join(ws, "fwfiles", "efisys_noprompt.bin")));
  });

  it("files extracted from the ISO have the media's names (same case) and sha256", () => {
    const media = path.join(ws, "media");
    const mediaFiles = listFiles(media);
    expect(listFiles(extracted)).toEqual(mediaFiles);
    for (const f of mediaFiles) expect(sha256File(path.join(extracted, f)), f).toBe(sha256File(path.join(media, f)));
  });

  it("the BCD stores inside the ISO read back with hivexget", async () => {
    const stores = ["EFI/Microsoft/Boot/BCD", ...(arch === "amd64" ? ["Boot/BCD"] : [])];
    for (const s of stores) {
      const bcd = path.join(extracted, s);
      const type = await tool("hivexget", [
        bcd,
        "\\Objects\\{9dea862c-5cdd-4e70-acc1-f32b344d4795}\\Description",
        "Type",
      ]);
      expect(Number(type.stdout.trim())).toBe(0x10100002);
      const desc = await tool("hivexget", [
        bcd,
        "\\Objects\\{7619dcc9-fafe-11d9-b411-000476eba25f}\\Elements\\12000004",
        "Element",
      ]);
      expect(desc.stdout.trim()).toBe(`WINPE-LAB STAND-IN (not Windows) ${arch}`);
    }
  });

  it("the WIM inside the ISO lists with wimlib, is LZX and says it is a stand-in", async () => {
    const wim = path.join(extracted, "sources", "boot.wim");
    const dir = await tool("wimlib-imagex", ["dir", wim, "1"]);
    expect(dir.stdout.split("\n")).toEqual(
      expect.arrayContaining(["/Windows/System32", "/Windows/System32/config", "/README.txt"]),
    );
    const infoOut = (await tool("wimlib-imagex", ["info", wim])).stdout;
    expect(infoOut).toMatch(/^Compression:\s+LZX$/m);
    expect(infoOut).toMatch(/^Boot Index:\s+1$/m);
    expect(infoOut).toContain(`WINPE-LAB STAND-IN (not Windows) ${arch}`);
  });

  it("the same media make byte-identical ISOs (also from a copy with other inodes, order, modes and mtimes)", async () => {
    const again = path.join(isoDir, "again.iso");
    const r = await makeMedia(ws, again);
    expect(sha256File(again)).toBe(sha256File(iso));
    expect(r.digest).toBe(fileTreeDigest(iso).digest);
    const copy = path.join(scratch, `ws-copy-${arch}`);
    copyReversed(ws, copy);
    const fromCopy = await makeMedia(copy, path.join(isoDir, "copy.iso"));
    expect(sha256File(fromCopy.iso)).toBe(sha256File(iso));
    fs.rmSync(again);
    fs.rmSync(path.join(isoDir, "copy.iso"));
  });

  it("the boot check sees the stand-in's marker under QEMU", async () => {
    const tmp = fs.mkdtempSync(path.join(scratch, `boot-tmp-${arch}-`));
    const r = await timed(`${arch} boot check`, () => bootCheck(iso, { arch, timeoutSec: 90, tmpDir: tmp }));
    expect(r.matchedLine).toBe(standinMarker(arch));
    expect(r.consoleTail.join("\n")).toContain("stand-in EFI application");
    expect(fs.readdirSync(tmp)).toEqual([]); // temporary folder removed
  });

  describe("bad input: clear error, nothing written", () => {
    const bad = path.join(scratch, `bad-${arch}`);
    const out = path.join(scratch, `bad-out-${arch}`);
    beforeAll(() => {
      fs.mkdirSync(out);
    });
    const fresh = (name: string): string => {
      const d = path.join(bad, name);
      fs.mkdirSync(bad, { recursive: true });
      fs.cpSync(ws, d, { recursive: true });
      return d;
    };

    it("missing boot.wim", async () => {
      const d = fresh("no-wim");
      fs.rmSync(path.join(d, "media", "sources", "boot.wim"));
      await expectNothingWritten([d, out], () => makeMedia(d, path.join(out, "x.iso")), /boot\.wim is missing/);
    });

    it("boot.wim that is not a WIM", async () => {
      const d = fresh("not-wim");
      fs.writeFileSync(path.join(d, "media", "sources", "boot.wim"), "this is not a WIM file\n");
      await expectNothingWritten([d, out], () => makeMedia(d, path.join(out, "x.iso")), /is not a WIM file/);
    });

    it("media without a BCD", async () => {
      const d = fresh("no-bcd");
      fs.rmSync(path.join(d, "media", "EFI", "Microsoft", "Boot", "BCD"));
      await expectNothingWritten([d, out], () => makeMedia(d, path.join(out, "x.iso")), /BCD is missing/);
    });

    it("ISO path in a missing folder", async () => {
      await expectNothingWritten(
        [ws, out],
        () => makeMedia(ws, path.join(out, "missing", "x.iso")),
        /the folder .*missing does not exist/,
      );
      expect(fs.existsSync(path.join(out, "missing"))).toBe(false);
    });

    it("ISO path that is a folder", async () => {
      fs.mkdirSync(path.join(out, "a-folder.iso"), { recursive: true });
      await expectNothingWritten([ws, out], () => makeMedia(ws, path.join(out, "a-folder.iso")), /is a folder/);
    });

    it("unsupported architecture (option, media, copype, boot check)", async () => {
      await expectNothingWritten(
        [ws, out],
        () => makeMedia(ws, path.join(out, "x.iso"), { arch: "x86" as Arch }),
        /'arch' must be amd64 or arm64/,
      );
      const d = fresh("ia32");
      fs.renameSync(
        path.join(d, "media", "EFI", "Boot", info.efiBootFile),
        path.join(d, "media", "EFI", "Boot", "bootia32.efi"),
      );
      await expectNothingWritten([d, out], () => makeMedia(d, path.join(out, "x.iso")), /unsupported architecture/);
      await expectNothingWritten(
        [out],
        () => copype("x86" as Arch, path.join(out, "ws")),
        /'arch' must be amd64 or arm64/,
      );
      await expect(bootCheck(iso, { arch: "ia64" as Arch })).rejects.toThrow(/'arch' must be amd64 or arm64/);
    });

    it("existing ISO without force; with force it is replaced", async () => {
      const target = path.join(out, "exists.iso");
      fs.writeFileSync(target, "old");
      await expectNothingWritten([ws, out], () => makeMedia(ws, target), /already exists: pass \/f/);
      await makeMedia(ws, target, { force: true });
      expect(sha256File(target)).toBe(sha256File(iso));
      fs.rmSync(target);
    });

    it("copype into a folder that is not empty, or from a source without boot.wim", async () => {
      const notEmpty = path.join(out, "not-empty");
      fs.mkdirSync(notEmpty);
      fs.writeFileSync(path.join(notEmpty, "keep.txt"), "x");
      await expectNothingWritten([out], () => copype(arch, notEmpty), /already exists and is not empty/);
      const d = fresh("src-no-wim");
      fs.rmSync(path.join(d, "media", "sources", "boot.wim"));
      await expectNothingWritten(
        [out, d],
        () => copype(arch, path.join(out, "from-bad"), { kind: "folder", path: d }),
        /not a WinPE source/,
      );
      const other = arch === "amd64" ? "arm64" : "amd64";
      await expectNothingWritten(
        [out],
        () => copype(other, path.join(out, "wrong-arch"), { kind: "folder", path: ws }),
        new RegExp(`is ${arch} media`),
      );
      await expectNothingWritten(
        [out],
        () => copype(arch, path.join(out, "from-missing-iso"), { kind: "iso", path: path.join(out, "none.iso") }),
        /is not an existing file/,
      );
    });

    it("errors are MediaErrors", async () => {
      await expect(makeMedia(path.join(out, "nowhere"), path.join(out, "x.iso"))).rejects.toBeInstanceOf(MediaError);
    });
  });
});

describe("copype from an ADK-style folder and from an ISO", () => {
  it("amd64 from an ADK WinPE folder with etfsboot.com: BIOS and UEFI boot entries, still boots through UEFI", async () => {
    const base = path.join(scratch, "adk-src");
    const synth = path.join(base, "synth");
    await copype("amd64", synth);
    // <kit>/Windows Preinstallation Environment/amd64/{Media, en-us/winpe.wim}, <kit>/Deployment Tools/amd64/Oscdimg
    const kit = path.join(base, "Assessment and Deployment Kit");
    const archDir = path.join(kit, "Windows Preinstallation Environment", "amd64");
    fs.mkdirSync(path.join(archDir, "en-us"), { recursive: true });
    fs.cpSync(path.join(synth, "media"), path.join(archDir, "Media"), { recursive: true });
    fs.renameSync(path.join(archDir, "Media", "sources", "boot.wim"), path.join(archDir, "en-us", "winpe.wim"));
    fs.rmdirSync(path.join(archDir, "Media", "sources"));
    const oscdimg = path.join(kit, "Deployment Tools", "amd64", "Oscdimg");
    fs.mkdirSync(oscdimg, { recursive: true });
    fs.copyFileSync(path.join(synth, "fwfiles", "efisys.bin"), path.join(oscdimg, "efisys.bin"));
    fs.copyFileSync(path.join(synth, "fwfiles", "efisys_noprompt.bin"), path.join(oscdimg, "efisys_noprompt.bin"));
    // a 2 KiB no-emulation boot sector stand-in: only the El Torito entry is checked, BIOS is not booted
    const etfs = Buffer.alloc(2048);
    etfs.write("winpe-lab stand-in etfsboot.com (not Microsoft's)", 0, "latin1");
    fs.writeFileSync(path.join(oscdimg, "etfsboot.com"), etfs);

    const ws = path.join(scratch, "ws-adk");
    const r = await timed("amd64 copype --from <ADK folder>", () =>
      copype("amd64", ws, { kind: "folder", path: archDir }),
    );
    expect(r.firmwareFiles.etfsboot).toBe(path.join(ws, "fwfiles", "etfsboot.com"));
    expect(sha256File(r.bootWim)).toBe(sha256File(path.join(archDir, "en-us", "winpe.wim")));
    expect(listFiles(path.join(ws, "media"))).toEqual(listFiles(path.join(synth, "media")));

    const iso = path.join(scratch, "adk.iso");
    const m = await makeMedia(ws, iso);
    expect(m.bootImages.bios).toBe(path.join(ws, "fwfiles", "etfsboot.com"));
    const rep = await tool("xorriso", ["-indev", iso, "-report_el_torito", "plain"]);
    const entries = rep.stdout.split("\n").filter((l) => l.startsWith("El Torito boot img"));
    expect(entries).toHaveLength(2);
    expect(entries[0]).toMatch(/:\s+1\s+BIOS\s+y\s+none\s+0x0000\s+0x00\s+8\s/);
    expect(entries[1]).toMatch(/:\s+2\s+UEFI\s+y\s+none/);
    expect(eltoritoPlatforms(iso)).toEqual([0x00, 0xef]);
    // hidden boot files do not show in the tree
    const tree = await tool("xorriso", ["-indev", iso, "-find", "/", "-type", "f"]);
    expect(tree.stdout).not.toMatch(/etfsboot|efisys|boot\.catalog/);
    const b = await bootCheck(iso, { arch: "amd64", timeoutSec: 90 });
    expect(b.matchedLine).toBe(standinMarker("amd64"));
  });

  it("arm64 from an ISO: the media round-trip with the same hashes, efisys.bin from the El Torito image", async () => {
    const src = path.join(scratch, "iso-src");
    await copype("arm64", src);
    const iso = path.join(scratch, "iso-src.iso");
    await makeMedia(src, iso);
    const ws = path.join(scratch, "ws-from-iso");
    const r = await timed("arm64 copype --from-iso", () => copype("arm64", ws, { kind: "iso", path: iso }));
    expect(r.firmwareFiles.efisys).toBeDefined();
    expect(r.firmwareFiles.etfsboot).toBeUndefined();
    expect(sha256File(r.firmwareFiles.efisys!)).toBe(sha256File(path.join(src, "fwfiles", "efisys_noprompt.bin")));
    const files = listFiles(path.join(src, "media"));
    expect(listFiles(r.media)).toEqual(files);
    for (const f of files) expect(sha256File(path.join(r.media, f)), f).toBe(sha256File(path.join(src, "media", f)));
    // extracted files are writable (later steps change boot.wim and the BCD)
    expect(fs.statSync(r.bootWim).mode & 0o200).toBe(0o200);
    // and the round trip gives the same ISO bytes
    const again = await makeMedia(ws, path.join(scratch, "iso-again.iso"));
    expect(sha256File(again.iso)).toBe(sha256File(iso));
    await expect(copype("amd64", path.join(scratch, "wrong"), { kind: "iso", path: iso })).rejects.toThrow(
      /is arm64 media/,
    );
  });

  it("a failure after extraction (boot.wim on the ISO is not a WIM) leaves no workspace and no staging folder", async () => {
    const src = path.join(scratch, "bad-iso-src");
    await copype("arm64", src);
    fs.writeFileSync(path.join(src, "media", "sources", "boot.wim"), "not a WIM\n");
    const iso = path.join(scratch, "bad-wim.iso");
    const efisys = path.join(src, "fwfiles", "efisys.bin");
    await tool("xorriso", [
      ...["-as", "mkisofs", "-J", "-r", "-o", iso, "-graft-points", `/=${path.join(src, "media")}`],
      ...[`/efisys.bin=${efisys}`, "-e", "efisys.bin", "-no-emul-boot"],
    ]);
    const parent = path.join(scratch, "bad-iso-parent");
    fs.mkdirSync(parent);
    await expectNothingWritten(
      [parent],
      () => copype("arm64", path.join(parent, "ws"), { kind: "iso", path: iso }),
      /is not a WIM file/,
    );
    // parents created for the target are removed again
    await expect(copype("arm64", path.join(parent, "new", "ws"), { kind: "iso", path: iso })).rejects.toThrow(
      /is not a WIM file/,
    );
    expect(fs.readdirSync(parent)).toEqual([]);
  });

  it("copype into an existing empty folder", async () => {
    const empty = path.join(scratch, "empty-target");
    fs.mkdirSync(empty);
    const r = await copype("amd64", empty);
    expect(fs.readdirSync(empty).sort()).toEqual(["fwfiles", "media", "mount"]);
    expect(r.bcdStores.map((b) => path.relative(empty, b)).sort()).toEqual([
      "media/Boot/BCD",
      "media/EFI/Microsoft/Boot/BCD",
    ]);
  });

  it("an ISO that is not an ISO is a clear error", async () => {
    const junk = path.join(scratch, "junk.iso");
    fs.writeFileSync(junk, Buffer.alloc(100_000, 7));
    await expectNothingWritten(
      [scratch],
      () => copype("amd64", path.join(scratch, "from-junk"), { kind: "iso", path: junk }),
      /not an ISO 9660 image/,
    );
  });
});

describe("boot check failure paths", () => {
  let plainIso: string;
  beforeAll(async () => {
    const dir = path.join(scratch, "plain");
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "README.txt"), "not bootable\n");
    plainIso = path.join(scratch, "plain.iso");
    await tool("xorriso", ["-as", "mkisofs", "-V", "PLAIN", "-o", plainIso, dir]);
  });

  function qemuProcessesMentioning(text: string): number[] {
    const pids: number[] = [];
    for (const p of fs.readdirSync("/proc")) {
      if (!/^\d+$/.test(p)) continue;
      try {
        const cmd = fs.readFileSync(`/proc/${p}/cmdline`, "latin1");
        if (cmd.includes("qemu-system") && cmd.includes(text)) pids.push(Number(p));
      } catch {
        // process ended
      }
    }
    return pids;
  }

  it("times out with the last console lines, kills QEMU and removes its temporary folder", async () => {
    const tmp = fs.mkdtempSync(path.join(scratch, "boot-timeout-"));
    // long enough for OVMF to print its boot failure on a busy machine (TCG; 2 cores shared with other work)
    const err = await bootCheck(plainIso, { arch: "amd64", timeoutSec: 25, tmpDir: tmp }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BootCheckError);
    expect((err as Error).message).toMatch(/timed out after 25 s without a console line matching/);
    expect((err as BootCheckError).consoleTail.length).toBeGreaterThan(0);
    expect(fs.readdirSync(tmp)).toEqual([]);
    expect(qemuProcessesMentioning(tmp)).toEqual([]);
  });

  it("on SIGTERM of the parent: QEMU is killed and the temporary folder removed", async () => {
    const tmp = fs.mkdtempSync(path.join(scratch, "boot-sigterm-"));
    const script = path.join(scratch, "sigterm.ts");
    fs.writeFileSync(
      script,
      [
        `import { bootCheck } from ${JSON.stringify(path.join(REPO, "toolchains", "open", "boot"))};`,
        `bootCheck(${JSON.stringify(plainIso)}, { arch: "amd64", timeoutSec: 60, tmpDir: ${JSON.stringify(tmp)},`,
        `  onProgress: (l) => { if (l.startsWith("boot: ")) setTimeout(() => process.kill(process.pid, "SIGTERM"), 1500); } });`,
      ].join("\n"),
    );
    const r = await runTool("node", ["-r", path.join(REPO, "node_modules", "ts-node", "register"), script], {
      resource: "test:open-media",
      env: { TS_NODE_TRANSPILE_ONLY: "true", TS_NODE_PROJECT: path.join(REPO, "tsconfig.json") },
      okExitCodes: [128, 143],
      timeoutMs: 60_000,
    }).catch((e: unknown) => e);
    // killed by its own (re-raised) SIGTERM
    expect(r instanceof Error ? r.message : "resolved").toMatch(/SIGTERM|resolved/);
    expect(fs.readdirSync(tmp)).toEqual([]);
    expect(qemuProcessesMentioning(tmp)).toEqual([]);
  });

  it("bad options are clear errors before QEMU starts", async () => {
    await expect(bootCheck(path.join(scratch, "none.iso"), { arch: "amd64" })).rejects.toThrow(
      /is not an existing file/,
    );
    await expect(bootCheck(plainIso, { arch: "amd64", timeoutSec: -1 })).rejects.toThrow(/'timeoutSec'/);
    await expect(bootCheck(plainIso, { arch: "amd64", pattern: "(" })).rejects.toThrow(/'pattern' is not a valid/);
    await expect(
      bootCheck(plainIso, {
        arch: "amd64",
        firmware: { code: "/usr/share/OVMF/OVMF_CODE_4M.ms.fd", vars: "/usr/share/OVMF/OVMF_VARS_4M.ms.fd" },
      }),
    ).rejects.toThrow(/Secure Boot/);
  });
});

describe("winpe CLI: copype, makemedia, boot", () => {
  const winpe = (args: string[]) =>
    runTool("bash", [path.join(REPO, "bin", "winpe"), ...args], {
      resource: "test:open-media",
      okExitCodes: [0, 1, 2],
    });

  it("copype + makemedia /ISO /F + boot for amd64, with MakeWinPEMedia's case-insensitive options", async () => {
    const ws = path.join(scratch, "cli-ws");
    const c = await winpe(["copype", "amd64", ws, "--synthetic"]);
    expect(c.exitCode, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/^copype: made .*cli-ws \(amd64, synthetic\)/);
    const iso = path.join(scratch, "cli.iso");
    const m = await winpe(["makemedia", "/ISO", ws, iso]);
    expect(m.exitCode, m.stderr).toBe(0);
    const again = await winpe(["makemedia", "/iso", ws, iso]);
    expect(again.exitCode).toBe(1);
    expect(again.stderr.trim().split("\n")).toHaveLength(1);
    expect(again.stderr).toMatch(/already exists: pass \/f/);
    const forced = await winpe(["makemedia", "/Iso", "/F", ws, iso]);
    expect(forced.exitCode, forced.stderr).toBe(0);
    const b = await winpe(["boot", iso, "--arch", "amd64", "--timeout", "90", "--quiet"]);
    expect(b.exitCode, b.stderr).toBe(0);
    expect(b.stdout).toMatch(/boot: OK after .* s: WINPE-LAB STAND-IN BOOT OK arch=amd64/);
  });

  it("errors: one clear line and a non-zero exit code", async () => {
    const bad = await winpe(["copype", "x86", path.join(scratch, "cli-x86")]);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr.trim()).toMatch(/^winpe copype: 'arch' must be amd64 or arm64/);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
    expect(fs.existsSync(path.join(scratch, "cli-x86"))).toBe(false);
    const usage = await winpe(["makemedia", path.join(scratch, "cli-ws"), path.join(scratch, "y.iso")]);
    expect(usage.exitCode).toBe(2);
    expect(usage.stderr).toMatch(/\/iso is required/);
    const noArch = await winpe(["boot", path.join(scratch, "cli.iso")]);
    expect(noArch.exitCode).toBe(2);
    expect(noArch.stderr).toMatch(/--arch <amd64\|arm64> is required/);
    const two = await winpe(["copype", "arm64", path.join(scratch, "z"), "--from", "/a", "--from-iso", "/b.iso"]);
    expect(two.exitCode).toBe(2);
  });
});
