/*
 * ioctlapp.c - test application for the SIOCTL driver. Written for winpe-lab (examples/ioctl).
 *
 * Run it from the folder that holds sioctl.sys. It registers the driver with the service manager as the
 * kernel-driver service SIoctl, starts it, opens \\.\IoctlTest, sends one IOCTL per buffering method,
 * prints each reply and checks it against the text in public.h, then stops and deletes the service.
 * Exit code: 0 when all four replies are correct, 1 when one is not, 2 when the driver cannot be used.
 *
 * It uses only kernel32 and advapi32 (no C runtime functions), so it also builds where no C runtime
 * exists (winpe-lab's open toolchain for arm64). With Visual Studio it is a plain /MTd console app.
 */
#include <windows.h>
#include <winioctl.h>

#include "public.h"

/* ---- output without a C runtime ---------------------------------------------------------------- */

static DWORD TextLength(const char *text)
{
    DWORD n = 0;
    while (text[n] != '\0') {
        n++;
    }
    return n;
}

static void Print(const char *text)
{
    DWORD written = 0;
    HANDLE out = GetStdHandle(STD_OUTPUT_HANDLE);
    if (out != NULL && out != INVALID_HANDLE_VALUE) {
        WriteFile(out, text, TextLength(text), &written, NULL);
    }
}

/* Print an unsigned number in decimal. */
static void PrintNumber(DWORD value)
{
    char digits[16];
    int at = (int)sizeof(digits) - 1;
    digits[at] = '\0';
    do {
        digits[--at] = (char)('0' + value % 10);
        value /= 10;
    } while (value != 0 && at > 0);
    Print(&digits[at]);
}

/* Print "<what> failed (error N)" with GetLastError's code. */
static void PrintFailure(const char *what)
{
    DWORD error = GetLastError();
    Print("ioctlapp: ");
    Print(what);
    Print(" failed (error ");
    PrintNumber(error);
    Print(")\r\n");
}

/* ---- the driver service ------------------------------------------------------------------------ */

/* Full path of sioctl.sys in the current folder; FALSE when it does not fit or does not exist. */
static BOOL DriverPath(char *path, DWORD size)
{
    const char *name = SIOCTL_DRIVER_FILE;
    DWORD length = GetCurrentDirectoryA(size, path);
    DWORD nameLength = TextLength(name);
    DWORD i;

    if (length == 0 || length + 1 + nameLength + 1 > size) {
        return FALSE;
    }
    if (path[length - 1] != '\\') {
        path[length++] = '\\';
    }
    for (i = 0; i <= nameLength; i++) {
        path[length + i] = name[i];
    }
    return GetFileAttributesA(path) != INVALID_FILE_ATTRIBUTES;
}

/* Stop and delete the service (a leftover from an earlier run, or ours at the end). */
static void RemoveService(SC_HANDLE manager)
{
    SERVICE_STATUS status;
    SC_HANDLE service = OpenServiceA(manager, SIOCTL_SERVICE_NAME, SERVICE_ALL_ACCESS);
    if (service == NULL) {
        return;
    }
    ControlService(service, SERVICE_CONTROL_STOP, &status);
    if (!DeleteService(service)) {
        PrintFailure("DeleteService");
    }
    CloseServiceHandle(service);
}

/* Register and start the driver; returns the service handle or NULL. */
static SC_HANDLE InstallService(SC_HANDLE manager, const char *driverPath)
{
    SC_HANDLE service = CreateServiceA(manager, SIOCTL_SERVICE_NAME, SIOCTL_SERVICE_NAME, SERVICE_ALL_ACCESS,
                                       SERVICE_KERNEL_DRIVER, SERVICE_DEMAND_START, SERVICE_ERROR_NORMAL,
                                       driverPath, NULL, NULL, NULL, NULL, NULL);
    if (service == NULL && GetLastError() == ERROR_SERVICE_EXISTS) {
        Print("ioctlapp: removing a service SIoctl left by an earlier run\r\n");
        RemoveService(manager);
        service = CreateServiceA(manager, SIOCTL_SERVICE_NAME, SIOCTL_SERVICE_NAME, SERVICE_ALL_ACCESS,
                                 SERVICE_KERNEL_DRIVER, SERVICE_DEMAND_START, SERVICE_ERROR_NORMAL, driverPath,
                                 NULL, NULL, NULL, NULL, NULL);
    }
    if (service == NULL) {
        PrintFailure("CreateService");
        return NULL;
    }
    if (!StartServiceA(service, 0, NULL) && GetLastError() != ERROR_SERVICE_ALREADY_RUNNING) {
        PrintFailure("StartService");
        DeleteService(service);
        CloseServiceHandle(service);
        return NULL;
    }
    return service;
}

/* ---- the requests ------------------------------------------------------------------------------ */

struct Request {
    const char *method;
    DWORD code;
    const char *expected;
};

static const struct Request requests[] = {
    {"METHOD_BUFFERED", IOCTL_SIOCTL_METHOD_BUFFERED, SIOCTL_REPLY_BUFFERED},
    {"METHOD_IN_DIRECT", IOCTL_SIOCTL_METHOD_IN_DIRECT, SIOCTL_REPLY_IN_DIRECT},
    {"METHOD_OUT_DIRECT", IOCTL_SIOCTL_METHOD_OUT_DIRECT, SIOCTL_REPLY_OUT_DIRECT},
    {"METHOD_NEITHER", IOCTL_SIOCTL_METHOD_NEITHER, SIOCTL_REPLY_NEITHER},
};

/* Send one request; print "<method>: ok: "<reply>"" or what went wrong. TRUE when the reply is right. */
static BOOL SendRequest(HANDLE device, const struct Request *request)
{
    char input[SIOCTL_BUFFER_SIZE];
    char output[SIOCTL_BUFFER_SIZE];
    const char *text = SIOCTL_REQUEST_TEXT;
    DWORD inputLength = TextLength(text) + 1;
    DWORD expectedLength = TextLength(request->expected) + 1;
    DWORD returned = 0;
    DWORD i;
    BOOL same;

    for (i = 0; i < SIOCTL_BUFFER_SIZE; i++) {
        input[i] = i < inputLength ? text[i] : '\0';
        output[i] = '\0';
    }
    Print(request->method);
    if (!DeviceIoControl(device, request->code, input, inputLength, output, sizeof(output), &returned, NULL)) {
        Print(": FAILED: DeviceIoControl error ");
        PrintNumber(GetLastError());
        Print("\r\n");
        return FALSE;
    }
    output[SIOCTL_BUFFER_SIZE - 1] = '\0';
    same = returned == expectedLength;
    for (i = 0; same && i < expectedLength; i++) {
        same = output[i] == request->expected[i];
    }
    Print(same ? ": ok: \"" : ": FAILED: unexpected reply \"");
    Print(output);
    Print("\" (");
    PrintNumber(returned);
    Print(" bytes)\r\n");
    return same;
}

int main(int argc, char **argv)
{
    char driverPath[MAX_PATH + 16];
    SC_HANDLE manager;
    SC_HANDLE service;
    HANDLE device;
    DWORD i;
    DWORD passed = 0;
    const DWORD count = sizeof(requests) / sizeof(requests[0]);

    (void)argc;
    (void)argv;

    if (!DriverPath(driverPath, sizeof(driverPath))) {
        Print("ioctlapp: " SIOCTL_DRIVER_FILE " is not in the current folder: run ioctlapp from the folder that holds it\r\n");
        return 2;
    }
    Print("ioctlapp: driver ");
    Print(driverPath);
    Print("\r\n");

    manager = OpenSCManagerA(NULL, NULL, SC_MANAGER_ALL_ACCESS);
    if (manager == NULL) {
        PrintFailure("OpenSCManager (run as administrator)");
        return 2;
    }
    service = InstallService(manager, driverPath);
    if (service == NULL) {
        CloseServiceHandle(manager);
        return 2;
    }
    Print("ioctlapp: service " SIOCTL_SERVICE_NAME " started\r\n");

    device = CreateFileA(SIOCTL_WIN32_DEVICE_PATH, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
                         FILE_ATTRIBUTE_NORMAL, NULL);
    if (device == INVALID_HANDLE_VALUE) {
        PrintFailure("CreateFile " SIOCTL_WIN32_DEVICE_PATH);
    } else {
        for (i = 0; i < count; i++) {
            if (SendRequest(device, &requests[i])) {
                passed++;
            }
        }
        CloseHandle(device);
    }

    CloseServiceHandle(service);
    RemoveService(manager);
    CloseServiceHandle(manager);
    Print("ioctlapp: service " SIOCTL_SERVICE_NAME " stopped and deleted\r\n");

    Print("ioctlapp: ");
    PrintNumber(passed);
    Print(" of ");
    PrintNumber(count);
    Print(" replies correct\r\n");
    if (device == INVALID_HANDLE_VALUE) {
        return 2;
    }
    return passed == count ? 0 : 1;
}
