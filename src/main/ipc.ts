// IPC contract shared by the main process, the preload and the renderer (in the manner of
// GitHub Desktop's ipc-shared.ts): every channel declared once, with its argument and result
// types; request/response channels return promises; events are pushed from main.
// This file must stay free of runtime imports (no 'electron', no Node): the renderer
// type-checks against it and the preload bundles it into a sandboxed script.
import type {
  EngineCommand, EngineEvent, EngineRequest, EngineRequestKind, EngineResult, MachineSettings,
} from '../core/engine/protocol';

/** Channels the renderer invokes (ipcRenderer.invoke -> ipcMain.handle). */
export const IpcChannel = {
  version: 'vmxlab:version',
  /** An engine command other than load and request (run, pause, key, ...). */
  engineCommand: 'vmxlab:engine:command',
  /** An engine request; main assigns the id and resolves with the result. */
  engineRequest: 'vmxlab:engine:request',
  /** Load an image: bytes the renderer holds (built-in guest, dropped file) or a file handle. */
  loadImage: 'vmxlab:engine:load',
  /** The open-file dialog: main reads only the file the user picks. */
  openImageDialog: 'vmxlab:file:open',
  recentImages: 'vmxlab:file:recent',
  openRecentImage: 'vmxlab:file:open-recent',
  /** The save dialog for an export (CSV, JSON profile, trace). */
  saveExport: 'vmxlab:export:save',
  getSettings: 'vmxlab:settings:get',
  setSettings: 'vmxlab:settings:set',
} as const;

/** Channels main pushes to the renderer (webContents.send -> ipcRenderer.on). */
export const IpcEvent = {
  engine: 'vmxlab:event:engine',
  menu: 'vmxlab:event:menu',
} as const;

export type IpcChannelName = (typeof IpcChannel)[keyof typeof IpcChannel];
export type IpcEventName = (typeof IpcEvent)[keyof typeof IpcEvent];

/** Commands the renderer may send directly (load and request have their own channels). */
export type UiEngineCommand = Exclude<EngineCommand, { type: 'load' } | { type: 'request' }>;

/** A file main opened for the user: the renderer only ever holds its handle. */
export interface OpenedFile {
  readonly handle: string;
  readonly name: string;
  readonly size: number;
}

export interface RecentFile {
  /** Full path, for display and for openRecentImage (main accepts only paths on its list). */
  readonly path: string;
  readonly name: string;
  readonly openedAt: number;
}

export type ImageSource =
  | { readonly kind: 'bytes'; readonly name: string; readonly bytes: Uint8Array }
  | { readonly kind: 'file'; readonly handle: string };

export interface LoadRequest {
  readonly source: ImageSource;
  readonly settings: MachineSettings;
}

export const EXPORT_KINDS = ['csv', 'profile', 'trace'] as const;
export type ExportKind = (typeof EXPORT_KINDS)[number];

export interface ExportRequest {
  readonly kind: ExportKind;
  readonly defaultName: string;
  readonly content: string;
}
export interface ExportResult { readonly saved: boolean; readonly path: string | null }

/** What the renderer persists between sessions (the user-data folder in the app). */
export interface UiSettings {
  readonly machine: MachineSettings;
  readonly theme: 'dark' | 'light';
  readonly guest: string | null;
}

/** Menu actions main forwards to the renderer. */
export type MenuAction =
  | { readonly action: 'open-image' }
  | { readonly action: 'opened'; readonly file: OpenedFile }
  | { readonly action: 'export'; readonly kind: ExportKind }
  | { readonly action: 'run' | 'pause' | 'step' | 'reset' }
  | { readonly action: 'view'; readonly view: string }
  | { readonly action: 'about' };

/** Arguments and result of each `invoke` channel. */
export interface IpcInvokeMap {
  [IpcChannel.version]: { args: []; result: string };
  [IpcChannel.engineCommand]: { args: [UiEngineCommand]; result: void };
  [IpcChannel.engineRequest]: { args: [EngineRequest]; result: unknown };
  [IpcChannel.loadImage]: { args: [LoadRequest]; result: void };
  [IpcChannel.openImageDialog]: { args: []; result: OpenedFile | null };
  [IpcChannel.recentImages]: { args: []; result: RecentFile[] };
  [IpcChannel.openRecentImage]: { args: [string]; result: OpenedFile | null };
  [IpcChannel.saveExport]: { args: [ExportRequest]; result: ExportResult };
  [IpcChannel.getSettings]: { args: []; result: UiSettings | null };
  [IpcChannel.setSettings]: { args: [UiSettings]; result: void };
}

/** Payload of each pushed event. */
export interface IpcEventMap {
  [IpcEvent.engine]: EngineEvent;
  [IpcEvent.menu]: MenuAction;
}

/** The API the preload exposes to the renderer as `window.vmxlab`. Narrow functions only. */
export interface VmxlabApi {
  version(): Promise<string>;
  engineCommand(cmd: UiEngineCommand): Promise<void>;
  engineRequest<K extends EngineRequestKind>(req: Extract<EngineRequest, { kind: K }>): Promise<EngineResult<K>>;
  loadImage(req: LoadRequest): Promise<void>;
  openImageDialog(): Promise<OpenedFile | null>;
  recentImages(): Promise<RecentFile[]>;
  openRecentImage(path: string): Promise<OpenedFile | null>;
  saveExport(req: ExportRequest): Promise<ExportResult>;
  getSettings(): Promise<UiSettings | null>;
  setSettings(s: UiSettings): Promise<void>;
  /** Subscribes to engine events; returns the unsubscribe function. */
  onEngineEvent(cb: (ev: EngineEvent) => void): () => void;
  onMenu(cb: (a: MenuAction) => void): () => void;
}

/** The functions of VmxlabApi, for the preload's exhaustiveness test. */
export const API_FUNCTIONS = [
  'version', 'engineCommand', 'engineRequest', 'loadImage', 'openImageDialog', 'recentImages', 'openRecentImage',
  'saveExport', 'getSettings', 'setSettings', 'onEngineEvent', 'onMenu',
] as const satisfies readonly (keyof VmxlabApi)[];

/** The global name under which the preload exposes {@link VmxlabApi}. */
export const API_KEY = 'vmxlab';
