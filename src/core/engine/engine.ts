// The engine: the run loop around a PcMachine, driven by commands and reporting through events
// (protocol.ts). It runs in a worker (worker_threads in the desktop app, a Web Worker in the
// browser build) and knows neither: the host gives it a post function and timers.
//
// Time. Virtual time (retired instructions, src/core/platform/clock.ts) drives the guest and
// every device; the wall clock only decides how many slices run per second: each tick runs
// slices of at most SLICE_NS of virtual time for at most TICK_BUDGET_MS of wall time, then
// yields so commands get in. With 'realtime' pacing a tick stops where virtual time would run
// ahead of the wall clock since the run started; with 'max' it runs slices back to back. A run
// gives the same guest output either way.
//
// Robustness. Every command is checked as untrusted input and every handler catches: a bad
// image, bad settings, a malformed command or a host exception inside the core becomes an
// `error` event with a message, never an exception out of the engine.
import { ExitRecorder } from '../profile/recorder';
import { FanOutRecorder } from './fan-out-recorder';
import { buildProfile } from '../profile/profile-json';
import type { MachineStop, PcMachine } from '../platform/machine';
import { HostedVm, type HostedStop } from '../vmm/index';
import { exitSnapshot } from './exit-snapshot';
import { exitListenerHost, fillExitEvent } from './exit-tap';
import { hostedExitControls } from './hosted-mode';
import { hostedPaging } from './paging-info';
import { describeExits } from '../vmm/index';
import { buildMachine } from './machine-factory';
import { addressWalk } from './address-walk';
import {
  ADDRESS_SPACES, ENGINE_PROTOCOL_VERSION, PACINGS, type EngineCommand, type EngineError, type EngineErrorCode, type EngineEvent,
  type EngineRequest, type EngineState, type EngineStatus, type ExitSourceKind, type ImagePayload, type LoadedInfo,
  type MachineSettings, type Pacing, type SerialPort, type StatsBatch, type StopInfo, type StopKind,
} from './protocol';
import { screenSnapshot } from './screen';
import { checkSettings, generationTitle } from './settings';
import { VmcsHistory, vmcsSnapshot } from './vmcs-view';
import type { CurrentVmcs } from '../vmx/vmcs';

/** What the worker gives the engine. */
export interface EngineHost {
  post(event: EngineEvent): void;
  /** Wall-clock milliseconds (performance.now()). */
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

/** Virtual time per slice (ns): 2 ms. */
export const SLICE_NS = 2_000_000;
/** Wall time a tick may run before it yields to commands (ms). */
export const TICK_BUDGET_MS = 12;
/** Stats batches are sent at most this often while running (ms): 20 Hz. */
export const STATS_INTERVAL_MS = 50;
/** Screen snapshots at most this often (ms). */
export const SCREEN_INTERVAL_MS = 50;
/** A step without exits runs this much virtual time (ns): 1 ms. */
export const STEP_SLICE_NS = 1_000_000;
/** A step that waits for a VM exit gives up after this much virtual time (ns): 1 s. */
export const STEP_EXIT_CAP_NS = 1_000_000_000;
/** Realtime pacing never catches up more than this much lag at once (ms). */
const MAX_LAG_MS = 100;

interface Loaded {
  image: ImagePayload;
  settings: MachineSettings;
  info: LoadedInfo;
}

const STOP_MESSAGES: Readonly<Record<Exclude<MachineStop, 'budget' | 'stopped' | 'shutdown'>, string>> = {
  halted: 'the guest halted with interrupts disabled: nothing can wake the CPU',
  idle: 'the guest halted with no timer armed: nothing will ever happen',
  poweroff: 'the guest powered off (ACPI S5)',
};

export class Engine {
  private state: EngineState = 'empty';
  private loaded: Loaded | null = null;
  private m: PcMachine | null = null;
  /** Hosted mode: the VMM running the guest in VMX non-root operation; null in bare mode. */
  private vm: HostedVm | null = null;
  private stop: StopInfo | null = null;
  private timer: unknown = null;
  private pacing: Pacing = 'realtime';
  private marker: string | null = null;
  private markerSeen = '';
  private markerFound = false;
  /** The marker stopped the machine and the stop is not handled yet. */
  private markerJustFound = false;
  /** Recorders: [0] all vCPUs, [1 + v] vCPU v. */
  private recorders: ExitRecorder[] = [];
  private exitSource: ExitSourceKind = 'none';
  private scope: number | null = null;
  private trackVmcs = false;
  private histories: VmcsHistory[] = [];
  /** Non-null while a step runs: virtual ns left before it gives up. */
  private stepEndNs = -1;
  private stepWantsExit = false;
  private stepHitExit = false;
  private serialOut: Record<SerialPort, string> = { com1: '', com2: '', e9: '' };
  private lastScreenChanges = -1;
  private lastScreenAt = -Infinity;
  private lastStatsAt = -Infinity;
  private statsSeq = 0;
  private lastStatsWall = 0;
  private lastStatsInstr = 0;
  private lastStatsVirtNs = 0;
  private lastMips = 0;
  private lastSpeed = 0;
  private paceWall = 0;
  private paceVirtNs = 0;

  constructor(private readonly host: EngineHost) {
    host.post({ type: 'hello', protocol: ENGINE_PROTOCOL_VERSION });
  }

  /** Handles one command. Never throws. */
  handle(cmd: unknown): void {
    try {
      this.dispatch(cmd);
    } catch (e) {
      this.fail('internal', `engine: ${describe(cmd)}: ${(e as Error)?.message ?? String(e)}`);
    }
  }

  private dispatch(raw: unknown): void {
    if (typeof raw !== 'object' || raw === null || typeof (raw as { type?: unknown }).type !== 'string') {
      this.error('bad-command', `engine: a command must be an object with a 'type' (got ${describe(raw)})`);
      return;
    }
    const cmd = raw as EngineCommand;
    switch (cmd.type) {
      case 'load': this.load(cmd.image, cmd.settings); return;
      case 'run': if (this.need('run')) this.run(); return;
      case 'pause': if (this.need('pause')) this.pause(); return;
      case 'step': if (this.need('step')) this.step(); return;
      case 'reset': if (this.need('reset')) this.reset(); return;
      case 'setMarker': this.setMarker(cmd.marker); return;
      case 'setPacing':
        if (!(PACINGS as readonly unknown[]).includes(cmd.pacing)) { this.error('bad-command', `setPacing: one of ${PACINGS.join(', ')}`); return; }
        this.pacing = cmd.pacing; this.rebasePace(); return;
      case 'key':
        if (typeof cmd.code !== 'string' || typeof cmd.down !== 'boolean') { this.error('bad-command', 'key: needs a string code and a boolean down'); return; }
        if (!this.need('key')) return;
        // Keys the PS/2 keyboard has no scan code for are ignored (the browser sends many).
        if (cmd.down) this.m!.kbc.keyDown(cmd.code); else this.m!.kbc.keyUp(cmd.code);
        return;
      case 'serialInput':
        if (typeof cmd.data !== 'string' && !(cmd.data instanceof Uint8Array)) { this.error('bad-command', 'serialInput: data must be a string or bytes'); return; }
        if (!this.need('serialInput')) return;
        this.m!.com[0].receive(cmd.data);
        return;
      case 'statsScope':
        if (cmd.vcpu !== null && !(Number.isInteger(cmd.vcpu) && cmd.vcpu >= 0 && cmd.vcpu < 8)) { this.error('bad-command', 'statsScope: vcpu must be null or 0-7'); return; }
        this.scope = cmd.vcpu; this.postStats(); return;
      case 'trackVmcs':
        this.trackVmcs = cmd.on === true;
        if (!this.trackVmcs) for (const h of this.histories) h.clear();
        return;
      case 'request': this.request(cmd.id, cmd.request); return;
      default:
        this.error('bad-command', `engine: unknown command type '${String((cmd as { type: unknown }).type)}'`);
    }
  }

  private need(what: string): boolean {
    if (this.m !== null) return true;
    this.error('not-loaded', `${what}: no guest is loaded`);
    return false;
  }

  // ---- load and reset ----------------------------------------------------------------------

  private load(image: unknown, rawSettings: unknown): void {
    const img = image as ImagePayload | null;
    if (typeof img !== 'object' || img === null || typeof img.name !== 'string' || !(img.bytes instanceof Uint8Array)) {
      this.error('bad-command', 'load: image must be { name: string, bytes: Uint8Array }');
      return;
    }
    if (img.initrd != null && (typeof img.initrd.name !== 'string' || !(img.initrd.bytes instanceof Uint8Array))) {
      this.error('bad-command', 'load: initrd must be { name: string, bytes: Uint8Array }');
      return;
    }
    let settings: MachineSettings;
    try { settings = checkSettings(rawSettings); } catch (e) { this.error('bad-settings', (e as Error).message); return; }
    this.halt();
    let built;
    try {
      built = buildMachine(img, settings);
    } catch (e) {
      this.error('bad-image', `${img.name}: ${(e as Error).message}`);
      if (this.loaded === null) this.setState('empty', null);
      return;
    }
    const notes: string[] = [];
    const preset = settings.exitControls.preset === 'custom' ? 'custom' : settings.exitControls.preset;
    if (settings.mode === 'hosted') {
      const exits = hostedExitControls(settings.exitControls, settings.generation);
      notes.push(`Hosted mode: the guest runs in VMX non-root operation under vmxlab's VMM on the emulated ${generationTitle(settings.generation)}, ` +
        `exit controls (${preset}): ${describeExits(exits)}. The VMM sets the controls the panel marks "set by the VMM" itself.`);
      if (exits.ept === false) {
        notes.push('Shadow paging (no EPT with unrestricted guest): the VMM keeps shadow page tables from the guest\'s own, so MOV to CR3, INVLPG and page faults exit, ' +
          'and it emulates the guest\'s real-mode code itself (VMM-emulated instructions).');
      }
    } else {
      notes.push(`Exit controls (${preset}) take effect in hosted mode: in bare mode the guest runs directly on the emulated ${generationTitle(settings.generation)}.`);
    }
    const info: LoadedInfo = {
      name: img.name, size: img.bytes.length, format: built.format, evidence: built.evidence, summary: built.summary, settings, notes,
    };
    this.loaded = { image: img, settings, info };
    try {
      this.install(built.machine);
    } catch (e) {
      // The VMM refused the machine (checkSettings catches what it knows of beforehand).
      this.loaded = null; this.m = null; this.vm = null;
      this.error('bad-settings', `${img.name}: ${settings.mode} mode: ${(e as Error).message}`);
      this.setState('empty', null);
      return;
    }
    this.pacing = settings.pacing;
    this.marker = settings.marker;
    this.host.post({ type: 'loaded', info });
    this.setState('ready', null);
    this.postScreen(true);
    this.postStats();
  }

  private reset(): void {
    const l = this.loaded!;
    this.halt();
    try {
      this.install(buildMachine(l.image, l.settings).machine);
    } catch (e) {
      this.fail('internal', `reset: ${(e as Error).message}`);
      return;
    }
    this.setState('ready', null);
    this.postScreen(true);
    this.postStats();
  }

  /** Makes `m` the machine: serial and exit listeners, fresh recorders and counters. */
  private install(m: PcMachine): void {
    const s = this.loaded!.settings;
    this.m = m;
    this.markerSeen = '';
    this.markerFound = false;
    this.markerJustFound = false;
    this.serialOut = { com1: '', com2: '', e9: '' };
    this.lastScreenChanges = -1;
    this.statsSeq = 0;
    this.lastStatsInstr = 0;
    this.lastStatsVirtNs = 0;
    this.lastStatsWall = this.host.now();
    this.lastMips = 0;
    this.lastSpeed = 0;
    m.onSerial = (port, b) => this.onSerial(port, b);
    const cost = { generation: s.generation };
    const perVcpu = m.cpus.map((_, v) => new ExitRecorder({ cost, filter: { vcpu: v } }));
    // Hosted mode: the VMM records into one recorder, which hands each exit on to its vCPU's.
    this.recorders = [s.mode === 'hosted' ? new FanOutRecorder({ cost }, perVcpu) : new ExitRecorder({ cost }), ...perVcpu];
    this.histories = m.cpus.map(() => new VmcsHistory());
    this.vm = null;
    if (s.mode === 'hosted') { this.installHosted(m); return; }
    // Bare mode: the guest's own hypervisor's exits, where the VMX unit lets us see them.
    let tapped = 0;
    m.cpus.forEach((cpu, v) => {
      const host = exitListenerHost(cpu);
      if (host === null) return;
      const ev = this.recorders[0]!.event;
      const history = this.histories[v]!;
      const unit = cpu.vmx as unknown as { vmcs?: CurrentVmcs };
      host.addExitListener((r) => {
        fillExitEvent(ev, r, v, m.clock.nowNs());
        this.recorders[0]!.record(ev);
        this.recorders[1 + v]!.record(ev);
        if (this.trackVmcs && unit.vmcs !== undefined) history.capture(unit.vmcs);
        if (this.stepWantsExit) { this.stepHitExit = true; m.stop(); }
      });
      tapped++;
    });
    this.exitSource = tapped > 0 ? 'guest-hypervisor' : 'none';
  }

  /** Hosted mode: the VMM takes the CPUs (VMXON, VMCS, EPT) and records every exit it handles
   *  into the all-vCPU recorder, which passes it on to the exit's vCPU's recorder. */
  private installHosted(m: PcMachine): void {
    const s = this.loaded!.settings;
    const vm = new HostedVm(m, { generation: s.generation, recorder: this.recorders[0]!, exits: hostedExitControls(s.exitControls, s.generation) });
    this.vm = vm;
    vm.vcpus.forEach((vc, v) => {
      const history = this.histories[v];
      const unit = vc.root.unit as unknown as { vmcs?: CurrentVmcs; addExitListener(l: () => void): void };
      unit.addExitListener(() => {
        if (this.trackVmcs && history !== undefined && unit.vmcs !== undefined) history.capture(unit.vmcs);
        if (this.stepWantsExit) { this.stepHitExit = true; m.stop(); }
      });
    });
    this.exitSource = 'hosted';
  }

  // ---- run control -------------------------------------------------------------------------

  private run(): void {
    if (this.state === 'running' && this.stepEndNs < 0) return;
    if (this.state === 'stopped') { this.error('bad-command', `run: the run has ended (${this.stop?.message ?? 'stopped'}); reset to start again`); return; }
    this.stepEndNs = -1;
    this.stepWantsExit = false;
    this.rebasePace();
    this.setState('running', null);
    this.schedule(0);
  }

  private pause(): void {
    if (this.state !== 'running') return;
    this.halt();
    this.flushOutput(true);
    this.setState('paused', null);
  }

  private step(): void {
    if (this.state === 'stopped') { this.error('bad-command', 'step: the run has ended; reset to start again'); return; }
    if (this.state === 'running') return;
    const m = this.m!;
    const inVmx = this.exitSource !== 'none' && m.cpus.some((c) => (c.vmx as { inVmxOperation?: boolean } | null)?.inVmxOperation === true);
    this.stepWantsExit = inVmx;
    this.stepHitExit = false;
    this.stepEndNs = m.clock.nowNs() + (inVmx ? STEP_EXIT_CAP_NS : STEP_SLICE_NS);
    this.setState('running', null);
    this.schedule(0);
  }

  private setMarker(marker: unknown): void {
    if (marker !== null && (typeof marker !== 'string' || marker.length === 0 || marker.length > 256)) {
      this.error('bad-command', 'setMarker: null or a string of 1 to 256 characters');
      return;
    }
    this.marker = marker as string | null;
    this.markerSeen = '';
    this.markerFound = false;
    this.markerJustFound = false;
  }

  private rebasePace(): void {
    this.paceWall = this.host.now();
    this.paceVirtNs = this.m?.clock.nowNs() ?? 0;
  }

  private schedule(ms: number): void {
    if (this.timer !== null) this.host.clearTimer(this.timer);
    this.timer = this.host.setTimer(() => { this.timer = null; this.tick(); }, ms);
  }

  /** Cancels the pending tick. */
  private halt(): void {
    if (this.timer !== null) { this.host.clearTimer(this.timer); this.timer = null; }
    this.stepEndNs = -1;
    this.stepWantsExit = false;
  }

  private tick(): void {
    if (this.state !== 'running' || this.m === null) return;
    const m = this.m, clock = m.clock, host = this.host;
    const t0 = host.now();
    const sliceTicks = Math.max(1, Math.round((SLICE_NS * clock.ips) / 1e9));
    const vm = this.vm;
    let result: HostedStop = 'budget';
    let waitMs = 0;
    try {
      for (;;) {
        let ticks = sliceTicks;
        if (this.stepEndNs >= 0) {
          const left = this.stepEndNs - clock.nowNs();
          if (left <= 0) break;
          ticks = Math.min(ticks, Math.max(1, Math.ceil((left * clock.ips) / 1e9)));
        } else if (this.pacing === 'realtime') {
          const wall = host.now();
          if (wall - this.paceWall > MAX_LAG_MS + (clock.nowNs() - this.paceVirtNs) / 1e6) {
            // Behind by more than MAX_LAG_MS (a slow guest or a busy host): do not burst to catch up.
            this.paceWall = wall - MAX_LAG_MS;
            this.paceVirtNs = clock.nowNs();
          }
          const aheadNs = (clock.nowNs() - this.paceVirtNs) - (wall - this.paceWall) * 1e6;
          if (aheadNs >= 0) { waitMs = Math.max(1, Math.min(20, aheadNs / 1e6)); break; }
          ticks = Math.min(ticks, Math.max(1, Math.ceil((-aheadNs * clock.ips) / 1e9)));
        }
        result = vm !== null ? vm.run(ticks) : m.run(ticks);
        if (result !== 'budget') break;
        if (host.now() - t0 >= TICK_BUDGET_MS) break;
      }
    } catch (e) {
      this.flushOutput(true);
      this.fail('internal', `the core threw at ${(m.clock.nowNs() / 1e6).toFixed(3)} ms of virtual time: ${(e as Error)?.message ?? String(e)}`);
      return;
    }
    this.flushOutput(false);
    if (result !== 'budget') { this.onMachineStop(result); return; }
    if (this.stepEndNs >= 0 && clock.nowNs() >= this.stepEndNs) { this.endStep(); return; }
    this.schedule(waitMs);
  }

  private endStep(): void {
    this.halt();
    this.flushOutput(true);
    this.setState('paused', null);
  }

  private onMachineStop(r: HostedStop): void {
    const m = this.m!;
    if (r === 'guest-fault') {
      const f = this.vm?.fault;
      const message = f != null ? f.summary : 'the VMM stopped the guest';
      this.finish('guest-fault', message);
      this.error('guest-fault', `${this.loaded?.info.name ?? 'guest'}: ${f != null ? HostedVm.describe(f) : message}`);
      return;
    }
    if (r === 'stopped') {
      // A marker pauses the run (the machine is intact: run or step go on from there).
      if (this.markerJustFound) {
        this.markerJustFound = false;
        this.halt();
        this.flushOutput(true);
        this.setState('paused', { kind: 'marker', message: `saw '${this.marker}'` });
        return;
      }
      if (m.exitPort.code !== null) { this.finish('exit-port', `the guest wrote ${m.exitPort.code} to the exit port`); return; }
      if (this.stepHitExit || this.stepEndNs >= 0) { this.endStep(); return; }
      this.endStep();
      return;
    }
    if (r === 'shutdown') {
      const why = m.cpus.find((c) => c.shutdownReason !== '')?.shutdownReason ?? 'triple fault';
      const message = `triple fault: ${why}`;
      this.finish('triple-fault', message);
      this.error('triple-fault', `${this.loaded?.info.name ?? 'guest'}: ${message}`);
      return;
    }
    if (r === 'budget') return; // not a stop (tick() handles it)
    this.finish(r, STOP_MESSAGES[r]);
  }

  /** The run ended for `kind`. */
  private finish(kind: StopKind, message: string): void {
    this.halt();
    this.flushOutput(true);
    this.setState('stopped', { kind, message });
  }

  private fail(code: EngineErrorCode, message: string): void {
    this.halt();
    this.error(code, message);
    if (this.m !== null) this.setState('stopped', { kind: 'error', message });
  }

  // ---- output ------------------------------------------------------------------------------

  private onSerial(port: SerialPort, b: number): void {
    const ch = String.fromCharCode(b);
    this.serialOut[port] += ch;
    const marker = this.marker;
    if (marker !== null && !this.markerFound) {
      this.markerSeen = (this.markerSeen + ch).slice(-marker.length);
      if (this.markerSeen === marker) { this.markerFound = true; this.markerJustFound = true; this.m!.stop(); }
    }
  }

  /** Serial text now; the screen and stats when due (or now, with `force`). */
  private flushOutput(force: boolean): void {
    for (const port of ['com1', 'com2', 'e9'] as const) {
      const text = this.serialOut[port];
      if (text !== '') { this.serialOut[port] = ''; this.host.post({ type: 'serial', port, text }); }
    }
    const now = this.host.now();
    if (force || now - this.lastScreenAt >= SCREEN_INTERVAL_MS) this.postScreen(false);
    if (force || now - this.lastStatsAt >= STATS_INTERVAL_MS) this.postStats();
  }

  private postScreen(always: boolean): void {
    const m = this.m;
    if (m === null) return;
    this.lastScreenAt = this.host.now();
    if (!always && m.vga.changes === this.lastScreenChanges) return;
    this.lastScreenChanges = m.vga.changes;
    this.host.post({ type: 'screen', screen: screenSnapshot(m.vga) });
  }

  private postStats(): void {
    const m = this.m;
    if (m === null) return;
    const now = this.host.now();
    this.lastStatsAt = now;
    const instructions = m.instructions();
    const virtualNs = m.clock.nowNs();
    const dtMs = now - this.lastStatsWall;
    const stats: StatsBatch = {
      seq: ++this.statsSeq, state: this.state, virtualNs, instructions, perCpu: m.cpus.map((c) => c.icount),
      // Rates over intervals too short to mean anything (a batch right after the last) repeat it.
      mips: dtMs >= 5 ? (instructions - this.lastStatsInstr) / (dtMs * 1000) : this.lastMips,
      speed: dtMs >= 5 ? (virtualNs - this.lastStatsVirtNs) / (dtMs * 1e6) : this.lastSpeed,
      exitSource: this.currentExitSource(),
      exits: this.exitsSnapshot(instructions),
      paging: hostedPaging(this.vm),
    };
    if (dtMs >= 5) {
      this.lastStatsWall = now;
      this.lastStatsInstr = instructions;
      this.lastStatsVirtNs = virtualNs;
      this.lastMips = stats.mips;
      this.lastSpeed = stats.speed;
    }
    this.host.post({ type: 'stats', stats });
  }

  /** 'guest-hypervisor' once the guest entered VMX operation (or exits were seen) on a machine
   *  whose exits the engine can observe; 'none' for a guest that is not a hypervisor. */
  private currentExitSource(): ExitSourceKind {
    if (this.exitSource === 'none' || this.m === null) return 'none';
    if ((this.recorders[0]?.exits ?? 0) > 0) return this.exitSource;
    return this.m.cpus.some((c) => (c.vmx as { inVmxOperation?: boolean } | null)?.inVmxOperation === true) ? this.exitSource : 'none';
  }

  private exitsSnapshot(instructions: number): StatsBatch['exits'] {
    const scope = this.scope;
    const rec = scope === null ? this.recorders[0] : this.recorders[1 + scope];
    if (rec === undefined) return null;
    const guestInstructions = scope === null ? instructions : this.m!.cpus[scope]?.icount ?? 0;
    return exitSnapshot(rec, guestInstructions, scope);
  }

  private setState(state: EngineState, stop: StopInfo | null): void {
    this.state = state;
    this.stop = stop;
    this.host.post({ type: 'state', state, stop });
  }

  private error(code: EngineErrorCode, message: string): void {
    const error: EngineError = { code, message };
    this.host.post({ type: 'error', error });
  }

  // ---- requests ----------------------------------------------------------------------------

  private request(id: unknown, req: unknown): void {
    if (typeof id !== 'number' || !Number.isInteger(id)) { this.error('bad-command', 'request: id must be an integer'); return; }
    try {
      this.host.post({ type: 'response', id, ok: true, result: this.answer(req as EngineRequest) });
    } catch (e) {
      this.host.post({ type: 'response', id, ok: false, error: (e as Error)?.message ?? String(e) });
    }
  }

  private answer(req: EngineRequest): unknown {
    if (typeof req !== 'object' || req === null) throw new Error('request: expected { kind, ... }');
    switch (req.kind) {
      case 'status': return this.status();
      case 'vmcs': {
        const v = req.vcpu;
        if (!Number.isInteger(v) || v < 0) throw new Error(`vmcs: vcpu must be a whole number >= 0 (got ${String(v)})`);
        const m = this.m;
        if (m === null) throw new Error('vmcs: no guest is loaded');
        if (v >= m.cpus.length) throw new Error(`vmcs: vCPU ${v} does not exist (the machine has ${m.cpus.length})`);
        return vmcsSnapshot(m.cpus[v]!, v, this.trackVmcs ? this.histories[v]! : null);
      }
      case 'addressWalk': {
        const { vcpu: v, address, space } = req;
        if (!Number.isInteger(v) || v < 0) throw new Error(`addressWalk: vcpu must be a whole number >= 0 (got ${String(v)})`);
        if (!Number.isInteger(address) || address < 0 || address > 0xffffffff) throw new Error(`addressWalk: the address must be 0 to 0xFFFFFFFF (got ${String(address)})`);
        if (!(ADDRESS_SPACES as readonly unknown[]).includes(space)) throw new Error(`addressWalk: space must be one of ${ADDRESS_SPACES.join(', ')}`);
        const m = this.m;
        if (m === null) throw new Error('addressWalk: no guest is loaded');
        if (v >= m.cpus.length) throw new Error(`addressWalk: vCPU ${v} does not exist (the machine has ${m.cpus.length})`);
        return addressWalk(m.cpus[v]!, m.mem, v, address, space);
      }
      case 'profile': {
        const m = this.m, rec = this.recorders[0];
        if (m === null || rec === undefined || rec.exits === 0) return null;
        const l = this.loaded!;
        return buildProfile(rec, {
          guestInstructions: m.instructions(), image: l.info.name, mode: l.settings.mode, virtualTimeNs: m.clock.nowNs(), vcpus: m.cpus.length,
          paging: hostedPaging(this.vm),
        });
      }
      default:
        throw new Error(`unknown request kind '${String((req as { kind: unknown }).kind)}'`);
    }
  }

  private status(): EngineStatus {
    const m = this.m;
    return {
      state: this.state, loaded: this.loaded?.info ?? null, virtualNs: m?.clock.nowNs() ?? 0,
      instructions: m?.instructions() ?? 0, stop: this.stop,
    };
  }
}

function describe(v: unknown): string {
  if (typeof v === 'object' && v !== null && typeof (v as { type?: unknown }).type === 'string') return `'${(v as { type: string }).type}'`;
  try { return JSON.stringify(v)?.slice(0, 80) ?? String(v); } catch { return String(v); }
}
