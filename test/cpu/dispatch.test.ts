// The fast dispatch switch must call exactly the handler each opcode's row holds.
import { describe, expect, it } from 'vitest';
import { ROW_BY_CODE } from '../../src/core/cpu/index';
import { FAST_OPCODES } from '../../src/core/cpu/dispatch';

describe('fast dispatch', () => {
  it('routes every fast opcode to its row handler', () => {
    expect(FAST_OPCODES.size).toBeGreaterThan(100);
    for (const [op, fn] of FAST_OPCODES) expect(ROW_BY_CODE.get(op)?.exec, `opcode 0x${op.toString(16)}`).toBe(fn);
  });
});
