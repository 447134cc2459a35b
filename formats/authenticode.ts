/**
 * Authenticode signatures of PE images, verified in-process: the image digest, the PKCS#7 SignedData that carries
 * it, and the signer's RSA (or ECDSA) signature, checked against one expected certificate used as the only trust
 * anchor (what `osslsigncode verify -CAfile <cert>` checks for a self-signed test certificate).
 *
 * Specifications:
 * - Microsoft, "Windows Authenticode Portable Executable Signature Format" (Authenticode_PE.docx, 2008):
 *   the image digest (hash the file without the optional header's CheckSum, the Certificate Table data directory
 *   entry and the attribute certificate table), SpcIndirectDataContent (OID 1.3.6.1.4.1.311.2.1.4) holding the
 *   DigestInfo, and the signer's messageDigest taken over the DER *value* of SpcIndirectDataContent, without its
 *   outer tag and length octets (osslsigncode 2.9 does the same: helpers.c sign_spc_indirect_data_content and
 *   osslsigncode.c verify_authenticode hash the content after ASN1_get_object).
 * - RFC 5652, Cryptographic Message Syntax (CMS): ContentInfo, SignedData, SignerInfo, IssuerAndSerialNumber, the
 *   signed attributes contentType and messageDigest, and the signature over the DER of signedAttrs with the
 *   EXPLICIT SET OF tag (0x31) in place of the IMPLICIT [0] tag (section 5.4). Authenticode uses the PKCS#7 v1.5
 *   form in which encapContentInfo's content is the SpcIndirectDataContent SEQUENCE itself (not an OCTET STRING).
 * - Microsoft PE/COFF specification: the optional header's CheckSum field (offset 64), the Certificate Table
 *   (data directory 4: a FILE offset and size, not an RVA) and WIN_CERTIFICATE (dwLength, wRevision 0x0200,
 *   wCertificateType 0x0002 = WIN_CERT_TYPE_PKCS_SIGNED_DATA, entries quadword aligned).
 * - ITU-T X.690: DER (tag, definite length, value).
 *
 * As osslsigncode and Windows since MS12-024, the certificate table must be the last thing in the file: a file
 * with bytes after it is not accepted (those bytes would be outside every digest).
 *
 * Checked in-process beyond the digest and the signature: exactly one SignerInfo, its signer certificate found
 * among the embedded ones by issuer and serial number and equal (DER) to the expected certificate, which must be
 * valid at the time of the check. Not supported (reported as invalid, never ignored): page hashes, unsigned
 * attributes (time stamps, nested signatures), RSA-PSS. No Pulumi, no tools, no file system.
 */
import * as crypto from "node:crypto";
import { WinpeError } from "../runtime/errors";
import { PeFormatError, parsePe } from "./pe";

// ---------------------------------------------------------------------------------------------------------------
// DER reader

/** A malformed DER encoding: says where (byte offset) and what is wrong. */
export class DerError extends WinpeError {
  constructor(
    message: string,
    /** Byte offset in the buffer that was read. */
    readonly offset: number,
  ) {
    super(message);
    this.name = "DerError";
  }
}

/** One DER element (tag, length, value) inside a buffer; the slices share the buffer's memory. */
export interface DerNode {
  /** The identifier octet (class, constructed bit and tag number < 31), e.g. 0x30 SEQUENCE, 0xA0 [0]. */
  tag: number;
  /** True when the constructed bit (0x20) is set: the value is a run of DER elements. */
  constructed: boolean;
  /** Offset of the identifier octet in the buffer that was read. */
  offset: number;
  /** Number of identifier and length octets. */
  headerLength: number;
  /** The value (content octets), without tag and length. */
  value: Buffer;
  /** The whole element: tag, length and value. */
  raw: Buffer;
  /** The buffer the element was read from (`offset` is relative to it). */
  source: Buffer;
}

/** ASN.1 universal tags used here. */
export const DER_TAG = {
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

/**
 * Read the DER element that starts at `offset` of `buf` and must end by `end`.
 *
 * @param buf the encoding
 * @param offset where the element starts @default 0
 * @param end where the enclosing value ends @default buf.length
 * @throws DerError for a truncated element, an indefinite length (BER, not DER), a high tag number or a length
 *   that does not fit in 32 bits
 */
export function readDer(buf: Buffer, offset = 0, end = buf.length): DerNode {
  if (offset + 2 > end) throw new DerError(`DER element at offset ${offset} is truncated: no tag and length`, offset);
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f)
    throw new DerError(`DER element at offset ${offset} has a high tag number (not used by CMS or X.509)`, offset);
  const first = buf[offset + 1]!;
  let length: number;
  let headerLength: number;
  if (first < 0x80) {
    length = first;
    headerLength = 2;
  } else if (first === 0x80) {
    throw new DerError(`DER element at offset ${offset} has an indefinite length (BER, not DER)`, offset);
  } else {
    const n = first & 0x7f;
    if (n > 4) throw new DerError(`DER element at offset ${offset} has a ${n}-byte length (more than 4)`, offset);
    if (offset + 2 + n > end) throw new DerError(`DER element at offset ${offset} is truncated in its length`, offset);
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[offset + 2 + i]!;
    headerLength = 2 + n;
  }
  const valueStart = offset + headerLength;
  if (valueStart + length > end) {
    throw new DerError(
      `DER element at offset ${offset} is truncated: its length is ${length} bytes, only ${end - valueStart} remain`,
      offset,
    );
  }
  return {
    tag,
    constructed: (tag & 0x20) !== 0,
    offset,
    headerLength,
    value: buf.subarray(valueStart, valueStart + length),
    raw: buf.subarray(offset, valueStart + length),
    source: buf,
  };
}

/**
 * The elements inside a constructed element's value, in order.
 *
 * @throws DerError when the node is not constructed or its value is not a run of whole elements
 */
export function derChildren(node: DerNode): DerNode[] {
  if (!node.constructed) throw new DerError(`DER element at offset ${node.offset} is not constructed`, node.offset);
  const out: DerNode[] = [];
  const end = node.offset + node.raw.length;
  let at = node.offset + node.headerLength;
  while (at < end) {
    const child = readDer(node.source, at, end);
    out.push(child);
    at += child.raw.length;
  }
  return out;
}

/**
 * Decode an OBJECT IDENTIFIER's value into dotted form (`1.2.840.113549.1.7.2`).
 *
 * @throws DerError for an empty or truncated encoding
 */
export function derOid(node: DerNode): string {
  if (node.tag !== DER_TAG.oid)
    throw new DerError(`expected an OBJECT IDENTIFIER at offset ${node.offset}`, node.offset);
  const v = node.value;
  if (v.length === 0) throw new DerError(`empty OBJECT IDENTIFIER at offset ${node.offset}`, node.offset);
  const arcs: string[] = [];
  let value = 0n;
  let first = true;
  for (let i = 0; i < v.length; i++) {
    value = (value << 7n) | BigInt(v[i]! & 0x7f);
    if ((v[i]! & 0x80) !== 0) {
      if (i === v.length - 1)
        throw new DerError(`OBJECT IDENTIFIER at offset ${node.offset} ends inside an arc`, node.offset);
      continue;
    }
    if (first) {
      const a = value < 40n ? 0n : value < 80n ? 1n : 2n;
      arcs.push(String(a), String(value - a * 40n));
      first = false;
    } else {
      arcs.push(String(value));
    }
    value = 0n;
  }
  return arcs.join(".");
}

// ---------------------------------------------------------------------------------------------------------------
// Object identifiers

/** SPC_INDIRECT_DATA_OBJID: the content type of an Authenticode SignedData. */
export const SPC_INDIRECT_DATA_OBJID = "1.3.6.1.4.1.311.2.1.4";
/** SPC_PE_IMAGE_DATAOBJ: SpcIndirectDataContent.data.type of a PE image. */
export const SPC_PE_IMAGE_DATAOBJ = "1.3.6.1.4.1.311.2.1.15";
const OID_SIGNED_DATA = "1.2.840.113549.1.7.2";
const OID_CONTENT_TYPE = "1.2.840.113549.1.9.3";
const OID_MESSAGE_DIGEST = "1.2.840.113549.1.9.4";
/** The page-hash OIDs (SPC_PE_IMAGE_PAGE_HASHES_V1/V2), DER-encoded without tag and length. */
const PAGE_HASH_OIDS = [
  Buffer.from("2b060104018237020301", "hex"), // 1.3.6.1.4.1.311.2.3.1
  Buffer.from("2b060104018237020302", "hex"), // 1.3.6.1.4.1.311.2.3.2
];

/** Digest algorithms by OID, with node:crypto's names. */
const DIGESTS: Record<string, string> = {
  "1.3.14.3.2.26": "sha1",
  "2.16.840.1.101.3.4.2.1": "sha256",
  "2.16.840.1.101.3.4.2.2": "sha384",
  "2.16.840.1.101.3.4.2.3": "sha512",
};

/** Signature algorithms by OID: the key type and, when the OID names one, the digest. */
const SIGNATURES: Record<string, { key: "rsa" | "ec"; digest?: string }> = {
  "1.2.840.113549.1.1.1": { key: "rsa" },
  "1.2.840.113549.1.1.5": { key: "rsa", digest: "sha1" },
  "1.2.840.113549.1.1.11": { key: "rsa", digest: "sha256" },
  "1.2.840.113549.1.1.12": { key: "rsa", digest: "sha384" },
  "1.2.840.113549.1.1.13": { key: "rsa", digest: "sha512" },
  "1.2.840.10045.2.1": { key: "ec" },
  "1.2.840.10045.4.1": { key: "ec", digest: "sha1" },
  "1.2.840.10045.4.3.2": { key: "ec", digest: "sha256" },
  "1.2.840.10045.4.3.3": { key: "ec", digest: "sha384" },
  "1.2.840.10045.4.3.4": { key: "ec", digest: "sha512" },
};

// ---------------------------------------------------------------------------------------------------------------
// The image digest

/** WIN_CERTIFICATE.wRevision of current Authenticode. */
export const WIN_CERT_REVISION_2_0 = 0x0200;
/** WIN_CERTIFICATE.wCertificateType of a PKCS#7 SignedData. */
export const WIN_CERT_TYPE_PKCS_SIGNED_DATA = 0x0002;

/** A PE image whose Authenticode signature cannot be read: names what is wrong. */
export class AuthenticodeFormatError extends WinpeError {
  constructor(message: string) {
    super(message);
    this.name = "AuthenticodeFormatError";
  }
}

/**
 * The Authenticode image digest of a PE file (Authenticode_PE.docx, "Calculating the PE Image Hash"): the file
 * hashed without the CheckSum field, the Certificate Table entry and the attribute certificate table. An unsigned
 * file is hashed to its end and padded with zeros to a multiple of 8 bytes, as osslsigncode does when it signs (the
 * signature is appended after that padding).
 *
 * @param buf the whole file
 * @param algorithm node:crypto digest name (`sha256`, `sha1`, ...)
 * @throws PeFormatError when `buf` is not a PE image; AuthenticodeFormatError when it has no Certificate Table entry
 *   or its certificate table is not at the end of the file
 */
export function authenticodeImageDigest(buf: Buffer, algorithm: string): Buffer {
  const pe = parsePe(buf);
  const dirAt = pe.certificateTableEntryOffset;
  if (dirAt === null) {
    throw new AuthenticodeFormatError(
      "the optional header has no Certificate Table entry (fewer than 5 data directories): it cannot be signed",
    );
  }
  let end = buf.length;
  let pad = 0;
  if (pe.signature) {
    if (pe.signature.offset + pe.signature.size !== buf.length) {
      throw new AuthenticodeFormatError(
        `the certificate table (offset ${pe.signature.offset}, ${pe.signature.size} bytes) is not at the end of the ` +
          `file (${buf.length} bytes): bytes outside every digest are not accepted (MS12-024)`,
      );
    }
    end = pe.signature.offset;
  } else {
    pad = (8 - (buf.length % 8)) % 8;
  }
  const h = crypto.createHash(algorithm);
  h.update(buf.subarray(0, pe.checksumOffset));
  h.update(buf.subarray(pe.checksumOffset + 4, dirAt));
  h.update(buf.subarray(dirAt + 8, end));
  if (pad > 0) h.update(Buffer.alloc(pad));
  return h.digest();
}

// ---------------------------------------------------------------------------------------------------------------
// The signature

/** What {@link parseAuthenticode} reads from a signed PE file. */
export interface AuthenticodeSignature {
  /** The DigestInfo of SpcIndirectDataContent: the signed image digest and its algorithm. */
  imageDigest: { algorithmOid: string; algorithm: string | null; digest: Buffer };
  /** SpcIndirectDataContent.data.type (SPC_PE_IMAGE_DATAOBJ for a PE image). */
  dataType: string;
  /** True when SpcIndirectDataContent.data names page hashes (not checked here). */
  pageHashes: boolean;
  /** The DER value of SpcIndirectDataContent (without its tag and length): what messageDigest is the hash of. */
  indirectDataContent: Buffer;
  /** The embedded certificates (DER), in order. */
  certificates: Buffer[];
  /** Number of SignerInfos (Authenticode has exactly one). */
  signerCount: number;
  /** The first SignerInfo. */
  signer: {
    /** IssuerAndSerialNumber: the issuer Name (DER, whole element) and the serial number INTEGER's value. */
    issuer: Buffer;
    serial: Buffer;
    digestAlgorithmOid: string;
    digestAlgorithm: string | null;
    /** signedAttrs with the SET OF tag (0x31): what the signature is over. */
    signedAttrs: Buffer;
    /** The contentType attribute's value, or null when absent. */
    contentType: string | null;
    /** The messageDigest attribute's value, or null when absent. */
    messageDigest: Buffer | null;
    signatureAlgorithmOid: string;
    signature: Buffer;
    /** True when the SignerInfo has unsigned attributes (time stamps, nested signatures). */
    unsignedAttrs: boolean;
  };
}

function expectTag(node: DerNode | undefined, tag: number, what: string): DerNode {
  if (!node) throw new AuthenticodeFormatError(`${what} is missing`);
  if (node.tag !== tag) {
    throw new AuthenticodeFormatError(
      `${what} at offset ${node.offset} has tag 0x${node.tag.toString(16)}, expected 0x${tag.toString(16)}`,
    );
  }
  return node;
}

function algorithmOid(node: DerNode | undefined, what: string): string {
  const seq = expectTag(node, DER_TAG.sequence, what);
  return derOid(expectTag(derChildren(seq)[0], DER_TAG.oid, `${what}'s algorithm`));
}

/** The single value of attribute `oid` in `attrs`, or null when absent. */
function attributeValue(attrs: DerNode[], oid: string, name: string): DerNode | null {
  const found = attrs.filter((a) => derOid(expectTag(derChildren(a)[0], DER_TAG.oid, "attribute type")) === oid);
  if (found.length === 0) return null;
  if (found.length > 1) throw new AuthenticodeFormatError(`the signed attribute ${name} appears ${found.length} times`);
  const values = derChildren(expectTag(derChildren(found[0]!)[1], DER_TAG.set, `the ${name} attribute's values`));
  if (values.length !== 1)
    throw new AuthenticodeFormatError(`the signed attribute ${name} has ${values.length} values, not 1`);
  return values[0]!;
}

/**
 * The first WIN_CERTIFICATE of revision 2.0 and type PKCS_SIGNED_DATA in the certificate table: its DER.
 *
 * @throws AuthenticodeFormatError when there is none or an entry's dwLength is out of range
 */
function pkcs7Blob(buf: Buffer, offset: number, size: number): Buffer {
  let pos = 0;
  while (pos + 8 <= size) {
    const at = offset + pos;
    const length = buf.readUInt32LE(at);
    const revision = buf.readUInt16LE(at + 4);
    const type = buf.readUInt16LE(at + 6);
    if (length < 8 || pos + length > size) {
      throw new AuthenticodeFormatError(
        `WIN_CERTIFICATE at offset ${at} has dwLength ${length}, outside its table (${size - pos} bytes left)`,
      );
    }
    if (revision === WIN_CERT_REVISION_2_0 && type === WIN_CERT_TYPE_PKCS_SIGNED_DATA) {
      return buf.subarray(at + 8, at + length);
    }
    pos += length + ((8 - (length % 8)) % 8);
  }
  throw new AuthenticodeFormatError(
    "the certificate table holds no WIN_CERTIFICATE of revision 2.0 (0x0200) and type PKCS_SIGNED_DATA (0x0002)",
  );
}

/**
 * Read the Authenticode signature of a signed PE file: WIN_CERTIFICATE, ContentInfo, SignedData,
 * SpcIndirectDataContent and the first SignerInfo. Reads only; {@link verifyAuthenticode} checks.
 *
 * @param buf the whole file
 * @returns the parsed signature, or null when the file has no certificate table
 * @throws PeFormatError when `buf` is not a PE image; DerError or AuthenticodeFormatError when the signature is
 *   malformed (names the structure)
 */
export function parseAuthenticode(buf: Buffer): AuthenticodeSignature | null {
  const pe = parsePe(buf);
  if (!pe.signature) return null;
  const blob = pkcs7Blob(buf, pe.signature.offset, pe.signature.size);
  const contentInfo = expectTag(readDer(blob), DER_TAG.sequence, "ContentInfo");
  if (blob.subarray(contentInfo.raw.length).some((b) => b !== 0))
    throw new AuthenticodeFormatError("the WIN_CERTIFICATE holds bytes other than zero padding after its ContentInfo");
  const [ciType, ciContent] = derChildren(contentInfo);
  const type = derOid(expectTag(ciType, DER_TAG.oid, "ContentInfo.contentType"));
  if (type !== OID_SIGNED_DATA)
    throw new AuthenticodeFormatError(`ContentInfo.contentType is ${type}, not signedData (${OID_SIGNED_DATA})`);
  const explicit = expectTag(ciContent, 0xa0, "ContentInfo.content [0]");
  const signedData = expectTag(derChildren(explicit)[0], DER_TAG.sequence, "SignedData");
  const sd = derChildren(signedData);
  // version, digestAlgorithms, encapContentInfo, [0] certificates OPTIONAL, [1] crls OPTIONAL, signerInfos
  expectTag(sd[0], DER_TAG.integer, "SignedData.version");
  expectTag(sd[1], DER_TAG.set, "SignedData.digestAlgorithms");
  const encap = derChildren(expectTag(sd[2], DER_TAG.sequence, "SignedData.encapContentInfo"));
  const eType = derOid(expectTag(encap[0], DER_TAG.oid, "encapContentInfo.eContentType"));
  if (eType !== SPC_INDIRECT_DATA_OBJID) {
    throw new AuthenticodeFormatError(
      `encapContentInfo.eContentType is ${eType}, not SPC_INDIRECT_DATA_OBJID (${SPC_INDIRECT_DATA_OBJID})`,
    );
  }
  const eContent = expectTag(encap[1], 0xa0, "encapContentInfo.eContent [0]");
  const idc = expectTag(derChildren(eContent)[0], DER_TAG.sequence, "SpcIndirectDataContent");
  const [idcData, idcDigest] = derChildren(idc);
  const data = derChildren(expectTag(idcData, DER_TAG.sequence, "SpcIndirectDataContent.data"));
  const dataType = derOid(expectTag(data[0], DER_TAG.oid, "SpcIndirectDataContent.data.type"));
  const dataValue = data[1]?.raw ?? Buffer.alloc(0);
  const pageHashes = PAGE_HASH_OIDS.some((oid) => dataValue.includes(oid));
  const digestInfo = derChildren(expectTag(idcDigest, DER_TAG.sequence, "SpcIndirectDataContent.messageDigest"));
  const imageAlgOid = algorithmOid(digestInfo[0], "DigestInfo.digestAlgorithm");
  const imageDigest = expectTag(digestInfo[1], DER_TAG.octetString, "DigestInfo.digest").value;

  let next = 3;
  const certificates: Buffer[] = [];
  if (sd[next]?.tag === 0xa0) {
    for (const c of derChildren(sd[next]!)) if (c.tag === DER_TAG.sequence) certificates.push(c.raw);
    next++;
  }
  if (sd[next]?.tag === 0xa1) next++;
  const signerInfos = derChildren(expectTag(sd[next], DER_TAG.set, "SignedData.signerInfos"));
  if (signerInfos.length === 0) throw new AuthenticodeFormatError("SignedData.signerInfos is empty");
  const si = derChildren(expectTag(signerInfos[0], DER_TAG.sequence, "SignerInfo"));
  expectTag(si[0], DER_TAG.integer, "SignerInfo.version");
  if (si[1]?.tag !== DER_TAG.sequence) {
    throw new AuthenticodeFormatError(
      "SignerInfo.sid is not IssuerAndSerialNumber (a subjectKeyIdentifier is not used by Authenticode)",
    );
  }
  const [issuer, serial] = derChildren(si[1]);
  expectTag(issuer, DER_TAG.sequence, "IssuerAndSerialNumber.issuer");
  expectTag(serial, DER_TAG.integer, "IssuerAndSerialNumber.serialNumber");
  const signerAlgOid = algorithmOid(si[2], "SignerInfo.digestAlgorithm");
  const signed = expectTag(si[3], 0xa0, "SignerInfo.signedAttrs [0]");
  const attrs = derChildren(signed).map((a) => expectTag(a, DER_TAG.sequence, "signed attribute"));
  const ct = attributeValue(attrs, OID_CONTENT_TYPE, "contentType");
  const md = attributeValue(attrs, OID_MESSAGE_DIGEST, "messageDigest");
  const signatureAlgorithmOid = algorithmOid(si[4], "SignerInfo.signatureAlgorithm");
  const signature = expectTag(si[5], DER_TAG.octetString, "SignerInfo.signature").value;
  const unsignedAttrs = si[6] !== undefined;
  if (si[6] !== undefined && si[6].tag !== 0xa1)
    throw new AuthenticodeFormatError(`SignerInfo has an unexpected element (tag 0x${si[6].tag.toString(16)})`);

  return {
    imageDigest: { algorithmOid: imageAlgOid, algorithm: DIGESTS[imageAlgOid] ?? null, digest: imageDigest },
    dataType,
    pageHashes,
    indirectDataContent: idc.value,
    certificates,
    signerCount: signerInfos.length,
    signer: {
      issuer: issuer!.raw,
      serial: serial!.value,
      digestAlgorithmOid: signerAlgOid,
      digestAlgorithm: DIGESTS[signerAlgOid] ?? null,
      signedAttrs: Buffer.concat([Buffer.from([DER_TAG.set]), signed.raw.subarray(1)]),
      contentType: ct ? derOid(expectTag(ct, DER_TAG.oid, "the contentType attribute's value")) : null,
      messageDigest: md ? expectTag(md, DER_TAG.octetString, "the messageDigest attribute's value").value : null,
      signatureAlgorithmOid,
      signature,
      unsignedAttrs,
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// X.509 fields the match needs (issuer, serial number, validity), read with the DER reader

interface CertFields {
  serial: Buffer;
  issuer: Buffer;
  notBefore: Date;
  notAfter: Date;
}

function derTime(node: DerNode | undefined, what: string): Date {
  if (!node || (node.tag !== DER_TAG.utcTime && node.tag !== DER_TAG.generalizedTime))
    throw new AuthenticodeFormatError(`certificate ${what} is not a UTCTime or GeneralizedTime`);
  const s = node.value.toString("latin1");
  const m = s.match(
    node.tag === DER_TAG.utcTime
      ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/
      : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/,
  );
  if (!m) throw new AuthenticodeFormatError(`certificate ${what} '${s}' is not a DER time`);
  let year = Number(m[1]);
  if (node.tag === DER_TAG.utcTime) year += year < 50 ? 2000 : 1900; // RFC 5280 4.1.2.5.1
  return new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}

function certFields(der: Buffer): CertFields {
  const tbs = derChildren(expectTag(derChildren(readDer(der))[0], DER_TAG.sequence, "tbsCertificate"));
  let i = tbs[0]?.tag === 0xa0 ? 1 : 0; // [0] EXPLICIT version
  const serial = expectTag(tbs[i++], DER_TAG.integer, "certificate serialNumber");
  i++; // signature AlgorithmIdentifier
  const issuer = expectTag(tbs[i++], DER_TAG.sequence, "certificate issuer");
  const validity = derChildren(expectTag(tbs[i], DER_TAG.sequence, "certificate validity"));
  return {
    serial: serial.value,
    issuer: issuer.raw,
    notBefore: derTime(validity[0], "notBefore"),
    notAfter: derTime(validity[1], "notAfter"),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Verification

/** What {@link verifyAuthenticode} returns. */
export interface AuthenticodeResult {
  /** True when every check passed. */
  valid: boolean;
  /** Why the signature is not valid (absent when valid). */
  reason?: string;
  /** The image digest's algorithm named by SpcIndirectDataContent (`sha256`, `sha1`, ...), or "" when unread. */
  digestAlgorithm: string;
}

/** Options of {@link verifyAuthenticode}. */
export interface VerifyAuthenticodeOptions {
  /** The time at which the certificate must be valid. @default now */
  at?: Date;
}

/**
 * Verify the Authenticode signature of a PE file against one expected certificate (the only trust anchor):
 * (a) the signed image digest equals the file's recomputed digest; (b) the signed attributes hold contentType
 * SPC_INDIRECT_DATA_OBJID and a messageDigest equal to the hash of SpcIndirectDataContent's DER value; (c) the
 * signature over the signed attributes verifies with the signer certificate's public key; (d) the signer
 * certificate, found among the embedded certificates by issuer and serial number, is `certPem` (same DER) and is
 * valid at `options.at`.
 *
 * @param buf the whole file
 * @param certPem the certificate that must have made the signature (PEM)
 * @param options the time of the check
 * @returns `valid`, and `reason` when not; never throws for a missing, malformed or wrong signature
 * @throws AuthenticodeFormatError only when `certPem` is not a certificate (a caller's mistake, not the file's)
 */
export function verifyAuthenticode(
  buf: Buffer,
  certPem: string,
  options: VerifyAuthenticodeOptions = {},
): AuthenticodeResult {
  let expected: crypto.X509Certificate;
  try {
    expected = new crypto.X509Certificate(certPem);
  } catch (e) {
    throw new AuthenticodeFormatError(`'certPem' is not a PEM certificate: ${(e as Error).message}`);
  }
  let digestAlgorithm = "";
  const fail = (reason: string): AuthenticodeResult => ({ valid: false, reason, digestAlgorithm });
  let sig: AuthenticodeSignature | null;
  try {
    sig = parseAuthenticode(buf);
  } catch (e) {
    if (e instanceof PeFormatError) return fail(e.message.replace(/^<buffer>: /, ""));
    if (e instanceof DerError || e instanceof AuthenticodeFormatError)
      return fail(`the signature is malformed: ${e.message}`);
    throw e;
  }
  if (!sig) return fail("the file has no signature (its Certificate Table is empty)");
  const alg = sig.imageDigest.algorithm;
  if (!alg) return fail(`the signed image digest uses an unknown algorithm (${sig.imageDigest.algorithmOid})`);
  digestAlgorithm = alg;
  if (sig.dataType !== SPC_PE_IMAGE_DATAOBJ)
    return fail(`SpcIndirectDataContent is of type ${sig.dataType}, not a PE image (${SPC_PE_IMAGE_DATAOBJ})`);
  if (sig.pageHashes) return fail("the signature has page hashes, which the in-process check does not verify");
  if (sig.signerCount !== 1) return fail(`the signature has ${sig.signerCount} signers, not 1`);
  const s = sig.signer;
  if (s.unsignedAttrs)
    return fail("the signer has unsigned attributes (a time stamp or a nested signature), not verified in-process");

  // (a) the image digest
  let actual: Buffer;
  try {
    actual = authenticodeImageDigest(buf, alg);
  } catch (e) {
    if (e instanceof PeFormatError || e instanceof AuthenticodeFormatError)
      return fail(e.message.replace(/^<buffer>: /, ""));
    throw e;
  }
  if (!actual.equals(sig.imageDigest.digest))
    return fail("the file's digest differs from the signed digest (the file was changed after signing)");

  // (b) the signed attributes
  if (!s.digestAlgorithm) return fail(`the signer's digest algorithm ${s.digestAlgorithmOid} is not supported`);
  if (s.contentType !== SPC_INDIRECT_DATA_OBJID)
    return fail(`the signed contentType attribute is ${s.contentType ?? "missing"}, not ${SPC_INDIRECT_DATA_OBJID}`);
  if (!s.messageDigest) return fail("the signed attributes have no messageDigest");
  const contentDigest = crypto.createHash(s.digestAlgorithm).update(sig.indirectDataContent).digest();
  if (!contentDigest.equals(s.messageDigest))
    return fail("the signed messageDigest differs from the hash of SpcIndirectDataContent (the content was changed)");

  // (d) the signer certificate, before its key is used
  let signerDer: Buffer | undefined;
  for (const der of sig.certificates) {
    let f: CertFields;
    try {
      f = certFields(der);
    } catch {
      continue; // not a certificate we can read: it cannot be the signer
    }
    if (f.serial.equals(s.serial) && f.issuer.equals(s.issuer)) {
      signerDer = der;
      break;
    }
  }
  if (!signerDer) return fail("the signer's certificate (by issuer and serial number) is not in the signature");
  if (!signerDer.equals(expected.raw)) {
    return fail(
      "the signer's certificate is not the expected certificate " +
        `(SHA-256 fingerprint ${crypto.createHash("sha256").update(signerDer).digest("hex")}, expected ` +
        `${expected.fingerprint256.replace(/:/g, "").toLowerCase()})`,
    );
  }
  const at = options.at ?? new Date();
  let validity: CertFields;
  try {
    validity = certFields(signerDer);
  } catch (e) {
    if (e instanceof DerError || e instanceof AuthenticodeFormatError)
      return fail(`the signer's certificate cannot be read: ${e.message}`);
    throw e;
  }
  if (at < validity.notBefore || at > validity.notAfter) {
    return fail(
      `the signer's certificate is not valid at ${at.toISOString()} ` +
        `(valid ${validity.notBefore.toISOString()} to ${validity.notAfter.toISOString()})`,
    );
  }

  // (c) the signature over the signed attributes
  const sa = SIGNATURES[s.signatureAlgorithmOid];
  if (!sa) return fail(`the signature algorithm ${s.signatureAlgorithmOid} is not supported (RSA PKCS#1 v1.5, ECDSA)`);
  if (sa.digest && sa.digest !== s.digestAlgorithm) {
    return fail(`the signature algorithm names ${sa.digest} but the signer's digest algorithm is ${s.digestAlgorithm}`);
  }
  const key = expected.publicKey;
  if (key.asymmetricKeyType !== sa.key)
    return fail(`the signature algorithm is for ${sa.key} keys, the certificate's key is ${key.asymmetricKeyType}`);
  let ok: boolean;
  try {
    ok = crypto.verify(s.digestAlgorithm, s.signedAttrs, key, s.signature);
  } catch (e) {
    return fail(`the signature could not be checked: ${(e as Error).message}`);
  }
  if (!ok) return fail("the signature over the signed attributes does not verify with the certificate's key");
  return { valid: true, digestAlgorithm };
}
