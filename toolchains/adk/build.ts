/**
 * adk toolchain command builders for building and test-signing drivers (pure; nothing runs on Linux):
 * `nuget restore`, `MSBuild`, `signtool sign`, and the PowerShell PKI cmdlets `New-SelfSignedCertificate`,
 * `Export-PfxCertificate` and `Export-Certificate`. Each returns an {@link AdkCommand}, rendered by `quote.ts`.
 * Windows paths are data here and handled with `path.win32` (through `windowsPath`), never `path`.
 *
 * Syntax sources:
 * - MSBuild: https://learn.microsoft.com/en-us/visualstudio/msbuild/msbuild-command-line-reference
 *   (`/t:` = `-target:`, `/p:name=value` = `-property:`, `/m` = `-maxCpuCount`, `/nologo`); a property value
 *   cannot hold `;` or `,` (they separate properties) unless escaped, so such paths are refused.
 * - nuget restore: https://learn.microsoft.com/en-us/nuget/reference/cli-reference/cli-ref-restore
 * - SignTool: https://learn.microsoft.com/en-us/windows/win32/seccrypto/signtool (`sign /fd sha256 /f <pfx>
 *   /p <password>`, or `/sha1 <thumbprint> /s <store>` for a certificate in a store).
 * - New-SelfSignedCertificate (`-Type CodeSigningCert`, `-CertStoreLocation` accepts only the My stores):
 *   https://learn.microsoft.com/en-us/powershell/module/pki/new-selfsignedcertificate
 * - Export-PfxCertificate: https://learn.microsoft.com/en-us/powershell/module/pki/export-pfxcertificate
 * - Export-Certificate: https://learn.microsoft.com/en-us/powershell/module/pki/export-certificate
 */
import type { AdkCommand, ArgPart, PsParam, SwitchArg } from "./types";
import { AdkArgumentError, windowsPath } from "./validate";

const MSBUILD_DOC = "https://learn.microsoft.com/en-us/visualstudio/msbuild/msbuild-command-line-reference";
const NUGET_DOC = "https://learn.microsoft.com/en-us/nuget/reference/cli-reference/cli-ref-restore";
const SIGNTOOL_DOC = "https://learn.microsoft.com/en-us/windows/win32/seccrypto/signtool";
const PKI_DOC = "https://learn.microsoft.com/en-us/powershell/module/pki/";

const p = (param: string): PsParam => ({ param });
const secret = (value: string): SwitchArg => ({ switch: "", value, secret: true });

/** Build configurations and platforms of the adk build (Visual Studio names). */
export type AdkBuildConfiguration = "Debug" | "Release";
export type AdkBuildPlatform = "x64" | "ARM64";

function projectPath(field: string, value: string): string {
  const v = windowsPath(field, value);
  if (!/\.(sln|vcxproj)$/i.test(v)) throw new AdkArgumentError(`'${field}' must be a .sln or .vcxproj file`);
  return v;
}

function configurationName(value: string): AdkBuildConfiguration {
  if (value === "Debug" || value === "Release") return value;
  throw new AdkArgumentError(`'configuration' must be Debug or Release`);
}

function platformName(value: string): AdkBuildPlatform {
  if (value === "x64" || value === "ARM64") return value;
  throw new AdkArgumentError(`'platform' must be x64 or ARM64`);
}

function thumbprint(field: string, value: string): string {
  if (typeof value !== "string" || !/^[0-9A-Fa-f]{40}$/.test(value)) {
    throw new AdkArgumentError(`'${field}' must be a certificate thumbprint: 40 hexadecimal digits`);
  }
  return value.toUpperCase();
}

function password(field: string, value: string): string {
  if (typeof value !== "string" || value.length === 0) {
    throw new AdkArgumentError(`'${field}' must be a non-empty password (value not shown: it is a secret)`);
  }
  if (/[\x00-\x1f"]/.test(value)) {
    throw new AdkArgumentError(
      `'${field}' must not contain control characters or '"' (value not shown: it is a secret)`,
    );
  }
  return value;
}

/**
 * Whether a project needs `nuget restore` before MSBuild: it has a `packages.config` beside it, or
 * `PackageReference` items.
 *
 * @param facts what the caller found next to / inside each project
 * @returns true when a restore is needed
 */
export function needsNugetRestore(facts: {
  hasPackagesConfig: boolean;
  packageReferences: readonly string[];
}): boolean {
  return facts.hasPackagesConfig || facts.packageReferences.length > 0;
}

/** Options of {@link adkNugetRestore}. */
export interface NugetRestoreOptions {
  /** The .sln (or .vcxproj), e.g. `D:\src\ioctl\ioctl.sln`. */
  project: string;
  /** nuget.exe (name on PATH or full path). @default "nuget" */
  nuget?: string;
}

/**
 * `nuget restore <sln>`: fetch the NuGet packages a solution's projects reference.
 * Doc: https://learn.microsoft.com/en-us/nuget/reference/cli-reference/cli-ref-restore
 *
 * @param options - the solution and the nuget program
 * @returns the command (cmd)
 */
export function adkNugetRestore(options: NugetRestoreOptions): AdkCommand {
  const project = projectPath("project", options.project);
  return {
    tool: options.nuget ?? "nuget",
    argv: ["restore", project],
    shell: "cmd",
    why: `restore the NuGet packages of ${project}`,
    doc: NUGET_DOC,
  };
}

/** Options of {@link adkMsbuild}. */
export interface MsbuildOptions {
  /** The .sln or .vcxproj to build, e.g. `D:\src\ioctl\ioctl.sln`. */
  project: string;
  configuration: AdkBuildConfiguration;
  platform: AdkBuildPlatform;
  /** Output folder (`/p:OutDir=<dir>\`): every project's outputs land there, flat. */
  outDir: string;
  /** MSBuild.exe (name on PATH, e.g. in a Developer Command Prompt, or full path). @default "MSBuild" */
  msbuild?: string;
  /** Build projects in parallel (`/m`). @default true */
  parallel?: boolean;
}

/**
 * `MSBuild <sln|vcxproj> /t:Build /p:Configuration=<c> /p:Platform=<p> /p:OutDir=<dir>\ /m /nologo`.
 * OutDir ends in a backslash, as MSBuild requires of folder properties.
 * Doc: https://learn.microsoft.com/en-us/visualstudio/msbuild/msbuild-command-line-reference
 *
 * @param options - project, configuration, platform, output folder
 * @returns the command (cmd)
 * @throws AdkArgumentError for a relative path, an unknown configuration/platform, or `;` `,` `%` in outDir
 */
export function adkMsbuild(options: MsbuildOptions): AdkCommand {
  const project = projectPath("project", options.project);
  const configuration = configurationName(options.configuration);
  const platform = platformName(options.platform);
  const outDir = windowsPath("outDir", options.outDir);
  if (/[;,%]/.test(outDir)) {
    throw new AdkArgumentError(
      `'outDir' must not contain ';', ',' or '%': MSBuild reads them as property separators or escapes`,
    );
  }
  const outDirValue = outDir.endsWith("\\") ? outDir : `${outDir}\\`;
  const argv: ArgPart[] = [
    project,
    "/t:Build",
    `/p:Configuration=${configuration}`,
    `/p:Platform=${platform}`,
    { switch: "/p:OutDir=", value: outDirValue },
  ];
  if (options.parallel ?? true) argv.push("/m");
  argv.push("/nologo");
  return {
    tool: options.msbuild ?? "MSBuild",
    argv,
    shell: "cmd",
    why: `build ${project} (${configuration}|${platform}) into ${outDirValue}`,
    doc: MSBUILD_DOC,
  };
}

/**
 * The commands that build a project with the adk toolchain: `nuget restore` when `needsRestore`, then MSBuild.
 *
 * @param options - as {@link adkMsbuild}, plus whether a NuGet restore is needed and the nuget program
 * @returns one or two commands (cmd), in order
 */
export function adkBuildCommands(options: MsbuildOptions & { needsRestore: boolean; nuget?: string }): AdkCommand[] {
  const cmds: AdkCommand[] = [];
  if (options.needsRestore) cmds.push(adkNugetRestore({ project: options.project, nuget: options.nuget }));
  cmds.push(adkMsbuild(options));
  return cmds;
}

/** Options of {@link adkSigntoolSignPfx}. */
export interface SigntoolPfxOptions {
  /** The file to sign, e.g. `D:\out\sioctl.sys`. */
  file: string;
  /** The .pfx holding the certificate and key. */
  pfx: string;
  /** The .pfx password (a secret: masked when rendered, listed by `commandSecrets`). */
  password: string;
  /** signtool.exe. @default "signtool" */
  signtool?: string;
}

/**
 * `signtool sign /fd sha256 /f <pfx> /p <password> <file>`. The password is on signtool's command line (it
 * has no other way to take it); it is marked secret so renderings and the tool log mask it.
 * Doc: https://learn.microsoft.com/en-us/windows/win32/seccrypto/signtool
 *
 * @param options - file, pfx and its password
 * @returns the command (cmd)
 */
export function adkSigntoolSignPfx(options: SigntoolPfxOptions): AdkCommand {
  const file = windowsPath("file", options.file);
  const pfx = windowsPath("pfx", options.pfx);
  const pw = password("password", options.password);
  return {
    tool: options.signtool ?? "signtool",
    argv: ["sign", "/fd", "sha256", "/f", pfx, "/p", secret(pw), file],
    shell: "cmd",
    why: `sign ${file} (SHA-256) with the certificate in ${pfx}`,
    doc: SIGNTOOL_DOC,
  };
}

/** Options of {@link adkSigntoolSignStore}. */
export interface SigntoolStoreOptions {
  /** The file to sign. */
  file: string;
  /** SHA-1 thumbprint of the certificate (40 hex digits). */
  thumbprint: string;
  /**
   * Store name. New-SelfSignedCertificate puts certificates in `My`; WDK test certificates made with makecert
   * live in `PrivateCertStore`. @default "My"
   */
  store?: string;
  /** Use the local machine's store (`/sm`) instead of the current user's. @default false */
  machineStore?: boolean;
  /** signtool.exe. @default "signtool" */
  signtool?: string;
}

/**
 * `signtool sign /fd sha256 /sha1 <thumbprint> /s <store> [/sm] <file>`: sign with a certificate from a store
 * (no password on the command line).
 * Doc: https://learn.microsoft.com/en-us/windows/win32/seccrypto/signtool
 *
 * @param options - file, thumbprint, store
 * @returns the command (cmd)
 */
export function adkSigntoolSignStore(options: SigntoolStoreOptions): AdkCommand {
  const file = windowsPath("file", options.file);
  const thumb = thumbprint("thumbprint", options.thumbprint);
  const store = options.store ?? "My";
  if (!/^[A-Za-z][A-Za-z0-9]*$/.test(store)) throw new AdkArgumentError(`'store' must be a store name like My`);
  return {
    tool: options.signtool ?? "signtool",
    argv: ["sign", "/fd", "sha256", "/sha1", thumb, "/s", store, ...(options.machineStore ? ["/sm"] : []), file],
    shell: "cmd",
    why: `sign ${file} (SHA-256) with certificate ${thumb} from the ${options.machineStore ? "machine" : "user"} store ${store}`,
    doc: SIGNTOOL_DOC,
  };
}

/** Certificate store locations New-SelfSignedCertificate accepts. */
export type CertStoreLocation = "CurrentUser" | "LocalMachine";

function storePath(location: CertStoreLocation | undefined): string {
  const loc = location ?? "CurrentUser";
  if (loc !== "CurrentUser" && loc !== "LocalMachine") {
    throw new AdkArgumentError(`'location' must be CurrentUser or LocalMachine`);
  }
  return `Cert:\\${loc}\\My`;
}

/**
 * `New-SelfSignedCertificate -Type CodeSigningCert -Subject '<subject>' -CertStoreLocation 'Cert:\CurrentUser\My'`.
 * Its output lists the new certificate's thumbprint: read it with {@link parseThumbprint}.
 * Doc: https://learn.microsoft.com/en-us/powershell/module/pki/new-selfsignedcertificate
 *
 * @param options - subject (`CN=...`) and store location
 * @default options.location "CurrentUser"
 * @returns the command (PowerShell)
 */
export function adkNewSelfSignedCertificate(options: { subject: string; location?: CertStoreLocation }): AdkCommand {
  const subject = options.subject;
  if (typeof subject !== "string" || !/^\s*CN\s*=\s*\S/i.test(subject) || /[\x00-\x1f]/.test(subject)) {
    throw new AdkArgumentError(`'subject' must be a distinguished name starting with CN=, e.g. CN=WinPE Lab Test`);
  }
  const store = storePath(options.location);
  return {
    tool: "New-SelfSignedCertificate",
    argv: [p("Type"), { literal: "CodeSigningCert" }, p("Subject"), subject, p("CertStoreLocation"), store],
    shell: "powershell",
    why: `create a self-signed code-signing certificate ${subject} in ${store}`,
    doc: `${PKI_DOC}new-selfsignedcertificate`,
  };
}

/**
 * The thumbprint (40 hex digits, upper case) in the output of New-SelfSignedCertificate.
 *
 * @param output - what the command printed
 * @returns the thumbprint
 * @throws AdkArgumentError when there is none, or more than one
 */
export function parseThumbprint(output: string): string {
  const found = [...new Set((output.match(/\b[0-9A-Fa-f]{40}\b/g) ?? []).map((s) => s.toUpperCase()))];
  if (found.length !== 1) {
    throw new AdkArgumentError(
      `expected one certificate thumbprint in New-SelfSignedCertificate's output, found ${found.length}`,
    );
  }
  return found[0]!;
}

/** Options of {@link adkExportPfxCertificate}. */
export interface ExportPfxOptions {
  /** Thumbprint of the certificate (from {@link parseThumbprint}). */
  thumbprint: string;
  /** Where to write the .pfx. */
  pfx: string;
  /** Password protecting the .pfx (a secret). */
  password: string;
  /** Store location of the certificate. @default "CurrentUser" */
  location?: CertStoreLocation;
}

/**
 * `Export-PfxCertificate -Cert 'Cert:\CurrentUser\My\<thumbprint>' -FilePath '<pfx>' -Password
 * (ConvertTo-SecureString -String '<password>' -Force -AsPlainText)`: the certificate with its key, for
 * `signtool sign /f`. The password is a secret (masked when rendered).
 * Doc: https://learn.microsoft.com/en-us/powershell/module/pki/export-pfxcertificate
 *
 * @param options - thumbprint, target file, password, store location
 * @returns the command (PowerShell)
 */
export function adkExportPfxCertificate(options: ExportPfxOptions): AdkCommand {
  const thumb = thumbprint("thumbprint", options.thumbprint);
  const pfx = windowsPath("pfx", options.pfx);
  if (!/\.pfx$/i.test(pfx)) throw new AdkArgumentError(`'pfx' must end in .pfx`);
  const pw = password("password", options.password);
  const cert = `${storePath(options.location)}\\${thumb}`;
  const secure: AdkCommand = {
    tool: "ConvertTo-SecureString",
    argv: [p("String"), secret(pw), p("Force"), p("AsPlainText")],
    shell: "powershell",
    why: "turn the .pfx password into a SecureString",
    doc: "https://learn.microsoft.com/en-us/powershell/module/microsoft.powershell.security/convertto-securestring",
  };
  return {
    tool: "Export-PfxCertificate",
    argv: [p("Cert"), cert, p("FilePath"), pfx, p("Password"), { subcommand: secure }],
    shell: "powershell",
    why: `export certificate ${thumb} with its private key to ${pfx}`,
    doc: `${PKI_DOC}export-pfxcertificate`,
  };
}

/**
 * `Export-Certificate -Cert 'Cert:\CurrentUser\My\<thumbprint>' -FilePath '<cer>'`: the public certificate
 * (DER), to import into a test machine's Trusted Root and Trusted Publishers stores.
 * Doc: https://learn.microsoft.com/en-us/powershell/module/pki/export-certificate
 *
 * @param options - thumbprint, target .cer, store location
 * @returns the command (PowerShell)
 */
export function adkExportCertificate(options: {
  thumbprint: string;
  cer: string;
  location?: CertStoreLocation;
}): AdkCommand {
  const thumb = thumbprint("thumbprint", options.thumbprint);
  const cer = windowsPath("cer", options.cer);
  if (!/\.cer$/i.test(cer)) throw new AdkArgumentError(`'cer' must end in .cer`);
  return {
    tool: "Export-Certificate",
    argv: [p("Cert"), `${storePath(options.location)}\\${thumb}`, p("FilePath"), cer],
    shell: "powershell",
    why: `export the public certificate ${thumb} to ${cer}`,
    doc: `${PKI_DOC}export-certificate`,
  };
}
