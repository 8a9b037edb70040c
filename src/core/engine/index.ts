// The engine: run loop, commands in, events out (protocol.ts). Hosts: src/main/engine-worker.ts
// (worker_threads) and src/renderer/src/platform/engine.worker.ts (Web Worker).
export * from './protocol';
export { Engine, type EngineHost } from './engine';
export { defaultSettings, checkSettings } from './settings';
export {
  controlHonoured, defaultModeFor, hostedExitControls, hostedUnavailableReason, pagingModeFor, HONOURED_CONTROLS, PANEL_PREEMPTION_TICK, type PagingMode,
} from './hosted-mode';
export { hostedPaging } from './paging-info';
export {
  CONTROLS, CONTROL_FIELDS, MASK_KEY, PRESET_LABELS, controlState, disallowedControls, generationCaps, presetControls,
  type ControlInfo, type ControlState, type ControlAvailability,
} from './controls-catalog';
