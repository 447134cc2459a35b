/* crt0-main.c -- winpe-lab: entry point mainCRTStartup of console applications with main (see crtinit.h). */
#include "crtinit.h"

__declspec(dllimport) int __cdecl __getmainargs(int *argc, char ***argv, char ***envp, int wildcards,
                                                winpe_startupinfo *info);
int __cdecl main(int argc, char **argv, char **envp);

void __cdecl mainCRTStartup(void) {
  int argc = 0;
  char **argv = 0, **envp = 0;
  winpe_startupinfo info = {0};
  __set_app_type(1); /* _CONSOLE_APP */
  if (__getmainargs(&argc, &argv, &envp, 0, &info) < 0) _exit(255);
  winpe_run_initializers();
  exit(main(argc, argv, envp));
}
