// VMX instruction rows (SDM Vol. 3C §31.3 "VMX Instruction Reference"; encodings from the
// instruction pages and Vol. 2D Tables ). A row decodes its form (ModRM, the
// mandatory prefix, memory-only operands) and hands the instruction to the CPU's VMX unit
// (vmx-hooks.ts), which does the SDM's checks and operation. Without a VMX unit (a model
// without VMX) every form raises #UD. These are rare instructions: nothing here runs on the
// hot path, and the decoded-instruction cache leaves all of them (0F 01, 0F 78/79, 0F C7 and
// the 0F 38 map, and anything with a prefix) to the interpreter.
import type { Cpu } from '../cpu';
import { rowExit, type VmxHooks } from '../vmx-hooks';
import { OpRow, mandatoryPrefix, registerRows } from '../decode-table';
import { ExitReason } from '../../vmx/exit-reasons';

/** The VMX unit, or #UD when the CPU has none; LOCK with a VMX instruction is #UD too. */
function unit(c: Cpu): VmxHooks {
  if (c.vmx === null || c.lock) c.ud();
  return c.vmx!;
}

/** The m64 forms (VMXON, VMCLEAR, VMPTRLD, VMPTRST): a register operand is #UD. The ModRM
 *  byte is already decoded by the group-9 row. */
function memOnly(c: Cpu): VmxHooks {
  const u = unit(c);
  if (c.modrm >= 0xc0) c.ud();
  return u;
}

/** VMREAD/VMWRITE are "NP": a 66, F2 or F3 prefix makes another (AMD) instruction, #UD here. */
function noPrefix(c: Cpu): VmxHooks {
  c.decodeModrm();
  const u = unit(c);
  if (mandatoryPrefix(c) !== 0) c.ud();
  return u;
}

/** INVEPT/INVVPID Gd,Mdq (66 is the row's key): the descriptor is in memory. */
function invForm(c: Cpu): VmxHooks {
  c.decodeModrm();
  const u = unit(c);
  if (c.modrm >= 0xc0) c.ud();
  return u;
}

// The exit column: in VMX non-root operation every VMX instruction exits unconditionally
// (SDM Vol. 3C §26.1.2), after the #UD checks of its page (the unit's commonChecks).
const x = (r: ExitReason): OpRow['exits'] => [rowExit(r)];

export const VMX_ROWS: readonly OpRow[] = [
  // 0F 01 with mod = 11B (group 7 hands these over, decode-table.ts).
  { code: 0x0f01c1, name: 'VMCALL', exec: (c) => unit(c).vmcall(), exits: x(ExitReason.Vmcall) },
  { code: 0x0f01c2, name: 'VMLAUNCH', exec: (c) => unit(c).vmlaunch(), exits: x(ExitReason.Vmlaunch) },
  { code: 0x0f01c3, name: 'VMRESUME', exec: (c) => unit(c).vmresume(), exits: x(ExitReason.Vmresume) },
  { code: 0x0f01c4, name: 'VMXOFF', exec: (c) => unit(c).vmxoff(), exits: x(ExitReason.Vmxoff) },
  // NP 0F 78 /r VMREAD r/m32, r32; NP 0F 79 /r VMWRITE r32, r/m32 (32-bit operands outside
  // 64-bit mode whatever CS.D is).
  { code: 0x0f78, name: 'VMREAD Ed,Gd', exec: (c) => noPrefix(c).vmread(), exits: x(ExitReason.Vmread) },
  { code: 0x0f79, name: 'VMWRITE Gd,Ed', exec: (c) => noPrefix(c).vmwrite(), exits: x(ExitReason.Vmwrite) },
  // Group 9 (0F C7) memory forms; the register forms (RDRAND /6, RDSEED /7) are not
  // implemented and stay #UD.
  { code: 0x0fc7, reg: 6, name: 'VMPTRLD Mq', exec: (c) => memOnly(c).vmptrld(), exits: x(ExitReason.Vmptrld) },
  { code: 0x0fc7, reg: 6, prefix: 0x66, name: 'VMCLEAR Mq', exec: (c) => memOnly(c).vmclear(), exits: x(ExitReason.Vmclear) },
  { code: 0x0fc7, reg: 6, prefix: 0xf3, name: 'VMXON Mq', exec: (c) => memOnly(c).vmxon(), exits: x(ExitReason.Vmxon) },
  { code: 0x0fc7, reg: 7, name: 'VMPTRST Mq', exec: (c) => memOnly(c).vmptrst(), exits: x(ExitReason.Vmptrst) },
  // 66 0F 38 80 /r INVEPT r32, m128; 66 0F 38 81 /r INVVPID r32, m128 (#UD without EPT / VPID).
  { code: 0x0f3880, prefix: 0x66, name: 'INVEPT Gd,Mdq', exec: (c) => invForm(c).invept(), exits: x(ExitReason.Invept) },
  { code: 0x0f3881, prefix: 0x66, name: 'INVVPID Gd,Mdq', exec: (c) => invForm(c).invvpid(), exits: x(ExitReason.Invvpid) },
];

registerRows(VMX_ROWS);
