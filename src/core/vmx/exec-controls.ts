// The VM-execution, VM-exit and VM-entry control fields of the running guest, read once at VM
// entry (SDM Vol. 3C §25.6-25.8). In VMX non-root operation the VMCS cannot change (VMREAD and
// VMWRITE exit, §26.1.2), so the exit decisions read these numbers instead of the VMCS.
import { ProcBasedCtls } from './controls';
import { VmcsField as V } from './fields';
import type { VmcsReader } from './vmcs';

const CR3_TARGETS = [V.Cr3TargetValue0, V.Cr3TargetValue1, V.Cr3TargetValue2, V.Cr3TargetValue3] as const;

export class ExecControls {
  pin = 0;
  proc = 0;
  /** Secondary controls as they apply: 0 unless "activate secondary controls" (§25.6.2). */
  proc2 = 0;
  exit = 0;
  entry = 0;
  exceptionBitmap = 0;
  pfecMask = 0;
  pfecMatch = 0;
  cr0Mask = 0;
  cr0Shadow = 0;
  cr4Mask = 0;
  cr4Shadow = 0;
  cr3TargetCount = 0;
  readonly cr3Targets = new Uint32Array(4);
  ioBitmapA = 0;
  ioBitmapB = 0;
  msrBitmap = 0;
  /** TSC offset (a signed 64-bit two's-complement value as a number, exact to 2^53). */
  tscOffset = 0;
  pleGap = 0;
  pleWindow = 0;
  /** "Use TPR shadow": the virtual-APIC page (4 KB aligned, checked at entry) and the TPR
   *  threshold; "virtualize APIC accesses": the APIC-access page (§25.6.8). */
  virtualApicPage = 0;
  tprThreshold = 0;
  apicAccessPage = 0;

  load(v: VmcsReader): void {
    this.pin = v.lo(V.PinBasedControls);
    this.proc = v.lo(V.ProcBasedControls);
    this.proc2 = (this.proc & ProcBasedCtls.ActivateSecondaryControls) !== 0 ? v.lo(V.ProcBasedControls2) : 0;
    this.exit = v.lo(V.VmExitControls);
    this.entry = v.lo(V.VmEntryControls);
    this.exceptionBitmap = v.lo(V.ExceptionBitmap);
    this.pfecMask = v.lo(V.PageFaultErrorCodeMask);
    this.pfecMatch = v.lo(V.PageFaultErrorCodeMatch);
    this.cr0Mask = v.lo(V.Cr0GuestHostMask);
    this.cr0Shadow = v.lo(V.Cr0ReadShadow);
    this.cr4Mask = v.lo(V.Cr4GuestHostMask);
    this.cr4Shadow = v.lo(V.Cr4ReadShadow);
    this.cr3TargetCount = v.lo(V.Cr3TargetCount);
    for (let i = 0; i < 4; i++) this.cr3Targets[i] = v.lo(CR3_TARGETS[i]);
    this.ioBitmapA = v.lo(V.IoBitmapA);
    this.ioBitmapB = v.lo(V.IoBitmapB);
    this.msrBitmap = v.lo(V.MsrBitmap);
    this.tscOffset = (v.hi(V.TscOffset) | 0) * 4294967296 + v.lo(V.TscOffset);
    this.pleGap = v.lo(V.PleGap);
    this.pleWindow = v.lo(V.PleWindow);
    this.virtualApicPage = v.lo(V.VirtualApicAddress) & ~0xfff;
    this.tprThreshold = v.lo(V.TprThreshold);
    this.apicAccessPage = v.lo(V.ApicAccessAddress) & ~0xfff;
  }
}
