/*
 * c99-glue.c -- winpe-lab: C99 functions that mingw-w64's headers declare and msvcrt.dll exports only under its
 * older Microsoft names, each the documented equivalent: hypot (_hypot), strtoll/strtoull (_strtoi64/_strtoui64),
 * wcstoll/wcstoull (_wcstoi64/_wcstoui64), atoll (_atoi64), and llabs.
 */
__declspec(dllimport) double __cdecl _hypot(double x, double y);
__declspec(dllimport) long long __cdecl _strtoi64(const char *s, char **end, int base);
__declspec(dllimport) unsigned long long __cdecl _strtoui64(const char *s, char **end, int base);
__declspec(dllimport) long long __cdecl _wcstoi64(const unsigned short *s, unsigned short **end, int base);
__declspec(dllimport) unsigned long long __cdecl _wcstoui64(const unsigned short *s, unsigned short **end, int base);
__declspec(dllimport) long long __cdecl _atoi64(const char *s);

double __cdecl hypot(double x, double y) { return _hypot(x, y); }
long long __cdecl strtoll(const char *s, char **end, int base) { return _strtoi64(s, end, base); }
unsigned long long __cdecl strtoull(const char *s, char **end, int base) { return _strtoui64(s, end, base); }
long long __cdecl wcstoll(const unsigned short *s, unsigned short **end, int base) { return _wcstoi64(s, end, base); }
unsigned long long __cdecl wcstoull(const unsigned short *s, unsigned short **end, int base) {
  return _wcstoui64(s, end, base);
}
long long __cdecl atoll(const char *s) { return _atoi64(s); }
long long __cdecl llabs(long long v) { return v < 0 ? -v : v; }
