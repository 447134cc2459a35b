/**
 * Each resource is declared once (resources/declare.ts): these checks keep the declarations honest (every input a
 * declaration names exists in its args schema, outputs and inputs do not overlap, secrets are real keys), and the
 * derived state reading (providers/kit.ts) migrates, validates and refuses as it says.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { BcdSettingsDecl } from "../../resources/bcd-settings";
import { type Declaration, declare, STATE_VERSION_KEY } from "../../resources/declare";
import { DriverBuildDecl } from "../../resources/driver-build";
import { DriverTestDecl } from "../../resources/driver-test";
import { DriverVerifierDecl } from "../../resources/driver-verifier";
import { ImageCommitDecl } from "../../resources/image-commit";
import { InjectedFilesDecl } from "../../resources/injected-files";
import { MountedImageDecl } from "../../resources/mounted-image";
import { diffArgs, migratedState, StateError, stateOf } from "../../resources/providers/kit";
import { TestCertificateDecl } from "../../resources/test-certificate";
import { ToolProbeDecl } from "../../resources/tool-probe";
import { VmBootMediaDecl } from "../../resources/vm-boot-media";
import { WinPeIsoDecl } from "../../resources/winpe-iso";
import { WorkspaceClaimDecl } from "../../resources/workspace-claim";

const DECLS: Declaration[] = [
  BcdSettingsDecl,
  DriverBuildDecl,
  DriverTestDecl,
  DriverVerifierDecl,
  ImageCommitDecl,
  InjectedFilesDecl,
  MountedImageDecl,
  TestCertificateDecl,
  ToolProbeDecl,
  VmBootMediaDecl,
  WinPeIsoDecl,
  WorkspaceClaimDecl,
];

/** The keys of an object schema, through refinements. */
function argKeys(schema: z.ZodType): string[] {
  const shape = (schema as unknown as { shape?: Record<string, unknown> }).shape;
  if (!shape) throw new Error("args is not an object schema");
  return Object.keys(shape);
}

describe("resource declarations", () => {
  it.each(DECLS.map((d) => [d.type, d] as const))("%s: inputs, outputs and secrets are consistent", (_n, d) => {
    const args = argKeys(d.args);
    for (const k of [...d.updateOn, ...(d.replaceOn ?? [])]) expect(args, `${d.type}.${k}`).toContain(k);
    const outs = Object.keys(d.outputs);
    for (const k of outs) expect(args, `${d.type}: output ${k} is also an input`).not.toContain(k);
    for (const k of d.secrets ?? []) expect([...args, ...outs], `${d.type}: secret ${k}`).toContain(k);
    expect(d.version).toBeGreaterThanOrEqual(1);
  });

  it("every provider type is declared once", () => {
    expect(new Set(DECLS.map((d) => d.type)).size).toBe(DECLS.length);
    expect(new Set(DECLS.map((d) => d.provider)).size).toBe(DECLS.length);
  });
});

describe("state reading (providers/kit.ts)", () => {
  const D = declare({
    type: "Thing",
    provider: "thing",
    version: 2,
    args: z.object({ path: z.string() }).strict(),
    outputs: { size: z.number(), digest: z.string() },
    // version 0 had `sha` where version 1 has `digest`; version 1 -> 2 adds nothing
    migrations: { 0: ({ sha, ...rest }) => ({ ...rest, digest: sha }) },
    updateOn: [],
    replaceOn: ["path"],
  });

  it("migrates an old state, validates it and stamps the version", () => {
    const s = stateOf(D, { path: "/x", size: 3, sha: "abc" });
    expect(s).toEqual({ path: "/x", size: 3, digest: "abc", [STATE_VERSION_KEY]: 2 });
  });

  it("refuses a state of a newer winpe-lab, saying what to do", () => {
    expect(() => stateOf(D, { path: "/x", size: 3, digest: "a", stateVersion: 3 })).toThrow(
      /written by a newer winpe-lab \(state version 3, this one reads up to 2\): update winpe-lab/,
    );
  });

  it("refuses a state that does not have the declared shape, naming the field", () => {
    expect(() => stateOf(D, { path: "/x", size: "big", digest: "a", stateVersion: 2 })).toThrow(StateError);
    expect(() => stateOf(D, { path: "/x", size: "big", digest: "a", stateVersion: 2 })).toThrow(/'size'/);
  });

  it("diff: declared inputs replace; an older state version alone is no change", () => {
    const olds = { path: "/x", size: 3, sha: "abc" };
    expect(diffArgs(D, olds, { path: "/x" })).toMatchObject({ changes: false, replaces: [] });
    expect(diffArgs(D, olds, { path: "/y" })).toMatchObject({ changes: true, replaces: ["path"] });
  });
});

describe("VmBootMedia state versions 2 (debug transport, accel) and 3 (isoDigest)", () => {
  const v1 = {
    toolchain: "open",
    arch: "amd64",
    name: "vm",
    isoPath: "/w/x.iso",
    isoSha256: "s",
    vmDir: "/w/vm",
    memoryMb: 1024,
    createVm: true,
    bootCheck: false,
    bootTimeoutSec: 120,
    startCommand: "qemu-system-x86_64 ...",
    startArgv: ["qemu-system-x86_64"],
    bootCheckLine: "",
    state: "attached",
    createdVm: false,
    stateVersion: 1,
  };
  const news = VmBootMediaDecl.args.parse({
    toolchain: "open",
    arch: "amd64",
    name: "vm",
    isoPath: "/w/x.iso",
    isoDigest: "s",
    vmDir: "/w/vm",
  }) as Record<string, unknown>;

  it("a version-1 state reads as tcg without a debug transport, its isoSha256 as isoDigest, and is no change for the same VM", () => {
    expect(stateOf(VmBootMediaDecl, v1)).toMatchObject({ accel: "tcg", isoDigest: "s", stateVersion: 3 });
    expect(stateOf(VmBootMediaDecl, v1)).not.toHaveProperty("isoSha256");
    expect(stateOf(VmBootMediaDecl, v1).debug).toBeUndefined();
    expect(diffArgs(VmBootMediaDecl, v1, news).changes).toBe(false);
  });

  it("a transport added to it is an update, not a replacement", () => {
    const d = diffArgs(VmBootMediaDecl, v1, { ...news, debug: { transport: "serial" } });
    expect(d).toMatchObject({ changes: true, replaces: [] });
  });
});

describe("DriverBuild state version 2 (incremental builds)", () => {
  const v1 = {
    toolchain: "open",
    project: "/p/ioctl.sln",
    configuration: "Debug",
    platform: "x64",
    outDir: "/p/out",
    signing: null,
    revisions: {},
    files: {
      "sioctl.sys": {
        path: "/p/out/sioctl.sys",
        size: 10,
        sha256: "a".repeat(64),
        machine: "x64",
        subsystem: "native",
        kind: "driver",
        signed: true,
        project: "sys/sioctl.vcxproj",
      },
    },
    symbols: {},
    outDirCreated: true,
    inputsHash: "h",
    inputs: [],
    toolchainVersion: "clang",
    drift: [],
    stateVersion: 1,
  };

  it("a version-1 state gets an unknown link key per file (the next build links it once), and is no change", () => {
    const s = stateOf(DriverBuildDecl, v1);
    expect(s.stateVersion).toBe(2);
    expect(s.files["sioctl.sys"]).toMatchObject({ linkKey: "", sha256: "a".repeat(64) });
    expect(diffArgs(DriverBuildDecl, v1, { ...v1, files: undefined }).changes).toBe(false);
  });

  it("a version-2 state without a link key is refused, naming the field", () => {
    expect(() => stateOf(DriverBuildDecl, { ...v1, stateVersion: 2 })).toThrow(/linkKey/);
  });
});

describe("WinPeIso state version 2 (tree digest)", () => {
  const v1 = {
    toolchain: "open",
    arch: "amd64",
    workspace: "/w",
    isoPath: "/w/x.iso",
    noPrompt: true,
    contentHashes: { "sources/boot.wim": "a" },
    size: 10,
    sha256: "e".repeat(64),
    state: "present",
    stateVersion: 1,
  };
  it("a version-1 state keeps its sha256 as a plain digest, and is no change for the same inputs", () => {
    const s = stateOf(WinPeIsoDecl, v1);
    expect(s).toMatchObject({ digest: "e".repeat(64), stateVersion: 2 });
    expect(s).not.toHaveProperty("sha256");
    const news = WinPeIsoDecl.args.parse({
      toolchain: "open",
      arch: "amd64",
      workspace: "/w",
      isoPath: "/w/x.iso",
      contentHashes: { "sources/boot.wim": "a" },
    }) as Record<string, unknown>;
    expect(diffArgs(WinPeIsoDecl, v1, news).changes).toBe(false);
  });
});

describe("ImageCommit and DriverVerifier state version 2 (the WIM's tree digest)", () => {
  it("a version-1 state keeps its wimSha256 as a plain wimDigest", () => {
    const s = migratedState(ImageCommitDecl, { wimSha256: "a".repeat(64), wimSize: 3, stateVersion: 1 });
    expect(s).toMatchObject({ wimDigest: "a".repeat(64), wimSize: 3 });
    expect(s).not.toHaveProperty("wimSha256");
    const v = migratedState(DriverVerifierDecl, { wimSha256: "b".repeat(64), wimSize: 4, stateVersion: 1 });
    expect(v).toMatchObject({ wimDigest: "b".repeat(64), wimSize: 4 });
    expect(v).not.toHaveProperty("wimSha256");
  });
});
