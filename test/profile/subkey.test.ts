// Sub-keys decoded from exit information laid out as the SDM defines it.
import { describe, expect, it } from 'vitest';
import { ExitEvent } from '../../src/core/profile/exit-event';
import { CrAccessType, InterruptionType, upperSnake } from '../../src/core/profile/exit-qualification';
import { DECODER_BY_REASON, SUBKEY_DECODERS, subkeyOf } from '../../src/core/profile/subkey';
import { ExitReason } from '../../src/core/vmx/exit-reasons';
import { cpuid, crAccess, eptViolation, exception, io, msr } from './support';

const dec = (r: ExitReason) => SUBKEY_DECODERS.get(r)!;
const ev = new ExitEvent();

describe('I/O instruction sub-key (Table 28-5 "Exit Qualification for I/O Instructions")', () => {
  it('decodes port, direction, size, string and REP; ignores the operand encoding', () => {
    const k = subkeyOf(io(ev, 0x3f8, 'out', 1));
    expect(dec(ExitReason.IoInstruction).fields(k, ExitReason.IoInstruction)).toEqual({ port: 0x3f8, direction: 'out', size: 1, string: false, rep: false });
    expect(dec(ExitReason.IoInstruction).label(k, ExitReason.IoInstruction)).toBe('0x3f8:POUT');
    const k2 = subkeyOf(io(ev, 0x1f0, 'in', 2, { string: true, rep: true }));
    expect(dec(ExitReason.IoInstruction).fields(k2, ExitReason.IoInstruction)).toEqual({ port: 0x1f0, direction: 'in', size: 2, string: true, rep: true });
    expect(dec(ExitReason.IoInstruction).label(k2, ExitReason.IoInstruction)).toBe('0x1f0:PIN');
    // `in al, 0x60` and `in al, dx` with DX = 0x60 are the same key (bit 6 is not part of it).
    expect(subkeyOf(io(ev, 0x60, 'in', 1, { imm: true }))).toBe(subkeyOf(io(ev, 0x60, 'in', 1)));
    // The top port keeps its bits (bit 31 of the qualification set).
    expect(dec(ExitReason.IoInstruction).fields(subkeyOf(io(ev, 0xffff, 'in', 4)), 30).port).toBe(0xffff);
  });
});

describe('other sub-keys', () => {
  it('MSR: the number from guest ECX, read or write from the reason', () => {
    const k = subkeyOf(msr(ev, false, 0xc0000080));
    expect(k).toBe(0xc0000080);
    expect(dec(ExitReason.Rdmsr).fields(k, ExitReason.Rdmsr)).toEqual({ msr: 0xc0000080, access: 'read' });
    expect(dec(ExitReason.Wrmsr).label(subkeyOf(msr(ev, true, 0x6e0)), ExitReason.Wrmsr)).toBe('0x6e0:W');
  });

  it('CR access: CR [3:0] and access type [5:4]; the GPR [11:8] is not part of the key', () => {
    const k = subkeyOf(crAccess(ev, 3, CrAccessType.MovToCr, 2));
    expect(k).toBe(subkeyOf(crAccess(ev, 3, CrAccessType.MovToCr, 7)));
    expect(dec(ExitReason.CrAccess).fields(k, 28)).toEqual({ cr: 3, access: 'MovToCr' });
    expect(dec(ExitReason.CrAccess).label(subkeyOf(crAccess(ev, 0, CrAccessType.Lmsw, 0)), 28)).toBe('CR0:Lmsw');
    expect(dec(ExitReason.CrAccess).fields(subkeyOf(crAccess(ev, 4, CrAccessType.MovFromCr, 0)), 28)).toEqual({ cr: 4, access: 'MovFromCr' });
  });

  it('exception or NMI: vector [7:0] and type [10:8] of the interruption information', () => {
    const k = subkeyOf(exception(ev, 14, InterruptionType.HardwareException, { errorCode: 2 }));
    expect(dec(ExitReason.ExceptionOrNmi).fields(k, 0)).toEqual({ vector: 14, vectorName: '#PF', type: 'HardwareException' });
    expect(dec(ExitReason.ExceptionOrNmi).label(k, 0)).toBe('#PF');
    const bp = subkeyOf(exception(ev, 3, InterruptionType.SoftwareException));
    expect(dec(ExitReason.ExceptionOrNmi).label(bp, 0)).toBe('#BP:SoftwareException');
    // The error-code-valid and valid bits are not part of the key.
    expect(k).toBe(subkeyOf(exception(ev, 14, InterruptionType.HardwareException)));
  });

  it('EPT violation: GPA page, access bits and whether a device handled it', () => {
    const k = subkeyOf(eptViolation(ev, 0xfee000b0, 2, { device: 'lapic' }));
    expect(dec(ExitReason.EptViolation).fields(k, 48)).toEqual({ gpa: 0xfee00000, read: false, write: true, fetch: false, mmio: true });
    expect(dec(ExitReason.EptViolation).label(k, 48)).toBe('0xfee00000:W');
    const ram = subkeyOf(eptViolation(ev, 0x123456, 1 | 4));
    expect(dec(ExitReason.EptViolation).fields(ram, 48)).toEqual({ gpa: 0x123000, read: true, write: false, fetch: true, mmio: false });
    // Above 4 GB (PAE/EPT addresses are wider than 32 bits).
    expect(dec(ExitReason.EptViolation).fields(subkeyOf(eptViolation(ev, 0x1_2345_6789, 1)), 48).gpa).toBe(0x1_2345_6000);
  });

  it('CPUID: the leaf from guest EAX', () => {
    expect(dec(ExitReason.Cpuid).label(subkeyOf(cpuid(ev, 0x80000001)), 10)).toBe('leaf 0x80000001');
  });

  it('reasons without a decoder have no sub-key (-1), and HLT is one of them', () => {
    ev.reset();
    ev.reason = ExitReason.Hlt;
    expect(subkeyOf(ev)).toBe(-1);
    expect(DECODER_BY_REASON[ExitReason.Hlt]).toBeUndefined();
    // Reason 0 has a decoder: table lookups, not truthiness.
    expect(DECODER_BY_REASON[ExitReason.ExceptionOrNmi]).toBe(SUBKEY_DECODERS.get(ExitReason.ExceptionOrNmi));
  });

  it('every decoder turns keys back into fields without throwing', () => {
    for (const [r, d] of SUBKEY_DECODERS) {
      ev.reset();
      ev.reason = r;
      ev.qualification = 0xffffffff; ev.exitInterruptionInfo = -1; ev.ecx = -1; ev.eax = -1; ev.instructionInfo = -1;
      ev.guestPhysical = 0xfffff000;
      const k = subkeyOf(ev);
      expect(d).toBe(DECODER_BY_REASON[r]);
      expect(Number.isSafeInteger(k) && k >= 0, `${r}`).toBe(true);
      expect(typeof d.label(k, r)).toBe('string');
      expect(Object.keys(d.fields(k, r)).length).toBeGreaterThan(0);
    }
  });

  it('labels come from enum names (upper snake as perf prints them)', () => {
    expect(upperSnake('IoInstruction')).toBe('IO_INSTRUCTION');
    expect(upperSnake('EptViolation')).toBe('EPT_VIOLATION');
    expect(upperSnake('ExceptionOrNmi')).toBe('EXCEPTION_OR_NMI');
  });
});
