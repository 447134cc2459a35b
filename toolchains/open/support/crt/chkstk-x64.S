/*
 * chkstk-x64.S -- winpe-lab: __chkstk for x64 applications and drivers (the compiler calls it before allocating
 * a stack frame of a page or more). Written for winpe-lab from the x64 ABI's contract: RAX holds the frame size;
 * every page between the current stack pointer and the new frame's bottom is touched in order, so the guard page
 * grows the stack one page at a time; all registers but R10, R11 and the flags are preserved; RSP is unchanged.
 */
        .text
        .globl  __chkstk
        .p2align 4
__chkstk:
        pushq   %rcx
        pushq   %rax
        cmpq    $0x1000, %rax
        leaq    24(%rsp), %rcx          /* the caller's stack pointer before the call */
        jb      2f
1:      subq    $0x1000, %rcx
        testq   %rcx, (%rcx)            /* touch the page */
        subq    $0x1000, %rax
        cmpq    $0x1000, %rax
        ja      1b
2:      subq    %rax, %rcx
        testq   %rcx, (%rcx)            /* touch the last (partial) page */
        popq    %rax
        popq    %rcx
        ret
