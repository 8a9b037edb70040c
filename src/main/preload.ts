// Preload script: runs sandboxed (sandbox: true, contextIsolation: true), so it may only use
// 'electron' and must be bundled into a single CommonJS file. It exposes exactly the
// VmxlabApi surface; never hand ipcRenderer itself to the page.
import { contextBridge, ipcRenderer } from 'electron';
import { API_KEY, IpcChannel, type VmxlabApi } from './ipc';

const api: VmxlabApi = {
  version: () => ipcRenderer.invoke(IpcChannel.version) as Promise<string>,
};

contextBridge.exposeInMainWorld(API_KEY, Object.freeze(api));
