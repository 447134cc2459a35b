/*
 * wdm.h -- winpe-lab's wrapper around mingw-w64's ddk/wdm.h (ntddk.h and ntifs.h include it too).
 *
 * mingw-w64 10's wdm.h predates a few documented kernel-mode definitions that current WDK projects and
 * Microsoft's samples use. This wrapper includes mingw-w64's header and then adds, where mingw-w64 did not
 * define them, these documented definitions (written for winpe-lab from the WDK documentation):
 *
 * - MdlMappingNoWrite, MdlMappingNoExecute, MdlMappingWithGuardPtes: flags ORed into the Priority of
 *   MmGetSystemAddressForMdlSafe / MmMapLockedPagesSpecifyCache (Windows 8 and later).
 * - The POOL_NX_OPTIN single-binary opt-in ("Single Binary Opt-In: POOL_NX_OPTIN"): with POOL_NX_OPTIN=1 (and not
 *   POOL_NX_OPTOUT), NonPagedPool and NonPagedPoolCacheAligned become the global ExDefaultNonPagedPoolType (and
 *   its cache-aligned form), NonPagedPoolExecute until ExInitializeDriverRuntime(DrvRtPoolNxOptIn) finds Windows 8
 *   or later and switches it to NonPagedPoolNx.
 * - ExAllocatePoolZero, ExAllocatePoolUninitialized, ExAllocatePoolQuotaZero, ExAllocatePoolQuotaUninitialized:
 *   documented as identical to ExAllocatePoolWithTag / ExAllocatePoolWithQuotaTag, the *Zero forms zeroing the
 *   block; implemented here over those two routines, which every Windows version exports (so they need neither
 *   POOL_ZERO_DOWN_LEVEL_SUPPORT nor ExAllocatePool2).
 * - ExAllocatePool2 / ExAllocatePool3 declarations and their POOL_FLAG_* values (ntoskrnl exports, Windows 10
 *   version 2004 and later).
 */
#include_next <wdm.h>

#ifndef WINPE_LAB_WDM_ADDITIONS
#define WINPE_LAB_WDM_ADDITIONS

#ifndef MdlMappingNoWrite
#define MdlMappingNoWrite 0x80000000
#endif
#ifndef MdlMappingNoExecute
#define MdlMappingNoExecute 0x40000000
#endif
#ifndef MdlMappingWithGuardPtes
#define MdlMappingWithGuardPtes 0x20000000
#endif

#ifndef DrvRtPoolNxOptIn
#define DrvRtPoolNxOptIn 0x00000001
#endif

#if defined(POOL_NX_OPTIN) && !defined(POOL_NX_OPTOUT)
#if POOL_NX_OPTIN
#define WINPE_LAB_POOL_NX_OPTIN 1
#endif
#endif

#ifdef WINPE_LAB_POOL_NX_OPTIN
/* one definition per driver image (selectany): the pool type NonPagedPool stands for after the opt-in */
__declspec(selectany) POOL_TYPE ExDefaultNonPagedPoolType = NonPagedPoolExecute;
#undef NonPagedPool
#define NonPagedPool ExDefaultNonPagedPoolType
#undef NonPagedPoolCacheAligned
/* NonPagedPoolCacheAligned is NonPagedPool + 4; NonPagedPoolNxCacheAligned is NonPagedPoolNx + 4 */
#define NonPagedPoolCacheAligned ((POOL_TYPE)(ExDefaultNonPagedPoolType + 4))
#endif

#ifndef ExInitializeDriverRuntime
/* Documented as a force-inline routine a driver calls in DriverEntry before its first non-paged allocation. */
static __inline VOID ExInitializeDriverRuntime(_In_ ULONG RuntimeFlags) {
#ifdef WINPE_LAB_POOL_NX_OPTIN
  /* NonPagedPoolNx exists from Windows 8 (NTDDI_WIN8 = 0x06020000) */
  if ((RuntimeFlags & DrvRtPoolNxOptIn) != 0 && RtlIsNtDdiVersionAvailable(0x06020000)) {
    ExDefaultNonPagedPoolType = NonPagedPoolNx;
  }
#else
  UNREFERENCED_PARAMETER(RuntimeFlags);
#endif
}
#define ExInitializeDriverRuntime ExInitializeDriverRuntime
#endif

#ifndef ExAllocatePoolZero
static __inline PVOID ExAllocatePoolZero_winpe_lab(_In_ POOL_TYPE PoolType, _In_ SIZE_T NumberOfBytes, _In_ ULONG Tag) {
  PVOID p = ExAllocatePoolWithTag(PoolType, NumberOfBytes, Tag);
  if (p != NULL) RtlZeroMemory(p, NumberOfBytes);
  return p;
}
#define ExAllocatePoolZero(PoolType, NumberOfBytes, Tag) \
  ExAllocatePoolZero_winpe_lab((POOL_TYPE)(PoolType), (NumberOfBytes), (Tag))
#endif

#ifndef ExAllocatePoolUninitialized
#define ExAllocatePoolUninitialized(PoolType, NumberOfBytes, Tag) \
  ExAllocatePoolWithTag((POOL_TYPE)(PoolType), (NumberOfBytes), (Tag))
#endif

#ifndef ExAllocatePoolQuotaZero
static __inline PVOID ExAllocatePoolQuotaZero_winpe_lab(_In_ POOL_TYPE PoolType, _In_ SIZE_T NumberOfBytes,
                                                        _In_ ULONG Tag) {
  PVOID p = ExAllocatePoolWithQuotaTag(PoolType, NumberOfBytes, Tag);
  if (p != NULL) RtlZeroMemory(p, NumberOfBytes);
  return p;
}
#define ExAllocatePoolQuotaZero(PoolType, NumberOfBytes, Tag) \
  ExAllocatePoolQuotaZero_winpe_lab((POOL_TYPE)(PoolType), (NumberOfBytes), (Tag))
#endif

#ifndef ExAllocatePoolQuotaUninitialized
#define ExAllocatePoolQuotaUninitialized(PoolType, NumberOfBytes, Tag) \
  ExAllocatePoolWithQuotaTag((POOL_TYPE)(PoolType), (NumberOfBytes), (Tag))
#endif

#ifndef POOL_FLAG_NON_PAGED
typedef ULONG64 POOL_FLAGS;
#define POOL_FLAG_REQUIRED_START 0x0000000000000001ULL
#define POOL_FLAG_USE_QUOTA 0x0000000000000001ULL
#define POOL_FLAG_UNINITIALIZED 0x0000000000000002ULL
#define POOL_FLAG_SESSION 0x0000000000000004ULL
#define POOL_FLAG_CACHE_ALIGNED 0x0000000000000008ULL
#define POOL_FLAG_RAISE_ON_FAILURE 0x0000000000000020ULL
#define POOL_FLAG_NON_PAGED 0x0000000000000040ULL
#define POOL_FLAG_NON_PAGED_EXECUTE 0x0000000000000080ULL
#define POOL_FLAG_PAGED 0x0000000000000100ULL
#define POOL_FLAG_REQUIRED_END 0x0000000080000000ULL
#define POOL_FLAG_OPTIONAL_START 0x0000000100000000ULL
#define POOL_FLAG_SPECIAL_POOL 0x0000000100000000ULL
#define POOL_FLAG_OPTIONAL_END 0x8000000000000000ULL
NTKERNELAPI PVOID NTAPI ExAllocatePool2(_In_ POOL_FLAGS Flags, _In_ SIZE_T NumberOfBytes, _In_ ULONG Tag);
#endif

#endif /* WINPE_LAB_WDM_ADDITIONS */
