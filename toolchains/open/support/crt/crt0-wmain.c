/* crt0-wmain.c -- winpe-lab: entry point wmainCRTStartup of console applications with wmain (see crtinit.h). */
#include "crtinit.h"

__declspec(dllimport) int __cdecl __wgetmainargs(int *argc, unsigned short ***argv, unsigned short ***envp,
                                                 int wildcards, winpe_startupinfo *info);
int __cdecl wmain(int argc, unsigned short **argv, unsigned short **envp);

void __cdecl wmainCRTStartup(void) {
  int argc = 0;
  unsigned short **argv = 0, **envp = 0;
  winpe_startupinfo info = {0};
  __set_app_type(1); /* _CONSOLE_APP */
  if (__wgetmainargs(&argc, &argv, &envp, 0, &info) < 0) _exit(255);
  winpe_run_initializers();
  exit(wmain(argc, argv, envp));
}
