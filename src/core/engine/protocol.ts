// The engine's message protocol, declared once: the worker (worker_threads in the desktop app,
// a Web Worker in the browser build), the main process, the preload and the renderer all
// import these types. Every message is structured-clone-safe: plain objects, arrays, strings,
// numbers, booleans, null and typed arrays; no class instances, functions or Maps.
//
// Commands flow in (renderer -> engine), events flow out (engine -> renderer). Requests are
// commands with an id that the engine answers with exactly one `response` event.
import type { GenerationName } from '../vmx/generations';
import type { Profile, ProfilePaging } from '../profile/profile-json';

export const ENGINE_PROTOCOL_VERSION = 1;

// ---- settings -------------------------------------------------------------------------------

/** `--boot`: how the image is booted ('auto' detects it from the content). */
export const BOOT_KINDS = ['auto', 'floppy', 'hdd', 'cdrom', 'kernel', 'multiboot', 'com'] as const;
export type BootKind = (typeof BOOT_KINDS)[number];

/** How the guest runs: on the PC directly (bare) or in VMX non-root operation under vmxlab's VMM
 *  (hosted; needs unrestricted guest: engine/hosted-mode.ts). */
export const RUN_MODES = ['bare', 'hosted'] as const;
export type RunMode = (typeof RUN_MODES)[number];

/** Wall-clock pacing: how many virtual-time slices run per second. 'realtime' keeps virtual
 *  time from running ahead of the wall clock (a guest's clock looks real); 'max' runs slices
 *  back to back. Neither changes what the guest computes (virtual time drives everything). */
export const PACINGS = ['realtime', 'max'] as const;
export type Pacing = (typeof PACINGS)[number];

/** The five VMX control fields as bit masks (src/core/vmx/controls.ts). */
export interface ControlMasks {
  readonly pin: number;
  readonly proc: number;
  readonly proc2: number;
  readonly exit: number;
  readonly entry: number;
}

export const CONTROL_PRESETS = ['kvm', 'trap-all', 'minimal'] as const;
export type ControlPreset = (typeof CONTROL_PRESETS)[number];

/** An inclusive range of I/O ports or MSR indices (the VMM's IdRange). */
export interface IdRangeSetting { readonly first: number; readonly last: number }

export const MSR_LIST_MODES = ['exit', 'pass'] as const;
export type MsrListMode = (typeof MSR_LIST_MODES)[number];

/** The exit controls the user chose. The VMM honours them in hosted mode; in bare mode the
 *  engine keeps them and says they take effect with hosted mode. */
export interface ExitControlSettings extends ControlMasks {
  readonly preset: ControlPreset | 'custom';
  /** With 'use I/O bitmaps' (and without unconditional I/O exiting): the ports whose IN/OUT exit
   *  (SDM Vol. 3C §25.6.4); the VMM's own port 0xE0 always does. */
  readonly ioPorts: readonly IdRangeSetting[];
  /** With 'use MSR bitmaps' (§25.6.9): 'exit' lists the MSRs that exit, 'pass' the MSRs that do
   *  not (all others exit). */
  readonly msrMode: MsrListMode;
  readonly msrs: readonly IdRangeSetting[];
  /** Exception bitmap (§25.6.3): bit n set, exception vector n exits. */
  readonly exceptionBitmap: number;
}

export interface MachineSettings {
  readonly boot: BootKind;
  /** Guest RAM, MiB (2..2048). */
  readonly memoryMiB: number;
  /** Virtual CPUs, 1..8. */
  readonly vcpus: number;
  /** CPU generation: CPUID identity, VMX capabilities and the cost model's round trip. */
  readonly generation: GenerationName;
  readonly mode: RunMode;
  /** Guest speed that turns retired instructions into virtual time, million instructions/s. */
  readonly mips: number;
  readonly pacing: Pacing;
  /** Kernel command line (bzImage, Multiboot) or .COM command tail. */
  readonly cmdline: string;
  /** Stop when this text appears on the serial port (null: never). */
  readonly marker: string | null;
  readonly exitControls: ExitControlSettings;
}

export interface ImagePayload {
  /** Display name (a file name); used for .COM detection and messages. */
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly initrd?: { readonly name: string; readonly bytes: Uint8Array } | null;
}

// ---- commands -------------------------------------------------------------------------------

export type EngineCommand =
  | { readonly type: 'load'; readonly image: ImagePayload; readonly settings: MachineSettings }
  | { readonly type: 'run' }
  | { readonly type: 'pause' }
  /** One VM exit once exits exist (with a virtual-time cap); otherwise one small slice. */
  | { readonly type: 'step' }
  /** Rebuilds the machine from the loaded image and settings (a cold reset: counters cleared). */
  | { readonly type: 'reset' }
  | { readonly type: 'setMarker'; readonly marker: string | null }
  | { readonly type: 'setPacing'; readonly pacing: Pacing }
  /** A key by KeyboardEvent.code, pressed or released, to the PS/2 keyboard (i8042). */
  | { readonly type: 'key'; readonly code: string; readonly down: boolean }
  /** Bytes to the guest's COM1 receive line (a Latin-1 string or bytes). */
  | { readonly type: 'serialInput'; readonly data: string | Uint8Array }
  /** Which vCPU the stats batches cover (null: all). */
  | { readonly type: 'statsScope'; readonly vcpu: number | null }
  /** Copy the current VMCS at every exit so the inspector can show what changed (costs a
   *  1.5 KB copy per exit, so it is off unless the inspector is open). */
  | { readonly type: 'trackVmcs'; readonly on: boolean }
  | { readonly type: 'request'; readonly id: number; readonly request: EngineRequest };

export type EngineCommandType = EngineCommand['type'];

// ---- requests -------------------------------------------------------------------------------

/** Each request kind with its arguments and its result. */
export interface EngineRequestMap {
  /** The current VMCS of a vCPU, or null when it has none (no VMX operation, no VMPTRLD). */
  vmcs: { args: { readonly vcpu: number }; result: VmcsSnapshot | null };
  /** The whole profile (src/core/profile buildProfile) of the run so far, or null with no exits. */
  profile: { args: Record<never, never>; result: Profile | null };
  /** Where the engine is: state, virtual time, what is loaded. */
  status: { args: Record<never, never>; result: EngineStatus };
  /** A guest-physical address through the EPT of a vCPU's current VMCS, or a guest-linear one
   *  through the guest's page tables first (read-only: no A/D flag set, no TLB touched); null
   *  when the vCPU has no current VMCS. */
  addressWalk: { args: { readonly vcpu: number; readonly address: number; readonly space: AddressSpaceKind }; result: AddressWalk | null };
}
export type EngineRequestKind = keyof EngineRequestMap;
export type EngineRequest = { [K in EngineRequestKind]: { readonly kind: K } & EngineRequestMap[K]['args'] }[EngineRequestKind];
export type EngineResult<K extends EngineRequestKind> = EngineRequestMap[K]['result'];

// ---- events ---------------------------------------------------------------------------------

export const ENGINE_STATES = ['empty', 'ready', 'running', 'paused', 'stopped'] as const;
/** empty: nothing loaded; ready: loaded, not started; paused: by the user, a step, or the
 *  stop-at-marker text (then with a 'marker' StopInfo); stopped: the run ended (see StopInfo). */
export type EngineState = (typeof ENGINE_STATES)[number];

export type StopKind =
  | 'marker' // the stop-at-marker text appeared (the run pauses there)
  | 'exit-port' // the guest wrote the exit port
  | 'triple-fault' // shutdown
  | 'halted' // HLT with interrupts off: nothing can wake the CPU
  | 'idle' // HLT with no timer armed
  | 'poweroff' // the guest entered ACPI S5
  | 'guest-fault' // hosted mode: the VMM stopped the VM (entry failure, unhandled exit: see the message)
  | 'error'; // the engine caught an internal error (its message says where)

export interface StopInfo {
  readonly kind: StopKind;
  readonly message: string;
}

export type EngineErrorCode =
  | 'bad-image' // the loaders refused the image
  | 'bad-settings' // settings out of range
  | 'bad-command' // a malformed or unknown command
  | 'not-loaded' // a command that needs a machine before one was loaded
  | 'triple-fault' // the guest shut down
  | 'guest-fault' // hosted mode: the VMM stopped the VM (exit reason, qualification, RIP, VMCS fields)
  | 'internal'; // a host exception inside the core (a bug): the machine is stopped

export interface EngineError {
  readonly code: EngineErrorCode;
  readonly message: string;
}

export interface LoadedInfo {
  readonly name: string;
  readonly size: number;
  /** What the loaders detected ('hdd', 'bzimage', ...) and why. */
  readonly format: string;
  readonly evidence: string;
  /** One line on where a kernel went (kernel formats), else ''. */
  readonly summary: string;
  readonly settings: MachineSettings;
  /** Notes the UI shows as they are (e.g. exit controls not in effect in bare mode). */
  readonly notes: readonly string[];
}

/** The VGA text screen (CP437 codes and attribute bytes, row-major). */
export interface ScreenSnapshot {
  readonly cols: number;
  readonly rows: number;
  readonly chars: Uint8Array;
  readonly attrs: Uint8Array;
  /** 0xRRGGBB of the 16 text colours through the attribute controller and DAC. */
  readonly palette: Uint32Array;
  /** Attribute bit 7 means blink (else a bright background). */
  readonly blink: boolean;
  readonly cursor: { readonly row: number; readonly col: number; readonly visible: boolean };
  /** False in a graphics mode: the text buffer is not what is shown. */
  readonly textMode: boolean;
}

export type SerialPort = 'com1' | 'com2' | 'e9';

/** What produces exits right now. */
export type ExitSourceKind =
  | 'none' // bare mode and the guest is not a hypervisor (or VMX exits are not wired yet)
  | 'guest-hypervisor' // bare mode: the exits the guest's own hypervisor receives
  | 'hosted'; // the VMM's exits (issue 5)

export interface ExitReasonRow {
  readonly reason: number;
  readonly name: string;
  readonly count: number;
  /** handler + transition. */
  readonly cycles: number;
  readonly handlerCycles: number;
  readonly minCycles: number;
  readonly maxCycles: number;
  readonly avgCycles: number;
}

export interface ExitKeyRow {
  readonly reason: number;
  /** Sub-key (subkey.ts) or guest RIP. */
  readonly key: number;
  readonly label: string;
  /** What else tells keys with the same label apart (I/O: access size, string, REP). */
  readonly detail: string;
  readonly count: number;
  readonly cycles: number;
}

export interface GenerationCostRow {
  readonly generation: string;
  readonly title: string;
  readonly roundTripCycles: number;
  readonly estimate: boolean;
  readonly exitCycles: number;
  readonly transitionCycles: number;
  readonly handlerCycles: number;
  readonly overheadPercent: number;
  readonly warnings: readonly string[];
}

/** Exit aggregates of one scope (all vCPUs or one), from the ExitRecorder. */
export interface ExitSnapshot {
  readonly scope: number | null;
  readonly total: number;
  readonly entryFailures: number;
  readonly guestCycles: number;
  readonly exitCycles: number;
  readonly overheadPercent: number;
  readonly generation: string;
  readonly roundTripCycles: number;
  readonly roundTripEstimate: boolean;
  readonly reasons: readonly ExitReasonRow[];
  /** Most frequent sub-keys per reason (at most SNAPSHOT_KEYS_PER_REASON each). */
  readonly subkeys: readonly ExitKeyRow[];
  /** Most frequent guest RIPs per reason (at most SNAPSHOT_KEYS_PER_REASON each). */
  readonly rips: readonly ExitKeyRow[];
  /** Time series: `bins` bins of `binWidthNs` from virtual time 0; `counts[b * reasons.length + i]`
   *  is the number of exits of `seriesReasons[i]` in bin b. */
  readonly binWidthNs: number;
  readonly bins: number;
  readonly seriesReasons: readonly number[];
  readonly counts: Float64Array;
  readonly generations: readonly GenerationCostRow[];
  /** vCPUs that had exits (for the per-vCPU filter). */
  readonly vcpus: readonly number[];
}

export const SNAPSHOT_KEYS_PER_REASON = 32;

export interface StatsBatch {
  readonly seq: number;
  readonly state: EngineState;
  /** Virtual time, ns. */
  readonly virtualNs: number;
  /** Instructions retired, all CPUs, and per CPU. */
  readonly instructions: number;
  readonly perCpu: readonly number[];
  /** Emulation speed over the last batch (million guest instructions per wall second). */
  readonly mips: number;
  /** Virtual seconds per wall second over the last batch. */
  readonly speed: number;
  readonly exitSource: ExitSourceKind;
  /** Null until an exit is recorded. */
  readonly exits: ExitSnapshot | null;
  /** Hosted mode: EPT or shadow paging, with the shadow MMU's counters and the real-mode code the
   *  VMM emulated (issue 6); null in bare mode. */
  readonly paging: ProfilePaging | null;
}

export interface VmcsFieldValue {
  readonly encoding: number;
  readonly name: string;
  /** 'control' | 'exit-info' | 'guest' | 'host'. */
  readonly group: 'control' | 'exit-info' | 'guest' | 'host';
  /** 16, 32, 64 or 0 (natural width). */
  readonly width: 16 | 32 | 64 | 0;
  readonly lo: number;
  readonly hi: number;
  /** Different at the previous exit (only when VMCS tracking is on and two exits were seen). */
  readonly changed: boolean;
}

export interface VmcsSnapshot {
  readonly vcpu: number;
  /** Physical address of the VMCS. */
  readonly address: number;
  readonly launched: boolean;
  readonly fields: readonly VmcsFieldValue[];
  /** Exits seen on this vCPU while tracking was on. */
  readonly exitsTracked: number;
}

export const ADDRESS_SPACES = ['guest-physical', 'guest-linear'] as const;
export type AddressSpaceKind = (typeof ADDRESS_SPACES)[number];

/** One EPT paging-structure entry a walk read (SDM Vol. 3C §29.3.2). */
export interface EptLevelView {
  readonly level: 1 | 2 | 3 | 4;
  readonly name: 'PML4E' | 'PDPTE' | 'PDE' | 'PTE';
  /** Index into its table (address bits 47:39, 38:30, 29:21, 20:12). */
  readonly index: number;
  /** Host-physical address of the entry. */
  readonly address: number;
  readonly lo: number;
  readonly hi: number;
  readonly read: boolean;
  readonly write: boolean;
  readonly execute: boolean;
  readonly userExecute: boolean;
  /** Leaves only: bits 5:3 and the ignore-PAT bit 6. */
  readonly memoryType: number | null;
  readonly ignorePat: boolean | null;
  readonly accessed: boolean;
  /** Leaves only. */
  readonly dirty: boolean | null;
  /** Bit 7 of a PDPTE (1 GB) or PDE (2 MB). */
  readonly largePage: boolean;
  readonly leaf: boolean;
}

/** What one access kind through the walk would give. */
export interface EptAccessOutcome {
  readonly access: 'read' | 'write' | 'fetch';
  readonly outcome: 'ok' | 'violation' | 'misconfiguration';
  readonly hpa: number | null;
  /** The EPT-violation exit qualification it would cause (§28.2.1), for violations. */
  readonly qualification: number | null;
  readonly detail: string;
}

export interface EptWalkView {
  readonly gpa: number;
  /** False when the VMCS does not enable EPT (then `hpa` is the address itself). */
  readonly enabled: boolean;
  readonly eptp: number;
  readonly eptpHigh: number;
  readonly pml4: number;
  readonly walkLength: number;
  readonly accessedDirty: boolean;
  readonly levels: readonly EptLevelView[];
  /** Read, write and fetch, in that order (empty when an entry could not be read). */
  readonly outcomes: readonly EptAccessOutcome[];
  readonly hpa: number | null;
  readonly pageSize: number | null;
  readonly message: string;
}

/** One entry of the guest's own paging structures (Vol. 3A §4.3, §4.4). */
export interface GuestPagingLevel {
  readonly name: 'PDPTE' | 'PDE' | 'PTE';
  readonly gpa: number;
  readonly hpa: number;
  readonly lo: number;
  readonly hi: number;
  readonly present: boolean;
  readonly write: boolean;
  readonly user: boolean;
  readonly accessed: boolean;
  readonly dirty: boolean;
  readonly largePage: boolean;
  readonly global: boolean;
  readonly noExecute: boolean;
}

export interface GuestPagingView {
  readonly linear: number;
  readonly mode: 'off' | '32-bit' | 'pae';
  readonly cr0: number;
  readonly cr3: number;
  readonly cr4: number;
  /** Where CR0/CR3/CR4 came from (the running CPU or the VMCS guest-state area). */
  readonly source: string;
  readonly levels: readonly GuestPagingLevel[];
  /** Null when the walk does not reach a page. */
  readonly gpa: number | null;
  readonly message: string;
}

export interface AddressWalk {
  readonly vcpu: number;
  readonly space: AddressSpaceKind;
  readonly address: number;
  /** The guest's own walk (guest-linear requests only). */
  readonly guest: GuestPagingView | null;
  /** The EPT walk of the guest-physical address (null when the guest walk found none). */
  readonly ept: EptWalkView | null;
}

export interface EngineStatus {
  readonly state: EngineState;
  readonly loaded: LoadedInfo | null;
  readonly virtualNs: number;
  readonly instructions: number;
  readonly stop: StopInfo | null;
}

export type EngineEvent =
  | { readonly type: 'hello'; readonly protocol: number }
  | { readonly type: 'state'; readonly state: EngineState; readonly stop: StopInfo | null }
  | { readonly type: 'loaded'; readonly info: LoadedInfo }
  /** Bytes the guest wrote, as a Latin-1 string (one char per byte), batched per slice. */
  | { readonly type: 'serial'; readonly port: SerialPort; readonly text: string }
  | { readonly type: 'screen'; readonly screen: ScreenSnapshot }
  | { readonly type: 'stats'; readonly stats: StatsBatch }
  | { readonly type: 'error'; readonly error: EngineError }
  | { readonly type: 'response'; readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly type: 'response'; readonly id: number; readonly ok: false; readonly error: string };

export type EngineEventType = EngineEvent['type'];
