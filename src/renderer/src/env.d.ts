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
