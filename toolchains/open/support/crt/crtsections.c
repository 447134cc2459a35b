/*
 * crtsections.c -- winpe-lab: the bounds of the initializer tables (see crtinit.h) and _fltused (the symbol the
 * compiler references from code that uses floating point; the Visual C++ runtime defines it the same way).
 */
#include "crtinit.h"

__declspec(allocate(".CRT$XIA")) winpe_pifv winpe_xi_a[] = {0};
__declspec(allocate(".CRT$XIZ")) winpe_pifv winpe_xi_z[] = {0};
__declspec(allocate(".CRT$XCA")) winpe_pvfv winpe_xc_a[] = {0};
__declspec(allocate(".CRT$XCZ")) winpe_pvfv winpe_xc_z[] = {0};

int _fltused = 0x9875;
