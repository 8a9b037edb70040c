// The renderer's one view of where it runs: the desktop app (the preload's window.vmxlab, the
// engine in a worker thread of the main process) or the browser (the engine in a Web Worker,
// downloads for exports, localStorage for settings). Stores and views talk only to this.
import type { EngineEvent, EngineRequest, EngineRequestKind, EngineResult, MachineSettings } from '../../../core/engine/protocol';
import type { ExportKind, MenuAction, RecentFile, UiEngineCommand, UiSettings } from '../../../main/ipc';

export type HostKind = 'electron' | 'browser';

/** An image the user picked: bytes the renderer holds, or a file the main process opened. */
export type PickedImage =
  | { readonly kind: 'bytes'; readonly name: string; readonly bytes: Uint8Array }
  | { readonly kind: 'file'; readonly name: string; readonly handle: string; readonly size: number };

export interface Platform {
  readonly kind: HostKind;
  version(): Promise<string | null>;
  send(cmd: UiEngineCommand): void;
  request<K extends EngineRequestKind>(req: Extract<EngineRequest, { kind: K }>): Promise<EngineResult<K>>;
  load(image: PickedImage, settings: MachineSettings): Promise<void>;
  onEvent(cb: (ev: EngineEvent) => void): () => void;
  /** The open-file dialog (desktop) or a file input (browser); null when cancelled. */
  openImage(): Promise<PickedImage | null>;
  recent(): Promise<RecentFile[]>;
  openRecent(path: string): Promise<PickedImage | null>;
  /** Saves an export; resolves to a message for the user ('' when cancelled). */
  exportFile(kind: ExportKind, name: string, content: string): Promise<string>;
  loadSettings(): Promise<UiSettings | null>;
  saveSettings(s: UiSettings): Promise<void>;
  onMenu(cb: (a: MenuAction) => void): () => void;
}
