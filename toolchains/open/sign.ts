/**
 * Test signing with the open toolchain: a self-signed code-signing certificate made with openssl, Authenticode
 * signatures with osslsigncode, and their verification: in-process ({@link checkSignature}, formats/authenticode.ts:
 * what the build uses) or by `osslsigncode verify` ({@link verifySignature}: the independent reader of the tests).
 *
 * Key material never appears on a command line: it is written to files with mode 0600 in a private temporary
 * folder (mode 0700) that is removed afterwards, and it is passed to `runTool` as a secret so logs and error
 * messages redact it.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { type AuthenticodeResult, verifyAuthenticode } from "../../formats/authenticode";
import { PeFormatError, readPeHeaders } from "../../formats/pe";
import { produceAtomically, writeFileAtomic } from "../../runtime/atomic";
import { sha256File } from "../../runtime/digest";
import { WinpeError } from "../../runtime/errors";
import { runTool, ToolError } from "../../runtime/exec";
import { scratchDir } from "../../runtime/scratch";
import { writeAll } from "../../runtime/write-all";

/** A bad input or a failed signing step; names the field or file. */
export class SigningError extends WinpeError {
  constructor(
    message: string,
    /** The file concerned, when there is one. */
    readonly file?: string,
  ) {
    super(message);
    this.name = "SigningError";
  }
}

/** A test certificate and its private key (PEM). */
export interface TestCertificate {
  /** The self-signed certificate, PEM. Public. */
  certPem: string;
  /** The RSA private key, PEM (PKCS#8, unencrypted). A secret: keep it in a Pulumi secret. */
  keyPem: string;
  /** SHA-1 thumbprint of the certificate, upper-case hex without separators (as Windows shows it). */
  thumbprint: string;
}

/** What {@link createTestCertificate} returns. */
export interface CreatedTestCertificate extends TestCertificate {
  /** The certificate written to `outDir` as PEM (`<name>.crt`). */
  certFile: string;
  /** The certificate written to `outDir` as DER (`<name>.cer`, for certmgr/Import-Certificate on Windows). */
  cerFile: string;
}

/** Options of {@link createTestCertificate}. */
export interface CreateTestCertificateOptions {
  /** Distinguished name in Windows form, e.g. `CN=WinPE Lab Test` or `CN=Driver Test, O=Example`. */
  subject: string;
  /** Folder that receives the public certificate files (created when needed). The key is not written there. */
  outDir: string;
  /** Base name of the certificate files. @default "winpe-lab-test" */
  name?: string;
  /** Validity in days from now. @default 3650 */
  validDays?: number;
  /** RSA key size in bits. @default 3072 */
  keyBits?: 2048 | 3072 | 4096;
  /** Name recorded in the tool log. @default "test-certificate" */
  resource?: string;
}

const RDN_KEYS = new Set(["CN", "O", "OU", "L", "ST", "C"]);

/**
 * Turn a Windows-style subject (`CN=x, O=y`) into openssl's `-subj` form (`/CN=x/O=y`).
 *
 * @throws SigningError for an empty subject, an unknown attribute or a character that needs escaping
 */
export function opensslSubject(subject: string): string {
  if (typeof subject !== "string" || subject.trim() === "") {
    throw new SigningError("'subject' must be a distinguished name like CN=WinPE Lab Test");
  }
  const parts = subject.split(",").map((s) => s.trim());
  const out: string[] = [];
  for (const part of parts) {
    const m = /^([A-Za-z]+)\s*=\s*(.+)$/.exec(part);
    if (!m) throw new SigningError(`'subject' part '${part}' is not KEY=value (e.g. CN=WinPE Lab Test)`);
    const key = m[1]!.toUpperCase();
    const value = m[2]!.trim();
    if (!RDN_KEYS.has(key)) {
      throw new SigningError(`'subject' attribute ${key} is not supported (use ${[...RDN_KEYS].join(", ")})`);
    }
    if (/[/\\=+"<>#;\x00-\x1f]/.test(value)) {
      throw new SigningError(`'subject' value '${value}' must not contain / \\ = + " < > # ; or control characters`);
    }
    if (key === "C" && !/^[A-Za-z]{2}$/.test(value))
      throw new SigningError("'subject' C= must be a two-letter country code");
    out.push(`/${key}=${value}`);
  }
  if (!out.some((p) => p.startsWith("/CN="))) throw new SigningError("'subject' must contain CN=");
  return out.join("");
}

/** A private folder (0700) for key material; removed by the caller. */
function privateDir(): string {
  return scratchDir("sign");
}

/** Write `data` to a new file with mode 0600 (created with that mode: never readable by others). */
function writeSecretFile(file: string, data: string): void {
  const fd = fs.openSync(file, "wx", 0o600);
  try {
    writeAll(fd, data);
  } finally {
    fs.closeSync(fd);
  }
}

/** SHA-1 thumbprint of a PEM certificate, upper-case hex (Windows' form). */
export function certificateThumbprint(certPem: string): string {
  return new crypto.X509Certificate(certPem).fingerprint.replace(/:/g, "").toUpperCase();
}

const CODE_SIGNING_OID = "1.3.6.1.5.5.7.3.3";

function checkKeyPair(certPem: string, keyPem: string): void {
  let cert: crypto.X509Certificate;
  try {
    cert = new crypto.X509Certificate(certPem);
  } catch (e) {
    throw new SigningError(`'certPem' is not a PEM certificate: ${(e as Error).message}`);
  }
  let key: crypto.KeyObject;
  try {
    key = crypto.createPrivateKey(keyPem);
  } catch {
    // never echo key material
    throw new SigningError("'keyPem' is not a PEM private key");
  }
  if (!cert.checkPrivateKey(key)) throw new SigningError("'keyPem' is not the private key of 'certPem'");
}

/**
 * Create a self-signed code-signing certificate (extendedKeyUsage codeSigning, keyUsage digitalSignature,
 * not a CA) with openssl, and write its public parts to `outDir` (`<name>.crt` PEM, `<name>.cer` DER).
 * The private key is returned only in memory.
 *
 * @param options subject, output folder, name, validity, key size
 * @returns certificate and key (PEM), thumbprint, and the written certificate files
 * @throws SigningError for bad inputs; ToolError when openssl fails
 */
export async function createTestCertificate(options: CreateTestCertificateOptions): Promise<CreatedTestCertificate> {
  const subj = opensslSubject(options.subject);
  if (typeof options.outDir !== "string" || options.outDir.trim() === "") {
    throw new SigningError("'outDir' must be the path of a folder for the certificate files");
  }
  const outDir = path.resolve(options.outDir);
  if (fs.existsSync(outDir) && !fs.statSync(outDir).isDirectory()) {
    throw new SigningError(`'outDir' ${outDir} exists and is not a folder`, outDir);
  }
  const name = options.name ?? "winpe-lab-test";
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    throw new SigningError(
      `'name' must be a plain file name of letters, digits, '.', '_' or '-' (got ${JSON.stringify(name)})`,
    );
  }
  const days = options.validDays ?? 3650;
  if (!Number.isInteger(days) || days < 1 || days > 36500) throw new SigningError("'validDays' must be 1 to 36500");
  const bits = options.keyBits ?? 3072;
  if (![2048, 3072, 4096].includes(bits)) throw new SigningError("'keyBits' must be 2048, 3072 or 4096");
  const resource = options.resource ?? "test-certificate";

  const dir = privateDir();
  try {
    const keyFile = path.join(dir, "key.pem");
    const certFile = path.join(dir, "cert.pem");
    writeSecretFile(keyFile, ""); // exists with 0600 before openssl writes the key into it
    await runTool(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        `rsa:${bits}`,
        "-sha256",
        "-days",
        String(days),
        "-nodes",
        "-keyout",
        keyFile,
        "-out",
        certFile,
        "-subj",
        subj,
        "-addext",
        "basicConstraints=critical,CA:FALSE",
        "-addext",
        "keyUsage=critical,digitalSignature",
        "-addext",
        "extendedKeyUsage=codeSigning",
        "-addext",
        "subjectKeyIdentifier=hash",
      ],
      { resource, secrets: [] },
    );
    const keyPem = fs.readFileSync(keyFile, "utf8");
    const certPem = fs.readFileSync(certFile, "utf8");
    checkKeyPair(certPem, keyPem);
    const x509 = new crypto.X509Certificate(certPem);
    if (!(x509.keyUsage ?? []).includes(CODE_SIGNING_OID)) {
      throw new SigningError("openssl made a certificate without the codeSigning extended key usage");
    }
    fs.mkdirSync(outDir, { recursive: true });
    const crt = path.join(outDir, `${name}.crt`);
    const cer = path.join(outDir, `${name}.cer`);
    writeFileAtomic(crt, certPem, 0o644);
    writeFileAtomic(cer, x509.raw, 0o644);
    return { certPem, keyPem, thumbprint: certificateThumbprint(certPem), certFile: crt, cerFile: cer };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Options of {@link signFile}. */
export interface SignOptions {
  /** Name recorded in the tool log. @default "test-signing" */
  resource?: string;
  /** Description embedded in the signature (`-n`). @default none */
  description?: string;
}

/** What {@link signFile} returns. */
export interface SignResult {
  /** The signed file (the same path: replaced atomically). */
  file: string;
  /** sha256 of the signed file. */
  sha256: string;
  /** Its size in bytes. */
  size: number;
}

/**
 * Sign a PE file (driver or application) with an Authenticode SHA-256 signature:
 * `osslsigncode sign -certs <cert> -key <key> -h sha256 -in <file> -out <tmp>`; the signed copy is verified
 * in-process ({@link checkSignature}) and then replaces the original atomically. An existing signature is replaced.
 * On failure the file is left byte-identical.
 *
 * @param file the .sys/.exe to sign
 * @param cert the certificate and its private key (PEM)
 * @param options tool-log name, description
 * @throws SigningError for a missing or non-PE file, a mismatched key or a signature that does not verify;
 *   ToolError when osslsigncode fails
 */
export async function signFile(
  file: string,
  cert: Pick<TestCertificate, "certPem" | "keyPem">,
  options: SignOptions = {},
): Promise<SignResult> {
  const target = path.resolve(file);
  if (!fs.existsSync(target) || !fs.statSync(target).isFile())
    throw new SigningError(`'file' ${target} not found`, target);
  try {
    readPeHeaders(target);
  } catch (e) {
    if (e instanceof PeFormatError) throw new SigningError(`'file' ${target} is not a PE image: ${e.message}`, target);
    throw e;
  }
  checkKeyPair(cert.certPem, cert.keyPem);
  const resource = options.resource ?? "test-signing";
  const dir = privateDir();
  try {
    const keyFile = path.join(dir, "key.pem");
    const certFile = path.join(dir, "cert.pem");
    writeSecretFile(keyFile, cert.keyPem);
    writeSecretFile(certFile, cert.certPem);
    await produceAtomically(target, async (tmp) => {
      await runTool(
        "osslsigncode",
        [
          "sign",
          "-certs",
          certFile,
          "-key",
          keyFile,
          "-h",
          "sha256",
          ...(options.description ? ["-n", options.description] : []),
          "-in",
          target,
          "-out",
          tmp,
        ],
        { resource, secrets: [cert.keyPem] },
      );
      const pe = readPeHeaders(tmp);
      if (!pe.signed) throw new SigningError(`osslsigncode produced ${target} without a signature`, target);
      const v = checkSignature(tmp, cert.certPem);
      if (!v.valid) {
        throw new SigningError(`osslsigncode signed ${target}, but its signature does not verify: ${v.reason}`, target);
      }
      fs.chmodSync(tmp, fs.statSync(target).mode & 0o7777);
    });
    return { file: target, sha256: sha256File(target), size: fs.statSync(target).size };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** What {@link checkSignature} returns: formats/authenticode.ts's result. */
export type SignatureCheck = AuthenticodeResult;

/**
 * Verify a file's Authenticode signature in-process (formats/authenticode.ts `verifyAuthenticode`), with no tool
 * run: a SHA-256 image digest equal to the file's, a messageDigest equal to the hash of the signed content, an
 * RSA/ECDSA signature that verifies, made by exactly `certPem` (the only trust anchor, valid now). The same checks
 * as {@link verifySignature}'s `osslsigncode verify -CAfile <cert>` for the signatures {@link signFile} makes; a
 * signature with parts it does not check (page hashes, time stamps, nested signatures) is reported invalid.
 *
 * @param file the signed file
 * @param certPem the certificate that must have made the signature (PEM)
 * @returns `valid`, and `reason` when not; never throws for a bad or missing signature
 * @throws SigningError when the file is missing or `certPem` is not a certificate
 */
export function checkSignature(file: string, certPem: string): SignatureCheck {
  const target = path.resolve(file);
  if (!fs.existsSync(target) || !fs.statSync(target).isFile())
    throw new SigningError(`'file' ${target} not found`, target);
  try {
    new crypto.X509Certificate(certPem);
  } catch (e) {
    throw new SigningError(`'certPem' is not a PEM certificate: ${(e as Error).message}`);
  }
  const r = verifyAuthenticode(fs.readFileSync(target), certPem);
  if (r.valid && r.digestAlgorithm !== "sha256") {
    return {
      valid: false,
      reason: `the signature's image digest is ${r.digestAlgorithm}, not SHA-256`,
      digestAlgorithm: r.digestAlgorithm,
    };
  }
  return r;
}

/** What {@link verifySignature} returns. */
export interface VerifyResult {
  /** True when osslsigncode verified the signature against the certificate. */
  valid: boolean;
  /** osslsigncode's report (stdout and stderr). */
  output: string;
}

/**
 * Verify a file's Authenticode signature against a certificate used as the only trust anchor:
 * `osslsigncode verify -CAfile <cert> -in <file>`. The build checks in-process ({@link checkSignature}); this is
 * the independent reader the tests compare it with.
 *
 * @param file the signed file
 * @param certPem the certificate that must have made the signature (PEM)
 * @param options `resource`: name recorded in the tool log (default "test-signing")
 * @returns `valid` and osslsigncode's report; never throws for a bad or missing signature
 * @throws SigningError when the file is missing; ToolError when osslsigncode cannot start
 */
export async function verifySignature(
  file: string,
  certPem: string,
  options: { resource?: string } = {},
): Promise<VerifyResult> {
  const target = path.resolve(file);
  if (!fs.existsSync(target)) throw new SigningError(`'file' ${target} not found`, target);
  try {
    new crypto.X509Certificate(certPem);
  } catch (e) {
    throw new SigningError(`'certPem' is not a PEM certificate: ${(e as Error).message}`);
  }
  const dir = privateDir();
  try {
    const certFile = path.join(dir, "ca.pem");
    writeSecretFile(certFile, certPem);
    try {
      const r = await runTool("osslsigncode", ["verify", "-CAfile", certFile, "-in", target], {
        resource: options.resource ?? "test-signing",
        secrets: [],
      });
      const output = `${r.stdout}${r.stderr}`;
      return { valid: /Signature verification: ok/.test(output) && /^Succeeded/m.test(output), output };
    } catch (e) {
      if (e instanceof ToolError && e.exitCode !== null) return { valid: false, output: e.message };
      throw e;
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
