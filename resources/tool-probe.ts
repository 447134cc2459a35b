/**
 * `ToolProbe`: records the version line of an external tool (e.g. `xorriso -version`), and notices when the
 * tool changed on refresh. Small on purpose: it is the dynamic resource of the smoke program, and a handy way
 * to pin the toolchain a stack was built with.
 */
import { z } from "zod";
import { declare, resourceClass } from "./declare";

/** Arguments of {@link ToolProbe}, validated with zod. */
export const ToolProbeArgsSchema = z
  .object({
    /**
     * The tool to run (a name on PATH or an absolute path).
     * @example "xorriso"
     */
    tool: z.string().min(1, "'tool' must name a program"),
    /**
     * Arguments that make the tool print its version.
     * @default ["--version"]
     */
    args: z.array(z.string()).default(["--version"]),
  })
  .strict();

export type ToolProbeArgs = z.input<typeof ToolProbeArgsSchema>;

export const ToolProbeDecl = declare({
  type: "ToolProbe",
  provider: "tool-probe",
  version: 1,
  args: ToolProbeArgsSchema,
  outputs: {
    /** First non-empty line the tool printed. */
    version: z.string(),
  },
  updateOn: ["args"],
  replaceOn: ["tool"],
});

export class ToolProbe extends resourceClass(ToolProbeDecl) {}
