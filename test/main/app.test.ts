// The main process's wiring under Node, against the recorded Electron stand-in (fake-electron.ts):
// the window's webPreferences, the IPC handlers and their sender checks, navigation guards, the
// CSP, files read only where the user chose them, settings and menus, and the engine running
// a real built-in guest in a real worker thread.
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AddressWalk, EngineEvent } from '../../src/core/engine/protocol';
import { defaultSettings } from '../../src/core/engine/settings';
import { startMain, type MainApp } from '../../src/main/app';
import type { WorkerLike } from '../../src/main/deps';
import { IpcChannel, IpcEvent, type UiSettings } from '../../src/main/ipc';
import { CSP } from '../../src/main/security';
import { FakeElectron, FakeFrame, FakeFs, type FakeWindow } from './fake-electron';
import { engineWorkerFile } from '../engine/worker-bundle';

const RENDERER = '/app/out/renderer/index.html';
const APP_URL = `file://${RENDERER}`;

class FakeWorker implements WorkerLike {
  readonly posted: unknown[] = [];
  private readonly on_ = new Map<string, ((x: never) => void)[]>();
  terminated = false;
  postMessage(m: unknown): void { this.posted.push(structuredClone(m)); }
  on(event: string, fn: (x: never) => void): this { this.on_.set(event, [...(this.on_.get(event) ?? []), fn]); return this; }
  emit(event: string, x: unknown): void { for (const f of this.on_.get(event) ?? []) f(x as never); }
  async terminate(): Promise<number> { this.terminated = true; return 0; }
}

interface Setup { fake: FakeElectron; fs: FakeFs; main: MainApp; win: FakeWindow; workers: FakeWorker[] }
const running: MainApp[] = [];

async function setup(opts: { worker?: () => WorkerLike; fs?: FakeFs } = {}): Promise<Setup> {
  const fake = new FakeElectron();
  const fs = opts.fs ?? new FakeFs();
  const workers: FakeWorker[] = [];
  const main = await startMain({
    electron: fake.deps,
    createWorker: opts.worker ?? (() => { const w = new FakeWorker(); workers.push(w); return w; }),
    fs, preloadPath: '/app/out/preload/preload.js', rendererIndex: RENDERER, platform: 'linux',
  });
  running.push(main);
  return { fake, fs, main, win: fake.windows[0]!, workers };
}

afterEach(async () => { while (running.length > 0) await running.pop()!.close(); });

/** Invokes as the app's own main frame. */
const asApp = (s: Setup, channel: string, ...args: unknown[]) => s.fake.invoke(channel, s.win.webContents, s.win.webContents.mainFrame, ...args);

describe('main process wiring', () => {
  it('creates one locked-down window that loads the renderer', async () => {
    const s = await setup();
    expect(s.fake.windows).toHaveLength(1);
    const wp = s.fake.windowOptions[0]!.webPreferences!;
    expect(wp).toMatchObject({
      preload: '/app/out/preload/preload.js', contextIsolation: true, sandbox: true, nodeIntegration: false,
      nodeIntegrationInWorker: false, nodeIntegrationInSubFrames: false, webSecurity: true, allowRunningInsecureContent: false,
      webviewTag: false,
    });
    expect(s.win.loaded).toEqual({ kind: 'file', target: RENDERER });
    expect(s.fake.sandboxEnabled).toBe(true);
    expect(s.fake.switches.find(([n]) => n === 'js-flags')?.[1]).toContain('--max-inlined-bytecode-size');
    s.win.emit('ready-to-show');
    expect(s.win.shown).toBe(true);
  });

  it('registers exactly the declared IPC channels', async () => {
    const s = await setup();
    expect([...s.fake.handlers.keys()].sort()).toEqual(Object.values(IpcChannel).sort());
    await expect(asApp(s, IpcChannel.version)).resolves.toBe('0.1.0-test');
  });

  it('refuses IPC from a foreign frame, a subframe, an unknown web contents or no frame, on every channel', async () => {
    const s = await setup();
    const wc = s.win.webContents;
    const foreign = new FakeFrame('https://evil.example/index.html');
    const sub = new FakeFrame(APP_URL, wc.mainFrame);
    const otherContents = { id: 9999, mainFrame: new FakeFrame(APP_URL) };
    for (const channel of Object.values(IpcChannel)) {
      await expect(s.fake.invoke(channel, wc, foreign), channel).rejects.toThrow(/refused: sender frame https:\/\/evil\.example/);
      await expect(s.fake.invoke(channel, wc, sub), channel).rejects.toThrow('is not the app\'s main frame');
      await expect(s.fake.invoke(channel, otherContents, otherContents.mainFrame), channel).rejects.toThrow('refused');
      await expect(s.fake.invoke(channel, wc, null), channel).rejects.toThrow('(none)');
    }
    // The main frame navigated away (a foreign page in our window) is refused too.
    wc.mainFrame.url = 'https://evil.example/';
    await expect(s.fake.invoke(IpcChannel.engineCommand, wc, wc.mainFrame, { type: 'run' })).rejects.toThrow('refused');
    // Nothing reached the engine or the file system.
    expect(s.workers[0]!.posted).toEqual([]);
    expect(s.fs.reads).toEqual([]);
  });

  it('blocks navigation, redirects, webviews and new windows; sets the CSP; refuses permissions', async () => {
    const s = await setup();
    const wc = s.win.webContents;
    const nav = (event: string, url: string): boolean => {
      let prevented = false;
      wc.emit(event, { preventDefault: () => { prevented = true; } }, url);
      return prevented;
    };
    expect(nav('will-navigate', 'https://example.com/')).toBe(true);
    expect(nav('will-redirect', 'http://127.0.0.1/')).toBe(true);
    expect(nav('will-navigate', 'file:///etc/passwd')).toBe(true);
    expect(nav('will-navigate', `${APP_URL}#exits`)).toBe(false);
    expect(nav('will-attach-webview', '')).toBe(true);
    expect(wc.windowOpenHandler!({ url: 'https://example.com' })).toEqual({ action: 'deny' });
    let headers: Record<string, string[]> = {};
    s.fake.headersHook!({ responseHeaders: { 'X-A': ['1'] } }, (r) => { headers = r.responseHeaders; });
    expect(headers['Content-Security-Policy']).toEqual([CSP]);
    expect(CSP).toContain("script-src 'self'");
    expect(headers['X-A']).toEqual(['1']);
    let granted: boolean | null = null;
    s.fake.permissionHook!({}, 'media', (g) => { granted = g; });
    expect(granted).toBe(false);
    expect(s.fake.permissionCheck!()).toBe(false);
  });

  it('forwards UI commands to the engine and refuses load or request on the command channel', async () => {
    const s = await setup();
    await asApp(s, IpcChannel.engineCommand, { type: 'run' });
    await asApp(s, IpcChannel.engineCommand, { type: 'key', code: 'KeyA', down: true });
    expect(s.workers[0]!.posted).toEqual([{ type: 'run' }, { type: 'key', code: 'KeyA', down: true }]);
    await expect(asApp(s, IpcChannel.engineCommand, { type: 'load', image: {}, settings: {} })).rejects.toThrow('not a command the renderer may send');
    await expect(asApp(s, IpcChannel.engineCommand, { type: 'request', id: 1, request: { kind: 'status' } })).rejects.toThrow('not a command');
    await expect(asApp(s, IpcChannel.engineCommand, null)).rejects.toThrow('not a command');
  });

  it('reads only files the user chose: open dialog handles, the recent list; never a renderer-given path', async () => {
    const s = await setup();
    s.fs.files.set('/home/u/guest.img', new Uint8Array([1, 2, 3]));
    s.fake.openAnswer = { canceled: false, filePaths: ['/home/u/guest.img'] };
    const f = await asApp(s, IpcChannel.openImageDialog) as { handle: string; name: string; size: number };
    expect(f).toMatchObject({ name: 'guest.img', size: 3 });
    expect(s.fs.reads).toEqual([]); // opening gives a handle; the bytes are read when loaded
    const settings = defaultSettings();
    await asApp(s, IpcChannel.loadImage, { source: { kind: 'file', handle: f.handle }, settings });
    expect(s.fs.reads).toEqual(['/home/u/guest.img']);
    expect(s.workers[0]!.posted.at(-1)).toMatchObject({ type: 'load', image: { name: 'guest.img', bytes: new Uint8Array([1, 2, 3]) } });
    await expect(asApp(s, IpcChannel.loadImage, { source: { kind: 'file', handle: 'f999' }, settings })).rejects.toThrow('unknown file handle');
    await expect(asApp(s, IpcChannel.loadImage, { source: { kind: 'path', path: '/etc/passwd' }, settings })).rejects.toThrow('source.kind');
    await expect(asApp(s, IpcChannel.openRecentImage, '/etc/passwd')).rejects.toThrow('not on the recent-images list');
    expect(s.fs.reads).toEqual(['/home/u/guest.img']);
    // Bytes the renderer holds (a built-in guest, a dropped file) go straight to the engine.
    await asApp(s, IpcChannel.loadImage, { source: { kind: 'bytes', name: 'hello.img', bytes: new Uint8Array([9]) }, settings });
    expect(s.workers[0]!.posted.at(-1)).toMatchObject({ type: 'load', image: { name: 'hello.img' } });
    // The recent list: persisted, in the menu, reopenable.
    expect(await asApp(s, IpcChannel.recentImages)).toMatchObject([{ path: '/home/u/guest.img', name: 'guest.img' }]);
    const stored = JSON.parse(s.fs.files.get('/fake/userData/vmxlab-settings.json') as string);
    expect(stored.recent[0].path).toBe('/home/u/guest.img');
    const file = s.fake.menus.at(-1)!.find((m) => m.label === 'File')!;
    const recentMenu = (file.submenu as { label?: string; submenu?: { label?: string }[] }[]).find((m) => m.label === 'Open Recent')!;
    expect(recentMenu.submenu!.map((m) => m.label)).toEqual(['guest.img']);
    const again = await asApp(s, IpcChannel.openRecentImage, '/home/u/guest.img') as { handle: string };
    expect(again.handle).not.toBe(f.handle);
    s.fake.openAnswer = { canceled: true, filePaths: [] };
    expect(await asApp(s, IpcChannel.openImageDialog)).toBeNull();
  });

  it('writes exports only where the save dialog says', async () => {
    const s = await setup();
    s.fake.saveAnswer = { canceled: true };
    expect(await asApp(s, IpcChannel.saveExport, { kind: 'csv', defaultName: 'exits.csv', content: 'a,b\r\n' })).toEqual({ saved: false, path: null });
    s.fake.saveAnswer = { canceled: false, filePath: '/home/u/out.csv' };
    expect(await asApp(s, IpcChannel.saveExport, { kind: 'csv', defaultName: '../../x.csv', content: 'a,b\r\n' })).toEqual({ saved: true, path: '/home/u/out.csv' });
    expect(s.fs.files.get('/home/u/out.csv')).toBe('a,b\r\n');
    expect((s.fake.dialogs.at(-1)!.options as { defaultPath: string }).defaultPath).toBe('x.csv');
    await expect(asApp(s, IpcChannel.saveExport, { kind: 'exe', defaultName: 'x', content: '' })).rejects.toThrow('saveExport');
  });

  it('persists checked UI settings and survives a damaged settings file', async () => {
    const fs = new FakeFs();
    fs.files.set('/fake/userData/vmxlab-settings.json', '{not json');
    const s = await setup({ fs });
    expect(await asApp(s, IpcChannel.getSettings)).toBeNull();
    const ui: UiSettings = { machine: { ...defaultSettings(), memoryMiB: 64 }, theme: 'light', guest: 'hello' };
    await asApp(s, IpcChannel.setSettings, ui);
    expect(await asApp(s, IpcChannel.getSettings)).toEqual(ui);
    await expect(asApp(s, IpcChannel.setSettings, { ...ui, machine: { ...ui.machine, vcpus: 0 } })).rejects.toThrow('settings.vcpus');
    const s2 = await setup({ fs });
    expect(await asApp(s2, IpcChannel.getSettings)).toEqual(ui);
  });

  it('builds the File, Run, View and Help menus; menu actions reach the renderer', async () => {
    const s = await setup();
    const menu = s.fake.menus.at(-1)!;
    expect(menu.map((m) => m.label)).toEqual(['File', 'Run', 'View', 'Help']);
    const run = (menu[1]!.submenu as { label: string; click: () => void }[]);
    expect(run.map((m) => m.label)).toEqual(['Run', 'Pause', 'Step', 'Reset']);
    run[2]!.click();
    expect(s.win.webContents.sent.at(-1)).toEqual({ channel: IpcEvent.menu, payload: { action: 'step' } });
    const file = menu[0]!.submenu as { label?: string; click?: () => void }[];
    expect(file.map((m) => m.label).filter(Boolean)).toEqual(['Open Image…', 'Open Recent', 'Export Profile (JSON)…', 'Export Exit Table (CSV)…', 'Export Trace (Perfetto)…']);
  });

  it('restarts a crashed engine worker and tells the renderer', async () => {
    const s = await setup();
    s.workers[0]!.emit('exit', 1);
    expect(s.workers).toHaveLength(2);
    expect(s.workers[0]!.terminated).toBe(true);
    const sent = s.win.webContents.sent.filter((x) => x.channel === IpcEvent.engine).map((x) => x.payload as EngineEvent);
    expect(sent[0]).toMatchObject({ type: 'error', error: { code: 'internal' } });
    expect((sent[0] as { error: { message: string } }).error.message).toContain('exited (code 1)');
  });
});

describe('the engine in a real worker thread', () => {
  let workerFile = '';
  beforeAll(async () => { workerFile = await engineWorkerFile(); }, 60_000);

  it('runs a built-in guest to a serial marker, relays events to the window and answers requests', async () => {
    const s = await setup({ worker: () => new Worker(workerFile) as unknown as WorkerLike });
    const bytes = new Uint8Array(readFileSync(new URL('../../guests/realmode-hello/hello.img', import.meta.url)));
    const events = (): EngineEvent[] => s.win.webContents.sent.filter((x) => x.channel === IpcEvent.engine).map((x) => x.payload as EngineEvent);
    const waitFor = async (pred: (evs: EngineEvent[]) => boolean, ms = 20_000): Promise<void> => {
      const end = Date.now() + ms;
      while (!pred(events())) {
        if (Date.now() > end) throw new Error(`timed out; events: ${events().map((e) => e.type).join(' ')}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    await asApp(s, IpcChannel.loadImage, {
      source: { kind: 'bytes', name: 'hello.img', bytes }, settings: { ...defaultSettings(), marker: 'REALMODE DONE', pacing: 'max' },
    });
    await waitFor((evs) => evs.some((e) => e.type === 'state' && e.state === 'ready'));
    await asApp(s, IpcChannel.engineCommand, { type: 'run' });
    await waitFor((evs) => evs.some((e) => e.type === 'state' && e.state === 'paused'));
    const serial = events().filter((e): e is Extract<EngineEvent, { type: 'serial' }> => e.type === 'serial').map((e) => e.text).join('');
    expect(serial).toContain('REALMODE HELLO');
    expect(serial).toContain('REALMODE DONE');
    expect(events().find((e) => e.type === 'state' && e.state === 'paused')).toMatchObject({ stop: { kind: 'marker' } });
    expect(events().some((e) => e.type === 'screen')).toBe(true);
    const status = await asApp(s, IpcChannel.engineRequest, { kind: 'status' }) as { state: string; instructions: number };
    expect(status.state).toBe('paused');
    expect(status.instructions).toBeGreaterThan(100_000);
    await expect(asApp(s, IpcChannel.engineRequest, { kind: 'vmcs', vcpu: 7 })).rejects.toThrow('vCPU 7 does not exist');
    // The VMCS inspector's EPT walk, through IPC and the worker: the hosted guest's VMM maps RAM
    // to itself.
    const walk = await asApp(s, IpcChannel.engineRequest, { kind: 'addressWalk', vcpu: 0, address: 0x7c00, space: 'guest-physical' }) as AddressWalk;
    expect(walk.ept?.levels.map((l) => l.name)).toEqual(['PML4E', 'PDPTE', 'PDE', 'PTE']);
    expect(walk.ept?.hpa).toBe(0x7c00);
    // Responses are answered, not broadcast.
    expect(events().some((e) => e.type === 'response')).toBe(false);
  }, 30_000);
});
