import { describe, expect, it } from 'vitest';
import {
  CONTROLS, CONTROL_FIELDS, controlState, disallowedControls, presetControls, PRESET_LISTS,
} from '../../src/core/engine/controls-catalog';
import { CONTROL_PRESETS } from '../../src/core/engine/protocol';
import { checkSettings, defaultSettings } from '../../src/core/engine/settings';
import { ControlField, ProcBasedCtls, ProcBasedCtls2, PinBasedCtls } from '../../src/core/vmx/controls';
import { GENERATION_NAMES } from '../../src/core/vmx/generations';

const ctl = (field: ControlField, name: string) => CONTROLS.find((c) => c.field === field && c.name === name)!;

describe('exit-control catalogue', () => {
  it('lists every bit of every control enum once, each with a one-line explanation', () => {
    expect(CONTROL_FIELDS).toHaveLength(5);
    const procNames = Object.keys(ProcBasedCtls).filter((k) => Number.isNaN(Number(k)));
    expect(CONTROLS.filter((c) => c.field === ControlField.ProcBased).map((c) => c.name).sort()).toEqual(procNames.sort());
    for (const c of CONTROLS) {
      expect(c.description, c.name).toMatch(/^[A-Za-z].{10,}\.$/);
      expect(c.description).not.toContain('\n');
      expect((1 << c.bit) | 0).toBe(c.mask);
    }
    expect(ctl(ControlField.ProcBased, 'ActivateSecondaryControls').bit).toBe(31);
  });

  it('says why a control is unavailable on a generation', () => {
    expect(controlState(ctl(ControlField.ProcBased, 'HltExiting'), 'prescott')).toEqual({ availability: 'unavailable', reason: 'Prescott has no VMX' });
    expect(controlState(ctl(ControlField.ProcBased2, 'EnableEpt'), 'penryn')).toEqual({ availability: 'unavailable', reason: 'Penryn lacks Ept (from Nehalem)' });
    expect(controlState(ctl(ControlField.ProcBased2, 'EnableEpt'), 'merom').reason).toBe('Merom has no secondary controls');
    expect(controlState(ctl(ControlField.ProcBased, 'Cr3LoadExiting'), 'penryn').availability).toBe('required');
    expect(controlState(ctl(ControlField.ProcBased, 'Cr3LoadExiting'), 'skylake').availability).toBe('available');
    expect(controlState(ctl(ControlField.PinBased, 'ProcessPostedInterrupts'), 'skylake').reason).toBe('Skylake has PostedInterrupts; vmxlab does not model it yet');
    // Intel 64 is in every generation's CPUID (cpu-model.ts), so the IA-32e controls exist.
    expect(controlState(ctl(ControlField.ProcBased, 'Cr8LoadExiting'), 'skylake').availability).toBe('available');
    expect(controlState(ctl(ControlField.Entry, 'Ia32eModeGuest'), 'merom').availability).toBe('available');
    expect(controlState(ctl(ControlField.ProcBased2, 'UnrestrictedGuest'), 'nehalem').reason).toBe('Nehalem lacks UnrestrictedGuest (from Westmere)');
    expect(controlState(ctl(ControlField.ProcBased, 'HltExiting'), 'haswell')).toEqual({ availability: 'available', reason: '' });
  });

  it('builds presets the generation allows, KVM-style with and without EPT', () => {
    for (const g of GENERATION_NAMES) {
      for (const p of CONTROL_PRESETS) expect(disallowedControls(presetControls(p, g), g), `${p} on ${g}`).toEqual([]);
    }
    const sky = presetControls('kvm', 'skylake');
    expect(sky.proc & ProcBasedCtls.HltExiting).not.toBe(0);
    expect(sky.proc2 & ProcBasedCtls2.EnableEpt).not.toBe(0);
    expect(sky.proc & ProcBasedCtls.InvlpgExiting).toBe(0);
    expect(sky.proc & ProcBasedCtls.Cr3LoadExiting).toBe(0);
    expect(sky.proc & ProcBasedCtls.RdtscExiting).toBe(0);
    const pen = presetControls('kvm', 'penryn');
    expect(pen.proc & ProcBasedCtls.InvlpgExiting).not.toBe(0);
    expect(pen.proc2 & ProcBasedCtls2.EnableEpt).toBe(0);
    expect(presetControls('trap-all', 'skylake').proc & ProcBasedCtls.RdtscExiting).not.toBe(0);
    expect(presetControls('minimal', 'skylake').proc & ProcBasedCtls.HltExiting).toBe(0);
    expect(presetControls('minimal', 'skylake').pin & PinBasedCtls.ExternalInterruptExiting).not.toBe(0);
    expect(presetControls('kvm', 'prescott')).toEqual({ preset: 'kvm', pin: 0, proc: 0, proc2: 0, exit: 0, entry: 0, ...PRESET_LISTS.kvm });
    // The presets' lists: KVM's pass-through MSRs and exception bitmap; trap everything: every
    // vector; minimal: empty bitmaps, no exception exits.
    expect(sky).toMatchObject({ ioPorts: [], msrMode: 'pass', msrs: [{ first: 0x174, last: 0x176 }], exceptionBitmap: (1 << 1) | (1 << 6) | (1 << 17) | (1 << 18) });
    expect(presetControls('trap-all', 'skylake')).toMatchObject({ exceptionBitmap: 0xffffffff, msrMode: 'exit', msrs: [] });
    expect(presetControls('minimal', 'skylake')).toMatchObject({ exceptionBitmap: 0, msrMode: 'exit', msrs: [], ioPorts: [] });
    expect(sky.proc).toBeGreaterThan(0); // unsigned
  });

  it('checks settings as untrusted input', () => {
    const s = defaultSettings();
    expect(checkSettings(structuredClone(s))).toEqual(s);
    expect(() => checkSettings({ ...s, generation: 'pentium' })).toThrow(/^settings\.generation: one of prescott/);
    expect(() => checkSettings({ ...s, memoryMiB: 1 })).toThrow('settings.memoryMiB');
    expect(() => checkSettings({ ...s, exitControls: { ...s.exitControls, pin: 'x' } })).toThrow('settings.exitControls.pin');
    expect(() => checkSettings(null)).toThrow('settings: expected an object');
  });
});
