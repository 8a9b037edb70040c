import { beforeEach, describe, expect, it, vi } from 'vitest';

// A recorded stand-in for the two Electron APIs the preload may use.
const electron = vi.hoisted(() => {
  const exposed: Array<{ key: string; api: unknown }> = [];
  return {
    exposed,
    contextBridge: {
      exposeInMainWorld: vi.fn((key: string, api: unknown) => {
        exposed.push({ key, api });
      }),
    },
    ipcRenderer: {
      invoke: vi.fn(async (channel: string) => (channel === 'vmxlab:version' ? '9.9.9-test' : undefined)),
      send: vi.fn(),
      sendSync: vi.fn(),
      on: vi.fn(),
      once: vi.fn(),
    },
  };
});

vi.mock('electron', () => ({
  contextBridge: electron.contextBridge,
  ipcRenderer: electron.ipcRenderer,
}));

async function loadPreload(): Promise<Record<string, unknown>> {
  vi.resetModules();
  electron.exposed.length = 0;
  await import('../../src/main/preload');
  expect(electron.exposed).toHaveLength(1);
  const [only] = electron.exposed;
  return only!.api as Record<string, unknown>;
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

  it('exposes exactly the functions of VmxlabApi and nothing else', async () => {
    const api = await loadPreload();
    expect(Object.keys(api).sort()).toEqual(['version']);
    for (const value of Object.values(api)) expect(typeof value).toBe('function');
    expect(Object.isFrozen(api)).toBe(true);
  });

  it('does not hand Electron objects to the page', async () => {
    const api = await loadPreload();
    for (const value of Object.values(api)) {
      expect(value).not.toBe(electron.ipcRenderer);
      expect(value).not.toBe(electron.ipcRenderer.invoke);
    }
  });

  it('version() invokes the version channel with no arguments', async () => {
    const api = await loadPreload();
    await expect((api['version'] as () => Promise<string>)()).resolves.toBe('9.9.9-test');
    expect(electron.ipcRenderer.invoke).toHaveBeenCalledTimes(1);
    expect(electron.ipcRenderer.invoke).toHaveBeenCalledWith('vmxlab:version');
  });

  it('does nothing else with ipcRenderer at load time', async () => {
    await loadPreload();
    expect(electron.ipcRenderer.invoke).not.toHaveBeenCalled();
    expect(electron.ipcRenderer.send).not.toHaveBeenCalled();
    expect(electron.ipcRenderer.sendSync).not.toHaveBeenCalled();
    expect(electron.ipcRenderer.on).not.toHaveBeenCalled();
    expect(electron.ipcRenderer.once).not.toHaveBeenCalled();
  });
});
