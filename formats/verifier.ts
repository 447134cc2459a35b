/**
 * Driver Verifier settings in an offline SYSTEM hive (pure: our REGF module, no tools, no Pulumi).
 *
 * What `verifier /standard /driver sioctl.sys` sets on a running Windows is two values under
 * `HKLM\SYSTEM\CurrentControlSet\Control\Session Manager\Memory Management`:
 * - `VerifyDrivers` (REG_SZ): the image names of the drivers to verify, separated by spaces;
 * - `VerifyDriverLevel` (REG_DWORD): the bit mask of the verification options (`/standard` = `/flags 0x209BB`).
 * Microsoft documents both: "Use Driver Verifier to identify issues with Windows drivers for advanced users"
 * (KB 244617, https://learn.microsoft.com/troubleshoot/windows-server/performance/use-driver-verifier-to-identify-issues,
 * section "Additional information for driver developers": the registry key and the two values), the verifier
 * command line (https://learn.microsoft.com/windows-hardware/drivers/devtest/verifier-command-line: `/standard` is
 * `/flags 0x209BB`) and the option list (https://learn.microsoft.com/windows-hardware/drivers/devtest/driver-verifier-options,
 * the bit values as `verifier /querysettings` prints them).
 *
 * An offline hive has no `CurrentControlSet` (the kernel makes that link at boot): the control set in use is
 * `ControlSet00N` where N is the DWORD `Select\Current`.
 */
import { Hive, RegfError, RegType, type RegValue } from "./regf/index";

/** The value names, as Microsoft documents them. */
export const VERIFY_DRIVERS = "VerifyDrivers";
export const VERIFY_DRIVER_LEVEL = "VerifyDriverLevel";
/** The key below the control set. */
export const MEMORY_MANAGEMENT = "Control\\Session Manager\\Memory Management";
/** Where the SYSTEM hive lives in a Windows (PE) image. */
export const SYSTEM_HIVE_PATH = "Windows/System32/config/SYSTEM";

/**
 * The verification options by name, with the bit `verifier /querysettings` shows for each. `standard` is the set
 * `/standard` selects (0x209BB).
 */
export const VERIFIER_FLAGS: Readonly<Record<string, number>> = {
  specialPool: 0x1,
  forceIrqlChecking: 0x2,
  randomizedLowResourcesSimulation: 0x4,
  poolTracking: 0x8,
  ioVerification: 0x10,
  deadlockDetection: 0x20,
  dmaChecking: 0x80,
  securityChecks: 0x100,
  forcePendingIoRequests: 0x200,
  irpLogging: 0x400,
  miscellaneousChecks: 0x800,
  invariantMdlCheckingForStack: 0x2000,
  invariantMdlCheckingForDriver: 0x4000,
  powerFrameworkDelayFuzzing: 0x8000,
  portMiniportInterfaceChecking: 0x10000,
  ddiComplianceChecking: 0x20000,
  systematicLowResourcesSimulation: 0x40000,
  ddiComplianceCheckingAdditional: 0x80000,
  ndisWifiVerification: 0x200000,
  kernelSynchronizationDelayFuzzing: 0x800000,
  vmSwitchVerification: 0x1000000,
  codeIntegrityChecks: 0x2000000,
  standard: 0x209bb,
};

export const VERIFIER_FLAG_NAMES = Object.keys(VERIFIER_FLAGS);

/** A driver image name as `verifier /driver` takes it: a file name, no folder, no space (the value is space-separated). */
export const DRIVER_NAME_RE = /^[A-Za-z0-9_.$~#@!()+,;=[\]{}-]+\.[A-Za-z0-9]{1,8}$/;

/** The `VerifyDriverLevel` of a list of flag names (unknown names throw). */
export function verifierLevel(flags: readonly string[]): number {
  let level = 0;
  for (const f of flags) {
    const bit = VERIFIER_FLAGS[f];
    if (bit === undefined) throw new Error(`'${f}' is not a Driver Verifier flag (${VERIFIER_FLAG_NAMES.join(", ")})`);
    level |= bit;
  }
  return level >>> 0;
}

/** The two values winpe-lab writes. */
export interface VerifierValues {
  VerifyDrivers: string;
  VerifyDriverLevel: number;
}

/** A value as it was before winpe-lab wrote it (type and data bytes in hex), or null when it was absent. */
export interface RecordedValue {
  type: number;
  data: string;
}
export type RecordedValues = Record<typeof VERIFY_DRIVERS | typeof VERIFY_DRIVER_LEVEL, RecordedValue | null>;

/** The values from the settings (`verifier /flags <level> /driver <names>`). */
export function verifierValues(drivers: readonly string[], flags: readonly string[]): VerifierValues {
  return { VerifyDrivers: drivers.join(" "), VerifyDriverLevel: verifierLevel(flags) };
}

/**
 * The control set an offline SYSTEM hive boots with: `ControlSet00N` for N = `Select\Current`.
 * @throws RegfError when the hive has no `Select\Current` DWORD or no such control set (not a SYSTEM hive)
 */
export function currentControlSet(hive: Hive): string {
  const v = hive.getValue("Select", "Current");
  if (!v || v.type !== RegType.DWORD || v.data.length < 4) {
    throw new RegfError(-1, "has no Select\\Current DWORD: it is not a SYSTEM hive");
  }
  const n = v.data.readUInt32LE(0);
  const name = `ControlSet${String(n).padStart(3, "0")}`;
  if (!hive.getKey(name)) throw new RegfError(-1, `Select\\Current is ${n}, but the hive has no ${name}`);
  return name;
}

/** `ControlSet00N\Control\Session Manager\Memory Management` of the hive. */
export function memoryManagementKey(hive: Hive): string {
  return `${currentControlSet(hive)}\\${MEMORY_MANAGEMENT}`;
}

function record(v: RegValue | undefined): RecordedValue | null {
  return v ? { type: v.type, data: v.data.toString("hex") } : null;
}

/** What the hive holds now at the two values (absent: null). */
export function readVerifierValues(hive: Hive): RecordedValues {
  const key = memoryManagementKey(hive);
  return {
    [VERIFY_DRIVERS]: record(hive.getValue(key, VERIFY_DRIVERS)),
    [VERIFY_DRIVER_LEVEL]: record(hive.getValue(key, VERIFY_DRIVER_LEVEL)),
  } as RecordedValues;
}

/** The values as a readable record (`{ VerifyDrivers: "sioctl.sys", VerifyDriverLevel: 133563 }`); absent ones left out. */
export function decodeVerifierValues(rec: RecordedValues): Partial<VerifierValues> {
  const out: Partial<VerifierValues> = {};
  const d = rec[VERIFY_DRIVERS];
  if (d && (d.type === RegType.SZ || d.type === RegType.EXPAND_SZ)) {
    const s = Buffer.from(d.data, "hex").toString("utf16le");
    out.VerifyDrivers = s.includes("\0") ? s.slice(0, s.indexOf("\0")) : s;
  }
  const l = rec[VERIFY_DRIVER_LEVEL];
  if (l && l.type === RegType.DWORD && l.data.length >= 8)
    out.VerifyDriverLevel = Buffer.from(l.data, "hex").readUInt32LE(0);
  return out;
}

/**
 * Write the values into the hive (the Memory Management key is made when missing).
 * @returns what the two values were before (to put back on destroy)
 */
export function applyVerifierValues(hive: Hive, values: VerifierValues): RecordedValues {
  const key = memoryManagementKey(hive);
  const before = readVerifierValues(hive);
  if (!hive.getKey(key)) hive.createKey(key);
  hive.setValue(key, VERIFY_DRIVERS, RegType.SZ, Buffer.from(`${values.VerifyDrivers}\0`, "utf16le"));
  const level = Buffer.alloc(4);
  level.writeUInt32LE(values.VerifyDriverLevel >>> 0, 0);
  hive.setValue(key, VERIFY_DRIVER_LEVEL, RegType.DWORD, level);
  return before;
}

/** Put the two values back as `previous` recorded them (deleting a value that was absent). */
export function restoreVerifierValues(hive: Hive, previous: RecordedValues): void {
  const key = memoryManagementKey(hive);
  for (const name of [VERIFY_DRIVERS, VERIFY_DRIVER_LEVEL] as const) {
    const p = previous[name];
    if (p) hive.setValue(key, name, p.type, Buffer.from(p.data, "hex"));
    else if (hive.getKey(key)) hive.deleteValue(key, name);
  }
}

/**
 * A minimal SYSTEM hive for the synthetic stand-in image: `Select` (Current/Default/LastKnownGood 1, Failed 0)
 * and `ControlSet001\Control\Session Manager\Memory Management`, with a value that says it is a stand-in.
 * Deterministic (timestamps 0).
 */
export function standinSystemHive(): Buffer {
  const hive = Hive.create({ rootName: "ROOT", minorVersion: 5, embeddedFileName: "SYSTEM" });
  const dword = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n, 0);
    return b;
  };
  hive.createKey("Select");
  hive.setValue("Select", "Current", RegType.DWORD, dword(1));
  hive.setValue("Select", "Default", RegType.DWORD, dword(1));
  hive.setValue("Select", "Failed", RegType.DWORD, dword(0));
  hive.setValue("Select", "LastKnownGood", RegType.DWORD, dword(1));
  const mm = `ControlSet001\\${MEMORY_MANAGEMENT}`;
  hive.createKey(mm);
  hive.setValue(
    "ControlSet001\\Control",
    "WinPeLabStandIn",
    RegType.SZ,
    Buffer.from("winpe-lab stand-in SYSTEM hive (not Windows)\0", "utf16le"),
  );
  hive.setValue(mm, "ClearPageFileAtShutdown", RegType.DWORD, dword(0));
  return hive.serialize();
}
