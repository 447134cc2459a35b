/**
 * `WorkspaceClaim`: a WinPE working folder belongs to one stack from its first write. Created before every other
 * resource of the stack (they depend on it) and deleted after them: it records the owner in
 * `<workspace>/.winpe-lab/owner.json` (refusing, before anything is written, when another stack owns the folder),
 * and on delete removes the claim and our bookkeeping folder's own files (the digest cache), leaving `.winpe-lab`
 * only when something else is still in it. No tool runs.
 */
import { z } from "zod";
import { declare, resourceClass } from "./declare";

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

export const WorkspaceClaimDecl = declare({
  type: "WorkspaceClaim",
  provider: "workspace-claim",
  version: 1,
  args: WorkspaceClaimArgsSchema,
  outputs: {},
  updateOn: [],
  replaceOn: ["workspace", "stateDir", "holder"],
  deleteBeforeReplace: true,
});

export class WorkspaceClaim extends resourceClass(WorkspaceClaimDecl) {}
