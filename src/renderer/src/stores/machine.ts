// The machine: setup (guest, boot type, memory, vCPUs, generation, exit controls), the engine's
// state, the guest's screen and serial output, and the commands. Engine events arrive through
// the platform and are dispatched here once (init); stats batches go on to the exit store and
// the chart feed.
import { defineStore } from 'pinia';
import { markRaw, ref, shallowRef, computed } from 'vue';
import { presetControls, MASK_KEY, PRESET_LISTS, type ControlInfo } from '../../../core/engine/controls-catalog';
import { ProcBasedCtls } from '../../../core/vmx/controls';
import type {
  ControlPreset, EngineEvent, EngineState, IdRangeSetting, LoadedInfo, MsrListMode, MachineSettings, ScreenSnapshot, StatsBatch, StopInfo,
} from '../../../core/engine/protocol';
import { defaultSettings } from '../../../core/engine/settings';
import { hostedUnavailableReason } from '../../../core/engine/hosted-mode';
import type { GenerationName } from '../../../core/vmx/generations';
import type { ExportKind, MenuAction, RecentFile } from '../../../main/ipc';
import { chartFeed } from '../charts/feed';
import { GUESTS, guestById, guestBytes } from '../guests';
import { platform, type PickedImage } from '../platform';
import { useAppStore, VIEWS, type View } from './app';
import { useExitStore } from './exits';

/** Serial text listeners (the terminal): kept out of reactivity, called per event. */
const serialListeners = new Set<(text: string) => void>();
export function onSerialText(fn: (text: string) => void): () => void {
  serialListeners.add(fn);
  return () => { serialListeners.delete(fn); };
}

/** The serial log the store keeps (for search and tests): the last SERIAL_LOG_MAX characters. */
export const SERIAL_LOG_MAX = 65536;

/** The settings as the setup form edits them. */
export type EditableSettings = { -readonly [K in keyof MachineSettings]: MachineSettings[K] };

export const useMachineStore = defineStore('machine', () => {
  const app = useAppStore();
  const exits = useExitStore();

  const settings = ref<EditableSettings>(defaultSettings());
  const guestId = ref<string | null>(GUESTS[0]!.id);
  /** A user image (not a built-in guest), or null. */
  const picked = shallowRef<PickedImage | null>(null);
  const markerOn = ref(true);
  const markerText = ref(GUESTS[0]!.marker ?? '');
  const state = ref<EngineState>('empty');
  const stop = ref<StopInfo | null>(null);
  const loaded = shallowRef<LoadedInfo | null>(null);
  const screen = shallowRef<ScreenSnapshot | null>(null);
  const stats = shallowRef<StatsBatch | null>(null);
  const serialLog = shallowRef('');
  const recent = ref<RecentFile[]>([]);
  const busy = ref(false);
  let unsubscribe: (() => void) | null = null;

  const imageName = computed(() => picked.value?.name ?? guestById(guestId.value)?.name ?? null);
  const canRun = computed(() => state.value === 'ready' || state.value === 'paused');
  const running = computed(() => state.value === 'running');
  /** Why hosted mode cannot run on the chosen generation, or null (any vCPU count runs). */
  const hostedReason = computed(() => hostedUnavailableReason(settings.value.generation));

  function onEvent(ev: EngineEvent): void {
    switch (ev.type) {
      case 'state': state.value = ev.state; stop.value = ev.stop; return;
      case 'loaded': loaded.value = markRaw(ev.info); return;
      case 'screen': screen.value = markRaw(ev.screen); return;
      case 'serial': {
        if (ev.port === 'com2') return;
        const log = serialLog.value + ev.text;
        serialLog.value = log.length > SERIAL_LOG_MAX ? log.slice(-SERIAL_LOG_MAX) : log;
        for (const l of serialListeners) l(ev.text);
        return;
      }
      case 'stats':
        stats.value = markRaw(ev.stats);
        exits.ingest(ev.stats);
        chartFeed.update(ev.stats.exits, ev.stats.virtualNs);
        return;
      case 'error':
        app.notify('error', ev.error.message);
        return;
      default:
    }
  }

  async function init(): Promise<void> {
    const p = platform();
    unsubscribe?.();
    unsubscribe = p.onEvent(onEvent);
    p.onMenu((a) => { void onMenu(a); });
    const saved = await p.loadSettings().catch(() => null);
    if (saved !== null) {
      // Settings saved by an older version lack the exit-control lists: KVM's fill them in.
      settings.value = { ...saved.machine, exitControls: { ...PRESET_LISTS.kvm, ...saved.machine.exitControls } };
      app.setTheme(saved.theme);
      if (saved.guest !== null && guestById(saved.guest) !== undefined) selectGuest(saved.guest);
    }
    recent.value = await p.recent().catch(() => []);
  }

  /** The settings as a plain object: Vue's reactive proxies cannot cross postMessage or IPC
   *  (structured clone refuses a Proxy), and the lists inside are proxies too. */
  function plainSettings(): EditableSettings {
    return JSON.parse(JSON.stringify(settings.value)) as EditableSettings;
  }

  function persist(): void {
    void platform().saveSettings({ machine: plainSettings(), theme: app.theme, guest: guestId.value }).catch(() => undefined);
  }

  function selectGuest(id: string): void {
    const g = guestById(id);
    if (g === undefined) return;
    guestId.value = id;
    picked.value = null;
    markerText.value = g.marker ?? '';
    markerOn.value = g.marker !== null;
  }

  function usePicked(img: PickedImage): void {
    picked.value = markRaw(img);
    guestId.value = null;
    markerOn.value = false;
  }

  function currentImage(): PickedImage | null {
    if (picked.value !== null) return picked.value;
    const g = guestById(guestId.value);
    return g === undefined ? null : { kind: 'bytes', name: g.file.split('/').pop()!, bytes: guestBytes(g.id) };
  }

  function effectiveSettings(): MachineSettings {
    const marker = markerOn.value && markerText.value !== '' ? markerText.value : null;
    return { ...plainSettings(), marker };
  }

  /** Loads the chosen image with the current settings into a new machine. */
  async function load(): Promise<void> {
    const img = currentImage();
    if (img === null) { app.notify('error', 'Choose a built-in guest or open an image first.'); return; }
    busy.value = true;
    serialLog.value = '';
    for (const l of serialListeners) l('\x1bc');
    exits.reset();
    chartFeed.clear();
    try {
      await platform().load(img, effectiveSettings());
      persist();
    } catch (e) {
      app.notify('error', (e as Error).message);
    } finally {
      busy.value = false;
    }
  }

  async function run(): Promise<void> {
    if (state.value === 'empty' || state.value === 'stopped') await load();
    platform().send({ type: 'run' });
  }
  const pause = (): void => platform().send({ type: 'pause' });
  const step = async (): Promise<void> => {
    if (state.value === 'empty' || state.value === 'stopped') await load();
    platform().send({ type: 'step' });
  };
  const reset = (): void => {
    serialLog.value = '';
    for (const l of serialListeners) l('\x1bc');
    exits.reset();
    chartFeed.clear();
    if (state.value === 'empty') { void load(); return; }
    platform().send({ type: 'reset' });
  };
  function setMarker(on: boolean, text: string): void {
    markerOn.value = on;
    markerText.value = text;
    if (state.value !== 'empty') platform().send({ type: 'setMarker', marker: on && text !== '' ? text : null });
  }
  const key = (code: string, down: boolean): void => { if (state.value !== 'empty') platform().send({ type: 'key', code, down }); };
  const serialInput = (data: string): void => { if (state.value !== 'empty') platform().send({ type: 'serialInput', data }); };

  function setGeneration(g: GenerationName): void {
    if (g === settings.value.generation) return; // choosing the same one again keeps custom controls
    const preset = settings.value.exitControls.preset;
    // Hosted is the default where it can run: a generation without it forces bare, and leaving
    // such a generation for one with it goes back to hosted (a bare choice elsewhere stays).
    const wasForcedBare = hostedUnavailableReason(settings.value.generation) !== null;
    settings.value.generation = g;
    if (hostedUnavailableReason(g) !== null) settings.value.mode = 'bare';
    else if (wasForcedBare) setMode('hosted');
    // Keep the preset's meaning on the new generation; custom masks keep what it allows.
    const old = settings.value.exitControls;
    settings.value.exitControls = presetControls(preset === 'custom' ? 'kvm' : preset, g);
    if (preset === 'custom') {
      // Custom lists (ports, MSRs, exceptions) mean the same on every generation: kept.
      settings.value.exitControls = { ...settings.value.exitControls, preset: 'custom', ioPorts: old.ioPorts, msrMode: old.msrMode, msrs: old.msrs, exceptionBitmap: old.exceptionBitmap };
    }
    persist();
  }
  function setMode(mode: 'bare' | 'hosted'): void {
    if (mode === 'hosted' && hostedUnavailableReason(settings.value.generation) !== null) return;
    settings.value.mode = mode;
    persist();
  }
  function applyPreset(p: ControlPreset): void {
    settings.value.exitControls = presetControls(p, settings.value.generation);
    persist();
  }
  function toggleControl(c: ControlInfo, on: boolean): void {
    const key = MASK_KEY[c.field];
    const ec = settings.value.exitControls;
    const v = on ? (ec[key] | c.mask) >>> 0 : (ec[key] & ~c.mask) >>> 0;
    settings.value.exitControls = { ...ec, [key]: v, preset: 'custom' };
    persist();
  }

  /** The I/O ports that exit; a list turns 'use I/O bitmaps' on and unconditional I/O exiting
   *  off (the list means nothing otherwise: hosted-mode.ts). */
  function setIoPorts(ports: readonly IdRangeSetting[]): void {
    const ec = settings.value.exitControls;
    const proc = ports.length > 0 ? ((ec.proc | ProcBasedCtls.UseIoBitmaps) & ~ProcBasedCtls.UnconditionalIoExiting) >>> 0 : ec.proc;
    settings.value.exitControls = { ...ec, proc, ioPorts: ports.map((r) => ({ first: r.first, last: r.last })), preset: 'custom' };
    persist();
  }
  /** The MSR list and what it means; turns 'use MSR bitmaps' on. */
  function setMsrs(mode: MsrListMode, msrs: readonly IdRangeSetting[]): void {
    const ec = settings.value.exitControls;
    const proc = (ec.proc | ProcBasedCtls.UseMsrBitmaps) >>> 0;
    settings.value.exitControls = { ...ec, proc, msrMode: mode, msrs: msrs.map((r) => ({ first: r.first, last: r.last })), preset: 'custom' };
    persist();
  }
  function setExceptionBitmap(bits: number): void {
    settings.value.exitControls = { ...settings.value.exitControls, exceptionBitmap: bits >>> 0, preset: 'custom' };
    persist();
  }

  async function openImage(): Promise<void> {
    try {
      const img = await platform().openImage();
      if (img !== null) { usePicked(img); recent.value = await platform().recent(); await load(); }
    } catch (e) { app.notify('error', (e as Error).message); }
  }
  async function openRecent(path: string): Promise<void> {
    try {
      const img = await platform().openRecent(path);
      if (img !== null) { usePicked(img); await load(); }
    } catch (e) { app.notify('error', (e as Error).message); }
  }
  async function dropFile(f: File): Promise<void> {
    try {
      usePicked({ kind: 'bytes', name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) });
      await load();
    } catch (e) { app.notify('error', `${f.name}: ${(e as Error).message}`); }
  }

  async function exportAs(kind: ExportKind): Promise<void> {
    try {
      const msg = await exits.exportAs(kind, loaded.value?.name ?? 'guest');
      if (msg !== '') app.notify('info', msg);
    } catch (e) { app.notify('error', (e as Error).message); }
  }

  async function onMenu(a: MenuAction): Promise<void> {
    switch (a.action) {
      case 'open-image': await openImage(); return;
      case 'opened': usePicked({ kind: 'file', name: a.file.name, handle: a.file.handle, size: a.file.size }); recent.value = await platform().recent(); await load(); return;
      case 'export': await exportAs(a.kind); return;
      case 'run': await run(); return;
      case 'pause': pause(); return;
      case 'step': await step(); return;
      case 'reset': reset(); return;
      case 'view': if ((VIEWS as readonly string[]).includes(a.view)) app.view = a.view as View; return;
      case 'about': app.notify('info', `vmxlab ${app.version ?? ''}: Intel VT-x on an x86 interpreter in TypeScript.`); return;
    }
  }

  return {
    settings, guestId, picked, markerOn, markerText, state, stop, loaded, screen, stats, serialLog, recent, busy,
    imageName, canRun, running,
    init, onEvent, selectGuest, usePicked, load, run, pause, step, reset, setMarker, key, serialInput, setGeneration, setMode, hostedReason,
    applyPreset, toggleControl, setIoPorts, setMsrs, setExceptionBitmap, openImage, openRecent, dropFile, exportAs, persist, onMenu,
  };
});
