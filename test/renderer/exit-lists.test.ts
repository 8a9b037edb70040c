// The exit-control panel's lists: I/O ports, MSRs and exception vectors chosen in the panel land
// in the settings the engine gets and map onto the VMM's ExitControls exactly as the CLI's
// `--exits` text does; a bad list is refused with the parser's message and changes nothing.
import { beforeEach, describe, expect, it } from 'vitest';
import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { hostedExitControls } from '../../src/core/engine/hosted-mode';
import { checkSettings } from '../../src/core/engine/settings';
import { generationCaps } from '../../src/core/engine/controls-catalog';
import { kvmDefaults, parseExits } from '../../src/core/vmm/exit-controls';
import { ProcBasedCtls } from '../../src/core/vmx/controls';
import { setPlatform } from '../../src/renderer/src/platform';
import ExitControls from '../../src/renderer/src/components/ExitControls.vue';
import { useMachineStore } from '../../src/renderer/src/stores/machine';
import { FakePlatform } from './support';

let p: FakePlatform;
let pinia: ReturnType<typeof createPinia>;
beforeEach(() => {
  pinia = createPinia();
  setActivePinia(pinia);
  p = new FakePlatform();
  setPlatform(p);
});
const opts = () => ({ global: { plugins: [pinia] } });

describe('exit-control lists', () => {
  it('I/O ports: a typed list and presets switch to I/O bitmaps and give the VMM what --exits io=bitmap:... gives', async () => {
    const m = useMachineStore();
    const w = mount(ExitControls, opts());
    expect(w.find('[data-test="io-mode"]').text()).toBe('every port'); // KVM: unconditional I/O exiting
    await w.find('[data-test="io-ports"]').setValue('0x3f8-0x3ff; 96');
    await w.find('[data-test="io-ports"]').trigger('keydown.enter');
    await w.find('[data-test="io-list"] form').trigger('submit');
    const ec = m.settings.exitControls;
    expect(ec.ioPorts).toEqual([{ first: 0x3f8, last: 0x3ff }, { first: 0x60, last: 0x60 }]);
    expect(ec.proc & ProcBasedCtls.UseIoBitmaps).not.toBe(0);
    expect(ec.proc & ProcBasedCtls.UnconditionalIoExiting).toBe(0);
    expect(ec.preset).toBe('custom');
    expect((w.find('[data-test="io-ports"]').element as HTMLInputElement).value).toBe('0x3f8-0x3ff, 0x60');
    expect(w.find('[data-test="io-mode"]').text()).toBe('I/O bitmaps');
    const base = kvmDefaults(generationCaps('skylake')!);
    expect(hostedExitControls(ec)).toEqual(parseExits('io=bitmap:0x3f8-0x3ff,0x60', base));
    // A preset adds its ports; the engine accepts the settings.
    await w.find('[data-test="io-preset-PIT"]').trigger('click');
    expect(m.settings.exitControls.ioPorts).toEqual([{ first: 0x3f8, last: 0x3ff }, { first: 0x60, last: 0x60 }, { first: 0x40, last: 0x43 }]);
    expect(checkSettings(m.settings).exitControls.ioPorts).toHaveLength(3);
    expect(p.saved?.machine.exitControls.ioPorts).toHaveLength(3);
  });

  it('refuses a bad port list with a clear message and keeps the last good one', async () => {
    const m = useMachineStore();
    const w = mount(ExitControls, opts());
    const before = m.settings.exitControls;
    for (const [text, msg] of [['0x3ff-0x3f8', "I/O ports: range '0x3ff-0x3f8' is empty or above 0xffff"], ['0x10000', 'above 0xffff'], ['com1', "I/O ports: 'com1' is not a number"]] as const) {
      await w.find('[data-test="io-ports"]').setValue(text);
      await w.find('[data-test="io-list"] form').trigger('submit');
      expect(w.find('[data-test="io-error"]').text()).toContain(msg);
      expect(w.find('[data-test="io-ports"]').classes()).toContain('bad');
      expect(m.settings.exitControls).toBe(before);
    }
    await w.find('[data-test="io-ports"]').setValue('0x3f8');
    await w.find('[data-test="io-list"] form').trigger('submit');
    expect(w.find('[data-test="io-error"]').exists()).toBe(false);
  });

  it('MSRs: the list and its meaning map onto MSR bitmaps; exceptions toggle bits of the exception bitmap', async () => {
    const m = useMachineStore();
    const w = mount(ExitControls, opts());
    expect((w.find('[data-test="msr-list-text"]').element as HTMLInputElement).value).toBe('0x174-0x176'); // KVM's pass-through
    await w.find('[data-test="msr-list-text"]').setValue('0x10, 0xc0000080');
    await w.find('[data-test="msr-list"] form').trigger('submit');
    await w.find('[data-test="msr-mode"]').setValue('exit');
    const base = kvmDefaults(generationCaps('skylake')!);
    expect(hostedExitControls(m.settings.exitControls).msr).toEqual(parseExits('msr=bitmap:0x10,0xc0000080', base).msr);
    await w.find('[data-test="msr-list-text"]').setValue('0x1_0000_0000');
    await w.find('[data-test="msr-list"] form').trigger('submit');
    expect(w.find('[data-test="msr-error"]').text()).toContain("MSRs: '0x1_0000_0000' is not a number");

    expect(m.settings.exitControls.exceptionBitmap).toBe(base.exceptionBitmap);
    expect(w.find('[data-test="exc-6"]').attributes('aria-pressed')).toBe('true'); // #UD in KVM's set
    await w.find('[data-test="exc-13"]').trigger('click');
    await w.find('[data-test="exc-6"]').trigger('click');
    expect(m.settings.exitControls.exceptionBitmap).toBe((base.exceptionBitmap | (1 << 13)) & ~(1 << 6));
    expect(hostedExitControls(m.settings.exitControls).exceptionBitmap).toBe(parseExits('exceptions=1+13+17+18', base).exceptionBitmap);
    expect(w.find('[data-test="exc-bitmap"]').text()).toBe('0x00062002');
    await w.find('[data-test="exc-none"]').trigger('click');
    expect(m.settings.exitControls.exceptionBitmap).toBe(0);
    // A preset brings its lists back, and the text shows them.
    await w.find('[data-test="preset-kvm"]').trigger('click');
    await flushPromises();
    expect(hostedExitControls(m.settings.exitControls)).toEqual(base);
    expect((w.find('[data-test="msr-list-text"]').element as HTMLInputElement).value).toBe('0x174-0x176');
    expect(w.find('[data-test="msr-error"]').exists()).toBe(false);
  });

  it('keeps custom lists across a generation change and fills lists into settings saved without them', async () => {
    const m = useMachineStore();
    m.setIoPorts([{ first: 0x60, last: 0x64 }]);
    m.setGeneration('haswell');
    expect(m.settings.exitControls.ioPorts).toEqual([{ first: 0x60, last: 0x64 }]);
    expect(m.settings.exitControls.preset).toBe('custom');
    // What the store hands the platform crosses a structured clone (postMessage, IPC).
    expect(() => structuredClone(p.saved)).not.toThrow();
    const old = structuredClone(p.saved!.machine) as unknown as Record<string, unknown>;
    const ec = old['exitControls'] as Record<string, unknown>;
    delete ec['ioPorts']; delete ec['msrs']; delete ec['msrMode']; delete ec['exceptionBitmap'];
    p.stored = { machine: old as never, theme: 'dark', guest: null };
    await m.init();
    expect(m.settings.exitControls.msrs).toEqual([{ first: 0x174, last: 0x176 }]);
    expect(() => checkSettings(m.settings)).not.toThrow();
    expect(() => checkSettings({ ...m.settings, exitControls: { ...m.settings.exitControls, ioPorts: [{ first: 5, last: 2 }] } }))
      .toThrow('settings.exitControls.ioPorts[0]: a range { first, last } with 0 <= first <= last <= 0xffff');
    expect(() => checkSettings({ ...m.settings, exitControls: { ...m.settings.exitControls, msrMode: 'some' } })).toThrow('settings.exitControls.msrMode: one of exit, pass');
  });
});
