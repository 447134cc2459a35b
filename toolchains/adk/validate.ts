/**
 * Input checks shared by the adk command builders. Windows paths are data here (we run on Linux), so they are
 * handled with `path.win32`, never `path`. Every error names the field and says what a valid value looks like;
 * a secret (the KDNET key) is never echoed in an error.
 */
import * as path from "node:path";
import { WinpeError } from "../../runtime/errors";

/** Raised by a builder for an input it cannot turn into a correct command. */
export class AdkArgumentError extends WinpeError {
  constructor(message: string) {
    super(message);
    this.name = "AdkArgumentError";
  }
}

/**
 * An absolute Windows path (drive or UNC), normalized: forward slashes become backslashes, `.`/`..` are
 * resolved, a trailing backslash is dropped (except at a drive root, `D:\`).
 *
 * @param field - the input's name, for the error message
 * @param value - the path
 * @returns the normalized path
 * @throws AdkArgumentError for a relative path or characters Windows paths cannot hold (`" < > | * ?`, control
 *   characters)
 */
export function windowsPath(field: string, value: string): string {
  if (typeof value !== "string" || value.length === 0) {
    throw new AdkArgumentError(`'${field}' must be an absolute Windows path like D:\\WinPE_amd64`);
  }
  if (/[\x00-\x1f"<>|*?]/.test(value)) {
    throw new AdkArgumentError(`'${field}' must not contain control characters or any of " < > | * ?`);
  }
  const normalized = path.win32.normalize(value);
  if (!/^[A-Za-z]:\\|^\\\\[^\\]+\\[^\\]+/.test(normalized)) {
    throw new AdkArgumentError(
      `'${field}' must be an absolute Windows path like D:\\WinPE_amd64 or \\\\server\\share\\dir (got ${JSON.stringify(value)})`,
    );
  }
  return /^[A-Za-z]:\\$/.test(normalized) ? normalized : normalized.replace(/\\+$/, "");
}

/**
 * A path inside a mounted image, relative to the image root (`Windows\Ioctl`, `/Windows/Ioctl`), normalized to
 * backslashes without leading or trailing separators.
 *
 * @param field - the input's name, for the error message
 * @param value - the image-relative path
 * @returns e.g. `Windows\Ioctl`
 * @throws AdkArgumentError for an empty path, a drive letter or `..` escaping the image
 */
export function imageRelativePath(field: string, value: string): string {
  if (typeof value !== "string" || /[\x00-\x1f"<>|*?]/.test(value)) {
    throw new AdkArgumentError(`'${field}' must be a path inside the image like Windows\\Ioctl`);
  }
  const normalized = path.win32.normalize(value.replace(/^[\\/]+/, "")).replace(/\\+$/, "");
  if (normalized === "" || normalized === "." || /^[A-Za-z]:/.test(normalized) || normalized.split("\\")[0] === "..") {
    throw new AdkArgumentError(
      `'${field}' must be a path inside the image like Windows\\Ioctl (got ${JSON.stringify(value)})`,
    );
  }
  return normalized;
}

/**
 * @param field - the input's name, for the error message
 * @param value - the number
 * @returns the number when it is an integer of at least 1
 * @throws AdkArgumentError otherwise
 */
export function positiveInt(field: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new AdkArgumentError(`'${field}' must be an integer of at least 1`);
  return value;
}

/**
 * A KDNET port: the debugger documentation allows 49152 through 65535.
 *
 * @param field - the input's name, for the error message
 * @param value - the port
 * @returns the port
 * @throws AdkArgumentError for a port outside 49152-65535
 */
export function kdnetPort(field: string, value: number): number {
  if (!Number.isInteger(value) || value < 49152 || value > 65535) {
    throw new AdkArgumentError(`'${field}' must be an integer from 49152 through 65535 (KDNET uses dynamic ports)`);
  }
  return value;
}

/**
 * A KDNET key: four dot-separated words of letters and digits, as bcdedit prints them (`5.5.5.5`). The value is
 * never included in the error message.
 *
 * @param field - the input's name, for the error message
 * @param value - the key
 * @returns the key
 * @throws AdkArgumentError for anything else
 */
export function kdnetKey(field: string, value: string): string {
  if (typeof value !== "string" || !/^[0-9A-Za-z]+(\.[0-9A-Za-z]+){3}$/.test(value)) {
    throw new AdkArgumentError(
      `'${field}' must be four dot-separated words of letters and digits, e.g. 1.2.3.4 (value not shown: it is a secret)`,
    );
  }
  return value;
}

/**
 * @param field - the input's name, for the error message
 * @param value - a dotted IPv4 address
 * @returns the address
 * @throws AdkArgumentError for anything else
 */
export function ipv4(field: string, value: string): string {
  const octet = "(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
  if (typeof value !== "string" || !new RegExp(`^${octet}(\\.${octet}){3}$`).test(value)) {
    throw new AdkArgumentError(`'${field}' must be an IPv4 address like 192.168.0.10`);
  }
  return value;
}

/**
 * A BCD object identifier: a well-known name in braces (`{default}`, `{bootmgr}`, `{dbgsettings}`) or a GUID in
 * braces.
 *
 * @param field - the input's name, for the error message
 * @param value - the identifier
 * @returns the identifier
 * @throws AdkArgumentError for anything else
 */
export function bcdObjectId(field: string, value: string): string {
  if (
    typeof value !== "string" ||
    !/^\{(?:[a-z]+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\}$/i.test(value)
  ) {
    throw new AdkArgumentError(
      `'${field}' must be a BCD identifier like {default} or {7619dcc9-fafe-11d9-b411-000476eba25f}`,
    );
  }
  return value;
}

/**
 * A Hyper-V VM name as the stack config allows it: 1-64 letters, digits, `.`, `_` or `-`.
 *
 * @param field - the input's name, for the error message
 * @param value - the name
 * @returns the name
 * @throws AdkArgumentError for anything else
 */
export function vmName(field: string, value: string): string {
  if (typeof value !== "string" || !/^[A-Za-z0-9_.-]{1,64}$/.test(value)) {
    throw new AdkArgumentError(`'${field}' must be 1-64 letters, digits, '.', '_' or '-'`);
  }
  return value;
}
