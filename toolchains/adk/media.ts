/**
 * ISO builders (pure; MakeWinPEMedia and oscdimg run on Windows only, in the ADK's "Deployment and Imaging
 * Tools Environment", which puts both on PATH).
 *
 * Sources:
 * - MakeWinPEMedia `/ISO [/F] <workingDirectory> <destinationISO>` ("Create bootable WinPE media"):
 *   https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/winpe-create-usb-bootable-drive;
 *   the script's own usage text reads `MakeWinPEMedia {/ufd | /iso} [/f] <workingDirectory> <destination>`, and
 *   without `/f` it asks before overwriting. (Microsoft's separate page "MakeWinPEMedia command-line options",
 *   .../makewinpemedia-command-line-options, could not be retrieved while this was written.)
 * - oscdimg `-bootdata:<n>#<entry>#<entry>`, `-u1`, `-udfver102`:
 *   https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/oscdimg-command-line-options
 * - what MakeWinPEMedia runs for /ISO (its script, MakeWinPEMedia.cmd in the ADK):
 *   `oscdimg -bootdata:%BOOTDATA% -u1 -udfver102 "%WORKINGDIR%\media" "%DEST%"` with
 *   `BOOTDATA=2#p0,e,b"<fwfiles>\etfsboot.com"#pEF,e,b"<fwfiles>\efisys.bin"`, or `1#pEF,e,b"<fwfiles>\efisys.bin"`
 *   when there is no etfsboot.com (arm64 media is UEFI-only). {@link oscdimgIso} builds that command.
 */
import * as path from "node:path";
import type { AdkCommand, SwitchArg } from "./types";
import { AdkArgumentError, windowsPath } from "./validate";

const DOC_MAKEWINPEMEDIA =
  "https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/winpe-create-usb-bootable-drive";
const DOC_OSCDIMG =
  "https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/oscdimg-command-line-options";

/** The WinPE architectures the product builds. */
export type WinPeArch = "amd64" | "arm64";

/** The ADK's default install folder. */
export const DEFAULT_ADK_ROOT = "C:\\Program Files (x86)\\Windows Kits\\10\\Assessment and Deployment Kit";

/**
 * `MakeWinPEMedia /ISO [/F] <workdir> <iso>`, e.g. `MakeWinPEMedia /ISO /F D:\WinPE_amd64 D:\WinPE_amd64\winpe_x64_debug.iso`.
 * Without `/F` it asks before overwriting an existing ISO, which hangs an unattended run, so `force` defaults
 * to true.
 *
 * MakeWinPEMedia always uses `<workdir>\fwfiles\efisys.bin`, whose UEFI boot waits for a key press; for an
 * unattended VM boot use {@link oscdimgIso} with `noPrompt: true`.
 *
 * MakeWinPEMedia is a batch script that copies its arguments into variables without quotes
 * (`set WORKINGDIR=%~3` inside an `if (...)` block), so paths with `& | < > ^ ( ) %` break the script itself,
 * however they are quoted: such paths are refused here (oscdimgIso handles them).
 * Doc: https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/winpe-create-usb-bootable-drive
 *
 * @param options - the copype working folder, the ISO to write, and `force` (default true)
 * @returns the command (cmd)
 */
export function makeWinPEMediaIso(options: { workdir: string; iso: string; force?: boolean }): AdkCommand {
  const workdir = windowsPath("workdir", options.workdir);
  const iso = windowsPath("iso", options.iso);
  for (const [field, value] of [
    ["workdir", workdir],
    ["iso", iso],
  ] as const) {
    if (/[&|<>^()%]/.test(value)) {
      throw new AdkArgumentError(
        `'${field}' contains one of & | < > ^ ( ) %, which MakeWinPEMedia's own script cannot handle: use oscdimgIso instead`,
      );
    }
  }
  if (!/\.iso$/i.test(iso)) throw new AdkArgumentError(`'iso' must end in .iso`);
  const force = options.force ?? true;
  return {
    tool: "MakeWinPEMedia",
    argv: ["/ISO", ...(force ? ["/F"] : []), workdir, iso],
    shell: "cmd",
    why: `make the bootable ISO ${iso} from ${workdir}\\media${force ? ", replacing an existing one" : ""}`,
    doc: DOC_MAKEWINPEMEDIA,
  };
}

/** Inputs of {@link oscdimgIso}. */
export interface OscdimgIsoOptions {
  /** amd64 media boots BIOS and UEFI; arm64 media is UEFI-only (no etfsboot.com). */
  arch: WinPeArch;
  /** The copype working folder (`media\` and `fwfiles\` inside). */
  workdir: string;
  /** The ISO to write. */
  iso: string;
  /**
   * Use `efisys_noprompt.bin` (UEFI boot without "Press any key to boot from CD or DVD"), needed for unattended
   * VM boots. copype copies only efisys.bin into fwfiles, so this file is taken from the ADK's Oscdimg folder.
   * @default false
   */
  noPrompt?: boolean;
  /** The ADK's install folder, for `efisys_noprompt.bin`. @default DEFAULT_ADK_ROOT */
  adkRoot?: string;
  /** The oscdimg program: a name on PATH or a full path. @default "oscdimg" */
  tool?: string;
}

/**
 * The oscdimg command MakeWinPEMedia /ISO runs, with the no-prompt variant when asked:
 * - amd64: `oscdimg -bootdata:2#p0,e,b<fwfiles>\etfsboot.com#pEF,e,b<efisys> -u1 -udfver102 <workdir>\media <iso>`
 * - arm64: `oscdimg -bootdata:1#pEF,e,b<efisys> -u1 -udfver102 <workdir>\media <iso>`
 *
 * `2#` is the number of boot entries; `p0` is the BIOS platform and `pEF` UEFI; `e` means no floppy emulation;
 * `b<file>` is the boot sector file. `-u1` writes UDF plus ISO 9660 and `-udfver102` picks UDF 1.02. Boot file
 * paths are quoted only when they need it, after the `b`, exactly where MakeWinPEMedia puts its quotes.
 * Doc: https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/oscdimg-command-line-options
 *
 * @param options - architecture, working folder, ISO, no-prompt choice
 * @returns the command (cmd)
 */
export function oscdimgIso(options: OscdimgIsoOptions): AdkCommand {
  if (options.arch !== "amd64" && options.arch !== "arm64") throw new AdkArgumentError(`'arch' must be amd64 or arm64`);
  const workdir = windowsPath("workdir", options.workdir);
  const iso = windowsPath("iso", options.iso);
  if (!/\.iso$/i.test(iso)) throw new AdkArgumentError(`'iso' must end in .iso`);
  const fwfiles = path.win32.join(workdir, "fwfiles");
  const efisys = options.noPrompt
    ? path.win32.join(
        windowsPath("adkRoot", options.adkRoot ?? DEFAULT_ADK_ROOT),
        "Deployment Tools",
        options.arch,
        "Oscdimg",
        "efisys_noprompt.bin",
      )
    : path.win32.join(fwfiles, "efisys.bin");
  const entries: SwitchArg[] =
    options.arch === "amd64"
      ? [
          { switch: "-bootdata:2#p0,e,b", value: path.win32.join(fwfiles, "etfsboot.com") },
          { switch: "#pEF,e,b", value: efisys },
        ]
      : [{ switch: "-bootdata:1#pEF,e,b", value: efisys }];
  const tool = options.tool ?? "oscdimg";
  return {
    tool,
    argv: [{ compound: entries }, "-u1", "-udfver102", path.win32.join(workdir, "media"), iso],
    shell: "cmd",
    why: `make the bootable ISO ${iso} from ${workdir}\\media (${options.arch === "amd64" ? "BIOS and UEFI" : "UEFI only"}${options.noPrompt ? ", UEFI boot without key prompt" : ""})`,
    doc: DOC_OSCDIMG,
  };
}
