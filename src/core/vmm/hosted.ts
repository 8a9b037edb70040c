// Hosted mode: the PC's guest runs in VMX non-root operation under this VMM, which drives the
// CPU only through VmxRoot (the VMX instructions with all their checks). One vCPU in this cut.
//
// How a run goes: the VMM takes the CPU as root-mode software (host.ts), VMXON, a VMCS with the
// reset-vector guest (vmcs-setup.ts) and an EPT identity map of guest RAM (ept.ts); then
// VMLAUNCH/VMRESUME with the machine's run loop as the guest runner, so devices and timers
// advance on virtual time exactly as in bare mode, and each VM exit comes back here:
//   I/O (unconditional I/O exiting)   -> the port bus; the BIOS service port 0xE0 sees the
//                                        guest's registers (guest-view.ts)
//   CPUID                             -> the model's identity, hypervisor bit set, VMX hidden
//   RDMSR/WRMSR                       -> policy: VMX MSRs #GP, IA32_FEATURE_CONTROL reads as
//                                        locked without VMX, the rest the CPU's MSRs
//   CR access                         -> CR0.NE/CR4.VMXE owned by the VMM, shadows for the guest
//   HLT                               -> the vCPU idles: virtual time skips to the next timer
//                                        until an interrupt is due (as the bare machine does)
//   external interrupt                -> the acknowledged vector is injected at the next entry
//                                        where RFLAGS.IF and the interruptibility state allow,
//                                        else interrupt-window exiting (§26.7.5, §27.6)
//   EPT violation on MMIO/ROM         -> the page is mapped for one instruction with the monitor
//                                        trap flag set; the MTF exit unmaps it (two exits)
//   triple fault, entry failure, ...  -> the VM stops with a report (exit reason, qualification,
//                                        guest RIP, VMCS fields); the process goes on
// Without EPT (merom, penryn, nehalem, or ept=off: issue 6) the VMM keeps shadow page tables
// (shadow/: GuestCr3 is the shadow root; CR3 loads/stores, INVLPG and #PF exit) and, since VM
// entry without unrestricted guest needs CR0.PE = PG = 1, enters the guest's real-mode code as
// a virtual-8086 task (v86.ts, realModeEntry: privileged instructions #GP there and the VMM runs
// them, interrupts go through the guest's IVT by the VMM's hand) and runs itself what V86 mode
// cannot express (emulateBatch: the CPU core on the lent guest state, in the machine's run loop).
// Virtual time: the CPU counts an instruction that exits as retired (cpu.ts, the VM_EXIT path),
// so the VMM adds nothing for the instructions it emulates; its device accesses for that
// instruction happen one tick after the bare CPU's (measured: pit-idle 391,673 bare / 391,674
// hosted; README "Virtual time").
import { InhibitBy, InterruptKind, type Cpu } from '../cpu/cpu';
import { Desc, fetchGdtDesc } from '../cpu/descriptor';
import { FAULT } from '../cpu/fault';
import { TaskSource, taskReturn, taskSwitch } from '../cpu/tasks';
import { cpuidLeaf, cpuidLeaf1Apic, cpuSignature } from '../cpu/model';
import { cpuidXsaveDynamic } from '../cpu/xstate';
import { cr4ValidBits, readMsrTo, writeMsr } from '../cpu/ops/system';
import { Cr0, Cr4, Efer, Flag, Seg, Vector } from '../cpu/regs';
import { asGuestPhysical } from '../platform/address';
import type { MachineStop, PcMachine } from '../platform/machine';
import { PageKind, PHYS_LIMIT } from '../platform/memory';
import { CR0_PDPTE_LOAD, CR4_PDPTE_LOAD, paePdptInvalid } from '../cpu/paging';
import type { ExitRecorder } from '../profile/recorder';
import { PinBasedCtls, ProcBasedCtls, ProcBasedCtls2 } from '../vmx/controls';
import { ExitReason, EXIT_REASON_BASIC_MASK } from '../vmx/exit-reasons';
import type { VmExitRecord } from '../vmx/exit-record';
import { VmcsField as V } from '../vmx/fields';
import { VmxRoot, type GuestRunner, type VmxResult } from '../vmx/root';
import { VmxUnit } from '../vmx/unit';
import { EptTables, EPT_MT_UC, EPT_MT_WB, EPT_RWX } from './ept';
import { GuestView, CR0_OWNED, CR4_OWNED, SHADOW_CR0_OWNED, SHADOW_CR4_OWNED, type ShadowCrAccess } from './guest-view';
import { enterHostState, FEATURE_CONTROL_LOCK, MSR_FEATURE_CONTROL, rdmsr } from './host';
import { hostBase, hostBitmaps, hostReservedBytes, hostShadowPool, hostV86Tss, MAX_VCPUS, SHADOW_POOL_PAGES, vcpuRegions } from './layout';
import { checkExitControls, eptOn, kvmDefaults, msrExits, portExits, type ExitControls } from './exit-controls';
import { Activity, captureReset, initState, setupVmcs, vcpuVpid, VmcsWriter, VmxMsr, writeGuestState, type ResetState } from './vmcs-setup';
import { emulationRequired } from './emulation';
import { v86FitsCpu, v86FitsVmcs, V86Task, V86_TSS_PAGES, writeV86Tss } from './v86';
import { ShadowMmu, type ShadowStats } from './shadow/index';
import { Vcpu } from './vcpu';
import { GUEST_EFER_BITS, HIDDEN_EXT_EDX, isIa32eMsr } from './host-width';
import { guestSetXcr } from './xcr';
import { SMP_QUANTUM } from '../platform/smp';

export { hostReservedBytes } from './layout';
export { UnsupportedGeneration } from './vmcs-setup';

/** Why HostedVm.run returned: the machine's reasons, or 'guest-fault' (see `fault`). */
export type HostedStop = MachineStop | 'guest-fault';

/** A VM the VMM stopped: what exited and the VMCS evidence. */
export interface GuestFault {
  readonly summary: string;
  readonly exitReason: number;
  readonly qualification: number;
  readonly guestRip: number;
  readonly fields: Readonly<Record<string, string>>;
}

/** The BIOS service port: its device reads and writes the caller's registers. */
const SERVICE_PORT = 0xe0;
/** Interruption information (§25.8.3 Table 25-17): [7:0] vector | [10:8] type | [11] deliver
 *  error code | [31] valid. Types: 0 external interrupt, 3 hardware exception. */
const INTR_VALID = 0x80000000, INTR_HW_EXCEPTION = 3 << 8, INTR_ERROR_CODE = 1 << 11;
const GP = 13, UD = 6;
/** Exit qualification for I/O instructions (§28.2.1 Table 28-5): [2:0] size - 1 | [3] IN |
 *  [4] string | [5] REP | [6] immediate operand | [31:16] port. */
const IO_IN = 1 << 3, IO_STRING = 1 << 4, IO_REP = 1 << 5;
/** Exit qualification for control-register accesses (Table 28-3): [3:0] CR | [5:4] access type
 *  (0 MOV to CR, 1 MOV from CR, 2 CLTS, 3 LMSW) | [11:8] GPR | [31:16] LMSW source data. */
const CR_MOV_TO = 0, CR_MOV_FROM = 1, CR_CLTS = 2, CR_LMSW = 3;
const PDPTE_FIELDS: readonly V[] = [V.GuestPdpte0, V.GuestPdpte1, V.GuestPdpte2, V.GuestPdpte3];
const MSR_EFER = 0xc0000080;

/** What the VMM ran itself without unrestricted guest (issue 6): instructions retired by the
 *  CPU core on the lent guest state in emulation batches (real mode that V86 mode cannot
 *  express, PE switches), and the batches; `stepped`: real-mode instructions the VMM ran one at
 *  a time for the V86 task (privileged ones, faults: v86.ts); `v86Entries`: VM entries into the
 *  V86 task. Single emulated instructions of other exits (MMIO under shadow paging, string I/O,
 *  task switches, ...) are in the profile's per-exit instructionsEmulated only. */
export interface EmulationStats { instructions: number; batches: number; stepped: number; v86Entries: number }
/** The bare machine lets devices finish for 10 ms after a HLT with interrupts off. */
const DEAD_HALT_NS = 10_000_000;

export interface HostedOptions {
  /** Generation name, for messages. */
  generation: string;
  /** The run's exit controls (exit-controls.ts); absent: `kvmDefaults` of the generation. */
  exits?: ExitControls;
  /** Alias of `exits.hlt` (the first cut's `--no-hlt-exiting`): when given, it wins. */
  hltExiting?: boolean;
  /** Records every exit (the profiler), or null. */
  recorder?: ExitRecorder | null;
}

function guestRamEnd(m: PcMachine): number { return m.config.memoryBytes; }

export class HostedVm {
  readonly ept: EptTables;
  /** The vCPUs: vCPU i runs on the machine's CPU i (its own VMXON region and VMCS). */
  readonly vcpus: Vcpu[] = [];
  /** Set when the VM stopped on a guest fault or entry failure. */
  fault: GuestFault | null = null;
  /** The exit controls this VM runs with (after defaults and aliases). */
  readonly exits: ExitControls;
  /** Exits handled, by basic reason (exactly as the exit records gave them). */
  readonly exitCounts = new Map<number, number>();
  /** Shadow paging (EPT off: generations without unrestricted guest, or `ept=off`), else null. */
  readonly shadow: ShadowMmu | null = null;
  /** Real-mode code the VMM emulated (EPT off only). */
  readonly emulation: EmulationStats = { instructions: 0, batches: 0, stepped: 0, v86Entries: 0 };
  /** EPT off: the VMM's TSS for the vCPUs' virtual-8086 tasks (v86.ts; each vCPU's V86Task
   *  keeps its own hidden state), or -1. */
  private readonly v86Tss: number = -1;
  /** The exit being handled came from the V86 task. */
  private exitInV86 = false;
  /** The vCPU whose exit is being handled (or that runs). */
  private vc: Vcpu;
  private readonly base: number;
  private readonly recorder: ExitRecorder | null;
  private ownStops = 0;
  private stopMark = 0;
  private machineStop: MachineStop | null = null;
  /** The vCPU whose exit the recorder's event holds, not recorded yet; -1: none. */
  private recordPending = -1;
  private readonly msrOut = new Int32Array(2);
  /** The boot vCPU's state at the firmware's reset vector (its INIT state after a guest reset). */
  private bootState!: ResetState;
  /** Several vCPUs: the VMM schedules them round-robin (SMP_QUANTUM-long turns), the
   *  VMX-preemption timer ending each turn (`tickFromQuantum`: the VMM writes the timer value
   *  before each entry, unless the run's exit controls fix a tick). */
  private readonly scheduling: boolean;
  private readonly tickFromQuantum: boolean;
  /** IA32_VMX_MISC[4:0]: the timer counts down once every 2^rate TSC ticks (§26.5.1). */
  private readonly timerRate: number;
  private turnEnd = 0;
  /** Virtual time since when no vCPU could ever wake (-1: some can), across run() calls. */
  private deadSince = -1;
  private nextVcpu = 0;
  /** xorshift32 state for the turn lengths (as smp.ts: fixed seed, deterministic). */
  private seed = 0x2545f491;
  /** The BIOS service trap's OUT, run on the lent guest state (bound once: no allocation per exit). */
  private trapSize = 1; private trapValue = 0;
  private readonly serviceTrap = (): void => { this.m.io.write(SERVICE_PORT, this.trapSize, this.trapValue); };

  /** The guest view's access to the guest's CR3 and control registers under shadow paging. */
  private readonly shadowAccess: ShadowCrAccess = {
    guestCr3: () => this.vc.guestCr3,
    setGuestCrs: (cr0, cr3, cr4) => this.setShadowCrs(cr0, cr3, cr4),
  };

  /** Shadow paging statistics (shadow memory used, faults fixed and injected), or null with EPT. */
  get shadowStats(): ShadowStats | null { return this.shadow === null ? null : { ...this.shadow.stats }; }

  /** vCPU 0's VMX interface (the boot vCPU; `vcpus[i].root` for the others). */
  get root(): VmxRoot { return this.vcpus[0].root; }
  /** vCPU 0's CPU. */
  get cpu(): Cpu { return this.vcpus[0].cpu; }

  constructor(readonly m: PcMachine, readonly opts: HostedOptions) {
    if (m.firmware === null) throw new Error("hosted mode boots with vmxlab's BIOS only in this version (no --bios)");
    const n = m.cpus.length;
    if (n > MAX_VCPUS) throw new Error(`hosted mode runs at most ${MAX_VCPUS} vCPUs (got ${n})`);
    const c0 = m.cpu;
    const guestBytes = m.config.memoryBytes;
    this.base = hostBase(guestBytes);
    if (m.mem.size < guestBytes + hostReservedBytes(guestBytes)) {
      throw new Error(`hosted mode: create the machine with hostReservedBytes: hostReservedBytes(${guestBytes}) (host memory above guest RAM for the VMM)`);
    }
    if (c0.vmx === null) throw new Error(`hosted mode needs VMX; generation '${opts.generation}' has none`);
    this.recorder = opts.recorder ?? null;
    if (!(c0.vmx instanceof VmxUnit)) throw new Error(`hosted mode needs vmxlab's VMX unit on the CPU (generation '${opts.generation}')`);
    const caps = c0.vmx.caps;
    const base = opts.exits ?? kvmDefaults(caps);
    this.exits = opts.hltExiting === undefined ? base : { ...base, hlt: opts.hltExiting };
    checkExitControls(this.exits, caps);
    // Without EPT (and so without unrestricted guest, which needs it: §26.2.1.1) the VMM keeps
    // shadow page tables and runs the guest's real mode as a V86 task or emulates it (issue 6).
    if (!eptOn(this.exits, caps)) {
      const tss = hostV86Tss(guestBytes);
      this.shadow = new ShadowMmu(m.mem, { base: hostShadowPool(guestBytes), pages: SHADOW_POOL_PAGES }, guestBytes, { vmmPages: { base: tss, pages: V86_TSS_PAGES } });
      writeV86Tss(m.mem, tss);
      this.v86Tss = tss;
    }
    this.scheduling = n > 1;
    // The VMX-preemption timer ends each turn with an exit (as KVM's host timer does). Merom and
    // Penryn lack it (IA32_VMX_PINBASED_CTLS[38] = 0): there the turn ends on the VMM's budget,
    // as a host timer interrupt would end it (an external-interrupt exit on hardware, which the
    // profile does not show).
    this.tickFromQuantum = this.scheduling && this.exits.preemptionTimer === null && (caps.pin.mayBe1 & PinBasedCtls.ActivatePreemptionTimer) !== 0;
    this.timerRate = rdmsr(c0, VmxMsr.Misc)[0] & 0x1f;
    // A20M# is blocked in VMX operation (SDM Vol. 3C §24.8): VMXON needs it off (§24.7), and the
    // guest's A20 gate (8042, port 92h) then has no effect, as on hardware and under KVM: the
    // platform's mask is held off so that every access path (TLB fills through EPT, device
    // models, the VMM's own reads) sees the same memory.
    m.blockA20(true);
    // A guest's reset (8042 pulse, port 92h) is INIT# to every CPU: VM exits (initVcpu).
    m.resetAsInit = true;
    // EPT (shared by the vCPUs): write-back leaves when IA32_VMX_EPT_VPID_CAP[14] allows it,
    // else uncacheable ([8]).
    const [eptCap] = this.shadow === null ? rdmsr(c0, VmxMsr.EptVpidCap) : [0]; // no such MSR without secondary controls
    const wb = ((eptCap >>> 14) & 1) !== 0;
    this.ept = new EptTables(m.mem, this.base, guestBytes, wb ? EPT_MT_WB : EPT_MT_UC, hostBitmaps(guestBytes) - this.base);
    if (this.shadow === null) this.ept.identityMap(this.exits.eptPopulate === 'lazy');
    const bitmaps = { ioA: hostBitmaps(guestBytes), ioB: hostBitmaps(guestBytes) + 0x1000, msr: hostBitmaps(guestBytes) + 0x2000 };
    this.writeBitmaps(bitmaps.ioA, bitmaps.msr);
    const setupExits = this.tickFromQuantum ? { ...this.exits, preemptionTimer: 1 } : this.exits;
    for (let i = 0; i < n; i++) {
      const c = m.cpus[i];
      // The BSP's guest starts where the bare machine's CPU starts; an AP's in the INIT state,
      // waiting for its Startup IPI (the guest's INIT-SIPI-SIPI reaches it as VM exits).
      const reset = i === 0 ? (this.bootState = captureReset(c)) : initState(c.cr0);
      const activity = i === 0 ? Activity.Active : Activity.WaitForSipi;
      c.waitForSipi = false; // the host owns every logical CPU
      enterHostState(c, m.mem, this.base);
      const vc = this.attach(i, c);
      const regions = vcpuRegions(guestBytes, i);
      // VMXON and VMCS regions carry the revision identifier (IA32_VMX_BASIC[30:0], §25.2).
      const [basicLo] = rdmsr(c, VmxMsr.Basic);
      m.mem.write32(regions.vmxon, basicLo & 0x7fffffff);
      m.mem.write32(regions.vmcs, basicLo & 0x7fffffff);
      this.must('VMXON', vc.root.vmxon(regions.vmxon));
      this.must('VMCLEAR', vc.root.vmclear(regions.vmcs));
      this.must('VMPTRLD', vc.root.vmptrld(regions.vmcs));
      const shadowCrs = this.shadow !== null ? { cr0Owned: SHADOW_CR0_OWNED, cr4Owned: SHADOW_CR4_OWNED } : null;
      setupVmcs(vc.v, c, this.base, this.ept.eptp, setupExits, bitmaps, reset, vc.vpid, activity, shadowCrs);
      vc.procControls = vc.v.r(V.ProcBasedControls);
      if (this.shadow !== null) {
        vc.view.cr0Owned = SHADOW_CR0_OWNED; vc.view.cr4Owned = SHADOW_CR4_OWNED;
        vc.view.shadow = this.shadowAccess;
        this.vc = vc;
        vc.shadowCtx = this.shadow.newContext();
        vc.v86 = new V86Task(this.v86Tss);
        this.shadow.select(vc.shadowCtx);
        this.setShadowCrs(reset.cr0, reset.cr3, reset.cr4);
        // The reset vector is real mode; an AP waits for its Startup IPI (startVcpu).
        vc.emulating = i === 0;
      }
      vc.root.unit.addExitListener(this.exitListener(i));
    }
    // The APs enter VMX non-root operation at once, in wait-for-SIPI: a Startup IPI reaches a
    // CPU in VMX root operation as nothing at all (only the guest's wait-for-SIPI state turns it
    // into a VM exit, §26.2), so they must wait there before the boot vCPU can send one.
    for (let i = 1; i < n; i++) {
      const vc = this.vcpus[i], r = vc.root.vmlaunch(0);
      if (r.kind !== 'running') throw new Error(`hosted mode: VMLAUNCH of vCPU ${i} into wait-for-SIPI: ${r.kind === 'failValid' ? r.detail : r.kind === 'exit' ? `exit reason ${r.exit.reason}` : r.kind}`);
      vc.launched = true;
    }
    this.vc = this.vcpus[0];
    this.stopMark = m.stopCount;
  }

  /** vCPU `i` on CPU `c`: its VMX interface, whose guest runner runs that CPU alone. */
  private attach(i: number, c: Cpu): Vcpu {
    const m = this.m;
    let vc: Vcpu | null = null;
    const runner: GuestRunner = {
      run: (budget) => {
        if (this.machineStop !== null) return;
        if (!this.scheduling) {
          const r = m.run(budget);
          if (r !== 'budget' && (r !== 'stopped' || this.externalStop())) this.machineStop = r;
          return;
        }
        // A turn passes at the next call, except in the middle of an MMIO instruction.
        if (vc!.yieldNow && vc!.mtfPages.length === 0) return;
        const r = m.runCpu(i, budget, this.othersRunnable(i));
        if (r === 'yield') vc!.yieldNow = true;
        else if (r === 'shutdown') this.machineStop = 'shutdown';
        else if (r === 'stopped' && this.externalStop()) this.machineStop = m.poweredOff ? 'poweroff' : 'stopped';
      },
      stop: () => { this.ownStops++; m.stop(); },
    };
    const root = new VmxRoot(c, runner);
    const v = new VmcsWriter(root, this.opts.generation);
    vc = new Vcpu(i, c, root, v, new GuestView(root, c), vcpuVpid(i));
    this.vcpus.push(vc);
    return vc;
  }

  /** I/O bitmaps A (ports 0-7FFFH) and B (8000H-FFFFH) at `io` and `io` + 4 KB, and the MSR
   *  bitmap (read low/high, write low/high: §25.6.9) at `msr`: a set bit exits. */
  private writeBitmaps(io: number, msr: number): void {
    const mem = this.m.mem, e = this.exits;
    for (let port = 0; port < 0x10000; port += 8) {
      let b = 0;
      for (let i = 0; i < 8; i++) if (portExits(e, port + i)) b |= 1 << i;
      mem.write8(io + (port >>> 3), b);
    }
    for (const [off, first] of [[0, 0], [0x400, 0xc0000000]] as const) {
      for (let n = 0; n < 0x2000; n += 8) {
        let b = 0;
        for (let i = 0; i < 8; i++) if (msrExits(e, (first + n + i) >>> 0)) b |= 1 << i;
        mem.write8(msr + off + (n >>> 3), b); // reads
        mem.write8(msr + off + 0x800 + (n >>> 3), b); // writes
      }
    }
  }

  private must(what: string, r: VmxResult): void {
    if (r.kind !== 'succeed') throw new Error(`hosted mode: ${what} failed: ${r.kind === 'failValid' ? r.detail : r.kind === 'fault' ? `fault vector ${r.vector}` : r.kind}`);
  }

  /** A stop() the VMM did not cause (the --until marker, the exit port, ACPI power-off). */
  private externalStop(): boolean { return this.m.stopCount - this.ownStops > this.stopMark; }

  /** The profiler's view of vCPU `i`'s exits, filled when they happen (a listener runs no CPU
   *  code). An exit of another vCPU (a Startup IPI's, taken at once) records the pending one. */
  private exitListener(i: number): (x: VmExitRecord) => void {
    return (x) => {
      const rec = this.recorder;
      if (rec === null) return;
      if (this.recordPending >= 0) this.flushRecord(this.recordPending, 0);
      const ev = rec.event;
      ev.reset();
      ev.vcpu = i; ev.timeNs = this.m.clock.nowNs();
      ev.reason = x.reason; ev.entryFailure = x.entryFailure;
      ev.qualification = x.qualification >>> 0;
      ev.guestRip = (x.guestCsBase + x.guestRip) >>> 0;
      ev.instructionLength = x.instructionLength; ev.instructionInfo = x.instructionInfo;
      ev.guestPhysical = x.guestPhysical >>> 0; ev.guestLinear = x.guestLinear >>> 0;
      ev.exitInterruptionInfo = x.interruptionInfo >>> 0; ev.exitInterruptionErrorCode = x.interruptionErrorCode >>> 0;
      ev.idtVectoringInfo = x.idtVectoringInfo >>> 0; ev.idtVectoringErrorCode = x.idtVectoringErrorCode >>> 0;
      ev.ecx = x.guestEcx >>> 0; ev.eax = x.guestEax >>> 0;
      this.recordPending = i;
    };
  }

  /** Records vCPU `i`'s pending exit event with the events injected at its next entry. */
  private flushRecord(i: number, injected: number): void {
    if (this.recordPending !== i || this.recorder === null) return;
    this.recordPending = -1;
    this.recorder.event.interruptsInjected = injected;
    this.recorder.record(this.recorder.event);
  }

  /** Runs the guest for up to `ticks` of virtual time. */
  run(ticks: number): HostedStop {
    if (this.fault !== null) return 'guest-fault';
    const clk = this.m.clock;
    const end = clk.ticks() + ticks;
    this.machineStop = null;
    // Stops from before this call were reported by the run they ended (as PcMachine.run
    // forgets stopRequested): only new ones end this run.
    this.stopMark = this.m.stopCount - this.ownStops;
    try {
      if (!this.scheduling) return this.turn(this.vcpus[0], end) ?? 'budget';
      return this.schedule(end);
    } finally {
      for (const vc of this.vcpus) if (!vc.cpu.nonRoot) this.flushRecord(vc.index, 0);
    }
  }

  /** Several vCPUs: rounds over the runnable ones in index order, a turn each (smp.ts's
   *  schedule, with the VMM deciding); when none can run, virtual time skips to the next timer. */
  private schedule(end: number): HostedStop {
    const clk = this.m.clock, n = this.vcpus.length;
    while (clk.ticks() < end) {
      if (this.externalStop()) return this.m.poweredOff ? 'poweroff' : 'stopped';
      let ran = false;
      for (let k = 0; k < n; k++) {
        const vc = this.vcpus[(this.nextVcpu + k) % n];
        if (!this.runnable(vc)) continue;
        this.nextVcpu = (vc.index + 1) % n;
        this.turnEnd = Math.min(end, clk.ticks() + this.quantum());
        const t0 = clk.ticks(), x0 = vc.root.unit.exitCount;
        const stop = this.turn(vc, this.turnEnd);
        if (stop !== null && stop !== 'budget') return stop;
        // A turn that neither ran an instruction nor took an exit did nothing: the next vCPU.
        if (clk.ticks() === t0 && vc.root.unit.exitCount === x0) continue;
        ran = true;
        break; // rounds restart from the next vCPU, so a woken vCPU waits at most one round
      }
      if (ran) { this.deadSince = -1; continue; }
      // No vCPU can run: skip idle time to the next timer.
      let allDead = true, limit = Infinity;
      for (const vc of this.vcpus) {
        if (!this.dead(vc)) allDead = false;
        if (vc.cpu.nonRoot && vc.cpu.halted) { const d = vc.cpu.wakeDeadline(); if (d < limit) limit = d; }
      }
      if (allDead) {
        // Nothing can wake any vCPU; devices finish for 10 ms of virtual time first (smp.ts).
        // The window spans run() calls: the desktop engine runs in slices shorter than 10 ms.
        if (this.deadSince < 0) this.deadSince = clk.nowNs();
        else if (clk.nowNs() - this.deadSince > DEAD_HALT_NS) return 'halted';
      } else this.deadSince = -1;
      if (!clk.skipToNext(limit)) return allDead ? 'halted' : 'idle';
      clk.runDue();
    }
    return 'budget';
  }

  /** The next turn's length, in [SMP_QUANTUM/2, SMP_QUANTUM] (smp.ts: no lockstep). */
  private quantum(): number {
    let x = this.seed;
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    this.seed = x;
    return SMP_QUANTUM / 2 + ((x >>> 0) % (SMP_QUANTUM / 2 + 1));
  }

  /** Whether vCPU `vc` has something to do now. */
  private runnable(vc: Vcpu): boolean {
    const c = vc.cpu;
    if (vc.root.unit.exitCount !== vc.exitsSeen && !c.nonRoot) return true; // an exit to handle
    if (vc.idle) return !c.halted || (vc.idleIf && (vc.pending.length > 0 || (c.intr !== null && c.intr.hasInterrupt())));
    // Wait-for-SIPI blocks INIT and external interrupts (§25.4.2 Table 25-3, §26.2); its SIPI
    // exit is taken at once (the exit check above).
    if (c.nonRoot && c.waitForSipi) return false;
    if (c.nonRoot && c.halted) return c.hasWakeEvent();
    return !c.shutdown;
  }

  /** Whether nothing can ever wake vCPU `vc` (the VMM's idle with IF = 0, or the CPU's own). */
  private dead(vc: Vcpu): boolean {
    const c = vc.cpu;
    if (vc.idle) return !vc.idleIf && c.halted;
    if (!c.nonRoot) return c.shutdown;
    return c.shutdown || c.waitForSipi || (c.halted && !c.canWake());
  }

  private othersRunnable(i: number): boolean {
    for (const vc of this.vcpus) if (vc.index !== i && this.runnable(vc)) return true;
    return false;
  }

  /** One turn of `vc` until virtual time `end`: entries and exits until the turn ends (one
   *  vCPU: until `end` or a stop). Null or 'budget': the turn is over, the VM goes on. */
  private turn(vc: Vcpu, end: number): HostedStop | null {
    const c = vc.cpu, clk = this.m.clock;
    this.vc = vc;
    this.m.selectCpu(vc.index);
    vc.yieldNow = false;
    // Shadow paging: the shared MMU works for this vCPU; a flush while others ran took its
    // root away, so GuestCr3 gets a new one before it enters.
    if (this.shadow !== null && !this.shadow.select(vc.shadowCtx!)) {
      if (vc.v86 !== null && vc.v86.active) vc.v86.leave(vc.v); // the guest's own CR4 first
      this.setShadowCrs(this.guestCr(V.GuestCr0, V.Cr0ReadShadow, SHADOW_CR0_OWNED), vc.guestCr3, this.guestCr(V.GuestCr4, V.Cr4ReadShadow, SHADOW_CR4_OWNED));
    }
    if (vc.idle) {
      // Woken: an interrupt it can take is acknowledged at the controller and injected.
      vc.idle = false; c.halted = false;
      if (vc.idleIf && vc.pending.length === 0 && c.intr !== null && c.intr.hasInterrupt()) vc.pending.push(c.intr.acknowledge());
    }
    while (clk.ticks() < end) {
      if (this.externalStop()) return this.m.poweredOff ? 'poweroff' : 'stopped';
      const t0 = clk.ticks();
      let res: VmxResult;
      if (c.nonRoot) res = vc.root.runGuest(end - t0);
      else if (vc.root.unit.exitCount !== vc.exitsSeen && vc.launched) res = { kind: 'exit', exit: vc.root.unit.record };
      else if (vc.emulating && c.initPending) {
        // An INIT held while the vCPU waited for its Startup IPI (blocked there: SDM Vol. 3C
        // §25.4.2 Table 25-3) is an INIT exit at the next VM entry (§26.2); the VMM, about to run
        // the vCPU's real-mode code itself instead, takes it as that exit would.
        c.initPending = false;
        this.initVcpu();
        continue;
      } else if (vc.emulating) {
        const stop = this.emulateBatch(end);
        if (stop !== null) return stop;
        // Several vCPUs: a batch that halted (or yielded) ends the turn, as a HLT exit does.
        if (this.scheduling && (clk.ticks() === t0 || vc.yieldNow)) return null;
        continue;
      } else {
        let injected = -1;
        // (A vCPU waiting for its Startup IPI runs nothing: it enters in that activity state.)
        if (vc.v86 !== null && vc.v.r(V.GuestActivityState) !== Activity.WaitForSipi) {
          const task = this.realModeEntry();
          if (task === null) { if (this.fault !== null) return 'guest-fault'; continue; } // the VMM emulates
          injected = task;
        }
        if (this.tickFromQuantum) {
          const left = this.turnEnd - t0;
          if (left <= 0) return null;
          vc.v.w(V.VmxPreemptionTimerValue, Math.max(1, Math.ceil(left / (1 << this.timerRate))));
        }
        this.flushRecord(vc.index, injected >= 0 ? injected : this.prepareEntry());
        res = vc.launched ? vc.root.vmresume(end - t0) : vc.root.vmlaunch(end - t0);
      }
      if (res.kind === 'exit') {
        const x = res.exit;
        // The V86 task's hidden guest state back before any handler looks (v86.ts), except for
        // the exits whose handlers read none of it; an entry failure keeps the form that failed
        // for the report.
        this.exitInV86 = vc.v86 !== null && vc.v86.active;
        if (this.exitInV86 && !x.entryFailure && !HostedVm.v86Transparent(x)) vc.v86!.leave(vc.v);
        vc.exitsSeen = vc.root.unit.exitCount;
        if (!x.entryFailure) vc.launched = true;
        const stop = this.handleExit(x);
        if (stop !== null) return stop;
        if (this.scheduling && (vc.idle || x.reason === ExitReason.PreemptionTimerExpired)) return null;
        continue;
      }
      if (res.kind === 'running') {
        vc.launched = true;
        if (this.machineStop !== null) return this.machineStop;
        if (this.scheduling) return null; // the turn ended (yield, idle, or its budget)
        if (clk.ticks() === t0) return res.halted ? 'idle' : 'budget';
        continue;
      }
      if (res.kind === 'shutdown') return this.stopWith(`VMX abort: ${res.detail}`, null);
      const what = vc.launched ? 'VMRESUME' : 'VMLAUNCH';
      const detail = res.kind === 'failValid' ? `VM-instruction error ${res.error}: ${res.detail}` : res.kind === 'fault' ? `#${res.vector} fault` : res.kind;
      return this.stopWith(`${what} failed (${detail})`, null);
    }
    return this.scheduling ? null : 'budget';
  }

  // ---- real mode without unrestricted guest (issue 6)

  /**
   * Before a VM entry without EPT: a real-mode guest enters as a virtual-8086 task (v86.ts) after
   * the VMM has delivered its pending events through its IVT. Returns the events delivered; -1
   * for a protected-mode guest (entered as it is, events injected by prepareEntry); null when
   * the VMM runs the guest's code itself (`vc.emulating` set: real mode that V86 mode cannot
   * express, or a PE switch made in real mode, which emulateBatch checks on the lent state with
   * `emulationRequired`), or when the VM stopped (`fault`).
   */
  private realModeEntry(): number | null {
    const vc = this.vc, v = vc.v, task = vc.v86!;
    if (task.active) {
      // The exit's handler left the V86 form in place (v86Transparent): the state is still the
      // task's; it is left only to deliver an event.
      if (!this.realModeEventDue()) {
        this.setProc(ProcBasedCtls.InterruptWindowExiting, vc.pending.length > 0);
        this.emulation.v86Entries++;
        return 0;
      }
      task.leave(v);
    }
    if ((v.r(V.Cr0ReadShadow) & Cr0.PE) !== 0) {
      if (!vc.lastReal) return -1;
      vc.lastReal = false; vc.emulating = true;
      return null;
    }
    vc.lastReal = true;
    if (!v86FitsVmcs(v)) { vc.emulating = true; return null; }
    const n = this.deliverRealModeEvents();
    if (this.fault !== null) return null;
    if (!v86FitsVmcs(v)) { this.flushRecord(vc.index, n); vc.emulating = true; return null; }
    // More pending interrupts wait for RFLAGS.IF = 1 (interrupt-window exiting works in the task:
    // IF is the guest's own there, IOPL = 3).
    this.setProc(ProcBasedCtls.InterruptWindowExiting, vc.pending.length > 0);
    task.enter(v);
    this.emulation.v86Entries++;
    return n;
  }

  /** Exits from the V86 task whose handlers read and write nothing the task's form hides
   *  (segment access rights, RFLAGS.VM/IOPL, TR, CR4.VME, the exception bitmap): port I/O other
   *  than string I/O and the BIOS service port (which lend the guest state), CPUID, external
   *  interrupts and interrupt windows. The VMM re-enters them without leaving the form, unless
   *  an event is to be delivered (realModeEntry). */
  private static v86Transparent(x: VmExitRecord): boolean {
    switch (x.reason) {
      case ExitReason.ExternalInterrupt: case ExitReason.InterruptWindow: case ExitReason.Cpuid: return true;
      case ExitReason.IoInstruction: return (x.qualification & IO_STRING) === 0 && (x.qualification >>> 16) !== SERVICE_PORT;
      default: return false;
    }
  }

  /** The guest can take an external interrupt at the next entry: RFLAGS.IF = 1 and no blocking
   *  by STI or MOV SS (§26.4.1 via §27.6; the interruptibility state, §25.4.2 Table 25-3). */
  private interruptible(): boolean {
    const v = this.vc.v;
    return (v.r(V.GuestRflags) & Flag.IF) !== 0 && (v.r(V.GuestInterruptibilityState) & 3) === 0;
  }

  /** An event deliverRealModeEvents would deliver now. */
  private realModeEventDue(): boolean {
    const vc = this.vc;
    if (vc.reinjectInfo !== 0 || vc.injectedException) return true;
    return vc.pending.length > 0 && this.interruptible();
  }

  /** The event set up for the next VM entry (a re-injected one, else an exception the VMM
   *  injects), taken for the emulator to deliver instead: `info` 0 when there is none. */
  private takeEntryEvent(): { readonly info: number; readonly error: number; readonly length: number } {
    const vc = this.vc, v = vc.v, e = this.entryEvent;
    e.info = 0; e.error = 0; e.length = 0;
    if (vc.reinjectInfo !== 0) { e.info = vc.reinjectInfo; e.error = vc.reinjectError; e.length = vc.reinjectLength; vc.reinjectInfo = 0; }
    else if (vc.injectedException) { e.info = v.r(V.VmEntryInterruptionInfo); e.error = v.r(V.VmEntryExceptionErrorCode); e.length = v.r(V.VmEntryInstructionLength); }
    vc.injectedException = false;
    return e;
  }
  private readonly entryEvent = { info: 0, error: 0, length: 0 };

  /**
   * Events for a real-mode guest about to enter as a V86 task, delivered by the VMM through the
   * guest's IVT with the CPU core on the lent guest state (as KVM's
   * kvm_inject_realmode_interrupt: FLAGS, CS and IP pushed, CS:IP from the IVT, IF, TF and AC
   * cleared: SDM Vol. 3A §20.1.4): VM-entry injection would deliver them through the IDT as
   * protected mode does (§27.6) and leave virtual-8086 mode (Vol. 3A §20.3). An event set up for
   * injection (re-injected, a reflected exception) first; else one pending interrupt when
   * RFLAGS.IF = 1 with no STI/MOV SS blocking. Returns the events delivered.
   */
  private deliverRealModeEvents(): number {
    const vc = this.vc, v = vc.v, c = vc.cpu;
    const { info, error, length } = this.takeEntryEvent();
    let vector = -1;
    if ((info & INTR_VALID) !== 0) v.w(V.VmEntryInterruptionInfo, 0);
    else if (vc.pending.length > 0 && this.interruptible()) vector = vc.pending.pop()!;
    else return 0;
    vc.view.with(v.r(V.GuestRip), () => this.asEmulator(() => {
      if (vector >= 0) { c.halted = false; c.interruptNow(vector, InterruptKind.External); } else this.deliverEmulated(info, error, length);
    }));
    if (c.shutdown) { this.stopWith('the guest triple-faulted (delivering an event in real mode)', null); return 0; }
    // Delivering an event ends blocking by STI or MOV SS (SDM Vol. 3A §6.8.3).
    v.w(V.GuestInterruptibilityState, v.r(V.GuestInterruptibilityState) & ~3);
    return 1;
  }

  /**
   * An exception exit from the V86 task (the exception bitmap is all ones there). #PF: the
   * shadow MMU's. Traps and software exceptions (#DB, INT3, INTO, INT1): the guest's own,
   * delivered through its IVT at the next entry. Faults: either what V86 mode refuses and real
   * mode allows (a privileged instruction's #GP(0) at CPL 3, #AC), or the guest's own fault: the
   * VMM runs the instruction in real mode (emulateRealInstruction), which does the one or
   * delivers the other through the IVT.
   */
  private v86Exception(x: VmExitRecord): HostedStop | null {
    const info = x.interruptionInfo, vector = info & 0xff, type = (info >>> 8) & 7;
    if (type === 3 && vector === Vector.PF) return this.shadowPageFault(x);
    if (type !== 3 || vector === Vector.DB) return this.reflectException(x, x.interruptionErrorCode);
    return this.emulateRealInstruction(x.guestRip >>> 0);
  }

  /**
   * Runs the real-mode instruction at `rip` with the CPU core on the lent guest state (real
   * mode, as the guest sees it): the instruction that faulted in the V86 task. A fault it raises
   * in real mode is delivered through the IVT by the core; an event whose delivery faulted (an
   * INT n redirected to the IVT) is replayed by the instruction, not re-injected. HLT: the vCPU
   * idles as after a HLT exit. The faulting instruction retired when it faulted (cpu.ts), so the
   * emulated one adds none: bare and hosted retire the same count.
   */
  private emulateRealInstruction(rip: number): HostedStop | null {
    const vc = this.vc, c = vc.cpu;
    vc.reinjectInfo = 0;
    if (this.recorder !== null) this.recorder.event.instructionsEmulated = 1;
    this.emulation.stepped++;
    let halted = false;
    vc.view.with(rip, () => this.asEmulator(() => {
      try { c.step(); } catch (e) {
        if (e !== FAULT) throw e;
        c.eip = c.instrStart;
        c.exception(FAULT);
      }
      halted = c.halted; c.halted = false;
    }));
    if (c.shutdown) return this.stopWith('the guest triple-faulted (in an instruction the VMM emulated)', null);
    if (halted) return this.idle();
    return this.checkStopAfterHandling();
  }

  /** Runs `fn` with the CPU core as the VMM's instruction emulator on the lent guest state: an
   *  x86 core outside VMX operation (the unit's CR0/CR4 fixed bits, its capability MSRs and the
   *  VMX instructions do not apply to the guest's code). */
  private asEmulator(fn: () => void): void {
    const c = this.vc.cpu, vmx = c.vmx;
    c.vmx = null;
    try { fn(); } finally { c.vmx = vmx; }
  }

  /** Runs the vCPU's CPU for `ticks` on the lent guest state: the machine's run with one vCPU
   *  (devices, idle time), its own turn with several (the others keep their turns: a HLT or a
   *  PAUSE-yield ends the batch, 'idle' / 'yield'). */
  private runEmulated(ticks: number): MachineStop | 'yield' | 'idle' {
    if (!this.scheduling) return this.m.run(ticks);
    const i = this.vc.index, r = this.m.runCpu(i, ticks, this.othersRunnable(i));
    if (r === 'yield') this.vc.yieldNow = true;
    return r;
  }

  /**
   * Runs the guest's code in the VMM while its state cannot be entered (emulation.ts: a PE switch
   * whose segment caches no descriptor load could give; v86.ts: real mode that V86 mode cannot
   * express, such as big real mode or the reset vector's CS): the CPU core is the instruction
   * emulator on the guest state the guest view lends, run by the machine's own loop one
   * instruction at a time, so devices and timers advance on virtual time exactly as in bare
   * mode, each emulated instruction retires one instruction, and the batch ends at the first
   * instruction boundary where the state can be entered (in protected mode, or as a V86 task);
   * the core takes the PIC's interrupts through the guest's IVT as the bare CPU does. A batch
   * also ends at the run's budget or when the machine stops. Profile: a batch's retired
   * instructions are added to instructionsEmulated of the exit that led into it (e.g. the MOV CR0
   * that cleared PE), or, before the first exit, to the recorder's run total; `emulation`
   * counts them all.
   */
  private emulateBatch(end: number): HostedStop | null {
    const vc = this.vc, c = vc.cpu, m = this.m, clk = m.clock, v = vc.v;
    // An event set up for the next entry (an injected exception, a re-injected event) is
    // delivered by the emulator instead.
    const { info, error, length } = this.takeEntryEvent();
    v.w(V.VmEntryInterruptionInfo, 0);
    this.setProc(ProcBasedCtls.InterruptWindowExiting, false);
    const i0 = c.icount;
    let stop: HostedStop | null = null, required = true, blocking = 0;
    vc.view.with(v.r(V.GuestRip), () => this.asEmulator(() => {
      if ((info & INTR_VALID) !== 0) this.deliverEmulated(info, error, length);
      for (;;) {
        if (vc.pending.length > 0 && (c.getFlags() & Flag.IF) !== 0) { c.halted = false; c.interruptNow(vc.pending.pop()!, InterruptKind.External); }
        const real = (c.cr0 & Cr0.PE) === 0;
        required = real ? !v86FitsCpu(c) : emulationRequired(c);
        vc.lastReal = real;
        if (!required) break;
        if (end - clk.ticks() <= 0) break;
        const r = this.runEmulated(1);
        if (r === 'budget') continue;
        if (r === 'yield' || r === 'idle') break; // several vCPUs: the turn passes
        if (this.externalStop()) { stop = m.poweredOff ? 'poweroff' : 'stopped'; break; }
        stop = r === 'shutdown' ? this.stopWith('the guest triple-faulted (in code the VMM emulated)', null) : r;
        break;
      }
      // A batch that ends after STI or MOV SS/POP SS hands their blocking to the entry (the
      // interruptibility state, §25.4.2 Table 25-3): the next instruction runs first.
      if (c.icount < c.inhibitUntil) blocking = c.inhibitBy === InhibitBy.MovSs ? 2 : 1;
    }));
    if (blocking !== 0 || c.icount !== i0) v.w(V.GuestInterruptibilityState, (v.r(V.GuestInterruptibilityState) & ~3) | blocking);
    // An INIT IPI that reached the CPU while it ran the guest's code for the VMM (VMX detached)
    // parked it as the bare platform parks an AP: it is the guest's INIT (as its exit would be).
    if (c.waitForSipi) { c.waitForSipi = false; this.initVcpu(); required = vc.emulating; }
    const n = c.icount - i0;
    if (n > 0) {
      this.emulation.instructions += n; this.emulation.batches++;
      const rec = this.recorder;
      if (rec !== null) { if (this.recordPending === vc.index) rec.event.instructionsEmulated += n; else rec.instructionsEmulated += n; }
    }
    vc.emulating = required;
    return stop;
  }

  /** Delivers an event of VM-entry interruption-information format (§25.8.3) with the
   *  emulator (the guest state is lent): software events return after their instruction. */
  private deliverEmulated(info: number, error: number, length: number): void {
    const c = this.vc.cpu, type = (info >>> 8) & 7, vector = info & 0xff;
    if (type >= 4) c.eip = (c.eip + length) >>> 0;
    c.instrStart = c.eip; c.halted = false;
    try { c.deliver(c, vector, type, error, (info & INTR_ERROR_CODE) !== 0); } catch (e) {
      if (e !== FAULT) throw e;
      c.exception(FAULT);
    }
  }

  // ---- exits

  private count(reason: number): void { this.exitCounts.set(reason, (this.exitCounts.get(reason) ?? 0) + 1); }

  /** Handles one exit; null to go on. */
  private handleExit(x: VmExitRecord): HostedStop | null {
    const reason = x.reason;
    this.count(reason);
    if (x.entryFailure) return this.stopWith(`VM-entry failure, exit reason ${reason} (${ExitReason[reason] ?? '?'})`, x);
    // An exit while delivering an event: deliver it again on the next entry (§28.2.4, §27.6.1).
    if ((x.idtVectoringInfo & INTR_VALID) !== 0) {
      this.vc.reinjectInfo = x.idtVectoringInfo & ~(1 << 12);
      this.vc.reinjectError = x.idtVectoringErrorCode;
      this.vc.reinjectLength = x.instructionLength;
    }
    switch (reason) {
      case ExitReason.ExternalInterrupt:
        if ((x.interruptionInfo & INTR_VALID) !== 0) this.vc.pending.push(x.interruptionInfo & 0xff);
        return null;
      case ExitReason.InterruptWindow: return null;
      case ExitReason.IoInstruction: return this.io(x);
      case ExitReason.Cpuid: this.cpuid(); this.skip(x); return null;
      case ExitReason.Hlt: this.skip(x); return this.scheduling ? this.idleVcpu() : this.idle();
      case ExitReason.InitSignal: this.initVcpu(); return null;
      case ExitReason.StartupIpi: this.startVcpu(x.qualification & 0xff); return null;
      case ExitReason.Rdmsr: this.rdmsr(x); return null;
      case ExitReason.Wrmsr: this.wrmsr(x); return null;
      case ExitReason.CrAccess: return this.crAccess(x);
      case ExitReason.EptViolation: return this.eptViolation(x);
      case ExitReason.MonitorTrapFlag: this.endMtf(); return null;
      case ExitReason.Invd: this.skip(x); return null;
      case ExitReason.Rdtsc: this.rdtsc(x); return null;
      case ExitReason.Invlpg: this.invlpg(x); return null;
      case ExitReason.Invpcid: return this.invpcid(x);
      case ExitReason.Xsetbv: this.xsetbv(x); return null;
      // KVM's exit-handler table (vmx.c kvm_vmx_exit_handlers) has no GETSEC entry: an
      // unexpected exit, which KVM answered with #UD (before Linux 5.7; later it stops the vCPU
      // with an internal error). It cannot come: CPUID hides SMX and MOV to CR4 refuses SMXE.
      case ExitReason.Getsec: this.injectException(UD, null); return null;
      case ExitReason.Pause: this.skip(x); return null;
      // MONITOR/MWAIT exiting (KVM's setup_vmcs_config requires both): run as NOPs, as KVM's
      // kvm_emulate_monitor_mwait does (CPUID does not offer them to the guest).
      case ExitReason.Monitor: case ExitReason.Mwait: this.skip(x); return null;
      // The scheduling tick: with one vCPU the same vCPU runs on (the timer reloads at entry).
      case ExitReason.PreemptionTimerExpired: return null;
      case ExitReason.ExceptionOrNmi:
        if (this.exitInV86) return this.v86Exception(x);
        if (this.shadow !== null && (x.interruptionInfo & 0x7ff) === (Vector.PF | INTR_HW_EXCEPTION)) return this.shadowPageFault(x);
        return this.reflectException(x, x.interruptionErrorCode);
      case ExitReason.TaskSwitch: return this.taskSwitchExit(x);
      case ExitReason.Vmcall: case ExitReason.Vmclear: case ExitReason.Vmlaunch: case ExitReason.Vmptrld:
      case ExitReason.Vmptrst: case ExitReason.Vmread: case ExitReason.Vmresume: case ExitReason.Vmwrite:
      case ExitReason.Vmxoff: case ExitReason.Vmxon: case ExitReason.Invept: case ExitReason.Invvpid:
        this.injectException(UD, null); return null; // VMX is hidden from the guest (CPUID.1:ECX[5] = 0)
      case ExitReason.TripleFault: return this.stopWith('the guest triple-faulted', x);
      default: return this.stopWith(`exit reason ${reason} (${ExitReason[reason] ?? 'unknown'}) is not handled by this VMM`, x);
    }
  }

  /** RIP past the exiting instruction (which the CPU counted as retired). */
  private skip(x: VmExitRecord): void {
    this.vc.v.w(V.GuestRip, (x.guestRip + x.instructionLength) >>> 0);
  }

  private gpr(i: number): number { return i === 4 ? this.vc.v.r(V.GuestRsp) : this.vc.cpu.r32[i] >>> 0; }
  private setGpr(i: number, val: number): void { if (i === 4) this.vc.v.w(V.GuestRsp, val); else this.vc.cpu.r32[i] = val; }

  private injectException(vector: number, errorCode: number | null): void {
    this.vc.v.w(V.VmEntryInterruptionInfo, (INTR_VALID | INTR_HW_EXCEPTION | (errorCode !== null ? INTR_ERROR_CODE : 0) | vector) >>> 0);
    if (errorCode !== null) this.vc.v.w(V.VmEntryExceptionErrorCode, errorCode);
    this.vc.injectedException = true;
  }
  private injectedException = false;

  /** RDTSC exiting: EDX:EAX = the TSC the guest would have read (no TSC offsetting). */
  private rdtsc(x: VmExitRecord): void {
    const t = this.vc.cpu.tsc();
    this.vc.cpu.r32[0] = t % 0x100000000; this.vc.cpu.r32[2] = Math.floor(t / 0x100000000);
    if (this.recorder !== null) this.recorder.event.instructionsEmulated = 1;
    this.skip(x);
  }

  /** INVPCID exit (reason 58: "enable INVPCID" with "INVLPG exiting", SDM Vol. 3C §26.1.3: shadow
   *  paging's setting, or invlpg=on): the CPU core runs it on the lent guest state (its #GP
   *  checks; the descriptor read through the guest's tables), then what the guest's TLB would
   *  drop goes: under shadow paging the root is compared with the guest's tables as at a CR3
   *  load, for every type (a TLB may invalidate more than INVPCID asks, SDM Vol. 2A INVPCID; the
   *  guest's 32-bit paging has no PCIDs) — the guest view's write-back of the lent control
   *  registers does that (setShadowCrs) after any emulated instruction; with EPT and VPID the
   *  guest's translations outlive entries and go by INVVPID. */
  private invpcid(x: VmExitRecord): HostedStop | null {
    const stop = this.emulateInstruction(x.guestRip >>> 0);
    if (this.vc.injectedException) return stop; // #GP: nothing invalidated
    if (this.shadow === null) this.flushGuestTlb(false);
    return stop;
  }

  /** XSETBV (reason 55, unconditional): KVM's handle_xsetbv (xcr.ts); the CPL is SS.DPL. */
  private xsetbv(x: VmExitRecord): void {
    const c = this.vc.cpu, cpl = (this.vc.v.r(V.GuestSsAccessRights) >>> 5) & 3;
    if (this.recorder !== null) this.recorder.event.instructionsEmulated = 1;
    if (!guestSetXcr(c, c.r32[1] >>> 0, c.r32[0], c.r32[2], cpl)) { this.injectException(GP, 0); return; }
    this.skip(x);
  }

  /** INVLPG exiting: the linear address is the qualification (§28.2.1). With VPID the guest's
   *  translations outlive entries, so INVVPID individual-address drops it (§31.3, the type
   *  IA32_VMX_EPT_VPID_CAP[40] reports; all-context otherwise); without VPID every entry
   *  flushes the guest's TLB already. */
  private invlpg(x: VmExitRecord): void {
    if (this.shadow !== null) this.shadow.invlpg(x.qualification >>> 0);
    if (this.exits.vpid) {
      const [, vpidCap] = rdmsr(this.vc.cpu, VmxMsr.EptVpidCap);
      const r = (vpidCap & (1 << 8)) !== 0 ? this.vc.root.invvpid(0, this.vc.vpid, x.qualification >>> 0) : this.vc.root.invvpid(2, this.vc.vpid);
      this.must('INVVPID', r);
    }
    this.skip(x);
  }

  /** An exception the exception bitmap made exit: delivered to the guest as it was raised
   *  (§28.2.2 interruption information). #PF: CR2 gets the faulting address (the CPU left it
   *  unchanged, §28.1); #DB: DR6 gets the debug-status bits of the qualification (§28.1,
   *  Table 28-1). An exception raised while delivering another event: contributory or #PF after
   *  #PF / contributory becomes #DF (SDM Vol. 3A §6.15 Table 6-5); an interrupted external
   *  interrupt goes back to the pending ones; a faulting event re-raises when its instruction
   *  runs again. */
  private reflectException(x: VmExitRecord, errorCode: number): HostedStop | null {
    const info = x.interruptionInfo, vector = info & 0xff, type = (info >>> 8) & 7;
    if (type === 2) return this.stopWith('an NMI exited: NMIs are not modelled by this VMM', x);
    const c = this.vc.cpu;
    if (type === 3 && vector === Vector.PF) c.cr2 = x.qualification;
    if (type === 3 && vector === Vector.DB) c.dr[6] = ((c.dr[6] & ~0x600f) | (x.qualification & 0x600f)) >>> 0;
    const prior = this.vc.reinjectInfo;
    this.vc.reinjectInfo = 0;
    if (prior !== 0) {
      const pType = (prior >>> 8) & 7, pVector = prior & 0xff;
      if (pType === 0) this.vc.pending.push(pVector);
      const contributory = (v: number): boolean => v === 0 || (v >= 10 && v <= 13);
      // A contributory exception or #PF while delivering #DF: shutdown (SDM Vol. 3A §6.15,
      // interrupt 8, "Double Fault Exception"); #DF itself is not contributory.
      if (pType === 3 && pVector === Vector.DF && (contributory(vector) || vector === Vector.PF)) {
        return this.stopWith('the guest triple-faulted (exception during #DF delivery)', x);
      }
      if (pType === 3 && (contributory(pVector) || pVector === Vector.PF) && (contributory(vector) || vector === Vector.PF) &&
        !(pVector !== Vector.PF && vector === Vector.PF)) {
        this.injectException(Vector.DF, 0);
        return null;
      }
    }
    this.vc.v.w(V.VmEntryInterruptionInfo, (info & ~(1 << 12) & ~(1 << 31) | INTR_VALID) >>> 0);
    if ((info & INTR_ERROR_CODE) !== 0) this.vc.v.w(V.VmEntryExceptionErrorCode, errorCode);
    if (type === 4 || type === 5 || type === 6) this.vc.v.w(V.VmEntryInstructionLength, x.instructionLength);
    this.vc.injectedException = true;
    return null;
  }

  /** A #PF exit under shadow paging (every #PF exits: exception bitmap bit 14, PFEC mask =
   *  match = 0, §25.6.3). The ShadowMmu fills the shadow entry from the guest's tables (the
   *  instruction, or the event whose delivery faulted, runs again: re-injected from the
   *  IDT-vectoring information by prepareEntry), or finds the guest's own fault (injected with
   *  CR2 = the linear address: injection does not write CR2, §27.6), or an access to MMIO,
   *  unassigned memory or a ROM write (the instruction is emulated: the CPU core on the lent
   *  guest state reaches the device model, as the EPT path's MTF step does; Merom and Penryn
   *  have no monitor trap flag). */
  private shadowPageFault(x: VmExitRecord): HostedStop | null {
    const lin = x.qualification >>> 0, mem = this.m.mem;
    const r = this.shadow!.pageFault(lin, x.interruptionErrorCode);
    const vectoring = (x.idtVectoringInfo & INTR_VALID) !== 0;
    if (r.kind === 'fixed') {
      // The CPU counted the faulting instruction as retired (cpu.ts: a fault retires before its
      // delivery, which here is the exit); the guest never sees this fault and runs the
      // instruction again, so it is taken back to retire exactly what bare mode retires. (An
      // event whose delivery faulted retired nothing: it is re-injected.)
      if (!vectoring) this.vc.cpu.icount--;
      return null;
    }
    if (r.kind === 'guest') return this.reflectException(x, r.errorCode);
    // At or above 4 GB (a guest PAE entry's bits 35:32) nothing answers: the CPU core's run of
    // the instruction reaches nothing there, as on the bare machine (PhysicalMemory).
    const gpa = r.gpa < PHYS_LIMIT ? r.gpa >>> 0 : r.gpa;
    if (gpa >= PHYS_LIMIT) {
      if (this.recorder !== null) this.recorder.event.device = 'unassigned';
      if (vectoring) return this.stopWith(`guest-physical 0x${gpa.toString(16)} (above 4 GB) during event delivery is not handled`, x);
      return this.emulateInstruction(x.guestRip >>> 0);
    }
    if (gpa >= guestRamEnd(this.m) && gpa < mem.size) return this.stopWith(`guest access to guest-physical 0x${gpa.toString(16)}, above guest RAM (the VMM's reserved memory)`, x);
    if (this.recorder !== null) this.recorder.event.device = mem.mmioNameOf(asGuestPhysical(gpa)) ?? (mem.kind[gpa >>> 12] === PageKind.Rom ? 'ROM' : 'unassigned');
    if (vectoring) return this.stopWith(`MMIO at guest-physical 0x${gpa.toString(16)} during event delivery (IDT or stack in device memory) is not handled`, x);
    // The faulting instruction retired when it faulted (above); the emulated run adds none.
    return this.emulateInstruction(x.guestRip >>> 0);
  }

  /** Runs the guest's instruction at `rip` with the CPU core on the lent guest state (the
   *  guest's own page tables translate; a fault goes to the guest, CR2 set by the core). */
  private emulateInstruction(rip: number): HostedStop | null {
    const c = this.vc.cpu;
    let vector = -1, code: number | null = null;
    if (this.recorder !== null) this.recorder.event.instructionsEmulated = 1;
    const kicks = this.m.kicks;
    this.vc.view.with(rip, () => {
      try { c.step(); } catch (e) {
        if (e !== FAULT) throw e;
        vector = FAULT.vector; code = FAULT.hasErrorCode ? FAULT.errorCode : null;
        c.eip = rip;
      }
    });
    if (vector >= 0) this.injectException(vector, code);
    // An IPI it sent hands the turn over, as the CPU's own run does (smp.ts 'yield').
    if (this.scheduling && this.m.kicks !== kicks) this.vc.yieldNow = true;
    return this.checkStopAfterHandling();
  }

  private io(x: VmExitRecord): HostedStop | null {
    const q = x.qualification, size = (q & 7) + 1, port = q >>> 16, io = this.m.io;
    const ev = this.recorder?.event;
    if (ev !== undefined) { ev.device = io.nameOf(port) ?? null; ev.instructionsEmulated = 1; }
    if ((q & IO_STRING) !== 0) return this.stringIo(x, size, port);
    const mask = size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
    const next = (x.guestRip + x.instructionLength) >>> 0;
    const c = this.vc.cpu;
    if ((q & IO_IN) !== 0) {
      const val = io.read(port, size) & mask;
      c.r32[0] = size === 4 ? val : (c.r32[0] & ~mask) | val;
    } else if (port === SERVICE_PORT) {
      // The BIOS's trap: the service works on the caller's registers and may move CS:IP.
      this.trapSize = size; this.trapValue = c.r32[0] & mask;
      this.vc.view.with(next, this.serviceTrap);
      return this.checkStopAfterHandling();
    } else {
      io.write(port, size, c.r32[0] & mask);
    }
    this.skip(x);
    return this.checkStopAfterHandling();
  }

  /** INS/OUTS (with REP) for guests without paging: linear = guest-physical = host-physical
   *  under the identity EPT map. */
  private stringIo(x: VmExitRecord, size: number, port: number): HostedStop | null {
    const v = this.vc.v, c = this.vc.cpu, mem = this.m.mem, io = this.m.io, q = x.qualification;
    if ((v.r(V.GuestCr0) & Cr0.PG) !== 0) return this.stringIoPaged(x);
    const addr32 = ((x.instructionInfo >>> 7) & 7) === 1; // [9:7] address size: 0 16-bit, 1 32-bit
    const amask = addr32 ? 0xffffffff : 0xffff;
    const down = (v.r(V.GuestRflags) & Flag.DF) !== 0;
    const inp = (q & IO_IN) !== 0, rep = (q & IO_REP) !== 0;
    let count = rep ? (c.r32[1] >>> 0) & amask : 1;
    const idx = inp ? 7 : 6; // EDI for INS, ESI for OUTS
    let lin = x.guestLinear >>> 0;
    const step = down ? -size : size;
    while (count > 0) {
      if (inp) {
        const val = io.read(port, size);
        if (size === 1) mem.write8(lin, val); else if (size === 2) mem.write16(lin, val); else mem.write32(lin, val);
      } else {
        io.write(port, size, size === 1 ? mem.read8(lin) : size === 2 ? mem.read16(lin) : mem.read32(lin));
      }
      lin = (lin + step) >>> 0;
      c.r32[idx] = (c.r32[idx] & ~amask) | ((c.r32[idx] + step) & amask);
      count--;
      if (rep) c.r32[1] = (c.r32[1] & ~amask) | (count & amask);
    }
    this.skip(x);
    return this.checkStopAfterHandling();
  }

  /** INS/OUTS with guest paging on: the VMM's instruction emulator is the CPU core itself, run
   *  for one instruction on the guest state the guest view lends (as KVM runs its x86 emulator):
   *  linear addresses go through the guest's page tables (guest-physical = host-physical for RAM
   *  under the identity EPT map), the ports through the port bus, a fault (#PF with CR2, #GP)
   *  goes to the guest. A REP string the core leaves unfinished continues at the next entry. */
  private stringIoPaged(x: VmExitRecord): HostedStop | null {
    return this.emulateInstruction(x.guestRip >>> 0);
  }

  private checkStopAfterHandling(): HostedStop | null {
    return this.externalStop() ? (this.m.poweredOff ? 'poweroff' : 'stopped') : null;
  }

  /** The secondary processor-based controls (0 where the VMCS has none: Merom). */
  private proc2(): number {
    return (this.vc.procControls & ProcBasedCtls.ActivateSecondaryControls) !== 0 ? this.vc.v.r(V.ProcBasedControls2) : 0;
  }

  private cpuid(): void {
    const c = this.vc.cpu, o = c.cpuidOut, leaf = c.r32[0] >>> 0;
    cpuidLeaf(c.model, leaf, c.r32[1], o);
    if (leaf === 1) {
      cpuidLeaf1Apic(o, c.apicId, c.lapic !== null && c.lapic.hwEnabled);
      // CPUID.1:ECX [5] VMX hidden, [31] hypervisor present (SDM Vol. 2A Table 3-10; [31] is
      // reserved for hypervisor use, as KVM, Xen and Hyper-V set it); [3] MONITOR/MWAIT hidden,
      // as KVM hides it: MWAIT exits, and the VMM runs it as a NOP (no idle state to enter).
      // [6] SMX hidden (KVM never offers it); [27] OSXSAVE is the guest's CR4.OSXSAVE (KVM's
      // kvm_update_cpuid_runtime), below with leaf 0DH's size for the guest's XCR0.
      o[2] = ((o[2] & ~((1 << 6) | (1 << 5) | (1 << 3))) | (1 << 31)) | 0;
    } else if (leaf === 7 && c.r32[1] === 0) {
      // CPUID.(7,0):EBX[10] INVPCID: #UD in the guest unless "enable INVPCID" (§26.3).
      if ((this.proc2() & ProcBasedCtls2.EnableInvpcid) === 0) o[1] &= ~(1 << 10);
    } else if (leaf === 0x80000001) {
      // CPUID.80000001H:EDX[27] RDTSCP: #UD in the guest unless "enable RDTSCP" (§26.3).
      if ((this.proc2() & ProcBasedCtls2.EnableRdtscp) === 0) o[3] &= ~(1 << 27);
      // No IA-32e mode under a 32-bit host (host-width.ts).
      o[3] &= ~HIDDEN_EXT_EDX;
    }
    const cr4 = this.guestCr(V.GuestCr4, V.Cr4ReadShadow, this.vc.view.cr4Owned);
    cpuidXsaveDynamic(c.model, leaf, c.r32[1], (cr4 & Cr4.OSXSAVE) !== 0, c.xcr0, o);
    c.r32[0] = o[0]; c.r32[3] = o[1]; c.r32[1] = o[2]; c.r32[2] = o[3];
  }

  /** MSR policy: the VMX capability MSRs do not exist for the guest, IA32_FEATURE_CONTROL reads
   *  as locked with VMX off and cannot be written; every other MSR is the CPU's. */
  private static hiddenMsr(n: number): boolean { return (n >= 0x480 && n <= 0x493) || isIa32eMsr(n); }

  /** MSRs whose guest values live in the VMCS guest-state area (VM entry loads them, VM exit
   *  saves them and loads the host's: §27.3.2.1, §28.3.3), so the guest's RDMSR/WRMSR go there. */
  private static vmcsMsr(n: number): V | null {
    switch (n) {
      case 0x174: return V.GuestIa32SysenterCs;
      case 0x175: return V.GuestIa32SysenterEsp;
      case 0x176: return V.GuestIa32SysenterEip;
      default: return null;
    }
  }

  private rdmsr(x: VmExitRecord): void {
    const c = this.vc.cpu, n = c.r32[1] >>> 0;
    if (this.recorder !== null) this.recorder.event.instructionsEmulated = 1;
    let lo: number, hi: number;
    const f = HostedVm.vmcsMsr(n);
    if (f !== null) { lo = this.vc.v.r(f); hi = 0; }
    else if (n === MSR_FEATURE_CONTROL) { lo = FEATURE_CONTROL_LOCK; hi = 0; }
    else if (HostedVm.hiddenMsr(n) || !readMsrTo(c, n, this.msrOut)) { this.injectException(GP, 0); return; }
    else { lo = this.msrOut[0]; hi = this.msrOut[1]; }
    c.r32[0] = lo; c.r32[2] = hi;
    this.skip(x);
  }

  private wrmsr(x: VmExitRecord): void {
    const c = this.vc.cpu, n = c.r32[1] >>> 0;
    if (this.recorder !== null) this.recorder.event.instructionsEmulated = 1;
    const f = HostedVm.vmcsMsr(n);
    if (f !== null) {
      // IA32_SYSENTER_CS keeps 16 bits (as the CPU's WRMSR); ESP/EIP 32 (no Intel 64 yet).
      this.vc.v.w(f, n === 0x174 ? c.r32[0] & 0xffff : c.r32[0]);
      this.skip(x);
      return;
    }
    if (n === MSR_FEATURE_CONTROL || HostedVm.hiddenMsr(n) || (n === MSR_EFER && (c.r32[0] & ~(GUEST_EFER_BITS | Efer.LMA)) !== 0) ||
      !writeMsr(c, n, c.r32[0], c.r32[2])) { this.injectException(GP, 0); return; }
    // IA32_EFER.NXE changes what the guest's PAE entries mean: the shadow follows (its XD bits).
    if (n === MSR_EFER && this.shadow !== null) {
      this.setShadowCrs(this.guestCr(V.GuestCr0, V.Cr0ReadShadow, SHADOW_CR0_OWNED), this.vc.guestCr3, this.guestCr(V.GuestCr4, V.Cr4ReadShadow, SHADOW_CR4_OWNED));
    }
    this.skip(x);
  }

  private crAccess(x: VmExitRecord): HostedStop | null {
    const q = x.qualification, cr = q & 15, type = (q >>> 4) & 3, reg = (q >>> 8) & 15, v = this.vc.v;
    if (this.recorder !== null) this.recorder.event.instructionsEmulated = 1;
    const shadow0 = v.r(V.Cr0ReadShadow);
    if (type === CR_MOV_TO && cr === 0) { if (!this.setCr0(this.gpr(reg))) return null; }
    else if (type === CR_MOV_TO && cr === 4) { if (!this.setCr4(this.gpr(reg))) return null; }
    else if (type === CR_MOV_TO && cr === 3 && this.shadow !== null) {
      if (this.pdptesRefused(this.guestCr(V.GuestCr0, V.Cr0ReadShadow, SHADOW_CR0_OWNED), this.gpr(reg), this.guestCr(V.GuestCr4, V.Cr4ReadShadow, SHADOW_CR4_OWNED))) { this.injectException(GP, 0); return null; }
      this.setShadowCrs(this.guestCr(V.GuestCr0, V.Cr0ReadShadow, SHADOW_CR0_OWNED), this.gpr(reg), this.guestCr(V.GuestCr4, V.Cr4ReadShadow, SHADOW_CR4_OWNED));
    } else if (type === CR_MOV_TO && cr === 3) {
      if (this.pdptesRefused(v.r(V.GuestCr0), this.gpr(reg), v.r(V.GuestCr4))) { this.injectException(GP, 0); return null; }
      v.w(V.GuestCr3, this.gpr(reg)); this.loadPdptes(); this.flushGuestTlb(true);
    }
    else if (type === CR_MOV_FROM && cr === 3) this.setGpr(reg, this.shadow !== null ? this.vc.guestCr3 : v.r(V.GuestCr3));
    else if (type === CR_CLTS) { if (!this.setCr0(shadow0 & ~Cr0.TS)) return null; }
    else if (type === CR_LMSW) { if (!this.setCr0((shadow0 & ~0xe) | ((q >>> 16) & 0xf) | (shadow0 & 1))) return null; }
    else return this.stopWith(`control-register access CR${cr} type ${type} is not handled`, x);
    this.skip(x);
    return null;
  }

  /** MOV to CR0 as the guest sees it: #GP for PG without PE or NW without CD (SDM Vol. 3A
   *  §2.5, MOV CR), else the value with CR0.NE kept 1 underneath. ET reads as 1 (i486+). */
  private setCr0(val: number): boolean {
    val = (val | Cr0.ET) >>> 0;
    if (((val & Cr0.PG) !== 0 && (val & Cr0.PE) === 0) || ((val & Cr0.NW) !== 0 && (val & Cr0.CD) === 0)) { this.injectException(GP, 0); return false; }
    const old = this.guestCr(V.GuestCr0, V.Cr0ReadShadow, this.vc.view.cr0Owned);
    if (this.shadow !== null) {
      if (((old ^ val) & CR0_PDPTE_LOAD) !== 0 && this.pdptesRefused(val, this.vc.guestCr3, this.guestCr(V.GuestCr4, V.Cr4ReadShadow, SHADOW_CR4_OWNED))) { this.injectException(GP, 0); return false; }
      this.vc.v.w(V.Cr0ReadShadow, val >>> 0);
      this.setShadowCrs(val, this.vc.guestCr3, this.guestCr(V.GuestCr4, V.Cr4ReadShadow, SHADOW_CR4_OWNED));
      // Real mode (PE = 0) cannot be entered without unrestricted guest: the VMM runs it.
      if ((val & Cr0.PE) === 0) this.vc.emulating = true;
      return true;
    }
    if (((old ^ val) & CR0_PDPTE_LOAD) !== 0 && this.pdptesRefused(val | CR0_OWNED, this.vc.v.r(V.GuestCr3), this.vc.v.r(V.GuestCr4))) { this.injectException(GP, 0); return false; }
    this.vc.v.w(V.GuestCr0, (val | CR0_OWNED) >>> 0); this.vc.v.w(V.Cr0ReadShadow, val >>> 0);
    this.loadPdptes();
    // A CR0 write that changes PG, WP or PE flushes the TLB (SDM Vol. 3A §4.10.4.1): with VPID
    // the entry that follows keeps the guest's translations, so the VMM flushes them.
    if (((old ^ val) & (Cr0.PG | Cr0.WP | Cr0.PE)) !== 0) this.flushGuestTlb(false);
    return true;
  }

  /** MOV to CR4: bits the model lacks, and VMXE and SMXE (CPUID hides VMX and SMX), are reserved
   *  (#GP(0)). */
  private setCr4(val: number): boolean {
    const c = this.vc.cpu;
    if ((val & (Cr4.VMXE | Cr4.SMXE)) !== 0 || (val & ~cr4ValidBits(c.model)) !== 0) { this.injectException(GP, 0); return false; }
    const old = this.guestCr(V.GuestCr4, V.Cr4ReadShadow, this.vc.view.cr4Owned);
    if (this.shadow !== null) {
      if (((old ^ val) & CR4_PDPTE_LOAD) !== 0 && this.pdptesRefused(this.guestCr(V.GuestCr0, V.Cr0ReadShadow, SHADOW_CR0_OWNED), this.vc.guestCr3, val)) { this.injectException(GP, 0); return false; }
      this.vc.v.w(V.Cr4ReadShadow, val);
      this.setShadowCrs(this.guestCr(V.GuestCr0, V.Cr0ReadShadow, SHADOW_CR0_OWNED), this.vc.guestCr3, val);
      return true;
    }
    if (((old ^ val) & CR4_PDPTE_LOAD) !== 0 && this.pdptesRefused(this.vc.v.r(V.GuestCr0), this.vc.v.r(V.GuestCr3), val | CR4_OWNED)) { this.injectException(GP, 0); return false; }
    this.vc.v.w(V.GuestCr4, val | CR4_OWNED); this.vc.v.w(V.Cr4ReadShadow, val);
    this.loadPdptes();
    if (((old ^ val) & (Cr4.PSE | Cr4.PAE | Cr4.PGE)) !== 0) this.flushGuestTlb(false);
    return true;
  }

  /** The guest's view of CR0/CR4: the real value, with the VMM's own bits from the shadow. */
  private guestCr(real: V, shadow: V, owned: number): number {
    const v = this.vc.v;
    return ((v.r(real) & ~owned) | (v.r(shadow) & owned)) >>> 0;
  }

  /** Shadow paging: the guest's CR0/CR3/CR4 (and IA32_EFER) took these values: the shadow
   *  root for them (ShadowMmu.activate) goes into GuestCr3, and the real CR0/CR4 get what VMX
   *  non-root operation without unrestricted guest needs (PE, PG, NE; WP, which the shadow
   *  emulates when the guest clears it; VMXE) and the shadow's paging mode (CR4.PAE =
   *  shadowPae; PSE and PGE unused: 4 KB shadow entries, never global). */
  private setShadowCrs(cr0: number, cr3: number, cr4: number): void {
    const vc = this.vc, v = vc.v, mmu = this.shadow!;
    vc.guestCr3 = cr3 >>> 0;
    v.w(V.GuestCr3, mmu.activate(cr0, cr3, cr4, vc.cpu.efer));
    v.w(V.GuestCr0, (cr0 | SHADOW_CR0_OWNED) >>> 0);
    v.w(V.GuestCr4, ((cr4 & ~(Cr4.PAE | Cr4.PSE | Cr4.PGE)) | Cr4.VMXE | (mmu.shadowPae ? Cr4.PAE : 0)) >>> 0);
  }

  /** Flushes the guest's cached translations after an emulated CR write (with VPID they
   *  survive VM entries, §29.1): INVVPID single-context, retaining globals for a CR3 load
   *  (types 3 / 1, or all-context where IA32_VMX_EPT_VPID_CAP lacks them, §31.3). Without
   *  VPID every entry flushes already. */
  private flushGuestTlb(keepGlobals: boolean): void {
    if (!this.exits.vpid) return;
    const [, cap] = rdmsr(this.vc.cpu, VmxMsr.EptVpidCap); // [32+9] single-context, [32+11] retaining globals
    const type = keepGlobals && (cap & (1 << 11)) !== 0 ? 3 : (cap & (1 << 9)) !== 0 ? 1 : 2;
    this.must('INVVPID', this.vc.root.invvpid(type, this.vc.vpid));
  }

  /** With EPT, PAE paging takes its PDPTEs from the VMCS at VM entry (§27.3.2.4): after an
   *  emulated CR write the VMM loads them from guest CR3 as MOV to CR would. */
  /** Whether a MOV to CR0, CR3 or CR4 that leaves the guest with `cr0`, `cr3`, `cr4` loads PAE
   *  PDPTEs (PAE paging on) of which a present one sets a reserved bit: #GP(0) then, and nothing
   *  changes (SDM Vol. 3A §4.4.1), as on the bare CPU (paging.ts Tlb.loadPdptes). */
  private pdptesRefused(cr0: number, cr3: number, cr4: number): boolean {
    if ((cr0 & Cr0.PG) === 0 || (cr4 & Cr4.PAE) === 0) return false;
    return paePdptInvalid(this.m.mem, cr3);
  }

  private loadPdptes(): void {
    if (this.shadow !== null) return; // without EPT, VM entry loads the shadow PDPT's entries (§27.3.2.4)
    const v = this.vc.v;
    if ((v.r(V.GuestCr0) & Cr0.PG) === 0 || (v.r(V.GuestCr4) & Cr4.PAE) === 0) return;
    const base = v.r(V.GuestCr3) & ~0x1f, mem = this.m.mem;
    const fields = PDPTE_FIELDS;
    for (let i = 0; i < 4; i++) {
      const lo = mem.read32(base + i * 8) >>> 0, hi = mem.read32(base + i * 8 + 4) >>> 0;
      v.w64(fields[i], (BigInt(hi) << 32n) | BigInt(lo));
    }
  }

  // ---- task switches: always exit in VMX non-root operation (SDM Vol. 3C §26.4.2)

  /** Emulates a task switch by CALL, JMP or IRET (qualification [15:0] TSS selector, [31:30]
   *  source 0 CALL, 1 IRET, 2 JMP, 3 IDT task gate; Table 28-2) with the CPU core's own
   *  task-switch code as the VMM's instruction emulator (as KVM uses its x86 emulator), run on
   *  the guest's state lent through the guest view. A fault before the switch commits leaves
   *  the guest at the instruction; one after it is taken in the new task (SDM Vol. 3A §7.3). */
  private taskSwitchExit(x: VmExitRecord): HostedStop | null {
    const q = x.qualification, sel = q & 0xffff, source = q >>> 30;
    if (this.recorder !== null) this.recorder.event.instructionsEmulated = 1;
    // The event being delivered is the task switch itself: nothing to re-inject.
    this.vc.reinjectInfo = 0;
    const c = this.vc.cpu, rip = x.guestRip >>> 0;
    // Through an IDT task gate (source 3) the event is in the IDT-vectoring information
    // (§28.2.4): an INT n / INT3 / INTO returns after its instruction, anything else to the
    // instruction it interrupted; an error code goes on the new task's stack (SDM Vol. 3A §7.3
    // step 11, as the core's own task-gate delivery does).
    const info = x.idtVectoringInfo, viaGate = source === 3 && (info & INTR_VALID) !== 0;
    const softEvent = viaGate && ((info >>> 8) & 7) >= 4 && ((info >>> 8) & 7) <= 6;
    const resumeAt = source === 3 ? (softEvent ? (rip + x.instructionLength) >>> 0 : rip) : (rip + x.instructionLength) >>> 0;
    let vector = -1, code: number | null = null;
    this.vc.view.with(resumeAt, () => {
      const oldTr = c.segSel[Seg.TR];
      try {
        if (source === 1) taskReturn(c);
        else {
          const d = new Desc();
          fetchGdtDesc(c, sel, d, Vector.GP);
          taskSwitch(c, sel, d, source === 2 ? TaskSource.Jmp : TaskSource.Call, source === 3);
          if (viaGate && (info & INTR_ERROR_CODE) !== 0) {
            if ((d.type & 8) !== 0) c.push32(x.idtVectoringErrorCode); else c.push16(x.idtVectoringErrorCode & 0xffff);
          }
        }
      } catch (e) {
        if (e !== FAULT) throw e;
        vector = FAULT.vector; code = FAULT.hasErrorCode ? FAULT.errorCode : null;
        c.eip = c.segSel[Seg.TR] === oldTr ? rip : c.instrStart;
      }
    });
    if (vector >= 0) this.injectException(vector, code);
    this.loadPdptes();
    return null;
  }

  // ---- MMIO: one instruction with the page mapped, ended by the monitor trap flag

  private eptViolation(x: VmExitRecord): HostedStop | null {
    // A guest-physical address at or above 4 GB (a PAE entry's bits 35:32): no memory or device
    // is there and the EPT maps none; the CPU core runs the instruction on the lent state, where
    // it reaches nothing (reads all ones, writes dropped), as bare. The exit retired nothing.
    if (x.guestPhysicalHi !== 0) {
      if (this.recorder !== null) this.recorder.event.device = 'unassigned';
      if ((x.idtVectoringInfo & INTR_VALID) !== 0) return this.stopWith(`guest-physical 0x${x.guestPhysicalHi.toString(16)}_${(x.guestPhysical >>> 0).toString(16).padStart(8, '0')} (above 4 GB) during event delivery is not handled`, x);
      this.vc.cpu.icount++;
      return this.emulateInstruction(x.guestRip >>> 0);
    }
    const gpa = x.guestPhysical >>> 0, mem = this.m.mem, page = gpa >>> 12;
    const kind = mem.kind[page];
    if (gpa >= guestRamEnd(this.m) && gpa < mem.size) return this.stopWith(`guest access to guest-physical 0x${gpa.toString(16)}, above guest RAM (the VMM's reserved memory)`, x);
    if (kind === PageKind.Ram && gpa < guestRamEnd(this.m)) {
      // Memory populated on demand ('ept-populate=lazy'): map the page and let the access
      // restart (the exit did not retire it). With eager population this is a VMM bug.
      if (this.exits.eptPopulate !== 'lazy' || this.ept.perms(asGuestPhysical(gpa)) !== 0) return this.stopWith(`EPT violation on guest RAM at 0x${gpa.toString(16)} (the identity map covers it: a VMM bug)`, x);
      if (this.recorder !== null) this.recorder.event.device = 'RAM (populated on demand)';
      this.ept.map(asGuestPhysical(gpa), EPT_RWX);
      return null;
    }
    if (this.recorder !== null) this.recorder.event.device = mem.mmioNameOf(asGuestPhysical(gpa)) ?? (kind === PageKind.Rom ? 'ROM' : 'unassigned');
    const g = asGuestPhysical(gpa);
    this.vc.mtfPages.push(gpa & ~0xfff);
    this.vc.mtfRestore.push(this.ept.perms(g));
    try { this.ept.map(g, EPT_RWX); } catch (e) { return this.stopWith(`MMIO at guest-physical 0x${gpa.toString(16)}: ${(e as Error).message}`, x); }
    this.invept();
    this.setProc(ProcBasedCtls.MonitorTrapFlag, true);
    return null;
  }

  private endMtf(): void {
    for (let i = 0; i < this.vc.mtfPages.length; i++) {
      const g = asGuestPhysical(this.vc.mtfPages[i]), p = this.vc.mtfRestore[i];
      if (p === 0) this.ept.unmap(g); else this.ept.map(g, p);
    }
    this.vc.mtfPages.length = 0; this.vc.mtfRestore.length = 0;
    this.invept();
    this.setProc(ProcBasedCtls.MonitorTrapFlag, false);
  }

  private invept(): void {
    if (this.shadow !== null) return; // no EPT
    let r = this.vc.root.invept(1, BigInt(this.ept.eptp));
    if (r.kind !== 'succeed') r = this.vc.root.invept(2);
    if (r.kind !== 'succeed') throw new Error(`INVEPT failed: ${JSON.stringify(r)}`);
  }

  private setProc(bit: number, on: boolean): void {
    const nv = on ? (this.vc.procControls | bit) >>> 0 : (this.vc.procControls & ~bit) >>> 0;
    if (nv === this.vc.procControls) return;
    this.vc.procControls = nv;
    this.vc.v.w(V.ProcBasedControls, nv);
  }

  // ---- interrupts

  /** Before VM entry: re-inject an interrupted event, else inject a pending interrupt when the
   *  guest can take it (RFLAGS.IF = 1, no STI/MOV-SS blocking, §26.4.1 via §27.6), else ask for
   *  an interrupt-window exit. Returns the events injected. */
  private prepareEntry(): number {
    const v = this.vc.v;
    if (this.vc.injectedException) { this.vc.injectedException = false; return 1; }
    if (this.vc.reinjectInfo !== 0) {
      v.w(V.VmEntryInterruptionInfo, this.vc.reinjectInfo);
      if ((this.vc.reinjectInfo & INTR_ERROR_CODE) !== 0) v.w(V.VmEntryExceptionErrorCode, this.vc.reinjectError);
      v.w(V.VmEntryInstructionLength, this.vc.reinjectLength);
      this.vc.reinjectInfo = 0;
      return 1;
    }
    if (this.vc.mtfPages.length > 0) return 0; // one instruction first, then events
    if (this.vc.pending.length === 0) { this.setProc(ProcBasedCtls.InterruptWindowExiting, false); return 0; }
    const ready = this.interruptible();
    if (!ready) { this.setProc(ProcBasedCtls.InterruptWindowExiting, true); return 0; }
    v.w(V.VmEntryInterruptionInfo, (INTR_VALID | this.vc.pending.pop()!) >>> 0);
    this.setProc(ProcBasedCtls.InterruptWindowExiting, this.vc.pending.length > 0);
    return 1;
  }

  /** HLT with several vCPUs: this vCPU idles (the schedule skips it) until an interrupt it can
   *  take is due; the others run meanwhile. */
  private idleVcpu(): null {
    const vc = this.vc;
    vc.idle = true;
    vc.idleIf = (vc.v.r(V.GuestRflags) & Flag.IF) !== 0;
    vc.idleSince = this.m.clock.nowNs();
    vc.cpu.halted = true;
    return null;
  }

  /** INIT exit (§26.2, reason 3): the vCPU takes the INIT state (SDM Vol. 3A §9.1.1), an AP
   *  waiting for a Startup IPI, the boot vCPU at the reset vector (as the bare platform's INIT:
   *  machine.ts initCpu). Events the VMM held for it are dropped, as INIT drops them. */
  private initVcpu(): void {
    const vc = this.vc, c = vc.cpu;
    const shadow0 = vc.v.r(V.Cr0ReadShadow);
    // The boot vCPU restarts at the firmware's reset vector (as the bare platform's reset does:
    // firmware.ts resetCpu), CR0.CD/NW kept; an AP waits for its Startup IPI.
    const boot = vc.index === 0 ? { ...this.bootState, cr0: ((shadow0 & 0x60000000) | 0x10) >>> 0 } : initState(shadow0);
    writeGuestState(vc.v, boot, vc.index === 0 ? Activity.Active : Activity.WaitForSipi);
    this.setProc(ProcBasedCtls.InterruptWindowExiting, false);
    this.endMtf();
    vc.v.w(V.VmEntryInterruptionInfo, 0);
    vc.pending.length = 0; vc.reinjectInfo = 0; vc.injectedException = false; vc.idle = false;
    // General registers are not in the VMCS: INIT clears them, EDX = the processor signature.
    const edx = cpuSignature(c.model);
    c.r32.fill(0); c.r32[2] = edx;
    this.loadPdptes();
    if (this.shadow !== null) {
      this.setShadowCrs(boot.cr0, boot.cr3, boot.cr4);
      vc.emulating = vc.index === 0; // the boot vCPU restarts in real mode
    }
  }

  /** Startup IPI exit (§26.2, reason 4): the AP starts in real mode at vector * 4 KB
   *  (CS = vector << 8, IP = 0: SDM Vol. 3A §8.4.4.1), active. */
  private startVcpu(vector: number): void {
    const v = this.vc.v;
    v.w(V.GuestCsSelector, vector << 8); v.w(V.GuestCsBase, vector << 12);
    v.w(V.GuestCsLimit, 0xffff); v.w(V.GuestCsAccessRights, 0x9b);
    v.w(V.GuestRip, 0);
    v.w(V.GuestActivityState, Activity.Active);
    // Without unrestricted guest the VMM's real-mode path takes it (emulateBatch: a V86 task
    // where V86 mode holds the state, else emulation).
    if (this.shadow !== null) this.vc.emulating = true;
  }

  /** HLT: the vCPU sleeps while virtual time skips to the next timer, until an interrupt it
   *  can take is due (the VMM acknowledges it at the controller and injects it) or the BIOS's
   *  poll timer wakes it as it wakes the bare CPU (firmware.ts clears `halted`). */
  private idle(): HostedStop | null {
    const c = this.vc.cpu, clk = this.m.clock;
    const ifSet = (this.vc.v.r(V.GuestRflags) & Flag.IF) !== 0;
    const since = clk.nowNs();
    c.halted = true;
    try {
      for (;;) {
        if (this.externalStop()) return this.m.poweredOff ? 'poweroff' : 'stopped';
        if (ifSet && this.vc.pending.length > 0) return null;
        if (ifSet && c.intr !== null && c.intr.hasInterrupt()) { this.vc.pending.push(c.intr.acknowledge()); return null; }
        if (!c.halted) return null;
        if (!ifSet && clk.nowNs() - since > DEAD_HALT_NS) return 'halted';
        if (!clk.skipToNext()) return ifSet ? 'idle' : 'halted';
        clk.runDue();
      }
    } finally { c.halted = false; }
  }

  // ---- faults

  private stopWith(summary: string, x: VmExitRecord | null): HostedStop {
    const fields: Record<string, string> = {};
    const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;
    const read = (f: V): void => {
      const r = this.vc.root.vmread(f);
      fields[V[f]] = r.result.kind === 'succeed' ? hex(r.value) : `(${r.result.kind})`;
    };
    if (!this.vc.cpu.nonRoot) {
      for (const f of [V.ExitReason, V.ExitQualification, V.VmInstructionError, V.GuestRip, V.GuestCsSelector, V.GuestCsBase,
        V.GuestCsAccessRights, V.GuestRsp, V.GuestRflags, V.GuestCr0, V.GuestCr3, V.GuestCr4, V.GuestActivityState,
        V.GuestInterruptibilityState, V.VmExitInterruptionInfo, V.IdtVectoringInfo, V.GuestPhysicalAddress, V.GuestLinearAddress,
        V.VmEntryInterruptionInfo, V.ProcBasedControls, V.ProcBasedControls2]) read(f);
    }
    this.fault = {
      summary, exitReason: x !== null ? x.exitReason >>> 0 : -1,
      qualification: x !== null ? x.qualification >>> 0 : 0,
      guestRip: x !== null ? (x.guestCsBase + x.guestRip) >>> 0 : 0,
      fields,
    };
    return 'guest-fault';
  }

  /** A report of `fault` for people. */
  static describe(f: GuestFault): string {
    const lines = [`hosted mode: VM stopped: ${f.summary}`];
    if (f.exitReason >= 0) {
      const basic = f.exitReason & EXIT_REASON_BASIC_MASK;
      lines.push(`  exit reason ${basic} (${ExitReason[basic] ?? '?'})${(f.exitReason >>> 31) !== 0 ? ' [VM-entry failure]' : ''}, qualification 0x${f.qualification.toString(16)}, guest RIP (linear) 0x${f.guestRip.toString(16)}`);
    }
    for (const [k, val] of Object.entries(f.fields)) lines.push(`  ${k} = ${val}`);
    return lines.join('\n');
  }
}
