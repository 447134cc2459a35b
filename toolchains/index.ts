/** Picks the implementation of a toolchain interface. Resources ask here; they never name tools. */
import { adkTestBackend } from "./adk/driver-test";
import { openTestBackend } from "./open/driver-test";
import { openImageBackend } from "./open/image";
import type { ImageBackend, TestBackend, Toolchain } from "./types";

export function imageBackend(toolchain: Toolchain): ImageBackend {
  if (toolchain === "open") return openImageBackend;
  // loaded lazily: the adk backend's commands run on Windows only
  return (require("./adk/image") as { adkImageBackend: ImageBackend }).adkImageBackend;
}

/** The driver test's runner: open = Wine (x64 images), adk = not run on the host (the VM runs the test). */
export function testBackend(toolchain: Toolchain): TestBackend {
  if (toolchain === "open") return openTestBackend;
  return adkTestBackend;
}
