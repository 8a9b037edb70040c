// VMXON, VMXOFF, VMCLEAR, VMPTRLD, VMPTRST and VMCALL as machine code (SDM Vol. 3C §31.3):
// every #UD and #GP condition, VMfailInvalid, each VMfailValid error these can give, and the
// RFLAGS conventions of §31.2 (CF for VMfailInvalid, ZF for VMfailValid, the other arithmetic
// flags cleared).
import { describe, expect, it } from 'vitest';
import { Cr0, Cr4, Flag, Vector } from '../../src/core/cpu/regs';
import { VmcsField } from '../../src/core/vmx/fields';
import { LAUNCHED_MARK, VMCS_LAUNCH_STATE_OFFSET, VMCS_FIELDS_OFFSET, SLOT_OF } from '../../src/core/vmx/vmcs';
import {
  DATA, FAIL_INVALID_FLAGS, FAIL_VALID_FLAGS, SET_ALL_FLAGS, SUCCEED_FLAGS, VMCS2_PA, VMCS_PA, VMXON_PA, VmxMachine,
} from './support';

/** The VM-instruction error field of the current VMCS, read through VMREAD. */
function vmError(m: VmxMachine): number {
  const r = m.root().vmread(VmcsField.VmInstructionError);
  expect(r.result.kind).toBe('succeed');
  return r.value;
}

/** dq operands in the DATA area: `ptr(pa)` assembles `vmxon [DATA]` style instructions. */
function put64(m: VmxMachine, addr: number, lo: number, hi = 0): void {
  m.mem.write32(addr, lo); m.mem.write32(addr + 4, hi);
}

describe('VMXON', () => {
  it('succeeds with a valid region: VMX root operation, no current VMCS, flags cleared', () => {
    const m = new VmxMachine('skylake');
    put64(m, DATA, VMXON_PA);
    expect(m.exec(`${SET_ALL_FLAGS}vmxon [${DATA}]`)).toBeNull();
    expect(m.arith()).toBe(SUCCEED_FLAGS);
    expect(m.unit.inVmxOperation).toBe(true);
    expect(m.unit.vmcs.valid).toBe(false);
  });

  it('#UD with CR4.VMXE = 0, in real mode, in virtual-8086 mode and with a register operand', () => {
    const noVmxe = new VmxMachine('skylake', { vmxe: false });
    put64(noVmxe, DATA, VMXON_PA);
    expect(noVmxe.exec(`vmxon [${DATA}]`)).toBe(Vector.UD);

    const real = new VmxMachine('skylake');
    real.c.cr0 = Cr0.ET | Cr0.NE; real.c.modeChanged();
    expect(real.exec('vmxon [0x100]', 16)).toBe(Vector.UD);

    const v86 = new VmxMachine('skylake');
    v86.c.setFlags(Flag.VM, Flag.VM);
    expect(v86.exec('vmxon [0x100]', 16)).toBe(Vector.UD);

    const reg = new VmxMachine('skylake');
    expect(reg.exec('db 0xf3, 0x0f, 0xc7, 0xf0 ; vmxon with mod=11b')).toBe(Vector.UD);
  });

  it('#GP(0) at CPL 3, with IA32_FEATURE_CONTROL unlocked or without VMX outside SMX, with CR0/CR4 fixed bits broken, in A20M', () => {
    const cpl3 = new VmxMachine('skylake');
    put64(cpl3, DATA, VMXON_PA);
    cpl3.ring(3);
    expect(cpl3.exec(`vmxon [${DATA}]`)).toBe(Vector.GP);

    for (const fc of [0, 4, 1, 3]) {
      const m = new VmxMachine('skylake', { featureControl: fc });
      put64(m, DATA, VMXON_PA);
      expect(m.exec(`vmxon [${DATA}]`), `IA32_FEATURE_CONTROL ${fc}`).toBe(Vector.GP);
      expect(m.unit.inVmxOperation).toBe(false);
    }

    const noNe = new VmxMachine('skylake');
    put64(noNe, DATA, VMXON_PA);
    noNe.c.cr0 &= ~Cr0.NE;
    expect(noNe.exec(`vmxon [${DATA}]`)).toBe(Vector.GP);

    const noPg = new VmxMachine('skylake');
    put64(noPg, DATA, VMXON_PA);
    noPg.c.cr0 &= ~Cr0.PG; noPg.c.tlb.flushAll();
    expect(noPg.exec(`vmxon [${DATA}]`)).toBe(Vector.GP);

    const a20 = new VmxMachine('skylake');
    put64(a20, DATA, VMXON_PA);
    a20.mem.a20Mask = ~(1 << 20);
    expect(a20.exec(`vmxon [${DATA}]`)).toBe(Vector.GP);
  });

  it('faults on its memory operand (#PF beyond the mapped 16 MB)', () => {
    const m = new VmxMachine('skylake');
    expect(m.exec('vmxon [0x2000000]')).toBe(Vector.PF);
    expect(m.unit.inVmxOperation).toBe(false);
  });

  it('VMfailInvalid for a misaligned pointer, bits beyond 32, a wrong revision or the shadow-VMCS bit', () => {
    const cases: [string, (m: VmxMachine) => void][] = [
      ['misaligned', (m) => put64(m, DATA, VMXON_PA + 8)],
      ['bit 32 set', (m) => put64(m, DATA, VMXON_PA, 1)],
      ['revision', (m) => { put64(m, DATA, VMXON_PA); m.mem.write32(VMXON_PA, m.revision + 1); }],
      ['shadow bit', (m) => { put64(m, DATA, VMXON_PA); m.mem.write32(VMXON_PA, m.revision | 0x80000000); }],
    ];
    for (const [what, setup] of cases) {
      const m = new VmxMachine('skylake');
      setup(m);
      expect(m.exec(`${SET_ALL_FLAGS}vmxon [${DATA}]`), what).toBeNull();
      expect(m.arith(), what).toBe(FAIL_INVALID_FLAGS);
      expect(m.unit.inVmxOperation, what).toBe(false);
    }
  });

  it('in VMX root operation: VMfailInvalid without a current VMCS, VMfailValid(15) with one, #GP at CPL 3', () => {
    const m = new VmxMachine('skylake');
    put64(m, DATA, VMXON_PA);
    expect(m.exec(`vmxon [${DATA}]\n${SET_ALL_FLAGS}vmxon [${DATA}]`)).toBeNull();
    expect(m.arith()).toBe(FAIL_INVALID_FLAGS);
    put64(m, DATA + 8, VMCS_PA);
    expect(m.exec(`vmptrld [${DATA + 8}]\n${SET_ALL_FLAGS}vmxon [${DATA}]`)).toBeNull();
    expect(m.arith()).toBe(FAIL_VALID_FLAGS);
    expect(vmError(m)).toBe(15);
    m.ring(3);
    expect(m.exec(`vmxon [${DATA}]`)).toBe(Vector.GP);
  });
});

describe('VMXOFF', () => {
  it('#UD outside VMX operation, #GP(0) at CPL 3, VMsucceed otherwise', () => {
    const m = new VmxMachine('skylake');
    expect(m.exec('vmxoff')).toBe(Vector.UD);
    m.root().vmxon(VMXON_PA);
    m.ring(3);
    expect(m.exec('vmxoff')).toBe(Vector.GP);
    m.ring(0);
    expect(m.exec(`${SET_ALL_FLAGS}vmxoff`)).toBeNull();
    expect(m.arith()).toBe(SUCCEED_FLAGS);
    expect(m.unit.inVmxOperation).toBe(false);
    expect(m.exec(`vmptrst [${DATA}]`)).toBe(Vector.UD);
  });

  it('writes the current VMCS back to memory', () => {
    const m = new VmxMachine('skylake');
    const r = m.enterWithVmcs();
    r.vmwrite(VmcsField.GuestCr3, 0x12345000);
    expect(m.exec('vmxoff')).toBeNull();
    expect(m.mem.read32(VMCS_PA + VMCS_FIELDS_OFFSET + SLOT_OF[VmcsField.GuestCr3] * 8) >>> 0).toBe(0x12345000);
  });
});

describe('VMCLEAR', () => {
  it('#UD outside VMX operation and with a register operand, #GP(0) at CPL 3', () => {
    const m = new VmxMachine('skylake');
    put64(m, DATA, VMCS_PA);
    expect(m.exec(`vmclear [${DATA}]`)).toBe(Vector.UD);
    m.root().vmxon(VMXON_PA);
    // mod = 11B is another instruction (RDRAND AX with 66): #UD where there is no RDRAND.
    expect(m.exec('db 0x66, 0x0f, 0xc7, 0xf0 ; vmclear with mod=11b')).toBeNull();
    const w = new VmxMachine('sandy-bridge');
    w.root().vmxon(VMXON_PA);
    expect(w.exec('db 0x66, 0x0f, 0xc7, 0xf0 ; vmclear with mod=11b')).toBe(Vector.UD);
    m.ring(3);
    expect(m.exec(`vmclear [${DATA}]`)).toBe(Vector.GP);
  });

  it('error 2 (invalid address) and 3 (VMXON pointer): VMfailInvalid without a current VMCS, VMfailValid with one', () => {
    const m = new VmxMachine('skylake');
    m.root().vmxon(VMXON_PA);
    put64(m, DATA, VMCS_PA + 0x10);
    expect(m.exec(`${SET_ALL_FLAGS}vmclear [${DATA}]`)).toBeNull();
    expect(m.arith()).toBe(FAIL_INVALID_FLAGS);
    m.root().vmptrld(VMCS2_PA);
    expect(m.exec(`${SET_ALL_FLAGS}vmclear [${DATA}]`)).toBeNull();
    expect(m.arith()).toBe(FAIL_VALID_FLAGS);
    expect(vmError(m)).toBe(2);
    put64(m, DATA, VMCS_PA, 0x10);
    expect(m.exec(`vmclear [${DATA}]`)).toBeNull();
    expect(vmError(m)).toBe(2);
    put64(m, DATA, VMXON_PA);
    expect(m.exec(`${SET_ALL_FLAGS}vmclear [${DATA}]`)).toBeNull();
    expect(m.arith()).toBe(FAIL_VALID_FLAGS);
    expect(vmError(m)).toBe(3);
  });

  it('flushes the current VMCS, sets its launch state clear and leaves no current VMCS', () => {
    const m = new VmxMachine('skylake');
    const r = m.enterWithVmcs();
    m.mem.write32(VMCS_PA + VMCS_LAUNCH_STATE_OFFSET, LAUNCHED_MARK); // memory is stale while active
    r.vmwrite(VmcsField.GuestRip, 0xcafe);
    put64(m, DATA, VMCS_PA);
    expect(m.exec(`${SET_ALL_FLAGS}vmclear [${DATA}]`)).toBeNull();
    expect(m.arith()).toBe(SUCCEED_FLAGS);
    expect(m.mem.read32(VMCS_PA + VMCS_FIELDS_OFFSET + SLOT_OF[VmcsField.GuestRip] * 8)).toBe(0xcafe);
    expect(m.mem.read32(VMCS_PA + VMCS_LAUNCH_STATE_OFFSET)).toBe(0);
    expect(r.vmptrst().pointer).toBe(0xffffffffffffffffn);
  });

  it('clears the launch state of a VMCS that is not current, in memory', () => {
    const m = new VmxMachine('skylake');
    m.enterWithVmcs();
    m.mem.write32(VMCS2_PA + VMCS_LAUNCH_STATE_OFFSET, LAUNCHED_MARK);
    put64(m, DATA, VMCS2_PA);
    expect(m.exec(`vmclear [${DATA}]`)).toBeNull();
    expect(m.mem.read32(VMCS2_PA + VMCS_LAUNCH_STATE_OFFSET)).toBe(0);
    expect(m.root().vmptrst().pointer).toBe(BigInt(VMCS_PA)); // the current one is untouched
  });
});

describe('VMPTRLD and VMPTRST', () => {
  it('#UD outside VMX operation and with register operands, #GP(0) at CPL 3', () => {
    const m = new VmxMachine('skylake');
    expect(m.exec(`vmptrld [${DATA}]`)).toBe(Vector.UD);
    expect(m.exec(`vmptrst [${DATA}]`)).toBe(Vector.UD);
    m.root().vmxon(VMXON_PA);
    // mod = 11B: RDRAND / RDSEED on Skylake, #UD on a generation without them.
    expect(m.exec('db 0x0f, 0xc7, 0xf0 ; vmptrld with mod=11b (RDRAND)')).toBeNull();
    expect(m.exec('db 0x0f, 0xc7, 0xf8 ; vmptrst with mod=11b (RDSEED)')).toBeNull();
    const w = new VmxMachine('sandy-bridge');
    w.root().vmxon(VMXON_PA);
    expect(w.exec('db 0x0f, 0xc7, 0xf0 ; vmptrld with mod=11b (RDRAND)')).toBe(Vector.UD);
    expect(w.exec('db 0x0f, 0xc7, 0xf8 ; vmptrst with mod=11b (RDSEED)')).toBe(Vector.UD);
    m.ring(3);
    expect(m.exec(`vmptrld [${DATA}]`)).toBe(Vector.GP);
    expect(m.exec(`vmptrst [${DATA}]`)).toBe(Vector.GP);
  });

  it('VMPTRST stores FFFFFFFF_FFFFFFFF without a current VMCS, the pointer with one', () => {
    const m = new VmxMachine('skylake');
    m.root().vmxon(VMXON_PA);
    expect(m.exec(`${SET_ALL_FLAGS}vmptrst [${DATA}]`)).toBeNull();
    expect(m.arith()).toBe(SUCCEED_FLAGS);
    expect([m.mem.read32(DATA), m.mem.read32(DATA + 4)]).toEqual([-1, -1]);
    put64(m, DATA + 8, VMCS_PA);
    expect(m.exec(`vmptrld [${DATA + 8}]\nvmptrst [${DATA}]`)).toBeNull();
    expect([m.mem.read32(DATA), m.mem.read32(DATA + 4)]).toEqual([VMCS_PA, 0]);
  });

  it('errors 9 (invalid address), 10 (VMXON pointer), 11 (revision, shadow bit)', () => {
    const m = new VmxMachine('skylake');
    m.root().vmxon(VMXON_PA);
    put64(m, DATA, VMCS_PA + 4);
    expect(m.exec(`${SET_ALL_FLAGS}vmptrld [${DATA}]`)).toBeNull();
    expect(m.arith()).toBe(FAIL_INVALID_FLAGS); // VMfail without a current VMCS
    m.root().vmptrld(VMCS2_PA);
    const err = (lo: number, hi = 0): number => {
      put64(m, DATA, lo, hi);
      expect(m.exec(`${SET_ALL_FLAGS}vmptrld [${DATA}]`)).toBeNull();
      expect(m.arith()).toBe(FAIL_VALID_FLAGS);
      return vmError(m);
    };
    expect(err(VMCS_PA + 4)).toBe(9);
    expect(err(VMCS_PA, 2)).toBe(9);
    expect(err(VMXON_PA)).toBe(10);
    m.mem.write32(VMCS_PA, m.revision ^ 1);
    expect(err(VMCS_PA)).toBe(11);
    m.mem.write32(VMCS_PA, m.revision | 0x80000000);
    expect(err(VMCS_PA)).toBe(11);
    expect(m.root().vmptrst().pointer).toBe(BigInt(VMCS2_PA));
  });

  it('caches the current VMCS: another VMPTRLD writes it back and loads the next one from memory', () => {
    const m = new VmxMachine('skylake');
    const r = m.enterWithVmcs();
    r.vmwrite(VmcsField.GuestRsp, 0x1111);
    const slot = VMCS_PA + VMCS_FIELDS_OFFSET + SLOT_OF[VmcsField.GuestRsp] * 8;
    expect(m.mem.read32(slot)).not.toBe(0x1111); // not yet in memory
    m.mem.write32(VMCS2_PA + VMCS_FIELDS_OFFSET + SLOT_OF[VmcsField.GuestRsp] * 8, 0x2222);
    expect(r.vmptrld(VMCS2_PA).kind).toBe('succeed');
    expect(m.mem.read32(slot)).toBe(0x1111);
    expect(r.vmread(VmcsField.GuestRsp).value).toBe(0x2222);
  });
});

describe('VMCALL in VMX root operation', () => {
  it('#UD outside VMX operation, #GP(0) at CPL 3, VMfailInvalid without a VMCS, VMfailValid(1) with one', () => {
    const m = new VmxMachine('skylake');
    expect(m.exec('vmcall')).toBe(Vector.UD);
    m.root().vmxon(VMXON_PA);
    expect(m.exec(`${SET_ALL_FLAGS}vmcall`)).toBeNull();
    expect(m.arith()).toBe(FAIL_INVALID_FLAGS);
    m.root().vmptrld(VMCS_PA);
    expect(m.exec(`${SET_ALL_FLAGS}vmcall`)).toBeNull();
    expect(m.arith()).toBe(FAIL_VALID_FLAGS);
    expect(vmError(m)).toBe(1);
    m.ring(3);
    expect(m.exec('vmcall')).toBe(Vector.GP);
  });
});

describe('without VMX', () => {
  it('every VMX form raises #UD on prescott and on the default P6 model', () => {
    const forms = [
      'vmxon [0x200000]', 'vmclear [0x200000]', 'vmptrld [0x200000]', 'vmptrst [0x200000]', 'vmread eax, ebx',
      'vmwrite ebx, eax', 'vmlaunch', 'vmresume', 'vmxoff', 'vmcall', 'invept eax, [0x200000]', 'invvpid eax, [0x200000]',
    ];
    const m = new VmxMachine('prescott');
    expect(m.hasVmx).toBe(false);
    for (const f of forms) expect(m.exec(f), f).toBe(Vector.UD);
  });

  it('CR4.VMXE is reserved (#GP) without VMX and valid with it', () => {
    const p = new VmxMachine('prescott');
    expect(p.exec(`mov eax, cr4\nor eax, ${Cr4.VMXE}\nmov cr4, eax`)).toBe(Vector.GP);
    const s = new VmxMachine('merom', { vmxe: false });
    expect(s.exec(`mov eax, cr4\nor eax, ${Cr4.VMXE}\nmov cr4, eax`)).toBeNull();
    expect(s.c.cr4 & Cr4.VMXE).toBe(Cr4.VMXE);
  });
});

describe('CR0 and CR4 in VMX operation (SDM Vol. 3C §24.8)', () => {
  it('#GP(0) for clearing CR4.VMXE, CR0.PG, CR0.NE or CR0.PE; allowed again after VMXOFF', () => {
    const m = new VmxMachine('skylake');
    m.root().vmxon(VMXON_PA);
    expect(m.exec(`mov eax, cr4\nand eax, ~${Cr4.VMXE}\nmov cr4, eax`)).toBe(Vector.GP);
    expect(m.exec(`mov eax, cr0\nand eax, ~${Cr0.NE}\nmov cr0, eax`)).toBe(Vector.GP);
    expect(m.exec('mov eax, cr0\nand eax, 0x7fffffff\nmov cr0, eax')).toBe(Vector.GP);
    expect(m.exec('mov eax, cr0\nand eax, 0x7ffffffe\nmov cr0, eax')).toBe(Vector.GP);
    expect(m.exec('mov eax, cr0\nor eax, 8\nmov cr0, eax\nclts')).toBeNull(); // TS is not fixed
    m.root().vmxoff();
    expect(m.exec(`mov eax, cr4\nand eax, ~${Cr4.VMXE}\nmov cr4, eax`)).toBeNull();
    expect(m.c.cr4 & Cr4.VMXE).toBe(0);
  });
});

describe('RESET', () => {
  it('leaves VMX operation and unlocks IA32_FEATURE_CONTROL', () => {
    const m = new VmxMachine('skylake');
    m.enterWithVmcs();
    m.c.reset();
    expect(m.unit.inVmxOperation).toBe(false);
    expect(m.unit.vmcs.valid).toBe(false);
    expect(m.c.msrs.get(0x3a)).toBeUndefined(); // IA32_FEATURE_CONTROL back to 0, unlocked
  });
});
