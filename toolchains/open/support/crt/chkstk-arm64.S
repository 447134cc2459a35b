/*
 * chkstk-arm64.S -- winpe-lab: __chkstk for ARM64 applications and drivers. Written for winpe-lab from the
 * Windows ARM64 ABI's contract: x15 holds the frame size divided by 16; every page from the stack pointer down to
 * the new frame's bottom is touched in order (the guard page grows the stack one page at a time); only x16, x17
 * and the flags may change; sp is unchanged (the caller subtracts x15 * 16 itself).
 */
        .text
        .globl  __chkstk
        .p2align 2
__chkstk:
        lsl     x16, x15, #4            /* bytes */
        mov     x17, sp
1:      sub     x17, x17, #0x1000
        subs    x16, x16, #0x1000
        ldr     xzr, [x17]              /* touch the page */
        b.gt    1b
        ret
