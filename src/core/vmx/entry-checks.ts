// The checks VMLAUNCH and VMRESUME make before loading guest state (SDM Vol. 3C §27.2 "Checks
// on VMX Controls and Host-State Area"): §27.2.1 on the VMX controls (failure: VMfailValid with
// error 7) and §27.2.2-27.2.4 on the host-state area (error 8). Pure functions of the VMCS, the
// generation's capabilities and, for one TPR-shadow check, a byte of the virtual-APIC page;
// each failure names the check that failed.
import { Cr0, Cr4, Efer } from '../cpu/regs';
import { VmxCapabilities, VmxMsr, controlCaps, firstDisallowedBit, vmxAllows } from './capabilities';
import {
  CONTROL_FIELD_LABELS, ControlField, EntryCtls, ExitCtls, PinBasedCtls, ProcBasedCtls, ProcBasedCtls2,
  controlBitName,
} from './controls';
import { VmInstructionError, vmInstructionErrorLabel } from './errors';
import { VmcsField as V } from './fields';
import { VmxFeature } from './features';
import type { VmcsReader } from './vmcs';
import { eptpProblem } from './ept/eptp';
import { canonicalHalves } from '../cpu/long/long-mode';

export interface EntryCheckFailure {
  readonly error: VmInstructionError.EntryInvalidControlFields | VmInstructionError.EntryInvalidHostState;
  /** Which check failed, e.g. "secondary control bit 1 (EnableEpt) not allowed on penryn". */
  readonly check: string;
}

/** 'VMLAUNCH failed: VM-instruction error 7 (VM entry with invalid control field(s)): ...'. */
export function entryFailureMessage(insn: string, f: EntryCheckFailure): string {
  return `${insn} failed: ${vmInstructionErrorLabel(f.error)}: ${f.check}`;
}

const hex = (v: number, digits = 8): string => `0x${(v >>> 0).toString(16).padStart(digits, '0')}`;
const ctlFail = (check: string): EntryCheckFailure => ({ error: VmInstructionError.EntryInvalidControlFields, check });
const hostFail = (check: string): EntryCheckFailure => ({ error: VmInstructionError.EntryInvalidHostState, check });

/** The capability MSR VM entry checks a control field against: the TRUE one when IA32_VMX_BASIC[55]
 *  is set (§27.2.1.1). */
function controlMsr(caps: VmxCapabilities, f: ControlField): VmxMsr {
  const t = caps.msrs.has(VmxMsr.TruePinBasedCtls);
  switch (f) {
    case ControlField.PinBased: return t ? VmxMsr.TruePinBasedCtls : VmxMsr.PinBasedCtls;
    case ControlField.ProcBased: return t ? VmxMsr.TrueProcBasedCtls : VmxMsr.ProcBasedCtls;
    case ControlField.ProcBased2: return VmxMsr.ProcBasedCtls2;
    case ControlField.Exit: return t ? VmxMsr.TrueExitCtls : VmxMsr.ExitCtls;
    default: return t ? VmxMsr.TrueEntryCtls : VmxMsr.EntryCtls;
  }
}

/** Reserved-bit check of one control field against its capability MSR (§27.2.1.1-3). */
function reservedBits(caps: VmxCapabilities, f: ControlField, value: number): EntryCheckFailure | null {
  if (vmxAllows(caps, controlMsr(caps, f), value)) return null;
  const c = controlCaps(caps, f);
  const b = firstDisallowedBit(c, value);
  if (b < 0) return ctlFail(`${CONTROL_FIELD_LABELS[f]}s ${hex(value)} not allowed on ${caps.generation}`);
  const what = `${CONTROL_FIELD_LABELS[f]} bit ${b} (${controlBitName(f, b)})`;
  return ctlFail((c.mustBe1 & (1 << b)) !== 0 ? `${what} must be 1` : `${what} not allowed on ${caps.generation}`);
}

/** A physical address in a 64-bit field: 4 KB aligned (or `align`) and within the pointer width. */
function pointerProblem(caps: VmxCapabilities, lo: number, hi: number, align = 0xfff): string | null {
  if ((lo & align) !== 0) return `${hex(hi)}_${hex(lo).slice(2)} is not ${align === 0xfff ? '4 KB' : `${align + 1}-byte`} aligned`;
  const w = caps.pointerWidth;
  const beyond = w >= 64 ? 0 : w <= 32 ? hi : hi >>> (w - 32);
  if (beyond !== 0) return `${hex(hi)}_${hex(lo).slice(2)} sets bits beyond the ${w}-bit physical-address width`;
  return null;
}

/** MSR-list address: 16-byte aligned and its last byte within the pointer width (§27.2.1.2). */
function msrListProblem(caps: VmxCapabilities, count: number, lo: number, hi: number): string | null {
  if (count === 0) return null;
  if ((lo & 0xf) !== 0) return `address ${hex(hi)}_${hex(lo).slice(2)} is not 16-byte aligned`;
  const last = (hi * 4294967296 + lo) + count * 16 - 1;
  if (last >= 2 ** caps.pointerWidth) return `list of ${count} entries at ${hex(hi)}_${hex(lo).slice(2)} ends beyond the ${caps.pointerWidth}-bit physical-address width`;
  return null;
}

/** EPTP checks (§27.2.1.1, "enable EPT"), also used by INVEPT: ept/eptp.ts. */
export { eptpProblem };

// Exceptions that deliver an error code (§27.2.1.3): #DF, #TS, #NP, #SS, #GP, #PF, #AC.
const ERROR_CODE_VECTORS = new Set([8, 10, 11, 12, 13, 14, 17]);

/**
 * §27.2.1 "Checks on VMX Controls" (error 7). `readPhys8` reads a byte of physical memory (the
 * VTPR byte of the virtual-APIC page).
 */
export function checkControls(v: VmcsReader, caps: VmxCapabilities, readPhys8: (pa: number) => number): EntryCheckFailure | null {
  // ---- §27.2.1.1 VM-execution control fields
  const pin = v.lo(V.PinBasedControls), proc = v.lo(V.ProcBasedControls);
  let f = reservedBits(caps, ControlField.PinBased, pin) ?? reservedBits(caps, ControlField.ProcBased, proc);
  if (f !== null) return f;
  // With "activate secondary controls" 0 the secondary controls are not checked and act as 0.
  const secondaryOn = (proc & ProcBasedCtls.ActivateSecondaryControls) !== 0;
  const proc2 = secondaryOn ? v.lo(V.ProcBasedControls2) : 0;
  if (secondaryOn && (f = reservedBits(caps, ControlField.ProcBased2, proc2)) !== null) return f;
  const cr3Count = v.lo(V.Cr3TargetCount);
  if (cr3Count > caps.cr3TargetCount) return ctlFail(`CR3-target count ${cr3Count} is greater than ${caps.cr3TargetCount}`);
  let p: string | null;
  if ((proc & ProcBasedCtls.UseIoBitmaps) !== 0) {
    if ((p = pointerProblem(caps, v.lo(V.IoBitmapA), v.hi(V.IoBitmapA))) !== null) return ctlFail(`I/O bitmap A address ${p}`);
    if ((p = pointerProblem(caps, v.lo(V.IoBitmapB), v.hi(V.IoBitmapB))) !== null) return ctlFail(`I/O bitmap B address ${p}`);
  }
  if ((proc & ProcBasedCtls.UseMsrBitmaps) !== 0 && (p = pointerProblem(caps, v.lo(V.MsrBitmap), v.hi(V.MsrBitmap))) !== null) {
    return ctlFail(`MSR-bitmap address ${p}`);
  }
  const tprShadow = (proc & ProcBasedCtls.UseTprShadow) !== 0;
  const vid = (proc2 & ProcBasedCtls2.VirtualInterruptDelivery) !== 0;
  const apicAccesses = (proc2 & ProcBasedCtls2.VirtualizeApicAccesses) !== 0;
  if (tprShadow) {
    const vapicLo = v.lo(V.VirtualApicAddress);
    if ((p = pointerProblem(caps, vapicLo, v.hi(V.VirtualApicAddress))) !== null) return ctlFail(`virtual-APIC address ${p}`);
    const threshold = v.lo(V.TprThreshold);
    if (!vid && (threshold >>> 4) !== 0) return ctlFail(`TPR threshold ${hex(threshold)}: bits 31:4 must be 0`);
    if (!vid && !apicAccesses) {
      const vtpr = readPhys8(vapicLo + 0x80);
      if ((threshold & 0xf) > ((vtpr >>> 4) & 0xf)) {
        return ctlFail(`TPR threshold ${threshold & 0xf} is greater than VTPR[7:4] ${(vtpr >>> 4) & 0xf} (virtual-APIC page byte 80H)`);
      }
    }
  } else if ((proc2 & (ProcBasedCtls2.VirtualizeX2apicMode | ProcBasedCtls2.ApicRegisterVirtualization | ProcBasedCtls2.VirtualInterruptDelivery)) !== 0) {
    return ctlFail('"use TPR shadow" is 0 but x2APIC virtualization, APIC-register virtualization or virtual-interrupt delivery is 1');
  }
  if ((pin & PinBasedCtls.NmiExiting) === 0 && (pin & PinBasedCtls.VirtualNmis) !== 0) return ctlFail('"virtual NMIs" is 1 but "NMI exiting" is 0');
  if ((pin & PinBasedCtls.VirtualNmis) === 0 && (proc & ProcBasedCtls.NmiWindowExiting) !== 0) return ctlFail('"NMI-window exiting" is 1 but "virtual NMIs" is 0');
  if (apicAccesses && (p = pointerProblem(caps, v.lo(V.ApicAccessAddress), v.hi(V.ApicAccessAddress))) !== null) {
    return ctlFail(`APIC-access address ${p}`);
  }
  if ((proc2 & ProcBasedCtls2.VirtualizeX2apicMode) !== 0 && apicAccesses) return ctlFail('"virtualize x2APIC mode" and "virtualize APIC accesses" are both 1');
  if (vid && (pin & PinBasedCtls.ExternalInterruptExiting) === 0) return ctlFail('"virtual-interrupt delivery" is 1 but "external-interrupt exiting" is 0');
  if ((proc2 & ProcBasedCtls2.EnableVpid) !== 0 && (v.lo(V.VirtualProcessorId) & 0xffff) === 0) return ctlFail('"enable VPID" is 1 and the VPID is 0000H');
  const ept = (proc2 & ProcBasedCtls2.EnableEpt) !== 0;
  if (ept && (p = eptpProblem(caps, v.lo(V.EptPointer), v.hi(V.EptPointer))) !== null) return ctlFail(p);
  if ((proc2 & ProcBasedCtls2.UnrestrictedGuest) !== 0 && !ept) return ctlFail('"unrestricted guest" is 1 but "enable EPT" is 0');

  // ---- §27.2.1.2 VM-exit control fields
  const exit = v.lo(V.VmExitControls);
  if ((f = reservedBits(caps, ControlField.Exit, exit)) !== null) return f;
  if ((pin & PinBasedCtls.ActivatePreemptionTimer) === 0 && (exit & ExitCtls.SavePreemptionTimer) !== 0) {
    return ctlFail('"save VMX-preemption timer value" is 1 but "activate VMX-preemption timer" is 0');
  }
  if ((p = msrListProblem(caps, v.lo(V.VmExitMsrStoreCount), v.lo(V.VmExitMsrStoreAddress), v.hi(V.VmExitMsrStoreAddress))) !== null) {
    return ctlFail(`VM-exit MSR-store ${p}`);
  }
  if ((p = msrListProblem(caps, v.lo(V.VmExitMsrLoadCount), v.lo(V.VmExitMsrLoadAddress), v.hi(V.VmExitMsrLoadAddress))) !== null) {
    return ctlFail(`VM-exit MSR-load ${p}`);
  }

  // ---- §27.2.1.3 VM-entry control fields
  const entry = v.lo(V.VmEntryControls);
  if ((f = reservedBits(caps, ControlField.Entry, entry)) !== null) return f;
  const info = v.lo(V.VmEntryInterruptionInfo);
  if ((info & 0x80000000) !== 0) {
    const vector = info & 0xff, type = (info >>> 8) & 7, deliver = (info & (1 << 11)) !== 0;
    if (type === 1) return ctlFail(`event injection: interruption type 1 is reserved (${hex(info)})`);
    if (type === 7 && (caps.proc.mayBe1 & ProcBasedCtls.MonitorTrapFlag) === 0) return ctlFail(`event injection: interruption type 7 (other event) needs MTF support (${hex(info)})`);
    if (type === 2 && vector !== 2) return ctlFail(`event injection: NMI with vector ${vector}, not 2`);
    if (type === 3 && vector > 31) return ctlFail(`event injection: hardware exception with vector ${vector} above 31`);
    if (type === 7 && vector !== 0) return ctlFail(`event injection: other event (pending MTF) with vector ${vector}, not 0`);
    const ug = (proc2 & ProcBasedCtls2.UnrestrictedGuest) !== 0;
    const needs = (!ug || (v.lo(V.GuestCr0) & Cr0.PE) !== 0) && type === 3 && ERROR_CODE_VECTORS.has(vector);
    if (deliver !== needs) {
      return ctlFail(`event injection: deliver-error-code is ${deliver ? 1 : 0} for type ${type} vector ${vector}, must be ${needs ? 1 : 0}`);
    }
    if ((info & 0x7ffff000) !== 0) return ctlFail(`event injection: reserved bits 30:12 set (${hex(info)})`);
    if (deliver && (v.lo(V.VmEntryExceptionErrorCode) >>> 16) !== 0) {
      return ctlFail(`event injection: error code ${hex(v.lo(V.VmEntryExceptionErrorCode))} sets bits 31:16`);
    }
    if (type === 4 || type === 5 || type === 6) {
      const len = v.lo(V.VmEntryInstructionLength);
      const min = caps.features.has(VmxFeature.ZeroLengthInjection) ? 0 : 1;
      if (len < min || len > 15) return ctlFail(`event injection: instruction length ${len} outside ${min}-15 for type ${type}`);
    }
  }
  if ((p = msrListProblem(caps, v.lo(V.VmEntryMsrLoadCount), v.lo(V.VmEntryMsrLoadAddress), v.hi(V.VmEntryMsrLoadAddress))) !== null) {
    return ctlFail(`VM-entry MSR-load ${p}`);
  }
  // vmxlab has no SMM: VM entry is always from outside SMM.
  if ((entry & EntryCtls.EntryToSmm) !== 0) return ctlFail('"entry to SMM" is 1 outside SMM');
  if ((entry & EntryCtls.DeactivateDualMonitor) !== 0) return ctlFail('"deactivate dual-monitor treatment" is 1 outside SMM');
  return null;
}

// Valid IA32_PAT memory types (Vol. 3A §12.12.2): UC, WC, WT, WP, WB, UC-.
const PAT_TYPE_OK = [1, 1, 0, 0, 1, 1, 1, 1];

/** IA32_EFER bits a VMCS EFER field may set: the implemented ones, and LMA with Intel 64. */
export function eferFieldBits(caps: VmxCapabilities): number {
  return caps.eferValid | (caps.isa.longMode ? Efer.LMA : 0);
}

/** Bits at or above `width` set in a 64-bit physical address's high dword `hi`. */
export function beyondWidth(hi: number, width: number): boolean {
  return (width >= 64 ? 0 : width <= 32 ? hi : hi >>> (width - 32)) !== 0;
}

/** A natural-width field holds a canonical address (48-bit linear addresses: bits 63:47 equal,
 *  SDM Vol. 1 §3.3.7.1). */
export function canonicalField(v: VmcsReader, f: V): boolean {
  return canonicalHalves(v.lo(f), v.hi(f));
}

/** "0x00000000_00000000" of a 64-bit field. */
export function pair(v: VmcsReader, f: V): string {
  return `${hex(v.hi(f))}_${hex(v.lo(f)).slice(2)}`;
}

const HOST_BASES: readonly (readonly [V, string])[] = [
  [V.HostFsBase, 'FS'], [V.HostGsBase, 'GS'], [V.HostTrBase, 'TR'], [V.HostGdtrBase, 'GDTR'], [V.HostIdtrBase, 'IDTR'],
];

/** §27.2.2-27.2.4 "Checks on Host Control Registers, MSRs, and SSP", "... Host Segment and
 *  Descriptor-Table Registers", "... Related to Address-Space Size" (error 8). `hostLma`: the
 *  processor's IA32_EFER.LMA when VMLAUNCH/VMRESUME executes (§27.2.4). */
export function checkHostState(v: VmcsReader, caps: VmxCapabilities, hostLma = false): EntryCheckFailure | null {
  const exit = v.lo(V.VmExitControls), entry = v.lo(V.VmEntryControls);
  const hostLong = (exit & ExitCtls.HostAddressSpaceSize) !== 0;
  // ---- §27.2.2 control registers and MSRs
  const cr0 = v.lo(V.HostCr0), cr4 = v.lo(V.HostCr4);
  let b = firstDisallowedBit({ mustBe1: caps.cr0Fixed0, mayBe1: caps.cr0Fixed1 }, cr0);
  if (b >= 0) return hostFail(`host CR0 ${hex(cr0)}: bit ${b} must be ${(caps.cr0Fixed0 >>> b) & 1} in VMX operation (IA32_VMX_CR0_FIXED0/1)`);
  b = firstDisallowedBit({ mustBe1: caps.cr4Fixed0, mayBe1: caps.cr4Fixed1 }, cr4);
  if (b >= 0) return hostFail(`host CR4 ${hex(cr4)}: bit ${b} must be ${(caps.cr4Fixed0 >>> b) & 1} in VMX operation (IA32_VMX_CR4_FIXED0/1)`);
  // Without Intel 64 the CR3 and SYSENTER fields are 32 bits wide: their Intel 64 checks
  // (bits beyond MAXPHYADDR, canonical addresses, below) have nothing to check.
  if ((exit & ExitCtls.LoadPat) !== 0) {
    const lo = v.lo(V.HostIa32Pat), hi = v.hi(V.HostIa32Pat);
    for (let i = 0; i < 8; i++) {
      const t = ((i < 4 ? lo : hi) >>> ((i & 3) * 8)) & 0xff;
      if (t > 7 || PAT_TYPE_OK[t] === 0) return hostFail(`host IA32_PAT ${hex(hi)}_${hex(lo).slice(2)}: PA${i} memory type ${t} is invalid`);
    }
  }
  if (caps.isa.longMode) {
    // Intel 64 (§27.2.2): CR3 bits beyond the physical-address width are 0; the SYSENTER
    // ESP/EIP fields hold canonical addresses.
    if (beyondWidth(v.hi(V.HostCr3), caps.pointerWidth)) return hostFail(`host CR3 ${hex(v.hi(V.HostCr3))}_${hex(v.lo(V.HostCr3)).slice(2)} sets bits beyond the ${caps.pointerWidth}-bit physical-address width`);
    if (!canonicalField(v, V.HostIa32SysenterEsp)) return hostFail(`host IA32_SYSENTER_ESP ${pair(v, V.HostIa32SysenterEsp)} is not canonical`);
    if (!canonicalField(v, V.HostIa32SysenterEip)) return hostFail(`host IA32_SYSENTER_EIP ${pair(v, V.HostIa32SysenterEip)} is not canonical`);
  }
  if ((exit & ExitCtls.LoadEfer) !== 0) {
    const lo = v.lo(V.HostIa32Efer), hi = v.hi(V.HostIa32Efer);
    if (hi !== 0 || (lo & ~eferFieldBits(caps)) !== 0) return hostFail(`host IA32_EFER ${hex(hi)}_${hex(lo).slice(2)} sets reserved bits`);
    if (((lo & Efer.LMA) !== 0) !== hostLong) return hostFail('host IA32_EFER.LMA differs from "host address-space size"');
    if (((lo & Efer.LME) !== 0) !== hostLong) return hostFail('host IA32_EFER.LME differs from "host address-space size"');
  }
  // ---- §27.2.3 segment and descriptor-table registers
  const sels: [V, string][] = [
    [V.HostEsSelector, 'ES'], [V.HostCsSelector, 'CS'], [V.HostSsSelector, 'SS'], [V.HostDsSelector, 'DS'],
    [V.HostFsSelector, 'FS'], [V.HostGsSelector, 'GS'], [V.HostTrSelector, 'TR'],
  ];
  for (const [field, name] of sels) {
    const s = v.lo(field) & 0xffff;
    if ((s & 7) !== 0) return hostFail(`host ${name} selector ${hex(s, 4)} has RPL or TI set`);
  }
  if ((v.lo(V.HostCsSelector) & 0xffff) === 0) return hostFail('host CS selector is 0000H');
  if ((v.lo(V.HostTrSelector) & 0xffff) === 0) return hostFail('host TR selector is 0000H');
  if (!hostLong && (v.lo(V.HostSsSelector) & 0xffff) === 0) return hostFail('host SS selector is 0000H with "host address-space size" 0');
  if (caps.isa.longMode) {
    // Intel 64: the FS, GS, GDTR, IDTR and TR base-address fields hold canonical addresses.
    for (const [field, name] of HOST_BASES) {
      if (!canonicalField(v, field)) return hostFail(`host ${name} base ${pair(v, field)} is not canonical`);
    }
  }
  // ---- §27.2.4 address-space size. Outside IA-32e mode (the current IA32_EFER.LMA = 0; always
  // so without long mode) both 64-bit controls must be 0; inside it "host address-space size"
  // must be 1. (Without long mode the control checks catch them first unless allowed-1.)
  if (!hostLma) {
    if (hostLong) return hostFail('"host address-space size" is 1 outside IA-32e mode');
    if ((entry & EntryCtls.Ia32eModeGuest) !== 0) return hostFail('"IA-32e mode guest" is 1 outside IA-32e mode');
  } else if (!hostLong) return hostFail('"host address-space size" is 0 in IA-32e mode');
  if (!hostLong) {
    if ((cr4 & Cr4.PCIDE) !== 0) return hostFail('host CR4.PCIDE is 1 with "host address-space size" 0');
    if (v.hi(V.HostRip) !== 0) return hostFail(`host RIP ${pair(v, V.HostRip)} sets bits 63:32 with "host address-space size" 0`);
  } else {
    if ((cr4 & Cr4.PAE) === 0) return hostFail('host CR4.PAE is 0 with "host address-space size" 1');
    if (!canonicalField(v, V.HostRip)) return hostFail(`host RIP ${pair(v, V.HostRip)} is not canonical`);
  }
  return null;
}
