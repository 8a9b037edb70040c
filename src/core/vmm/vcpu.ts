// One virtual CPU of a hosted-mode VM: the logical CPU it runs on (vCPU i on the machine's CPU
// i, which did its own VMXON), its VMCS, and what the VMM keeps for it between exits (events to
// inject, pages mapped for one MMIO instruction, whether it idles in HLT). KVM keeps the same
// per-vCPU state in struct kvm_vcpu / vcpu_vmx.
import type { Cpu } from '../cpu/cpu';
import type { VmxRoot } from '../vmx/root';
import type { GuestView } from './guest-view';
import type { VmcsWriter } from './vmcs-setup';
import type { ShadowContext } from './shadow/index';
import type { V86Task } from './v86';

export class Vcpu {
  /** VMLAUNCH done (VMRESUME from now on: launch state "launched", SDM Vol. 3C §25.11.3). */
  launched = false;
  /** Acknowledged vectors not injected yet (a stack: a later one outranks the earlier at the PIC). */
  readonly pending: number[] = [];
  /** An event to re-inject (IDT-vectoring information of the last exit), or 0. */
  reinjectInfo = 0; reinjectError = 0; reinjectLength = 0;
  /** Pages mapped for one instruction (MTF), with the permissions to restore. */
  readonly mtfPages: number[] = [];
  readonly mtfRestore: number[] = [];
  /** The primary processor-based controls as last written. */
  procControls = 0;
  /** An exception is set up for injection at the next entry. */
  injectedException = false;
  /** HLT exited and the VMM keeps the vCPU idle until an interrupt it can take (several vCPUs;
   *  one vCPU idles inside the exit handler). `idleIf`: the guest's RFLAGS.IF at the HLT. */
  idle = false;
  idleIf = false;
  idleSince = 0;
  /** The turn ends at the next runner call (another vCPU was kicked, or PAUSE while shared). */
  yieldNow = false;
  /** The unit's exit count when the VMM last handled an exit of this vCPU: an exit taken while
   *  another vCPU ran (a Startup IPI's, at once: SDM Vol. 3C §26.2) shows as a difference. */
  exitsSeen = 0;
  /** Shadow paging: the guest's own CR3 (GuestCr3 holds the shadow root; CR3 loads and
   *  stores exit). */
  guestCr3 = 0;
  /** Shadow paging: this vCPU's view of the VMM's shared ShadowMmu. */
  shadowCtx: ShadowContext | null = null;
  /** Without unrestricted guest: this vCPU's real mode as a virtual-8086 task (v86.ts). */
  v86: V86Task | null = null;
  /** The guest was in real mode at the last entry decision (a PE switch since then is checked
   *  by emulateBatch on the lent state). */
  lastReal = false;
  /** Without unrestricted guest: the guest state cannot be entered (real mode, a PE switch in
   *  progress) and the VMM runs its code (hosted.ts emulateBatch). */
  emulating = false;

  constructor(readonly index: number, readonly cpu: Cpu, readonly root: VmxRoot, readonly v: VmcsWriter,
    readonly view: GuestView, readonly vpid: number) {}
}
