/** Picks the implementation of a toolchain interface. Resources ask here; they never name tools. */
import { openImageBackend } from "./open/image";
import { openVmBackend } from "./open/vm";
import type { ImageBackend, Toolchain, VmBackend } from "./types";

export function imageBackend(toolchain: Toolchain): ImageBackend {
  if (toolchain === "open") return openImageBackend;
  // loaded lazily: the adk backend's commands run on Windows only
  return (require("./adk/image") as { adkImageBackend: ImageBackend }).adkImageBackend;
}

/** The VM that boots the ISO: QEMU (open) or Hyper-V (adk). */
export function vmBackend(toolchain: Toolchain): VmBackend {
  if (toolchain === "open") return openVmBackend;
  return (require("./adk/vm") as { adkVmBackend: VmBackend }).adkVmBackend;
}
