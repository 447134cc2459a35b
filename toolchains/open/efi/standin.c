/*
 * winpe-lab STAND-IN EFI boot application (not Windows Boot Manager, not Microsoft code).
 *
 * Placed on synthetic WinPE media as EFI/Boot/bootx64.efi or bootaa64.efi (and inside efisys.bin) so the
 * open toolchain can prove, under QEMU with OVMF/AAVMF, that the ISO it made is bootable through UEFI.
 * It prints a fixed marker line through ConOut->OutputString (the firmware mirrors the console to the
 * serial port), then does what Windows Boot Manager does with the media's kernel-debugger settings as far as a
 * firmware application can: it reads {dbgsettings} of the media's BCD store (\EFI\Microsoft\Boot\BCD, a registry
 * hive), and when the debug type is NET it sends one UDP datagram (a probe, not KDNET) to hostip:port through the
 * firmware's network interface (UEFI Simple Network Protocol, a raw Ethernet/IPv4/UDP frame from 10.0.2.15), so a
 * test can see the VM reach the debugger's port. It says what it did on the console, waits a little so the lines
 * are flushed, then powers the machine off (ResetSystem shutdown), so QEMU exits on its own.
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
typedef unsigned short UINT16;
typedef unsigned char UINT8;
typedef unsigned short CHAR16;
typedef unsigned long long UINTN; /* both targets are 64-bit */
typedef UINTN EFI_STATUS;
typedef void *EFI_HANDLE;

#define EFI_SUCCESS 0
#define EFI_RESET_SHUTDOWN 2

/* freestanding: the compiler may turn loops into calls of these */
void *memset(void *d, int c, UINTN n) {
  volatile UINT8 *p = (volatile UINT8 *)d;
  while (n--) *p++ = (UINT8)c;
  return d;
}
void *memcpy(void *d, const void *s, UINTN n) {
  volatile UINT8 *p = (volatile UINT8 *)d;
  const UINT8 *q = (const UINT8 *)s;
  while (n--) *p++ = *q++;
  return d;
}

typedef struct {
  UINT32 Data1;
  UINT16 Data2;
  UINT16 Data3;
  UINT8 Data4[8];
} EFI_GUID;

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

/* EFI_BOOT_SERVICES (UEFI spec 2.x), the members up to LocateProtocol; unused ones as void pointers */
typedef struct {
  EFI_TABLE_HEADER Hdr;
  void *RaiseTPL, *RestoreTPL, *AllocatePages, *FreePages, *GetMemoryMap;
  EFI_STATUS (*AllocatePool)(UINT32 PoolType, UINTN Size, void **Buffer);
  void *FreePool, *CreateEvent, *SetTimer, *WaitForEvent, *SignalEvent, *CloseEvent, *CheckEvent;
  void *InstallProtocolInterface, *ReinstallProtocolInterface, *UninstallProtocolInterface;
  EFI_STATUS (*HandleProtocol)(EFI_HANDLE Handle, EFI_GUID *Protocol, void **Interface);
  void *Reserved, *RegisterProtocolNotify, *LocateHandle, *LocateDevicePath, *InstallConfigurationTable;
  void *LoadImage, *StartImage, *Exit, *UnloadImage, *ExitBootServices, *GetNextMonotonicCount;
  EFI_STATUS (*Stall)(UINTN Microseconds);
  void *SetWatchdogTimer;
  EFI_STATUS (*ConnectController)(EFI_HANDLE Controller, EFI_HANDLE *Driver, void *RemainingDevicePath,
                                  unsigned char Recursive);
  void *DisconnectController, *OpenProtocol, *CloseProtocol, *OpenProtocolInformation, *ProtocolsPerHandle;
  EFI_STATUS (*LocateHandleBuffer)(UINT32 SearchType, EFI_GUID *Protocol, void *SearchKey, UINTN *NoHandles,
                                   EFI_HANDLE **Buffer);
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

typedef struct {
  UINT32 Revision;
  EFI_HANDLE ParentHandle;
  EFI_SYSTEM_TABLE *SystemTable;
  EFI_HANDLE DeviceHandle;
  /* further members unused */
} EFI_LOADED_IMAGE_PROTOCOL;

struct EFI_FILE_PROTOCOL;
typedef struct EFI_FILE_PROTOCOL {
  UINT64 Revision;
  EFI_STATUS (*Open)(struct EFI_FILE_PROTOCOL *This, struct EFI_FILE_PROTOCOL **NewHandle, const CHAR16 *FileName,
                     UINT64 OpenMode, UINT64 Attributes);
  EFI_STATUS (*Close)(struct EFI_FILE_PROTOCOL *This);
  void *Delete;
  EFI_STATUS (*Read)(struct EFI_FILE_PROTOCOL *This, UINTN *BufferSize, void *Buffer);
  /* further members unused */
} EFI_FILE_PROTOCOL;

typedef struct {
  UINT64 Revision;
  EFI_STATUS (*OpenVolume)(void *This, EFI_FILE_PROTOCOL **Root);
} EFI_SIMPLE_FILE_SYSTEM_PROTOCOL;

typedef struct {
  UINT32 State; /* 0 stopped, 1 started, 2 initialized */
  UINT32 HwAddressSize, MediaHeaderSize, MaxPacketSize, NvRamSize, NvRamAccessSize;
  UINT32 ReceiveFilterMask, ReceiveFilterSetting, MaxMCastFilterCount, MCastFilterCount;
  UINT8 MCastFilter[16][32];
  UINT8 CurrentAddress[32];
  /* further members unused */
} EFI_SIMPLE_NETWORK_MODE;

struct EFI_SIMPLE_NETWORK_PROTOCOL;
typedef struct EFI_SIMPLE_NETWORK_PROTOCOL {
  UINT64 Revision;
  EFI_STATUS (*Start)(struct EFI_SIMPLE_NETWORK_PROTOCOL *This);
  void *Stop;
  EFI_STATUS (*Initialize)(struct EFI_SIMPLE_NETWORK_PROTOCOL *This, UINTN ExtraRx, UINTN ExtraTx);
  void *Reset, *Shutdown, *ReceiveFilters, *StationAddress, *Statistics, *MCastIpToMac, *NvData;
  EFI_STATUS (*GetStatus)(struct EFI_SIMPLE_NETWORK_PROTOCOL *This, UINT32 *InterruptStatus, void **TxBuf);
  EFI_STATUS (*Transmit)(struct EFI_SIMPLE_NETWORK_PROTOCOL *This, UINTN HeaderSize, UINTN BufferSize, void *Buffer,
                         void *SrcAddr, void *DestAddr, UINT16 *Protocol);
  void *Receive;
  void *WaitForPacket;
  EFI_SIMPLE_NETWORK_MODE *Mode;
} EFI_SIMPLE_NETWORK_PROTOCOL;

typedef struct {
  UINT32 MediaId;
  unsigned char RemovableMedia, MediaPresent, LogicalPartition, ReadOnly, WriteCaching;
  UINT32 BlockSize;
  /* further members unused */
} EFI_BLOCK_IO_MEDIA;

struct EFI_BLOCK_IO_PROTOCOL;
typedef struct EFI_BLOCK_IO_PROTOCOL {
  UINT64 Revision;
  EFI_BLOCK_IO_MEDIA *Media;
  void *Reset;
  EFI_STATUS (*ReadBlocks)(struct EFI_BLOCK_IO_PROTOCOL *This, UINT32 MediaId, UINT64 Lba, UINTN BufferSize,
                           void *Buffer);
  /* further members unused */
} EFI_BLOCK_IO_PROTOCOL;

static EFI_GUID kBlockIoGuid = {0x964e5b21, 0x6459, 0x11d2, {0x8e, 0x39, 0x00, 0xa0, 0xc9, 0x69, 0x72, 0x3b}};
static EFI_GUID kLoadedImageGuid = {0x5B1B31A1, 0x9562, 0x11d2, {0x8E, 0x3F, 0x00, 0xA0, 0xC9, 0x69, 0x72, 0x3B}};
static EFI_GUID kFileSystemGuid = {0x964e5b22, 0x6459, 0x11d2, {0x8e, 0x39, 0x00, 0xa0, 0xc9, 0x69, 0x72, 0x3b}};
static EFI_GUID kSimpleNetworkGuid = {0xA19832B9, 0xAC25, 0x11D3, {0x9A, 0x2D, 0x00, 0x90, 0x27, 0x3F, 0xC1, 0x4D}};

static const CHAR16 kBanner[] =
    L"\r\nwinpe-lab stand-in EFI application (not Windows Boot Manager; synthetic test media)\r\n";
static const CHAR16 kMarker[] = L"WINPE-LAB STAND-IN BOOT OK arch=" STANDIN_WIDE(STANDIN_STR(STANDIN_ARCH)) L"\r\n";
static const CHAR16 kBye[] = L"winpe-lab stand-in: shutting down\r\n";

static EFI_SYSTEM_TABLE *gST;

static void say(const CHAR16 *text) {
  if (gST->ConOut) gST->ConOut->OutputString(gST->ConOut, text);
}

/* ---- numbers on the console */
static void sayDec(UINT64 v) {
  CHAR16 buf[24];
  int i = 23;
  buf[i] = 0;
  do {
    buf[--i] = (CHAR16)(L'0' + (v % 10));
    v /= 10;
  } while (v && i > 0);
  say(buf + i);
}

/* ---- a minimal registry-hive reader: enough to find {dbgsettings} elements of a BCD store */
static const UINT8 *gHive;
static UINTN gHiveSize;

static UINT32 rd32(UINTN off) {
  if (off + 4 > gHiveSize) return 0;
  return (UINT32)gHive[off] | ((UINT32)gHive[off + 1] << 8) | ((UINT32)gHive[off + 2] << 16) |
         ((UINT32)gHive[off + 3] << 24);
}
static UINT16 rd16(UINTN off) {
  if (off + 2 > gHiveSize) return 0;
  return (UINT16)(gHive[off] | (gHive[off + 1] << 8));
}
/* the data of the cell at hive-bin offset `cell` (past its size field), or 0 */
static UINTN cellData(UINT32 cell) {
  UINTN off = 4096 + (UINTN)cell + 4;
  return cell == 0xFFFFFFFF || off >= gHiveSize ? 0 : off;
}
static int nameIs(UINTN at, UINTN len, int ascii, const char *want) {
  UINTN i = 0;
  for (; want[i]; i++) {
    UINT16 c = ascii ? (i < len ? gHive[at + i] : 0) : (i * 2 < len ? rd16(at + i * 2) : 0);
    char w = want[i];
    if (c >= 'A' && c <= 'Z') c = (UINT16)(c + 32);
    if (w >= 'A' && w <= 'Z') w = (char)(w + 32);
    if (c != (UINT16)w) return 0;
  }
  return (ascii ? len : len / 2) == i;
}
/* the subkey `name` of the key node at `nk` (data offset), or 0 */
static UINTN subkey(UINTN nk, const char *name);
static UINTN findInList(UINTN list, const char *name, int depth) {
  if (!list || depth > 2) return 0;
  UINT16 sig = rd16(list), n = rd16(list + 2);
  for (UINT16 i = 0; i < n; i++) {
    UINT32 ref = (sig == 0x6972 /* ri */ || sig == 0x696c /* li */) ? rd32(list + 4 + i * 4) : rd32(list + 4 + i * 8);
    UINTN d = cellData(ref);
    if (!d) continue;
    if (sig == 0x6972) {
      UINTN r = findInList(d, name, depth + 1);
      if (r) return r;
      continue;
    }
    if (rd16(d) != 0x6b6e /* nk */) continue;
    if (nameIs(d + 0x4C, rd16(d + 0x48), (rd16(d + 2) & 0x20) != 0, name)) return d;
  }
  return 0;
}
static UINTN subkey(UINTN nk, const char *name) {
  if (!nk || rd16(nk) != 0x6b6e || rd32(nk + 0x14) == 0) return 0;
  return findInList(cellData(rd32(nk + 0x1C)), name, 0);
}
/* the first 8 bytes of value "Element" of key `nk` as a little-endian integer; 0 when absent */
static int elementU64(UINTN nk, UINT64 *out, UINT8 raw[8]) {
  if (!nk) return 0;
  UINT32 count = rd32(nk + 0x24);
  UINTN list = cellData(rd32(nk + 0x28));
  for (UINT32 i = 0; list && i < count && i < 64; i++) {
    UINTN vk = cellData(rd32(list + i * 4));
    if (!vk || rd16(vk) != 0x6b76 /* vk */) continue;
    if (!nameIs(vk + 20, rd16(vk + 2), (rd16(vk + 16) & 1) != 0, "Element")) continue;
    UINT32 size = rd32(vk + 4);
    UINTN data;
    if (size & 0x80000000u) {
      data = vk + 8; /* up to 4 bytes inline */
      size &= 0x7FFFFFFFu;
    } else {
      data = cellData(rd32(vk + 8));
    }
    if (!data || size < 1 || size > 8 || data + size > gHiveSize) return 0;
    UINT64 v = 0;
    for (UINT32 b = 0; b < 8; b++) {
      UINT8 x = b < size ? gHive[data + b] : 0;
      raw[b] = x;
      v |= (UINT64)x << (8 * b);
    }
    *out = v;
    return 1;
  }
  return 0;
}

/* ---- the media's BCD store: from the boot volume when the firmware shows it as a file system, else from the
 * CD's ISO 9660 tree (the firmware boots from the El Torito image, a FAT volume without the BCD; Windows Boot
 * Manager reads the CD itself too) */
static int readBcdFromVolume(EFI_HANDLE image, void *buf, UINTN *size) {
  EFI_BOOT_SERVICES *bs = gST->BootServices;
  EFI_LOADED_IMAGE_PROTOCOL *li = 0;
  EFI_SIMPLE_FILE_SYSTEM_PROTOCOL *fs = 0;
  EFI_FILE_PROTOCOL *root = 0, *file = 0;
  if (bs->HandleProtocol(image, &kLoadedImageGuid, (void **)&li) != EFI_SUCCESS || !li) return 0;
  if (bs->HandleProtocol(li->DeviceHandle, &kFileSystemGuid, (void **)&fs) != EFI_SUCCESS || !fs) return 0;
  if (fs->OpenVolume(fs, &root) != EFI_SUCCESS) return 0;
  if (root->Open(root, &file, L"\\EFI\\Microsoft\\Boot\\BCD", 1, 0) != EFI_SUCCESS) return 0;
  int ok = file->Read(file, size, buf) == EFI_SUCCESS;
  file->Close(file);
  return ok;
}

static int isoNameIs(const UINT8 *rec, const char *want) {
  UINT8 n = rec[32];
  const UINT8 *name = rec + 33;
  UINT8 i = 0;
  for (; want[i]; i++) {
    if (i >= n) return 0;
    UINT8 c = name[i], w = (UINT8)want[i];
    if (c >= 'a' && c <= 'z') c = (UINT8)(c - 32);
    if (w >= 'a' && w <= 'z') w = (UINT8)(w - 32);
    if (c != w) return 0;
  }
  return i == n || name[i] == ';' || (name[i] == '.' && (i + 1 == n || name[i + 1] == ';'));
}

/* `bytes` (a multiple of 2048) from ISO sector `sector` of a disk with blocks of 512, 1024 or 2048 bytes */
static int readSectors(EFI_BLOCK_IO_PROTOCOL *bio, UINT32 sector, UINT32 bytes, void *buf) {
  UINT32 bs = bio->Media->BlockSize;
  return bio->ReadBlocks(bio, bio->Media->MediaId, (UINT64)sector * (2048 / bs), bytes, buf) == EFI_SUCCESS;
}

static int readBcdFromIso(void *buf, UINTN *size) {
  static const char *const parts[] = {"EFI", "MICROSOFT", "BOOT", "BCD"};
  EFI_BOOT_SERVICES *bs = gST->BootServices;
  UINTN n = 0;
  EFI_HANDLE *handles = 0;
  void *dir = 0;
  const UINTN dirMax = 64 * 1024;
  if (bs->LocateHandleBuffer(2 /* ByProtocol */, &kBlockIoGuid, 0, &n, &handles) != EFI_SUCCESS) return 0;
  if (bs->AllocatePool(2, dirMax, &dir) != EFI_SUCCESS) return 0;
  UINT8 *d = (UINT8 *)dir;
  for (UINTN h = 0; h < n; h++) {
    EFI_BLOCK_IO_PROTOCOL *bio = 0;
    if (bs->HandleProtocol(handles[h], &kBlockIoGuid, (void **)&bio) != EFI_SUCCESS || !bio) continue;
    EFI_BLOCK_IO_MEDIA *m = bio->Media;
    UINT32 blk = m->BlockSize;
    if (!m->MediaPresent || m->LogicalPartition || (blk != 512 && blk != 1024 && blk != 2048)) continue;
    if (!readSectors(bio, 16, 2048, d)) continue;
    if (d[0] != 1 || d[1] != 'C' || d[2] != 'D' || d[3] != '0' || d[4] != '0' || d[5] != '1') continue;
    /* the root directory record of the primary volume descriptor */
    UINT32 lba = (UINT32)d[158] | ((UINT32)d[159] << 8) | ((UINT32)d[160] << 16) | ((UINT32)d[161] << 24);
    UINT32 len = (UINT32)d[166] | ((UINT32)d[167] << 8) | ((UINT32)d[168] << 16) | ((UINT32)d[169] << 24);
    int found = 1;
    for (int p = 0; p < 4 && found; p++) {
      if (len > dirMax) len = (UINT32)dirMax;
      UINT32 bytes = (len + 2047u) & ~2047u;
      if (!readSectors(bio, lba, bytes, d)) return 0;
      found = 0;
      for (UINT32 off = 0; off < len;) {
        UINT8 rl = d[off];
        if (rl == 0) { /* records do not cross a sector: go on at the next one */
          off = (off / 2048 + 1) * 2048;
          continue;
        }
        if (off + rl > len) break;
        if (isoNameIs(d + off, parts[p])) {
          lba = (UINT32)d[off + 2] | ((UINT32)d[off + 3] << 8) | ((UINT32)d[off + 4] << 16) |
                ((UINT32)d[off + 5] << 24);
          len = (UINT32)d[off + 10] | ((UINT32)d[off + 11] << 8) | ((UINT32)d[off + 12] << 16) |
                ((UINT32)d[off + 13] << 24);
          found = 1;
          break;
        }
        off += rl;
      }
    }
    if (!found || len == 0 || len > *size) continue;
    UINT32 bytes = (len + 2047u) & ~2047u;
    if (bytes > *size) continue;
    if (!readSectors(bio, lba, bytes, buf)) continue;
    *size = len;
    return 1;
  }
  return 0;
}

static int readBcd(EFI_HANDLE image) {
  void *buf = 0;
  UINTN size = 1u << 20;
  if (gST->BootServices->AllocatePool(2 /* EfiLoaderData */, size, &buf) != EFI_SUCCESS) return 0;
  if (!readBcdFromVolume(image, buf, &size)) {
    size = 1u << 20;
    if (!readBcdFromIso(buf, &size)) return 0;
  }
  gHive = (const UINT8 *)buf;
  gHiveSize = size;
  return size > 4096 && rd32(0) == 0x66676572; /* "regf" */
}

/* ---- one UDP datagram through the firmware's Simple Network Protocol */
static UINT16 ipChecksum(const UINT8 *h, UINTN n) {
  UINT32 sum = 0;
  for (UINTN i = 0; i + 1 < n; i += 2) sum += (UINT32)((h[i] << 8) | h[i + 1]);
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return (UINT16)~sum;
}

static EFI_SIMPLE_NETWORK_PROTOCOL *findNic(void) {
  EFI_BOOT_SERVICES *bs = gST->BootServices;
  UINTN n = 0;
  EFI_HANDLE *handles = 0;
  for (int attempt = 0; attempt < 2; attempt++) {
    if (bs->LocateHandleBuffer(2 /* ByProtocol */, &kSimpleNetworkGuid, 0, &n, &handles) == EFI_SUCCESS && n > 0) {
      EFI_SIMPLE_NETWORK_PROTOCOL *snp = 0;
      if (bs->HandleProtocol(handles[0], &kSimpleNetworkGuid, (void **)&snp) == EFI_SUCCESS) return snp;
    }
    /* the firmware connects only the boot device: connect every controller, then look again */
    if (bs->LocateHandleBuffer(0 /* AllHandles */, 0, 0, &n, &handles) != EFI_SUCCESS) return 0;
    for (UINTN i = 0; i < n; i++) bs->ConnectController(handles[i], 0, 0, 1);
  }
  return 0;
}

static const char kProbe[] = "WINPE-LAB STAND-IN KDNET PROBE arch=" STANDIN_STR(STANDIN_ARCH);

static int sendProbe(const UINT8 ip[4], UINT16 port) {
  EFI_BOOT_SERVICES *bs = gST->BootServices;
  EFI_SIMPLE_NETWORK_PROTOCOL *snp = findNic();
  if (!snp) {
    say(L"winpe-lab stand-in: no network interface (no UEFI Simple Network Protocol): no probe sent\r\n");
    return 0;
  }
  if (snp->Mode->State == 0) snp->Start(snp);
  if (snp->Mode->State == 1) snp->Initialize(snp, 0, 0);
  static UINT8 frame[128];
  UINTN payload = sizeof(kProbe) - 1;
  UINTN udpLen = 8 + payload, ipLen = 20 + udpLen, len = 14 + ipLen;
  memset(frame, 0, sizeof(frame));
  for (int i = 0; i < 6; i++) {
    frame[i] = 0xFF; /* broadcast: QEMU's user network takes any IPv4 frame */
    frame[6 + i] = snp->Mode->CurrentAddress[i];
  }
  frame[12] = 0x08; /* IPv4 */
  UINT8 *iph = frame + 14;
  iph[0] = 0x45;
  iph[2] = (UINT8)(ipLen >> 8);
  iph[3] = (UINT8)ipLen;
  iph[6] = 0x40; /* don't fragment */
  iph[8] = 64;   /* TTL */
  iph[9] = 17;   /* UDP */
  iph[12] = 10; /* from 10.0.2.15, the first address of QEMU's user network */
  iph[13] = 0;
  iph[14] = 2;
  iph[15] = 15;
  for (int i = 0; i < 4; i++) iph[16 + i] = ip[i];
  UINT16 sum = ipChecksum(iph, 20);
  iph[10] = (UINT8)(sum >> 8);
  iph[11] = (UINT8)sum;
  UINT8 *udp = iph + 20;
  udp[0] = 0xC3; /* source port 50004 */
  udp[1] = 0x54;
  udp[2] = (UINT8)(port >> 8);
  udp[3] = (UINT8)port;
  udp[4] = (UINT8)(udpLen >> 8);
  udp[5] = (UINT8)udpLen; /* checksum 0: none (IPv4) */
  memcpy(udp + 8, kProbe, payload);
  if (snp->Transmit(snp, 0, len, frame, 0, 0, 0) != EFI_SUCCESS) {
    say(L"winpe-lab stand-in: the network interface refused the probe\r\n");
    return 0;
  }
  for (int i = 0; i < 100; i++) { /* wait until the NIC has sent it (up to 1 s) */
    void *tx = 0;
    snp->GetStatus(snp, 0, &tx);
    if (tx) break;
    bs->Stall(10000);
  }
  return 1;
}

/* {dbgsettings} of the media's BCD store: say what it holds; for NET, send the probe to hostip:port */
static void debugSettings(EFI_HANDLE image) {
  if (!readBcd(image)) {
    say(L"winpe-lab stand-in: no readable BCD store at \\EFI\\Microsoft\\Boot\\BCD\r\n");
    return;
  }
  UINTN rootNk = cellData(rd32(0x24));
  UINTN dbg = subkey(subkey(subkey(rootNk, "Objects"), "{4636856e-540f-4170-a130-a84776f4c654}"), "Elements");
  UINT64 type = 0, port = 0, ipv = 0;
  UINT8 raw[8], ip[8];
  if (!elementU64(subkey(dbg, "15000011"), &type, raw)) {
    say(L"winpe-lab stand-in: BCD {dbgsettings}: no debug type\r\n");
    return;
  }
  if (type == 0) {
    UINT64 com = 1, baud = 115200;
    elementU64(subkey(dbg, "15000013"), &com, raw);
    elementU64(subkey(dbg, "15000014"), &baud, raw);
    say(L"winpe-lab stand-in: BCD {dbgsettings}: debugtype SERIAL debugport ");
    sayDec(com);
    say(L" baudrate ");
    sayDec(baud);
    say(L"\r\n");
    return;
  }
  if (type != 3) {
    say(L"winpe-lab stand-in: BCD {dbgsettings}: debugtype ");
    sayDec(type);
    say(L" (not NET or SERIAL)\r\n");
    return;
  }
  if (!elementU64(subkey(dbg, "1500001a"), &ipv, ip) || !elementU64(subkey(dbg, "1500001b"), &port, raw)) {
    say(L"winpe-lab stand-in: BCD {dbgsettings}: debugtype NET without hostip or port\r\n");
    return;
  }
  say(L"winpe-lab stand-in: BCD {dbgsettings}: debugtype NET hostip ");
  for (int i = 0; i < 4; i++) {
    sayDec(ip[i]);
    if (i < 3) say(L".");
  }
  say(L" port ");
  sayDec(port);
  say(L"\r\n");
  if (sendProbe(ip, (UINT16)port)) {
    say(L"winpe-lab stand-in: sent a UDP probe to ");
    for (int i = 0; i < 4; i++) {
      sayDec(ip[i]);
      if (i < 3) say(L".");
    }
    say(L":");
    sayDec(port);
    say(L"\r\n");
  }
}

EFI_STATUS efi_main(EFI_HANDLE ImageHandle, EFI_SYSTEM_TABLE *SystemTable) {
  gST = SystemTable;
  EFI_SIMPLE_TEXT_OUTPUT_PROTOCOL *out = SystemTable->ConOut;
  if (out) {
    out->OutputString(out, kBanner);
    out->OutputString(out, kMarker);
  }
  if (SystemTable->BootServices) {
    debugSettings(ImageHandle);
    SystemTable->BootServices->Stall(500000); /* 0.5 s: let the serial line drain */
  }
  if (out) out->OutputString(out, kBye);
  if (SystemTable->RuntimeServices) {
    SystemTable->RuntimeServices->ResetSystem(EFI_RESET_SHUTDOWN, EFI_SUCCESS, 0, 0);
  }
  return EFI_SUCCESS; /* only if the firmware refused to shut down */
}
