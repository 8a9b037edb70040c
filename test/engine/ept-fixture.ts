// A hand-built EPT on a bare machine, for the address-walk tests without the VMM: vCPU 0 gets a
// current VMCS (only the fields the walk reads: controls, EPTP, guest CR0/CR3/CR4) and EPT tables
// in RAM at 0x200000:
//   gpa 0x000000-0x09FFFF  4 KB pages, identity, RWX, WB
//   gpa 0x0A0000-0x0BFFFF  no entry (VGA memory: an EPT violation at the PTE)
//   gpa 0x0C0000-0x0EFFFF  identity RWX WB;  0x0F0000-0x0FFFFF identity R-X (ROM), WB
//   gpa 0x100000-0x1FFFFF  identity RWX WB
//   gpa 0x200000-0x3FFFFF  one 2 MB page at host-physical 0x600000, read-only, UC, A and D set
//   gpa 0x400000-          no entry (the PDE is not present)
import { PcMachine } from '../../src/core/platform/machine';
import { ProcBasedCtls, ProcBasedCtls2 } from '../../src/core/vmx/controls';
import { VmcsField } from '../../src/core/vmx/fields';
import { VmxUnit } from '../../src/core/vmx/unit';

export const FIXTURE_PML4 = 0x200000;
const PDPT = 0x201000, PD = 0x202000, PT = 0x203000;
const RWX = 7, WB = 6 << 3;

export function installEptFixture(m: PcMachine, accessedDirty = false): VmxUnit {
  const unit = m.cpus[0]!.vmx;
  if (!(unit instanceof VmxUnit)) throw new Error('ept-fixture: the machine has no VMX unit (use a generation with VMX)');
  const mem = m.mem;
  const e = (at: number, v: number): void => { mem.write32(at, v >>> 0); mem.write32(at + 4, 0); };
  for (let a = FIXTURE_PML4; a < PT + 0x1000; a += 4) mem.write32(a, 0);
  e(FIXTURE_PML4, PDPT | RWX);
  e(PDPT, PD | RWX);
  e(PD, PT | RWX);
  e(PD + 8, 0x600000 | (1 << 7) | (0 << 3) | 1 | (1 << 8) | (1 << 9)); // 2 MB, R, UC, A, D
  for (let p = 0; p < 512; p++) {
    if (p >= 0xa0 && p < 0xc0) continue;
    e(PT + p * 8, (p << 12) | WB | (p >= 0xf0 && p < 0x100 ? 5 : RWX));
  }
  const v = unit.vmcs;
  v.pa = 0x1000; // any address: the walk reads the cached fields only
  v.setLo(VmcsField.ProcBasedControls, ProcBasedCtls.ActivateSecondaryControls | ProcBasedCtls.HltExiting);
  v.setLo(VmcsField.ProcBasedControls2, ProcBasedCtls2.EnableEpt);
  v.setLo(VmcsField.EptPointer, FIXTURE_PML4 | (3 << 3) | 6 | (accessedDirty ? 1 << 6 : 0));
  v.setHi(VmcsField.EptPointer, 0);
  v.setLo(VmcsField.GuestCr0, 0x10);
  v.setLo(VmcsField.GuestCr3, 0);
  v.setLo(VmcsField.GuestCr4, 0);
  return unit;
}
