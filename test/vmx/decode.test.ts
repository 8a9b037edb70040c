// The VMX rows in the decode table: one row per form, the group and three-byte maps they need,
// the neighbouring forms that must keep working (SMSW/LMSW, CMPXCHG8B) or stay #UD, and the
// decoded-instruction cache, which must hand every VMX encoding to the interpreter.
import { describe, expect, it } from 'vitest';
import { ALL_ROWS, StopReason } from '../../src/core/cpu/index';
import { registerRows } from '../../src/core/cpu/decode-table';
import { Form } from '../../src/core/cpu/insn';
import { Vector } from '../../src/core/cpu/regs';
import { VmcsField } from '../../src/core/vmx/fields';
import { CODE, DATA, VMXON_PA, VmxMachine, asm } from './support';

describe('decode rows', () => {
  it('one named row per VMX form', () => {
    const names = ALL_ROWS.map((r) => r.name);
    for (const n of ['VMCALL', 'VMLAUNCH', 'VMRESUME', 'VMXOFF', 'VMREAD Ed,Gd', 'VMWRITE Gd,Ed', 'VMPTRLD Mq', 'VMCLEAR Mq',
      'VMXON Mq', 'VMPTRST Mq', 'INVEPT Gd,Mdq', 'INVVPID Gd,Mdq']) {
      expect(names.filter((x) => x === n), n).toHaveLength(1);
    }
  });

  it('refuses a second row for the same form and prefixes outside the prefix-selected maps', () => {
    const nop = (): void => {};
    const before = ALL_ROWS.length;
    expect(() => registerRows([{ code: 0x0fc7, reg: 6, prefix: 0x66, name: 'X', exec: nop }])).toThrow(/already defined as VMCLEAR Mq/);
    expect(() => registerRows([{ code: 0x0f3880, prefix: 0x66, name: 'X', exec: nop }])).toThrow(/already defined as INVEPT/);
    expect(() => registerRows([{ code: 0x0f01c1, name: 'X', exec: nop }])).toThrow(/already defined as VMCALL/);
    expect(() => registerRows([{ code: 0x0f77, prefix: 0x66, name: 'X', exec: nop }])).toThrow(/mandatory prefix/);
    expect(() => registerRows([{ code: 0x0f01, reg: 3, name: 'X', exec: nop }])).toThrow(/bad group form/);
    expect(ALL_ROWS.length).toBe(before); // nothing registered by a refused row
  });

  it('other 0F 01 register forms stay #UD; SMSW and LMSW with register operands still work', () => {
    const m = new VmxMachine('skylake');
    m.root().vmxon(VMXON_PA);
    for (const b of ['0xc0', '0xc5', '0xd0', '0xd1', '0xd4', '0xf8', '0xe8']) {
      expect(m.exec(`db 0x0f, 0x01, ${b}`), `0F 01 ${b}`).toBe(Vector.UD);
    }
    m.c.r32[0] = 0;
    expect(m.exec('smsw eax')).toBeNull();
    expect(m.c.r32[0] & 0xffff).toBe(m.c.cr0 & 0xffff);
    expect(m.exec('mov ax, 0x3b\nlmsw ax\nsmsw ebx')).toBeNull(); // MP, TS, ET set (PE stays, NE kept)
    expect(m.c.r32[3] & 0xf).toBe(0xb);
  });

  it('CMPXCHG8B still works; other group-9 digits and prefixes are #UD', () => {
    const m = new VmxMachine('skylake');
    m.root().vmxon(VMXON_PA);
    m.mem.write32(DATA, 1); m.mem.write32(DATA + 4, 2);
    m.c.r32[0] = 1; m.c.r32[2] = 2; m.c.r32[3] = 7; m.c.r32[1] = 8;
    expect(m.exec(`cmpxchg8b [${DATA}]`)).toBeNull();
    expect([m.mem.read32(DATA), m.mem.read32(DATA + 4)]).toEqual([7, 8]);
    for (const enc of ['0x0f, 0xc7, 0x00', '0x0f, 0xc7, 0x10', '0x0f, 0xc7, 0x28', '0xf2, 0x0f, 0xc7, 0x30', '0x66, 0x0f, 0xc7, 0x38', '0xf3, 0x0f, 0xc7, 0x38']) {
      expect(m.exec(`db ${enc}, 0, 0, 0, 0`), enc).toBe(Vector.UD);
    }
    expect(m.exec('db 0xf0\nvmcall'), 'LOCK').toBe(Vector.UD);
  });

  it('the three-byte 0F 38 map raises #UD for every other entry', () => {
    const m = new VmxMachine('skylake');
    m.root().vmxon(VMXON_PA);
    for (const b of [0x00, 0x7f, 0x83, 0xf0, 0xff]) {
      expect(m.exec(`db 0x66, 0x0f, 0x38, ${b}, 0x00`), b.toString(16)).toBe(Vector.UD);
    }
  });
});

describe('decoded-instruction cache', () => {
  it('decodes no VMX encoding into a cached record', () => {
    const m = new VmxMachine('skylake');
    const code = asm('vmxon [eax]\nvmclear [eax]\nvmptrld [eax]\nvmptrst [eax]\nvmread ebx, ecx\nvmread [eax], ecx\nvmwrite ecx, ebx\n' +
      'vmwrite ecx, [eax]\nvmlaunch\nvmresume\nvmxoff\nvmcall\ninvept eax, [ebx]\ninvvpid eax, [ebx]', CODE);
    m.mem.load(CODE, code);
    const lens = [4, 4, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 5, 5];
    let p = CODE;
    for (const len of lens) {
      expect(m.c.dcache!.compile(p).form, `at ${p - CODE}`).toBe(Form.Interp);
      p += len;
    }
    expect(p - CODE).toBe(code.length);
  });

  it('a hot loop around VMREAD runs right through the cached run loop', () => {
    const m = new VmxMachine('skylake');
    const r = m.enterWithVmcs();
    r.vmwrite(VmcsField.GuestRsp, 3);
    const code = asm(`mov ebx, ${VmcsField.GuestRsp}\nxor esi, esi\nmov ecx, 1000\nl: vmread eax, ebx\nadd esi, eax\ndec ecx\njnz l\nhlt`, CODE);
    m.mem.load(CODE, code);
    m.c.eip = CODE;
    expect(m.c.run(100000)).toBe(StopReason.Halted);
    expect(m.c.r32[6]).toBe(3000);
    expect(m.c.dcache!.compiled).toBeGreaterThan(0);
  });
});
