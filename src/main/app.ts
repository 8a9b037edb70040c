// The main process, with its Electron and Node dependencies passed in (index.ts gives the real
// ones, test/main the recorded stand-in): one locked-down window, the engine in a worker
// thread, the typed IPC handlers (each checks its sender first), menus, settings and the
// recent-images list in the user-data folder. Files are read only where the user chose them:
// the open dialog, the recent list (paths main itself put there), and bytes the renderer
// already holds (built-in guests, dropped files), which main never turns into a path.
import type { MenuItemConstructorOptions } from 'electron';
import { V8_TUNING_FLAGS } from '../core/engine-tuning';
import type { EngineCommand, EngineEvent, EngineRequest } from '../core/engine/protocol';
import type { InvokeEvent, MainDeps, WindowLike } from './deps';
import { EngineHost } from './engine-host';
import {
  EXPORT_KINDS, IpcChannel, IpcEvent, type ExportRequest, type ExportResult, type IpcChannelName, type IpcInvokeMap,
  type LoadRequest, type MenuAction, type OpenedFile, type UiEngineCommand,
} from './ipc';
import { menuTemplate } from './menu';
import { AppOrigin, checkSender, guardContents, hardenSession } from './security';
import { SETTINGS_FILE, SettingsStore } from './settings-store';

/** Images the open dialog offers (any file may be chosen: the loaders detect the format). */
export const IMAGE_FILTERS = [
  { name: 'Disk and kernel images', extensions: ['img', 'ima', 'iso', 'bin', 'vfd', 'flp', 'com', 'elf', 'bzImage', 'vmlinuz'] },
  { name: 'All files', extensions: ['*'] },
];

const EXPORT_FILTERS: Readonly<Record<ExportRequest['kind'], { name: string; extensions: string[] }>> = {
  csv: { name: 'CSV', extensions: ['csv'] },
  profile: { name: 'vmxlab profile (JSON)', extensions: ['json'] },
  trace: { name: 'Chrome trace (JSON, Perfetto)', extensions: ['json'] },
};

/** Engine commands the renderer may send on the command channel. */
const UI_COMMANDS: ReadonlySet<string> = new Set<UiEngineCommand['type']>([
  'run', 'pause', 'step', 'reset', 'setMarker', 'setPacing', 'key', 'serialInput', 'statsScope', 'trackVmcs',
]);

const basename = (p: string): string => p.split(/[\\/]/).pop() ?? p;
const joinPath = (dir: string, name: string): string => `${dir.replace(/[\\/]+$/, '')}/${name}`;

export interface MainApp {
  readonly origin: AppOrigin;
  readonly engine: EngineHost;
  readonly settings: SettingsStore;
  readonly windows: () => readonly WindowLike[];
  /** Creates the app window (done once at start). */
  createWindow(): WindowLike;
  close(): Promise<void>;
}

export async function startMain(deps: MainDeps): Promise<MainApp> {
  const { electron } = deps;
  const { app, BrowserWindow, ipcMain, dialog, Menu } = electron;
  const origin = new AppOrigin(deps.rendererIndex, deps.devServerUrl);
  const trusted = new Set<number>();
  const windows: WindowLike[] = [];
  /** Files the user opened: handle -> path. The renderer only ever names a handle. */
  const opened = new Map<string, string>();
  let handleSeq = 0;

  app.enableSandbox();
  // V8 inlining budget for the emulator core's run loops (src/core/engine-tuning.ts).
  app.commandLine.appendSwitch('js-flags', V8_TUNING_FLAGS.join(' '));
  app.on('web-contents-created', (_e, contents) => guardContents(contents, origin));

  await app.whenReady();
  hardenSession(electron);

  const settings = new SettingsStore(deps.fs, joinPath(app.getPath('userData'), SETTINGS_FILE), basename);
  await settings.load();

  const broadcast = (channel: string, payload: unknown): void => {
    for (const w of windows) if (!w.isDestroyed() && !w.webContents.isDestroyed()) w.webContents.send(channel, payload);
  };
  const engine = new EngineHost(deps.createWorker, (ev: EngineEvent) => broadcast(IpcEvent.engine, ev));
  const sendMenu = (a: MenuAction): void => broadcast(IpcEvent.menu, a);

  const focused = (): WindowLike => {
    const w = windows.find((x) => !x.isDestroyed());
    if (w === undefined) throw new Error('no window');
    return w;
  };

  async function openPath(path: string): Promise<OpenedFile> {
    const size = await deps.fs.size(path);
    const handle = `f${++handleSeq}`;
    opened.set(handle, path);
    await settings.addRecent(path, Date.now());
    refreshMenu();
    return { handle, name: basename(path), size };
  }

  async function openDialog(): Promise<OpenedFile | null> {
    const r = await dialog.showOpenDialog(focused(), { title: 'Open a guest image', properties: ['openFile'], filters: IMAGE_FILTERS });
    if (r.canceled || r.filePaths.length === 0) return null;
    return openPath(r.filePaths[0]!);
  }

  async function openRecent(path: unknown): Promise<OpenedFile | null> {
    if (typeof path !== 'string' || !settings.isRecent(path)) throw new Error('openRecentImage: not on the recent-images list');
    return openPath(path);
  }

  function refreshMenu(): void {
    const template: MenuItemConstructorOptions[] = menuTemplate(settings.getRecent(), {
      send: sendMenu,
      openDialog: () => { void openDialog().then((f) => { if (f !== null) sendMenu({ action: 'opened', file: f }); }, reportError); },
      openRecent: (p) => { void openRecent(p).then((f) => { if (f !== null) sendMenu({ action: 'opened', file: f }); }, reportError); },
    }, deps.platform);
    Menu.setApplicationMenu(Menu.buildFromTemplate(template));
  }

  function reportError(e: unknown): void {
    broadcast(IpcEvent.engine, { type: 'error', error: { code: 'bad-command', message: (e as Error).message } } satisfies EngineEvent);
  }

  async function load(req: LoadRequest): Promise<void> {
    if (typeof req !== 'object' || req === null || typeof req.source !== 'object' || req.source === null) throw new Error('loadImage: expected { source, settings }');
    const src = req.source;
    let name: string, bytes: Uint8Array;
    if (src.kind === 'bytes') {
      if (typeof src.name !== 'string' || !(src.bytes instanceof Uint8Array)) throw new Error('loadImage: bytes source needs a name and a Uint8Array');
      name = src.name; bytes = src.bytes;
    } else if (src.kind === 'file') {
      const path = typeof src.handle === 'string' ? opened.get(src.handle) : undefined;
      if (path === undefined) throw new Error('loadImage: unknown file handle (open the file first)');
      name = basename(path);
      bytes = await deps.fs.readFile(path);
    } else {
      throw new Error('loadImage: source.kind must be bytes or file');
    }
    // The engine checks the settings and the image and reports problems as error events.
    engine.send({ type: 'load', image: { name, bytes }, settings: req.settings });
  }

  async function saveExport(req: ExportRequest): Promise<ExportResult> {
    if (typeof req !== 'object' || req === null || !(EXPORT_KINDS as readonly unknown[]).includes(req.kind) ||
      typeof req.content !== 'string' || typeof req.defaultName !== 'string') {
      throw new Error('saveExport: expected { kind, defaultName, content }');
    }
    const r = await dialog.showSaveDialog(focused(), { title: 'Export', defaultPath: basename(req.defaultName), filters: [EXPORT_FILTERS[req.kind]] });
    if (r.canceled || r.filePath === undefined || r.filePath === '') return { saved: false, path: null };
    await deps.fs.writeText(r.filePath, req.content);
    return { saved: true, path: r.filePath };
  }

  // ---- IPC: every handler checks its sender before anything else.
  type Handler<C extends IpcChannelName> = (...args: IpcInvokeMap[C]['args']) => IpcInvokeMap[C]['result'] | Promise<IpcInvokeMap[C]['result']>;
  function handle<C extends IpcChannelName>(channel: C, fn: Handler<C>): void {
    ipcMain.handle(channel, (event: InvokeEvent, ...args: unknown[]) => {
      checkSender(channel, event, trusted, origin);
      return fn(...(args as IpcInvokeMap[C]['args']));
    });
  }
  handle(IpcChannel.version, () => app.getVersion());
  handle(IpcChannel.engineCommand, (cmd) => {
    if (typeof cmd !== 'object' || cmd === null || !UI_COMMANDS.has((cmd as { type?: unknown }).type as string)) {
      throw new Error(`engineCommand: not a command the renderer may send (${JSON.stringify((cmd as { type?: unknown } | null)?.type)})`);
    }
    engine.send(cmd as EngineCommand);
  });
  handle(IpcChannel.engineRequest, (req) => engine.request(req as EngineRequest));
  handle(IpcChannel.loadImage, (req) => load(req));
  handle(IpcChannel.openImageDialog, () => openDialog());
  handle(IpcChannel.recentImages, () => settings.getRecent());
  handle(IpcChannel.openRecentImage, (path) => openRecent(path));
  handle(IpcChannel.saveExport, (req) => saveExport(req));
  handle(IpcChannel.getSettings, () => settings.getUi());
  handle(IpcChannel.setSettings, (s) => settings.setUi(s));

  function createWindow(): WindowLike {
    const win = new BrowserWindow({
      width: 1440,
      height: 900,
      minWidth: 960,
      minHeight: 640,
      show: false,
      title: 'vmxlab',
      backgroundColor: '#0f1115',
      webPreferences: {
        preload: deps.preloadPath,
        contextIsolation: true,
        sandbox: true,
        nodeIntegration: false,
        nodeIntegrationInWorker: false,
        nodeIntegrationInSubFrames: false,
        webSecurity: true,
        allowRunningInsecureContent: false,
        webviewTag: false,
        spellcheck: false,
        navigateOnDragDrop: false,
      },
    });
    const id = win.webContents.id;
    trusted.add(id);
    windows.push(win);
    win.on('closed', () => {
      trusted.delete(id);
      const i = windows.indexOf(win);
      if (i >= 0) windows.splice(i, 1);
    });
    win.once('ready-to-show', () => win.show());
    if (deps.devServerUrl !== undefined) void win.loadURL(deps.devServerUrl); else void win.loadFile(deps.rendererIndex);
    return win;
  }

  refreshMenu();
  createWindow();
  app.on('activate', () => { if (BrowserWindow.getAllWindows().length === 0) createWindow(); });
  app.on('window-all-closed', () => { if (deps.platform !== 'darwin') app.quit(); });

  return {
    origin, engine, settings, windows: () => [...windows], createWindow,
    close: () => engine.close(),
  };
}
