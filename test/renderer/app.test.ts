import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import App from '../../src/renderer/src/App.vue';
import { setPlatform } from '../../src/renderer/src/platform';
import type { VmxlabApi } from '../../src/main/ipc';
import { FakePlatform } from './support';

vi.mock('@xterm/xterm', async () => ({ Terminal: (await import('./support')).FakeTerminal }));

describe('App', () => {
  beforeEach(() => { setActivePinia(createPinia()); });
  afterEach(() => {
    delete window.vmxlab;
    setPlatform(null);
  });

  it('shows the shell in the browser build: title, views, machine setup, exit controls', async () => {
    setPlatform(new FakePlatform());
    const wrapper = mount(App, { global: { plugins: [createPinia()] } });
    await flushPromises();
    expect(wrapper.find('h1').text()).toBe('vmxlab');
    expect(wrapper.find('[data-test="host"]').text()).toBe('browser');
    expect(wrapper.findAll('[role="tab"]').map((t) => t.text())).toEqual(['Guest', 'Exits', 'VMCS', 'Compare']);
    expect(wrapper.text()).toContain('Machine');
    expect(wrapper.find('[data-test="hosted-note"]').text()).toBe('applied by the VMM');
    expect((wrapper.find('[data-test="mode"]').element as HTMLSelectElement).value).toBe('hosted');
    expect(wrapper.find('[data-test="state"]').text()).toBe('no guest');
    await wrapper.find('[data-test="tab-exits"]').trigger('click');
    expect(wrapper.find('[data-test="exits-empty"]').text()).toContain('No VM exits');
    wrapper.unmount();
  });

  it('has the run keys in the browser: F5 runs, F10 steps, Shift+F5 pauses; keys typed into the guest stay the guest\'s', async () => {
    const p = new FakePlatform();
    setPlatform(p);
    const wrapper = mount(App, { global: { plugins: [createPinia()] }, attachTo: document.body });
    await flushPromises();
    const press = async (key: string, shiftKey = false, target: EventTarget = window): Promise<KeyboardEvent> => {
      const ev = new KeyboardEvent('keydown', { key, shiftKey, bubbles: true, cancelable: true });
      target.dispatchEvent(ev);
      await flushPromises();
      return ev;
    };
    expect((await press('F5')).defaultPrevented).toBe(true); // not a page reload
    expect(p.loads).toHaveLength(1); // Run loads the chosen guest first
    expect(p.sent.at(-1)).toEqual({ type: 'run' });
    p.emit({ type: 'state', state: 'running', stop: null });
    await press('F5', true);
    expect(p.sent.at(-1)).toEqual({ type: 'pause' });
    p.emit({ type: 'state', state: 'paused', stop: null });
    await press('F10');
    expect(p.sent.at(-1)).toEqual({ type: 'step' });
    const n = p.sent.length;
    await press('F10', false, wrapper.find('[data-test="vga"]').element);
    expect(p.sent.slice(n).filter((c) => c.type === 'step')).toEqual([]);
    wrapper.unmount();
  });

  it('uses the preload API under Electron (version, engine commands through IPC)', async () => {
    const calls: unknown[] = [];
    const api: VmxlabApi = {
      version: async () => '4.5.6',
      engineCommand: async (c) => { calls.push(c); },
      engineRequest: async () => null as never,
      loadImage: async (r) => { calls.push(r); },
      openImageDialog: async () => null,
      recentImages: async () => [],
      openRecentImage: async () => null,
      saveExport: async () => ({ saved: false, path: null }),
      getSettings: async () => null,
      setSettings: async () => undefined,
      onEngineEvent: () => () => undefined,
      onMenu: () => () => undefined,
    };
    window.vmxlab = api;
    const wrapper = mount(App, { global: { plugins: [createPinia()] } });
    await flushPromises();
    expect(wrapper.find('[data-test="host"]').text()).toBe('electron · v4.5.6');
    await wrapper.find('[data-test="load"]').trigger('click');
    await flushPromises();
    expect(calls[0]).toMatchObject({ source: { kind: 'bytes', name: 'hello.img' }, settings: { marker: 'REALMODE DONE', mode: 'hosted' } });
    const bytes = (calls[0] as { source: { bytes: Uint8Array } }).source.bytes;
    expect(bytes.length).toBe(512);
    expect([bytes[510], bytes[511]]).toEqual([0x55, 0xaa]); // the built-in guest's boot sector, bundled
    wrapper.unmount();
  });
});
