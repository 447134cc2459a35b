/**
 * File digests (runtime/digest.ts): the sha256-only path used for the WIM and the ISO agrees with an independent
 * hash (sha256sum), and a later request for SHA-1 too is answered with a real SHA-1 (sha1sum), never a cached
 * entry that lacks it; a changed file is hashed again. Tree digests (the ISO's identity) agree with their
 * definition computed here (test/helpers/tree-digest.ts), piece by piece.
 */
import { execFileSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { run as runDigestCli } from "../../cli/digest";
import {
  changedFiles,
  fileDigestLike,
  fileDigests,
  fileSha256,
  fileTreeDigest,
  sha256File,
  TREE_DIGEST_PREFIX,
  treeDigestOf,
  voucherFile,
  vouchFor,
} from "../../runtime/digest";
import { OutputLedger } from "../../runtime/owned";
import { treeDigestHere } from "../helpers/tree-digest";

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

describe("tree digests (the ISO's identity)", () => {
  it("agree with the definition at piece boundaries (0, 1, 1 MiB, 1 MiB + 1, 3.5 MiB bytes)", () => {
    for (const n of [0, 1, 1 << 20, (1 << 20) + 1, 3.5 * (1 << 20)]) {
      const f = path.join(dir, `tree-${n}.bin`);
      const b = crypto.randomBytes(n);
      fs.writeFileSync(f, b);
      const t = fileTreeDigest(f);
      expect(t.digest, `${n} bytes`).toBe(treeDigestHere(b));
      expect(t.size).toBe(n);
      expect(t.chunks.length).toBe(Math.ceil(n / (1 << 20)));
      expect(treeDigestOf(t.chunks)).toBe(t.digest);
    }
  });

  it("a changed byte changes its piece's digest only, and the tree digest; a file changed is hashed again", () => {
    const f = path.join(dir, "tree-change.bin");
    const b = crypto.randomBytes(3 * (1 << 20));
    fs.writeFileSync(f, b);
    const before = fileTreeDigest(f);
    b[(1 << 20) + 7] ^= 1;
    fs.writeFileSync(f, b);
    const after = fileTreeDigest(f);
    expect(after.digest).toBe(treeDigestHere(b));
    expect(after.digest).not.toBe(before.digest);
    expect(after.chunks.map((c, i) => c !== before.chunks[i])).toEqual([false, true, false]);
  });

  it("fileDigestLike compares in the kind recorded: a plain sha256 (a state from before) or a tree digest", () => {
    const f = path.join(dir, "tree-like.bin");
    fs.writeFileSync(f, crypto.randomBytes(1000));
    expect(fileDigestLike(f, "0".repeat(64))).toBe(sum("sha256sum", f));
    expect(fileDigestLike(f, `${TREE_DIGEST_PREFIX}${"0".repeat(64)}`)).toBe(treeDigestHere(fs.readFileSync(f)));
  });

  it("the output ledger recognises a file by either kind of digest", () => {
    const f = path.join(dir, "owned.iso");
    fs.writeFileSync(f, crypto.randomBytes(5000));
    const ledger = new OutputLedger(path.join(dir, "ledger"));
    expect(ledger.isOurs(f, [treeDigestHere(fs.readFileSync(f))])).toBe(true);
    expect(ledger.isOurs(f, [sum("sha256sum", f)])).toBe(true);
    expect(ledger.isOurs(f, [`${TREE_DIGEST_PREFIX}${"1".repeat(64)}`, "2".repeat(64)])).toBe(false);
  });

  it("`winpe digest <file>` prints the tree digest; a missing file is named", async () => {
    const f = path.join(dir, "cli.bin");
    fs.writeFileSync(f, crypto.randomBytes(2 * (1 << 20) + 3));
    const out: string[] = [];
    const err: string[] = [];
    const log = console.log;
    const error = console.error;
    console.log = (l: string) => void out.push(l);
    console.error = (l: string) => void err.push(l);
    try {
      expect(await runDigestCli([f])).toBe(0);
      expect(await runDigestCli([path.join(dir, "nope.iso")])).toBe(1);
    } finally {
      console.log = log;
      console.error = error;
    }
    expect(out).toEqual([`${treeDigestHere(fs.readFileSync(f))}  ${f}`]);
    expect(err.join("\n")).toMatch(/'.*nope\.iso' does not exist/);
  });
});

describe("vouchers (a build's inputs checked by the next diff without reading them)", () => {
  it("a vouched file with its identity is not read; any change of identity is hashed again", () => {
    const vdir = path.join(dir, "vouchers");
    const a = path.join(dir, "v-a.h");
    const b = path.join(dir, "v-b.c");
    fs.writeFileSync(a, "#define A 1\n");
    fs.writeFileSync(b, "int b;\n");
    const list = [a, b].map((p) => ({ path: p, sha256: sum("sha256sum", p)! }));
    vouchFor(vdir, list);
    expect(changedFiles(list, vdir)).toEqual([]);
    // the voucher is what answers: the same identities vouched for a list with a wrong digest (written by hand,
    // as vouchFor never vouches for a digest the file does not have) are taken without reading the file
    const wrong = [{ path: a, sha256: "0".repeat(64) }, list[1]!];
    expect(changedFiles(wrong, vdir)).toEqual([a]);
    fs.copyFileSync(voucherFile(vdir, list), voucherFile(vdir, wrong));
    expect(changedFiles(wrong, vdir)).toEqual([]);
    expect(changedFiles(wrong)).toEqual([a]);
    // vouchFor itself leaves out a file whose content is not the digest given
    fs.rmSync(voucherFile(vdir, wrong));
    vouchFor(vdir, wrong);
    expect(changedFiles(wrong, vdir)).toEqual([a]);
    // same size, mtime put back: the ctime differs, so the file is read and the change found
    const st = fs.statSync(b);
    fs.writeFileSync(b, "int c;\n");
    fs.utimesSync(b, st.atime, st.mtime);
    expect(changedFiles(list, vdir)).toEqual([b]);
    fs.rmSync(a);
    expect(changedFiles(list, vdir)).toEqual([a, b]);
  });
});
