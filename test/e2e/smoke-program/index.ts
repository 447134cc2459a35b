// The smoke program: one dynamic resource from resources/ and one @pulumi/command local.Command.
// The test copies this folder into a scratch folder and rewrites the import path below.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { ToolProbe } from "../../../resources/tool-probe";

const config = new pulumi.Config();
const greeting = config.get("greeting") ?? "hello";

const probe = new ToolProbe("xorriso", { tool: "xorriso", args: ["-version"] });
// No shell: the interpreter is printf itself, and the create "command" is its argument.
const echo = new command.local.Command("echo", {
  interpreter: ["printf", "%s"],
  create: greeting,
});

export const toolVersion = probe.version;
export const echoed = echo.stdout;
