/*
 * dontuse.h -- winpe-lab's stand-in for the Windows Driver Kit header of the same name (mingw-w64 has none).
 *
 * Written for winpe-lab from the documented purpose of the WDK header: a driver or test application includes
 * it to make the unbounded C string functions unusable, so that every copy, concatenation and formatting goes
 * through the safe string functions (strsafe.h in user mode, ntstrsafe.h in kernel mode: StringCb*, StringCch*,
 * RtlStringCb*, RtlStringCch*). A use of a banned function after this header is a compile error whose text names
 * the replacement, e.g. `strcpy_banned_by_dontuse_h_use_StringCbCopyA_or_RtlStringCbCopyA`.
 *
 * Define DONTUSE_H_ALLOW_UNSAFE_STRING_FUNCTIONS before including it to keep the functions (winpe-lab only).
 */
#ifndef WINPE_LAB_DONTUSE_H
#define WINPE_LAB_DONTUSE_H

#ifndef DONTUSE_H_ALLOW_UNSAFE_STRING_FUNCTIONS

/* copying without a destination size */
#undef strcpy
#define strcpy strcpy_banned_by_dontuse_h_use_StringCbCopyA_or_RtlStringCbCopyA
#undef wcscpy
#define wcscpy wcscpy_banned_by_dontuse_h_use_StringCbCopyW_or_RtlStringCbCopyW
#undef lstrcpyA
#define lstrcpyA lstrcpyA_banned_by_dontuse_h_use_StringCbCopyA
#undef lstrcpyW
#define lstrcpyW lstrcpyW_banned_by_dontuse_h_use_StringCbCopyW

/* concatenating without a destination size */
#undef strcat
#define strcat strcat_banned_by_dontuse_h_use_StringCbCatA_or_RtlStringCbCatA
#undef wcscat
#define wcscat wcscat_banned_by_dontuse_h_use_StringCbCatW_or_RtlStringCbCatW
#undef lstrcatA
#define lstrcatA lstrcatA_banned_by_dontuse_h_use_StringCbCatA
#undef lstrcatW
#define lstrcatW lstrcatW_banned_by_dontuse_h_use_StringCbCatW

/* formatting without a destination size, or with one that may leave the result unterminated */
#undef sprintf
#define sprintf sprintf_banned_by_dontuse_h_use_StringCbPrintfA_or_RtlStringCbPrintfA
#undef swprintf
#define swprintf swprintf_banned_by_dontuse_h_use_StringCbPrintfW_or_RtlStringCbPrintfW
#undef vsprintf
#define vsprintf vsprintf_banned_by_dontuse_h_use_StringCbVPrintfA_or_RtlStringCbVPrintfA
#undef vswprintf
#define vswprintf vswprintf_banned_by_dontuse_h_use_StringCbVPrintfW_or_RtlStringCbVPrintfW
#undef _snprintf
#define _snprintf _snprintf_banned_by_dontuse_h_use_StringCbPrintfA_or_RtlStringCbPrintfA
#undef _snwprintf
#define _snwprintf _snwprintf_banned_by_dontuse_h_use_StringCbPrintfW_or_RtlStringCbPrintfW
#undef _vsnprintf
#define _vsnprintf _vsnprintf_banned_by_dontuse_h_use_StringCbVPrintfA_or_RtlStringCbVPrintfA
#undef _vsnwprintf
#define _vsnwprintf _vsnwprintf_banned_by_dontuse_h_use_StringCbVPrintfW_or_RtlStringCbVPrintfW
#undef wsprintfA
#define wsprintfA wsprintfA_banned_by_dontuse_h_use_StringCbPrintfA
#undef wsprintfW
#define wsprintfW wsprintfW_banned_by_dontuse_h_use_StringCbPrintfW

/* reading a line without a buffer size */
#undef gets
#define gets gets_banned_by_dontuse_h_use_StringCbGetsA
#undef _getws
#define _getws _getws_banned_by_dontuse_h_use_StringCbGetsW

#endif /* DONTUSE_H_ALLOW_UNSAFE_STRING_FUNCTIONS */
#endif /* WINPE_LAB_DONTUSE_H */
