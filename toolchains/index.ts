/**
 * Picks the implementation of each step's interface (toolchains/types.ts) for a toolchain: the one place that
 * knows which module does what. Providers ask here; they never name a toolchain's modules. A backend's module is
 * loaded on first use (dynamic import: a provider process loads only what its step needs, and an adk backend's
 * commands run on Windows only).
 */
import { adkDebugEndpoint } from "./adk/hyperv";
import { openDebugEndpoint } from "./open/qemu";
import type {
  BcdWriter,
  BuildBackend,
  CertBackend,
  DebugEndpoint,
  ImageBackend,
  IsoBackend,
  TestBackend,
  Toolchain,
  VmBackend,
  VmSpec,
} from "./types";

export async function imageBackend(toolchain: Toolchain): Promise<ImageBackend> {
  return toolchain === "open"
    ? (await import("./open/image")).openImageBackend
    : (await import("./adk/image")).adkImageBackend;
}

export async function certBackend(toolchain: Toolchain): Promise<CertBackend> {
  return toolchain === "open"
    ? (await import("./open/cert")).openCertBackend
    : (await import("./adk/cert")).adkCertBackend;
}

export async function isoBackend(toolchain: Toolchain): Promise<IsoBackend> {
  return toolchain === "open" ? (await import("./open/iso")).openIsoBackend : (await import("./adk/iso")).adkIsoBackend;
}

export async function buildBackend(toolchain: Toolchain): Promise<BuildBackend> {
  return toolchain === "open"
    ? (await import("./open/builder")).openBuildBackend
    : (await import("./adk/builder")).adkBuildBackend;
}

/** The VM that boots the ISO: QEMU (open) or Hyper-V (adk). */
export async function vmBackend(toolchain: Toolchain): Promise<VmBackend> {
  return toolchain === "open" ? (await import("./open/vm")).openVmBackend : (await import("./adk/vm")).adkVmBackend;
}

/** Where the host's debugger connects to a stack's VM (pure: the program computes it while composing the stack). */
export function debugEndpoint(
  toolchain: Toolchain,
  spec: Pick<VmSpec, "name" | "vmDir" | "debug">,
): DebugEndpoint | undefined {
  return toolchain === "open" ? openDebugEndpoint(spec) : adkDebugEndpoint(spec);
}

/** Who writes BCD stores: our module (any host, the default) or bcdedit (adk only). */
export async function bcdWriter(writer: "module" | "bcdedit"): Promise<BcdWriter> {
  return writer === "module"
    ? (await import("./bcd/module-writer")).moduleBcdWriter
    : (await import("./adk/bcdedit-writer")).bcdeditWriter;
}

/** The driver test's runner: open = Wine (x64 images), adk = not run on the host (the VM runs the test). */
export async function testBackend(toolchain: Toolchain): Promise<TestBackend> {
  return toolchain === "open"
    ? (await import("./open/driver-test")).openTestBackend
    : (await import("./adk/driver-test")).adkTestBackend;
}
