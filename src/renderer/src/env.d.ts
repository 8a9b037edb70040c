/// <reference types="vite/client" />

declare module '*.vue' {
  import type { DefineComponent } from 'vue';
  const component: DefineComponent<object, object, unknown>;
  export default component;
}

interface Window {
  /** Present in the Electron app (exposed by the preload); absent in the browser build. */
  vmxlab?: import('../../main/ipc').VmxlabApi;
}

declare module 'virtual:vmxlab-guests' {
  /** Built-in guest images by id, base64 (vite.guests.mts). */
  const images: Readonly<Record<string, string>>;
  export default images;
}
