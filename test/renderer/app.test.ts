import { afterEach, describe, expect, it } from 'vitest';
import { flushPromises, mount } from '@vue/test-utils';
import { createPinia } from 'pinia';
import App from '../../src/renderer/src/App.vue';

describe('App', () => {
  afterEach(() => {
    delete window.vmxlab;
  });

  it('shows the title and the machine panel in the browser build', async () => {
    const wrapper = mount(App, { global: { plugins: [createPinia()] } });
    await flushPromises();
    expect(wrapper.find('h1').text()).toBe('vmxlab');
    expect(wrapper.find('[data-test="host"]').text()).toBe('browser');
    expect(wrapper.text()).toContain('Machine');
    expect(wrapper.text()).toContain('No guest loaded.');
  });

  it('asks the preload API for the version under Electron', async () => {
    window.vmxlab = { version: async () => '4.5.6' };
    const wrapper = mount(App, { global: { plugins: [createPinia()] } });
    await flushPromises();
    expect(wrapper.find('[data-test="host"]').text()).toBe('electron · v4.5.6');
  });
});
