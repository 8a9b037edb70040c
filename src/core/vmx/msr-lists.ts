// The MSR lists of VM entries and exits (SDM Vol. 3C §25.7.2 "VM-Exit Controls for MSRs",
// §25.8.2 "VM-Entry Controls for MSRs"): 16-byte entries in physical memory,
//   [31:0]    MSR index
//   [63:32]   reserved (0)
//   [127:64]  MSR data
// loaded on VM entry (§27.4 "Loading MSRs"), stored on VM exit (§28.4 "Saving MSRs") and loaded
// on VM exit (§28.6 "Loading Host MSRs"), each as WRMSR/RDMSR at CPL 0 would, with the SDM's
// exclusions. A list longer than the recommended maximum (512 * (IA32_VMX_MISC[27:25] + 1) =
// 512 here) is refused at entry 513: the SDM leaves its behaviour undefined.
import type { Cpu } from '../cpu/cpu';
import { readMsrTo, writeMsr } from '../cpu/ops/system';

/** Entries a list may have (IA32_VMX_MISC[27:25] = 0, Appendix A.6). */
export const MSR_LIST_MAX = 512;

const IA32_FS_BASE = 0xc0000100, IA32_GS_BASE = 0xc0000101, IA32_SMBASE = 0x9e, IA32_SMM_MONITOR_CTL = 0x9b;

/** MSRs a list may never load (§27.4, §28.6): FS/GS base (loaded from the state areas), the
 *  x2APIC range 800H-8FFH, SMM-only MSRs outside SMM. */
function forbiddenLoad(index: number): boolean {
  return index === IA32_FS_BASE || index === IA32_GS_BASE || (index >>> 8) === 0x8 || index === IA32_SMM_MONITOR_CTL;
}

/** Loads `count` entries from `pa` (VM entry, or VM exit's host list). Returns 0 when every entry
 *  loaded, else the 1-based index of the entry that failed (the exit qualification of a VM-entry
 *  failure with reason 34, §27.8); entries before it stay loaded. */
export function loadMsrList(c: Cpu, pa: number, count: number): number {
  const m = c.mem;
  for (let i = 0; i < count; i++) {
    if (i >= MSR_LIST_MAX) return i + 1;
    const a = (pa + i * 16) >>> 0;
    const index = m.read32(a) >>> 0, reserved = m.read32(a + 4), lo = m.read32(a + 8), hi = m.read32(a + 12);
    if (reserved !== 0 || forbiddenLoad(index)) return i + 1;
    if (!writeMsr(c, index, lo, hi)) return i + 1;
  }
  return 0;
}

const scratch = new Int32Array(2);

/** Stores `count` MSRs into the list at `pa` (VM exit, §28.4): 0 when every entry stored, else the
 *  1-based index that failed (a VMX abort). */
export function storeMsrList(c: Cpu, pa: number, count: number): number {
  const m = c.mem;
  for (let i = 0; i < count; i++) {
    if (i >= MSR_LIST_MAX) return i + 1;
    const a = (pa + i * 16) >>> 0;
    const index = m.read32(a) >>> 0, reserved = m.read32(a + 4);
    if (reserved !== 0 || index === IA32_FS_BASE || index === IA32_GS_BASE || (index >>> 8) === 0x8 || index === IA32_SMBASE) return i + 1;
    if (!readMsrTo(c, index, scratch)) return i + 1;
    m.write32(a + 8, scratch[0]);
    m.write32(a + 12, scratch[1]);
  }
  return 0;
}
