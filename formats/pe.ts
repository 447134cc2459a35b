/**
 * PE/COFF image headers (Windows .exe/.sys/.dll): machine, subsystem, characteristics, imported DLLs
 * and functions, and whether an Authenticode signature is attached (security directory non-empty).
 *
 * Every read is bounds-checked against the buffer; a truncated or inconsistent file raises a
 * {@link PeFormatError} naming the file and the structure, never an out-of-range read. No Pulumi imports.
 */
import * as fs from "node:fs";
import { WinpeError } from "../runtime/errors";

/** IMAGE_FILE_MACHINE_* values this project builds for. */
export const PE_MACHINE = { i386: 0x014c, amd64: 0x8664, arm64: 0xaa64, armnt: 0x01c4 } as const;

/** IMAGE_SUBSYSTEM_* values. */
export const PE_SUBSYSTEM = {
  unknown: 0,
  native: 1,
  windowsGui: 2,
  windowsCui: 3,
  efiApplication: 10,
  efiBootServiceDriver: 11,
  efiRuntimeDriver: 12,
} as const;

/** IMAGE_FILE_* characteristics bits used in checks. */
export const PE_CHARACTERISTICS = {
  relocsStripped: 0x0001,
  executableImage: 0x0002,
  largeAddressAware: 0x0020,
  dll: 0x2000,
} as const;

/** A malformed or truncated PE file. */
export class PeFormatError extends WinpeError {
  constructor(
    message: string,
    /** The file (or `<buffer>`) that was read. */
    readonly file: string,
  ) {
    super(message);
    this.name = "PeFormatError";
  }
}

/** One imported DLL with the functions taken from it. */
export interface PeImport {
  /** DLL name as written in the image (e.g. `ntoskrnl.exe`, `KERNEL32.dll`). */
  dll: string;
  /** Function names; ordinal imports appear as `#<ordinal>`. */
  functions: string[];
}

/** Attached Authenticode signature (WIN_CERTIFICATE at the security directory). */
export interface PeSignature {
  /** File offset of the certificate table (the security directory holds a file offset, not an RVA). */
  offset: number;
  /** Size of the certificate table in bytes. */
  size: number;
  /** WIN_CERTIFICATE.wRevision of the first entry (0x0200 for current Authenticode). */
  revision: number;
  /** WIN_CERTIFICATE.wCertificateType of the first entry (2 = PKCS#7 SignedData). */
  certificateType: number;
}

/** Section header summary. */
export interface PeSection {
  name: string;
  virtualAddress: number;
  virtualSize: number;
  rawOffset: number;
  rawSize: number;
}

/** What {@link readPeHeaders} returns. */
export interface PeInfo {
  /** IMAGE_FILE_HEADER.Machine (0x8664 amd64, 0xAA64 arm64, 0x14C i386). */
  machine: number;
  /** Readable machine name: `amd64`, `arm64`, `i386`, `armnt` or `0x....`. */
  machineName: string;
  /** IMAGE_FILE_HEADER.Characteristics. */
  characteristics: number;
  /** `PE32` (magic 0x10b) or `PE32+` (0x20b). */
  format: "PE32" | "PE32+";
  /** IMAGE_OPTIONAL_HEADER.Subsystem (1 native, 2 GUI, 3 console, 10 EFI application). */
  subsystem: number;
  /** Readable subsystem name: `native`, `windows-gui`, `windows-cui`, `efi-application`, ... */
  subsystemName: string;
  /** IMAGE_OPTIONAL_HEADER.DllCharacteristics. */
  dllCharacteristics: number;
  /** AddressOfEntryPoint (RVA). */
  entryPoint: number;
  /** ImageBase as a bigint (64-bit in PE32+). */
  imageBase: bigint;
  /** MajorSubsystemVersion.MinorSubsystemVersion, e.g. `10.0`. */
  subsystemVersion: string;
  /** Sections in header order. */
  sections: PeSection[];
  /** Imported DLLs in import-directory order. */
  imports: PeImport[];
  /** The attached Authenticode signature, or null when the security directory is empty. */
  signature: PeSignature | null;
  /** Convenience: `signature !== null`. */
  signed: boolean;
  /**
   * File offset of the optional header's CheckSum field (4 bytes): left out of the Authenticode image digest
   * (formats/authenticode.ts).
   */
  checksumOffset: number;
  /**
   * File offset of the Certificate Table entry (data directory 4, 8 bytes): left out of the Authenticode image
   * digest; null when the optional header holds fewer than 5 data directories (such an image cannot be signed).
   */
  certificateTableEntryOffset: number | null;
}

const MACHINE_NAMES: Record<number, string> = { 332: "i386", 34404: "amd64", 43620: "arm64", 452: "armnt" };
const SUBSYSTEM_NAMES: Record<number, string> = {
  0: "unknown",
  1: "native",
  2: "windows-gui",
  3: "windows-cui",
  9: "windows-ce-gui",
  10: "efi-application",
  11: "efi-boot-service-driver",
  12: "efi-runtime-driver",
  13: "efi-rom",
  14: "xbox",
  16: "windows-boot-application",
};

/** Limits that keep a hostile file from making the reader loop for long. */
const MAX_SECTIONS = 96; // the PE loader's own limit
const MAX_IMPORT_DLLS = 4096;
const MAX_IMPORTS_PER_DLL = 65536;
const MAX_NAME = 4096;

function hex(n: number, width = 4): string {
  return `0x${n.toString(16).toUpperCase().padStart(width, "0")}`;
}

/** Bounds-checked little-endian reader over one buffer. */
class Reader {
  constructor(
    readonly buf: Buffer,
    readonly file: string,
  ) {}

  fail(what: string): never {
    throw new PeFormatError(`${this.file}: not a valid PE image: ${what}`, this.file);
  }

  check(offset: number, length: number, what: string): void {
    if (!Number.isInteger(offset) || offset < 0 || length < 0 || offset + length > this.buf.length) {
      this.fail(`${what} at offset ${offset} (+${length}) lies outside the file (${this.buf.length} bytes)`);
    }
  }

  u16(offset: number, what: string): number {
    this.check(offset, 2, what);
    return this.buf.readUInt16LE(offset);
  }

  u32(offset: number, what: string): number {
    this.check(offset, 4, what);
    return this.buf.readUInt32LE(offset);
  }

  u64(offset: number, what: string): bigint {
    this.check(offset, 8, what);
    return this.buf.readBigUInt64LE(offset);
  }

  /** NUL-terminated ASCII string starting at `offset`, at most `max` bytes. */
  cstring(offset: number, what: string, max = MAX_NAME): string {
    this.check(offset, 1, what);
    const end = Math.min(this.buf.length, offset + max);
    const nul = this.buf.indexOf(0, offset);
    if (nul < 0 || nul >= end) this.fail(`${what} at offset ${offset} is not NUL-terminated within ${max} bytes`);
    return this.buf.toString("latin1", offset, nul);
  }
}

/** Map an RVA to a file offset through the section table; null when no section holds it. */
function rvaToOffset(sections: PeSection[], rva: number, sizeOfHeaders: number): number | null {
  if (rva < sizeOfHeaders) return rva;
  for (const s of sections) {
    const span = Math.max(s.virtualSize, s.rawSize);
    if (rva >= s.virtualAddress && rva < s.virtualAddress + span) {
      const delta = rva - s.virtualAddress;
      if (delta >= s.rawSize) return null; // in the zero-filled tail: no file bytes
      return s.rawOffset + delta;
    }
  }
  return null;
}

/**
 * Parse the headers of a PE image held in `buf`.
 *
 * @param buf the whole file
 * @param file name used in error messages
 * @default file "<buffer>"
 * @throws PeFormatError when the buffer is not a well-formed PE image
 */
export function parsePe(buf: Buffer, file = "<buffer>"): PeInfo {
  const r: Reader = new Reader(buf, file);
  if (buf.length < 64 || buf.readUInt16LE(0) !== 0x5a4d) r.fail("no MZ (DOS) header");
  const peOffset = r.u32(0x3c, "e_lfanew");
  r.check(peOffset, 24, "PE signature and file header");
  if (buf.readUInt32LE(peOffset) !== 0x00004550) r.fail(`no "PE\\0\\0" signature at offset ${peOffset}`);
  const coff = peOffset + 4;
  const machine = r.u16(coff, "Machine");
  const numberOfSections = r.u16(coff + 2, "NumberOfSections");
  const sizeOfOptionalHeader = r.u16(coff + 16, "SizeOfOptionalHeader");
  const characteristics = r.u16(coff + 18, "Characteristics");
  if (numberOfSections > MAX_SECTIONS) r.fail(`${numberOfSections} sections (the limit is ${MAX_SECTIONS})`);
  const opt = coff + 20;
  if (sizeOfOptionalHeader < 2) r.fail("no optional header (an object file, not an image)");
  r.check(opt, sizeOfOptionalHeader, "optional header");
  const magic = r.u16(opt, "optional header magic");
  let format: "PE32" | "PE32+";
  let imageBase: bigint;
  let dirBase: number;
  let numberOfRvaAndSizesOffset: number;
  if (magic === 0x20b) {
    format = "PE32+";
    if (sizeOfOptionalHeader < 112) r.fail(`PE32+ optional header is only ${sizeOfOptionalHeader} bytes`);
    imageBase = r.u64(opt + 24, "ImageBase");
    numberOfRvaAndSizesOffset = opt + 108;
    dirBase = opt + 112;
  } else if (magic === 0x10b) {
    format = "PE32";
    if (sizeOfOptionalHeader < 96) r.fail(`PE32 optional header is only ${sizeOfOptionalHeader} bytes`);
    imageBase = BigInt(r.u32(opt + 28, "ImageBase"));
    numberOfRvaAndSizesOffset = opt + 92;
    dirBase = opt + 96;
  } else {
    r.fail(`unknown optional header magic ${hex(magic)}`);
  }
  const entryPoint = r.u32(opt + 16, "AddressOfEntryPoint");
  const sizeOfHeaders = r.u32(opt + 60, "SizeOfHeaders");
  const subsystem = r.u16(opt + 68, "Subsystem");
  const dllCharacteristics = r.u16(opt + 70, "DllCharacteristics");
  const subsystemVersion = `${r.u16(opt + 48, "MajorSubsystemVersion")}.${r.u16(opt + 50, "MinorSubsystemVersion")}`;
  const numberOfRvaAndSizes = r.u32(numberOfRvaAndSizesOffset, "NumberOfRvaAndSizes");
  const dirCount = Math.min(numberOfRvaAndSizes, 16, Math.floor((opt + sizeOfOptionalHeader - dirBase) / 8));
  const directory = (index: number): { rva: number; size: number } => {
    if (index >= dirCount) return { rva: 0, size: 0 };
    return {
      rva: r.u32(dirBase + index * 8, "data directory"),
      size: r.u32(dirBase + index * 8 + 4, "data directory"),
    };
  };

  const sections: PeSection[] = [];
  const secBase = opt + sizeOfOptionalHeader;
  r.check(secBase, numberOfSections * 40, "section table");
  for (let i = 0; i < numberOfSections; i++) {
    const at = secBase + i * 40;
    const rawName = buf.subarray(at, at + 8);
    const nul = rawName.indexOf(0);
    const rawOffset = r.u32(at + 20, "section PointerToRawData");
    const rawSize = r.u32(at + 16, "section SizeOfRawData");
    const name = rawName.toString("latin1", 0, nul < 0 ? 8 : nul);
    if (rawSize > 0) r.check(rawOffset, rawSize, `section ${JSON.stringify(name)} data`);
    sections.push({
      name,
      virtualSize: r.u32(at + 8, "section VirtualSize"),
      virtualAddress: r.u32(at + 12, "section VirtualAddress"),
      rawSize,
      rawOffset,
    });
  }

  // Imports (directory 1): IMAGE_IMPORT_DESCRIPTOR[20 bytes], zero-terminated.
  const imports: PeImport[] = [];
  const importDir = directory(1);
  if (importDir.rva !== 0 && importDir.size !== 0) {
    const at = rvaToOffset(sections, importDir.rva, sizeOfHeaders);
    if (at === null) r.fail(`import directory RVA ${hex(importDir.rva, 8)} is not inside any section`);
    const thunkSize = format === "PE32+" ? 8 : 4;
    for (let i = 0; ; i++) {
      if (i >= MAX_IMPORT_DLLS) r.fail(`more than ${MAX_IMPORT_DLLS} import descriptors`);
      const d = at + i * 20;
      r.check(d, 20, "import descriptor");
      const originalFirstThunk = buf.readUInt32LE(d);
      const nameRva = buf.readUInt32LE(d + 12);
      const firstThunk = buf.readUInt32LE(d + 16);
      if (originalFirstThunk === 0 && nameRva === 0 && firstThunk === 0) break;
      const nameAt = rvaToOffset(sections, nameRva, sizeOfHeaders);
      if (nameAt === null) r.fail(`import name RVA ${hex(nameRva, 8)} is not inside any section`);
      const dll = r.cstring(nameAt, "import DLL name");
      const functions: string[] = [];
      const thunkRva = originalFirstThunk !== 0 ? originalFirstThunk : firstThunk;
      const thunkAt = rvaToOffset(sections, thunkRva, sizeOfHeaders);
      if (thunkAt === null) r.fail(`import thunk RVA ${hex(thunkRva, 8)} of ${dll} is not inside any section`);
      for (let j = 0; ; j++) {
        if (j >= MAX_IMPORTS_PER_DLL) r.fail(`more than ${MAX_IMPORTS_PER_DLL} imports from ${dll}`);
        const t = thunkAt + j * thunkSize;
        const value = thunkSize === 8 ? r.u64(t, "import thunk") : BigInt(r.u32(t, "import thunk"));
        if (value === 0n) break;
        const ordinalFlag = thunkSize === 8 ? 1n << 63n : 1n << 31n;
        if ((value & ordinalFlag) !== 0n) {
          functions.push(`#${Number(value & 0xffffn)}`);
        } else {
          const hintRva = Number(value & 0x7fffffffn);
          const hintAt = rvaToOffset(sections, hintRva, sizeOfHeaders);
          if (hintAt === null) r.fail(`import name RVA ${hex(hintRva, 8)} of ${dll} is not inside any section`);
          functions.push(r.cstring(hintAt + 2, `import name in ${dll}`));
        }
      }
      imports.push({ dll, functions });
    }
  }

  // Security directory (4): a FILE OFFSET and size of the WIN_CERTIFICATE table.
  const sec = directory(4);
  let signature: PeSignature | null = null;
  if (sec.rva !== 0 && sec.size !== 0) {
    r.check(sec.rva, sec.size, "certificate table (security directory)");
    if (sec.size < 8) r.fail(`certificate table is only ${sec.size} bytes`);
    signature = {
      offset: sec.rva,
      size: sec.size,
      revision: buf.readUInt16LE(sec.rva + 4),
      certificateType: buf.readUInt16LE(sec.rva + 6),
    };
  }

  return {
    machine,
    machineName: MACHINE_NAMES[machine] ?? hex(machine),
    characteristics,
    format,
    subsystem,
    subsystemName: SUBSYSTEM_NAMES[subsystem] ?? String(subsystem),
    dllCharacteristics,
    entryPoint,
    imageBase,
    subsystemVersion,
    sections,
    imports,
    signature,
    signed: signature !== null,
    checksumOffset: opt + 64,
    certificateTableEntryOffset: dirCount > 4 ? dirBase + 4 * 8 : null,
  };
}

/**
 * Read and parse the PE headers of `file`.
 *
 * @throws PeFormatError when the file is not a well-formed PE image; Node's fs errors when it cannot be read
 */
export function readPeHeaders(file: string): PeInfo {
  return parsePe(fs.readFileSync(file), file);
}

/** True when `info` imports anything from `dll` (case-insensitive, as the Windows loader compares). */
export function importsFrom(info: PeInfo, dll: string): boolean {
  const want = dll.toLowerCase();
  return info.imports.some((i) => i.dll.toLowerCase() === want);
}

/** Readable machine name for an IMAGE_FILE_MACHINE_* value. */
export function machineName(machine: number): string {
  return MACHINE_NAMES[machine] ?? hex(machine);
}

/** Readable subsystem name for an IMAGE_SUBSYSTEM_* value. */
export function subsystemName(subsystem: number): string {
  return SUBSYSTEM_NAMES[subsystem] ?? String(subsystem);
}

/**
 * What is wrong with a binary that is to be put into a Windows image as `name`, or undefined when nothing is:
 * a `.sys` must be a kernel-mode image (subsystem native), an `.exe` an image that is not a DLL, a `.dll` a DLL,
 * and each of them for `machine` (IMAGE_FILE_MACHINE_*) when given.
 */
export function binaryKindProblem(info: PeInfo, name: string, machine?: number): string | undefined {
  const ext = /\.([^.]+)$/.exec(name)?.[1]?.toLowerCase();
  if (machine !== undefined && info.machine !== machine)
    return `is built for ${info.machineName}, not ${machineName(machine)}: build it for the image's architecture`;
  const isDll = (info.characteristics & PE_CHARACTERISTICS.dll) !== 0;
  if (ext === "sys" && info.subsystem !== PE_SUBSYSTEM.native)
    return `is not a kernel-mode driver (subsystem ${info.subsystemName}, expected native)${isDll ? ": a DLL named .sys" : ""}`;
  if (ext === "exe" && isDll) return "is a DLL, not a program";
  if (ext === "dll" && !isDll) return "is not a DLL";
  return undefined;
}
