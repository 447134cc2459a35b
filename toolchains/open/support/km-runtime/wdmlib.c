/*
 * wdmlib.c -- winpe-lab's kernel-mode runtime library, linked into every driver the open toolchain builds.
 *
 * Written for winpe-lab. It provides what the WDK's libraries give a driver and mingw-w64 does not:
 * - WdmlibRtlIsNtDdiVersionAvailable / WdmlibRtlIsServicePackVersionInstalled: mingw-w64's wdm.h maps
 *   RtlIsNtDdiVersionAvailable and RtlIsServicePackVersionInstalled to these names, the WDK's down-level library
 *   routines (rtlver.lib). They ask ntoskrnl's own routine of that name when the running kernel exports it
 *   (Windows 8 and later), and otherwise compare with RtlGetVersion's major, minor and service-pack numbers.
 * - x64: the control-register intrinsics (intrinsics-x64.c).
 */
#include <ntddk.h>

typedef BOOLEAN(NTAPI *WINPE_VERSION_CHECK)(ULONG);

static BOOLEAN WinpeAskKernel(PCWSTR Name, ULONG Version, BOOLEAN *Answer) {
  UNICODE_STRING name;
  WINPE_VERSION_CHECK check;
  RtlInitUnicodeString(&name, Name);
  check = (WINPE_VERSION_CHECK)MmGetSystemRoutineAddress(&name);
  if (check == NULL) return FALSE;
  *Answer = check(Version);
  return TRUE;
}

BOOLEAN NTAPI WdmlibRtlIsNtDdiVersionAvailable(ULONG Version) {
  RTL_OSVERSIONINFOEXW v;
  ULONG have;
  BOOLEAN answer;
  if (WinpeAskKernel(L"RtlIsNtDdiVersionAvailable", Version, &answer)) return answer;
  RtlZeroMemory(&v, sizeof(v));
  v.dwOSVersionInfoSize = sizeof(v);
  if (!NT_SUCCESS(RtlGetVersion((PRTL_OSVERSIONINFOW)&v))) return FALSE;
  /* NTDDI: major (8 bits), minor (8), service pack (8), sub-version (8) */
  have = (v.dwMajorVersion << 24) | (v.dwMinorVersion << 16) | ((ULONG)v.wServicePackMajor << 8);
  return (Version & 0xFFFFFF00u) <= have;
}

BOOLEAN NTAPI WdmlibRtlIsServicePackVersionInstalled(ULONG Version) {
  RTL_OSVERSIONINFOEXW v;
  BOOLEAN answer;
  if (WinpeAskKernel(L"RtlIsServicePackVersionInstalled", Version, &answer)) return answer;
  RtlZeroMemory(&v, sizeof(v));
  v.dwOSVersionInfoSize = sizeof(v);
  if (!NT_SUCCESS(RtlGetVersion((PRTL_OSVERSIONINFOW)&v))) return FALSE;
  if ((Version >> 16) != ((v.dwMajorVersion << 8) | v.dwMinorVersion)) return FALSE;
  return ((Version >> 8) & 0xFF) <= v.wServicePackMajor;
}
