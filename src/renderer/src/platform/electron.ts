// The desktop platform: everything goes through the preload's narrow API (window.vmxlab).
import type { VmxlabApi } from '../../../main/ipc';
import type { Platform } from './types';

export function electronPlatform(api: VmxlabApi): Platform {
  return {
    kind: 'electron',
    version: () => api.version(),
    send: (cmd) => { void api.engineCommand(cmd); },
    request: (req) => api.engineRequest(req),
    load: (image, settings) => api.loadImage({
      source: image.kind === 'bytes' ? { kind: 'bytes', name: image.name, bytes: image.bytes } : { kind: 'file', handle: image.handle },
      settings,
    }),
    onEvent: (cb) => api.onEngineEvent(cb),
    openImage: async () => {
      const f = await api.openImageDialog();
      return f === null ? null : { kind: 'file', name: f.name, handle: f.handle, size: f.size };
    },
    recent: () => api.recentImages(),
    openRecent: async (path) => {
      const f = await api.openRecentImage(path);
      return f === null ? null : { kind: 'file', name: f.name, handle: f.handle, size: f.size };
    },
    exportFile: async (kind, name, content) => {
      const r = await api.saveExport({ kind, defaultName: name, content });
      return r.saved ? `Saved ${r.path}` : '';
    },
    loadSettings: () => api.getSettings(),
    saveSettings: (s) => api.setSettings(s),
    onMenu: (cb) => api.onMenu(cb),
  };
}
