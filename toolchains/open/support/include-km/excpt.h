/*
 * excpt.h (kernel mode) -- winpe-lab's wrapper around mingw-w64's excpt.h for drivers.
 *
 * Stands in for the kernel-mode C runtime's excpt.h of the Windows Driver Kit, which, for C (not C++), also
 * accepts the old spellings of structured exception handling: try, except, finally and leave for __try,
 * __except, __finally and __leave (WDK samples such as the IOCTL sample write `try { ... } except (...)`).
 * mingw-w64 ships that mapping as sehmap.h; this wrapper applies it after mingw-w64's own excpt.h.
 */
#include_next <excpt.h>
#ifndef __cplusplus
#include <sehmap.h>
#endif
