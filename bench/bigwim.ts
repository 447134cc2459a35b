/**
 * The "big" boot.wim of the scale scenarios: the synthetic WinPE image plus one incompressible payload file
 * (`/bench/payload.bin`, an AES-CTR keystream: random-looking, but the same bytes every time), added with
 * `wimlib-imagex update`, so the WIM keeps LZX. Made once per architecture and size, cached in bench/out/cache/
 * (not timed), and copied over a fresh workspace's boot.wim before its first `up`.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { runTool } from "../runtime/exec";
import { type Arch, log, nowMs, OUT_DIR } from "./common";

function writePayload(file: string, bytes: number): void {
  const key = Buffer.alloc(32, 7);
  const iv = Buffer.alloc(16, 9);
  const cipher = crypto.createCipheriv("aes-256-ctr", key, iv);
  const zeros = Buffer.alloc(4 << 20);
  const fd = fs.openSync(file, "w");
  try {
    for (let left = bytes; left > 0; left -= zeros.length) {
      const n = Math.min(left, zeros.length);
      fs.writeSync(fd, cipher.update(zeros.subarray(0, n)));
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** A cached copy of `smallWim` with `payloadMiB` MiB of incompressible data added (path of the cached WIM). */
export async function ensureBigWim(arch: Arch, smallWim: string, payloadMiB: number): Promise<string> {
  const dir = path.join(OUT_DIR, "cache");
  const target = path.join(dir, `boot-${arch}-${payloadMiB}MiB.wim`);
  if (fs.existsSync(target)) return target;
  fs.mkdirSync(dir, { recursive: true });
  const t0 = nowMs();
  const tmpWim = `${target}.tmp`;
  const payload = path.join(dir, "payload.bin");
  try {
    fs.copyFileSync(smallWim, tmpWim);
    writePayload(payload, payloadMiB << 20);
    await runTool("wimlib-imagex", ["update", tmpWim, "1"], {
      cwd: dir,
      input: 'add "payload.bin" "/bench/payload.bin"\n',
      resource: "bench(big-wim)",
    });
    const info = await runTool("wimlib-imagex", ["info", tmpWim], { resource: "bench(big-wim)" });
    const compression = /^Compression:\s*(.*)$/m.exec(info.stdout)?.[1]?.trim();
    if (compression !== "LZX") throw new Error(`the big WIM has compression ${compression}, expected LZX`);
    fs.renameSync(tmpWim, target);
  } finally {
    fs.rmSync(payload, { force: true });
    fs.rmSync(tmpWim, { force: true });
  }
  log(
    `made the big boot.wim for ${arch}: ${(fs.statSync(target).size / 1e6).toFixed(0)} MB in ${((nowMs() - t0) / 1000).toFixed(1)} s (cached: ${target})`,
  );
  return target;
}
