// Fast dispatch for the hottest opcode rows. Calling a handler through the OPS array is a
// megamorphic call V8 cannot inline (measured: ~3.5x slower per instruction than a switch in
// a micro-benchmark); this switch calls the same handler functions the rows hold, so the
// table stays the single definition of each form. Rows not listed here go through OPS.
import { Cpu, OPS } from './cpu';
import { aluALIb, aluEAXIv, aluEbGb, aluEvGv, aluGbEb, aluGvEv, decReg, grp1EvIb, grp1EvIv, grp2EvIb, incReg, testEvGv } from './ops/alu';
import { lea, movEbGb, movEvGv, movGbEb, movGvEv, movRbIb, movRvIv, popReg, pushReg } from './ops/move';
import { callNear, jccShort, jmpNear, jmpShort, retNear } from './ops/control';

/** Opcodes the switch handles directly (a test checks each matches its row's handler). */
export const FAST_OPCODES: ReadonlyMap<number, (c: Cpu, code: number) => void> = new Map<number, (c: Cpu, code: number) => void>([
  ...[0x00, 0x08, 0x10, 0x18, 0x20, 0x28, 0x30, 0x38].flatMap((b) => [
    [b, aluEbGb], [b + 1, aluEvGv], [b + 2, aluGbEb], [b + 3, aluGvEv], [b + 4, aluALIb], [b + 5, aluEAXIv],
  ] as [number, (c: Cpu, code: number) => void][]),
  ...Array.from({ length: 8 }, (_, r) => [[0x40 + r, incReg], [0x48 + r, decReg], [0x50 + r, pushReg], [0x58 + r, popReg], [0xb0 + r, movRbIb], [0xb8 + r, movRvIv]] as [number, (c: Cpu, code: number) => void][]).flat(),
  ...Array.from({ length: 16 }, (_, cc) => [0x70 + cc, jccShort] as [number, (c: Cpu, code: number) => void]),
  [0x81, grp1EvIv], [0x83, grp1EvIb], [0x85, testEvGv], [0x88, movEbGb], [0x89, movEvGv], [0x8a, movGbEb],
  [0x8b, movGvEv], [0x8d, lea], [0xc1, grp2EvIb], [0xc3, retNear], [0xe8, callNear], [0xe9, jmpNear], [0xeb, jmpShort],
]);

Cpu.prototype.dispatch = function dispatch(this: Cpu, op: number): void {
  switch (op) {
    case 0x00: case 0x08: case 0x10: case 0x18: case 0x20: case 0x28: case 0x30: case 0x38: aluEbGb(this, op); return;
    case 0x01: case 0x09: case 0x11: case 0x19: case 0x21: case 0x29: case 0x31: case 0x39: aluEvGv(this, op); return;
    case 0x02: case 0x0a: case 0x12: case 0x1a: case 0x22: case 0x2a: case 0x32: case 0x3a: aluGbEb(this, op); return;
    case 0x03: case 0x0b: case 0x13: case 0x1b: case 0x23: case 0x2b: case 0x33: case 0x3b: aluGvEv(this, op); return;
    case 0x04: case 0x0c: case 0x14: case 0x1c: case 0x24: case 0x2c: case 0x34: case 0x3c: aluALIb(this, op); return;
    case 0x05: case 0x0d: case 0x15: case 0x1d: case 0x25: case 0x2d: case 0x35: case 0x3d: aluEAXIv(this, op); return;
    case 0x40: case 0x41: case 0x42: case 0x43: case 0x44: case 0x45: case 0x46: case 0x47: incReg(this, op); return;
    case 0x48: case 0x49: case 0x4a: case 0x4b: case 0x4c: case 0x4d: case 0x4e: case 0x4f: decReg(this, op); return;
    case 0x50: case 0x51: case 0x52: case 0x53: case 0x54: case 0x55: case 0x56: case 0x57: pushReg(this, op); return;
    case 0x58: case 0x59: case 0x5a: case 0x5b: case 0x5c: case 0x5d: case 0x5e: case 0x5f: popReg(this, op); return;
    case 0x70: case 0x71: case 0x72: case 0x73: case 0x74: case 0x75: case 0x76: case 0x77:
    case 0x78: case 0x79: case 0x7a: case 0x7b: case 0x7c: case 0x7d: case 0x7e: case 0x7f: jccShort(this, op); return;
    case 0x81: grp1EvIv(this); return;
    case 0x83: grp1EvIb(this); return;
    case 0x85: testEvGv(this); return;
    case 0x88: movEbGb(this); return;
    case 0x89: movEvGv(this); return;
    case 0x8a: movGbEb(this); return;
    case 0x8b: movGvEv(this); return;
    case 0x8d: lea(this); return;
    case 0xb0: case 0xb1: case 0xb2: case 0xb3: case 0xb4: case 0xb5: case 0xb6: case 0xb7: movRbIb(this, op); return;
    case 0xb8: case 0xb9: case 0xba: case 0xbb: case 0xbc: case 0xbd: case 0xbe: case 0xbf: movRvIv(this, op); return;
    case 0xc1: grp2EvIb(this); return;
    case 0xc3: retNear(this); return;
    case 0xe8: callNear(this); return;
    case 0xe9: jmpNear(this); return;
    case 0xeb: jmpShort(this); return;
    default: OPS[op](this, op);
  }
};
