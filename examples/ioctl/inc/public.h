/*
 * public.h - the interface shared by the SIOCTL driver (sys/sioctl.c) and its test application
 * (exe/ioctlapp.c). Written for winpe-lab.
 *
 * Include <ntddk.h> (driver) or <windows.h> + <winioctl.h> (application) first: CTL_CODE and the
 * METHOD_* / FILE_* constants come from there.
 */
#ifndef SIOCTL_PUBLIC_H
#define SIOCTL_PUBLIC_H

/* Device type for the IOCTL codes: in the range reserved for vendors (32768-65535). */
#define SIOCTL_DEVICE_TYPE 40000

/* One control code per buffering method, function codes 0x900-0x903. */
#define IOCTL_SIOCTL_METHOD_IN_DIRECT \
    CTL_CODE(SIOCTL_DEVICE_TYPE, 0x900, METHOD_IN_DIRECT, FILE_ANY_ACCESS)
#define IOCTL_SIOCTL_METHOD_OUT_DIRECT \
    CTL_CODE(SIOCTL_DEVICE_TYPE, 0x901, METHOD_OUT_DIRECT, FILE_ANY_ACCESS)
#define IOCTL_SIOCTL_METHOD_BUFFERED \
    CTL_CODE(SIOCTL_DEVICE_TYPE, 0x902, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define IOCTL_SIOCTL_METHOD_NEITHER \
    CTL_CODE(SIOCTL_DEVICE_TYPE, 0x903, METHOD_NEITHER, FILE_ANY_ACCESS)

/* Names: kernel device object, its DOS link, and the path the application opens. */
#define SIOCTL_NT_DEVICE_NAME L"\\Device\\SIOCTL"
#define SIOCTL_DOS_DEVICE_NAME L"\\DosDevices\\IoctlTest"
#define SIOCTL_WIN32_DEVICE_PATH "\\\\.\\IoctlTest"

/* Service name the application registers, and the driver file it expects in its current folder. */
#define SIOCTL_SERVICE_NAME "SIoctl"
#define SIOCTL_DRIVER_FILE "sioctl.sys"

/* What the application sends with each request (the driver prints it with DbgPrint). */
#define SIOCTL_REQUEST_TEXT "ioctlapp asks: are you there?"

/* The exact replies the driver writes back; the application compares what it receives with these. */
#define SIOCTL_REPLY_BUFFERED "SIOCTL answers METHOD_BUFFERED: hello from the kernel!"
#define SIOCTL_REPLY_IN_DIRECT "SIOCTL answers METHOD_IN_DIRECT: hello from the kernel!"
#define SIOCTL_REPLY_OUT_DIRECT "SIOCTL answers METHOD_OUT_DIRECT: hello from the kernel!"
#define SIOCTL_REPLY_NEITHER "SIOCTL answers METHOD_NEITHER: hello from the kernel!"

/* Size of the buffers the application passes; every reply (with its NUL) fits. */
#define SIOCTL_BUFFER_SIZE 128

#endif /* SIOCTL_PUBLIC_H */
