/**
 * The tree digest of a buffer, computed here from its definition (README "ISO identity"; runtime/digest.ts is the
 * implementation under test): sha256 over the 32-byte sha256 of each 1 MiB piece, written `sha256-1m:<hex>`.
 */
import * as crypto from "node:crypto";

export function treeDigestHere(b: Buffer): string {
  const h = crypto.createHash("sha256");
  for (let at = 0; at < b.length; at += 1 << 20)
    h.update(
      crypto
        .createHash("sha256")
        .update(b.subarray(at, at + (1 << 20)))
        .digest(),
    );
  return `sha256-1m:${h.digest("hex")}`;
}
