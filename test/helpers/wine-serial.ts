/**
 * The boot-time hook's serial path under Wine, for tests: the image root (as read out of a WIM) becomes drive X:
 * (WinPE's system drive), COM1 becomes a FIFO this process reads, and Wine's cmd runs
 * `X:\Windows\System32\winpe-lab\test.cmd`. Returns what the script wrote to COM1.
 *
 * Wine maps COM ports from `HKLM\Software\Wine\Ports` (its mount manager makes `dosdevices/com1` from it when the
 * prefix starts); a regular file as COM1 would be truncated by every `>COM1`, a FIFO is not (cmd prints "Invalid
 * function." for the seek it tries on it; the writes go through). Wine's findstr has neither /R nor /G (it answers
 * 0, a match, for any pattern), so under Wine only the exit-code check of the script is meaningful.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { runTool } from "../../runtime/exec";
import { ensurePrefix, killPrefix, requireWine, runUnderWine, wineEnv } from "../../toolchains/open/wine";

const RESOURCE = "test/wine-serial";

/** Everything readable now from a non-blocking fd (a FIFO we also hold open for writing). */
function drain(fd: number): string {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(65536);
  for (;;) {
    let n = 0;
    try {
      n = fs.readSync(fd, buf, 0, buf.length, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EAGAIN") break;
      throw e;
    }
    if (n <= 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(chunks).toString("latin1");
}

/** Run the hook's test.cmd from `imageRoot` (holding Windows/System32/winpe-lab and the test folder) under Wine. */
export async function runHookUnderWine(imageRoot: string, prefix: string): Promise<string> {
  const { wine, wineserver } = requireWine();
  await ensurePrefix(prefix, RESOURCE);
  const fifo = path.join(path.dirname(prefix), `${path.basename(prefix)}-com1.fifo`);
  fs.rmSync(fifo, { force: true });
  await runTool("mkfifo", [fifo], { resource: RESOURCE });
  const env = wineEnv(prefix);
  await runTool(wine, ["reg", "add", "HKLM\\Software\\Wine\\Ports", "/v", "COM1", "/d", fifo, "/f"], {
    env,
    resource: RESOURCE,
  });
  await killPrefix(prefix, RESOURCE);
  await runTool(wineserver, ["-w"], { env, resource: RESOURCE, okExitCodes: [0, 1] });
  const x = path.join(prefix, "dosdevices", "x:");
  fs.rmSync(x, { force: true });
  fs.symlinkSync(path.resolve(imageRoot), x);
  const fd = fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
  try {
    await runUnderWine(prefix, imageRoot, ["cmd", "/c", "X:\\Windows\\System32\\winpe-lab\\test.cmd"], {
      timeoutSec: 180,
      resource: RESOURCE,
    });
    return drain(fd).replace(/\r\n/g, "\n");
  } finally {
    fs.closeSync(fd);
    fs.rmSync(fifo, { force: true });
  }
}
