/**
 * `WorkspaceClaim`: a WinPE working folder belongs to one stack from its first write. Created before every other
 * resource of the stack (they depend on it) and deleted after them: it records the owner in
 * `<workspace>/.winpe-lab/owner.json` (refusing, before anything is written, when another stack owns the folder),
 * and on delete removes the claim and our bookkeeping folder's own files (the digest cache), leaving `.winpe-lab`
 * only when something else is still in it. No tool runs.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { providerShell } from "./providers/shell";

export const WorkspaceClaimArgsSchema = z
  .object({
    /** The WinPE working folder. @example "/srv/WinPE_amd64" */
    workspace: z.string().min(1),
    /** Our bookkeeping folder in it. @example "/srv/WinPE_amd64/.winpe-lab" */
    stateDir: z.string().min(1),
    /** The stack that claims it. @example "winpe-lab/demo-x64" */
    holder: z.string().min(1),
  })
  .strict();

export type WorkspaceClaimArgs = z.input<typeof WorkspaceClaimArgsSchema>;

type Inputs<T> = { [K in keyof T]: pulumi.Input<T[K]> };

export class WorkspaceClaim extends pulumi.dynamic.Resource {
  declare readonly holder: pulumi.Output<string>;

  constructor(name: string, args: Inputs<WorkspaceClaimArgs>, opts?: pulumi.CustomResourceOptions) {
    super(providerShell("workspace-claim"), name, { ...args }, opts, "winpe-lab", "WorkspaceClaim");
  }
}
