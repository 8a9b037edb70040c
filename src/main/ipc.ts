// IPC contract shared by the main process, the preload and the renderer.
// This file must stay free of runtime imports (no 'electron', no Node): the renderer
// type-checks against it and the preload bundles it into a sandboxed script.

/** Every IPC channel, by name. Main handles them with `ipcMain.handle`, the preload calls `ipcRenderer.invoke`. */
export const IpcChannel = {
  version: 'vmxlab:version',
} as const;

export type IpcChannelName = (typeof IpcChannel)[keyof typeof IpcChannel];

/** Arguments and result of each `invoke` channel. */
export interface IpcInvokeMap {
  [IpcChannel.version]: { args: []; result: string };
}

/** The API the preload exposes to the renderer as `window.vmxlab`. Keep it narrow. */
export interface VmxlabApi {
  /** The application version (from the main process). */
  version(): Promise<IpcInvokeMap[typeof IpcChannel.version]['result']>;
}

/** The global name under which the preload exposes {@link VmxlabApi}. */
export const API_KEY = 'vmxlab';
