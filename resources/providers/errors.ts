/** Mapping zod issues to Pulumi check failures that name the property. */
import type { CheckFailure } from "@pulumi/pulumi/dynamic";
import type { z } from "zod";

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
