/**
 * bcdedit command builders (pure; bcdedit runs on Windows only). Every command works on an offline store file
 * through `/store <file>`, never on the running system's store.
 *
 * Syntax sources:
 * - `/store`, `/set`, `/deletevalue`, `/enum`, `/v`:
 *   https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/bcdedit-command-line-options
 * - `/set <id> <option> <value>`: https://learn.microsoft.com/en-us/windows-hardware/drivers/devtest/bcdedit--set
 * - the boot options themselves (testsigning, nointegritychecks, debug, bootdebug):
 *   https://learn.microsoft.com/en-us/windows-hardware/drivers/devtest/bcd-boot-options-reference
 * - `/dbgsettings NET HOSTIP:ip PORT:port [KEY:key]`, `/dbgsettings SERIAL [DEBUGPORT:port] [BAUDRATE:baud]`:
 *   https://learn.microsoft.com/en-us/windows-hardware/drivers/devtest/bcdedit--dbgsettings
 */
import type { AdkCommand } from "./types";
import { AdkArgumentError, bcdObjectId, ipv4, kdnetKey, kdnetPort, windowsPath } from "./validate";

const DOC_OPTIONS =
  "https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/bcdedit-command-line-options";
const DOC_SET = "https://learn.microsoft.com/en-us/windows-hardware/drivers/devtest/bcdedit--set";
const DOC_DELETEVALUE = "https://learn.microsoft.com/en-us/windows-hardware/drivers/devtest/bcdedit--deletevalue";
const DOC_DBGSETTINGS = "https://learn.microsoft.com/en-us/windows-hardware/drivers/devtest/bcdedit--dbgsettings";

/** The on/off boot options the product manages. */
export type BcdFlag = "testsigning" | "nointegritychecks" | "debug" | "bootdebug";

const FLAG_WHY: Record<BcdFlag, string> = {
  testsigning: "load test-signed drivers",
  nointegritychecks: "skip driver signature checks",
  debug: "kernel debugging of the loaded OS",
  bootdebug: "boot debugging of the loader",
};

function checkFlag(setting: BcdFlag): BcdFlag {
  if (!Object.hasOwn(FLAG_WHY, setting)) {
    throw new AdkArgumentError(`'setting' must be one of ${Object.keys(FLAG_WHY).join(", ")}`);
  }
  return setting;
}

/**
 * `bcdedit /store <bcd> /set <object> <setting> on|off`, e.g. the workflow's
 * `bcdedit /store D:\WinPE_amd64\media\EFI\Microsoft\Boot\BCD /set {default} testsigning on`.
 * Doc: https://learn.microsoft.com/en-us/windows-hardware/drivers/devtest/bcdedit--set
 *
 * @param store - the BCD store file (`media\EFI\Microsoft\Boot\BCD` or `media\Boot\BCD`)
 * @param setting - testsigning, nointegritychecks, debug or bootdebug
 * @param on - the value
 * @param object - the entry to change @default "{default}"
 * @returns the command (cmd)
 */
export function bcdeditSet(store: string, setting: BcdFlag, on: boolean, object = "{default}"): AdkCommand {
  const bcd = windowsPath("store", store);
  const id = bcdObjectId("object", object);
  const flag = checkFlag(setting);
  return {
    tool: "bcdedit",
    argv: ["/store", bcd, "/set", id, flag, on ? "on" : "off"],
    shell: "cmd",
    why: `${on ? "turn on" : "turn off"} ${flag} (${FLAG_WHY[flag]}) for ${id} in the media's BCD store`,
    doc: DOC_SET,
  };
}

/**
 * `bcdedit /store <bcd> /deletevalue <object> <setting>`: removes the element, so the loader's default applies
 * again (what `pulumi destroy` does for a flag the store did not have before).
 * Doc: https://learn.microsoft.com/en-us/windows-hardware/drivers/devtest/bcdedit--deletevalue
 *
 * @param store - the BCD store file
 * @param setting - the option to remove
 * @param object - the entry to change @default "{default}"
 * @returns the command (cmd)
 */
export function bcdeditDeleteValue(store: string, setting: BcdFlag, object = "{default}"): AdkCommand {
  const bcd = windowsPath("store", store);
  const id = bcdObjectId("object", object);
  const flag = checkFlag(setting);
  return {
    tool: "bcdedit",
    argv: ["/store", bcd, "/deletevalue", id, flag],
    shell: "cmd",
    why: `remove ${flag} from ${id} in the media's BCD store (back to the default)`,
    doc: DOC_DELETEVALUE,
  };
}

/** Network kernel-debugging settings (KDNET). */
export interface KdnetSettings {
  /** The debugger host's IPv4 address. */
  hostIp: string;
  /** UDP port on the host, 49152-65535. */
  port: number;
  /** The encryption key, four dot-separated words (`5.5.5.5`). A secret. */
  key: string;
}

/**
 * `bcdedit /store <bcd> /dbgsettings net hostip:<ip> port:<port> key:<key>`. The key part is marked secret:
 * renderers print `key:[secret]` unless asked to reveal it, and `commandSecrets` (quote.ts) lists it for the tool log.
 * Doc: https://learn.microsoft.com/en-us/windows-hardware/drivers/devtest/bcdedit--dbgsettings
 *
 * @param store - the BCD store file
 * @param settings - host IP, port and key
 * @returns the command (cmd)
 */
export function bcdeditDbgSettingsNet(store: string, settings: KdnetSettings): AdkCommand {
  const bcd = windowsPath("store", store);
  const hostIp = ipv4("hostIp", settings.hostIp);
  const port = kdnetPort("port", settings.port);
  const key = kdnetKey("key", settings.key);
  return {
    tool: "bcdedit",
    argv: [
      "/store",
      bcd,
      "/dbgsettings",
      "net",
      `hostip:${hostIp}`,
      `port:${port}`,
      { switch: "key:", value: key, secret: true },
    ],
    shell: "cmd",
    why: `send kernel-debugger traffic to ${hostIp}:${port} (KDNET) from the booted image`,
    doc: DOC_DBGSETTINGS,
  };
}

/** Kernel debugging over a serial port. */
export interface SerialDebugSettings {
  /** The COM port number (1 = COM1). */
  debugport: number;
  /** 9600, 19200, 38400, 57600 or 115200. */
  baudrate: number;
}

/** The baud rates bcdedit /dbgsettings serial accepts. */
export const SERIAL_BAUDRATES = [9600, 19200, 38400, 57600, 115200] as const;

/**
 * `bcdedit /store <bcd> /dbgsettings serial debugport:<n> baudrate:<baud>`, e.g. `debugport:1 baudrate:115200`
 * (the KD serial set-up ntoseye and WinDbg document for a VM's COM1).
 * Doc: https://learn.microsoft.com/en-us/windows-hardware/drivers/devtest/bcdedit--dbgsettings
 *
 * @param store - the BCD store file
 * @param settings - port number and baud rate
 * @returns the command (cmd)
 */
export function bcdeditDbgSettingsSerial(store: string, settings: SerialDebugSettings): AdkCommand {
  const bcd = windowsPath("store", store);
  if (!Number.isInteger(settings.debugport) || settings.debugport < 1 || settings.debugport > 255) {
    throw new AdkArgumentError(`'debugport' must be a COM port number from 1 through 255`);
  }
  if (!(SERIAL_BAUDRATES as readonly number[]).includes(settings.baudrate)) {
    throw new AdkArgumentError(`'baudrate' must be one of ${SERIAL_BAUDRATES.join(", ")}`);
  }
  return {
    tool: "bcdedit",
    argv: ["/store", bcd, "/dbgsettings", "serial", `debugport:${settings.debugport}`, `baudrate:${settings.baudrate}`],
    shell: "cmd",
    why: `send kernel-debugger traffic over COM${settings.debugport} at ${settings.baudrate} baud from the booted image`,
    doc: DOC_DBGSETTINGS,
  };
}

/**
 * `bcdedit /store <bcd> /enum <object> /v`: lists the entry with full GUIDs, to read settings back.
 * Doc: https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/bcdedit-command-line-options
 *
 * @param store - the BCD store file
 * @param object - the entry to list @default "{default}"
 * @returns the command (cmd)
 */
export function bcdeditEnum(store: string, object = "{default}"): AdkCommand {
  const bcd = windowsPath("store", store);
  const id = bcdObjectId("object", object);
  return {
    tool: "bcdedit",
    argv: ["/store", bcd, "/enum", id, "/v"],
    shell: "cmd",
    why: `read back ${id} of the media's BCD store (full identifiers)`,
    doc: DOC_OPTIONS,
  };
}
