/*
 * stdio-glue.c -- winpe-lab: the functions mingw-w64's stdio.h expects from its own static libraries when an
 * application uses msvcrt.dll's printf family (__USE_MINGW_ANSI_STDIO=0), written over msvcrt.dll's exports:
 * - __acrt_iob_func(n): stdin/stdout/stderr (mingw-w64's stdio.h names them &__acrt_iob_func(0..2)[0]);
 *   msvcrt.dll's FILE array is __iob_func().
 * - __ms_vsnprintf / __ms_snprintf / __ms_vsnwprintf / __ms_snwprintf: C99 vsnprintf/snprintf (and the wide
 *   forms) over msvcrt.dll's _vsnprintf/_vscprintf: the result is always terminated when the size is not 0, and
 *   the return value is the length the complete output would have.
 */
#include <stdarg.h>
#include <stddef.h>

typedef struct {
  char *ptr;
  int cnt;
  char *base;
  int flag;
  int file;
  int charbuf;
  int bufsiz;
  char *tmpfname;
} winpe_msvcrt_file; /* msvcrt.dll's FILE */

__declspec(dllimport) winpe_msvcrt_file *__cdecl __iob_func(void);
__declspec(dllimport) int __cdecl _vsnprintf(char *dst, size_t n, const char *format, va_list ap);
__declspec(dllimport) int __cdecl _vscprintf(const char *format, va_list ap);
__declspec(dllimport) int __cdecl _vsnwprintf(unsigned short *dst, size_t n, const unsigned short *format, va_list ap);
__declspec(dllimport) int __cdecl _vscwprintf(const unsigned short *format, va_list ap);

void *__cdecl __acrt_iob_func(unsigned index) { return &__iob_func()[index]; }

int __cdecl __ms_vsnprintf(char *dst, size_t n, const char *format, va_list ap) {
  va_list again;
  int r;
  if (n == 0) return _vscprintf(format, ap);
  va_copy(again, ap);
  r = _vsnprintf(dst, n, format, ap);
  if (r < 0 || (size_t)r >= n) {
    dst[n - 1] = 0;
    r = _vscprintf(format, again);
  }
  va_end(again);
  return r;
}

int __cdecl __ms_snprintf(char *dst, size_t n, const char *format, ...) {
  va_list ap;
  int r;
  va_start(ap, format);
  r = __ms_vsnprintf(dst, n, format, ap);
  va_end(ap);
  return r;
}

int __cdecl __ms_vsnwprintf(unsigned short *dst, size_t n, const unsigned short *format, va_list ap) {
  va_list again;
  int r;
  if (n == 0) return _vscwprintf(format, ap);
  va_copy(again, ap);
  r = _vsnwprintf(dst, n, format, ap);
  if (r < 0 || (size_t)r >= n) {
    dst[n - 1] = 0;
    r = _vscwprintf(format, again);
  }
  va_end(again);
  return r;
}

int __cdecl __ms_snwprintf(unsigned short *dst, size_t n, const unsigned short *format, ...) {
  va_list ap;
  int r;
  va_start(ap, format);
  r = __ms_vsnwprintf(dst, n, format, ap);
  va_end(ap);
  return r;
}
