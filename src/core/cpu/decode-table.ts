// The opcode table: one row per opcode form (SDM Vol. 2D Appendix A, opcode map). Each row
// names the form and its handler; rows are collected from the ops/ files here and turned into
// the dense dispatch arrays the run loop indexes. Opcodes without a row raise #UD.
// Codes: 0x00-0xFF one-byte map, 0x0F00-0x0FFF two-byte (0F xx) map, 0x0F3800-0x0F38FF the
// three-byte 0F 38 map (Table A-4), 0x0F01C0-0x0F01FF the 0F 01 instructions whose ModRM byte
// has mod = 11B (Table A-6 lists each as its own instruction: 0F 01 C1 VMCALL, ...). A row
// with `reg` is a member of the group at `code` selected by the ModRM reg field (/digit): group
// 9 (0F C7), whose CMPXCHG8B row hands the other digits here (`group9Form`), and group 15
// (0F AE: FXSAVE, FXRSTOR, XSAVE, XRSTOR), whose row hands every digit here (`group15Form`); `regForm`
// marks a member whose ModRM has mod = 11B (Table A-6 gives 0F C7 /6 and /7 different
// instructions by mod: VMPTRLD/VMCLEAR/VMXON/VMPTRST with memory, RDRAND/RDSEED with a register).
// Mandatory prefixes (Vol. 2A §2.1.2; the "NP/66/F3/F2" of the instruction pages) select the
// row in the 0F 38 map and in group forms; rows elsewhere check them (`mandatoryPrefix`).
// The `exits` column says which instructions can cause a VM exit and why, as QEMU's decoder
// carries its SVM intercepts; the row's handler hands that same entry to the VMX unit.
import { Cpu, OPS, OPS_0F, OpHandler } from './cpu';
import { Vector } from './regs';
import type { RowExit } from './vmx-hooks';

/** A mandatory prefix: 0 (none: "NP"), 0x66, 0xF3 or 0xF2. */
export type MandatoryPrefix = 0 | 0x66 | 0xf3 | 0xf2;

export interface OpRow {
  readonly code: number;
  /** Mnemonic and operand forms in SDM notation, e.g. 'ADD Eb,Gb'. */
  readonly name: string;
  readonly exec: OpHandler;
  /** Group member: the ModRM reg field (/digit) that selects this row within `code`. */
  readonly reg?: number;
  /** The mandatory prefix selecting this row (0F 38 map and group members; default none). */
  readonly prefix?: MandatoryPrefix;
  /** Group member for ModRM mod = 11B only (with `reg`); without it the member takes mod != 11B. */
  readonly regForm?: boolean;
  /** The exit column (SDM Vol. 3C §26.1): the VM exits an instruction of this row can cause in
   *  VMX non-root operation and the control deciding each (vmx-hooks.ts RowExit). A group row
   *  lists one entry per member that can exit. Faults that the exception bitmap turns into
   *  exits (§26.2) are not listed: any row can fault. */
  readonly exits?: readonly RowExit[];
}

export const ALL_ROWS: OpRow[] = [];
/** Rows by code (rows without `reg` or `prefix`). */
export const ROW_BY_CODE = new Map<number, OpRow>();
const FORM_KEYS = new Map<string, OpRow>();

/** Three-byte map 0F 38, indexed prefixClass * 256 + third byte. */
export const OPS_0F38: OpHandler[] = new Array(4 * 256);
/** 0F 01 with mod = 11B, indexed by ModRM & 0x3F. */
export const OPS_0F01_11B: OpHandler[] = new Array(64);
/** Group 9 (0F C7) members, indexed prefixClass * 8 + reg: memory forms, then (from index 32)
 *  the register forms (mod = 11B). */
export const OPS_0FC7_GRP: OpHandler[] = new Array(2 * 4 * 8);
/** Group 15 (0F AE) members, laid out as OPS_0FC7_GRP. */
export const OPS_0FAE_GRP: OpHandler[] = new Array(2 * 4 * 8);

const undefinedOp: OpHandler = (c: Cpu) => c.raise(Vector.UD);

/** Prefix class index of a mandatory prefix: 0 none, 1 66, 2 F3, 3 F2. */
function prefixClass(p: MandatoryPrefix): number {
  return p === 0x66 ? 1 : p === 0xf3 ? 2 : p === 0xf2 ? 3 : 0;
}

/** The current instruction's mandatory prefix: the last F2/F3 if any (they take precedence),
 *  else 66 when an operand-size prefix flipped the operand size, else none. */
export function mandatoryPrefix(c: Cpu): MandatoryPrefix {
  if (c.rep === 0xf3 || c.rep === 0xf2) return c.rep;
  return c.os32 !== c.code32 ? 0x66 : 0;
}

export function registerRows(rows: readonly OpRow[]): void {
  for (const r of rows) {
    const p = r.prefix ?? 0;
    const form = r.reg !== undefined || r.prefix !== undefined;
    // Where the row goes; every check comes before anything is registered.
    let table: OpHandler[], index: number;
    if (r.reg !== undefined) {
      if ((r.code !== 0x0fc7 && r.code !== 0x0fae) || r.reg < 0 || r.reg > 7) throw new Error(`bad group form 0x${r.code.toString(16)} /${r.reg}`);
      table = r.code === 0x0fc7 ? OPS_0FC7_GRP : OPS_0FAE_GRP; index = (r.regForm === true ? 32 : 0) + prefixClass(p) * 8 + r.reg;
    } else if (r.code >= 0x0f3800 && r.code <= 0x0f38ff) { table = OPS_0F38; index = prefixClass(p) * 256 + (r.code & 0xff); }
    else if (r.prefix !== undefined) throw new Error(`opcode 0x${r.code.toString(16)}: a mandatory prefix selects rows only in the 0F 38 map and groups`);
    else if (r.code >= 0x0f01c0 && r.code <= 0x0f01ff) { table = OPS_0F01_11B; index = r.code & 0x3f; }
    else if (r.code < 0x100) { table = OPS; index = r.code; }
    else if ((r.code & 0xff00) === 0x0f00 && r.code <= 0xffff) { table = OPS_0F; index = r.code & 0xff; }
    else throw new Error(`bad opcode row code 0x${r.code.toString(16)}`);
    const key = `${r.code.toString(16)}/${r.reg ?? '-'}${r.regForm === true ? 'r' : ''}/${p.toString(16)}`;
    if (form && FORM_KEYS.has(key)) throw new Error(`opcode form ${key} (${r.name}) is already defined as ${FORM_KEYS.get(key)!.name}`);
    if (!form && ROW_BY_CODE.has(r.code)) throw new Error(`opcode 0x${r.code.toString(16)} (${r.name}) is already defined as ${ROW_BY_CODE.get(r.code)!.name}`);
    if (form) FORM_KEYS.set(key, r); else ROW_BY_CODE.set(r.code, r);
    ALL_ROWS.push(r);
    table[index] = r.exec;
  }
}

/** Runs the group-9 member of the decoded ModRM reg field (called by the 0F C7 row). */
export function group9Form(c: Cpu): void {
  OPS_0FC7_GRP[(c.modrm >= 0xc0 ? 32 : 0) + prefixClass(mandatoryPrefix(c)) * 8 + c.modReg](c, 0xc7);
}

/** Runs the group-15 member of the decoded ModRM reg field (called by the 0F AE row). */
export function group15Form(c: Cpu): void {
  OPS_0FAE_GRP[(c.modrm >= 0xc0 ? 32 : 0) + prefixClass(mandatoryPrefix(c)) * 8 + c.modReg](c, 0xae);
}

/** Runs the 0F 01 instruction of a mod = 11B ModRM byte (called by the 0F 01 row). */
export function group7RegForm(c: Cpu): void {
  OPS_0F01_11B[c.modrm & 0x3f](c, c.modrm);
}

for (let i = 0; i < 256; i++) { OPS[i] = undefinedOp; OPS_0F[i] = undefinedOp; }
OPS_0F38.fill(undefinedOp); OPS_0F01_11B.fill(undefinedOp); OPS_0FC7_GRP.fill(undefinedOp); OPS_0FAE_GRP.fill(undefinedOp);
OPS[0x0f] = (c: Cpu) => { const b = c.fetch8(); OPS_0F[b](c, b); };
OPS_0F[0x38] = (c: Cpu) => { const b = c.fetch8(); OPS_0F38[prefixClass(mandatoryPrefix(c)) * 256 + b](c, b); };
