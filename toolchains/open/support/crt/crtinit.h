/*
 * crtinit.h -- winpe-lab console-application start-up (shared by crt0-main.c and crt0-wmain.c).
 *
 * Written for winpe-lab. The start-up code an application gets from the open toolchain instead of the Visual C++
 * runtime's: the C runtime itself is msvcrt.dll, which Windows and Windows PE ship in System32, so the application
 * needs no Visual C++ runtime DLL. Before main/wmain it
 *   1. tells msvcrt.dll it runs a console application (__set_app_type),
 *   2. gets argc/argv/envp from msvcrt.dll's command-line parser (__getmainargs / __wgetmainargs, no wildcard
 *      expansion, as the Visual C++ runtime by default),
 *   3. runs the C initializers (.CRT$XI*, int-returning: a non-zero result ends the program with 255) and the C++
 *      constructors of global objects (.CRT$XC*), in section order,
 * then calls exit(main(...)), so that msvcrt.dll flushes the stdio buffers and runs the atexit functions.
 */
#ifndef WINPE_LAB_CRTINIT_H
#define WINPE_LAB_CRTINIT_H

typedef void(__cdecl *winpe_pvfv)(void);
typedef int(__cdecl *winpe_pifv)(void);
typedef struct {
  int newmode;
} winpe_startupinfo;

__declspec(dllimport) void __cdecl __set_app_type(int type);
__declspec(dllimport) void __cdecl exit(int code);
__declspec(dllimport) void __cdecl _exit(int code);

#pragma section(".CRT$XIA", long, read)
#pragma section(".CRT$XIZ", long, read)
#pragma section(".CRT$XCA", long, read)
#pragma section(".CRT$XCZ", long, read)

/* The bounds of the initializer tables (the linker sorts .CRT$X?? sections by name and merges them). */
extern winpe_pifv winpe_xi_a[], winpe_xi_z[];
extern winpe_pvfv winpe_xc_a[], winpe_xc_z[];

static __inline void winpe_run_initializers(void) {
  winpe_pifv *i;
  winpe_pvfv *c;
  for (i = winpe_xi_a; i < winpe_xi_z; i++) {
    if (*i != 0 && (*i)() != 0) _exit(255);
  }
  for (c = winpe_xc_a; c < winpe_xc_z; c++) {
    if (*c != 0) (*c)();
  }
}

#endif
