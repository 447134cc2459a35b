/**
 * Our PE header reader (formats/pe.ts) against an independent reader, llvm-readobj, on images we build
 * (examples/ioctl for x64 and ARM64, signed and unsigned) and on Wine's PE DLLs (x64 and i386) when installed;
 * plus bounds safety: truncations and random corruptions give a PeFormatError naming the file, never a crash.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importsFrom, PE_MACHINE, PeFormatError, parsePe, readPeHeaders } from "../../formats/pe";
import { runTool } from "../../runtime/exec";
import { buildProject } from "../../toolchains/open/build";
import { createTestCertificate, signFile } from "../../toolchains/open/sign";

const REPO = path.resolve(__dirname, "..", "..");
const RESOURCE = "test/pe";
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "winpe-pe-test-"));
const images: Record<string, string> = {};

afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

beforeAll(async () => {
  for (const platform of ["x64", "ARM64"] as const) {
    const r = await buildProject({
      project: path.join(REPO, "examples", "ioctl", "ioctl.sln"),
      configuration: "Debug",
      platform,
      outDir: path.join(scratch, platform),
      cacheDir: path.join(scratch, "cache"),
      resource: RESOURCE,
    });
    for (const o of r.outputs) images[`${platform}/${path.basename(o.path)}`] = o.path;
  }
  const cert = await createTestCertificate({
    subject: "CN=pe test",
    outDir: path.join(scratch, "cert"),
    keyBits: 2048,
  });
  const signed = path.join(scratch, "signed.sys");
  fs.copyFileSync(images["x64/sioctl.sys"]!, signed);
  await signFile(signed, cert, { resource: RESOURCE });
  images["x64/signed.sys"] = signed;
});

interface ReadobjView {
  machine: number;
  characteristics: number;
  subsystem: number;
  imports: Array<{ dll: string; functions: string[] }>;
  securityRva: number;
  securitySize: number;
}

/** llvm-readobj's view of the same fields. */
async function readobj(file: string): Promise<ReadobjView> {
  const h = (await runTool("llvm-readobj", ["--file-headers", file], { resource: RESOURCE })).stdout;
  const i = (await runTool("llvm-readobj", ["--coff-imports", file], { resource: RESOURCE })).stdout;
  const num = (re: RegExp) => Number.parseInt(re.exec(h)![1]!, 16);
  const imports: ReadobjView["imports"] = [];
  for (const block of i.split(/^\s*Import \{$/m).slice(1)) {
    const dll = /^\s*Name: (\S+)$/m.exec(block)![1]!;
    const functions = [...block.matchAll(/^\s*Symbol: (\S*) \((\d+)\)$/gm)].map((m) =>
      m[1] === "" ? `#${m[2]}` : m[1]!,
    );
    imports.push({ dll, functions });
  }
  const sec = /CertificateTableRVA: (0x[0-9A-F]+)\s+CertificateTableSize: (0x[0-9A-F]+)/i.exec(h);
  return {
    machine: num(/Machine: \S+ \((0x[0-9A-F]+)\)/i),
    characteristics: num(/Characteristics \[ \((0x[0-9A-F]+)\)/i),
    subsystem: num(/Subsystem: \S+ \((0x[0-9A-F]+)\)/i),
    imports,
    securityRva: sec ? Number.parseInt(sec[1]!, 16) : 0,
    securitySize: sec ? Number.parseInt(sec[2]!, 16) : 0,
  };
}

async function expectAgreement(file: string): Promise<void> {
  const ours = readPeHeaders(file);
  const theirs = await readobj(file);
  expect(ours.machine, file).toBe(theirs.machine);
  expect(ours.characteristics, file).toBe(theirs.characteristics);
  expect(ours.subsystem, file).toBe(theirs.subsystem);
  expect(
    ours.imports.map((x) => x.dll),
    file,
  ).toEqual(theirs.imports.map((x) => x.dll));
  expect(
    ours.imports.map((x) => x.functions),
    file,
  ).toEqual(theirs.imports.map((x) => x.functions));
  expect(ours.signed, file).toBe(theirs.securitySize > 0);
  if (ours.signature)
    expect([ours.signature.offset, ours.signature.size]).toEqual([theirs.securityRva, theirs.securitySize]);
  // the Certificate Table entry the Authenticode digest leaves out (formats/authenticode.ts) is where we say it is
  const buf = fs.readFileSync(file);
  const entry = ours.certificateTableEntryOffset;
  expect(entry, file).not.toBeNull();
  expect([buf.readUInt32LE(entry!), buf.readUInt32LE(entry! + 4)], file).toEqual([
    theirs.securityRva,
    theirs.securitySize,
  ]);
  expect(ours.checksumOffset, file).toBeLessThan(entry!);
}

describe("our PE reader agrees with llvm-readobj", () => {
  it("on the drivers and apps we build (x64, ARM64)", async () => {
    for (const [name, file] of Object.entries(images)) {
      await expectAgreement(file);
      const pe = readPeHeaders(file);
      expect(pe.format).toBe("PE32+");
      if (name.startsWith("ARM64/")) expect(pe.machineName).toBe("arm64");
      else expect(pe.machineName).toBe("amd64");
      if (name.endsWith(".sys")) {
        expect(pe.subsystemName).toBe("native");
        expect(importsFrom(pe, "NTOSKRNL.EXE")).toBe(true);
      } else {
        expect(pe.subsystemName).toBe("windows-cui");
      }
    }
  });

  it("sees the Authenticode signature osslsigncode attached, and none before", () => {
    const signed = readPeHeaders(images["x64/signed.sys"]!);
    expect(signed.signed).toBe(true);
    expect(signed.signature).toMatchObject({ revision: 0x200, certificateType: 2 });
    expect(readPeHeaders(images["x64/sioctl.sys"]!).signature).toBeNull();
  });

  const wineDirs = [
    "/usr/lib/x86_64-linux-gnu/wine/x86_64-windows",
    "/usr/lib/x86_64-linux-gnu/wine/i386-windows",
  ].filter((d) => fs.existsSync(d));
  it("on Wine's PE DLLs and drivers (x64 and i386)", async () => {
    // the set-up installs wine64 (scripts/debian-packages.txt): its Windows DLLs are real third-party PE files
    expect(
      wineDirs.length,
      "Wine's PE folders are missing: run 'npm run setup' (Debian package wine64)",
    ).toBeGreaterThan(0);
    let checked = 0;
    for (const dir of wineDirs) {
      for (const name of [
        "kernel32.dll",
        "ntoskrnl.exe",
        "advapi32.dll",
        "user32.dll",
        "winedevice.exe",
        "msvcrt.dll",
      ]) {
        const file = path.join(dir, name);
        if (!fs.existsSync(file)) continue;
        await expectAgreement(file);
        const pe = readPeHeaders(file);
        expect(pe.machine).toBe(dir.includes("i386") ? PE_MACHINE.i386 : PE_MACHINE.amd64);
        expect(pe.format).toBe(dir.includes("i386") ? "PE32" : "PE32+");
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(4);
  });
});

describe("bounds safety", () => {
  it("a file that is not PE names the file", () => {
    const f = path.join(scratch, "text.sys");
    fs.writeFileSync(f, "just text, no MZ header at all, long enough to be read as headers ........................");
    expect(() => readPeHeaders(f)).toThrow(PeFormatError);
    expect(() => readPeHeaders(f)).toThrow(`${f}: not a valid PE image: no MZ (DOS) header`);
  });

  it("every truncation of the headers is a PeFormatError", () => {
    const buf = fs.readFileSync(images["x64/sioctl.sys"]!);
    const info = parsePe(buf);
    const lastSection = info.sections.reduce((m, s) => Math.max(m, s.rawOffset + s.rawSize), 0);
    expect(lastSection).toBe(buf.length);
    for (let n = 0; n < 0x400; n++) {
      expect(() => parsePe(buf.subarray(0, n), "cut")).toThrow(PeFormatError);
    }
    // cutting into section data (imports live there) is detected too
    expect(() => parsePe(buf.subarray(0, buf.length - 1), "cut")).toThrow(PeFormatError);
  });

  it("e_lfanew and directory pointers out of range are errors, not crashes", () => {
    const buf = Buffer.from(fs.readFileSync(images["ARM64/ioctlapp.exe"]!));
    const far = Buffer.from(buf);
    far.writeUInt32LE(0x7ffffff0, 0x3c);
    expect(() => parsePe(far, "far")).toThrow(/outside the file/);
    const pe = buf.readUInt32LE(0x3c);
    const importDir = pe + 4 + 20 + 112 + 8;
    const badImport = Buffer.from(buf);
    badImport.writeUInt32LE(0x7fff0000, importDir);
    expect(() => parsePe(badImport, "imports")).toThrow(/import directory RVA .* is not inside any section/);
    const badSec = Buffer.from(buf);
    badSec.writeUInt32LE(0xfffffff0, pe + 4 + 20 + 112 + 4 * 8);
    badSec.writeUInt32LE(0x100, pe + 4 + 20 + 112 + 4 * 8 + 4);
    expect(() => parsePe(badSec, "security")).toThrow(/certificate table/);
  });

  it("random corruption of the headers never escapes as anything but PeFormatError", () => {
    const base = fs.readFileSync(images["x64/signed.sys"]!);
    const headerEnd = 0x400;
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(headerEnd - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 16 }),
        fc.option(fc.nat(base.length), { nil: undefined }),
        (edits, cut) => {
          const buf = Buffer.from(base);
          for (const [at, v] of edits) buf[at] = v;
          const input = cut === undefined ? buf : buf.subarray(0, cut);
          try {
            const info = parsePe(input, "fuzz");
            expect(info.imports.length).toBeLessThanOrEqual(4096);
          } catch (e) {
            if (!(e instanceof PeFormatError)) throw e;
            expect(e.file).toBe("fuzz");
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});
