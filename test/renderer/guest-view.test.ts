// The Guest view shows the guest (VGA screen, serial console) with the exits it causes right now:
// the most frequent reasons with their counts, whatever the exit table's sort, and a way there.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { setPlatform } from '../../src/renderer/src/platform';
import GuestView from '../../src/renderer/src/components/GuestView.vue';
import { useAppStore } from '../../src/renderer/src/stores/app';
import { useExitStore } from '../../src/renderer/src/stores/exits';
import { FakePlatform, sampleSnapshot, stats } from './support';

vi.mock('@xterm/xterm', async () => ({ Terminal: (await import('./support')).FakeTerminal }));

let pinia: ReturnType<typeof createPinia>;
beforeEach(() => {
  pinia = createPinia();
  setActivePinia(pinia);
  setPlatform(new FakePlatform());
});

describe('guest view', () => {
  it('lists the top exit reasons by count beside the guest, and opens the exit table', async () => {
    const w = mount(GuestView, { global: { plugins: [pinia] } });
    expect(w.find('[data-test="guest-exits"]').text()).toContain('No VM exits: this guest runs in bare mode');
    const x = useExitStore();
    x.ingest(stats(sampleSnapshot(), { virtualNs: 1e9 }));
    x.sort('name'); // the table's order does not change the panel's
    await flushPromises();
    const rows = w.findAll('[data-test="guest-exit-row"]').map((r) => [r.find('.name').text(), r.findAll('.num')[0]!.text()]);
    expect(rows).toEqual([['IoInstruction', '8'], ['Hlt', '3'], ['Cpuid', '1']]);
    expect(w.find('[data-test="guest-exits"] .chip').text()).toBe('12');
    await w.find('[data-test="open-exits"]').trigger('click');
    expect(useAppStore().view).toBe('exits');
  });
});
