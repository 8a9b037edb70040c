// The guest's extended control registers, as KVM keeps them (arch/x86/kvm/x86.c: handle_xsetbv ->
// kvm_set_xcr -> __kvm_set_xcr). XSETBV exits unconditionally (SDM Vol. 3C §26.1.2, reason 55)
// once CR4.OSXSAVE let it past its #UD; the VMM then makes the checks the instruction would have
// made after the exit: CPL 0 (KVM reads the CPL from the guest's SS.DPL), ECX = 0 (XCR0 only),
// a valid value (x87 set, AVX only with SSE, nothing the guest's CPUID does not offer: KVM's
// guest_supported_xcr0, here the CPU's own supported mask since the guest's CPUID leaf 0DH is the
// CPU's). Failing any, #GP(0) goes to the guest and RIP stays; otherwise the guest's XCR0 is
// loaded and the instruction skipped.
//
// Where the guest's XCR0 lives: the vCPU's logical CPU keeps one XCR0, and KVM swaps host and
// guest values around each entry (kvm_load_guest_xsave_state) because the host kernel uses XSAVE
// itself. This VMM is TypeScript and never executes XSAVE, so the CPU's XCR0 is the guest's:
// loading it is writing it.
import type { Cpu } from '../cpu/cpu';
import { xcr0Valid } from '../cpu/ops/xsave';

/** XSETBV on behalf of the guest (CPL from SS.DPL): false when the guest must get #GP(0). */
export function guestSetXcr(c: Cpu, index: number, lo: number, hi: number, cpl: number): boolean {
  if (cpl !== 0 || index !== 0 || !xcr0Valid(lo, hi)) return false;
  c.xcr0 = lo >>> 0;
  return true;
}
