/**
 * A resource is declared once: its args (zod), the outputs its provider adds (zod), the version of that state and
 * the migrations from older versions, which inputs update it and which replace it, and which outputs are secret.
 * The class (its outputs typed, the provider shell, the secret outputs), `check`, the standard part of `diff`, and
 * reading a state back (migrated and validated) all derive from the declaration, here and in
 * `resources/providers/kit.ts`.
 *
 * ```ts
 * export const WinPeIsoDecl = declare({
 *   type: "WinPeIso", provider: "winpe-iso", version: 1,
 *   args: WinPeIsoArgsSchema, outputs: { size: z.number(), sha256: z.string(), state: z.string() },
 *   updateOn: ["toolchain", "arch", "workspace", "noPrompt", "contentHashes"], replaceOn: ["isoPath"],
 * });
 * export class WinPeIso extends resourceClass(WinPeIsoDecl) {}
 * ```
 */
import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import { providerShell } from "./providers/shell";

/** The state key that records which version of a declaration wrote a state. */
export const STATE_VERSION_KEY = "stateVersion";

export interface Declaration<A extends z.ZodType = z.ZodType, O extends z.ZodRawShape = z.ZodRawShape> {
  /** The Pulumi type name, `winpe-lab:<type>`. */
  type: string;
  /** The provider implementation: `resources/providers/<provider>.ts`. */
  provider: string;
  /** The inputs. */
  args: A;
  /** What the provider adds to the inputs (the outputs). */
  outputs: O;
  /**
   * The version of the state this declaration writes (recorded as `stateVersion`). A state of an older version
   * is brought forward by `migrations`; a state without the key is version 0.
   */
  version: number;
  /** `migrations[v]` turns a version-`v` state into a version `v+1` state. */
  migrations?: Readonly<Record<number, (state: Record<string, unknown>) => Record<string, unknown>>>;
  /** Inputs whose change is an update. */
  updateOn: readonly string[];
  /** Inputs whose change replaces the resource. @default none */
  replaceOn?: readonly string[];
  /** Delete the old resource before creating its replacement. @default false */
  deleteBeforeReplace?: boolean;
  /** Outputs (and inputs echoed as outputs) that are secret. @default none */
  secrets?: readonly string[];
}

/** Declare a resource (a typed identity function: the declaration's types flow into the class and the provider). */
export function declare<A extends z.ZodType, O extends z.ZodRawShape>(d: Declaration<A, O>): Declaration<A, O> {
  return d;
}

/** The keys of a declaration's state that are not inputs: its outputs and the state version. */
export function outputKeys(d: Declaration): string[] {
  return [...Object.keys(d.outputs), STATE_VERSION_KEY];
}

type Inputs<T> = { [K in keyof T]: pulumi.Input<T[K]> };
type OutputsOf<D> =
  D extends Declaration<infer A, infer O>
    ? {
        readonly [K in keyof (z.output<A> & z.output<z.ZodObject<O>>)]-?: pulumi.Output<
          (z.output<A> & z.output<z.ZodObject<O>>)[K]
        >;
      }
    : never;
export type ArgsOf<D> = D extends Declaration<infer A, z.ZodRawShape> ? Inputs<z.input<A>> : never;

/** The dynamic-resource class of a declaration: `new X(name, args, opts)` with every input and output typed. */
export function resourceClass<D extends Declaration>(
  d: D,
): new (
  name: string,
  args: ArgsOf<D>,
  opts?: pulumi.CustomResourceOptions,
) => pulumi.dynamic.Resource & OutputsOf<D> {
  class DeclaredResource extends pulumi.dynamic.Resource {
    constructor(name: string, args: object, opts?: pulumi.CustomResourceOptions) {
      const outs: Record<string, undefined> = {};
      for (const k of outputKeys(d)) outs[k] = undefined;
      const secrets = [...(d.secrets ?? []), ...(opts?.additionalSecretOutputs ?? [])];
      super(
        providerShell(d.provider),
        name,
        { ...outs, ...args },
        secrets.length > 0 ? { ...opts, additionalSecretOutputs: secrets } : opts,
        "winpe-lab",
        d.type,
      );
    }
  }
  return DeclaredResource as never;
}
