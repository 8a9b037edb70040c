import { beforeEach, describe, expect, it, vi } from 'vitest';
import { API_FUNCTIONS, IpcChannel, IpcEvent } from '../../src/main/ipc';

// A recorded stand-in for the two Electron APIs the preload may use.
const electron = vi.hoisted(() => {
  const exposed: Array<{ key: string; api: unknown }> = [];
  const listeners = new Map<string, ((event: unknown, payload: unknown) => void)[]>();
  return {
    exposed,
    listeners,
    contextBridge: {
      exposeInMainWorld: vi.fn((key: string, api: unknown) => {
        exposed.push({ key, api });
      }),
    },
    ipcRenderer: {
      invoke: vi.fn(async (channel: string, ...args: unknown[]) => (channel === 'vmxlab:version' ? '9.9.9-test' : { channel, args })),
      send: vi.fn(),
      sendSync: vi.fn(),
      on: vi.fn((channel: string, fn: (event: unknown, payload: unknown) => void) => {
        listeners.set(channel, [...(listeners.get(channel) ?? []), fn]);
      }),
      removeListener: vi.fn((channel: string, fn: (event: unknown, payload: unknown) => void) => {
        listeners.set(channel, (listeners.get(channel) ?? []).filter((f) => f !== fn));
      }),
      once: vi.fn(),
    },
  };
});

vi.mock('electron', () => ({
  contextBridge: electron.contextBridge,
  ipcRenderer: electron.ipcRenderer,
}));

type Api = Record<string, (...args: unknown[]) => unknown>;

async function loadPreload(): Promise<Api> {
  vi.resetModules();
  electron.exposed.length = 0;
  electron.listeners.clear();
  await import('../../src/main/preload');
  expect(electron.exposed).toHaveLength(1);
  const [only] = electron.exposed;
  return only!.api as Api;
}

describe('preload', () => {
  beforeEach(() => {
    vi.clearAllMocks();
  });

  it("exposes exactly one object, as 'vmxlab'", async () => {
    await loadPreload();
    expect(electron.contextBridge.exposeInMainWorld).toHaveBeenCalledTimes(1);
    expect(electron.exposed[0]!.key).toBe('vmxlab');
  });

  it('exposes exactly the functions of VmxlabApi and nothing else, frozen', async () => {
    const api = await loadPreload();
    expect(Object.keys(api).sort()).toEqual([...API_FUNCTIONS].sort());
    for (const value of Object.values(api)) expect(typeof value).toBe('function');
    expect(Object.isFrozen(api)).toBe(true);
  });

  it('does not hand Electron objects to the page', async () => {
    const api = await loadPreload();
    for (const value of Object.values(api)) {
      expect(value).not.toBe(electron.ipcRenderer);
      expect(value).not.toBe(electron.ipcRenderer.invoke);
      expect(value).not.toBe(electron.ipcRenderer.on);
    }
  });

  it('each request function invokes its own channel with its arguments only', async () => {
    const api = await loadPreload();
    await expect(api['version']!()).resolves.toBe('9.9.9-test');
    const calls: [string, unknown[], string][] = [
      ['engineCommand', [{ type: 'run' }], IpcChannel.engineCommand],
      ['engineRequest', [{ kind: 'status' }], IpcChannel.engineRequest],
      ['loadImage', [{ source: { kind: 'file', handle: 'f1' } }], IpcChannel.loadImage],
      ['openImageDialog', [], IpcChannel.openImageDialog],
      ['recentImages', [], IpcChannel.recentImages],
      ['openRecentImage', ['/a.img'], IpcChannel.openRecentImage],
      ['saveExport', [{ kind: 'csv', defaultName: 'a.csv', content: '' }], IpcChannel.saveExport],
      ['getSettings', [], IpcChannel.getSettings],
      ['setSettings', [{ theme: 'dark' }], IpcChannel.setSettings],
    ];
    for (const [fn, args, channel] of calls) {
      await expect(api[fn]!(...args)).resolves.toEqual({ channel, args });
    }
    expect(electron.ipcRenderer.send).not.toHaveBeenCalled();
    expect(electron.ipcRenderer.sendSync).not.toHaveBeenCalled();
  });

  it('event subscriptions pass the payload only (never the IPC event) and unsubscribe', async () => {
    const api = await loadPreload();
    const got: unknown[] = [];
    const off = api['onEngineEvent']!((p: unknown) => got.push(p)) as () => void;
    const [listener] = electron.listeners.get(IpcEvent.engine)!;
    listener!({ sender: 'secret ipc event' }, { type: 'state', state: 'ready', stop: null });
    expect(got).toEqual([{ type: 'state', state: 'ready', stop: null }]);
    off();
    expect(electron.listeners.get(IpcEvent.engine)).toEqual([]);
    const offMenu = api['onMenu']!(() => undefined) as () => void;
    expect(electron.listeners.get(IpcEvent.menu)).toHaveLength(1);
    offMenu();
    expect(electron.listeners.get(IpcEvent.menu)).toEqual([]);
  });

  it('does nothing with ipcRenderer at load time', async () => {
    await loadPreload();
    expect(electron.ipcRenderer.invoke).not.toHaveBeenCalled();
    expect(electron.ipcRenderer.send).not.toHaveBeenCalled();
    expect(electron.ipcRenderer.on).not.toHaveBeenCalled();
  });
});
