/**
 * File digests (runtime/digest.ts): the sha256-only path used for the WIM and the ISO agrees with an independent
 * hash (sha256sum), and a later request for SHA-1 too is answered with a real SHA-1 (sha1sum), never a cached
 * entry that lacks it; a changed file is hashed again.
 */
import { execFileSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { fileDigests, fileSha256, sha256File } from "../../runtime/digest";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "digest-test-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const sum = (tool: string, file: string) => execFileSync(tool, [file], { encoding: "utf8" }).split(" ")[0];

describe("file digests", () => {
  it("sha256 only, then sha256 + SHA-1, agree with sha256sum and sha1sum (3 MiB + 5 bytes: several chunks)", () => {
    const f = path.join(dir, "big.bin");
    fs.writeFileSync(f, crypto.randomBytes(3 * 1024 * 1024 + 5));
    const a = fileSha256(f);
    expect(a).toEqual({ sha256: sum("sha256sum", f), size: 3 * 1024 * 1024 + 5 });
    expect(sha256File(f)).toBe(a.sha256);
    const b = fileDigests(f);
    expect(b).toEqual({ sha256: a.sha256, sha1: sum("sha1sum", f), size: a.size });
    expect(fileSha256(f)).toEqual(a);
  });

  it("a file changed in place (same size) is hashed again", () => {
    const f = path.join(dir, "edit.bin");
    fs.writeFileSync(f, "one");
    const before = fileSha256(f).sha256;
    fs.writeFileSync(f, "two");
    const t = new Date(Date.now() + 5000);
    fs.utimesSync(f, t, t);
    expect(fileSha256(f).sha256).not.toBe(before);
    expect(fileSha256(f).sha256).toBe(sum("sha256sum", f));
    expect(fileDigests(f).sha1).toBe(sum("sha1sum", f));
  });
});
