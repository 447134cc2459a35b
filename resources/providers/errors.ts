/** Mapping zod issues to Pulumi check failures that name the property. */
import type { CheckFailure } from "@pulumi/pulumi/dynamic";
import type { z } from "zod";
import { WinpeError } from "../../runtime/errors";

/** `a.b[2].c` style property path of a zod issue. */
export function issuePath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

/** One check failure per zod issue, each naming its property (or the resource when the issue has no path). */
export function zodFailures(error: z.ZodError): CheckFailure[] {
  return error.issues.map((i) => {
    const property = issuePath(i.path);
    return { property, reason: property ? `'${property}': ${i.message}` : i.message };
  });
}

/** A one-line message for a zod error (for CLIs and thrown errors). */
export function zodMessage(error: z.ZodError, prefix = ""): string {
  return error.issues
    .map((i) => {
      const p = issuePath(i.path);
      const name = prefix ? (p ? `${prefix}.${p}` : prefix) : p;
      return name ? `'${name}' ${i.message.replace(/^'[^']*'\s*/, "")}` : i.message;
    })
    .join("; ");
}

/** Error for bad input found in create/update (after check): names the property. */
export class InputError extends WinpeError {
  constructor(message: string) {
    super(message);
    this.name = "InputError";
  }
}

/** Parse provider inputs with `schema`, or throw an {@link InputError} naming each property. */
export function parseInputs<S extends z.ZodType>(
  schema: S,
  inputs: Record<string, unknown>,
  resourceType: string,
): z.output<S> {
  const { __provider: _p, ...rest } = inputs;
  const r = schema.safeParse(rest);
  if (r.success) return r.data;
  throw new InputError(`${resourceType}: ${zodMessage(r.error)}`);
}

/** The value Pulumi passes for an input that is not known yet (during preview). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** The value at `path` in `root`. */
function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = root;
  for (const k of path) {
    if (cur === UNKNOWN) return UNKNOWN;
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[k as string];
  }
  return cur;
}

/** Whether `path` in `root` is (or lies under) a value not known yet. */
function isUnknownAt(root: unknown, path: readonly PropertyKey[]): boolean {
  for (let i = 0; i <= path.length; i++) if (valueAt(root, path.slice(0, i)) === UNKNOWN) return true;
  return false;
}

/** Whether any value in `v` is not known yet. */
export function containsUnknown(v: unknown): boolean {
  if (v === UNKNOWN) return true;
  if (Array.isArray(v)) return v.some(containsUnknown);
  if (v && typeof v === "object") return Object.values(v as Record<string, unknown>).some(containsUnknown);
  return false;
}

/**
 * A `check` implementation: validates `news` with `schema`, failures name the property. Values not known yet
 * (preview) are not judged; the inputs then pass through as given and are checked again when known.
 */
export function checkWith<S extends z.ZodType>(
  schema: S,
  news: Record<string, unknown>,
  strip: readonly string[] = [],
): { inputs?: Record<string, unknown>; failures?: CheckFailure[] } {
  const copy: Record<string, unknown> = { ...news };
  delete copy.__provider; // the serialized provider; the dynamic-provider host puts it back
  for (const k of strip) delete copy[k];
  const r = schema.safeParse(copy);
  if (!containsUnknown(copy)) {
    if (!r.success) return { failures: zodFailures(r.error) };
    return { inputs: r.data as Record<string, unknown> };
  }
  if (r.success) return { inputs: r.data as Record<string, unknown> };
  const real = r.error.issues.filter((i) => !isUnknownAt(copy, i.path) && i.code !== "custom");
  if (real.length > 0) return { failures: zodFailures({ ...r.error, issues: real } as z.ZodError) };
  return { inputs: news };
}
