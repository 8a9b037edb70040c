import { defineStore } from 'pinia';

export type Host = 'electron' | 'browser';

/** App-wide state: where we run and which version. Machine state gets its own store later. */
export const useAppStore = defineStore('app', {
  state: () => ({
    host: 'browser' as Host,
    version: null as string | null,
  }),
  actions: {
    async detectHost(): Promise<void> {
      const api = window.vmxlab;
      if (!api) {
        this.host = 'browser';
        return;
      }
      this.host = 'electron';
      this.version = await api.version();
    },
  },
});
