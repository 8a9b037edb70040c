// The parts of Electron and Node the main process uses, as narrow interfaces: index.ts passes
// the real modules, the tests a recorded stand-in (test/main/fake-electron.ts). Nothing here
// imports 'electron' at run time.
import type {
  BrowserWindowConstructorOptions, IpcMainInvokeEvent, MenuItemConstructorOptions, OpenDialogOptions,
  SaveDialogOptions, WebContents,
} from 'electron';

export interface WindowLike {
  readonly webContents: WebContentsLike;
  loadURL(url: string): Promise<void>;
  loadFile(path: string): Promise<void>;
  once(event: 'ready-to-show', fn: () => void): unknown;
  on(event: 'closed', fn: () => void): unknown;
  show(): void;
  isDestroyed(): boolean;
}

export interface WebContentsLike {
  readonly id: number;
  readonly mainFrame: unknown;
  send(channel: string, payload: unknown): void;
  on(event: 'will-navigate' | 'will-redirect', fn: (e: { preventDefault(): void }, url: string) => void): unknown;
  on(event: 'will-attach-webview', fn: (e: { preventDefault(): void }) => void): unknown;
  setWindowOpenHandler(fn: (details: { url: string }) => { action: 'deny' }): void;
  isDestroyed(): boolean;
}

/** What an ipcMain handler sees of the event (Electron's IpcMainInvokeEvent). */
export type InvokeEvent = Pick<IpcMainInvokeEvent, 'senderFrame'> & { readonly sender: Pick<WebContents, 'id'> | WebContentsLike };

export interface ElectronDeps {
  readonly app: {
    getVersion(): string;
    getPath(name: 'userData'): string;
    whenReady(): Promise<unknown>;
    on(event: 'web-contents-created', fn: (e: unknown, contents: WebContentsLike) => void): unknown;
    on(event: 'window-all-closed' | 'activate', fn: () => void): unknown;
    quit(): void;
    enableSandbox(): void;
    readonly commandLine: { appendSwitch(name: string, value?: string): void };
  };
  readonly BrowserWindow: {
    new (options: BrowserWindowConstructorOptions): WindowLike;
    getAllWindows(): WindowLike[];
  };
  readonly ipcMain: {
    handle(channel: string, fn: (event: InvokeEvent, ...args: unknown[]) => unknown): void;
  };
  readonly session: {
    readonly defaultSession: {
      readonly webRequest: {
        onHeadersReceived(fn: (details: { responseHeaders?: Record<string, string[]> }, cb: (r: { responseHeaders: Record<string, string[]> }) => void) => void): void;
      };
      setPermissionRequestHandler(fn: (wc: unknown, permission: string, cb: (granted: boolean) => void) => void): void;
      setPermissionCheckHandler(fn: () => boolean): void;
    };
  };
  readonly dialog: {
    showOpenDialog(win: WindowLike, options: OpenDialogOptions): Promise<{ canceled: boolean; filePaths: string[] }>;
    showSaveDialog(win: WindowLike, options: SaveDialogOptions): Promise<{ canceled: boolean; filePath?: string }>;
    showMessageBox(win: WindowLike, options: { type?: 'info'; title?: string; message: string; detail?: string }): Promise<unknown>;
  };
  readonly Menu: {
    buildFromTemplate(template: MenuItemConstructorOptions[]): unknown;
    setApplicationMenu(menu: unknown): void;
  };
}

/** A worker thread as main uses it (node:worker_threads Worker). */
export interface WorkerLike {
  postMessage(message: unknown, transfer?: readonly ArrayBuffer[]): void;
  on(event: 'message', fn: (m: unknown) => void): unknown;
  on(event: 'error', fn: (e: Error) => void): unknown;
  on(event: 'exit', fn: (code: number) => void): unknown;
  terminate(): Promise<number>;
}

/** File access main needs: reading the files the user chose, the settings file, exports. */
export interface FsLike {
  readFile(path: string): Promise<Uint8Array>;
  readText(path: string): Promise<string | null>;
  writeText(path: string, text: string): Promise<void>;
  size(path: string): Promise<number>;
}

export interface MainDeps {
  readonly electron: ElectronDeps;
  readonly createWorker: () => WorkerLike;
  readonly fs: FsLike;
  /** out/preload/preload.js */
  readonly preloadPath: string;
  /** out/renderer/index.html */
  readonly rendererIndex: string;
  /** The electron-vite dev server URL, when running `npm run dev`. */
  readonly devServerUrl?: string;
  readonly platform: string;
}
