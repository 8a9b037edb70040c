import { defineStore } from 'pinia';
import { platform, type HostKind } from '../platform';

export type Host = HostKind;
export const VIEWS = ['guest', 'exits', 'vmcs', 'compare'] as const;
export type View = (typeof VIEWS)[number];

export interface Toast { id: number; kind: 'error' | 'info'; message: string }

/** App-wide state: where we run, the version, the theme, the view, messages for the user. */
export const useAppStore = defineStore('app', {
  state: () => ({
    host: 'browser' as Host,
    version: null as string | null,
    theme: 'dark' as 'dark' | 'light',
    view: 'guest' as View,
    toasts: [] as Toast[],
    nextToast: 1,
  }),
  actions: {
    async detectHost(): Promise<void> {
      const p = platform();
      this.host = p.kind;
      this.version = await p.version();
    },
    notify(kind: Toast['kind'], message: string): void {
      const id = this.nextToast++;
      this.toasts.push({ id, kind, message });
      if (this.toasts.length > 4) this.toasts.shift();
      if (kind === 'info') setTimeout(() => this.dismiss(id), 4000);
    },
    dismiss(id: number): void {
      this.toasts = this.toasts.filter((t) => t.id !== id);
    },
    setTheme(t: 'dark' | 'light'): void {
      this.theme = t;
      document.documentElement.dataset['theme'] = t;
    },
  },
});
