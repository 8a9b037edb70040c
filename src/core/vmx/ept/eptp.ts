// The EPTP checks VM entry makes with "enable EPT" = 1 (SDM Vol. 3C §27.2.1.1 "VM-Execution
// Control Fields", the EPTP items) and INVEPT makes on a single-context descriptor (§31.3
// INVEPT). The EPTP format is in format.ts.
import { EptCap, type VmxCapabilities } from '../capabilities';
import { Eptp, MemoryType } from './format';

const hex = (v: number): string => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;

/** Why an EPTP is invalid on this processor, or null:
 *  - the memory type (bits 2:0) is one IA32_VMX_EPT_VPID_CAP allows: UC (bit 8) or WB (bit 14);
 *  - bits 5:3 are 3 (a page-walk length of 4, bit 6 of the capability MSR);
 *  - bit 6 (accessed and dirty flags) is 0 unless the capability MSR's bit 21 is set;
 *  - reserved bits 11:7 are 0 (bit 7 needs CET, which vmxlab does not model);
 *  - no address bit beyond the physical-address width (bits 63:N) is set. */
export function eptpProblem(caps: VmxCapabilities, lo: number, hi: number): string | null {
  const memType = lo & Eptp.MemTypeMask;
  const typeOk = (memType === MemoryType.Uncacheable && (caps.eptCap & EptCap.MemTypeUc) !== 0) ||
    (memType === MemoryType.WriteBack && (caps.eptCap & EptCap.MemTypeWb) !== 0);
  if (!typeOk) return `EPTP memory type ${memType} is not supported (UC or WB)`;
  const walk = ((lo & Eptp.WalkLengthMask) >>> Eptp.WalkLengthShift) + 1;
  if (walk !== 4 || (caps.eptCap & EptCap.PageWalk4) === 0) return `EPTP page-walk length ${walk} is not 4`;
  if ((lo & Eptp.AccessedDirty) !== 0 && (caps.eptCap & EptCap.AccessedDirty) === 0) {
    return `EPTP enables accessed/dirty flags, not supported on ${caps.generation}`;
  }
  if ((lo & Eptp.ReservedMask) !== 0) return `EPTP reserved bits 11:7 are not 0 (${hex(lo)})`;
  const w = caps.pointerWidth;
  if ((w <= 32 ? hi : hi >>> (w - 32)) !== 0) {
    return `EPTP ${hex(hi)}_${hex(lo).slice(2)} sets bits beyond the ${w}-bit physical-address width`;
  }
  return null;
}

/** The EPT PML4 table address of an EPTP (the "EP4TA" that tags guest-physical and combined
 *  mappings, §29.4.1 "Information That May Be Cached"). */
export function ep4ta(eptpLo: number): number {
  return (eptpLo & Eptp.AddressMask) >>> 0;
}
