// VMREAD and VMWRITE (SDM Vol. 3C §31.3; field encodings §25.11.2, Vol. 3D Appendix B):
// checks, every field width with truncation and zero extension, the high halves of 64-bit
// fields, read-only fields, unsupported components per generation, register and memory
// operands with 32-bit operand size.
import { describe, expect, it } from 'vitest';
import { Vector } from '../../src/core/cpu/regs';
import {
  ALL_FIELDS, FIELD_NAMES, FIELD_REQUIRES, FieldType, FieldWidth, VmcsField, fieldLabel, fieldType, fieldWidth,
  isReadOnly,
} from '../../src/core/vmx/fields';
import { GENERATIONS } from '../../src/core/vmx/generations';
import {
  DATA, FAIL_INVALID_FLAGS, FAIL_VALID_FLAGS, SET_ALL_FLAGS, SUCCEED_FLAGS, VMXON_PA, VmxMachine,
} from './support';

describe('field encodings (Appendix B)', () => {
  it('derive width and type from the encoding bits', () => {
    expect(fieldWidth(VmcsField.GuestCsSelector)).toBe(FieldWidth.Bits16);
    expect(fieldWidth(VmcsField.EptPointer)).toBe(FieldWidth.Bits64);
    expect(fieldWidth(VmcsField.EptPointerHigh)).toBe(FieldWidth.Bits64);
    expect(fieldWidth(VmcsField.ExitReason)).toBe(FieldWidth.Bits32);
    expect(fieldWidth(VmcsField.GuestCr3)).toBe(FieldWidth.Natural);
    expect(fieldType(VmcsField.PinBasedControls)).toBe(FieldType.Control);
    expect(fieldType(VmcsField.ExitQualification)).toBe(FieldType.ExitInformation);
    expect(fieldType(VmcsField.GuestRip)).toBe(FieldType.GuestState);
    expect(fieldType(VmcsField.HostRip)).toBe(FieldType.HostState);
    expect(VmcsField.GuestCr3).toBe(0x6802);
    expect(VmcsField.VmInstructionError).toBe(0x4400);
    expect(VmcsField.ExitReason).toBe(0x4402);
    expect(fieldLabel(0x6802)).toBe('GuestCr3 (0x6802)');
  });

  it('name each encoding once; the high halves are exactly the 64-bit fields | 1', () => {
    const all = [...FIELD_NAMES.keys()];
    expect(new Set(all).size).toBe(all.length);
    for (const e of all) {
      expect(e & 0x1000, fieldLabel(e)).toBe(0); // bit 12 reserved
      const high = (e & 1) !== 0;
      if (high) {
        expect(fieldWidth(e), fieldLabel(e)).toBe(FieldWidth.Bits64);
        expect(FIELD_NAMES.get(e & ~1)! + 'High').toBe(FIELD_NAMES.get(e));
      }
    }
    for (const f of ALL_FIELDS) {
      if (fieldWidth(f) === FieldWidth.Bits64) expect(FIELD_NAMES.has(f | 1), fieldLabel(f)).toBe(true);
    }
    // Read-only = the VM-exit information type, 8 + 6 + 1 (+ high) fields.
    expect(ALL_FIELDS.filter(isReadOnly).map((f) => FIELD_NAMES.get(f))).toEqual([
      'GuestPhysicalAddress', 'VmInstructionError', 'ExitReason', 'VmExitInterruptionInfo',
      'VmExitInterruptionErrorCode', 'IdtVectoringInfo', 'IdtVectoringErrorCode', 'VmExitInstructionLength',
      'VmExitInstructionInfo', 'ExitQualification', 'IoRcx', 'IoRsi', 'IoRdi', 'IoRip', 'GuestLinearAddress',
    ]);
  });
});

/** VMWRITE `v` to `field` then VMREAD it back, both as machine code with register operands. */
function roundTrip(m: VmxMachine, field: number, v: number): { w: number; r: number; value: number } {
  const c = m.c;
  c.r32[1] = field; c.r32[0] = v;
  expect(m.exec(`${SET_ALL_FLAGS}vmwrite ecx, eax`)).toBeNull();
  const w = m.arith();
  c.r32[3] = 0xdeadbeef | 0;
  expect(m.exec(`${SET_ALL_FLAGS}vmread ebx, ecx`)).toBeNull();
  return { w, r: m.arith(), value: c.r32[3] >>> 0 };
}

describe('VMREAD/VMWRITE checks', () => {
  it('#UD outside VMX operation and with a 66/F3/F2 prefix, #GP(0) at CPL 3, VMfailInvalid without a current VMCS', () => {
    const m = new VmxMachine('skylake');
    expect(m.exec('vmread eax, ebx')).toBe(Vector.UD);
    expect(m.exec('vmwrite ebx, eax')).toBe(Vector.UD);
    m.root().vmxon(VMXON_PA);
    for (const p of ['0x66', '0xf3', '0xf2']) {
      expect(m.exec(`db ${p}\nvmread eax, ebx`), p).toBe(Vector.UD);
      expect(m.exec(`db ${p}\nvmwrite ebx, eax`), p).toBe(Vector.UD);
    }
    m.c.r32[3] = VmcsField.GuestRip;
    expect(m.exec(`${SET_ALL_FLAGS}vmread eax, ebx`)).toBeNull();
    expect(m.arith()).toBe(FAIL_INVALID_FLAGS);
    expect(m.exec(`${SET_ALL_FLAGS}vmwrite ebx, eax`)).toBeNull();
    expect(m.arith()).toBe(FAIL_INVALID_FLAGS);
    m.ring(3);
    expect(m.exec('vmread eax, ebx')).toBe(Vector.GP);
    expect(m.exec('vmwrite ebx, eax')).toBe(Vector.GP);
  });

  it('error 12 for encodings with bits 31:15 or 12 set, unknown encodings and high access to non-64-bit fields', () => {
    const m = new VmxMachine('skylake');
    m.enterWithVmcs();
    for (const enc of [0x8000 | VmcsField.GuestRip, 0x10000 | VmcsField.GuestRip, 0x1000 | VmcsField.GuestRip, 0x0001 | VmcsField.GuestRip,
      VmcsField.GuestCsSelector | 1, VmcsField.ExitReason | 1, 0x4830, 0x6c1e, 0x2042]) {
      const r = roundTrip(m, enc, 1);
      expect(r.w, fieldLabel(enc)).toBe(FAIL_VALID_FLAGS);
      expect(r.r, fieldLabel(enc)).toBe(FAIL_VALID_FLAGS);
      expect(m.root().vmread(VmcsField.VmInstructionError).value).toBe(12);
    }
  });

  it('error 13 for VMWRITE to read-only fields without IA32_VMX_MISC[29] (penryn); allowed with it (haswell)', () => {
    const p = new VmxMachine('penryn');
    p.enterWithVmcs();
    for (const f of [VmcsField.ExitReason, VmcsField.ExitQualification, VmcsField.VmInstructionError]) {
      const r = roundTrip(p, f, 0x1234);
      expect(r.w, fieldLabel(f)).toBe(FAIL_VALID_FLAGS);
      expect(p.root().vmread(VmcsField.VmInstructionError).value).toBe(13);
    }
    const h = new VmxMachine('haswell');
    h.enterWithVmcs();
    const r = roundTrip(h, VmcsField.ExitQualification, 0x1234);
    expect(r.w).toBe(SUCCEED_FLAGS);
    expect(r.value).toBe(0x1234);
  });
});

describe('field widths with 32-bit operands', () => {
  const m = new VmxMachine('skylake');
  m.enterWithVmcs();

  it('16-bit fields: VMWRITE drops bits 31:16, VMREAD zero-extends', () => {
    const r = roundTrip(m, VmcsField.GuestCsSelector, 0xabcd1234);
    expect([r.w, r.r, r.value]).toEqual([SUCCEED_FLAGS, SUCCEED_FLAGS, 0x1234]);
  });

  it('32-bit fields keep all 32 bits', () => {
    expect(roundTrip(m, VmcsField.ExceptionBitmap, 0xfedcba98).value).toBe(0xfedcba98);
  });

  it('natural-width fields are 32 bits on a CPU without Intel 64', () => {
    expect(roundTrip(m, VmcsField.GuestRip, 0x89abcdef).value).toBe(0x89abcdef);
    expect(m.unit.vmcs.hi(VmcsField.GuestRip)).toBe(0);
  });

  it('64-bit fields: the full encoding reads the low half and writes it with the high half cleared; the high encoding reads and writes the high half only', () => {
    const f = VmcsField.TscOffset, hi = VmcsField.TscOffsetHigh;
    expect(roundTrip(m, hi, 0x11112222).value).toBe(0x11112222);
    expect(roundTrip(m, f, 0x33334444).value).toBe(0x33334444);
    expect(roundTrip(m, hi, 0x55556666).value).toBe(0x55556666); // writing the high half back
    expect(roundTrip(m, f | 0, 0x77778888).w).toBe(SUCCEED_FLAGS);
    expect(m.unit.vmcs.hi(f)).toBe(0); // full write cleared the high half
    expect(roundTrip(m, hi, 0x9999aaaa).w).toBe(SUCCEED_FLAGS);
    expect([m.unit.vmcs.lo(f), m.unit.vmcs.hi(f)]).toEqual([0x77778888, 0x9999aaaa]); // high write kept the low half
    expect(m.root().vmread64(VmcsField.TscOffset).value).toBe(0x9999aaaa77778888n);
  });

  it('memory operands: VMREAD to m32 and VMWRITE from m32, with the encoding in the register', () => {
    m.mem.write32(DATA, 0x0badf00d);
    m.c.r32[1] = VmcsField.GuestRsp;
    expect(m.exec(`vmwrite ecx, [${DATA}]\nvmread [${DATA + 4}], ecx`)).toBeNull();
    expect(m.mem.read32(DATA + 4)).toBe(0x0badf00d);
    expect(m.arith()).toBe(SUCCEED_FLAGS);
  });

  it('a VMREAD whose memory destination faults changes neither memory nor RFLAGS', () => {
    m.c.r32[1] = VmcsField.GuestRsp;
    expect(m.exec(`${SET_ALL_FLAGS}vmread [0x2000000], ecx`)).toBe(Vector.PF);
    expect(m.arith()).toBe(0x8d5);
  });

  it('in 16-bit code the operands are still 32 bits', () => {
    m.c.r32[1] = VmcsField.GuestRflags; m.c.r32[0] = 0x12345678; m.c.r32[3] = 0;
    // nasm encodes both without an operand-size prefix in 16-bit code: 0F 79 C8, 0F 78 CB.
    expect(m.exec('vmwrite ecx, eax\nvmread ebx, ecx', 16)).toBe(null);
    expect(m.c.r32[3] >>> 0).toBe(0x12345678);
  });
});

describe('fields each generation supports (error 12 otherwise)', () => {
  const cases: [VmcsField, string][] = [
    [VmcsField.EptPointer, 'nehalem'], [VmcsField.GuestPhysicalAddress, 'nehalem'], [VmcsField.GuestPdpte0, 'nehalem'],
    [VmcsField.VirtualProcessorId, 'nehalem'], [VmcsField.VmxPreemptionTimerValue, 'nehalem'],
    [VmcsField.GuestIa32Efer, 'nehalem'], [VmcsField.HostIa32Pat, 'nehalem'], [VmcsField.PleGap, 'westmere'],
    [VmcsField.ProcBasedControls2, 'penryn'],
    [VmcsField.VirtualApicAddress, 'merom'], [VmcsField.TprThreshold, 'merom'],
  ];
  const order = GENERATIONS.map((g) => g.name as string);

  for (const [field, from] of cases) {
    it(`${FIELD_NAMES.get(field)} exists from ${from} on`, () => {
      for (const g of GENERATIONS) {
        if (g.vmx === null) continue;
        const m = new VmxMachine(g.name);
        const r = m.enterWithVmcs();
        const expected = order.indexOf(g.name) >= order.indexOf(from);
        expect(r.vmread(field).result.kind, `${g.name}`).toBe(expected ? 'succeed' : 'failValid');
        if (!expected) expect(r.vmread(VmcsField.VmInstructionError).value).toBe(12);
      }
    });
  }

  it('fields of features vmxlab does not model exist on no generation (PML, posted interrupts, VMCS shadowing, ...)', () => {
    for (const field of [VmcsField.PmlAddress, VmcsField.PmlIndex, VmcsField.PostedInterruptDescriptorAddress,
      VmcsField.VmreadBitmapAddress, VmcsField.EptpListAddress, VmcsField.EoiExitBitmap0, VmcsField.TscMultiplier,
      VmcsField.GuestIa32PerfGlobalCtrl, VmcsField.GuestSsp]) {
      expect(FIELD_REQUIRES.has(field)).toBe(true);
      const m = new VmxMachine('ice-lake');
      const r = m.enterWithVmcs();
      expect(r.vmwrite(field, 0).kind, FIELD_NAMES.get(field)).toBe('failValid');
    }
  });

  it('fields without a feature exist everywhere (guest/host state, VMCS link pointer, executive-VMCS pointer)', () => {
    const m = new VmxMachine('merom');
    const r = m.enterWithVmcs();
    for (const f of ALL_FIELDS.filter((x) => !FIELD_REQUIRES.has(x))) {
      expect(r.vmread(f).result.kind, fieldLabel(f)).toBe('succeed');
    }
  });
});
