// Preload script: runs sandboxed (sandbox: true, contextIsolation: true), so it may only use
// 'electron' and must be bundled into a single CommonJS file. It exposes exactly the
// VmxlabApi surface: one narrow function per channel; never ipcRenderer itself, never an
// IpcRendererEvent (listeners get the payload only).
import { contextBridge, ipcRenderer } from 'electron';
import { API_KEY, IpcChannel, IpcEvent, type IpcEventMap, type IpcEventName, type VmxlabApi } from './ipc';

function subscribe<E extends IpcEventName>(channel: E, cb: (payload: IpcEventMap[E]) => void): () => void {
  const listener = (_event: unknown, payload: IpcEventMap[E]): void => cb(payload);
  ipcRenderer.on(channel, listener);
  return () => { ipcRenderer.removeListener(channel, listener); };
}

const api: VmxlabApi = {
  version: () => ipcRenderer.invoke(IpcChannel.version),
  engineCommand: (cmd) => ipcRenderer.invoke(IpcChannel.engineCommand, cmd),
  engineRequest: (req) => ipcRenderer.invoke(IpcChannel.engineRequest, req),
  loadImage: (req) => ipcRenderer.invoke(IpcChannel.loadImage, req),
  openImageDialog: () => ipcRenderer.invoke(IpcChannel.openImageDialog),
  recentImages: () => ipcRenderer.invoke(IpcChannel.recentImages),
  openRecentImage: (path) => ipcRenderer.invoke(IpcChannel.openRecentImage, path),
  saveExport: (req) => ipcRenderer.invoke(IpcChannel.saveExport, req),
  getSettings: () => ipcRenderer.invoke(IpcChannel.getSettings),
  setSettings: (s) => ipcRenderer.invoke(IpcChannel.setSettings, s),
  onEngineEvent: (cb) => subscribe(IpcEvent.engine, cb),
  onMenu: (cb) => subscribe(IpcEvent.menu, cb),
};

contextBridge.exposeInMainWorld(API_KEY, Object.freeze(api));
