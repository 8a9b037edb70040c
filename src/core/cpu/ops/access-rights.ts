// The descriptor query of LAR and LSL (SDM Vol. 2A LAR, LSL), in every protected-mode form: legacy
// protected mode takes the legacy system types and 8-byte descriptors; IA-32e mode (64-bit and
// compatibility mode alike, EFER.LMA = 1) its own type table and 16-byte system descriptors
// (SDM Vol. 3A §3.5, Table 3-2), whose upper 8 bytes must lie within the table limit and have
// type 0 (bits 12:8 of the fourth dword) for the descriptor to be valid.
import type { Cpu } from '../cpu';
import { Desc, tryFetchDesc } from '../descriptor';
import { Efer, Seg } from '../regs';
import { sysRead32 } from '../long/mem64';

// System types by type field (0-15), 1 where the instruction accepts them.
// Legacy: LAR TSSs, LDT, call and task gates; LSL only the types with a limit (TSSs, LDT).
const LAR_OK = [0, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0, 1, 1, 0, 0, 0];
const LSL_OK = [0, 1, 1, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0];
// IA-32e mode: LAR 64-bit TSS (9, B) and 64-bit call gate (C); LSL LDT (2) and 64-bit TSS (9, B).
// The 16-bit TSSs, 16-bit gates and task gates are reserved types there.
const LAR_OK_IA32E = [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 0, 0, 0];
const LSL_OK_IA32E = [0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0];

/** Fetches the LAR (`lsl` false) or LSL source descriptor of `sel` into `d`; false (ZF = 0) if
 *  it is null, outside its table, a type the instruction refuses, an invalid 16-byte system
 *  descriptor, or not visible at CPL and RPL. */
export function queryAccessRights(c: Cpu, sel: number, d: Desc, lsl: boolean): boolean {
  if ((sel & 0xfffc) === 0 || !tryFetchDesc(c, sel, d)) return false;
  if (!d.s) {
    const ia32e = (c.efer & Efer.LMA) !== 0;
    const ok = ia32e ? (lsl ? LSL_OK_IA32E : LAR_OK_IA32E) : (lsl ? LSL_OK : LAR_OK);
    if (ok[d.type] === 0) return false;
    if (ia32e) {
      const limit = (sel & 4) !== 0 ? c.segLimit[Seg.LDTR] >>> 0 : c.gdtrLimit;
      if ((sel & 0xfff8) + 15 > limit) return false;
      if ((sysRead32(c, d.addr + 12) & 0x1f00) !== 0) return false;
    }
  }
  return d.conforming || (d.dpl >= c.cpl && d.dpl >= (sel & 3));
}
