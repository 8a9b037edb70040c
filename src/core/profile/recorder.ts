// The exit recorder: every VM exit the VMM sees goes through `record(ev)` once, after the VMM
// has handled it (so the handler fields are filled) and before VM entry. It keeps only
// aggregates whose size depends on the number of distinct keys, never on run length:
//   per basic reason (typed arrays indexed by reason), per (reason, sub-key), per (reason,
//   guest RIP), per device, per vCPU: count and min/max/sum of the modelled handler cost;
//   a time series in virtual-time bins (time-series.ts); the most recent raw exits (event-ring.ts).
// Recording allocates nothing per exit: typed arrays and typed-array hash tables (key-table.ts)
// throughout; a new key may grow a table (doubling), which is allocation per distinct key.
// The profiler observes: nothing here changes what the guest or the VMM does.
import { CostModel, type CostSettings, type RunTotals } from './cost-model';
import { EventRing, type RecentExit } from './event-ring';
import { ExitEvent } from './exit-event';
import type { ExitFilter } from './filters';
import { KEY_SPLIT, KeyTable } from './key-table';
import { REASON_SLOTS, isReasonSlot } from './reasons';
import { StatColumns, type StatsView } from './stats';
import { DECODER_BY_REASON } from './subkey';
import { TimeSeries } from './time-series';

export interface RecorderOptions {
  /** The cost model, or settings to build one (default: CostModel defaults). */
  readonly cost?: CostModel | CostSettings;
  /** Raw exits kept in the ring (default 1024; 0 keeps none). */
  readonly ringSize?: number;
  /** Time-series bins (even, default 256). */
  readonly bins?: number;
  /** Initial time-series bin width, ns of virtual time (default 1 ms). */
  readonly binWidthNs?: number;
  /** `--vcpu` and `--rip-range`. */
  readonly filter?: Partial<ExitFilter>;
  /** Most keys per table (sub-keys, RIPs); exits past it still count per reason and are
   *  counted as dropped keys (default 2^20). */
  readonly maxKeys?: number;
}

/** Highest vCPU index accepted (the platform has at most 8 CPUs; this is a sanity bound). */
export const MAX_VCPUS = 4096;

export const DEFAULT_RING_SIZE = 1024;

/** A keyed aggregate read back at report time. */
export interface KeyedStats {
  /** Basic reason. */
  readonly reason: number;
  /** Sub-key, RIP, device id or vCPU index, depending on the table. */
  readonly key: number;
  readonly stats: StatsView;
}

export class ExitRecorder {
  readonly cost: CostModel;
  readonly filter: ExitFilter;
  /** A reusable event the VMX layer may fill for every exit (or it may keep its own). */
  readonly event = new ExitEvent();

  readonly perReason = new StatColumns(REASON_SLOTS);
  private readonly subkeys: KeyTable;
  private readonly subkeyStats = new StatColumns(64);
  private readonly rips: KeyTable;
  private readonly ripStats = new StatColumns(64);
  private readonly deviceIds = new Map<string, number>();
  private readonly devices: string[] = [];
  private deviceStats = new StatColumns(8);
  private vcpuStats = new StatColumns(8);
  private vcpuSeen = 0;
  /** Per vCPU: modelled ns of every exit recorded so far (the trace's timeline offset). */
  private modelledOffsetNs = new Float64Array(8);
  readonly series: TimeSeries;
  readonly ring: EventRing;
  private readonly transitionCycles: number;
  private readonly nsPerCycle: number;
  /** [sub-key or -1, handler cycles, modelled ns] of the exit being recorded: doubles travel
   *  between functions through this typed array, never as boxed arguments or results. */
  private readonly scratch = new Float64Array(3);

  // ---- totals
  /** Exits recorded (after filters). */
  exits = 0;
  /** Exits the filters left out. */
  filteredOut = 0;
  /** Events refused: basic reason outside 0..REASON_SLOTS-1 or vCPU outside 0..MAX_VCPUS-1. */
  rejected = 0;
  /** Entry failures among the recorded exits. */
  entryFailures = 0;
  /** Exits whose sub-key or RIP found its table full (maxKeys). */
  droppedSubkeys = 0;
  droppedRips = 0;
  handlerCycles = 0;
  instructionsEmulated = 0;
  interruptsInjected = 0;
  /** Virtual time of the first and last recorded exit, ns (NaN before any). */
  firstTimeNs = NaN;
  lastTimeNs = NaN;

  constructor(options: RecorderOptions = {}) {
    this.cost = options.cost instanceof CostModel ? options.cost : new CostModel(options.cost);
    this.filter = { vcpu: options.filter?.vcpu ?? null, ripRange: options.filter?.ripRange ?? null };
    const maxKeys = options.maxKeys ?? 1 << 20;
    this.subkeys = new KeyTable(64, maxKeys);
    this.rips = new KeyTable(64, maxKeys);
    this.series = new TimeSeries(options.bins ?? 256, options.binWidthNs ?? 1_000_000);
    this.ring = new EventRing(options.ringSize ?? DEFAULT_RING_SIZE);
    this.transitionCycles = this.cost.transition.cycles;
    this.nsPerCycle = 1e9 / this.cost.clockHz;
  }

  /** Records one handled exit. Call once per exit, after the VMM filled the handler fields. */
  record(ev: ExitEvent): void {
    const vcpu = ev.vcpu, reason = ev.reason, rip = ev.guestRip;
    if (!isReasonSlot(reason) || !(vcpu >= 0 && vcpu < MAX_VCPUS) || Math.floor(vcpu) !== vcpu) { this.rejected++; return; }
    const f = this.filter;
    if ((f.vcpu !== null && vcpu !== f.vcpu) || (f.ripRange !== null && !(rip >= f.ripRange.start && rip < f.ripRange.end))) {
      this.filteredOut++;
      return;
    }
    const instr = ev.instructionsEmulated, inj = ev.interruptsInjected;
    const h = this.cost.handlerCycles(ev);

    this.perReason.add(reason, h, instr, inj);

    const sc = this.scratch;
    sc[0] = -1;
    sc[1] = h;
    const decoder = DECODER_BY_REASON[reason];
    if (decoder !== undefined) {
      decoder.key(ev, sc);
      const sub = sc[0]!;
      const hi = Math.floor(sub / KEY_SPLIT);
      const s = this.subkeys.slot(reason, hi, sub - hi * KEY_SPLIT);
      if (s < 0) this.droppedSubkeys++; else { this.subkeyStats.ensure(s + 1); this.subkeyStats.add(s, h, instr, inj); }
    }

    if (rip >= 0 && rip < 9007199254740992) {
      const r = Math.floor(rip), hi = Math.floor(r / KEY_SPLIT);
      const rs = this.rips.slot(reason, hi, r - hi * KEY_SPLIT);
      if (rs < 0) this.droppedRips++; else { this.ripStats.ensure(rs + 1); this.ripStats.add(rs, h, instr, inj); }
    } else this.droppedRips++;

    let dev = -1;
    if (ev.device !== null) {
      const known = this.deviceIds.get(ev.device);
      dev = known ?? this.addDevice(ev.device);
      this.deviceStats.add(dev, h, instr, inj);
    }

    if (vcpu >= this.vcpuStats.capacity) this.growVcpus(vcpu + 1);
    this.vcpuStats.add(vcpu, h, instr, inj);
    if (vcpu >= this.vcpuSeen) this.vcpuSeen = vcpu + 1;

    this.series.add(ev, reason, h);

    const offset = this.modelledOffsetNs[vcpu]!;
    sc[2] = ev.timeNs + offset;
    this.ring.push(ev, dev, sc);
    this.modelledOffsetNs[vcpu] = offset + (h + this.transitionCycles) * this.nsPerCycle;

    this.exits++;
    if (ev.entryFailure) this.entryFailures++;
    this.handlerCycles += h;
    this.instructionsEmulated += instr;
    this.interruptsInjected += inj;
    if (this.exits === 1) this.firstTimeNs = ev.timeNs;
    this.lastTimeNs = ev.timeNs;
  }

  private addDevice(name: string): number {
    const id = this.devices.length;
    this.devices.push(name);
    this.deviceIds.set(name, id);
    this.deviceStats.ensure(id + 1);
    return id;
  }

  private growVcpus(n: number): void {
    this.vcpuStats.ensure(n);
    const o = new Float64Array(this.vcpuStats.capacity);
    o.set(this.modelledOffsetNs);
    this.modelledOffsetNs = o;
  }

  // ---- read side (report time: these allocate)

  /** The name of device id `id` (RecentExit.device), or null. */
  deviceName(id: number): string | null {
    return id >= 0 && id < this.devices.length ? this.devices[id]! : null;
  }

  /** Basic reasons with at least one recorded exit, ascending. */
  reasonsWithExits(): number[] {
    const out: number[] = [];
    for (let r = 0; r < REASON_SLOTS; r++) if (this.perReason.count[r]! > 0) out.push(r);
    return out;
  }

  /** Per-reason statistics of the reasons with exits, ascending by reason. */
  reasonStats(): KeyedStats[] {
    return this.reasonsWithExits().map((r) => ({ reason: r, key: r, stats: this.perReason.view(r) }));
  }

  /** Per (reason, sub-key) statistics, in the order the keys first appeared. */
  subkeyStatsList(): KeyedStats[] {
    const out: KeyedStats[] = [];
    for (let s = 0; s < this.subkeys.size; s++) out.push({ reason: this.subkeys.keyA(s), key: this.subkeys.keyB(s), stats: this.subkeyStats.view(s) });
    return out;
  }

  /** Per (reason, guest RIP) statistics, in the order the keys first appeared. */
  ripStatsList(): KeyedStats[] {
    const out: KeyedStats[] = [];
    for (let s = 0; s < this.rips.size; s++) out.push({ reason: this.rips.keyA(s), key: this.rips.keyB(s), stats: this.ripStats.view(s) });
    return out;
  }

  /** Per device statistics (key: device id; reason: -1). */
  deviceStatsList(): (KeyedStats & { readonly device: string })[] {
    return this.devices.map((name, id) => ({ reason: -1, key: id, device: name, stats: this.deviceStats.view(id) }));
  }

  /** Per vCPU statistics of the vCPUs with exits (key: vCPU index; reason: -1). */
  vcpuStatsList(): KeyedStats[] {
    const out: KeyedStats[] = [];
    for (let v = 0; v < this.vcpuSeen; v++) if (this.vcpuStats.count[v]! > 0) out.push({ reason: -1, key: v, stats: this.vcpuStats.view(v) });
    return out;
  }

  /** The ring's exits, oldest first. */
  recent(): RecentExit[] {
    return this.ring.toArray();
  }

  /** What the cost model needs, given the guest instructions the caller counted. */
  runTotals(guestInstructions: number): RunTotals {
    return { exits: this.exits, handlerCycles: this.handlerCycles, guestInstructions, reasonsWithExits: this.reasonsWithExits() };
  }
}
