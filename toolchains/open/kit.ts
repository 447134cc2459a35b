/**
 * The open toolchain's "kit": what it puts where the Windows Driver Kit and the Windows SDK would be, for
 * toolchains/open/build.ts.
 *
 * - The WDK's MSBuild macros (`$(DDK_INC_PATH)`, `$(DDK_LIB_PATH)`, `$(IFSKIT_INC_PATH)`, `$(SDK_LIB_PATH)`, ...)
 *   as properties for the project evaluator ({@link kitProperties}): include macros name mingw-w64's header
 *   folders (the build puts them, and winpe-lab's support headers, on the include path in the right order);
 *   library macros name {@link KIT_LIB_ROOT}, under which a library path only names a library the toolchain
 *   provides ({@link classifyLibrary}).
 * - Import libraries, for x64 and ARM64 alike, generated with `llvm-dlltool` from an export list: the exports of
 *   mingw-w64's x64 import library of the same name (its symbols read with `llvm-nm`, its DLL name from the
 *   archive), the support `.def` files (`support/importlibs/`: msvcrt.dll, fltmgr.sys, newer ntoskrnl exports) and
 *   {@link ARM64_EXPORTS}.
 * - Static libraries compiled from winpe-lab's own sources (`support/`): the console start-up code and C runtime
 *   glue over msvcrt.dll (`winpe-crt.lib`), the kernel-mode runtime (`winpe-km.lib`) and wdmsec.lib.
 * - Case-insensitive header lookup: a clang virtual-file-system overlay (`-ivfsoverlay`, `case-sensitive: false`)
 *   listing every header folder, so `#include <Windows.h>` finds mingw-w64's `windows.h` as on Windows.
 *
 * Everything generated goes to the cache folder, keyed by the content it is made from (never /usr).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { copyFileAtomic, produceAtomically, writeFileAtomic } from "../../runtime/atomic";
import { sha256, sha256File, stableStringify } from "../../runtime/digest";
import { runTool } from "../../runtime/exec";
import { packageFile } from "../../runtime/paths";
import { sealedIntact, sealFile } from "./build-cache";

/** Build platforms (Visual Studio names). */
export type BuildPlatform = "x64" | "ARM64";

/** Where Debian's mingw-w64-x86-64-dev puts headers and import libraries. */
export const MINGW_ROOT = "/usr/x86_64-w64-mingw32";

/** A support file shipped with winpe-lab (`toolchains/open/support/...`). */
export function supportFile(...parts: string[]): string {
  return packageFile("toolchains", "open", "support", ...parts);
}

/** Header folders of winpe-lab's support files: for both modes, and the kernel-mode wrappers. */
export function supportIncludeDirs(): { common: string; kernel: string } {
  return { common: supportFile("include"), kernel: supportFile("include-km") };
}

/**
 * A folder that does not exist: the WDK/SDK library macros expand below it, so `$(DDK_LIB_PATH)\wdmsec.lib`
 * reads as a library name the toolchain resolves itself.
 */
export const KIT_LIB_ROOT = "/winpe-lab-kit/lib";

/** MSBuild properties the WDK's and Visual C++'s imports define, as the open toolchain provides them. */
export function kitProperties(platform: BuildPlatform): Record<string, string> {
  const inc = path.join(MINGW_ROOT, "include");
  const ddk = path.join(inc, "ddk");
  const km = `${KIT_LIB_ROOT}/km`;
  const um = `${KIT_LIB_ROOT}/um`;
  const props: Record<string, string> = {
    DDK_INC_PATH: ddk,
    KM_IncludePath: ddk,
    IFSKIT_INC_PATH: ddk,
    WDK_IncludePath: ddk,
    SDK_INC_PATH: inc,
    UM_IncludePath: inc,
    WDK_UM_INC_PATH: inc,
    KIT_SHARED_INC_PATH: inc,
    KIT_SHARED_IncludePath: inc,
    KIT_SHARED_INC_PATH_WDK: inc,
    CRT_IncludePath: inc,
    CRT_INC_PATH: inc,
    WindowsSDK_IncludePath: inc,
    VC_IncludePath: inc,
    UniversalCRT_IncludePath: inc,
    DDK_LIB_PATH: km,
    WindowsDDK_LibraryPath: km,
    KM_LibraryPath: km,
    SDK_LIB_PATH: um,
    WDK_UM_LIB_PATH: um,
    UM_LibraryPath: um,
    WindowsSDK_LibraryPath_x64: um,
    WindowsSDK_LibraryPath_ARM64: um,
    VC_LibraryPath_x64: um,
    VC_LibraryPath_ARM64: um,
    UniversalCRT_LibraryPath_x64: um,
    UniversalCRT_LibraryPath_ARM64: um,
    DDKPlatform: platform === "x64" ? "x64" : "arm64",
    InfArch: platform === "x64" ? "amd64" : "arm64",
    _NT_TARGET_VERSION_WIN7: "0x0601",
    _NT_TARGET_VERSION_WIN8: "0x0602",
    _NT_TARGET_VERSION_WINBLUE: "0x0603",
    _NT_TARGET_VERSION_WINTHRESHOLD: "0x0A00",
    _NT_TARGET_VERSION_WIN10: "0x0A00",
  };
  return props;
}

/** Properties the WDK's imports derive from the project's own (TargetVersion, PlatformToolset). */
export function derivedKitProperties(prop: (name: string) => string): Record<string, string> {
  const version: Record<string, string> = {
    windows7: "0x0601",
    windows8: "0x0602",
    "windowsv6.3": "0x0603",
    windows10: "0x0A00",
  };
  const toolset = prop("PlatformToolset");
  return {
    _NT_TARGET_VERSION: version[(prop("TargetVersion") || "Windows10").toLowerCase()] ?? "0x0A00",
    IsKernelModeToolset: /kernelmode/i.test(toolset) ? "true" : "false",
    IsUserModeToolset: /kernelmode/i.test(toolset) ? "false" : "true",
  };
}

// ---------------------------------------------------------------------------------------------------
// Libraries
// ---------------------------------------------------------------------------------------------------

/** How a library a project names is provided. */
export type LibraryProvision =
  /** an import library generated for the DLL/driver `dll` */
  | { kind: "import"; name: string }
  /** one of winpe-lab's static libraries */
  | { kind: "static"; name: "wdmsec" }
  /** nothing to link: what the WDK library holds is provided otherwise (the reason says how) */
  | { kind: "provided"; reason: string };

/** WDK/Visual C++ static libraries whose content the open toolchain provides otherwise (lower-case base name). */
const PROVIDED: Record<string, { mode: "driver" | "application" | "both"; reason: string }> = {
  ntstrsafe: { mode: "driver", reason: "ntstrsafe.h's functions are compiled inline" },
  strsafe: { mode: "application", reason: "strsafe.h's functions are compiled inline" },
  rtlver: { mode: "driver", reason: "in winpe-km.lib" },
  libcntpr: { mode: "driver", reason: "the kernel C runtime functions are ntoskrnl.exe exports" },
  bufferoverflowk: { mode: "driver", reason: "no /GS security cookies are generated" },
  bufferoverflowfastfailk: { mode: "driver", reason: "no /GS security cookies are generated" },
  bufferoverflowu: { mode: "application", reason: "no /GS security cookies are generated" },
  libcmt: { mode: "application", reason: "the C runtime is msvcrt.dll (winpe-crt.lib + msvcrt.lib)" },
  libcmtd: { mode: "application", reason: "the C runtime is msvcrt.dll (winpe-crt.lib + msvcrt.lib)" },
  msvcrtd: { mode: "application", reason: "the C runtime is msvcrt.dll (winpe-crt.lib + msvcrt.lib)" },
  libucrt: { mode: "application", reason: "the C runtime is msvcrt.dll (winpe-crt.lib + msvcrt.lib)" },
  libucrtd: { mode: "application", reason: "the C runtime is msvcrt.dll (winpe-crt.lib + msvcrt.lib)" },
  ucrt: { mode: "application", reason: "the C runtime is msvcrt.dll (winpe-crt.lib + msvcrt.lib)" },
  ucrtd: { mode: "application", reason: "the C runtime is msvcrt.dll (winpe-crt.lib + msvcrt.lib)" },
  libvcruntime: { mode: "application", reason: "the C runtime is msvcrt.dll (winpe-crt.lib + msvcrt.lib)" },
  libvcruntimed: { mode: "application", reason: "the C runtime is msvcrt.dll (winpe-crt.lib + msvcrt.lib)" },
  vcruntime: { mode: "application", reason: "the C runtime is msvcrt.dll (winpe-crt.lib + msvcrt.lib)" },
  vcruntimed: { mode: "application", reason: "the C runtime is msvcrt.dll (winpe-crt.lib + msvcrt.lib)" },
  oldnames: { mode: "application", reason: "msvcrt.dll exports the old names itself" },
  legacy_stdio_definitions: { mode: "application", reason: "msvcrt.dll exports printf and scanf itself" },
};

/** Support `.def` files: libraries mingw-w64 lacks, and exports newer than mingw-w64's libraries. */
const SUPPORT_DEFS: Record<string, { file: string; replaces: boolean }> = {
  msvcrt: { file: "msvcrt.def", replaces: true },
  fltmgr: { file: "fltmgr.def", replaces: true },
  ntoskrnl: { file: "ntoskrnl-additions.def", replaces: false },
};

/** DLLs a driver may import from (kernel-mode modules); anything else is a user-mode library. */
function isKernelModule(dll: string): boolean {
  const d = dll.toLowerCase();
  return (
    d === "ntoskrnl.exe" ||
    d.endsWith(".sys") ||
    ["hal.dll", "kdcom.dll", "bootvid.dll", "ci.dll", "pshed.dll", "clfs.sys"].includes(d)
  );
}

/**
 * How the library `base` (lower-case name without `.lib`) is provided for a driver or an application, or a
 * sentence saying why it is not (null means: no such library).
 */
export function classifyLibrary(
  base: string,
  kind: "driver" | "application",
): LibraryProvision | { kind: "unavailable"; reason: string } {
  const p = PROVIDED[base];
  if (p && (p.mode === "both" || p.mode === kind)) return { kind: "provided", reason: p.reason };
  if (base === "wdmsec") {
    return kind === "driver"
      ? { kind: "static", name: "wdmsec" }
      : { kind: "unavailable", reason: "wdmsec.lib is a kernel-mode library" };
  }
  const dll = importDllName(base);
  if (dll === null) {
    const mingw = path.join(MINGW_ROOT, "lib", `lib${base}.a`);
    return {
      kind: "unavailable",
      reason: fs.existsSync(mingw)
        ? `mingw-w64's lib${base}.a is a static library compiled for x64 Windows user mode, not an import library`
        : "neither mingw-w64 nor winpe-lab's support files provide it",
    };
  }
  if (kind === "driver" && !isKernelModule(dll)) {
    return { kind: "unavailable", reason: `it imports from ${dll}, a user-mode DLL` };
  }
  if (kind === "application" && isKernelModule(dll)) {
    return { kind: "unavailable", reason: `it imports from ${dll}, a kernel-mode module` };
  }
  return { kind: "import", name: base };
}

const dllNameMemo = new Map<string, string | null>();

/** The DLL an import library stands for, from the support .def or mingw-w64's import library; null: none. */
export function importDllName(base: string): string | null {
  const memo = dllNameMemo.get(base);
  if (memo !== undefined) return memo;
  let dll: string | null = null;
  const def = SUPPORT_DEFS[base];
  if (def?.replaces) {
    dll = /^LIBRARY\s+(\S+)/m.exec(fs.readFileSync(supportFile("importlibs", def.file), "utf8"))?.[1] ?? null;
  } else if (ARM64_EXPORTS[base]) {
    dll = ARM64_EXPORTS[base]!.dll;
  } else {
    const lib = path.join(MINGW_ROOT, "lib", `lib${base}.a`);
    dll = fs.existsSync(lib) ? mingwImportDllName(lib) : null;
  }
  dllNameMemo.set(base, dll);
  return dll;
}

/** The DLL name in a mingw-w64 import library (the `.idata$7` string of its tail member), without running tools. */
function mingwImportDllName(lib: string): string | null {
  // mingw-w64's dlltool puts the DLL name, NUL-terminated, in the .idata$7 section of one member; it is the
  // only printable name ending in a module extension in the archive
  const text = fs.readFileSync(lib).toString("latin1");
  // find each `.<ext>\0` first, then take the name characters before it (one regex with the name part in front
  // tried a match at every byte of a multi-megabyte archive: ~35 ms per library on every program run)
  const names: string[] = [];
  for (const m of text.matchAll(/\.(?:dll|sys|exe|drv|cpl|ocx)\0/gi)) {
    let start = m.index!;
    while (start > 0 && /[A-Za-z0-9_.-]/.test(text[start - 1]!)) start--;
    if (start < m.index!) names.push(text.slice(start, m.index! + m[0].length - 1));
  }
  const counted = new Map<string, number>();
  for (const n of names) counted.set(n.toLowerCase(), (counted.get(n.toLowerCase()) ?? 0) + 1);
  if (counted.size === 0) return null;
  // the archive's own member names (lib<x>s00001.o) never end in a module extension; the DLL name may appear
  // in the import descriptor and in symbol names, so take the most frequent
  return [...counted.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]![0];
}

/**
 * Exports of the ARM64 import libraries that winpe-lab lists itself (added to what mingw-w64's x64 import
 * library of the same name exports). Names ending in ` DATA` are data exports. Written from the documented
 * cross-architecture APIs; not checked against an ARM64 Windows image here.
 */
export const ARM64_EXPORTS: Readonly<Record<string, { dll: string; names: readonly string[] }>> = {
  ntoskrnl: {
    dll: "ntoskrnl.exe",
    names: `DbgPrint DbgPrintEx DbgBreakPoint KeBugCheck KeBugCheckEx RtlAssert __C_specific_handler __chkstk
      IoCreateDevice IoDeleteDevice IoCreateSymbolicLink IoDeleteSymbolicLink IofCompleteRequest IofCallDriver
      IoAllocateMdl IoFreeMdl IoAllocateIrp IoFreeIrp IoInitializeIrp IoReuseIrp IoCancelIrp
      IoBuildDeviceIoControlRequest IoBuildSynchronousFsdRequest IoBuildAsynchronousFsdRequest
      IoGetDeviceObjectPointer IoGetAttachedDeviceReference IoAttachDeviceToDeviceStack IoDetachDevice
      IoGetCurrentProcess IoThreadToProcess IoIs32bitProcess IoGetRequestorProcessId IoIsWdmVersionAvailable
      IoRegisterDeviceInterface IoSetDeviceInterfaceState IoOpenDeviceRegistryKey IoGetDeviceProperty
      IoWMIRegistrationControl IoInitializeRemoveLockEx IoAcquireRemoveLockEx IoReleaseRemoveLockEx
      IoReleaseRemoveLockAndWaitEx IoCsqInitialize IoCsqInsertIrp IoCsqRemoveNextIrp IoCsqRemoveIrp
      IoAllocateWorkItem IoFreeWorkItem IoQueueWorkItem IoGetStackLimits IoRegisterShutdownNotification
      IoUnregisterShutdownNotification IoCreateSynchronizationEvent IoCreateNotificationEvent IoStartNextPacket
      IoSetCompletionRoutineEx IoAllocateErrorLogEntry IoWriteErrorLogEntry IoRegisterPlugPlayNotification
      IoUnregisterPlugPlayNotificationEx IoInvalidateDeviceRelations IoGetConfigurationInformation
      MmMapLockedPagesSpecifyCache MmUnmapLockedPages MmProbeAndLockPages MmUnlockPages MmBuildMdlForNonPagedPool
      MmGetSystemRoutineAddress MmIsAddressValid MmMapIoSpace MmUnmapIoSpace MmAllocateContiguousMemory
      MmFreeContiguousMemory MmGetPhysicalAddress MmAllocatePagesForMdlEx MmFreePagesFromMdl
      MmProbeAndLockProcessPages MmQuerySystemSize
      ExAllocatePool ExAllocatePoolWithTag ExAllocatePool2 ExAllocatePool3 ExFreePool ExFreePoolWithTag
      ExAcquireFastMutex ExReleaseFastMutex ExAcquireResourceExclusiveLite ExAcquireResourceSharedLite
      ExReleaseResourceLite ExInitializeResourceLite ExDeleteResourceLite ExInitializeNPagedLookasideList
      ExDeleteNPagedLookasideList ExInitializePagedLookasideList ExDeletePagedLookasideList ExQueueWorkItem
      ExRaiseStatus ExSystemTimeToLocalTime ExUuidCreate ExGetPreviousMode ExInterlockedInsertTailList
      ExInterlockedInsertHeadList ExInterlockedRemoveHeadList
      KeInitializeEvent KeSetEvent KeResetEvent KeClearEvent KeReadStateEvent KeWaitForSingleObject
      KeWaitForMultipleObjects KeAcquireSpinLockRaiseToDpc KeReleaseSpinLock KeAcquireSpinLockAtDpcLevel
      KeReleaseSpinLockFromDpcLevel KeAcquireInStackQueuedSpinLock KeReleaseInStackQueuedSpinLock
      KeInitializeDpc KeInsertQueueDpc KeRemoveQueueDpc KeFlushQueuedDpcs KeSetTargetProcessorDpc
      KeSetImportanceDpc KeInitializeTimer KeInitializeTimerEx KeSetTimer KeSetTimerEx KeCancelTimer
      KeDelayExecutionThread KeInitializeMutex KeReleaseMutex KeInitializeSemaphore KeReleaseSemaphore
      KeEnterCriticalRegion KeLeaveCriticalRegion KeEnterGuardedRegion KeLeaveGuardedRegion
      KeInitializeGuardedMutex KeAcquireGuardedMutex KeReleaseGuardedMutex KeQuerySystemTimePrecise
      KeQueryInterruptTimePrecise KeQueryTimeIncrement KeGetCurrentProcessorNumberEx KeQueryActiveProcessorCountEx
      KeStackAttachProcess KeUnstackDetachProcess KeRegisterBugCheckCallback KeDeregisterBugCheckCallback
      KeIpiGenericCall KeGenericCallDpc KeSignalCallDpcDone KeSignalCallDpcSynchronize
      KeRevertToUserAffinityThreadEx KeSetSystemAffinityThreadEx KeSetPriorityThread KeQueryPriorityThread
      KeAreApcsDisabled
      PsGetCurrentProcessId PsGetCurrentThreadId PsGetCurrentThread KeGetCurrentThread PsCreateSystemThread PsTerminateSystemThread
      PsSetCreateProcessNotifyRoutine PsSetCreateProcessNotifyRoutineEx PsSetCreateThreadNotifyRoutine
      PsRemoveCreateThreadNotifyRoutine PsSetLoadImageNotifyRoutine PsRemoveLoadImageNotifyRoutine
      PsLookupProcessByProcessId PsLookupThreadByThreadId PsGetProcessId PsGetVersion PsIsSystemThread
      ObReferenceObjectByHandle ObReferenceObjectByPointer ObfReferenceObject ObfDereferenceObject
      ObDereferenceObjectDeferDelete ObRegisterCallbacks ObUnRegisterCallbacks ObOpenObjectByPointer
      RtlInitUnicodeString RtlInitAnsiString RtlInitString RtlCopyUnicodeString RtlAppendUnicodeStringToString
      RtlAppendUnicodeToString RtlCompareUnicodeString RtlEqualUnicodeString RtlUnicodeStringToAnsiString
      RtlAnsiStringToUnicodeString RtlFreeUnicodeString RtlFreeAnsiString RtlIntegerToUnicodeString
      RtlUnicodeStringToInteger RtlUpcaseUnicodeString RtlUpcaseUnicodeChar RtlDowncaseUnicodeChar
      RtlHashUnicodeString RtlGetVersion RtlCompareMemory RtlQueryRegistryValues RtlWriteRegistryValue
      RtlCheckRegistryKey RtlCreateRegistryKey RtlRandomEx RtlInitializeBitMap RtlClearAllBits RtlSetBits
      RtlClearBits RtlFindClearBitsAndSet RtlAreBitsClear RtlTimeToTimeFields RtlTimeFieldsToTime
      RtlStringFromGUID RtlGUIDFromString RtlCaptureStackBackTrace RtlCaptureContext RtlLookupFunctionEntry
      RtlVirtualUnwind RtlUnwindEx RtlRaiseException RtlIsNtDdiVersionAvailable RtlValidSecurityDescriptor
      RtlCreateSecurityDescriptor RtlSetDaclSecurityDescriptor RtlLengthSecurityDescriptor
      ZwClose ZwCreateFile ZwOpenFile ZwReadFile ZwWriteFile ZwQueryInformationFile ZwSetInformationFile
      ZwCreateKey ZwOpenKey ZwQueryValueKey ZwSetValueKey ZwDeleteKey ZwDeleteValueKey ZwEnumerateKey
      ZwEnumerateValueKey ZwFlushKey ZwCreateSection ZwMapViewOfSection ZwUnmapViewOfSection ZwOpenSection
      ZwQuerySystemInformation ZwWaitForSingleObject ZwCreateEvent ZwSetEvent ZwQueryDirectoryFile
      ZwDeviceIoControlFile ZwFsControlFile ZwOpenProcess ZwTerminateProcess ZwQueryInformationProcess
      ZwAllocateVirtualMemory ZwFreeVirtualMemory ZwOpenSymbolicLinkObject ZwQuerySymbolicLinkObject
      ZwMakeTemporaryObject ZwLoadDriver ZwUnloadDriver
      SeAccessCheck SeCaptureSubjectContext SeReleaseSubjectContext SeSinglePrivilegeCheck
      SeLockSubjectContext SeUnlockSubjectContext CmRegisterCallback CmRegisterCallbackEx CmUnRegisterCallback
      PoStartNextPowerIrp PoCallDriver PoRequestPowerIrp PoSetPowerState
      EtwRegister EtwUnregister EtwWrite EtwWriteTransfer EtwEventEnabled WmiTraceMessage
      ProbeForRead ProbeForWrite
      memcpy memmove memset memcmp memchr strlen strcmp strncmp strcpy strncpy strcat strchr strrchr strstr
      _stricmp _strnicmp wcslen wcscmp wcsncmp wcscpy wcsncpy wcscat wcschr wcsrchr wcsstr _wcsicmp _wcsnicmp
      towlower towupper tolower toupper _snprintf _snwprintf _vsnprintf _vsnwprintf sprintf swprintf vsprintf
      atoi atol strtoul qsort bsearch rand srand _itoa _itow _ultoa
      IoFileObjectType DATA,IoDeviceObjectType DATA,IoDriverObjectType DATA,PsProcessType DATA,PsThreadType DATA,
      PsInitialSystemProcess DATA,ExEventObjectType DATA,SeExports DATA,MmSystemRangeStart DATA,
      MmHighestUserAddress DATA,MmUserProbeAddress DATA,KdDebuggerEnabled DATA,KdDebuggerNotPresent DATA,
      InitSafeBootMode DATA,NlsMbCodePageTag DATA,CmKeyObjectType DATA,SeTokenObjectType DATA`
      .split(/[\s,]+/)
      .filter((s) => s.length > 0)
      .reduce<string[]>((acc, s) => {
        if (s === "DATA") acc[acc.length - 1] += " DATA";
        else acc.push(s);
        return acc;
      }, []),
  },
  hal: {
    dll: "hal.dll",
    names: [
      "KeQueryPerformanceCounter",
      "KeStallExecutionProcessor",
      "KeGetCurrentIrql",
      "KeLowerIrql",
      "KfRaiseIrql",
      "KeRaiseIrqlToDpcLevel",
      "KeRaiseIrqlToSynchLevel",
    ],
  },
  kernel32: {
    dll: "kernel32.dll",
    names: `ExitProcess GetStdHandle WriteFile ReadFile WriteConsoleA WriteConsoleW ReadConsoleA ReadConsoleW
      GetLastError SetLastError GetCurrentDirectoryA GetCurrentDirectoryW SetCurrentDirectoryA SetCurrentDirectoryW
      GetFileAttributesA GetFileAttributesW CreateFileA CreateFileW DeviceIoControl CloseHandle
      GetModuleHandleA GetModuleHandleW GetModuleFileNameA GetModuleFileNameW GetProcAddress LoadLibraryA
      LoadLibraryW FreeLibrary GetCommandLineA GetCommandLineW GetEnvironmentVariableA GetEnvironmentVariableW
      SetEnvironmentVariableA SetEnvironmentVariableW ExpandEnvironmentStringsA ExpandEnvironmentStringsW
      Sleep GetTickCount GetTickCount64 QueryPerformanceCounter QueryPerformanceFrequency GetSystemTimeAsFileTime
      GetLocalTime GetSystemTime GetProcessHeap HeapAlloc HeapFree HeapReAlloc HeapSize VirtualAlloc VirtualFree
      VirtualProtect CreateEventA CreateEventW SetEvent ResetEvent WaitForSingleObject WaitForMultipleObjects
      CreateThread ExitThread GetExitCodeThread GetCurrentProcess GetCurrentProcessId GetCurrentThread
      GetCurrentThreadId TerminateProcess CreateProcessA CreateProcessW GetExitCodeProcess OutputDebugStringA
      OutputDebugStringW FormatMessageA FormatMessageW LocalAlloc LocalFree GlobalAlloc GlobalFree
      lstrlenA lstrlenW lstrcpyA lstrcpyW lstrcmpA lstrcmpW lstrcmpiA lstrcmpiW lstrcatA lstrcatW
      MultiByteToWideChar WideCharToMultiByte GetFullPathNameA GetFullPathNameW DeleteFileA DeleteFileW
      CopyFileA CopyFileW MoveFileExA MoveFileExW CreateDirectoryA CreateDirectoryW RemoveDirectoryA
      RemoveDirectoryW FindFirstFileA FindFirstFileW FindNextFileA FindNextFileW FindClose GetFileSize
      GetFileSizeEx SetFilePointer SetFilePointerEx FlushFileBuffers GetOverlappedResult CancelIo DuplicateHandle
      GetVersionExA GetVersionExW GetSystemInfo GetNativeSystemInfo IsDebuggerPresent DebugBreak RaiseException
      SetUnhandledExceptionFilter GetConsoleMode SetConsoleMode AllocConsole FreeConsole
      GetConsoleScreenBufferInfo SetConsoleTextAttribute FlushConsoleInputBuffer GetStartupInfoA GetStartupInfoW
      InitializeCriticalSection EnterCriticalSection LeaveCriticalSection DeleteCriticalSection GetTempPathA
      GetTempPathW GetTempFileNameA GetTempFileNameW GetWindowsDirectoryA GetWindowsDirectoryW
      GetSystemDirectoryA GetSystemDirectoryW SetErrorMode GetComputerNameA GetComputerNameW`
      .split(/\s+/)
      .filter((s) => s.length > 0),
  },
  advapi32: {
    dll: "advapi32.dll",
    names: `OpenSCManagerA OpenSCManagerW CreateServiceA CreateServiceW OpenServiceA OpenServiceW StartServiceA
      StartServiceW ControlService DeleteService CloseServiceHandle QueryServiceStatus QueryServiceStatusEx
      QueryServiceConfigA QueryServiceConfigW ChangeServiceConfigA ChangeServiceConfigW EnumServicesStatusExA
      EnumServicesStatusExW RegOpenKeyExA RegOpenKeyExW RegCreateKeyExA RegCreateKeyExW RegQueryValueExA
      RegQueryValueExW RegSetValueExA RegSetValueExW RegDeleteValueA RegDeleteValueW RegDeleteKeyA RegDeleteKeyW
      RegEnumKeyExA RegEnumKeyExW RegEnumValueA RegEnumValueW RegCloseKey RegGetValueA RegGetValueW
      OpenProcessToken GetTokenInformation AdjustTokenPrivileges LookupPrivilegeValueA LookupPrivilegeValueW
      GetUserNameA GetUserNameW AllocateAndInitializeSid FreeSid CheckTokenMembership CryptAcquireContextA
      CryptAcquireContextW CryptReleaseContext CryptGenRandom`
      .split(/\s+/)
      .filter((s) => s.length > 0),
  },
};

/** Version of the export-list derivation below; part of the cache key. */
const IMPORTLIB_VERSION = 2;

/**
 * The export list of a mingw-w64 x64 import library, read with llvm-nm: every `__imp_X` defines export X, a
 * data export when the archive has no `X` thunk.
 */
async function mingwExports(lib: string, resource: string): Promise<string[]> {
  const r = await runTool("llvm-nm", ["--defined-only", "--format=just-symbols", lib], { resource, secrets: [] });
  const defined = new Set(
    r.stdout
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l.length > 0 && !l.endsWith(":")),
  );
  const out: string[] = [];
  for (const s of defined) {
    if (!s.startsWith("__imp_")) continue;
    const name = s.slice("__imp_".length);
    if (name.length === 0) continue;
    out.push(defined.has(name) ? name : `${name} DATA`);
  }
  return out;
}

function parseDef(text: string): { dll: string | null; names: string[] } {
  const dll = /^LIBRARY\s+(\S+)/m.exec(text)?.[1] ?? null;
  const names: string[] = [];
  let inExports = false;
  for (const raw of text.split("\n")) {
    const line = raw.replace(/;.*$/, "").trim();
    if (line === "") continue;
    if (/^EXPORTS$/i.test(line)) {
      inExports = true;
      continue;
    }
    if (/^LIBRARY\b/i.test(line)) continue;
    if (inExports) names.push(line.replace(/\s+DATA$/i, " DATA"));
  }
  return { dll, names };
}

/** The `.def` text of the import library `base` (union of its sources, sorted), or null when there is none. */
export async function importLibraryDef(base: string, resource: string): Promise<string | null> {
  const names = new Map<string, string>(); // name -> entry ("X" or "X DATA")
  let dll = importDllName(base);
  if (dll === null) return null;
  const add = (entry: string) => {
    const name = entry.replace(/ DATA$/, "");
    if (!names.has(name) || entry.endsWith(" DATA")) names.set(name, entry);
  };
  const support = SUPPORT_DEFS[base];
  if (support) {
    const def = parseDef(fs.readFileSync(supportFile("importlibs", support.file), "utf8"));
    if (support.replaces && def.dll) dll = def.dll;
    for (const n of def.names) add(n);
  }
  if (!support?.replaces) {
    const lib = path.join(MINGW_ROOT, "lib", `lib${base}.a`);
    if (fs.existsSync(lib)) for (const n of await mingwExports(lib, resource)) add(n);
  }
  for (const n of ARM64_EXPORTS[base]?.names ?? []) add(n);
  if (names.size === 0) return null;
  return `LIBRARY ${dll}\nEXPORTS\n${[...names.values()]
    .sort()
    .map((n) => `  ${n}`)
    .join("\n")}\n`;
}

/**
 * Make (or find in the cache) the import library `base` for `platform` with llvm-dlltool. The cache entry is keyed
 * by the content of what its export list is made of (mingw-w64's import library, winpe-lab's .def file, the ARM64
 * list) and lld's version, so a cached library is found without running a tool; it is checked against its recorded
 * sha256 (a corrupt one is reported through `onNotice` and made again).
 *
 * @returns the library path, or null when no export list exists for `base`
 */
export async function ensureImportLibrary(
  base: string,
  platform: BuildPlatform,
  cacheDir: string,
  lldVersion: string,
  resource: string,
  onProgress: (line: string) => void,
  onNotice?: (message: string) => void,
): Promise<string | null> {
  const memoKey = `${base}|${platform}|${cacheDir}`;
  const memo = importLibMemo.get(memoKey);
  if (memo !== undefined && sealedIntact(memo, onNotice)) return memo;
  const dll = importDllName(base);
  if (dll === null) return null;
  const support = SUPPORT_DEFS[base];
  const mingwLib = path.join(MINGW_ROOT, "lib", `lib${base}.a`);
  const key = sha256(
    stableStringify({
      v: IMPORTLIB_VERSION,
      base,
      platform,
      lld: lldVersion,
      dll,
      support: support ? { ...support, sha256: sha256File(supportFile("importlibs", support.file)) } : null,
      mingw: !support?.replaces && fs.existsSync(mingwLib) ? sha256File(mingwLib) : null,
      arm64: ARM64_EXPORTS[base] ?? null,
    }),
  ).slice(0, 16);
  const dir = path.join(cacheDir, `implib-${platform.toLowerCase()}-${key}`);
  const target = path.join(dir, `${base}.lib`);
  if (!sealedIntact(target, onNotice)) {
    const def = await importLibraryDef(base, resource);
    if (def === null) return null;
    fs.mkdirSync(dir, { recursive: true });
    const defFile = path.join(dir, `${base}.def`);
    writeFileAtomic(defFile, def);
    onProgress(`import library ${base}.lib (${platform}) from ${base}.def`);
    await produceAtomically(target, (tmp) =>
      runTool("llvm-dlltool", ["-m", platform === "x64" ? "i386:x86-64" : "arm64", "-d", defFile, "-l", tmp], {
        resource,
        secrets: [],
      }),
    );
    sealFile(target);
  }
  importLibMemo.set(memoKey, target);
  return target;
}
const importLibMemo = new Map<string, string>();

// ---------------------------------------------------------------------------------------------------
// winpe-lab's static libraries
// ---------------------------------------------------------------------------------------------------

/** A static library compiled from support sources. */
export type RuntimeLibrary = "winpe-crt" | "winpe-km" | "wdmsec";

/** The sources of each static library, per platform (paths under support/). */
export function runtimeSources(lib: RuntimeLibrary, platform: BuildPlatform): string[] {
  if (lib === "winpe-crt") {
    return [
      "crt/crt0-main.c",
      "crt/crt0-wmain.c",
      "crt/crtsections.c",
      "crt/stdio-glue.c",
      "crt/c99-glue.c",
      `crt/chkstk-${platform === "x64" ? "x64" : "arm64"}.S`,
    ];
  }
  if (lib === "winpe-km")
    return ["km-runtime/wdmlib.c", ...(platform === "x64" ? ["km-runtime/intrinsics-x64.c"] : [])];
  return ["km-runtime/wdmsec.c"];
}

/** Files a static library depends on besides its sources (headers under support/ it includes). */
function runtimeHeaders(lib: RuntimeLibrary): string[] {
  if (lib === "winpe-crt") return ["crt/crtinit.h"];
  if (lib === "wdmsec") return ["km-runtime/devobj_sddl.h"];
  return [];
}

/**
 * Compile and archive one of winpe-lab's static libraries for `platform` (cached by the content of its sources,
 * the compiler arguments and the clang version).
 *
 * @param includeArgv the compiler's include arguments for kernel-mode code (not used for winpe-crt)
 * @returns the library path and every support file it was made from (for the inputs hash)
 */
export async function ensureRuntimeLibrary(
  lib: RuntimeLibrary,
  platform: BuildPlatform,
  opts: {
    cacheDir: string;
    clangVersion: string;
    resourceDir: string;
    kernelIncludeArgv: string[];
    resource: string;
    onProgress: (line: string) => void;
    /** Told about a corrupt cached library (it is made again). */
    onNotice?: (message: string) => void;
  },
): Promise<{ path: string; inputs: string[] }> {
  const sources = runtimeSources(lib, platform).map((s) => supportFile(...s.split("/")));
  const headers = runtimeHeaders(lib).map((s) => supportFile(...s.split("/")));
  const triple = platform === "x64" ? "x86_64-pc-windows-msvc" : "aarch64-pc-windows-msvc";
  const base = [
    `--target=${triple}`,
    "-c",
    "-O2",
    "-g",
    "-gcodeview",
    "-ffile-compilation-dir=.",
    // no time stamp in the objects' COFF headers: the same sources give the same library
    "-mno-incremental-linker-compatible",
    "-fms-extensions",
    "-fgnuc-version=4.2.1",
    "-nostdinc",
  ];
  const argv =
    lib === "winpe-crt"
      ? [...base, "-isystem", path.join(opts.resourceDir, "include"), "-fno-builtin"]
      : [
          ...base,
          "-ffreestanding",
          "-funwind-tables",
          "-U__NO_INLINE__",
          ...opts.kernelIncludeArgv,
          ...(platform === "x64" ? ["-D_AMD64_", "-DAMD64"] : ["-D_ARM64_", "-DARM64"]),
          "-D_WIN64",
          "-D_WIN32_WINNT=0x0A00",
          "-DWINVER=0x0A00",
          "-DNTDDI_VERSION=0x0A000000",
          "-D_KERNEL_MODE",
          "-DWINNT=1",
        ];
  const content = [...sources, ...headers].map((f) => ({
    f: path.relative(supportFile(), f),
    h: sha256(fs.readFileSync(f)),
  }));
  const key = sha256(
    stableStringify({
      lib,
      platform,
      content,
      argv: argv.map((a) => (a.startsWith(opts.cacheDir) ? `<cache>${a.slice(opts.cacheDir.length)}` : a)),
      clang: opts.clangVersion,
    }),
  ).slice(0, 16);
  const dir = path.join(opts.cacheDir, `${lib}-${platform.toLowerCase()}-${key}`);
  const target = path.join(dir, `${lib}.lib`);
  if (!sealedIntact(target, opts.onNotice)) {
    fs.mkdirSync(dir, { recursive: true });
    const work = fs.mkdtempSync(path.join(dir, ".build-"));
    try {
      const objects: string[] = [];
      for (const [i, src] of sources.entries()) {
        const obj = path.join(work, `${i}-${path.basename(src).replace(/\.[^.]+$/, "")}.obj`);
        opts.onProgress(`compile <winpe-lab ${lib}> ${path.basename(src)} (${platform})`);
        await runTool("clang", [...argv, src, "-o", path.basename(obj)], {
          resource: opts.resource,
          secrets: [],
          cwd: work,
        });
        objects.push(obj);
      }
      const tmp = path.join(work, `${lib}.lib`);
      await runTool("llvm-lib", ["/nologo", `/out:${path.basename(tmp)}`, ...objects.map((o) => path.basename(o))], {
        resource: opts.resource,
        secrets: [],
        cwd: work,
      });
      copyFileAtomic(tmp, target);
      sealFile(target);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  }
  return { path: target, inputs: [...sources, ...headers] };
}

// ---------------------------------------------------------------------------------------------------
// Case-insensitive header lookup
// ---------------------------------------------------------------------------------------------------

/** Folders never listed in a project overlay (build output, version control, packages). */
const SKIPPED_DIRS = new Set([".git", ".svn", ".hg", ".vs", "node_modules", "packages", ".winpe-lab"]);

interface OverlayEntry {
  type: "file" | "directory";
  name: string;
  "external-contents"?: string;
  "use-external-name"?: boolean;
  contents?: OverlayEntry[];
}

function listTree(dir: string, budget: { left: number }, depth: number): OverlayEntry[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: OverlayEntry[] = [];
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (budget.left <= 0) break;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (SKIPPED_DIRS.has(e.name.toLowerCase()) || depth <= 0) continue;
      budget.left--;
      out.push({ type: "directory", name: e.name, contents: listTree(p, budget, depth - 1) });
    } else if (e.isFile() || e.isSymbolicLink()) {
      budget.left--;
      out.push({ type: "file", name: e.name, "external-contents": p });
    }
  }
  return out;
}

/** The outermost of a set of folders (a folder inside another is covered by it). */
export function outermostDirs(dirs: readonly string[]): string[] {
  const sorted = [...new Set(dirs.map((d) => path.resolve(d)))].sort();
  const out: string[] = [];
  for (const d of sorted) {
    if (out.some((o) => d === o || d.startsWith(o.endsWith(path.sep) ? o : o + path.sep))) continue;
    out.push(d);
  }
  return out;
}

/** An overlay's roots: each folder with its (recursive) listing. */
export type OverlayRoots = Array<{ type: "directory"; name: string; contents: OverlayEntry[] }>;

/**
 * The overlay roots of `dirs`: every file below them resolvable in any letter case.
 *
 * @param dirs folders to list (recursively, at most `maxEntries` entries and `maxDepth` levels)
 */
export function overlayRoots(dirs: readonly string[], maxEntries = 40_000, maxDepth = 8): OverlayRoots {
  const budget = { left: maxEntries };
  const list = outermostDirs(dirs).filter((r) => fs.existsSync(r) && fs.statSync(r).isDirectory());
  return list.map((r) => ({ type: "directory" as const, name: r, contents: listTree(r, budget, maxDepth) }));
}

/**
 * Make `file` (below one of `roots`) read as the content of `view` while keeping its own name (for #include
 * lookups relative to it, __FILE__ and diagnostics). Returns false when `file` is not listed in `roots`.
 */
export function redirectInOverlay(roots: OverlayRoots, file: string, view: string): boolean {
  for (const r of roots) {
    if (!file.startsWith(r.name.endsWith(path.sep) ? r.name : r.name + path.sep)) continue;
    let entries: OverlayEntry[] = r.contents;
    const parts = path.relative(r.name, file).split(path.sep);
    for (const [i, part] of parts.entries()) {
      const e = entries.find((x) => x.name === part);
      if (!e) return false;
      if (i === parts.length - 1) {
        if (e.type !== "file") return false;
        e["external-contents"] = view;
        e["use-external-name"] = false;
        return true;
      }
      if (e.type !== "directory" || !e.contents) return false;
      entries = e.contents;
    }
  }
  return false;
}

/**
 * A clang VFS overlay (JSON is YAML) with the given roots. One overlay per compile: clang 14 reports the
 * requested spelling instead of the file's real name when one overlay falls through to another.
 */
export function overlayText(roots: OverlayRoots): string {
  return JSON.stringify({ version: 0, "case-sensitive": "false", "use-external-names": true, roots });
}

const toolchainRootsMemo = new Map<string, OverlayRoots>();

/** The overlay roots of the toolchain's own header folders (listed once per process). */
export function toolchainOverlayRoots(dirs: readonly string[]): OverlayRoots {
  const key = dirs.join("\0");
  let roots = toolchainRootsMemo.get(key);
  if (roots === undefined) {
    roots = overlayRoots(dirs, 200_000, 16);
    toolchainRootsMemo.set(key, roots);
  }
  return roots;
}
