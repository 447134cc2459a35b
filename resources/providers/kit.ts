/**
 * What every provider derives from its resource's declaration (resources/declare.ts): `check`, the standard part of
 * `diff`, the inputs out of a state, and a state read back (migrated to the current version and validated).
 */
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { z } from "zod";
import { stableStringify } from "../../runtime/digest";
import { type Declaration, outputKeys, STATE_VERSION_KEY } from "../declare";
import { installEngineLog } from "./engine-log";
import { checkWith, InputError, parseInputs, zodMessage } from "./errors";

// every provider imports this kit: in the dynamic-provider process, progress goes to `pulumi up`'s output
installEngineLog();

/** `check`: the args validated (unknown values of a preview are not judged), the outputs left out. */
export function checkArgs(d: Declaration, news: Record<string, unknown>): dynamic.CheckResult {
  return checkWith(d.args, news, outputKeys(d));
}

/** The inputs of a state or of new inputs (outputs dropped), parsed and validated: a bad one names its property. */
export function argsOf<A extends z.ZodType>(d: Declaration<A>, props: Record<string, unknown>): z.output<A> {
  const c = { ...props };
  for (const k of outputKeys(d)) delete c[k];
  return parseInputs(d.args, c, d.type) as z.output<A>;
}

/**
 * A state brought forward to the declaration's version by its migrations (not validated; a state of a newer
 * version is returned as it is: reading it refuses it).
 */
export function migratedState(d: Declaration, props: Record<string, unknown>): Record<string, unknown> {
  let state: Record<string, unknown> = { ...props };
  for (let v = stateVersionOf(state); v < d.version; v++) {
    const m = d.migrations?.[v];
    if (m) state = m(state);
  }
  return state;
}

/**
 * The inputs that differ between two states (the declaration's `updateOn` and `replaceOn`), and which replace. The
 * old state is migrated first: an input a newer version added with its default is no change.
 */
export function changedArgs(
  d: Declaration,
  oldState: Record<string, unknown>,
  news: Record<string, unknown>,
): { changed: string[]; replaces: string[] } {
  const olds = migratedState(d, oldState);
  const differs = (k: string) => stableStringify(olds[k] ?? null) !== stableStringify(news[k] ?? null);
  const changed = [...d.updateOn, ...(d.replaceOn ?? [])].filter(differs);
  const replaces = (d.replaceOn ?? []).filter(differs);
  return { changed, replaces };
}

/**
 * `diff`: the declared inputs, plus `extra` (drift, changed input files: what only the provider knows), as a
 * DiffResult with the declared replacements.
 */
export function diffArgs(
  d: Declaration,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
  extra = false,
): dynamic.DiffResult {
  const { changed, replaces } = changedArgs(d, olds, news);
  return {
    // a state of an older version is migrated when read: that alone is no change (no spurious update after an upgrade)
    changes: changed.length > 0 || extra,
    replaces,
    deleteBeforeReplace: d.deleteBeforeReplace ?? false,
  };
}

function stateVersionOf(props: Record<string, unknown>): number {
  const v = props[STATE_VERSION_KEY];
  return typeof v === "number" && Number.isInteger(v) ? v : 0;
}

/** Raised for a state that cannot be read: written by a newer winpe-lab, or not of this resource's shape. */
export class StateError extends InputError {
  constructor(message: string) {
    super(message);
    this.name = "StateError";
  }
}

/**
 * A state as the engine hands it back (`read`, `update`'s olds, `delete`), migrated to the declaration's version
 * and validated against args + outputs. Throws a {@link StateError} that says what to do when it cannot be read.
 */
export function stateOf<A extends z.ZodType, O extends z.ZodRawShape>(
  d: Declaration<A, O>,
  props: Record<string, unknown>,
): z.output<A> & z.output<z.ZodObject<O>> & { [STATE_VERSION_KEY]: number } {
  let state: Record<string, unknown> = { ...props };
  delete state.__provider;
  let v = stateVersionOf(state);
  if (v > d.version) {
    throw new StateError(
      `${d.type}: this state was written by a newer winpe-lab (state version ${v}, this one reads up to ` +
        `${d.version}): update winpe-lab (npm ci in the project) and run the command again`,
    );
  }
  for (; v < d.version; v++) {
    const m = d.migrations?.[v];
    if (m) state = m(state);
  }
  state[STATE_VERSION_KEY] = d.version;
  const schema = z.object({ ...d.outputs, [STATE_VERSION_KEY]: z.number().int() }).passthrough();
  const outs = schema.safeParse(state);
  if (!outs.success) {
    throw new StateError(
      `${d.type}: the recorded state cannot be read (${zodMessage(outs.error)}); ` +
        "`pulumi refresh` then `pulumi up` records it again, or `pulumi state delete <urn>` forgets it",
    );
  }
  return { ...(argsOf(d, state) as object), ...(outs.data as object), [STATE_VERSION_KEY]: d.version } as never;
}

/** The outputs of a create/update as the engine records them: the inputs, the outputs, the state version. */
export function stateFor<A extends z.ZodType, O extends z.ZodRawShape>(
  d: Declaration<A, O>,
  args: z.output<A>,
  outputs: z.output<z.ZodObject<O>>,
): Record<string, unknown> {
  return { ...(args as object), ...(outputs as object), [STATE_VERSION_KEY]: d.version };
}
