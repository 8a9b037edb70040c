// The VMCS inspector's EPT walk page: the address is parsed in the view (hex, 32 bits, a clear
// message otherwise), sent as an 'addressWalk' request, and the engine's answer (computed here by
// the real engine on hosted pit-idle, so the view is tested on what the engine really sends) is
// shown level by level with the outcome of each access kind.
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import type { AddressWalk } from '../../src/core/engine/protocol';
import { setPlatform } from '../../src/renderer/src/platform';
import VmcsView from '../../src/renderer/src/components/VmcsView.vue';
import { parseAddress } from '../../src/renderer/src/address';
import { guestBytes } from '../../src/renderer/src/guests';
import { useMachineStore } from '../../src/renderer/src/stores/machine';
import { addressWalk } from '../../src/core/engine/address-walk';
import { buildMachine } from '../../src/core/engine/machine-factory';
import { defaultSettings } from '../../src/core/engine/settings';
import { installEptFixture } from '../engine/ept-fixture';
import { FakePlatform } from './support';

/** Answers computed by the engine's own walk (engine/address-walk.ts) on a bare machine with the
 *  hand-built EPT of test/engine/ept-fixture.ts (RAM identity, ROM R-X, VGA without entries). */
const walks = new Map<string, AddressWalk | null>();
beforeAll(() => {
  const bytes = guestBytes('pit-idle');
  const { machine } = buildMachine({ name: 'pit.img', bytes }, { ...defaultSettings('skylake'), mode: 'bare', memoryMiB: 16 });
  installEptFixture(machine);
  for (const [space, address] of [['guest-physical', 0x7c00], ['guest-physical', 0xb8000], ['guest-physical', 0xffff0], ['guest-linear', 0x7c00]] as const) {
    walks.set(`${space}:${address}`, addressWalk(machine.cpus[0]!, machine.mem, 0, address, space));
  }
});

let p: FakePlatform;
let pinia: ReturnType<typeof createPinia>;
beforeEach(() => {
  pinia = createPinia();
  setActivePinia(pinia);
  p = new FakePlatform();
  setPlatform(p);
});

async function walkView(): Promise<ReturnType<typeof mount>> {
  const m = useMachineStore();
  await m.init();
  p.emit({ type: 'state', state: 'paused', stop: null });
  const w = mount(VmcsView, { global: { plugins: [pinia] } });
  await w.find('[data-test="vmcs-page-walk"]').trigger('click');
  return w;
}

describe('address parsing', () => {
  it('takes hex with or without 0x and separators; refuses the rest with a message', () => {
    expect(parseAddress('0xB8000')).toBe(0xb8000);
    expect(parseAddress('b8000')).toBe(0xb8000);
    expect(parseAddress(' 0x000B_8000 ')).toBe(0xb8000);
    expect(parseAddress('0xFFFFFFFF')).toBe(0xffffffff);
    expect(parseAddress('')).toMatch(/Enter an address/);
    expect(parseAddress('0x1_0000_0000')).toMatch(/above 0xFFFFFFFF/);
    expect(parseAddress('12g4')).toMatch(/'12g4' is not a hex address/);
  });
});

describe('EPT walk view', () => {
  it('sends the walk request and shows each EPT level with permissions, memory type and the host-physical address', async () => {
    const w = await walkView();
    p.answers.addressWalk = walks.get('guest-physical:31744');
    await w.find('[data-test="walk-address"]').setValue('0x7C00');
    await w.find('form').trigger('submit');
    await flushPromises();
    expect(p.requests).toContainEqual({ kind: 'addressWalk', vcpu: 0, address: 0x7c00, space: 'guest-physical' });
    const rows = w.findAll('[data-test="walk-ept-level"]').map((r) => r.findAll('td').map((td) => td.text()));
    expect(rows.map((r) => r[0])).toEqual(['PML4E', 'PDPTE', 'PDE', 'PTE']);
    const pte = rows[3]!;
    expect(pte.slice(4, 8)).toEqual(['1', '1', '1', 'WB']);
    expect(pte.at(-1)).toBe('page 0x00007000');
    expect(rows[0]!.at(-1)).toMatch(/^table 0x/);
    expect(w.find('[data-test="walk-result"]').text()).toContain('host-physical 0x00007C00');
    expect(w.find('[data-test="walk-result"]').text()).toContain('4 KB page');
    for (const a of ['read', 'write', 'fetch']) expect(w.find(`[data-test="walk-${a}"]`).text()).toContain('maps');
  });

  it('shows a violation per access kind with its qualification (ROM write, VGA memory without an entry)', async () => {
    const w = await walkView();
    p.answers.addressWalk = walks.get('guest-physical:1048560');
    await w.find('[data-test="walk-address"]').setValue('ffff0');
    await w.find('form').trigger('submit');
    await flushPromises();
    expect(w.find('[data-test="walk-read"]').text()).toContain('maps');
    expect(w.find('[data-test="walk-write"]').text()).toContain('EPT violation');
    expect(w.find('[data-test="walk-write"]').text()).toContain('write of a page that is R-X');
    expect(w.find('[data-test="walk-write"]').text()).toContain('qualification 0x1AA');
    p.answers.addressWalk = walks.get('guest-physical:753664');
    await w.find('form').trigger('submit');
    await flushPromises();
    const last = w.findAll('[data-test="walk-ept-level"]').at(-1)!;
    expect(last.classes()).toContain('np');
    expect(last.text()).toContain('not present');
    expect(w.find('[data-test="walk-result"]').text()).toContain('EPT violation at the PTE');
  });

  it('shows the guest page-table walk first for a guest-linear address', async () => {
    const w = await walkView();
    p.answers.addressWalk = walks.get('guest-linear:31744');
    await w.find('[data-test="walk-space"]').setValue('guest-linear');
    await w.find('form').trigger('submit');
    await flushPromises();
    expect(p.requests.at(-1)).toEqual({ kind: 'addressWalk', vcpu: 0, address: 0x7c00, space: 'guest-linear' });
    expect(w.find('[data-test="walk-guest"]').text()).toContain('paging off');
    expect(w.find('[data-test="walk-guest-result"]').text()).toContain('the linear address is the guest-physical address');
    expect(w.find('[data-test="walk-ept"]').exists()).toBe(true);
  });

  it('takes the last exit\'s guest-physical address or the guest\'s CS:RIP from the VMCS', async () => {
    const w = await walkView();
    const field = (encoding: number, lo: number) => ({ encoding, name: '', group: 'guest' as const, width: 0 as const, lo, hi: 0, changed: false });
    p.answers.vmcs = { vcpu: 0, address: 0x1000, launched: true, exitsTracked: 0, fields: [field(0x2400, 0xb8000), field(0x6808, 0xf0000), field(0x681e, 0xfff0)] };
    p.answers.addressWalk = walks.get('guest-physical:753664');
    await w.find('[data-test="walk-exit-gpa"]').trigger('click');
    await flushPromises();
    expect(p.requests.at(-1)).toEqual({ kind: 'addressWalk', vcpu: 0, address: 0xb8000, space: 'guest-physical' });
    expect((w.find('[data-test="walk-address"]').element as HTMLInputElement).value).toBe('0x000B8000');
    p.answers.addressWalk = walks.get('guest-linear:31744');
    await w.find('[data-test="walk-rip"]').trigger('click');
    await flushPromises();
    expect(p.requests.at(-1)).toEqual({ kind: 'addressWalk', vcpu: 0, address: 0xffff0, space: 'guest-linear' });
    expect((w.find('[data-test="walk-space"]').element as HTMLSelectElement).value).toBe('guest-linear');
  });

  it('refuses a bad address in the view without asking the engine, and reports a vCPU without a VMCS', async () => {
    const w = await walkView();
    await w.find('[data-test="walk-address"]').setValue('0x1_0000_0000');
    expect(w.find('[data-test="walk-address"]').classes()).toContain('bad');
    await w.find('form').trigger('submit');
    await flushPromises();
    expect(w.find('[data-test="walk-error"]').text()).toContain('above 0xFFFFFFFF');
    expect(p.requests.filter((r) => r.kind === 'addressWalk')).toEqual([]);
    p.answers.addressWalk = null;
    await w.find('[data-test="walk-address"]').setValue('0');
    await w.find('form').trigger('submit');
    await flushPromises();
    expect(w.find('[data-test="walk-novmcs"]').text()).toContain('has no current VMCS');
    p.answers.addressWalk = new Error('addressWalk: vCPU 3 does not exist');
    await w.find('form').trigger('submit');
    await flushPromises();
    expect(w.find('[data-test="walk-error"]').text()).toContain('vCPU 3 does not exist');
  });
});
