/**
 * The winpe-lab program: reads the stack config (validated by one zod schema, errors name the config key), checks
 * every input, and composes WorkspaceClaim -> TestCertificate -> DriverBuild -> BcdSettings -> MountedImage ->
 * InjectedFiles -> ImageCommit -> WinPeIso -> VmBootMedia (resources/program.ts).
 */
import * as path from "node:path";
import { winpeProgram } from "./resources/program";

// the project folder (this file runs as dist/index.js): relative config paths are resolved against it
export = () => winpeProgram(path.basename(__dirname) === "dist" ? path.dirname(__dirname) : __dirname);
