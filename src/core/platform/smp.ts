// Several CPUs on one machine: the deterministic schedule that runs them on one host thread and
// the virtual time it defines.
//
// Virtual time with N CPUs. The CPUs take turns, and virtual time advances by one instruction
// unit per instruction retired by whichever CPU is running, plus the idle time skipped when
// every CPU is halted (SerialInstructionCounter). So N busy CPUs share the configured
// instruction rate (each effectively runs at ips/N), a halted CPU costs nothing, and time never
// runs backwards from one CPU to the next: whatever CPU 1 reads from the TSC, the PIT or the PM
// timer is later than anything CPU 0 read before (an OS's TSC-synchronisation check sees
// synchronised, monotonic TSCs). This is the model of QEMU's single-threaded round-robin TCG
// with -icount. With one CPU the machine counts that CPU's instructions directly, as before.
//
// The schedule. Rounds over the CPUs in APIC-ID order; a CPU that is halted with nothing that
// can wake it, or waits for a Startup IPI, is skipped. A runnable CPU runs a slice of up to
// SMP_QUANTUM instructions when another CPU is runnable too, and up to the next timer deadline
// when it is alone. Slices end early at timer deadlines (devices' and local APIC timers), when
// something happens to another CPU (an IPI, an interrupt routed to it, a Startup IPI: the
// running CPU is preempted at its next instruction boundary, so the other CPU sees the event
// within one instruction of virtual time), and at PAUSE while another CPU can run: a spin-wait
// loop (Linux's cpu_relax, SeaBIOS's SMP lock) gives the turn to the CPU it waits for instead
// of spinning out its slice. Slice lengths vary between SMP_QUANTUM/2 and SMP_QUANTUM by a fixed
// pseudo-random sequence, so two CPUs in loops whose lengths divide the quantum cannot stay in
// lockstep (a lock released and retaken a few instructions later would otherwise never be seen
// free by the other CPU). When no CPU is runnable the clock skips to the next timer deadline.
// Nothing depends on the host: the same image and settings give the same interleaving.
import { Cpu, StopReason } from '../cpu/cpu';
import type { InstructionCounter, VirtualClock } from './clock';
import type { LocalApic, LocalApicMmio } from './devices/lapic';

/** Instructions a CPU runs before the next runnable CPU gets its turn (100 µs at 100 MIPS). */
export const SMP_QUANTUM = 10_000;
/** The largest machine the xAPIC flat logical destination model addresses. */
export const MAX_CPUS = 8;

/** Virtual time as the sum of the instructions all CPUs retired: `current`'s count plus what
 *  the others retired before it was scheduled (an offset, so a switch costs O(1)). */
export class SerialInstructionCounter implements InstructionCounter {
  private offset = 0;
  constructor(private current: InstructionCounter) {}
  get icount(): number { return this.offset + this.current.icount; }
  /** Makes `next` the running CPU; the count continues from where it was. */
  switchTo(next: InstructionCounter): void {
    if (next === this.current) return;
    this.offset += this.current.icount - next.icount;
    this.current = next;
  }
}

/** Why the schedule returned (the machine maps this onto MachineStop). */
export type SmpStop = 'budget' | 'stopped' | 'shutdown' | 'halted' | 'idle';

/** Why one CPU's turn (SmpScheduler.runOne, for a VMM that schedules its vCPUs itself) ended:
 *  'yield' when the turn should pass to another CPU (an IPI or interrupt kicked one, or a PAUSE
 *  while `shared`), 'idle' when the CPU waits for an event (halted, wait-for-SIPI). */
export type TurnStop = 'budget' | 'stopped' | 'shutdown' | 'yield' | 'idle';

/** True when `c` may execute or take an event now (a halted guest in VMX non-root operation:
 *  an event that exits or wakes it, Cpu.hasWakeEvent). */
function runnable(c: Cpu): boolean {
  if (c.waitForSipi) return false;
  if (!c.halted) return true;
  return c.hasWakeEvent();
}

/** True when nothing can ever wake `c` (halted with nothing that wakes it, or parked). */
function dead(c: Cpu): boolean {
  return c.shutdown || c.waitForSipi || (c.halted && !c.canWake());
}

export class SmpScheduler {
  /** Index of the CPU whose slice is running (or ran last). */
  currentIndex = 0;
  private inSlice = false;
  /** xorshift32 state for the slice lengths (fixed seed: deterministic). */
  private seed = 0x2545f491;

  constructor(readonly cpus: Cpu[], readonly lapics: LocalApic[], private readonly clock: VirtualClock,
    private readonly counter: SerialInstructionCounter, private readonly mmio: LocalApicMmio) {}

  get current(): Cpu { return this.cpus[this.currentIndex]; }

  /** Makes CPU `i` the one executing: its instructions count as time, its APIC answers MMIO. */
  select(i: number): void {
    this.currentIndex = i;
    this.counter.switchTo(this.cpus[i]);
    this.mmio.current = this.lapics[i];
  }

  /** Ends the running CPU's slice at its next instruction boundary. */
  preempt(): void {
    const c = this.current;
    c.stopRequested = true;
    c.eventPending = true;
  }

  /** Something happened to CPU `i` (its APIC kicked it): let it run soon. */
  kicked(i: number): void {
    if (i === this.currentIndex) return;
    this.kicks++;
    if (this.inSlice) { this.kickedOther = true; this.preempt(); }
  }
  private kickedOther = false;
  /** Kicks of another CPU by the selected one, in or out of a slice (software acting for a CPU
   *  between its turns, such as a VMM emulating its instruction, reads it: PcMachine.kicks). */
  kicks = 0;
  /** Virtual time since when no CPU could ever wake (-1: some can), across run() calls. */
  private deadHaltAt = -1;

  /** The next shared-slice length, in [SMP_QUANTUM/2, SMP_QUANTUM]. */
  private quantum(): number {
    let x = this.seed;
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    this.seed = x;
    return SMP_QUANTUM / 2 + ((x >>> 0) % (SMP_QUANTUM / 2 + 1));
  }

  /**
   * One turn of CPU `i` alone, until virtual time `end`, for root-mode software that schedules
   * the CPUs itself (the hosted-mode VMM: its vCPU i runs on CPU i). Slices end at timer
   * deadlines as in `run`; the turn ends early when another CPU is kicked, or, with `shared`
   * (another CPU is runnable), at the CPU's next PAUSE or preemption, so that the caller can
   * give the turn away as `run` would. A halted CPU's turn ends at once ('idle'): the caller
   * skips idle time when no CPU can run.
   */
  runOne(i: number, end: number, stopped: () => boolean, shared: boolean): TurnStop {
    const clk = this.clock, c = this.cpus[i];
    this.select(i);
    this.kickedOther = false;
    while (clk.ticks() < end) {
      if (c.waitForSipi || (c.halted && !c.hasWakeEvent())) return 'idle';
      const r = this.slice(c, clk.budgetUntilNext(end - clk.ticks()), shared);
      if (stopped()) return 'stopped';
      if (r === StopReason.Shutdown) return 'shutdown';
      if (this.kickedOther || (shared && r === StopReason.Requested)) return 'yield';
      if (r === StopReason.Halted) return 'idle';
    }
    return 'budget';
  }

  /** One slice of the selected CPU `c`: `budget` instructions at most, PAUSE yielding when
   *  `shared`; the timers due at its end run. */
  private slice(c: Cpu, budget: number, shared: boolean): StopReason {
    const clk = this.clock;
    this.inSlice = true;
    c.yieldOnPause = shared;
    clk.beginSlice(budget);
    const r = c.run(budget);
    clk.endSlice();
    c.yieldOnPause = false;
    this.inSlice = false;
    clk.runDue();
    return r;
  }

  /** Runs until virtual time `end` (instruction units) or a stop; `stopped` is the machine's flag. */
  run(end: number, stopped: () => boolean): SmpStop {
    const clk = this.clock, cpus = this.cpus, n = cpus.length;
    while (clk.ticks() < end) {
      let ran = false;
      for (let i = 0; i < n; i++) {
        const c = cpus[i];
        if (!runnable(c)) continue;
        const left = end - clk.ticks();
        if (left <= 0) break;
        this.select(i);
        let alone = true;
        for (let k = 0; k < n; k++) if (k !== i && runnable(cpus[k])) { alone = false; break; }
        const r = this.slice(c, clk.budgetUntilNext(alone ? left : Math.min(this.quantum(), left)), !alone);
        if (stopped()) return 'stopped';
        if (r === StopReason.Shutdown) return 'shutdown';
        ran = true;
      }
      if (ran) { this.deadHaltAt = -1; continue; }
      // No CPU can run: skip idle time to the next timer.
      if (cpus.every(dead)) {
        // Nothing can wake any CPU; let devices finish for 10 ms of virtual time (a UART
        // draining its FIFO) before reporting it.
        // The window spans run() calls (callers that run in short slices: the desktop engine).
        if (this.deadHaltAt < 0) this.deadHaltAt = clk.nowNs();
        else if (clk.nowNs() - this.deadHaltAt > 10_000_000) return 'halted';
      } else this.deadHaltAt = -1;
      // Halted guests' own deadlines (the VMX-preemption timer) bound the skip.
      let limit = Infinity;
      for (let i = 0; i < n; i++) if (cpus[i].halted) { const d = cpus[i].wakeDeadline(); if (d < limit) limit = d; }
      if (!clk.skipToNext(limit)) return cpus.every(dead) ? 'halted' : 'idle';
      clk.runDue();
      if (stopped()) return 'stopped';
    }
    return 'budget';
  }
}
