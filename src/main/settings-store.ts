// Settings and the recent-images list, persisted as one JSON file in the user-data folder.
// What the renderer sends is checked (checkSettings) before it is stored; a damaged file is
// ignored (defaults), never fatal.
import { checkSettings } from '../core/engine/settings';
import type { FsLike } from './deps';
import type { RecentFile, UiSettings } from './ipc';

export const MAX_RECENT = 10;
export const SETTINGS_FILE = 'vmxlab-settings.json';

interface Stored {
  readonly version: 1;
  readonly ui: UiSettings | null;
  readonly recent: RecentFile[];
}

export function checkUiSettings(v: unknown): UiSettings {
  if (typeof v !== 'object' || v === null) throw new Error('settings: expected an object');
  const o = v as Record<string, unknown>;
  const theme = o['theme'];
  if (theme !== 'dark' && theme !== 'light') throw new Error("settings.theme: 'dark' or 'light'");
  const guest = o['guest'];
  if (guest !== null && (typeof guest !== 'string' || guest.length > 200)) throw new Error('settings.guest: null or a short string');
  return { machine: checkSettings(o['machine']), theme, guest: guest as string | null };
}

export class SettingsStore {
  private ui: UiSettings | null = null;
  private recent: RecentFile[] = [];
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly fs: FsLike, private readonly file: string, private readonly basename: (p: string) => string) {}

  async load(): Promise<void> {
    const text = await this.fs.readText(this.file).catch(() => null);
    if (text === null) return;
    try {
      const v = JSON.parse(text) as Partial<Stored>;
      this.recent = Array.isArray(v.recent)
        ? v.recent.filter((r): r is RecentFile => typeof r?.path === 'string' && typeof r.name === 'string' && typeof r.openedAt === 'number').slice(0, MAX_RECENT)
        : [];
      try { this.ui = v.ui == null ? null : checkUiSettings(v.ui); } catch { this.ui = null; }
    } catch {
      // A damaged settings file: start from defaults (it is rewritten on the next change).
    }
  }

  getUi(): UiSettings | null { return this.ui; }

  setUi(s: UiSettings): Promise<void> {
    this.ui = checkUiSettings(s);
    return this.save();
  }

  getRecent(): RecentFile[] { return this.recent.map((r) => ({ ...r })); }

  isRecent(path: string): boolean { return this.recent.some((r) => r.path === path); }

  addRecent(path: string, now: number): Promise<void> {
    this.recent = [{ path, name: this.basename(path), openedAt: now }, ...this.recent.filter((r) => r.path !== path)].slice(0, MAX_RECENT);
    return this.save();
  }

  private save(): Promise<void> {
    const stored: Stored = { version: 1, ui: this.ui, recent: this.recent };
    const text = `${JSON.stringify(stored, null, 2)}\n`;
    this.writing = this.writing.then(() => this.fs.writeText(this.file, text)).catch(() => undefined);
    return this.writing;
  }
}
