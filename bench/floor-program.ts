/**
 * The engine floor (bench only): the winpe-lab program's resource graph with every provider short-circuited.
 *
 * It registers the same dynamic resources as resources/program.ts (the working folder's claim, when the recorded
 * stack has one, and the eight steps) (same type names, same dependencies,
 * same input values: the real stack's recorded inputs from `WINPE_FLOOR_SHAPES`, secrets as secrets), through the
 * product's own `providerShell`; the program folder's own node_modules/winpe-lab (bench/floor.ts) makes the shells
 * load bench/floor-provider.js, whose methods return at once. It does no program-time work of its own (no project
 * parsing, no source or media hashing). Config: `floor:rev` (a driver source "edit": changes the driver's
 * revision) and `floor:testsigning` (`on`/`off`), so the same resources update as in the real scenarios.
 */
import * as fs from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { providerShell } from "../resources/providers/shell";

/** What the harness recorded from the real stack, per resource type (see bench/floor.ts). */
export interface FloorShape {
  impl: string;
  name: string;
  inputs: Record<string, unknown>;
  extraOutputs: Record<string, unknown>;
  secretOutputs: string[];
}

const shapes = JSON.parse(fs.readFileSync(process.env.WINPE_FLOOR_SHAPES ?? "", "utf8")) as Record<string, FloorShape>;
const cfg = new pulumi.Config("floor");
const rev = cfg.get("rev") ?? "0";
const testsigning = cfg.get("testsigning") ?? "on";

/** Recorded values: `{__secret: v}` becomes a Pulumi secret again. */
function revive(v: unknown): unknown {
  if (v && typeof v === "object" && "__secret" in (v as Record<string, unknown>)) {
    return pulumi.secret((v as { __secret: unknown }).__secret);
  }
  return v;
}

function inputsOf(kind: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(shapes[kind].inputs)) out[k] = revive(v);
  return out;
}

/** Same fold as bench/floor-provider.js: a stand-in digest of a string. */
function fake(s: string): string {
  let out = "";
  for (let seed = 0; seed < 8; seed++) {
    let h = (0x811c9dc5 ^ seed) >>> 0;
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    out += h.toString(16).padStart(8, "0");
  }
  return out;
}

// biome-ignore lint/suspicious/noExplicitAny: the recorded shapes are untyped JSON
type Outs = Record<string, pulumi.Output<any>>;

class Floor extends pulumi.dynamic.Resource {
  constructor(kind: string, props: Record<string, unknown>, opts?: pulumi.CustomResourceOptions) {
    const s = shapes[kind];
    const outs: Record<string, undefined> = {};
    for (const k of Object.keys(s.extraOutputs)) outs[k] = undefined;
    super(
      providerShell(s.impl),
      s.name,
      { ...outs, ...props },
      { ...opts, additionalSecretOutputs: s.secretOutputs },
      "winpe-lab",
      kind,
    );
  }
  get o(): Outs {
    return this as unknown as Outs;
  }
}

// the working folder's claim first, every other resource depending on it (as resources/program.ts does)
const claim = shapes.WorkspaceClaim ? new Floor("WorkspaceClaim", inputsOf("WorkspaceClaim")) : undefined;
const opts: pulumi.CustomResourceOptions = claim ? { dependsOn: [claim] } : {};

const cert = new Floor("TestCertificate", inputsOf("TestCertificate"), opts).o;
const signing = pulumi
  .all([cert.certPem, cert.keyPem, cert.thumbprint])
  .apply(([certPem, keyPem, thumbprint]) => ({ certPem, keyPem, thumbprint }));

const revisions = { ...(shapes.DriverBuild.inputs.revisions as Record<string, string>) };
const driverName = Object.keys(revisions).find((n) => n.toLowerCase().endsWith(".sys"));
if (driverName && rev !== "0") revisions[driverName] = fake(`${revisions[driverName]}:${rev}`);
const buildRes = new Floor("DriverBuild", { ...inputsOf("DriverBuild"), signing, revisions }, opts);

const bcdIn = inputsOf("BcdSettings");
const bcd = new Floor(
  "BcdSettings",
  {
    ...bcdIn,
    flags: { ...(bcdIn.flags as Record<string, string>), testsigning },
  },
  opts,
).o;

const image = new Floor("MountedImage", inputsOf("MountedImage"), opts).o;
const ref = pulumi
  .all([image.toolchain, image.wim, image.index, image.mountDir, image.privateDir, image.holder])
  .apply(([toolchain, wim, index, mountDir, privateDir, holder]) => ({
    toolchain,
    wim,
    index,
    mountDir,
    privateDir,
    holder,
  }));

const recordedFiles = shapes.InjectedFiles.inputs.files as Record<string, { source: string }>;
const files: Record<string, { source: string; revision: pulumi.Output<string> }> = {};
for (const [dest, f] of Object.entries(recordedFiles)) {
  const name = dest.split("/").pop() ?? dest;
  files[dest] = {
    source: f.source,
    revision: cert.thumbprint.apply((t: string) => fake(`${revisions[name]}:${name === driverName ? t : ""}`)),
  };
}
const inject = new Floor(
  "InjectedFiles",
  { mount: ref, files: pulumi.output(files) },
  { dependsOn: [...(claim ? [claim] : []), buildRes] },
).o;
const commit = new Floor("ImageCommit", { mount: ref, files: inject.staged, contentHash: inject.contentHash }, opts).o;

const recordedHashes = shapes.WinPeIso.inputs.contentHashes as Record<string, string>;
const stores = bcdIn.stores as string[];
const contentHashes = pulumi.all([commit.wimDigest, bcd.storeHashes]).apply(([wim, storeHashes]) => {
  const h: Record<string, string> = { ...recordedHashes, "sources/boot.wim": wim };
  for (const rel of Object.keys(recordedHashes)) {
    const store = stores.find((s) => s.endsWith(`/${rel}`));
    if (store) h[rel] = (storeHashes as Record<string, string>)[store];
  }
  return h;
});
const iso = new Floor("WinPeIso", { ...inputsOf("WinPeIso"), contentHashes }, opts).o;
const vm = new Floor("VmBootMedia", { ...inputsOf("VmBootMedia"), isoPath: iso.isoPath, isoDigest: iso.digest }, opts)
  .o;

export const isoPath = iso.isoPath;
export const isoDigest = iso.digest;
export const isoSize = iso.size;
export const builtFiles = (buildRes.o.files as pulumi.Output<Record<string, Record<string, unknown>>>).apply((f) => {
  const out: Record<string, unknown> = {};
  for (const [n, v] of Object.entries(f ?? {}))
    out[n] = { path: v.path, sha256: v.sha256, machine: v.machine, signed: v.signed };
  return out;
});
export const injectedFiles = (commit.committed as pulumi.Output<Record<string, Record<string, unknown>>>).apply((c) => {
  const out: Record<string, unknown> = {};
  for (const [d, v] of Object.entries(c ?? {})) out[d] = { sha256: v.sha256, size: v.size };
  return out;
});
export const bcdSettings = bcd.effective;
export const vmStartCommand = vm.startCommand;
export const bootCheck = vm.bootCheckLine;
export const debuggerCommand = pulumi.secret("windbg -k net:port=50005,key=[floor]");
