/*
 * sioctl.c - SIOCTL: a minimal WDM driver that answers four IOCTLs, one per buffering method.
 * Written for winpe-lab (examples/ioctl); interface in ../inc/public.h.
 *
 * The device is \Device\SIOCTL with the DOS link \DosDevices\IoctlTest. Each IOCTL logs the caller's
 * request text with DbgPrint and writes a fixed reply (SIOCTL_REPLY_*) into the caller's output buffer.
 *
 * Builds with the WDK (MSBuild, sioctl.vcxproj) and with winpe-lab's open toolchain (clang + the
 * mingw-w64 DDK headers); the few WDK-only annotations have fallbacks below.
 */
#include <ntddk.h>

#include "public.h"

#ifndef _Dispatch_type_
#define _Dispatch_type_(x) /* SAL annotation; absent from the mingw-w64 DDK headers */
#endif
#ifndef MdlMappingNoExecute
#define MdlMappingNoExecute 0x40000000 /* absent from the mingw-w64 DDK headers */
#endif

#define SIOCTL_TAG "SIOCTL: "

/* The project defines SIOCTL_CONFIGURATION_<Configuration>=1 (sioctl.vcxproj). */
#if defined(SIOCTL_CONFIGURATION_Debug)
#define SIOCTL_BUILD "Debug build"
#elif defined(SIOCTL_CONFIGURATION_Release)
#define SIOCTL_BUILD "Release build"
#else
#define SIOCTL_BUILD "unknown build"
#endif

DRIVER_INITIALIZE DriverEntry;
DRIVER_UNLOAD SioctlUnload;
_Dispatch_type_(IRP_MJ_CREATE) _Dispatch_type_(IRP_MJ_CLOSE) DRIVER_DISPATCH SioctlCreateClose;
_Dispatch_type_(IRP_MJ_DEVICE_CONTROL) DRIVER_DISPATCH SioctlDeviceControl;

/* Length of a NUL-terminated ASCII string (no CRT in the kernel build). */
static ULONG SioctlLength(const char *text)
{
    ULONG n = 0;
    while (text[n] != '\0') {
        n++;
    }
    return n;
}

/*
 * Copy `reply` (with its NUL) into `dest`. Returns the byte count written, or 0 when `dest` is too
 * small, in which case nothing is written.
 */
static ULONG SioctlPutReply(PVOID dest, ULONG destLength, const char *reply)
{
    ULONG needed = SioctlLength(reply) + 1;
    if (dest == NULL || destLength < needed) {
        return 0;
    }
    RtlCopyMemory(dest, reply, needed);
    return needed;
}

/* Log what the caller sent; at most 64 bytes, never past `length`. */
static VOID SioctlLogRequest(const char *method, const char *data, ULONG length)
{
    int shown = (int)(length > 64 ? 64 : length);
    if (data == NULL) {
        shown = 0;
        data = "";
    }
    /* The application sends the terminating NUL too: do not print it. */
    while (shown > 0 && data[shown - 1] == '\0') {
        shown--;
    }
    DbgPrint(SIOCTL_TAG "%s request (%lu bytes): \"%.*s\"\n", method, length, shown, data);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNICODE_STRING ntName;
    UNICODE_STRING dosName;
    PDEVICE_OBJECT device = NULL;
    NTSTATUS status;

    UNREFERENCED_PARAMETER(RegistryPath);

    RtlInitUnicodeString(&ntName, SIOCTL_NT_DEVICE_NAME);
    status = IoCreateDevice(DriverObject, 0, &ntName, FILE_DEVICE_UNKNOWN, FILE_DEVICE_SECURE_OPEN, FALSE, &device);
    if (!NT_SUCCESS(status)) {
        DbgPrint(SIOCTL_TAG "IoCreateDevice failed: 0x%08lx\n", (ULONG)status);
        return status;
    }

    DriverObject->MajorFunction[IRP_MJ_CREATE] = SioctlCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = SioctlCreateClose;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = SioctlDeviceControl;
    DriverObject->DriverUnload = SioctlUnload;

    RtlInitUnicodeString(&dosName, SIOCTL_DOS_DEVICE_NAME);
    status = IoCreateSymbolicLink(&dosName, &ntName);
    if (!NT_SUCCESS(status)) {
        DbgPrint(SIOCTL_TAG "IoCreateSymbolicLink failed: 0x%08lx\n", (ULONG)status);
        IoDeleteDevice(device);
        return status;
    }

    DbgPrint(SIOCTL_TAG "loaded (" SIOCTL_BUILD ")\n");
    return STATUS_SUCCESS;
}

VOID SioctlUnload(PDRIVER_OBJECT DriverObject)
{
    UNICODE_STRING dosName;

    RtlInitUnicodeString(&dosName, SIOCTL_DOS_DEVICE_NAME);
    IoDeleteSymbolicLink(&dosName);
    if (DriverObject->DeviceObject != NULL) {
        IoDeleteDevice(DriverObject->DeviceObject);
    }
    DbgPrint(SIOCTL_TAG "unloaded\n");
}

NTSTATUS SioctlCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    UNREFERENCED_PARAMETER(DeviceObject);

#if defined(SIOCTL_VERBOSE)
    DbgPrint(SIOCTL_TAG "%s\n", IoGetCurrentIrpStackLocation(Irp)->MajorFunction == IRP_MJ_CREATE ? "create" : "close");
#endif
    Irp->IoStatus.Status = STATUS_SUCCESS;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

/* METHOD_BUFFERED: one system buffer holds the input and, afterwards, the output. */
static NTSTATUS SioctlBuffered(PIRP Irp, PIO_STACK_LOCATION stack)
{
    PVOID buffer = Irp->AssociatedIrp.SystemBuffer;
    ULONG inLength = stack->Parameters.DeviceIoControl.InputBufferLength;
    ULONG outLength = stack->Parameters.DeviceIoControl.OutputBufferLength;

    SioctlLogRequest("METHOD_BUFFERED", (const char *)buffer, buffer != NULL ? inLength : 0);
    Irp->IoStatus.Information = SioctlPutReply(buffer, outLength, SIOCTL_REPLY_BUFFERED);
    return Irp->IoStatus.Information != 0 ? STATUS_SUCCESS : STATUS_BUFFER_TOO_SMALL;
}

/*
 * METHOD_IN_DIRECT / METHOD_OUT_DIRECT: the input arrives in the system buffer; the output buffer is
 * described by Irp->MdlAddress (locked by the I/O manager) and mapped into system space here.
 */
static NTSTATUS SioctlDirect(PIRP Irp, PIO_STACK_LOCATION stack, const char *method, const char *reply)
{
    ULONG inLength = stack->Parameters.DeviceIoControl.InputBufferLength;
    PVOID input = Irp->AssociatedIrp.SystemBuffer;
    PVOID output;
    ULONG outLength;

    SioctlLogRequest(method, (const char *)input, input != NULL ? inLength : 0);
    if (Irp->MdlAddress == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    output = MmGetSystemAddressForMdlSafe(Irp->MdlAddress, NormalPagePriority | MdlMappingNoExecute);
    if (output == NULL) {
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    outLength = MmGetMdlByteCount(Irp->MdlAddress);
    Irp->IoStatus.Information = SioctlPutReply(output, outLength, reply);
    return Irp->IoStatus.Information != 0 ? STATUS_SUCCESS : STATUS_BUFFER_TOO_SMALL;
}

/*
 * METHOD_NEITHER: both buffers are the caller's user-mode addresses. This driver is called in the
 * caller's context (it is the top of its stack), so it probes them and touches them under __try.
 */
static NTSTATUS SioctlNeither(PIRP Irp, PIO_STACK_LOCATION stack)
{
    const char *input = (const char *)stack->Parameters.DeviceIoControl.Type3InputBuffer;
    ULONG inLength = stack->Parameters.DeviceIoControl.InputBufferLength;
    PVOID output = Irp->UserBuffer;
    ULONG outLength = stack->Parameters.DeviceIoControl.OutputBufferLength;
    NTSTATUS status = STATUS_SUCCESS;

    if (input == NULL || inLength == 0 || output == NULL || outLength == 0) {
        return STATUS_INVALID_PARAMETER;
    }
    __try {
        if (Irp->RequestorMode != KernelMode) {
            ProbeForRead((PVOID)input, inLength, 1);
            ProbeForWrite(output, outLength, 1);
        }
        SioctlLogRequest("METHOD_NEITHER", input, inLength);
        Irp->IoStatus.Information = SioctlPutReply(output, outLength, SIOCTL_REPLY_NEITHER);
        if (Irp->IoStatus.Information == 0) {
            status = STATUS_BUFFER_TOO_SMALL;
        }
    } __except (EXCEPTION_EXECUTE_HANDLER) {
        status = GetExceptionCode();
        Irp->IoStatus.Information = 0;
    }
    return status;
}

NTSTATUS SioctlDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
    NTSTATUS status;

    UNREFERENCED_PARAMETER(DeviceObject);

    Irp->IoStatus.Information = 0;
    switch (stack->Parameters.DeviceIoControl.IoControlCode) {
    case IOCTL_SIOCTL_METHOD_BUFFERED:
        status = SioctlBuffered(Irp, stack);
        break;
    case IOCTL_SIOCTL_METHOD_IN_DIRECT:
        status = SioctlDirect(Irp, stack, "METHOD_IN_DIRECT", SIOCTL_REPLY_IN_DIRECT);
        break;
    case IOCTL_SIOCTL_METHOD_OUT_DIRECT:
        status = SioctlDirect(Irp, stack, "METHOD_OUT_DIRECT", SIOCTL_REPLY_OUT_DIRECT);
        break;
    case IOCTL_SIOCTL_METHOD_NEITHER:
        status = SioctlNeither(Irp, stack);
        break;
    default:
        DbgPrint(SIOCTL_TAG "unknown IOCTL 0x%08lx\n", stack->Parameters.DeviceIoControl.IoControlCode);
        status = STATUS_INVALID_DEVICE_REQUEST;
        break;
    }

    Irp->IoStatus.Status = status;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return status;
}
