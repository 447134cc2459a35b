/**
 * BCD vocabulary: well-known object ids and aliases, object types, element ids with their bcdedit names and
 * data formats. Element ids encode their format in bits 24-27 and their class in bits 28-31.
 */

/** Well-known objects by bcdedit alias (without braces), GUIDs in lower case with braces. */
export const WELL_KNOWN_OBJECTS: Readonly<Record<string, string>> = {
  bootmgr: "{9dea862c-5cdd-4e70-acc1-f32b344d4795}",
  fwbootmgr: "{a5a30fa2-3d06-4e9f-b5f4-a01df9d1fcba}",
  memdiag: "{b2721d73-1db4-4c62-bf78-c548a880142d}",
  ntldr: "{466f5a88-0af2-4f76-9038-095b170dc21c}",
  dbgsettings: "{4636856e-540f-4170-a130-a84776f4c654}",
  emssettings: "{0ce4991b-e6b3-4b16-b23c-5e0d9250e5d9}",
  globalsettings: "{7ea2e1ac-2e61-4728-aaa3-896d9d0a9f0e}",
  bootloadersettings: "{6efb52bf-1766-41db-a6b3-0ee5eff72bd5}",
  resumeloadersettings: "{1afa9c49-16ab-4a5c-901b-212802da9460}",
  hypervisorsettings: "{7ff607e0-4395-11db-b0de-0800200c9a66}",
  badmemory: "{5189b25c-5558-4bf2-bca4-289b11bd29e2}",
  ramdiskoptions: "{ae5534e0-a924-466c-b836-758539a3ee3a}",
};

/** Alias by GUID (lower case, braces). */
export const ALIAS_OF: ReadonlyMap<string, string> = new Map(
  Object.entries(WELL_KNOWN_OBJECTS).map(([a, g]) => [g, a]),
);

/** The WinPE/setup media loader object. */
export const WINPE_LOADER_ID = "{7619dcc9-fafe-11d9-b411-000476eba25f}";
/** The WinPE/setup media ramdisk options object. */
export const WINPE_RAMDISK_OPTIONS_ID = "{7619dcc8-fafe-11d9-b411-000476eba25f}";

/** Object types. */
export const ObjectType = {
  FWBOOTMGR: 0x10100001,
  BOOTMGR: 0x10100002,
  OSLOADER: 0x10200003,
  RESUME: 0x10200004,
  MEMDIAG: 0x10200005,
  NTLDR: 0x10300006,
  SETUPLDR: 0x10300007,
  BOOTSECTOR: 0x10400008,
  STARTUP: 0x10400009,
  INHERIT_ANY: 0x20100000,
  INHERIT_BOOTMGR: 0x20200002,
  INHERIT_OSLOADER: 0x20200003,
  INHERIT_RESUME: 0x20200004,
  INHERIT_MEMDIAG: 0x20200005,
  DEVICE: 0x30000000,
} as const;

/** Section header bcdedit prints above an object in `/enum`. */
export function objectHeading(type: number, alias: string | undefined): string {
  switch (alias) {
    case "dbgsettings":
      return "Debugger Settings";
    case "emssettings":
      return "EMS Settings";
    case "globalsettings":
      return "Global Settings";
    case "bootloadersettings":
      return "Boot Loader Settings";
    case "resumeloadersettings":
      return "Resume Loader Settings";
    case "hypervisorsettings":
      return "Hypervisor Settings";
    case "badmemory":
      return "RAM Defects";
  }
  switch (type) {
    case ObjectType.FWBOOTMGR:
      return "Firmware Boot Manager";
    case ObjectType.BOOTMGR:
      return "Windows Boot Manager";
    case ObjectType.OSLOADER:
      return "Windows Boot Loader";
    case ObjectType.RESUME:
      return "Resume from Hibernate";
    case ObjectType.MEMDIAG:
      return "Windows Memory Tester";
    case ObjectType.NTLDR:
      return "Windows Legacy OS Loader";
    case ObjectType.SETUPLDR:
      return "Windows Setup Loader";
    case ObjectType.BOOTSECTOR:
      return "Real-mode Boot Sector";
    case ObjectType.DEVICE:
      return "Device options";
  }
  if (type >>> 28 === 2) return "Inheritable Settings";
  if (type >>> 28 === 3) return "Device options";
  return "Application";
}

/** Data formats of elements (bits 24-27 of the element id). */
export type ElementFormat =
  | "device"
  | "string"
  | "object"
  | "objectlist"
  | "integer"
  | "boolean"
  | "integerlist"
  | "unknown";

/** The data format encoded in an element id. */
export function formatOf(id: number): ElementFormat {
  switch ((id >>> 24) & 0xf) {
    case 1:
      return "device";
    case 2:
      return "string";
    case 3:
      return "object";
    case 4:
      return "objectlist";
    case 5:
      return "integer";
    case 6:
      return "boolean";
    case 7:
      return "integerlist";
    default:
      return "unknown";
  }
}

/** Registry value type bcdedit uses for each format (REG_BINARY 3, REG_SZ 1, REG_MULTI_SZ 7). */
export function regTypeOf(format: ElementFormat): number {
  switch (format) {
    case "string":
    case "object":
      return 1;
    case "objectlist":
      return 7;
    default:
      return 3;
  }
}

/** Which objects an element name applies to. */
export type ElementScope = "library" | "bootmgr" | "osloader" | "resume" | "memdiag" | "device";

/** A named element. */
export interface ElementDef {
  id: number;
  name: string;
  scope: ElementScope;
  /** Names of integer values (bcdedit accepts and prints them), upper/lower case as bcdedit prints them. */
  enumNames?: Readonly<Record<string, number>>;
  /** Special text form of an integer: an IPv4 address. */
  ipv4?: boolean;
}

const DEBUG_TYPES = { Serial: 0, "1394": 1, USB: 2, NET: 3, Local: 4 };

const DEFS: ElementDef[] = [];
function def(scope: ElementScope, list: Array<[number, string, Partial<ElementDef>?]>): void {
  for (const [id, name, extra] of list) DEFS.push({ id, name, scope, ...extra });
}

def("library", [
  [0x11000001, "device"],
  [0x12000002, "path"],
  [0x12000004, "description"],
  [0x12000005, "locale"],
  [0x14000006, "inherit"],
  [0x15000007, "truncatememory"],
  [0x14000008, "recoverysequence"],
  [0x16000009, "recoveryenabled"],
  [0x1700000a, "badmemorylist"],
  [0x1600000b, "badmemoryaccess"],
  [0x1500000c, "firstmegabytepolicy", { enumNames: { UseNone: 0, UseAll: 1, UsePrivate: 2 } }],
  [0x1500000d, "relocatephysical"],
  [0x1500000e, "avoidlowmemory"],
  [0x1600000f, "traditionalkseg"],
  [0x16000010, "bootdebug"],
  [0x15000011, "debugtype", { enumNames: DEBUG_TYPES }],
  [0x15000012, "debugaddress"],
  [0x15000013, "debugport"],
  [0x15000014, "baudrate"],
  [0x15000015, "channel"],
  [0x12000016, "targetname"],
  [0x16000017, "noumex"],
  [0x15000018, "debugstart", { enumNames: { Active: 0, AutoEnable: 1, Disable: 2 } }],
  [0x12000019, "busparams"],
  [0x1500001a, "hostip", { ipv4: true }],
  [0x1500001b, "port"],
  [0x1600001c, "dhcp"],
  [0x1200001d, "key"],
  [0x1600001e, "vm"],
  [0x16000020, "bootems"],
  [0x15000022, "emsport"],
  [0x15000023, "emsbaudrate"],
  [0x12000030, "loadoptions"],
  [0x16000040, "advancedoptions"],
  [0x16000041, "optionsedit"],
  [0x15000042, "keyringaddress"],
  [0x11000043, "bootstatdevice"],
  [0x12000044, "bootstatfilepath"],
  [0x16000045, "preservebootstat"],
  [0x16000046, "graphicsmodedisabled"],
  [0x15000047, "configaccesspolicy", { enumNames: { Default: 0, DisallowMmConfig: 1 } }],
  [0x16000048, "nointegritychecks"],
  [0x16000049, "testsigning"],
  [0x1200004a, "fontpath"],
  [0x1500004b, "integrityservices", { enumNames: { Default: 0, Enable: 1, Disable: 2 } }],
  [0x1500004c, "volumebandid"],
  [0x16000050, "extendedinput"],
  [0x15000051, "initialconsoleinput"],
  [0x15000052, "graphicsresolution", { enumNames: { "1024x768": 0, "800x600": 1, "1024x600": 2 } }],
  [0x16000053, "restartonfailure"],
  [0x16000054, "highestmode"],
  [0x16000060, "isolatedcontext"],
  [
    0x15000065,
    "displaymessage",
    {
      enumNames: {
        Default: 0,
        Resume: 1,
        HyperV: 2,
        Recovery: 3,
        StartupRepair: 4,
        SystemImageRecovery: 5,
        CommandPrompt: 6,
        SystemRestore: 7,
        PushButtonReset: 8,
      },
    },
  ],
  [
    0x15000066,
    "displaymessageoverride",
    {
      enumNames: {
        Default: 0,
        Resume: 1,
        HyperV: 2,
        Recovery: 3,
        StartupRepair: 4,
        SystemImageRecovery: 5,
        CommandPrompt: 6,
        SystemRestore: 7,
        PushButtonReset: 8,
      },
    },
  ],
  [0x16000068, "nobootuxtext"],
  [0x16000069, "nobootuxprogress"],
  [0x1600006a, "nobootuxfade"],
  [0x1600006c, "bootuxdisabled"],
  [0x16000074, "bootshutdowndisabled"],
  [0x17000077, "allowedinmemorysettings"],
  [0x1600007b, "forcefipscrypto"],
  [0x1500007d, "booterrorux", { enumNames: { Default: 0, Simple: 1 } }],
  [0x1600007e, "flightsigning"],
  [0x1500007f, "measuredbootlogformat"],
  [0x16000082, "nofirmwaresync"],
  [0x16000087, "numlock"],
]);

def("bootmgr", [
  [0x24000001, "displayorder"],
  [0x24000002, "bootsequence"],
  [0x23000003, "default"],
  [0x25000004, "timeout"],
  [0x26000005, "resume"],
  [0x23000006, "resumeobject"],
  [0x24000007, "startupsequence"],
  [0x24000010, "toolsdisplayorder"],
  [0x26000020, "displaybootmenu"],
  [0x26000021, "noerrordisplay"],
  [0x21000022, "bcddevice"],
  [0x22000023, "bcdfilepath"],
  [0x26000024, "hormenabled"],
  [0x26000025, "hiberboot"],
  [0x22000026, "passwordoverride"],
  [0x22000027, "pinpassphraseoverride"],
  [0x26000028, "processcustomactionsfirst"],
  [0x27000030, "customactions"],
  [0x26000031, "persistbootsequence"],
  [0x26000032, "skipstartupsequence"],
]);

def("osloader", [
  [0x21000001, "osdevice"],
  [0x22000002, "systemroot"],
  [0x23000003, "resumeobject"],
  [0x26000004, "stampdisks"],
  [0x26000010, "detecthal"],
  [0x22000011, "kernel"],
  [0x22000012, "hal"],
  [0x22000013, "dbgtransport"],
  [0x25000020, "nx", { enumNames: { OptIn: 0, OptOut: 1, AlwaysOff: 2, AlwaysOn: 3 } }],
  [0x25000021, "pae", { enumNames: { Default: 0, ForceEnable: 1, ForceDisable: 2 } }],
  [0x26000022, "winpe"],
  [0x26000024, "nocrashautoreboot"],
  [0x26000025, "lastknowngood"],
  [0x26000026, "oslnointegritychecks"],
  [0x26000027, "osltestsigning"],
  [0x26000030, "nolowmem"],
  [0x25000031, "removememory"],
  [0x25000032, "increaseuserva"],
  [0x25000033, "perfmem"],
  [0x26000040, "vga"],
  [0x26000041, "quietboot"],
  [0x26000042, "novesa"],
  [0x26000043, "novga"],
  [0x25000050, "clustermodeaddressing"],
  [0x26000051, "usephysicaldestination"],
  [0x25000052, "restrictapiccluster"],
  [0x22000053, "evstore"],
  [0x26000054, "uselegacyapicmode"],
  [0x26000060, "onecpu"],
  [0x25000061, "numproc"],
  [0x26000062, "maxproc"],
  [0x25000063, "configflags"],
  [0x26000064, "maxgroup"],
  [0x26000065, "groupaware"],
  [0x25000066, "groupsize"],
  [0x26000070, "usefirmwarepcisettings"],
  [0x25000071, "msi", { enumNames: { Default: 0, ForceDisable: 1 } }],
  [0x25000072, "pciexpress", { enumNames: { Default: 0, ForceDisable: 1 } }],
  [0x25000080, "safeboot", { enumNames: { Minimal: 0, Network: 1, DsRepair: 2 } }],
  [0x26000081, "safebootalternateshell"],
  [0x26000090, "bootlog"],
  [0x26000091, "sos"],
  [0x260000a0, "debug"],
  [0x260000a1, "halbreakpoint"],
  [0x260000a2, "useplatformclock"],
  [0x260000a3, "forcelegacyplatform"],
  [0x260000a4, "useplatformtick"],
  [0x260000a5, "disabledynamictick"],
  [0x250000a6, "tscsyncpolicy", { enumNames: { Default: 0, Legacy: 1, Enhanced: 2 } }],
  [0x260000b0, "ems"],
  [0x250000c1, "driverloadfailurepolicy", { enumNames: { Fatal: 0, UseErrorControl: 1 } }],
  [0x250000c2, "bootmenupolicy", { enumNames: { Legacy: 0, Standard: 1 } }],
  [0x260000c3, "onetimeadvancedoptions"],
  [0x260000c4, "onetimeoptionsedit"],
  [
    0x250000e0,
    "bootstatuspolicy",
    {
      enumNames: {
        DisplayAllFailures: 0,
        IgnoreAllFailures: 1,
        IgnoreShutdownFailures: 2,
        IgnoreBootFailures: 3,
        IgnoreCheckpointFailures: 4,
        DisplayShutdownFailures: 5,
        DisplayBootFailures: 6,
        DisplayCheckpointFailures: 7,
      },
    },
  ],
  [0x260000e1, "disableelamdrivers"],
  [0x250000f0, "hypervisorlaunchtype", { enumNames: { Off: 0, Auto: 1 } }],
  [0x220000f1, "hypervisorpath"],
  [0x260000f2, "hypervisordebug"],
  [0x250000f3, "hypervisordebugtype", { enumNames: { Serial: 0, "1394": 1, NET: 3 } }],
  [0x250000f4, "hypervisordebugport"],
  [0x250000f5, "hypervisorbaudrate"],
  [0x250000f6, "hypervisorchannel"],
  [0x250000f7, "bootux", { enumNames: { Disabled: 0, Basic: 1, Standard: 2 } }],
  [0x260000f8, "hypervisordisableslat"],
  [0x220000f9, "hypervisorbusparams"],
  [0x250000fa, "hypervisornumproc"],
  [0x250000fb, "hypervisorrootprocpernode"],
  [0x260000fc, "hypervisoruselargevtlb"],
  [0x250000fd, "hypervisorhostip", { ipv4: true }],
  [0x250000fe, "hypervisorhostport"],
  [0x250000ff, "hypervisordebugpages"],
  [0x25000100, "tpmbootentropy", { enumNames: { Default: 0, ForceDisable: 1, ForceEnable: 2 } }],
  [0x22000110, "hypervisorusekey"],
  [0x22000112, "hypervisorproductskutype"],
  [0x25000113, "hypervisorrootproc"],
  [0x26000114, "hypervisordhcp"],
  [0x25000115, "hypervisoriommupolicy", { enumNames: { Default: 0, Enable: 1, Disable: 2 } }],
  [0x26000116, "hypervisorusevapic"],
  [0x22000117, "hypervisorloadoptions"],
  [0x25000118, "hypervisormsrfilterpolicy", { enumNames: { Default: 0, Enable: 1, Disable: 2 } }],
  [0x25000119, "hypervisormmionxpolicy", { enumNames: { Default: 0, Enable: 1, Disable: 2 } }],
  [0x2500011a, "hypervisorschedulertype", { enumNames: { Classic: 1, Core: 2, Root: 4 } }],
  [0x25000120, "xsavepolicy"],
]);

def("resume", [
  [0x21000001, "filedevice"],
  [0x22000002, "filepath"],
  [0x26000003, "customsettings"],
  [0x26000004, "pae"],
  [0x21000005, "associatedosdevice"],
  [0x26000006, "debugoptionenabled"],
  [0x25000007, "bootux", { enumNames: { Disabled: 0, Basic: 1, Standard: 2 } }],
  [0x25000008, "bootmenupolicy", { enumNames: { Legacy: 0, Standard: 1 } }],
  [0x26000024, "hormenabled"],
]);

def("memdiag", [
  [0x25000001, "passcount"],
  [0x25000002, "testmix", { enumNames: { Basic: 0, Extended: 1 } }],
  [0x26000003, "failurecount"],
  [0x26000004, "cacheenable"],
  [0x26000005, "failuresenabled"],
  [0x26000006, "stridefailcount"],
  [0x26000007, "invcfailcount"],
  [0x26000008, "matsfailcount"],
  [0x26000009, "randfailcount"],
  [0x2600000a, "chckrfailcount"],
]);

def("device", [
  [0x35000001, "ramdiskimageoffset"],
  [0x35000002, "ramdisktftpclientport"],
  [0x31000003, "ramdisksdidevice"],
  [0x32000004, "ramdisksdipath"],
  [0x35000005, "ramdiskimagelength"],
  [0x36000006, "exportascd"],
  [0x35000007, "ramdisktftpblocksize"],
  [0x35000008, "ramdisktftpwindowsize"],
  [0x36000009, "ramdiskmcenabled"],
  [0x3600000a, "ramdiskmctftpfallback"],
  [0x3600000b, "ramdisktftpvarwindow"],
]);

/** Every named element, in table order. */
export const ELEMENT_DEFS: readonly ElementDef[] = DEFS;

/** Element scopes that apply to an object of `type`, most specific first. */
export function scopesFor(type: number | undefined): ElementScope[] {
  if (type === undefined) return ["library", "osloader", "bootmgr", "device"];
  const cls = type >>> 28;
  if (cls === 3) return ["device", "library"];
  const app = type & 0xfffff;
  const appScope = (): ElementScope[] => {
    switch (app) {
      case 1:
      case 2:
        return ["bootmgr"];
      case 3:
        return ["osloader"];
      case 4:
        return ["resume"];
      case 5:
        return ["memdiag"];
      default:
        return [];
    }
  };
  if (cls === 1) return ["library", ...appScope()];
  if (cls === 2) {
    // inheritable objects: 0x201 = inheritable by any application, 0x202 = by the one application type
    if (((type >>> 20) & 0xf) === 2) return ["library", ...appScope()];
    return ["library", "osloader", "bootmgr", "resume", "memdiag", "device"];
  }
  return ["library"];
}

/** The definition of element `id` for an object of `type` (undefined: a custom element). */
export function elementById(id: number, type: number | undefined): ElementDef | undefined {
  const scopes = scopesFor(type);
  for (const s of scopes) {
    const d = DEFS.find((e) => e.id === id && e.scope === s);
    if (d) return d;
  }
  return undefined;
}

/** The definition named `name` (case-insensitive) for an object of `type`. */
export function elementByName(name: string, type: number | undefined): ElementDef | undefined {
  const lower = name.toLowerCase();
  for (const s of scopesFor(type)) {
    const d = DEFS.find((e) => e.scope === s && e.name === lower);
    if (d) return d;
  }
  return undefined;
}

/** Parse an element id written as 8 hex digits (optionally `0x`-prefixed, or `custom:`-prefixed). */
export function parseElementId(text: string): number | undefined {
  const m = text.trim().match(/^(?:custom:|0x)?([0-9a-f]{8})$/i);
  return m ? Number.parseInt(m[1], 16) : undefined;
}

/** An element id as bcdedit names its registry key: 8 lower-case hex digits. */
export function elementKeyName(id: number): string {
  return (id >>> 0).toString(16).padStart(8, "0");
}
