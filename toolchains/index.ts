/** Picks the implementation of a toolchain interface. Resources ask here; they never name tools. */
import { openImageBackend } from "./open/image";
import type { ImageBackend, Toolchain } from "./types";

export function imageBackend(toolchain: Toolchain): ImageBackend {
  if (toolchain === "open") return openImageBackend;
  // loaded lazily: the adk backend's commands run on Windows only
  return (require("./adk/image") as { adkImageBackend: ImageBackend }).adkImageBackend;
}
