/**
 * The open toolchain's driver build: reads a Visual Studio solution or project (the same files the adk
 * toolchain hands to MSBuild) and builds its drivers and console applications with clang + lld-link for
 * x64 and ARM64, against the mingw-w64 headers (and their DDK headers for drivers).
 *
 * Recipe, per project of the solution configuration:
 * - drivers (ConfigurationType `Driver`, DriverType WDM): `clang --target=<x86_64|aarch64>-pc-windows-msvc
 *   -ffreestanding -fms-extensions -fgnuc-version=4.2.1 -nostdinc` with clang's resource headers, the
 *   mingw-w64 `include/ddk` and `include` folders and `-D_AMD64_`/`-D_ARM64_` (plus `-Werror=implicit-function-declaration`:
 *   a call to an undeclared function would only fail at link or load time); linked with `lld-link /driver:wdm
 *   /subsystem:native /entry:DriverEntry /nodefaultlib /Brepro` against import libraries of ntoskrnl.exe and hal.dll,
 *   then the PE checksum is written (what link.exe /RELEASE does);
 * - console applications (ConfigurationType `Application`): the same compiler, user-mode headers, and a small
 *   start-up object of ours instead of a C runtime (there is no arm64 C runtime here): `mainCRTStartup` calls
 *   `main(0, {NULL})` and `ExitProcess`, plus `memcpy`/`memmove`/`memset`/`memcmp` and `_fltused`. Apps may
 *   import from kernel32.dll and advapi32.dll (x64: any mingw-w64 import library);
 * - import libraries: x64 uses mingw-w64's (`/usr/x86_64-w64-mingw32/lib/lib<name>.a`); ARM64 uses libraries
 *   generated with `llvm-dlltool -m arm64` from `.def` files written from {@link ARM64_EXPORTS} (cached).
 *
 * ARM64 header patch: mingw-w64 10's `ddk/wdm.h` and `ddk/ntddk.h` stop at `#error Unknown Architecture` for
 * ARM64. {@link patchDdkHeaderForArm64} writes patched copies into the cache folder (never into /usr):
 * every `defined(_AMD64_)` in a preprocessor line becomes `(defined(_AMD64_) || defined(_ARM64_))` (the x64
 * structure layouts are the ARM64 ones: both are LLP64 with natural alignment), except ntddk.h's x86/x64
 * machine-check block; the `_M_AMD64` interlocked-intrinsic mapping also applies to `_M_ARM64`; and both
 * headers get an `#elif defined(_M_ARM64)` kernel section (IRQL levels, page size, KI_USER_SHARED_DATA) in
 * which the x64 inline functions that read CR8/GS (`KeGetCurrentIrql`, `KeLowerIrql`, `KfRaiseIrql`,
 * `KeRaiseIrqlToDpcLevel`, `KeRaiseIrqlToSynchLevel`, `KeGetCurrentThread`) are declared *unavailable*
 * (a use is a compile error naming the patch) and `PsGetCurrentThread` is the ntoskrnl import.
 *
 * Every input is hashed by content (sources, every header clang reports in its `-MD` dependency file, the
 * project and solution files, import libraries, the start-up code, the flags, and the clang/lld versions); no
 * timestamps. Outputs are verified with `llvm-readobj --file-headers` and with our own PE reader before they
 * are copied (atomically) into the output folder; objects go to a private temporary folder.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { importsFrom, PE_CHARACTERISTICS, type PeInfo, readPeHeaders } from "../../formats/pe";
import { readSln, solutionBuildPlan } from "../../formats/sln";
import {
  evaluateVcxproj,
  ProjectFormatError,
  readVcxproj,
  type VcxConfiguration,
  type VcxSource,
} from "../../formats/vcxproj";
import { copyFileAtomic, writeFileAtomic } from "../../runtime/atomic";
import { sha256, sha256File, stableStringify } from "../../runtime/digest";
import { WinpeError } from "../../runtime/errors";
import { runTool, ToolError } from "../../runtime/exec";
import { userCacheDir } from "../../runtime/paths";

// ---------------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------------

/** Build configurations the open toolchain accepts. */
export type BuildConfiguration = "Debug" | "Release";
/** Build platforms (Visual Studio names). */
export type BuildPlatform = "x64" | "ARM64";

/** Input of {@link buildProject}. */
export interface BuildInput {
  /** A `.sln` (every project with Build.0 in the configuration is built) or a `.vcxproj`. */
  project: string;
  /** `Debug` or `Release` (case-insensitive). */
  configuration: BuildConfiguration;
  /** `x64` or `ARM64` (case-insensitive). */
  platform: BuildPlatform;
  /** Folder that receives the outputs (`<TargetName><TargetExt>`, flat, like MSBuild's OutDir). Created when needed. */
  outDir: string;
  /** One line per compile, link and verification step. @default none (no progress output) */
  onProgress?: (line: string) => void;
  /** Cache for patched ARM64 DDK headers and generated import libraries. @default `<repo>/.work/cache/driver-build` */
  cacheDir?: string;
  /** Name recorded in the tool log (`WINPE_TOOL_LOG`). @default "driver-build" */
  resource?: string;
  /**
   * Called with every file about to be written to `outDir`, after everything is built and verified and before the
   * first write there: a caller refuses (throws) here, e.g. when a target holds a file it did not write.
   */
  beforeWrite?: (targets: readonly string[]) => void | Promise<void>;
}

/** One produced file. */
export interface BuiltFile {
  /** Absolute path in `outDir`. */
  path: string;
  /** Size in bytes. */
  size: number;
  /** sha256 (hex) of the file. */
  sha256: string;
  /** IMAGE_FILE_MACHINE_* (0x8664 x64, 0xAA64 ARM64). */
  machine: number;
  /** IMAGE_SUBSYSTEM_* (1 native for drivers, 3 console for applications). */
  subsystem: number;
  /** `driver` (.sys) or `application` (.exe). */
  kind: "driver" | "application";
  /** The .vcxproj that produced it. */
  project: string;
}

/** One hashed input file. */
export interface BuildInputFile {
  /** Absolute path. */
  path: string;
  /** sha256 (hex) of its content when the build ran. */
  sha256: string;
}

/** What {@link buildProject} returns. */
export interface BuildResult {
  /** Produced files, in solution build order. */
  outputs: BuiltFile[];
  /** sha256 over every input file's content, the flags and the toolchain versions (not timestamps, not outDir). */
  inputsHash: string;
  /** Every input file with its sha256, sorted by path (sources, headers, project files, libraries). */
  inputs: BuildInputFile[];
  /** First line of `clang --version`, e.g. `Debian clang version 14.0.6`. */
  toolchainVersion: string;
}

/** A bad input, a compile/link failure, or an output that fails verification. Names the file or field. */
export class BuildError extends WinpeError {
  constructor(
    message: string,
    /** The file concerned, when there is one. */
    readonly file?: string,
  ) {
    super(message);
    this.name = "BuildError";
  }
}

// ---------------------------------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------------------------------

/** Where Debian's mingw-w64-x86-64-dev puts headers and import libraries. */
export const MINGW_ROOT = "/usr/x86_64-w64-mingw32";

interface ArchFacts {
  triple: string;
  machine: number;
  lldMachine: string;
  defines: string[];
  dlltoolMachine: string;
}

const ARCH: Record<BuildPlatform, ArchFacts> = {
  x64: {
    triple: "x86_64-pc-windows-msvc",
    machine: 0x8664,
    lldMachine: "x64",
    defines: ["_AMD64_", "AMD64", "_WIN64"],
    dlltoolMachine: "i386:x86-64",
  },
  ARM64: {
    triple: "aarch64-pc-windows-msvc",
    machine: 0xaa64,
    lldMachine: "arm64",
    defines: ["_ARM64_", "ARM64", "_WIN64"],
    dlltoolMachine: "arm64",
  },
};

/** WDK TargetVersion -> (_WIN32_WINNT, NTDDI_VERSION, subsystem version). */
const TARGET_VERSIONS: Record<string, { winnt: string; ntddi: string; subsystem: string }> = {
  windows10: { winnt: "0x0A00", ntddi: "0x0A000000", subsystem: "10.0" },
  "windowsv6.3": { winnt: "0x0603", ntddi: "0x06030000", subsystem: "6.03" },
  windows8: { winnt: "0x0602", ntddi: "0x06020000", subsystem: "6.02" },
  windows7: { winnt: "0x0601", ntddi: "0x06010000", subsystem: "6.01" },
};

/** MSBuild's default AdditionalDependencies of applications (used where a project keeps `%(AdditionalDependencies)`). */
const DEFAULT_APP_LIBS = [
  "kernel32.lib",
  "user32.lib",
  "gdi32.lib",
  "winspool.lib",
  "comdlg32.lib",
  "advapi32.lib",
  "shell32.lib",
  "ole32.lib",
  "oleaut32.lib",
  "uuid.lib",
  "odbc32.lib",
  "odbccp32.lib",
];

/**
 * Exports of the ARM64 import libraries we generate (`llvm-dlltool -m arm64`). Names ending in ` DATA` are
 * data exports. The lists cover what WDM drivers and small console tools commonly use; they were written from
 * the documented cross-architecture APIs and are not checked against an ARM64 Windows image here. A function
 * missing from a list fails the ARM64 link with an error naming it.
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
      PsGetCurrentProcessId PsGetCurrentThreadId PsGetCurrentThread PsCreateSystemThread PsTerminateSystemThread
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
  hal: { dll: "hal.dll", names: ["KeQueryPerformanceCounter", "KeStallExecutionProcessor"] },
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

/**
 * Start-up code for console applications (the open toolchain has no C runtime): the entry point calls
 * `main(0, {NULL})` and exits with its result; the `mem*` functions compilers call implicitly; `_fltused`.
 * Compiled with `-fno-builtin` so the loops are not turned back into calls to themselves.
 */
export const APP_STARTUP_SOURCE = `/* winpe-lab open toolchain: start-up code for console applications (no C runtime). */
typedef unsigned int UINT;
typedef unsigned long long SIZE;
__declspec(dllimport) void __stdcall ExitProcess(UINT code);
int _fltused = 0x9875;
#ifndef WINPE_NO_MAIN_STARTUP
int main(int argc, char **argv);
static char *winpe_argv[1] = {0};
void __cdecl mainCRTStartup(void) { ExitProcess((UINT)main(0, winpe_argv)); }
#endif
void *memset(void *dst, int c, SIZE n) {
  volatile unsigned char *d = (volatile unsigned char *)dst;
  while (n--) *d++ = (unsigned char)c;
  return dst;
}
void *memcpy(void *dst, const void *src, SIZE n) {
  volatile unsigned char *d = (volatile unsigned char *)dst;
  const volatile unsigned char *s = (const volatile unsigned char *)src;
  while (n--) *d++ = *s++;
  return dst;
}
void *memmove(void *dst, const void *src, SIZE n) {
  volatile unsigned char *d = (volatile unsigned char *)dst;
  const volatile unsigned char *s = (const volatile unsigned char *)src;
  if (d < s) { while (n--) *d++ = *s++; }
  else { d += n; s += n; while (n--) *--d = *--s; }
  return dst;
}
int memcmp(const void *a, const void *b, SIZE n) {
  const volatile unsigned char *x = (const volatile unsigned char *)a;
  const volatile unsigned char *y = (const volatile unsigned char *)b;
  for (; n; n--, x++, y++) if (*x != *y) return *x < *y ? -1 : 1;
  return 0;
}
`;

// ---------------------------------------------------------------------------------------------------
// ARM64 DDK header patch
// ---------------------------------------------------------------------------------------------------

/** Version of the patch below; part of the cache key and of the inputs hash. */
const ARM64_PATCH_VERSION = 1;

const WDM_ARM64_SECTION = `#elif defined(_M_ARM64)
/** Kernel definitions for ARM64: added by winpe-lab's patch of the mingw-w64 headers (see PATCH.txt) **/
#define PASSIVE_LEVEL 0
#define LOW_LEVEL 0
#define APC_LEVEL 1
#define DISPATCH_LEVEL 2
#define CLOCK_LEVEL 13
#define IPI_LEVEL 14
#define DRS_LEVEL 14
#define POWER_LEVEL 14
#define PROFILE_LEVEL 15
#define HIGH_LEVEL 15
#define KI_USER_SHARED_DATA 0xFFFFF78000000000ULL
#define SharedUserData ((PKUSER_SHARED_DATA const)KI_USER_SHARED_DATA)
#define PAGE_SIZE 0x1000
#define PAGE_SHIFT 12L
typedef struct _KFLOATING_SAVE {
  ULONG Dummy;
} KFLOATING_SAVE, *PKFLOATING_SAVE;
#define KeGetDcacheFillSize() 1L
#define YieldProcessor __yield
#define KeFlushIoBuffers(_Mdl, _ReadOperation, _DmaOperation)
#define DbgRaiseAssertionFailure() __builtin_debugtrap()
#define WINPE_ARM64_UNAVAILABLE __attribute__((unavailable("not provided for ARM64 by winpe-lab's patch of the mingw-w64 DDK headers")))
WINPE_ARM64_UNAVAILABLE KIRQL KeGetCurrentIrql(VOID);
WINPE_ARM64_UNAVAILABLE VOID KeLowerIrql(KIRQL NewIrql);
WINPE_ARM64_UNAVAILABLE KIRQL KfRaiseIrql(KIRQL NewIrql);
#define KeRaiseIrql(a,b) *(b) = KfRaiseIrql(a)
WINPE_ARM64_UNAVAILABLE KIRQL KeRaiseIrqlToDpcLevel(VOID);
WINPE_ARM64_UNAVAILABLE KIRQL KeRaiseIrqlToSynchLevel(VOID);
WINPE_ARM64_UNAVAILABLE PKTHREAD KeGetCurrentThread(VOID);
#define _PSGETCURRENTTHREAD_
NTKERNELAPI PETHREAD NTAPI PsGetCurrentThread(VOID);
`;

const NTDDK_ARM64_SECTION = `#elif defined(_M_ARM64)
/* ARM64: added by winpe-lab's patch of the mingw-w64 headers (see PATCH.txt) */
#define PAUSE_PROCESSOR YieldProcessor();
#define KERNEL_STACK_SIZE 0x6000
#define KERNEL_LARGE_STACK_SIZE 0x12000
#define KERNEL_LARGE_STACK_COMMIT KERNEL_STACK_SIZE
#define EXCEPTION_READ_FAULT 0
#define EXCEPTION_WRITE_FAULT 1
#define EXCEPTION_EXECUTE_FAULT 8
`;

/** The text of PATCH.txt written beside the patched headers. */
export const ARM64_PATCH_DESCRIPTION = `winpe-lab: ARM64 patch of the mingw-w64 DDK headers (version ${ARM64_PATCH_VERSION})

mingw-w64 10's ddk/wdm.h and ddk/ntddk.h stop at "#error Unknown Architecture" for ARM64. These copies are
generated from the installed headers (the originals in ${MINGW_ROOT}/include/ddk are never modified):

1. In every preprocessor line, defined(_AMD64_) becomes (defined(_AMD64_) || defined(_ARM64_)): the x64
   structure layouts are the ARM64 ones (both LLP64, natural alignment). Not in ntddk.h's x86/x64
   machine-check block (between "#if defined(_X86_) || defined(_IA64_) || defined(_AMD64_)" and its #endif).
2. wdm.h: the _M_AMD64 mapping of Interlocked* to the compiler's _Interlocked* intrinsics also applies to
   _M_ARM64 (clang provides them for ARM64).
3. wdm.h and ntddk.h: an "#elif defined(_M_ARM64)" kernel section before the _M_ARM one: IRQL levels, page
   size, KI_USER_SHARED_DATA, YieldProcessor = __yield. The x64 inline functions that read CR8 or GS
   (KeGetCurrentIrql, KeLowerIrql, KfRaiseIrql, KeRaiseIrqlToDpcLevel, KeRaiseIrqlToSynchLevel,
   KeGetCurrentThread) are declared unavailable: using one is a compile error naming this patch.
   PsGetCurrentThread is declared as the ntoskrnl import instead of an inline function.
`;

function patchFail(name: string, what: string): never {
  throw new BuildError(
    `the installed mingw-w64 header ddk/${name} does not have the shape winpe-lab's ARM64 patch expects (${what}); ` +
      "the patch was written for mingw-w64 10 (Debian 12's mingw-w64-x86-64-dev)",
    path.join(MINGW_ROOT, "include", "ddk", name),
  );
}

/**
 * Apply the ARM64 patch (see the module comment and {@link ARM64_PATCH_DESCRIPTION}) to the text of
 * mingw-w64's `wdm.h` or `ntddk.h`.
 *
 * @param name `wdm.h` or `ntddk.h`
 * @param text the original header text
 * @returns the patched text
 * @throws BuildError when the header does not have the expected anchors (a different mingw-w64 version)
 */
export function patchDdkHeaderForArm64(name: "wdm.h" | "ntddk.h", text: string): string {
  const lines = text.split("\n");
  let skipFrom = -1;
  let skipTo = -1;
  if (name === "ntddk.h") {
    skipFrom = lines.findIndex((l) => l.trim() === "#if defined(_X86_) || defined(_IA64_) || defined(_AMD64_)");
    skipTo = lines.findIndex(
      (l, i) => i > skipFrom && l.startsWith("#endif // defined(_X86_) || defined(_IA64_) || defined(_AMD64_)"),
    );
    if (skipFrom < 0 || skipTo < 0) patchFail(name, "machine-check block not found");
  }
  for (let i = 0; i < lines.length; i++) {
    if (i >= skipFrom && i <= skipTo) continue;
    const l = lines[i]!;
    if (/^\s*#/.test(l) && l.includes("defined(_AMD64_)")) {
      lines[i] = l.split("defined(_AMD64_)").join("(defined(_AMD64_) || defined(_ARM64_))");
    }
  }
  let out = lines.join("\n");
  const replaceOnce = (anchor: string, replacement: string, what: string) => {
    const at = out.indexOf(anchor);
    if (at < 0 || out.indexOf(anchor, at + 1) >= 0) patchFail(name, `${what}: anchor not found exactly once`);
    out = out.slice(0, at) + replacement + out.slice(at + anchor.length);
  };
  if (name === "wdm.h") {
    replaceOnce(
      "#if defined (_M_AMD64)\n\n#define InterlockedExchangeAddSizeT",
      "#if defined (_M_AMD64) || defined(_M_ARM64)\n\n#define InterlockedExchangeAddSizeT",
      "interlocked intrinsics",
    );
    replaceOnce(
      "#elif defined(_M_ARM)\n#include <armddk.h>",
      `${WDM_ARM64_SECTION}#elif defined(_M_ARM)\n#include <armddk.h>`,
      "kernel section",
    );
  } else {
    replaceOnce(
      "#elif defined(_M_ARM)\n#else\n#error Unknown Architecture",
      `${NTDDK_ARM64_SECTION}#elif defined(_M_ARM)\n#else\n#error Unknown Architecture`,
      "kernel section",
    );
  }
  return out;
}

/**
 * Write the patched ARM64 headers into the cache (once per header content) and return the folder to put
 * before mingw-w64's `include/ddk` on the include path.
 */
function ensureArm64DdkHeaders(cacheDir: string): string {
  const ddk = path.join(MINGW_ROOT, "include", "ddk");
  const originals = (["wdm.h", "ntddk.h"] as const).map((n) => {
    const file = path.join(ddk, n);
    let text: string;
    try {
      text = fs.readFileSync(file, "latin1");
    } catch {
      throw new BuildError(
        `${file} not found: install the mingw-w64 headers (Debian package mingw-w64-x86-64-dev; npm run setup)`,
        file,
      );
    }
    return { name: n, text };
  });
  const key = sha256(stableStringify({ v: ARM64_PATCH_VERSION, h: originals.map((o) => sha256(o.text)) })).slice(0, 16);
  const dir = path.join(cacheDir, `ddk-arm64-${key}`, "ddk");
  for (const o of originals) {
    const target = path.join(dir, o.name);
    const patched = patchDdkHeaderForArm64(o.name, o.text);
    if (fs.existsSync(target) && fs.readFileSync(target, "latin1") === patched) continue;
    fs.mkdirSync(dir, { recursive: true });
    writeFileAtomic(target, Buffer.from(patched, "latin1"));
  }
  const note = path.join(dir, "..", "PATCH.txt");
  if (!fs.existsSync(note)) writeFileAtomic(note, ARM64_PATCH_DESCRIPTION);
  return dir;
}

// ---------------------------------------------------------------------------------------------------
// Toolchain facts
// ---------------------------------------------------------------------------------------------------

interface ToolchainInfo {
  clang: string;
  lld: string;
  resourceDir: string;
}

let toolchainMemo: Promise<ToolchainInfo> | undefined;

async function toolchainInfo(resource: string): Promise<ToolchainInfo> {
  toolchainMemo ??= (async () => {
    const clang = (await runTool("clang", ["--version"], { resource, secrets: [] })).stdout.split("\n")[0]!.trim();
    const lld = (await runTool("lld-link", ["--version"], { resource, secrets: [] })).stdout.split("\n")[0]!.trim();
    const resourceDir = (await runTool("clang", ["-print-resource-dir"], { resource, secrets: [] })).stdout.trim();
    if (!fs.existsSync(path.join(resourceDir, "include", "stddef.h"))) {
      throw new BuildError(`clang's resource headers are missing under ${resourceDir}/include (Debian package clang)`);
    }
    return { clang, lld, resourceDir };
  })();
  try {
    return await toolchainMemo;
  } catch (e) {
    toolchainMemo = undefined;
    throw e;
  }
}

/**
 * The toolchain version string recorded in {@link BuildResult.toolchainVersion} (first line of `clang --version`).
 * Runs clang once per process.
 *
 * @param resource name recorded in the tool log
 * @default resource "driver-build"
 */
export async function openToolchainVersion(resource = "driver-build"): Promise<string> {
  return (await toolchainInfo(resource)).clang;
}

/** Default cache folder when the caller passes none (the `winpe build` command); stacks pass their own. */
export function defaultBuildCacheDir(): string {
  return userCacheDir("driver-build");
}

// ---------------------------------------------------------------------------------------------------
// Planning (no tools run, nothing written)
// ---------------------------------------------------------------------------------------------------

/** One project of the build, evaluated and checked. */
export interface PlannedProject {
  config: VcxConfiguration;
  kind: "driver" | "application";
  /** `<TargetName><TargetExt>`. */
  outputName: string;
  /** Import libraries by base name (`ntoskrnl`, `kernel32`). */
  libraries: string[];
  /** Entry point symbol passed to lld-link. */
  entry: string;
}

/** What {@link planBuild} returns. */
export interface BuildPlan {
  /** The .sln or .vcxproj (absolute). */
  project: string;
  /** Folder that relative input paths are reported against (the .sln's or .vcxproj's). */
  rootDir: string;
  configuration: BuildConfiguration;
  platform: BuildPlatform;
  /** The solution file, when the input is one. */
  solution?: string;
  projects: PlannedProject[];
}

function normalizeConfiguration(value: unknown): BuildConfiguration {
  if (typeof value === "string") {
    if (value.toLowerCase() === "debug") return "Debug";
    if (value.toLowerCase() === "release") return "Release";
  }
  throw new BuildError(`'configuration' must be Debug or Release (got ${JSON.stringify(value)})`);
}

function normalizePlatform(value: unknown): BuildPlatform {
  if (typeof value === "string") {
    if (value.toLowerCase() === "x64") return "x64";
    if (value.toLowerCase() === "arm64") return "ARM64";
  }
  throw new BuildError(`'platform' must be x64 or ARM64 (got ${JSON.stringify(value)})`);
}

function libraryAvailable(name: string, platform: BuildPlatform): boolean {
  if (platform === "ARM64") return ARM64_EXPORTS[name] !== undefined;
  return fs.existsSync(path.join(MINGW_ROOT, "lib", `lib${name}.a`));
}

function planProject(config: VcxConfiguration, platform: BuildPlatform): PlannedProject {
  const where = config.file;
  const bad = (msg: string, feature: string): never => {
    throw new ProjectFormatError(`${where}: ${msg}`, where, undefined, feature);
  };
  let kind: "driver" | "application";
  if (config.configurationType === "Driver") kind = "driver";
  else if (config.configurationType === "Application") kind = "application";
  else {
    return bad(
      `ConfigurationType ${config.configurationType} (${config.configuration}|${config.platform}) is not supported by the open toolchain: it builds Driver and Application projects`,
      "ConfigurationType",
    );
  }
  if (kind === "driver" && config.driverType !== "" && config.driverType.toUpperCase() !== "WDM") {
    bad(
      `DriverType ${config.driverType} is not supported by the open toolchain (it has no WDF headers or libraries); WDM drivers are`,
      "DriverType",
    );
  }
  if (kind === "driver" && config.targetExt.toLowerCase() !== ".sys") {
    bad(`a driver's TargetExt must be .sys (got ${config.targetExt})`, "TargetExt");
  }
  if (kind === "application" && config.targetExt.toLowerCase() !== ".exe") {
    bad(`an application's TargetExt must be .exe (got ${config.targetExt})`, "TargetExt");
  }
  const subsystem = config.link.subsystem.toLowerCase();
  if (kind === "application" && subsystem !== "" && subsystem !== "console") {
    bad(
      `Link SubSystem ${config.link.subsystem} is not supported by the open toolchain: it builds console applications`,
      "SubSystem",
    );
  }
  if (kind === "driver" && subsystem !== "" && subsystem !== "native") {
    bad(`a driver's Link SubSystem must be Native (got ${config.link.subsystem})`, "SubSystem");
  }
  if (config.packageReferences.length > 0) {
    bad(
      `NuGet packages (PackageReference ${config.packageReferences[0]}) are not supported by the open toolchain`,
      "PackageReference",
    );
  }
  if (config.sources.length === 0) {
    bad(`no ClCompile source is built in ${config.configuration}|${config.platform}`, "ClCompile");
  }
  for (const s of config.sources) {
    const ext = path.extname(s.file).toLowerCase();
    if (![".c", ".cpp", ".cc", ".cxx"].includes(ext)) {
      bad(`ClCompile item '${s.include}' (line ${s.line}) is not a C or C++ source`, "ClCompile");
    }
    if (!fs.existsSync(s.file) || !fs.statSync(s.file).isFile()) {
      throw new ProjectFormatError(
        `${where}:${s.line}: source file '${s.include}' not found (${s.file})`,
        where,
        s.line,
        "ClCompile",
      );
    }
    for (const f of s.settings.forcedIncludeFiles) {
      if (!fs.existsSync(f))
        throw new ProjectFormatError(`${where}:${s.line}: forced include ${f} not found`, where, s.line);
    }
  }
  // Libraries.
  const libraries: string[] = [];
  const add = (lib: string) => {
    if (!libraries.includes(lib)) libraries.push(lib);
  };
  if (kind === "driver") {
    add("ntoskrnl");
    add("hal");
  } else {
    add("kernel32");
  }
  for (const dep of config.link.additionalDependencies) {
    const m = /^([A-Za-z0-9_.-]+)\.lib$/i.exec(dep);
    if (!m)
      bad(
        `Link AdditionalDependencies entry '${dep}' is not a library name like kernel32.lib`,
        "AdditionalDependencies",
      );
    const base = m![1]!.toLowerCase();
    if (kind === "driver" && !["ntoskrnl", "hal"].includes(base)) {
      bad(`library ${dep} is not available to drivers in the open toolchain (only ntoskrnl.lib and hal.lib are)`, dep);
    }
    if (!libraryAvailable(base, platform)) {
      bad(
        platform === "ARM64"
          ? `library ${dep} is not available for ARM64 in the open toolchain (it has ${Object.keys(ARM64_EXPORTS)
              .map((k) => `${k}.lib`)
              .join(", ")})`
          : `library ${dep} is not available: ${path.join(MINGW_ROOT, "lib", `lib${base}.a`)} does not exist`,
        dep,
      );
    }
    add(base);
  }
  if (kind === "application" && config.link.inheritsDefaultDependencies) {
    for (const d of DEFAULT_APP_LIBS) {
      const base = d.replace(/\.lib$/, "");
      if (libraryAvailable(base, platform)) add(base);
    }
  }
  let entry = config.link.entryPointSymbol;
  if (kind === "driver") {
    // The WDK's GsDriverEntry (stack-cookie set-up from BufferOverflowK.lib) does not exist here.
    if (entry === "" || entry === "GsDriverEntry") entry = "DriverEntry";
  } else if (entry === "") {
    entry = "mainCRTStartup";
  }
  return { config, kind, outputName: `${config.targetName}${config.targetExt}`, libraries, entry };
}

/**
 * Read the solution/project and decide what to build, without running tools or writing anything.
 * Every bad input is found here: a missing project, a file that is not XML, a platform the project lacks,
 * a missing source, an unsupported feature.
 *
 * @throws BuildError for bad arguments; ProjectFormatError naming the file (and line, feature) otherwise
 */
export function planBuild(input: Pick<BuildInput, "project" | "configuration" | "platform">): BuildPlan {
  const configuration = normalizeConfiguration(input.configuration);
  const platform = normalizePlatform(input.platform);
  if (typeof input.project !== "string" || input.project.trim() === "") {
    throw new BuildError("'project' must be the path of a .sln or .vcxproj file");
  }
  const project = path.resolve(input.project);
  const ext = path.extname(project).toLowerCase();
  if (ext !== ".sln" && ext !== ".vcxproj") {
    throw new BuildError(`'project' must be a .sln or .vcxproj file (got ${project})`, project);
  }
  if (!fs.existsSync(project)) {
    throw new ProjectFormatError(`${project}: ${ext === ".sln" ? "solution" : "project"} file not found`, project);
  }
  if (!fs.statSync(project).isFile()) throw new BuildError(`'project' ${project} is not a file`, project);
  const projects: PlannedProject[] = [];
  if (ext === ".sln") {
    const sln = readSln(project);
    const entries = solutionBuildPlan(sln, configuration, platform);
    if (entries.length === 0) {
      throw new ProjectFormatError(`${project}: no project is built in ${configuration}|${platform}`, project);
    }
    for (const e of entries) {
      if (!/\.vcxproj$/i.test(e.project.file)) {
        throw new ProjectFormatError(
          `${project}:${e.project.line}: project '${e.project.name}' (${e.project.relativePath}) is not a .vcxproj; the open toolchain builds C/C++ projects only`,
          project,
          e.project.line,
          "project type",
        );
      }
      const vcx = readVcxproj(e.project.file);
      const config = evaluateVcxproj(vcx, {
        configuration: e.configuration,
        platform: e.platform,
        solutionDir: sln.dir,
        solutionName: sln.name,
      });
      if (normalizePlatformOrNull(config.platform) !== platform) {
        throw new ProjectFormatError(
          `${project}: the solution maps ${configuration}|${platform} of '${e.project.name}' to platform ${config.platform}, which the open toolchain cannot build for ${platform}`,
          project,
          undefined,
          "platform",
        );
      }
      projects.push(planProject(config, platform));
    }
  } else {
    const config = evaluateVcxproj(readVcxproj(project), { configuration, platform });
    projects.push(planProject(config, platform));
  }
  const names = new Map<string, string>();
  for (const p of projects) {
    const key = p.outputName.toLowerCase();
    const other = names.get(key);
    if (other) {
      throw new ProjectFormatError(
        `${project}: two projects produce ${p.outputName} (${other} and ${p.config.file})`,
        project,
        undefined,
        "TargetName",
      );
    }
    names.set(key, p.config.file);
  }
  return {
    project,
    rootDir: path.dirname(project),
    configuration,
    platform,
    solution: ext === ".sln" ? project : undefined,
    projects,
  };
}

function normalizePlatformOrNull(value: string): BuildPlatform | null {
  try {
    return normalizePlatform(value);
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------------
// Flags
// ---------------------------------------------------------------------------------------------------

interface CompileUnit {
  source: VcxSource;
  /** argv without the output and dependency-file options. */
  argv: string[];
  language: "c" | "c++";
}

function languageOf(s: VcxSource): "c" | "c++" {
  if (s.settings.compileAs === "CompileAsC") return "c";
  if (s.settings.compileAs === "CompileAsCpp") return "c++";
  return path.extname(s.file).toLowerCase() === ".c" ? "c" : "c++";
}

function versionDefines(config: VcxConfiguration): { winnt: string; ntddi: string; subsystem: string } {
  const v = TARGET_VERSIONS[(config.targetVersion || "Windows10").toLowerCase()];
  if (!v) {
    throw new ProjectFormatError(
      `${config.file}: TargetVersion ${config.targetVersion} is not supported by the open toolchain (${Object.keys(TARGET_VERSIONS).join(", ")})`,
      config.file,
      undefined,
      "TargetVersion",
    );
  }
  return v;
}

function compileArgv(
  p: PlannedProject,
  s: VcxSource,
  platform: BuildPlatform,
  tc: ToolchainInfo,
  arm64Ddk: string | null,
): CompileUnit {
  const { config } = p;
  const arch = ARCH[platform];
  const language = languageOf(s);
  const v = versionDefines(config);
  const inc = path.join(MINGW_ROOT, "include");
  const argv: string[] = [
    `--target=${arch.triple}`,
    "-c",
    "-nostdinc",
    "-isystem",
    path.join(tc.resourceDir, "include"),
  ];
  if (p.kind === "driver") {
    if (arm64Ddk) argv.push("-isystem", arm64Ddk);
    argv.push("-isystem", path.join(inc, "ddk"));
  }
  argv.push("-isystem", inc);
  argv.push("-fms-extensions", "-fgnuc-version=4.2.1", "-Werror=implicit-function-declaration");
  if (p.kind === "driver") argv.push("-ffreestanding", "-funwind-tables");
  if (language === "c++") argv.push("-fno-exceptions", "-fno-rtti");
  const opt = (s.settings.optimization || (config.useDebugLibraries ? "Disabled" : "MaxSpeed")).toLowerCase();
  argv.push(opt === "disabled" ? "-O0" : opt === "minspace" ? "-Os" : "-O2");
  const std = language === "c" ? s.settings.languageStandardC : s.settings.languageStandard;
  const stdMap: Record<string, string> = {
    stdc11: "-std=c11",
    stdc17: "-std=c17",
    stdcpp14: "-std=c++14",
    stdcpp17: "-std=c++17",
    stdcpp20: "-std=c++20",
    stdcpplatest: "-std=c++2b",
  };
  if (std && std.toLowerCase() !== "default") {
    const flag = stdMap[std.toLowerCase()];
    if (!flag) {
      throw new ProjectFormatError(
        `${config.file}:${s.line}: LanguageStandard ${std} is not supported`,
        config.file,
        s.line,
      );
    }
    argv.push(flag);
  }
  const defines: string[] = [
    ...arch.defines,
    `_WIN32_WINNT=${v.winnt}`,
    `WINVER=${v.winnt}`,
    `NTDDI_VERSION=${v.ntddi}`,
  ];
  if (p.kind === "driver") {
    defines.push("_KERNEL_MODE", "WINNT=1");
    if (config.useDebugLibraries) defines.push("DBG=1");
  } else {
    const cs = config.characterSet.toLowerCase();
    if (cs === "unicode") defines.push("UNICODE", "_UNICODE");
    else if (cs === "multibyte") defines.push("_MBCS");
    const rt = s.settings.runtimeLibrary.toLowerCase();
    if (rt.startsWith("multithreaded")) defines.push("_MT");
    if (rt.includes("debug")) defines.push("_DEBUG");
    if (rt.endsWith("dll")) defines.push("_DLL");
  }
  for (const d of defines) argv.push(`-D${d}`);
  for (const d of s.settings.preprocessorDefinitions) argv.push(`-D${d}`);
  for (const u of s.settings.undefinePreprocessorDefinitions) argv.push(`-U${u}`);
  for (const d of s.settings.additionalIncludeDirectories) argv.push("-I", d);
  for (const d of config.includePath) argv.push("-I", d);
  for (const f of s.settings.forcedIncludeFiles) argv.push("-include", f);
  argv.push("-x", language);
  return { source: s, argv, language };
}

function importLibPath(lib: string, platform: BuildPlatform, arm64Libs: Map<string, string>): string {
  if (platform === "x64") return path.join(MINGW_ROOT, "lib", `lib${lib}.a`);
  const p = arm64Libs.get(lib);
  if (!p) throw new BuildError(`no ARM64 import library for ${lib}`);
  return p;
}

function linkArgv(
  p: PlannedProject,
  platform: BuildPlatform,
  objects: string[],
  libs: string[],
  out: string,
): string[] {
  const arch = ARCH[platform];
  const v = versionDefines(p.config);
  const argv = [
    "/nologo",
    `/machine:${arch.lldMachine}`,
    "/nodefaultlib",
    "/Brepro",
    "/dynamicbase",
    "/nxcompat",
    `/entry:${p.entry}`,
  ];
  if (p.kind === "driver") argv.push("/driver:wdm", `/subsystem:native,${v.subsystem}`);
  else argv.push("/subsystem:console");
  argv.push(`/out:${out}`, ...objects, ...libs);
  return argv;
}

// ---------------------------------------------------------------------------------------------------
// Import libraries (ARM64), start-up object
// ---------------------------------------------------------------------------------------------------

/** The `.def` text for one of {@link ARM64_EXPORTS}. */
export function arm64DefText(lib: string): string {
  const e = ARM64_EXPORTS[lib];
  if (!e) throw new BuildError(`no ARM64 export list for ${lib}`);
  return `LIBRARY ${e.dll}\nEXPORTS\n${[...e.names]
    .sort()
    .map((n) => `  ${n}`)
    .join("\n")}\n`;
}

async function ensureArm64ImportLibs(
  libs: string[],
  cacheDir: string,
  tc: ToolchainInfo,
  resource: string,
  onProgress: (line: string) => void,
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const lib of libs) {
    const def = arm64DefText(lib);
    const key = sha256(stableStringify({ def, lld: tc.lld })).slice(0, 16);
    const dir = path.join(cacheDir, `implib-arm64-${key}`);
    const target = path.join(dir, `${lib}.lib`);
    if (!fs.existsSync(target)) {
      fs.mkdirSync(dir, { recursive: true });
      const defFile = path.join(dir, `${lib}.def`);
      writeFileAtomic(defFile, def);
      onProgress(`import library ${lib}.lib (ARM64) from ${lib}.def`);
      const tmp = path.join(dir, `.tmp-${process.pid}-${lib}.lib`);
      try {
        await runTool("llvm-dlltool", ["-m", "arm64", "-d", defFile, "-l", tmp], { resource, secrets: [] });
        fs.renameSync(tmp, target);
      } finally {
        fs.rmSync(tmp, { force: true });
      }
    }
    out.set(lib, target);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Dependency files, hashing
// ---------------------------------------------------------------------------------------------------

/** Prerequisites listed in a Make-style dependency file written by `clang -MD -MF`. */
export function parseDepFile(text: string): string[] {
  const joined = text.replace(/\\\r?\n/g, " ");
  const colon = joined.search(/:(\s|$)/);
  if (colon < 0) return [];
  const body = joined.slice(colon + 1);
  const out: string[] = [];
  let cur = "";
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === "\\" && i + 1 < body.length && /[ #\\]/.test(body[i + 1]!)) {
      cur += body[i + 1];
      i++;
    } else if (c === "$" && body[i + 1] === "$") {
      cur += "$";
      i++;
    } else if (/\s/.test(c)) {
      if (cur) out.push(cur);
      cur = "";
    } else {
      cur += c;
    }
  }
  if (cur) out.push(cur);
  return out;
}

function within(p: string, dir: string): boolean {
  return p === dir || p.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep);
}

/** A path as it enters the inputs hash: relative to the cache or the project root; system files absolute. */
function hashPath(p: string, rootDir: string, cacheDir: string): string {
  const abs = path.resolve(p);
  if (within(abs, cacheDir)) return `<cache>/${path.relative(cacheDir, abs)}`;
  if (within(abs, "/usr")) return abs;
  return `<root>/${path.relative(rootDir, abs)}`;
}

/** Compiler arguments as they enter the inputs hash: existing absolute paths made root/cache-relative. */
function hashArgv(argv: string[], rootDir: string, cacheDir: string): string[] {
  return argv.map((a) => (path.isAbsolute(a) && fs.existsSync(a) ? hashPath(a, rootDir, cacheDir) : a));
}

/**
 * Re-hash the files of an earlier build's `inputs` (no tools run). A changed, missing or unreadable file is
 * reported. The flags and toolchain version are not re-checked here.
 *
 * @returns the paths whose content differs from the recorded sha256
 */
export function changedInputs(inputs: readonly BuildInputFile[]): string[] {
  const changed: string[] = [];
  for (const i of inputs) {
    try {
      if (sha256File(i.path) !== i.sha256) changed.push(i.path);
    } catch {
      changed.push(i.path);
    }
  }
  return changed;
}

/**
 * Write the PE image checksum (what link.exe /RELEASE does; lld-link 14 has no such option) into the
 * optional header of `file`, in place. The algorithm is ImageHlp's CheckSumMappedFile: 16-bit one's-complement
 * style sum of the file with the checksum field taken as zero, plus the file length.
 *
 * @returns the checksum written
 */
export function writePeChecksum(file: string): number {
  const buf = fs.readFileSync(file);
  if (buf.length < 0x40) throw new BuildError(`${file} is too small to be a PE image`, file);
  const peOffset = buf.readUInt32LE(0x3c);
  const field = peOffset + 4 + 20 + 64;
  if (field + 4 > buf.length) throw new BuildError(`${file}: PE header out of range`, file);
  let sum = 0;
  for (let i = 0; i < buf.length; i += 2) {
    if (i === field || i === field + 2) continue;
    const word = i + 1 < buf.length ? buf.readUInt16LE(i) : buf[i]!;
    sum += word;
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  sum = (sum & 0xffff) + (sum >>> 16);
  const checksum = (sum + buf.length) >>> 0;
  buf.writeUInt32LE(checksum, field);
  fs.writeFileSync(file, buf);
  return checksum;
}

// ---------------------------------------------------------------------------------------------------
// Verification
// ---------------------------------------------------------------------------------------------------

/** What {@link verifyBuiltFile} checked. */
export interface VerifiedFile {
  machine: number;
  subsystem: number;
  pe: PeInfo;
}

/**
 * Check a produced file with two independent readers (`llvm-readobj --file-headers` and our PE reader):
 * the requested machine; a driver is a native-subsystem image importing from ntoskrnl.exe; an application is
 * a console image.
 *
 * @param file the .sys or .exe
 * @param expect the kind and platform it must have
 * @throws BuildError naming the file and what is wrong
 */
export async function verifyBuiltFile(
  file: string,
  expect: { kind: "driver" | "application"; platform: BuildPlatform; resource?: string },
): Promise<VerifiedFile> {
  const name = path.basename(file);
  const want = ARCH[expect.platform].machine;
  const wantSubsystem = expect.kind === "driver" ? 1 : 3;
  const r = await runTool("llvm-readobj", ["--file-headers", file], {
    resource: expect.resource ?? "driver-build",
    secrets: [],
  });
  const machineM = /^\s*Machine:\s*\S+\s*\((0x[0-9A-Fa-f]+)\)/m.exec(r.stdout);
  const subsystemM = /^\s*Subsystem:\s*\S+\s*\((0x[0-9A-Fa-f]+)\)/m.exec(r.stdout);
  if (!machineM || !subsystemM) {
    throw new BuildError(`${name}: llvm-readobj did not report a machine and subsystem: not a PE image`, file);
  }
  const machine = Number.parseInt(machineM[1]!, 16);
  const subsystem = Number.parseInt(subsystemM[1]!, 16);
  const hex = (n: number) => `0x${n.toString(16).toUpperCase()}`;
  if (machine !== want) {
    throw new BuildError(
      `${name} is built for machine ${hex(machine)}, not ${hex(want)} (${expect.platform}): wrong architecture`,
      file,
    );
  }
  if (subsystem !== wantSubsystem) {
    throw new BuildError(
      `${name} has subsystem ${subsystem}, but a ${expect.kind} must be ${wantSubsystem === 1 ? "native (1)" : "console (3)"}`,
      file,
    );
  }
  const pe = readPeHeaders(file);
  if (pe.machine !== machine || pe.subsystem !== subsystem) {
    throw new BuildError(
      `${name}: llvm-readobj (machine ${hex(machine)}, subsystem ${subsystem}) and our PE reader (machine ${hex(pe.machine)}, subsystem ${pe.subsystem}) disagree`,
      file,
    );
  }
  if ((pe.characteristics & PE_CHARACTERISTICS.executableImage) === 0) {
    throw new BuildError(`${name} is not marked as an executable image`, file);
  }
  if (expect.kind === "driver" && !importsFrom(pe, "ntoskrnl.exe")) {
    throw new BuildError(`${name} does not import from ntoskrnl.exe: not a kernel driver`, file);
  }
  if (expect.kind === "application" && importsFrom(pe, "ntoskrnl.exe")) {
    throw new BuildError(`${name} imports from ntoskrnl.exe: not a user-mode application`, file);
  }
  return { machine, subsystem, pe };
}

// ---------------------------------------------------------------------------------------------------
// Build
// ---------------------------------------------------------------------------------------------------

function describeLinkFailure(e: unknown, p: PlannedProject, platform: BuildPlatform): Error {
  if (!(e instanceof ToolError)) return e as Error;
  const undefinedSyms = [...e.stderr.matchAll(/undefined symbol: (?:__declspec\(dllimport\) )?(\S+)/g)].map((m) =>
    m[1]!.replace(/^__imp_/, ""),
  );
  const unique = [...new Set(undefinedSyms)];
  let hint = "";
  if (unique.includes("main") && p.kind === "application") {
    hint =
      " The open toolchain's start-up code calls main(); wmain, WinMain and wWinMain are not supported, nor is the C runtime.";
  } else if (unique.length > 0 && platform === "ARM64") {
    hint =
      ` The ARM64 import libraries list only the functions in ARM64_EXPORTS (toolchains/open/build.ts)` +
      ` for ${p.libraries.map((l) => `${l}.lib`).join(", ")}; there is no C runtime.`;
  } else if (unique.length > 0 && p.kind === "application") {
    hint = " Applications get no C runtime from the open toolchain: use Win32 functions (kernel32/advapi32).";
  }
  const what = unique.length > 0 ? `undefined symbol${unique.length > 1 ? "s" : ""} ${unique.join(", ")}.` : e.message;
  return new BuildError(`link of ${p.outputName} (${p.config.file}) failed: ${what}${hint}`, p.config.file);
}

/**
 * Build a solution or project with the open toolchain (clang + lld-link) and put the outputs in `outDir`.
 *
 * Nothing is written to `outDir` unless every project compiled, linked and passed verification; objects and
 * intermediate files live in a private temporary folder that is removed afterwards. Each output is copied in
 * atomically.
 *
 * @param input project, configuration, platform, output folder, progress callback
 * @returns the produced files (path, size, sha256, machine, subsystem, kind), the inputs hash and the inputs
 * @throws BuildError or ProjectFormatError naming the file or field; ToolError when a tool cannot start
 */
export async function buildProject(input: BuildInput): Promise<BuildResult> {
  const plan = planBuild(input);
  if (typeof input.outDir !== "string" || input.outDir.trim() === "") {
    throw new BuildError("'outDir' must be the path of the output folder");
  }
  const outDir = path.resolve(input.outDir);
  if (fs.existsSync(outDir) && !fs.statSync(outDir).isDirectory()) {
    throw new BuildError(`'outDir' ${outDir} exists and is not a folder`, outDir);
  }
  for (const dir of [path.join(MINGW_ROOT, "include", "ddk"), path.join(MINGW_ROOT, "lib")]) {
    if (!fs.existsSync(dir)) {
      throw new BuildError(`${dir} not found: install mingw-w64-x86-64-dev (npm run setup)`, dir);
    }
  }
  const resource = input.resource ?? "driver-build";
  const progress = input.onProgress ?? (() => {});
  const cacheDir = path.resolve(input.cacheDir ?? defaultBuildCacheDir());
  const { platform, configuration, rootDir } = plan;
  const tag = `[${platform} ${configuration}]`;
  const tc = await toolchainInfo(resource);

  fs.mkdirSync(cacheDir, { recursive: true });
  const arm64Ddk =
    platform === "ARM64" && plan.projects.some((p) => p.kind === "driver") ? ensureArm64DdkHeaders(cacheDir) : null;
  const allLibs = [...new Set(plan.projects.flatMap((p) => p.libraries))];
  const arm64Libs =
    platform === "ARM64"
      ? await ensureArm64ImportLibs(allLibs, cacheDir, tc, resource, (l) => progress(`${tag} ${l}`))
      : new Map<string, string>();

  const work = fs.mkdtempSync(path.join(os.tmpdir(), "winpe-build-"));
  try {
    const inputFiles = new Set<string>();
    const hashedProjects: unknown[] = [];
    const linked: Array<{ p: PlannedProject; tmpOut: string }> = [];
    inputFiles.add(plan.project);

    for (const [pi, p] of plan.projects.entries()) {
      inputFiles.add(p.config.file);
      const objDir = path.join(work, `${pi}-${p.config.projectName}`);
      fs.mkdirSync(objDir, { recursive: true });
      const units = p.config.sources.map((s) => compileArgv(p, s, platform, tc, arm64Ddk));
      const objects: string[] = [];
      const hashedUnits: unknown[] = [];
      // Compile (in parallel: the units are independent).
      const results = await Promise.all(
        units.map(async (u, ui) => {
          const base = `${ui}-${path.basename(u.source.file).replace(/\.[^.]*$/, "")}`;
          const obj = path.join(objDir, `${base}.obj`);
          const dep = path.join(objDir, `${base}.d`);
          progress(`${tag} compile ${path.relative(rootDir, u.source.file)}`);
          try {
            await runTool("clang", [...u.argv, u.source.file, "-o", obj, "-MD", "-MF", dep], { resource, secrets: [] });
          } catch (e) {
            if (e instanceof ToolError) {
              throw new BuildError(
                `compiling ${u.source.file} (${p.config.file}) failed:\n${e.stderr.trim().split("\n").slice(-12).join("\n")}`,
                u.source.file,
              );
            }
            throw e;
          }
          const deps = parseDepFile(fs.readFileSync(dep, "utf8")).map((d) => path.resolve(objDir, d));
          return { obj, deps, unit: u };
        }),
      );
      for (const r of results) {
        objects.push(r.obj);
        for (const d of r.deps) inputFiles.add(d);
        hashedUnits.push({
          source: hashPath(r.unit.source.file, rootDir, cacheDir),
          argv: hashArgv(r.unit.argv, rootDir, cacheDir),
        });
      }
      if (p.kind === "application") {
        const noMain = p.entry !== "mainCRTStartup";
        const src = path.join(work, noMain ? "startup-nomain.c" : "startup.c");
        const obj = src.replace(/\.c$/, ".obj");
        if (!fs.existsSync(obj)) {
          fs.writeFileSync(src, APP_STARTUP_SOURCE);
          progress(`${tag} compile <open toolchain start-up code>`);
          await runTool(
            "clang",
            [
              `--target=${ARCH[platform].triple}`,
              "-c",
              "-O2",
              "-ffreestanding",
              "-fno-builtin",
              "-nostdinc",
              ...(noMain ? ["-DWINPE_NO_MAIN_STARTUP"] : []),
              src,
              "-o",
              obj,
            ],
            { resource, secrets: [] },
          );
        }
        objects.push(obj);
      }
      const libs = p.libraries.map((l) => importLibPath(l, platform, arm64Libs));
      for (const l of libs) inputFiles.add(l);
      const tmpOut = path.join(objDir, p.outputName);
      const largv = linkArgv(p, platform, objects, libs, tmpOut);
      progress(`${tag} link ${p.outputName}`);
      try {
        await runTool("lld-link", largv, { resource, secrets: [] });
      } catch (e) {
        throw describeLinkFailure(e, p, platform);
      }
      if (p.kind === "driver") writePeChecksum(tmpOut);
      progress(`${tag} verify ${p.outputName}`);
      await verifyBuiltFile(tmpOut, { kind: p.kind, platform, resource });
      linked.push({ p, tmpOut });
      hashedProjects.push({
        project: hashPath(p.config.file, rootDir, cacheDir),
        output: p.outputName,
        kind: p.kind,
        units: hashedUnits,
        link: {
          switches: linkArgv(p, platform, [], [], "OUT").filter((a) => a !== "/out:OUT"),
          libraries: libs.map((l) => hashPath(l, rootDir, cacheDir)),
        },
      });
    }

    const inputs: BuildInputFile[] = [...inputFiles].sort().map((f) => ({ path: f, sha256: sha256File(f) }));
    const inputsHash = sha256(
      stableStringify({
        schema: 1,
        toolchain: { clang: tc.clang, lld: tc.lld },
        configuration,
        platform,
        arm64Patch: arm64Ddk ? ARM64_PATCH_VERSION : null,
        startup: plan.projects.some((p) => p.kind === "application") ? sha256(APP_STARTUP_SOURCE) : null,
        projects: hashedProjects,
        files: inputs
          .map((i) => ({ path: hashPath(i.path, rootDir, cacheDir), sha256: i.sha256 }))
          .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
      }),
    );

    // Everything built and verified: now (and only now) write to outDir.
    await input.beforeWrite?.(linked.map(({ p }) => path.join(outDir, p.outputName)));
    fs.mkdirSync(outDir, { recursive: true });
    const outputs: BuiltFile[] = [];
    for (const { p, tmpOut } of linked) {
      const target = path.join(outDir, p.outputName);
      copyFileAtomic(tmpOut, target);
      const pe = readPeHeaders(target);
      outputs.push({
        path: target,
        size: fs.statSync(target).size,
        sha256: sha256File(target),
        machine: pe.machine,
        subsystem: pe.subsystem,
        kind: p.kind,
        project: p.config.file,
      });
    }
    return { outputs, inputsHash, inputs, toolchainVersion: tc.clang };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
