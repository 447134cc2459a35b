/**
 * Wine for the tests that run our test app by hand (the product's own runner is toolchains/open/wine.ts, used
 * by the DriverTest resource; this is a thin helper over it): a fresh prefix, the app, the prefix's processes
 * always ended afterwards.
 */
import { ensurePrefix, findWine, killPrefix, requireWine, runUnderWine } from "../../toolchains/open/wine";

export { requireWine };

/** The Wine loader, or undefined when Wine is not installed. */
export const WINE = findWine()?.wine;

/**
 * Run `ioctlapp.exe` in `runDir` (which also holds `sioctl.sys`) under Wine with a fresh prefix in `prefixDir`;
 * returns the app's standard output.
 */
export async function runIoctlAppUnderWine(runDir: string, prefixDir: string, resource = "test/wine"): Promise<string> {
  requireWine();
  try {
    await ensurePrefix(prefixDir, resource);
    const r = await runUnderWine(prefixDir, runDir, ["ioctlapp.exe"], { timeoutSec: 120, resource });
    return r.stdout;
  } finally {
    await killPrefix(prefixDir, resource);
  }
}
