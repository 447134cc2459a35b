/*
 * intrinsics-x64.c -- winpe-lab's kernel-mode runtime library (x64 only): the control-register intrinsics that
 * mingw-w64's inline kernel routines call (KeGetCurrentIrql and PAGED_CODE in Debug builds read CR8; KeLowerIrql
 * and KfRaiseIrql write it) and that clang 14 leaves as calls for this target. Each is the single MOV the
 * intrinsic stands for. No header is included: clang's intrin.h declares some of them with 32-bit types.
 */
unsigned long long __readcr0(void) {
  unsigned long long value;
  __asm__ __volatile__("mov %%cr0, %0" : "=r"(value));
  return value;
}
unsigned long long __readcr2(void) {
  unsigned long long value;
  __asm__ __volatile__("mov %%cr2, %0" : "=r"(value));
  return value;
}
unsigned long long __readcr4(void) {
  unsigned long long value;
  __asm__ __volatile__("mov %%cr4, %0" : "=r"(value));
  return value;
}
unsigned long long __readcr8(void) {
  unsigned long long value;
  __asm__ __volatile__("mov %%cr8, %0" : "=r"(value));
  return value;
}
void __writecr8(unsigned long long value) { __asm__ __volatile__("mov %0, %%cr8" : : "r"(value) : "memory"); }
