// The VMX instructions in 64-bit mode (SDM Vol. 3C §31.3; encodings Vol. 2D Tables,
// A-6, as in ops/vmx.ts): the 64-bit interpreter decodes ModRM with REX into D64 and hands the
// instruction to the CPU's VMX unit, which takes its operands from D64 when `Cpu.mode64`
// (vmx/operands64.ts). Without a VMX unit, or with LOCK, every form raises #UD.
import type { Cpu } from '../cpu';
import type { VmxHooks } from '../vmx-hooks';
import { D64, modrm64 } from './decode64';
import { invpcid64, random64 } from './isa64';

function unit(c: Cpu): VmxHooks {
  if (c.vmx === null || D64.lock) c.ud();
  return c.vmx!;
}

/** 0F 01 C1-C4 (mod = 11B of group 7): VMCALL, VMLAUNCH, VMRESUME, VMXOFF. */
export function vmxGroup7(c: Cpu, modrm: number): void {
  const u = unit(c);
  switch (modrm) {
    case 0xc1: u.vmcall(); return;
    case 0xc2: u.vmlaunch(); return;
    case 0xc3: u.vmresume(); return;
    default: u.vmxoff(); return;
  }
}

/** 0F 78 VMREAD Eq,Gq / 0F 79 VMWRITE Gq,Eq ("NP": a 66, F2 or F3 prefix is #UD here). */
export function vmreadVmwrite64(c: Cpu, write: boolean): void {
  modrm64(c);
  const u = unit(c);
  if (D64.p66 || D64.rep !== 0) c.ud();
  if (write) u.vmwrite(); else u.vmread();
}

/** 0F C7 /6 and /7 with a memory operand: VMPTRLD (NP), VMCLEAR (66), VMXON (F3), VMPTRST
 *  (NP, /7); the register forms are RDRAND and RDSEED (isa64.ts). ModRM is decoded. */
export function vmxGroup9(c: Cpu): void {
  const g = (D64.modrm >> 3) & 7;
  if (D64.mod === 3) { random64(c, g === 7); return; }
  const u = unit(c);
  if (g === 6) {
    if (D64.rep === 0xf3 && !D64.p66) { u.vmxon(); return; }
    if (D64.p66 && D64.rep === 0) { u.vmclear(); return; }
    if (!D64.p66 && D64.rep === 0) { u.vmptrld(); return; }
    c.ud();
  }
  if (D64.p66 || D64.rep !== 0) c.ud();
  u.vmptrst();
}

/** 66 0F 38 80 INVEPT Gq,Mdq / 66 0F 38 81 INVVPID Gq,Mdq / 66 0F 38 82 INVPCID Gq,Mdq
 *  (isa64.ts); other 0F 38 forms are not in phase 1 (#UD). */
export function map0F38(c: Cpu): void {
  const op = c.fetch8();
  if ((op !== 0x80 && op !== 0x81 && op !== 0x82) || !D64.p66 || D64.rep !== 0) c.ud();
  modrm64(c);
  if (op === 0x82) { invpcid64(c); return; }
  if (D64.mod === 3) c.ud();
  const u = unit(c);
  if (op === 0x80) u.invept(); else u.invvpid();
}
