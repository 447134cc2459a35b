/*
 * winpe-lab STAND-IN EFI boot application (not Windows Boot Manager, not Microsoft code).
 *
 * Placed on synthetic WinPE media as EFI/Boot/bootx64.efi or bootaa64.efi (and inside efisys.bin) so the
 * open toolchain can prove, under QEMU with OVMF/AAVMF, that the ISO it made is bootable through UEFI.
 * It prints a fixed marker line through ConOut->OutputString (the firmware mirrors the console to the
 * serial port), waits a little so the line is flushed, then powers the machine off (ResetSystem shutdown),
 * so QEMU exits on its own.
 *
 * Build (no EFI library: the few table fields used are declared below):
 *   clang --target=x86_64-unknown-windows -DSTANDIN_ARCH=amd64 -ffreestanding -fshort-wchar -mno-red-zone \
 *     -nostdlib -fuse-ld=lld-link -Wl,-subsystem:efi_application -Wl,-entry:efi_main -o bootx64.efi standin.c
 *   (aarch64: --target=aarch64-unknown-windows -DSTANDIN_ARCH=arm64, without -mno-red-zone)
 */

#ifndef STANDIN_ARCH
#error "define STANDIN_ARCH (amd64 or arm64)"
#endif

#define STANDIN_STR2(x) #x
#define STANDIN_STR(x) STANDIN_STR2(x)
/* u"..." is a 16-bit string; -fshort-wchar makes L"..." the same, the firmware's CHAR16. */
#define STANDIN_WIDE2(x) L##x
#define STANDIN_WIDE(x) STANDIN_WIDE2(x)

typedef unsigned long long UINT64;
typedef unsigned int UINT32;
typedef unsigned short CHAR16;
typedef unsigned long long UINTN; /* both targets are 64-bit */
typedef UINTN EFI_STATUS;
typedef void *EFI_HANDLE;

#define EFI_SUCCESS 0
#define EFI_RESET_SHUTDOWN 2

typedef struct {
  UINT64 Signature;
  UINT32 Revision;
  UINT32 HeaderSize;
  UINT32 CRC32;
  UINT32 Reserved;
} EFI_TABLE_HEADER;

struct EFI_SIMPLE_TEXT_OUTPUT_PROTOCOL;
typedef EFI_STATUS (*EFI_TEXT_RESET)(struct EFI_SIMPLE_TEXT_OUTPUT_PROTOCOL *This, unsigned char ExtendedVerification);
typedef EFI_STATUS (*EFI_TEXT_STRING)(struct EFI_SIMPLE_TEXT_OUTPUT_PROTOCOL *This, const CHAR16 *String);

typedef struct EFI_SIMPLE_TEXT_OUTPUT_PROTOCOL {
  EFI_TEXT_RESET Reset;
  EFI_TEXT_STRING OutputString;
  /* further members unused */
} EFI_SIMPLE_TEXT_OUTPUT_PROTOCOL;

typedef void (*EFI_RESET_SYSTEM)(UINT32 ResetType, EFI_STATUS ResetStatus, UINTN DataSize, void *ResetData);

typedef struct {
  EFI_TABLE_HEADER Hdr;
  void *GetTime;
  void *SetTime;
  void *GetWakeupTime;
  void *SetWakeupTime;
  void *SetVirtualAddressMap;
  void *ConvertPointer;
  void *GetVariable;
  void *GetNextVariableName;
  void *SetVariable;
  void *GetNextHighMonotonicCount;
  EFI_RESET_SYSTEM ResetSystem;
} EFI_RUNTIME_SERVICES;

typedef EFI_STATUS (*EFI_STALL)(UINTN Microseconds);

typedef struct {
  EFI_TABLE_HEADER Hdr;
  /* RaiseTPL .. GetNextMonotonicCount: 28 entries before Stall (UEFI spec 2.x, EFI_BOOT_SERVICES) */
  void *Unused[28];
  EFI_STALL Stall;
} EFI_BOOT_SERVICES;

typedef struct {
  EFI_TABLE_HEADER Hdr;
  CHAR16 *FirmwareVendor;
  UINT32 FirmwareRevision;
  EFI_HANDLE ConsoleInHandle;
  void *ConIn;
  EFI_HANDLE ConsoleOutHandle;
  EFI_SIMPLE_TEXT_OUTPUT_PROTOCOL *ConOut;
  EFI_HANDLE StandardErrorHandle;
  EFI_SIMPLE_TEXT_OUTPUT_PROTOCOL *StdErr;
  EFI_RUNTIME_SERVICES *RuntimeServices;
  EFI_BOOT_SERVICES *BootServices;
  /* further members unused */
} EFI_SYSTEM_TABLE;

static const CHAR16 kBanner[] =
    L"\r\nwinpe-lab stand-in EFI application (not Windows Boot Manager; synthetic test media)\r\n";
static const CHAR16 kMarker[] = L"WINPE-LAB STAND-IN BOOT OK arch=" STANDIN_WIDE(STANDIN_STR(STANDIN_ARCH)) L"\r\n";
static const CHAR16 kBye[] = L"winpe-lab stand-in: shutting down\r\n";

EFI_STATUS efi_main(EFI_HANDLE ImageHandle, EFI_SYSTEM_TABLE *SystemTable) {
  (void)ImageHandle;
  EFI_SIMPLE_TEXT_OUTPUT_PROTOCOL *out = SystemTable->ConOut;
  if (out) {
    out->OutputString(out, kBanner);
    out->OutputString(out, kMarker);
  }
  if (SystemTable->BootServices) SystemTable->BootServices->Stall(500000); /* 0.5 s: let the serial line drain */
  if (out) out->OutputString(out, kBye);
  if (SystemTable->RuntimeServices) {
    SystemTable->RuntimeServices->ResetSystem(EFI_RESET_SHUTDOWN, EFI_SUCCESS, 0, 0);
  }
  return EFI_SUCCESS; /* only if the firmware refused to shut down */
}
