/*
 * wdmsec.c -- winpe-lab's implementation of the WDK static library wdmsec.lib (mingw-w64 has none).
 *
 * Written for winpe-lab from the WDK documentation of wdmsec.h (WdmlibIoCreateDeviceSecure, "SDDL for Device
 * Objects", "Setting Device Object Registry Properties After Installation"). A project that lists
 * $(DDK_LIB_PATH)\wdmsec.lib links this instead.
 *
 * WdmlibIoCreateDeviceSecure (IoCreateDeviceSecure through wdmsec.h) creates a named device object and gives it the
 * security descriptor of the SDDL string, for real:
 *   1. the SDDL string is parsed (devobj_sddl.h: the documented subset; anything else fails with
 *      STATUS_INVALID_PARAMETER before a device exists);
 *   2. administrator overrides are read from HKLM\SYSTEM\CurrentControlSet\Control\Class\{DeviceClassGuid}\Properties
 *      when DeviceClassGuid is given: Security (a self-relative security descriptor, REG_BINARY) replaces the
 *      SDDL's descriptor, DeviceType, DeviceCharacteristics and Exclusive (REG_DWORD) replace the arguments;
 *   3. the device is created with IoCreateDevice;
 *   4. the descriptor is applied to the device object: ObOpenObjectByPointer(WRITE_DAC) and ZwSetSecurityObject
 *      (DACL_SECURITY_INFORMATION). If that fails, the device is deleted and the error returned: a device is
 *      never left with a weaker descriptor than the one asked for.
 * The device cannot be opened before step 4 completes: a new device object carries DO_DEVICE_INITIALIZING, which
 * the I/O manager clears only after DriverEntry (legacy drivers) or AddDevice (PnP drivers) returns.
 *
 * WdmlibRtlInitUnicodeStringEx and WdmlibIoValidateDeviceIoControlAccess call the routines ntoskrnl.exe exports
 * under their own names (RtlInitUnicodeStringEx, IoValidateDeviceIoControlAccess: Windows XP SP1 / Server 2003
 * and later, so every Windows that WinPE 10 boots has them).
 */
#include <ntifs.h>
#include <wdmsec.h>

#define WINPE_SDDL_TAG 'lddS'
#define WINPE_SDDL_ALLOC(bytes) ExAllocatePoolZero(PagedPool, (bytes), WINPE_SDDL_TAG)
#define WINPE_SDDL_FREE(ptr) ExFreePoolWithTag((ptr), WINPE_SDDL_TAG)
#include "devobj_sddl.h"


/* The predefined strings of wdmsec.h (their values are documented in "SDDL for Device Objects"). */
#define WINPE_CONST_USTR(name, text) \
  const UNICODE_STRING name = {sizeof(text) - sizeof(WCHAR), sizeof(text), (PWCH)(text)}
WINPE_CONST_USTR(SDDL_DEVOBJ_KERNEL_ONLY, L"D:P");
WINPE_CONST_USTR(SDDL_DEVOBJ_SYS_ALL, L"D:P(A;;GA;;;SY)");
WINPE_CONST_USTR(SDDL_DEVOBJ_SYS_ALL_ADM_ALL, L"D:P(A;;GA;;;SY)(A;;GA;;;BA)");
WINPE_CONST_USTR(SDDL_DEVOBJ_SYS_ALL_ADM_RX, L"D:P(A;;GA;;;SY)(A;;GRGX;;;BA)");
WINPE_CONST_USTR(SDDL_DEVOBJ_SYS_ALL_ADM_RWX_WORLD_R, L"D:P(A;;GA;;;SY)(A;;GRGWGX;;;BA)(A;;GR;;;WD)");
WINPE_CONST_USTR(SDDL_DEVOBJ_SYS_ALL_ADM_RWX_WORLD_R_RES_R,
                 L"D:P(A;;GA;;;SY)(A;;GRGWGX;;;BA)(A;;GR;;;WD)(A;;GR;;;RC)");
WINPE_CONST_USTR(SDDL_DEVOBJ_SYS_ALL_ADM_RWX_WORLD_RW_RES_R,
                 L"D:P(A;;GA;;;SY)(A;;GRGWGX;;;BA)(A;;GRGW;;;WD)(A;;GR;;;RC)");
WINPE_CONST_USTR(SDDL_DEVOBJ_SYS_ALL_ADM_RWX_WORLD_RWX_RES_RWX,
                 L"D:P(A;;GA;;;SY)(A;;GRGWGX;;;BA)(A;;GRGWGX;;;WD)(A;;GRGWGX;;;RC)");

/* One REG_DWORD or REG_BINARY value of an open key, into a pool buffer (caller frees). */
static NTSTATUS WinpeQueryValue(HANDLE Key, PCWSTR Name, ULONG Type, PKEY_VALUE_PARTIAL_INFORMATION *Info) {
  UNICODE_STRING name;
  ULONG size = 0;
  PKEY_VALUE_PARTIAL_INFORMATION info;
  NTSTATUS status;
  *Info = NULL;
  RtlInitUnicodeString(&name, Name);
  status = ZwQueryValueKey(Key, &name, KeyValuePartialInformation, NULL, 0, &size);
  if (status != STATUS_BUFFER_TOO_SMALL && status != STATUS_BUFFER_OVERFLOW) return status;
  info = (PKEY_VALUE_PARTIAL_INFORMATION)ExAllocatePoolZero(PagedPool, size, WINPE_SDDL_TAG);
  if (info == NULL) return STATUS_INSUFFICIENT_RESOURCES;
  status = ZwQueryValueKey(Key, &name, KeyValuePartialInformation, info, size, &size);
  if (NT_SUCCESS(status) && info->Type != Type) status = STATUS_OBJECT_TYPE_MISMATCH;
  if (!NT_SUCCESS(status)) {
    ExFreePoolWithTag(info, WINPE_SDDL_TAG);
    return status;
  }
  *Info = info;
  return STATUS_SUCCESS;
}

static BOOLEAN WinpeQueryDword(HANDLE Key, PCWSTR Name, PULONG Value) {
  PKEY_VALUE_PARTIAL_INFORMATION info;
  BOOLEAN found = FALSE;
  if (NT_SUCCESS(WinpeQueryValue(Key, Name, REG_DWORD, &info))) {
    if (info->DataLength == sizeof(ULONG)) {
      *Value = *(PULONG)info->Data;
      found = TRUE;
    }
    ExFreePoolWithTag(info, WINPE_SDDL_TAG);
  }
  return found;
}

/*
 * Administrator overrides of the device setup class (documented location). *Security receives a pool copy of the
 * Security value when it holds a valid self-relative descriptor. Missing key or values: nothing is overridden.
 */
static NTSTATUS WinpeReadClassOverrides(LPCGUID ClassGuid, PSECURITY_DESCRIPTOR *Security, PULONG SecurityLength,
                                        DEVICE_TYPE *DeviceType, PULONG Characteristics, PBOOLEAN Exclusive) {
  static const WCHAR prefix[] = L"\\Registry\\Machine\\SYSTEM\\CurrentControlSet\\Control\\Class\\";
  static const WCHAR suffix[] = L"\\Properties";
  UNICODE_STRING guidText, path;
  OBJECT_ATTRIBUTES attributes;
  HANDLE key;
  PKEY_VALUE_PARTIAL_INFORMATION info;
  ULONG value;
  NTSTATUS status;

  *Security = NULL;
  *SecurityLength = 0;
  status = RtlStringFromGUID((REFGUID)ClassGuid, &guidText);
  if (!NT_SUCCESS(status)) return status;
  path.Length = 0;
  path.MaximumLength = (USHORT)(sizeof(prefix) + guidText.Length + sizeof(suffix));
  path.Buffer = (PWCH)ExAllocatePoolZero(PagedPool, path.MaximumLength, WINPE_SDDL_TAG);
  if (path.Buffer == NULL) {
    RtlFreeUnicodeString(&guidText);
    return STATUS_INSUFFICIENT_RESOURCES;
  }
  RtlAppendUnicodeToString(&path, prefix);
  RtlAppendUnicodeStringToString(&path, &guidText);
  RtlAppendUnicodeToString(&path, suffix);
  RtlFreeUnicodeString(&guidText);
  InitializeObjectAttributes(&attributes, &path, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, NULL, NULL);
  status = ZwOpenKey(&key, KEY_READ, &attributes);
  ExFreePoolWithTag(path.Buffer, WINPE_SDDL_TAG);
  if (status == STATUS_OBJECT_NAME_NOT_FOUND || status == STATUS_OBJECT_PATH_NOT_FOUND) return STATUS_SUCCESS;
  if (!NT_SUCCESS(status)) return status;

  if (NT_SUCCESS(WinpeQueryValue(key, L"Security", REG_BINARY, &info))) {
    if (info->DataLength > 0 && RtlValidRelativeSecurityDescriptor(info->Data, info->DataLength, 0)) {
      *Security = ExAllocatePoolZero(PagedPool, info->DataLength, WINPE_SDDL_TAG);
      if (*Security == NULL) status = STATUS_INSUFFICIENT_RESOURCES;
      else {
        RtlCopyMemory(*Security, info->Data, info->DataLength);
        *SecurityLength = info->DataLength;
      }
    }
    ExFreePoolWithTag(info, WINPE_SDDL_TAG);
  }
  if (WinpeQueryDword(key, L"DeviceType", &value)) *DeviceType = (DEVICE_TYPE)value;
  if (WinpeQueryDword(key, L"DeviceCharacteristics", &value)) *Characteristics = value;
  if (WinpeQueryDword(key, L"Exclusive", &value)) *Exclusive = value != 0;
  ZwClose(key);
  return status;
}

NTSTATUS
WdmlibIoCreateDeviceSecure(PDRIVER_OBJECT DriverObject, ULONG DeviceExtensionSize, PUNICODE_STRING DeviceName,
                           DEVICE_TYPE DeviceType, ULONG DeviceCharacteristics, BOOLEAN Exclusive,
                           PCUNICODE_STRING DefaultSDDLString, LPCGUID DeviceClassGuid,
                           PDEVICE_OBJECT *DeviceObject) {
  PSECURITY_DESCRIPTOR descriptor = NULL, override = NULL;
  ULONG length = 0, overrideLength = 0;
  PDEVICE_OBJECT device = NULL;
  HANDLE handle = NULL;
  NTSTATUS status;

  PAGED_CODE();
  *DeviceObject = NULL;
  if (DeviceName == NULL && (DeviceCharacteristics & FILE_AUTOGENERATED_DEVICE_NAME) == 0) {
    return STATUS_INVALID_PARAMETER;
  }
  /* 1. the default descriptor from the SDDL string (refused when outside the documented subset) */
  status = WinpeSddlToSecurityDescriptor(DefaultSDDLString, &descriptor, &length);
  if (!NT_SUCCESS(status)) return status;
  /* 2. the administrator's overrides for the device setup class */
  if (DeviceClassGuid != NULL) {
    status = WinpeReadClassOverrides(DeviceClassGuid, &override, &overrideLength, &DeviceType, &DeviceCharacteristics,
                                     &Exclusive);
    if (!NT_SUCCESS(status)) goto out;
    if (override != NULL) {
      WINPE_SDDL_FREE(descriptor);
      descriptor = override;
      length = overrideLength;
      override = NULL;
    }
  }
  /* 3. the device */
  status = IoCreateDevice(DriverObject, DeviceExtensionSize, DeviceName, DeviceType, DeviceCharacteristics, Exclusive,
                          &device);
  if (!NT_SUCCESS(status)) goto out;
  /* 4. its security descriptor; on failure the device goes away again */
  /* the object is the device just created: its type need not be checked (ObjectType is optional in KernelMode) */
  status = ObOpenObjectByPointer(device, OBJ_KERNEL_HANDLE, NULL, WRITE_DAC, NULL, KernelMode, &handle);
  if (NT_SUCCESS(status)) {
    status = ZwSetSecurityObject(handle, DACL_SECURITY_INFORMATION, descriptor);
    ZwClose(handle);
  }
  if (!NT_SUCCESS(status)) {
    IoDeleteDevice(device);
    goto out;
  }
  *DeviceObject = device;
out:
  if (descriptor != NULL) WINPE_SDDL_FREE(descriptor);
  (void)length;
  return status;
}

#undef RtlInitUnicodeStringEx
NTSYSAPI NTSTATUS NTAPI RtlInitUnicodeStringEx(PUNICODE_STRING DestinationString, PCWSTR SourceString);

NTSTATUS
WdmlibRtlInitUnicodeStringEx(PUNICODE_STRING DestinationString, PCWSTR SourceString) {
  return RtlInitUnicodeStringEx(DestinationString, SourceString);
}

#undef IoValidateDeviceIoControlAccess
NTKERNELAPI NTSTATUS NTAPI IoValidateDeviceIoControlAccess(PIRP Irp, ULONG RequiredAccess);

NTSTATUS
WdmlibIoValidateDeviceIoControlAccess(PIRP Irp, ULONG RequiredAccess) {
  return IoValidateDeviceIoControlAccess(Irp, RequiredAccess);
}
