/**
 * The in-process Authenticode verifier (formats/authenticode.ts, toolchains/open/sign.ts checkSignature) against
 * an independent reader, `osslsigncode verify -CAfile <cert>` (sign.ts verifySignature), on real files signed by
 * osslsigncode: tiny images linked here with clang + lld-link for x64 and ARM64 (PE32+) and i386 (PE32), and the
 * examples/ioctl driver built by the open toolchain. Both readers must agree on the signed file, a changed section
 * byte, a changed CheckSum (not part of the digest), another certificate, an unsigned file, a corrupted signature and
 * bytes appended after the signature; the image digest is compared with the one osslsigncode calculates. The DER
 * reader's errors on malformed input are named, and no corruption of the signature makes the verifier throw.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  authenticodeImageDigest,
  DerError,
  derChildren,
  derOid,
  parseAuthenticode,
  readDer,
  verifyAuthenticode,
} from "../../formats/authenticode";
import { readPeHeaders } from "../../formats/pe";
import { runTool } from "../../runtime/exec";
import { buildProject } from "../../toolchains/open/build";
import {
  type CreatedTestCertificate,
  checkSignature,
  createTestCertificate,
  signFile,
  verifySignature,
} from "../../toolchains/open/sign";

const REPO = path.resolve(__dirname, "..", "..");
const RESOURCE = "test/authenticode";
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "winpe-authenticode-test-"));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** Unsigned images by name, and their signed copies. */
const unsigned: Record<string, string> = {};
const signed: Record<string, string> = {};
let cert: CreatedTestCertificate;
let other: CreatedTestCertificate;

const TINY = `int DriverEntry(void *driver, void *registry) { return driver == registry; }
const char message[] = "winpe-lab authenticode test image";
`;
const TARGETS = [
  { name: "tiny-x64.sys", triple: "x86_64-pc-windows-msvc", machine: "x64", format: "PE32+" },
  { name: "tiny-arm64.sys", triple: "aarch64-pc-windows-msvc", machine: "arm64", format: "PE32+" },
  { name: "tiny-i386.sys", triple: "i686-pc-windows-msvc", machine: "x86", format: "PE32" },
] as const;

beforeAll(async () => {
  const src = path.join(scratch, "tiny.c");
  fs.writeFileSync(src, TINY);
  for (const t of TARGETS) {
    const obj = path.join(scratch, `${t.name}.obj`);
    const out = path.join(scratch, "unsigned", t.name);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    await runTool("clang", [`--target=${t.triple}`, "-O1", "-c", src, "-o", obj], { resource: RESOURCE });
    await runTool(
      "lld-link",
      [
        `/machine:${t.machine}`,
        "/subsystem:native",
        "/driver",
        "/entry:DriverEntry",
        "/nodefaultlib",
        `/out:${out}`,
        obj,
      ],
      { resource: RESOURCE },
    );
    unsigned[t.name] = out;
  }
  const built = await buildProject({
    project: path.join(REPO, "examples", "ioctl", "ioctl.sln"),
    configuration: "Debug",
    platform: "x64",
    outDir: path.join(scratch, "ioctl"),
    cacheDir: path.join(scratch, "cache"),
    resource: RESOURCE,
  });
  unsigned["sioctl.sys"] = built.outputs.find((o) => o.kind === "driver")!.path;

  cert = await createTestCertificate({
    subject: "CN=authenticode test",
    outDir: path.join(scratch, "cert"),
    keyBits: 2048,
  });
  other = await createTestCertificate({
    subject: "CN=Someone Else",
    outDir: path.join(scratch, "cert2"),
    keyBits: 2048,
  });
  fs.mkdirSync(path.join(scratch, "signed"));
  for (const [name, file] of Object.entries(unsigned)) {
    const s = path.join(scratch, "signed", name);
    fs.copyFileSync(file, s);
    await signFile(s, cert, { resource: RESOURCE });
    signed[name] = s;
  }
});

/** A copy of `file` under a new name with `edit` applied to its bytes. */
function variant(file: string, name: string, edit: (b: Buffer) => Buffer | undefined): string {
  const b = fs.readFileSync(file);
  const out = path.join(scratch, "variants", name);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, edit(b) ?? b);
  return out;
}

/** osslsigncode's verdict (the independent reader). */
async function osslValid(file: string, certPem = cert.certPem): Promise<boolean> {
  return (await verifySignature(file, certPem, { resource: RESOURCE })).valid;
}

const ours = (file: string, certPem = cert.certPem) => verifyAuthenticode(fs.readFileSync(file), certPem);

describe("agreement with osslsigncode verify", () => {
  it("the signed images are valid for both readers, PE32+ (x64, ARM64) and PE32 (i386)", async () => {
    for (const t of TARGETS) expect(readPeHeaders(signed[t.name]!).format, t.name).toBe(t.format);
    expect(readPeHeaders(signed["sioctl.sys"]!).format).toBe("PE32+");
    for (const [name, file] of Object.entries(signed)) {
      expect(ours(file), name).toEqual({ valid: true, digestAlgorithm: "sha256" });
      expect(checkSignature(file, cert.certPem), name).toEqual({ valid: true, digestAlgorithm: "sha256" });
      expect(await osslValid(file), name).toBe(true);
    }
  });

  it("the image digest is the one osslsigncode calculates, and the one signed (the unsigned file padded to 8 bytes)", async () => {
    for (const [name, file] of Object.entries(signed)) {
      const buf = fs.readFileSync(file);
      const r = await runTool("osslsigncode", ["verify", "-CAfile", cert.certFile, "-in", file], {
        resource: RESOURCE,
      });
      const calculated = /Calculated message digest\s*:\s*([0-9A-Fa-f]+)/.exec(r.stdout)?.[1];
      expect(calculated, `${name}: osslsigncode printed no calculated digest:\n${r.stdout}`).toBeDefined();
      const digest = authenticodeImageDigest(buf, "sha256");
      expect(digest.toString("hex"), name).toBe(calculated!.toLowerCase());
      expect(parseAuthenticode(buf)!.imageDigest.digest.toString("hex"), name).toBe(digest.toString("hex"));
      // osslsigncode signed the unsigned file: its digest (padded to a multiple of 8) is the signed one
      expect(authenticodeImageDigest(fs.readFileSync(unsigned[name]!), "sha256").toString("hex"), name).toBe(
        digest.toString("hex"),
      );
    }
  });

  it("one flipped byte in a section: invalid for both, ours says the file changed after signing", async () => {
    for (const [name, file] of Object.entries(signed)) {
      const pe = readPeHeaders(file);
      const text = pe.sections.find((s) => s.rawSize > 0)!;
      const f = variant(file, `section-${name}`, (b) => {
        b[text.rawOffset + 4]! ^= 0x01;
        return b;
      });
      const r = ours(f);
      expect(r.valid, name).toBe(false);
      expect(r.reason, name).toBe(
        "the file's digest differs from the signed digest (the file was changed after signing)",
      );
      expect(await osslValid(f), name).toBe(false);
    }
  });

  it("a changed CheckSum field: valid for both (the field is not part of the digest)", async () => {
    for (const [name, file] of Object.entries(signed)) {
      const pe = readPeHeaders(file);
      const f = variant(file, `checksum-${name}`, (b) => {
        b[pe.checksumOffset]! ^= 0x5a;
        return b;
      });
      expect(fs.readFileSync(f).equals(fs.readFileSync(file))).toBe(false);
      expect(ours(f), name).toEqual({ valid: true, digestAlgorithm: "sha256" });
      const v = await verifySignature(f, cert.certPem, { resource: RESOURCE });
      expect(v.valid, v.output).toBe(true);
      expect(v.output).toMatch(/invalid PE checksum/); // osslsigncode notices, and only warns
    }
  });

  it("another certificate: invalid for both, ours names the signer", async () => {
    for (const [name, file] of Object.entries(signed)) {
      const r = ours(file, other.certPem);
      expect(r.valid, name).toBe(false);
      expect(r.reason, name).toMatch(/^the signer's certificate is not the expected certificate \(SHA-256 fingerprint/);
      expect(await osslValid(file, other.certPem), name).toBe(false);
    }
  });

  it("an unsigned file: invalid for both, ours says there is no signature", async () => {
    for (const [name, file] of Object.entries(unsigned)) {
      expect(ours(file), name).toEqual({
        valid: false,
        reason: "the file has no signature (its Certificate Table is empty)",
        digestAlgorithm: "",
      });
      expect(await osslValid(file), name).toBe(false);
    }
  });

  it("a corrupted signature byte: invalid for both, no throw", async () => {
    const file = signed["tiny-x64.sys"]!;
    const buf = fs.readFileSync(file);
    const at = parseAuthenticode(buf)!.signer.signature.byteOffset - buf.byteOffset + 17;
    const f = variant(file, "signature-byte.sys", (b) => {
      b[at]! ^= 0x01;
      return b;
    });
    expect(ours(f)).toEqual({
      valid: false,
      reason: "the signature over the signed attributes does not verify with the certificate's key",
      digestAlgorithm: "sha256",
    });
    expect(await osslValid(f)).toBe(false);
  });

  it("a corrupted DER length inside the signature: invalid for both, says it is malformed, no throw", async () => {
    const file = signed["tiny-arm64.sys"]!;
    const pe = readPeHeaders(file);
    // WIN_CERTIFICATE header (8 bytes), then ContentInfo: 0x30 0x82 <len hi> <len lo>
    const f = variant(file, "der-length.sys", (b) => {
      b[pe.signature!.offset + 8 + 2]! ^= 0x40;
      return b;
    });
    const r = ours(f);
    expect(r.valid).toBe(false);
    expect(r.reason).toMatch(/^the signature is malformed: DER element at offset 0 is truncated/);
    expect(await osslValid(f)).toBe(false);
  });

  it("a changed SpcIndirectDataContent (not its digest): invalid for both, ours names the messageDigest", async () => {
    const file = signed["tiny-i386.sys"]!;
    const buf = fs.readFileSync(file);
    const idc = parseAuthenticode(buf)!.indirectDataContent;
    // the last byte of SpcIndirectDataContent.data (SpcPeImageData's SpcLink), before the DigestInfo
    const data = readDer(idc);
    const at = idc.byteOffset - buf.byteOffset + data.raw.length - 1;
    const f = variant(file, "idc.sys", (b) => {
      b[at]! ^= 0x01;
      return b;
    });
    expect(ours(f).reason).toBe(
      "the signed messageDigest differs from the hash of SpcIndirectDataContent (the content was changed)",
    );
    expect(await osslValid(f)).toBe(false);
  });

  it("bytes appended after the signature: invalid for both (outside every digest)", async () => {
    const file = signed["tiny-x64.sys"]!;
    const f = variant(file, "appended.sys", (b) => Buffer.concat([b, Buffer.from("appended after signing\0\0")]));
    const r = ours(f);
    expect(r.valid).toBe(false);
    expect(r.reason).toMatch(/certificate table .* is not at the end of the file/);
    expect(await osslValid(f)).toBe(false);
  });

  it("a SHA-1 signature: read and verified as SHA-1 by both; the build's check wants SHA-256", async () => {
    const key = path.join(scratch, "key.pem");
    fs.writeFileSync(key, cert.keyPem, { mode: 0o600 });
    const f = path.join(scratch, "variants", "sha1.sys");
    try {
      await runTool(
        "osslsigncode",
        ["sign", "-certs", cert.certFile, "-key", key, "-h", "sha1", "-in", unsigned["tiny-x64.sys"]!, "-out", f],
        { resource: RESOURCE, secrets: [cert.keyPem] },
      );
    } finally {
      fs.rmSync(key, { force: true });
    }
    expect(ours(f)).toEqual({ valid: true, digestAlgorithm: "sha1" });
    expect(await osslValid(f)).toBe(true);
    expect(checkSignature(f, cert.certPem)).toEqual({
      valid: false,
      reason: "the signature's image digest is sha1, not SHA-256",
      digestAlgorithm: "sha1",
    });
  });

  it("a certificate outside its validity period: invalid", () => {
    const r = verifyAuthenticode(fs.readFileSync(signed["tiny-x64.sys"]!), cert.certPem, {
      at: new Date(Date.UTC(2200, 0, 1)),
    });
    expect(r.valid).toBe(false);
    expect(r.reason).toMatch(/^the signer's certificate is not valid at 2200-01-01T00:00:00.000Z/);
  });

  it("no corruption of the certificate table makes the verifier throw", () => {
    const buf = fs.readFileSync(signed["tiny-x64.sys"]!);
    const sig = readPeHeaders(signed["tiny-x64.sys"]!).signature!;
    fc.assert(
      fc.property(fc.nat(sig.size - 1), fc.integer({ min: 1, max: 255 }), (i, x) => {
        const b = Buffer.from(buf);
        b[sig.offset + i]! ^= x;
        const r = verifyAuthenticode(b, cert.certPem);
        expect(typeof r.valid).toBe("boolean");
        if (!r.valid) expect(r.reason).toMatch(/\S/);
      }),
      { numRuns: 300, seed: 20250401 },
    );
    // truncations: the table cut short (the directory entry still claims the old size)
    for (const n of [1, 8, 100, sig.size - 8]) {
      const r = verifyAuthenticode(buf.subarray(0, buf.length - n), cert.certPem);
      expect(r.valid, String(n)).toBe(false);
    }
  });
});

describe("DER reader", () => {
  it("reads tag, length and value; decodes an OID", () => {
    // SEQUENCE { OID 1.3.6.1.4.1.311.2.1.4, OCTET STRING 0x01 0x02 }
    const der = Buffer.from("3010060a2b060104018237020104040201 02".replace(/ /g, ""), "hex");
    const seq = readDer(der);
    expect(seq).toMatchObject({ tag: 0x30, constructed: true, offset: 0, headerLength: 2 });
    const [oid, octets] = derChildren(seq);
    expect(derOid(oid!)).toBe("1.3.6.1.4.1.311.2.1.4");
    expect(octets!.value).toEqual(Buffer.from([1, 2]));
    expect(octets!.offset).toBe(14);
  });

  it("a truncated element is a DerError that says where and by how much", () => {
    const der = Buffer.from("3010060a2b06010401823702", "hex");
    expect(() => readDer(der)).toThrow(DerError);
    expect(() => readDer(der)).toThrow("DER element at offset 0 is truncated: its length is 16 bytes, only 10 remain");
    expect(() => readDer(Buffer.from([0x30]))).toThrow("DER element at offset 0 is truncated: no tag and length");
    expect(() => readDer(Buffer.from([0x30, 0x82, 0x01]))).toThrow(
      "DER element at offset 0 is truncated in its length",
    );
    // a child running past its parent's end names the child's offset
    expect(() => derChildren(readDer(Buffer.from("3004 0405 0102".replace(/ /g, ""), "hex")))).toThrow(
      "DER element at offset 2 is truncated: its length is 5 bytes, only 2 remain",
    );
  });

  it("an indefinite length (BER) and a high tag number are refused", () => {
    expect(() => readDer(Buffer.from([0x30, 0x80, 0x00, 0x00]))).toThrow(/indefinite length \(BER, not DER\)/);
    expect(() => readDer(Buffer.from([0x1f, 0x81, 0x00]))).toThrow(/high tag number/);
  });

  it("random bytes give a DerError or a node, never another error", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          const n = readDer(Buffer.from(bytes));
          if (n.constructed) derChildren(n);
        } catch (e) {
          expect(e).toBeInstanceOf(DerError);
        }
      }),
      { numRuns: 500, seed: 7 },
    );
  });
});

// the fingerprints differ: the two certificates are really different (a guard for the "another certificate" case)
it("the two test certificates differ", () => {
  expect(new crypto.X509Certificate(cert.certPem).fingerprint256).not.toBe(
    new crypto.X509Certificate(other.certPem).fingerprint256,
  );
});
