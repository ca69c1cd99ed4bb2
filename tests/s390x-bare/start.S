/*
 * Entry and program-interruption handler of the zPCI probe.
 *
 * QEMU starts the BIOS in z/Architecture mode (64-bit addressing), DAT
 * off, every interruption disabled, at the ELF entry moved to wherever the
 * image was loaded: everything here is PC-relative.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

    .section .text.start, "ax"
    .globl _start
_start:
    larl    %r15, stack_top
    aghi    %r15, -160
    /* clear .bss one byte at a time: it is small */
    larl    %r2, __bss_start
    larl    %r3, __bss_end
0:  clgr    %r2, %r3
    jhe     1f
    mvi     0(%r2), 0
    la      %r2, 1(%r2)
    j       0b
1:  brasl   %r14, probe_main
2:  j       2b

/*
 * Program new PSW target: keep the interruption code in lowcore 0xe00 (free
 * in the architected lowcore) and the old PSW address at 0xe08, then go on
 * after the instruction. Operand and specification exceptions suppress the
 * instruction, so the old PSW already points past it.
 */
    .globl  pgm_handler
pgm_handler:
    mvc     0xe00(2), 0x8e
    mvc     0xe08(8), 0x158
    lpswe   0x150

    .section .bss
    .balign 4096
stack:
    .space  0x8000
stack_top:
