/**
 * One project reader for both toolchains (formats/project.ts, stack/project.ts): the adk toolchain's revisions come
 * from the same sources and headers as the open toolchain's, so on Windows too an edit of a driver source changes
 * the driver's revision (and preview names DriverBuild, and the one injected file) and nothing else. Before, the
 * adk revision was computed from the project file alone: an edit of sioctl.c changed nothing and `up` shipped the
 * old driver.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projectOutputs } from "../../stack/project";
import { REPO_ROOT } from "../helpers/pulumi";

describe.each(["adk", "open"] as const)("%s toolchain: revisions follow the sources", (toolchain) => {
  let dir: string;
  let sln: string;
  const revisions = () => projectOutputs(toolchain, sln, "Debug", "x64", { toolchain }).revisions;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "winpe-revisions-"));
    fs.cpSync(path.join(REPO_ROOT, "examples", "ioctl"), dir, { recursive: true });
    sln = path.join(dir, "ioctl.sln");
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("names the outputs of the solution", () => {
    const o = projectOutputs(toolchain, sln, "Debug", "x64", {});
    expect(o.outputs.map((x) => `${x.outputPath} ${x.kind}`).sort()).toEqual([
      "ioctlapp.exe application",
      "sioctl.sys driver",
    ]);
  });

  it("an edit of the driver's source changes the driver's revision only", () => {
    const before = revisions();
    const src = path.join(dir, "sys", "sioctl.c");
    fs.appendFileSync(src, "\n/* an edit */\n");
    const after = revisions();
    expect(after["sioctl.sys"]).not.toBe(before["sioctl.sys"]);
    expect(after["ioctlapp.exe"]).toBe(before["ioctlapp.exe"]);
  });

  it("an edit of a header both projects include changes both", () => {
    const before = revisions();
    fs.appendFileSync(path.join(dir, "inc", "public.h"), "\n/* an edit */\n");
    const after = revisions();
    expect(after["sioctl.sys"]).not.toBe(before["sioctl.sys"]);
    expect(after["ioctlapp.exe"]).not.toBe(before["ioctlapp.exe"]);
  });
});
