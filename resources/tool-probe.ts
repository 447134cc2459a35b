/**
 * `ToolProbe`: records the version line of an external tool (e.g. `xorriso -version`), and notices when the
 * tool changed on refresh. Small on purpose: it is the dynamic resource of the smoke program, and a handy way
 * to pin the toolchain a stack was built with.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { providerShell } from "./providers/shell";

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

export interface ToolProbeOutputs {
  tool: string;
  args: string[];
  /** First non-empty line the tool printed. */
  version: string;
}

type Inputs<T> = { [K in keyof T]: pulumi.Input<T[K]> };

export class ToolProbe extends pulumi.dynamic.Resource {
  declare readonly tool: pulumi.Output<string>;
  declare readonly version: pulumi.Output<string>;

  constructor(name: string, args: Inputs<ToolProbeArgs>, opts?: pulumi.CustomResourceOptions) {
    super(providerShell("tool-probe"), name, { version: undefined, ...args }, opts, "winpe-lab", "ToolProbe");
  }
}
