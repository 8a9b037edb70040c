// The VMM's host is 32-bit: it runs its guests with "host address-space size" = 0 outside
// IA-32e mode, and then VM entry requires "IA-32e mode guest" = 0 (SDM Vol. 3C §27.2.4, checks
// on host state: "If the logical processor is outside IA-32e mode at the time of VM entry, the
// 'IA-32e mode guest' VM-entry control must be 0"). Its guests therefore cannot enter IA-32e mode
// even on a CPU with Intel 64, so the VMM shows them a CPU without it, as KVM built for i386
// does (Linux arch/x86/kvm/cpuid.c: LM and GBPAGES are reported only under CONFIG_X86_64):
// CPUID.80000001H:EDX LM, 1-GByte pages and SYSCALL (which Intel defines for 64-bit mode only)
// read 0, IA32_EFER keeps NXE as its only writable bit, and the IA-32e MSRs do not exist.
import { CpuidExtEdx } from '../cpu/model';
import { Efer } from '../cpu/regs';

/** CPUID.80000001H:EDX bits a 32-bit host hides from its guests. */
export const HIDDEN_EXT_EDX = CpuidExtEdx.LM | CpuidExtEdx.PAGE1GB | CpuidExtEdx.SYSCALL;

/** IA32_EFER bits a guest of a 32-bit host may set (the CPU's own check still applies). */
export const GUEST_EFER_BITS = Efer.NXE;

/** STAR, LSTAR, CSTAR, FMASK, FS_BASE, GS_BASE, KERNEL_GS_BASE (SDM Vol. 4 Table 2-2): they
 *  exist with Intel 64 only, so a guest that is shown none gets #GP(0) for them. */
export function isIa32eMsr(n: number): boolean {
  return (n >= 0xc0000081 && n <= 0xc0000084) || (n >= 0xc0000100 && n <= 0xc0000102);
}
