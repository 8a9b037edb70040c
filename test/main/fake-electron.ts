// A recorded stand-in for the parts of Electron main uses (src/main/deps.ts ElectronDeps):
// windows, web contents, ipcMain, session, dialogs and menus keep what was asked of them so a
// test can check it, and let the test play the renderer's side (invoke a channel as a given
// frame). No real Electron is loaded.
import type { BrowserWindowConstructorOptions, MenuItemConstructorOptions } from 'electron';
import type { ElectronDeps, FsLike, InvokeEvent, WebContentsLike, WindowLike } from '../../src/main/deps';

type Listener = (...args: never[]) => unknown;

export class FakeFrame {
  constructor(public url: string, public parent: FakeFrame | null = null) {}
}

export class FakeWebContents implements WebContentsLike {
  static nextId = 1;
  readonly id = FakeWebContents.nextId++;
  readonly mainFrame: FakeFrame;
  readonly sent: { channel: string; payload: unknown }[] = [];
  readonly listeners = new Map<string, Listener[]>();
  windowOpenHandler: ((d: { url: string }) => { action: 'deny' }) | null = null;
  destroyed = false;
  constructor(url: string) { this.mainFrame = new FakeFrame(url); }
  send(channel: string, payload: unknown): void { this.sent.push({ channel, payload: structuredClone(payload) }); }
  on(event: string, fn: Listener): this { this.listeners.set(event, [...(this.listeners.get(event) ?? []), fn]); return this; }
  emit(event: string, ...args: unknown[]): void { for (const f of this.listeners.get(event) ?? []) (f as (...a: unknown[]) => unknown)(...args); }
  setWindowOpenHandler(fn: (d: { url: string }) => { action: 'deny' }): void { this.windowOpenHandler = fn; }
  isDestroyed(): boolean { return this.destroyed; }
}

export class FakeElectron {
  readonly windows: FakeWindow[] = [];
  readonly windowOptions: BrowserWindowConstructorOptions[] = [];
  readonly handlers = new Map<string, (event: InvokeEvent, ...args: unknown[]) => unknown>();
  readonly appListeners = new Map<string, Listener[]>();
  readonly switches: [string, string | undefined][] = [];
  sandboxEnabled = false;
  headersHook: ((details: { responseHeaders?: Record<string, string[]> }, cb: (r: { responseHeaders: Record<string, string[]> }) => void) => void) | null = null;
  permissionHook: ((wc: unknown, permission: string, cb: (granted: boolean) => void) => void) | null = null;
  permissionCheck: (() => boolean) | null = null;
  menus: MenuItemConstructorOptions[][] = [];
  /** What the next open/save dialog answers. */
  openAnswer: { canceled: boolean; filePaths: string[] } = { canceled: true, filePaths: [] };
  saveAnswer: { canceled: boolean; filePath?: string } = { canceled: true };
  readonly dialogs: { kind: string; options: unknown }[] = [];

  readonly deps: ElectronDeps;

  constructor(readonly userData = '/fake/userData') {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const fake = this;
    class BrowserWindow extends FakeWindow {
      constructor(options: BrowserWindowConstructorOptions) {
        super(options);
        fake.windows.push(this);
        fake.windowOptions.push(options);
        fake.emitApp('web-contents-created', {}, this.webContents);
      }
      static getAllWindows(): WindowLike[] { return fake.windows.filter((w) => !w.isDestroyed()); }
    }
    this.deps = {
      app: {
        getVersion: () => '0.1.0-test',
        getPath: () => userData,
        whenReady: () => Promise.resolve(),
        on: (event: string, fn: Listener) => { this.appListeners.set(event, [...(this.appListeners.get(event) ?? []), fn]); return this; },
        quit: () => undefined,
        enableSandbox: () => { this.sandboxEnabled = true; },
        commandLine: { appendSwitch: (name: string, value?: string) => { this.switches.push([name, value]); } },
      } as ElectronDeps['app'],
      BrowserWindow,
      ipcMain: { handle: (channel, fn) => { if (this.handlers.has(channel)) throw new Error(`second handler for ${channel}`); this.handlers.set(channel, fn); } },
      session: {
        defaultSession: {
          webRequest: { onHeadersReceived: (fn) => { this.headersHook = fn; } },
          setPermissionRequestHandler: (fn) => { this.permissionHook = fn; },
          setPermissionCheckHandler: (fn) => { this.permissionCheck = fn; },
        },
      },
      dialog: {
        showOpenDialog: async (_w, options) => { this.dialogs.push({ kind: 'open', options }); return this.openAnswer; },
        showSaveDialog: async (_w, options) => { this.dialogs.push({ kind: 'save', options }); return this.saveAnswer; },
        showMessageBox: async (_w, options) => { this.dialogs.push({ kind: 'message', options }); return {}; },
      },
      Menu: {
        buildFromTemplate: (t) => t,
        setApplicationMenu: (m) => { this.menus.push(m as MenuItemConstructorOptions[]); },
      },
    };
  }

  emitApp(event: string, ...args: unknown[]): void {
    for (const f of this.appListeners.get(event) ?? []) (f as (...a: unknown[]) => unknown)(...args);
  }

  /** Invokes `channel` as the renderer in `frame` of `contents` would (ipcRenderer.invoke). */
  async invoke(channel: string, contents: { id: number; mainFrame?: unknown }, frame: FakeFrame | null, ...args: unknown[]): Promise<unknown> {
    const h = this.handlers.get(channel);
    if (h === undefined) throw new Error(`no handler for ${channel}`);
    // Arguments cross a structured clone, as over real IPC.
    return h({ sender: contents, senderFrame: frame } as unknown as InvokeEvent, ...args.map((a) => structuredClone(a)));
  }
}

export class FakeWindow implements WindowLike {
  readonly webContents: FakeWebContents;
  loaded: { kind: 'url' | 'file'; target: string } | null = null;
  shown = false;
  destroyed = false;
  private readonly events = new Map<string, (() => void)[]>();
  constructor(readonly options: BrowserWindowConstructorOptions) {
    this.webContents = new FakeWebContents('');
  }
  async loadURL(url: string): Promise<void> { this.loaded = { kind: 'url', target: url }; this.webContents.mainFrame.url = url; }
  async loadFile(path: string): Promise<void> { this.loaded = { kind: 'file', target: path }; this.webContents.mainFrame.url = `file://${path}`; }
  once(event: string, fn: () => void): this { this.events.set(event, [...(this.events.get(event) ?? []), fn]); return this; }
  on(event: string, fn: () => void): this { return this.once(event, fn); }
  emit(event: string): void { for (const f of this.events.get(event) ?? []) f(); }
  show(): void { this.shown = true; }
  isDestroyed(): boolean { return this.destroyed; }
}

/** An in-memory file system. */
export class FakeFs implements FsLike {
  readonly files = new Map<string, Uint8Array | string>();
  readonly reads: string[] = [];
  async readFile(path: string): Promise<Uint8Array> {
    this.reads.push(path);
    const f = this.files.get(path);
    if (f === undefined) throw new Error(`ENOENT: ${path}`);
    return typeof f === 'string' ? new TextEncoder().encode(f) : f;
  }
  async readText(path: string): Promise<string | null> {
    const f = this.files.get(path);
    return f === undefined ? null : typeof f === 'string' ? f : new TextDecoder().decode(f);
  }
  async writeText(path: string, text: string): Promise<void> { this.files.set(path, text); }
  async size(path: string): Promise<number> {
    const f = this.files.get(path);
    if (f === undefined) throw new Error(`ENOENT: ${path}`);
    return typeof f === 'string' ? f.length : f.length;
  }
}
