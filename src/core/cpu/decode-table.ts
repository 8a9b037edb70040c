// The opcode table: one row per opcode form (SDM Vol. 2D Appendix A, opcode map). Each row
// names the form and its handler; rows are collected from the ops/ files here and turned into
// the dense dispatch arrays the run loop indexes. Opcodes without a row raise #UD.
// Codes: 0x00-0xFF one-byte map, 0x0F00-0x0FFF two-byte (0F xx) map.
import { Cpu, OPS, OPS_0F, OpHandler } from './cpu';
import { Vector } from './regs';

export interface OpRow {
  readonly code: number;
  /** Mnemonic and operand forms in SDM notation, e.g. 'ADD Eb,Gb'. */
  readonly name: string;
  readonly exec: OpHandler;
}

export const ALL_ROWS: OpRow[] = [];
export const ROW_BY_CODE = new Map<number, OpRow>();

const undefinedOp: OpHandler = (c: Cpu) => c.raise(Vector.UD);

export function registerRows(rows: readonly OpRow[]): void {
  for (const r of rows) {
    if (ROW_BY_CODE.has(r.code)) throw new Error(`opcode 0x${r.code.toString(16)} (${r.name}) is already defined as ${ROW_BY_CODE.get(r.code)!.name}`);
    ROW_BY_CODE.set(r.code, r);
    ALL_ROWS.push(r);
    if (r.code < 0x100) OPS[r.code] = r.exec;
    else if ((r.code & 0xff00) === 0x0f00) OPS_0F[r.code & 0xff] = r.exec;
    else throw new Error(`bad opcode row code 0x${r.code.toString(16)}`);
  }
}

for (let i = 0; i < 256; i++) { OPS[i] = undefinedOp; OPS_0F[i] = undefinedOp; }
OPS[0x0f] = (c: Cpu) => { const b = c.fetch8(); OPS_0F[b](c, b); };
