/**
 * Destinations inside a Windows image (e.g. `Windows/Ioctl/sioctl.sys`): validated so that nothing can escape
 * the image or collide on a case-insensitive file system. No Pulumi here.
 */
import { WinpeError } from "../runtime/errors";

const DEVICE_NAMES = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)(\..*)?$/i;
const INVALID_CHARS = /[<>:"|?*\u0000-\u001f]/;

export class ImagePathError extends WinpeError {
  constructor(message: string) {
    super(message);
    this.name = "ImagePathError";
  }
}

/**
 * Normalize a destination to `A/B/c.sys` form (forward slashes, no leading/trailing slash) or throw an
 * {@link ImagePathError} saying what is wrong. `label` names the argument in messages.
 */
export function normalizeImagePath(dest: string, label = "destination"): string {
  if (typeof dest !== "string" || dest.length === 0) throw new ImagePathError(`'${label}' must be a non-empty path`);
  if (dest.includes("\0")) throw new ImagePathError(`'${label}' must not contain a NUL character`);
  if (/^[\\/]{2}/.test(dest)) {
    throw new ImagePathError(
      `'${label}' (${JSON.stringify(dest)}) is a UNC or device path (\\\\?\\, \\\\.\\): use a path relative to the image root`,
    );
  }
  if (/^[A-Za-z]:/.test(dest)) {
    throw new ImagePathError(
      `'${label}' (${JSON.stringify(dest)}) has a drive letter: use a path relative to the image root, e.g. Windows/Ioctl/x.sys`,
    );
  }
  if (/^[\\/]/.test(dest)) {
    throw new ImagePathError(
      `'${label}' (${JSON.stringify(dest)}) is absolute: use a path relative to the image root, e.g. Windows/Ioctl/x.sys`,
    );
  }
  const parts = dest.split(/[\\/]+/).filter((p) => p.length > 0);
  if (parts.length === 0) throw new ImagePathError(`'${label}' must name a file inside the image`);
  for (const p of parts) {
    if (p === "." || p === "..") {
      throw new ImagePathError(
        `'${label}' (${JSON.stringify(dest)}) contains '${p}': destinations must stay inside the image`,
      );
    }
    if (INVALID_CHARS.test(p)) {
      throw new ImagePathError(
        `'${label}' (${JSON.stringify(dest)}) contains a character Windows does not allow in names (<>:"|?* or a control character)`,
      );
    }
    if (DEVICE_NAMES.test(p)) {
      throw new ImagePathError(`'${label}' (${JSON.stringify(dest)}) uses the reserved device name '${p}'`);
    }
    if (/[. ]$/.test(p)) {
      throw new ImagePathError(
        `'${label}' (${JSON.stringify(dest)}): the name '${p}' ends in a dot or space, which Windows strips`,
      );
    }
    if (p.length > 255)
      throw new ImagePathError(`'${label}': the name '${p.slice(0, 20)}...' is longer than 255 characters`);
  }
  return parts.join("/");
}

/**
 * Validate a set of destinations: each normalized, and no two equal ignoring case (Windows file systems are
 * case-insensitive), and no file used as a folder of another. Returns the normalized paths in input order.
 */
export function validateImagePaths(dests: readonly string[], label = "files"): string[] {
  const seen = new Map<string, string>();
  const out: string[] = [];
  for (const d of dests) {
    const n = normalizeImagePath(d, `${label}[${JSON.stringify(d)}]`);
    const k = n.toLowerCase();
    const prev = seen.get(k);
    if (prev !== undefined) {
      throw new ImagePathError(
        `'${label}': ${JSON.stringify(prev)} and ${JSON.stringify(d)} differ only in case; Windows treats them as one file`,
      );
    }
    seen.set(k, d);
    out.push(n);
  }
  const lower = new Set(out.map((p) => p.toLowerCase()));
  for (const p of out) {
    const segs = p.toLowerCase().split("/");
    for (let i = 1; i < segs.length; i++) {
      const dir = segs.slice(0, i).join("/");
      if (lower.has(dir))
        throw new ImagePathError(
          `'${label}': ${JSON.stringify(dir)} is a file and also a folder of ${JSON.stringify(p)}`,
        );
    }
  }
  return out;
}
