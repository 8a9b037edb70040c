import { beforeEach, describe, expect, it, vi } from 'vitest';
import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import type { ScreenSnapshot, VmcsSnapshot } from '../../src/core/engine/protocol';
import { ProcBasedCtls } from '../../src/core/vmx/controls';
import { setPlatform } from '../../src/renderer/src/platform';
import ExitTable from '../../src/renderer/src/components/ExitTable.vue';
import ExitControls from '../../src/renderer/src/components/ExitControls.vue';
import VgaScreen from '../../src/renderer/src/components/VgaScreen.vue';
import SerialTerminal from '../../src/renderer/src/components/SerialTerminal.vue';
import VmcsView from '../../src/renderer/src/components/VmcsView.vue';
import CompareView from '../../src/renderer/src/components/CompareView.vue';
import ExitsView from '../../src/renderer/src/components/ExitsView.vue';
import { useExitStore } from '../../src/renderer/src/stores/exits';
import { useMachineStore } from '../../src/renderer/src/stores/machine';
import { FakePlatform, FakeTerminal, sampleProfile, sampleRecorder, sampleSnapshot, stats } from './support';

vi.mock('@xterm/xterm', async () => ({ Terminal: (await import('./support')).FakeTerminal }));

let p: FakePlatform;
let pinia: ReturnType<typeof createPinia>;
beforeEach(() => {
  pinia = createPinia();
  setActivePinia(pinia);
  p = new FakePlatform();
  setPlatform(p);
});
const opts = () => ({ global: { plugins: [pinia] } });

describe('exit table', () => {
  it('shows an explicit empty state without exits', () => {
    const w = mount(ExitTable, opts());
    expect(w.find('[data-test="exits-empty"]').text()).toContain('No VM exits: this guest runs in bare mode');
  });

  it('lists reasons with count, %, rate, cycles; sorts on a header; expands into sub-keys and RIPs', async () => {
    useExitStore().ingest(stats(sampleSnapshot(), { virtualNs: 1e9 }));
    const w = mount(ExitTable, opts());
    const names = () => w.findAll('tr.reason .rname').map((e) => e.text());
    expect(names()).toEqual(['IoInstruction', 'Hlt', 'Cpuid']);
    const io = w.find('[data-test="row-30"]').findAll('td').map((td) => td.text());
    expect(io.slice(1, 4)).toEqual(['8', '66.7%', '8']);
    await w.find('[data-test="sort-name"]').trigger('click');
    expect(names()).toEqual(['Cpuid', 'Hlt', 'IoInstruction']);
    expect(w.find('[data-test="sort-name"]').attributes('aria-sort')).toBe('ascending');
    await w.find('[data-test="row-30"]').trigger('click');
    expect(w.findAll('[data-test="subkey"]').map((r) => r.find('td').text())).toEqual(['key 0x3f8:POUT 1 byte', 'key 0x80:POUT 1 byte, string']);
    expect(w.findAll('[data-test="rip"]').map((r) => r.find('td').text())).toEqual(['rip 0x00007C1E']);
  });
});

describe('exits view', () => {
  it('has the summary, the filter and vCPU filter, exports, and the three charts (empty state without exits)', async () => {
    const w = mount(ExitsView, opts());
    expect(w.find('[data-test="exit-total"]').text()).toBe('0');
    for (const c of ['chart-rate', 'chart-cost', 'chart-overhead']) expect(w.find(`[data-test="${c}"]`).exists()).toBe(true);
    expect(w.find('[data-test="chart-empty"]').text()).toContain('bare mode');
    expect(w.find('[data-test="export-csv"]').attributes('disabled')).toBeDefined();
    useExitStore().ingest(stats(sampleSnapshot()));
    await flushPromises();
    expect(w.find('[data-test="exit-total"]').text()).toBe('12');
    await w.find('[data-test="vcpu-filter"]').setValue('1');
    expect(p.sent.at(-1)).toEqual({ type: 'statsScope', vcpu: 1 });
    expect(w.find('[data-test="exits-paging"]').exists()).toBe(false); // bare mode: no paging figures
    const shadow = { shadowPages: 9, peakShadowPages: 12, faultsFixed: 817, faultsInjected: 3, writeProtectFaults: 64, mmioFaults: 0, evictions: 0, rootsCached: 3, rootHits: 65, rootMisses: 3 };
    useMachineStore().onEvent({ type: 'stats', stats: stats(sampleSnapshot(), { paging: { mode: 'shadow', shadow, emulation: { instructions: 168, batches: 1 } } }) });
    await flushPromises();
    expect(w.find('[data-test="exits-paging"] .v').text()).toBe('shadow · 9 pages (peak 12) · 817 faults fixed, 3 injected');
    useMachineStore().onEvent({ type: 'stats', stats: stats(sampleSnapshot(), { paging: { mode: 'ept', shadow: null, emulation: null } }) });
    await flushPromises();
    expect(w.find('[data-test="exits-paging"] .v').text()).toBe('EPT');
    w.unmount();
  });
});

describe('exit-control panel', () => {
  it('lists controls with explanations; unavailable ones disabled with the reason; presets', async () => {
    const m = useMachineStore();
    const w = mount(ExitControls, opts());
    expect(w.find('[data-test="hosted-note"]').text()).toBe('applied by the VMM');
    const hlt = w.find('[data-test="ctl-HltExiting"]');
    expect(hlt.find('[data-test="vmm-owned"]').exists()).toBe(false); // the VMM honours HLT exiting
    expect(w.find('[data-test="ctl-MovDrExiting"] [data-test="vmm-owned"]').text()).toBe('set by the VMM');
    m.setMode('bare');
    await flushPromises();
    expect(w.find('[data-test="hosted-note"]').text()).toBe('takes effect in hosted mode');
    expect(w.find('[data-test="vmm-owned"]').exists()).toBe(false);
    expect(hlt.text()).toContain('HLT exits to the VMM.');
    expect((hlt.find('input').element as HTMLInputElement).checked).toBe(true);
    await hlt.find('input').setValue(false);
    expect(m.settings.exitControls.proc & ProcBasedCtls.HltExiting).toBe(0);
    expect(m.settings.exitControls.preset).toBe('custom');
    await w.find('[data-test="preset-trap-all"]').trigger('click');
    expect(m.settings.exitControls.preset).toBe('trap-all');
    // Penryn: secondary controls exist but EPT does not; shown when asked, disabled with the reason.
    m.setGeneration('penryn');
    await flushPromises();
    // CR8-load exiting exists with Intel 64 (reported by default since session 5).
    expect(w.find('[data-test="ctl-Cr8LoadExiting"]').exists()).toBe(true);
    await w.findAll('.ghead')[2]!.trigger('click'); // open the secondary controls
    expect(w.find('[data-test="ctl-EnableEpt"]').exists()).toBe(false);
    await w.find('.showall input').setValue(true);
    const ept = w.find('[data-test="ctl-EnableEpt"]');
    expect((ept.find('input').element as HTMLInputElement).disabled).toBe(true);
    expect(ept.find('.reason').text()).toBe('Penryn lacks Ept (from Nehalem)');
    m.setGeneration('prescott');
    await flushPromises();
    expect(w.text()).toContain('Prescott has no VMX');
  });
});

describe('guest screen', () => {
  function screen(text: string, attr = 0x1e): ScreenSnapshot {
    const cols = 80, rows = 25;
    const chars = new Uint8Array(cols * rows).fill(0x20), attrs = new Uint8Array(cols * rows).fill(0x07);
    for (let i = 0; i < text.length; i++) { chars[i] = text.charCodeAt(i); attrs[i] = attr; }
    const palette = new Uint32Array(16);
    palette[1] = 0x0000aa; palette[7] = 0xaaaaaa; palette[14] = 0xffff55;
    return { cols, rows, chars, attrs, palette, blink: true, cursor: { row: 1, col: 0, visible: true }, textMode: true };
  }

  it('draws the VGA text buffer with attribute colours and sends keys to the guest', async () => {
    const m = useMachineStore();
    await m.init();
    p.emit({ type: 'state', state: 'running', stop: null });
    p.emit({ type: 'screen', screen: screen('HELLO') });
    const w = mount(VgaScreen, opts());
    const first = w.find('.line span');
    expect(first.text()).toBe('HELLO');
    expect(first.attributes('style')).toContain('color: #ffff55');
    expect(first.attributes('style')).toContain('background: #0000aa');
    expect(w.findAll('.line')).toHaveLength(25);
    expect(w.find('.cursor').exists()).toBe(true);
    await w.find('[data-test="vga"]').trigger('keydown', { code: 'KeyQ' });
    await w.find('[data-test="vga"]').trigger('keyup', { code: 'KeyQ' });
    expect(p.sent).toEqual([{ type: 'key', code: 'KeyQ', down: true }, { type: 'key', code: 'KeyQ', down: false }]);
  });

  it('writes serial output to the terminal and sends typed text to COM1', async () => {
    const m = useMachineStore();
    await m.init();
    p.emit({ type: 'state', state: 'running', stop: null });
    p.emit({ type: 'serial', port: 'com1', text: 'before mount\n' });
    const w = mount(SerialTerminal, opts());
    const t = FakeTerminal.last!;
    expect(t.options['convertEol']).toBe(true);
    expect(t.written).toBe('before mount\n');
    p.emit({ type: 'serial', port: 'com1', text: 'REALMODE DONE\n' });
    expect(t.written).toBe('before mount\nREALMODE DONE\n');
    t.type('dir\r');
    expect(p.sent).toEqual([{ type: 'serialInput', data: 'dir\r' }]);
    w.unmount();
    expect(t.disposed).toBe(true);
  });
});

describe('VMCS inspector', () => {
  it('asks the engine for the VMCS and shows fields by SDM name, decoded controls and changes', async () => {
    const m = useMachineStore();
    await m.init();
    p.emit({ type: 'state', state: 'paused', stop: null });
    const snap: VmcsSnapshot = {
      vcpu: 0, address: 0x101000, launched: true, exitsTracked: 2,
      fields: [
        { encoding: 0x4002, name: 'ProcBasedControls', group: 'control', width: 32, lo: (ProcBasedCtls.HltExiting | ProcBasedCtls.UseMsrBitmaps) >>> 0, hi: 0, changed: false },
        { encoding: 0x681e, name: 'GuestRip', group: 'guest', width: 0, lo: 0x9106, hi: 0, changed: true },
        { encoding: 0x2800, name: 'VmcsLinkPointer', group: 'guest', width: 64, lo: 0xffffffff, hi: 0xffffffff, changed: false },
      ],
    };
    p.answers.vmcs = snap;
    const w = mount(VmcsView, opts());
    await flushPromises();
    expect(p.sent[0]).toEqual({ type: 'trackVmcs', on: true });
    expect(p.requests).toContainEqual({ kind: 'vmcs', vcpu: 0 });
    const rows = w.findAll('[data-test="vmcs-field"]');
    expect(rows.map((r) => r.find('td').text())).toEqual(['ProcBasedControls', 'GuestRip', 'VmcsLinkPointer']);
    expect(rows[0]!.findAll('.chip').map((c) => c.text())).toEqual(['HltExiting', 'UseMsrBitmaps']);
    expect(rows[1]!.classes()).toContain('changed');
    expect(rows[2]!.text()).toContain('0xFFFFFFFF_FFFFFFFF');
    p.answers.vmcs = null;
    await w.find('[data-test="vmcs-refresh"]').trigger('click');
    await flushPromises();
    expect(w.find('[data-test="vmcs-empty"]').text()).toContain('has no current VMCS');
    w.unmount();
    expect(p.sent.at(-1)).toEqual({ type: 'trackVmcs', on: false });
  });
});

describe('compare view', () => {
  it('shows the difference table of a pinned run against the current one', async () => {
    const w = mount(CompareView, opts());
    expect(w.find('[data-test="compare-empty"]').exists()).toBe(true);
    p.answers.profile = sampleProfile(sampleRecorder('haswell', 3));
    await w.find('[data-test="pin"]').trigger('click');
    await flushPromises();
    p.answers.profile = sampleProfile(sampleRecorder('haswell', 0));
    await w.find('[data-test="compare-refresh"]').trigger('click');
    await flushPromises();
    const hlt = w.findAll('[data-test="compare-row"]').find((r) => r.find('td').text() === 'Hlt')!;
    expect(hlt.findAll('td').map((t) => t.text()).slice(1, 4)).toEqual(['3', '0', '−3']);
    // No paging section in these (bare-mode) profiles: modes not recorded, no shadow figures.
    expect(w.find('[data-test="paging-modes"]').text()).toBe('A: not recorded · B: not recorded');
    expect(w.find('[data-test="paging-row"][data-key="shadowPages"]').findAll('td').map((t) => t.text())).toEqual(['shadow pages (end)', '–', '–', '–']);
    expect(w.find('canvas[data-test="compare-chart"]').exists()).toBe(true);
  });

  it('loads a saved profile as A and shows the paging figures of EPT against shadow paging', async () => {
    const w = mount(CompareView, opts());
    const base = sampleProfile(sampleRecorder('haswell', 3));
    const ept = { ...base, paging: { mode: 'ept', shadow: null, emulation: null } };
    const shadow = {
      ...base, paging: {
        mode: 'shadow', emulation: { instructions: 168, batches: 1 },
        shadow: { shadowPages: 9, peakShadowPages: 11, faultsFixed: 800, faultsInjected: 17, writeProtectFaults: 64, mmioFaults: 0, evictions: 0, rootsCached: 3, rootHits: 65, rootMisses: 3 },
      },
    };
    const { useCompareStore } = await import('../../src/renderer/src/stores/compare');
    useCompareStore().pinText('{ not json', 'bad.json');
    await flushPromises();
    expect(w.find('[data-test="compare-error"]').text()).toContain('bad.json: not JSON');
    useCompareStore().pinText(JSON.stringify(ept), 'haswell.json');
    p.answers.profile = shadow as typeof base;
    await w.find('[data-test="compare-refresh"]').trigger('click');
    await flushPromises();
    expect(w.find('[data-test="label-a"]').text()).toContain('haswell.json · vmx-exits.img · haswell');
    expect(w.find('[data-test="paging-modes"]').text()).toBe('A: EPT · B: shadow paging');
    const row = (k: string): string[] => w.find(`[data-test="paging-row"][data-key="${k}"]`).findAll('td').map((t) => t.text()).slice(1);
    expect(row('shadowPages')).toEqual(['0', '9', '+9']);
    expect(row('peakShadowPages')).toEqual(['0', '11', '+11']);
    expect(row('faultsFixed')).toEqual(['0', '800', '+800']);
    expect(row('faultsInjected')).toEqual(['0', '17', '+17']);
    expect(row('cr3LoadExits')).toEqual(['0', '0', '0']);
  });
});
