// The PC: an i440FX/PIIX3-class machine around the CPU core, in bare mode (the emulated PC boots
// the image directly; the VMX issues run the same machine under a hypervisor). Devices sit on one
// port-I/O bus and one MMIO map and run on virtual time derived from retired instructions, so a
// run is deterministic.
import { createCpu } from '../cpu/index';
import { Cpu, StopReason } from '../cpu/cpu';
import type { CpuModel } from '../cpu/model';
import { BlockDevice } from './block';
import { Timer, VirtualClock } from './clock';
import { IoBus } from './io-bus';
import { IrqRouter } from './irq';
import { PhysicalMemory } from './memory';
import { createPiixBus, PciBus, PM_BASE, pmIoBase } from './devices/pci';
import { Pic8259Pair } from './devices/pic';
import { Pit8254 } from './devices/pit';
import { SystemControlPortB } from './devices/sysctl';
import { Cmos } from './devices/cmos';
import { Port92 } from './devices/port92';
import { DebugConsolePort, PostCodePort } from './devices/debug-ports';
import { PmTimer } from './devices/pm-timer';
import { AcpiPm1 } from './devices/acpi-pm1';
import { Dma8237 } from './devices/dma8237';
import { FloppyController, floppyGeometry } from './devices/floppy';
import { AtaDisk, IdeChannel } from './devices/ata';
import { AtapiCdrom } from './devices/atapi';
import { Uart16550 } from './devices/uart16550';
import { ParallelPort } from './devices/parallel';
import { I8042 } from './devices/i8042';
import { Vga } from './devices/vga';
import { ExitPort } from './devices/exit-port';
import { Firmware } from '../firmware/firmware';
import { setupApicsAtPost } from '../firmware/apic-setup';
import { ApicBus } from './devices/apic-bus';
import { LocalApic, LocalApicMmio } from './devices/lapic';
import { IoApic, IOAPIC_DEFAULT_BASE } from './devices/ioapic';
import { PageKind } from './memory';
import { MAX_CPUS, SerialInstructionCounter, SmpScheduler, type TurnStop } from './smp';
import { ExternalBios } from './bios-rom';

export type BootDevice = 'floppy' | 'hdd' | 'cdrom';

export interface MachineConfig {
  /** Guest RAM in bytes (multiple of 4 KB, 1 MB .. 2 GB). */
  memoryBytes: number;
  /** Guest instructions per second: turns retired instructions into virtual time. */
  ips?: number;
  cpuModel?: CpuModel;
  floppies?: (BlockDevice | null)[];
  /** ATA disks: primary master, primary slave, secondary master, secondary slave. */
  disks?: (BlockDevice | null)[];
  /** ATAPI CD-ROM (secondary master unless a disk is there), 2048-byte sectors. */
  cdrom?: BlockDevice | null;
  bootOrder?: BootDevice[];
  /** RTC start time, ms since the Unix epoch (default 2026-01-01T00:00:00Z). */
  rtcStartMs?: number;
  /** Firmware: vmxlab's own BIOS (default), none (the caller sets up the CPU itself), or another
   *  BIOS image (ExternalFirmware). */
  firmware?: 'vmxlab' | 'none' | ExternalFirmware;
  /** Number of CPUs, 1-8 (default 1), each with its local APIC. CPU 0 is the BSP and runs the
   *  firmware; the APs wait for a Startup IPI (smp.ts has the schedule and the virtual time). */
  cpus?: number;
  /** The BIOS mirrors INT 10h teletype output to COM1 (a serial console; default true). */
  biosSerialConsole?: boolean;
  /** Host-physical memory above the guest's RAM (bytes, multiple of 4 KB; default 0) that only
   *  a hosted-mode VMM uses (its VMCS, EPT tables, host GDT): the BIOS, CMOS and E820 report
   *  `memoryBytes` only, so the guest never sees it (src/core/vmm/layout.ts). */
  hostReservedBytes?: number;
}

/** Another BIOS image (SeaBIOS, ...) in place of vmxlab's: mapped at the top of 4 GB and, its
 *  last 128 KB, below 1 MB behind the i440FX PAM registers (bios-rom.ts). */
export interface ExternalFirmware { rom: Uint8Array }

/** Why `run` returned. */
export type MachineStop =
  | 'budget' // the virtual-time budget ran out
  | 'stopped' // stop() was called (marker seen, exit port, ...)
  | 'shutdown' // triple fault
  | 'halted' // HLT with interrupts disabled and no NMI source: nothing can wake the CPU
  | 'idle' // HLT with no timer armed: nothing will ever happen
  | 'poweroff'; // the guest entered ACPI S5 (soft off)

export class PcMachine {
  readonly mem: PhysicalMemory;
  readonly io = new IoBus();
  /** The boot CPU (BSP), `cpus[0]`. */
  readonly cpu: Cpu;
  /** Every CPU, in APIC-ID order; each has its local APIC in `lapics`. */
  readonly cpus: Cpu[];
  readonly lapics: LocalApic[];
  readonly ioapic: IoApic;
  readonly apicBus = new ApicBus();
  private readonly lapicMmio: LocalApicMmio;
  /** The multi-CPU schedule; null with one CPU (the single-CPU loop in `run`). */
  private readonly smp: SmpScheduler | null = null;
  readonly clock: VirtualClock;
  readonly irq = new IrqRouter();
  readonly pci: PciBus;
  readonly pic: Pic8259Pair;
  readonly pit: Pit8254;
  readonly portB: SystemControlPortB;
  readonly cmos: Cmos;
  readonly port92: Port92;
  readonly post = new PostCodePort();
  readonly debugConsole: DebugConsolePort;
  readonly pmTimer: PmTimer;
  /** ACPI PM1 event/control registers at the PM base (SCI on IRQ 9, S5 powers off). */
  readonly pm1: AcpiPm1;
  /** Set when the guest powered the machine off (ACPI S5). */
  poweredOff = false;
  readonly dma: Dma8237;
  readonly fdc: FloppyController;
  readonly ide: [IdeChannel, IdeChannel];
  readonly com: [Uart16550, Uart16550];
  /** LPT1 at 0x378 / IRQ7 with an always-ready printer; its bytes go to `lpt1.onPrint`. */
  readonly lpt1: ParallelPort;
  readonly kbc: I8042;
  readonly vga: Vga;
  readonly exitPort: ExitPort;
  readonly firmware: Firmware | null = null;
  /** The external BIOS, when `config.firmware` is one. */
  readonly externalBios: ExternalBios | null = null;
  /** Bytes the guest sent on COM1/COM2 and port 0xE9, for listeners (CLI, UI, tests). */
  onSerial: ((port: 'com1' | 'com2' | 'e9', byte: number) => void) | null = null;
  /** The two A20 gate inputs (8042 output port and port 92h); A20 is on when either is. */
  private a20Kbc = false;
  private a20Fast = false;
  private stopRequested = false;
  /** stop() calls so far: a hosted-mode VMM, which stops the machine's run at each VM exit
   *  too, tells its own stops from the guest's (marker, exit port, power-off) by counting. */
  stopCount = 0;
  /** Set when the guest asked for a reset (8042 pulse or port 92h bit 0). */
  resetRequested = false;

  constructor(readonly config: MachineConfig) {
    if (config.memoryBytes < (1 << 20)) throw new Error(`memory must be at least 1 MB (got ${config.memoryBytes} bytes)`);
    const reserved = config.hostReservedBytes ?? 0;
    if (!Number.isInteger(reserved) || reserved < 0 || reserved % 4096 !== 0) throw new Error(`hostReservedBytes must be a multiple of 4 KB (got ${reserved})`);
    this.mem = new PhysicalMemory(config.memoryBytes + reserved);
    const ncpu = config.cpus ?? 1;
    if (!Number.isInteger(ncpu) || ncpu < 1 || ncpu > MAX_CPUS) throw new Error(`cpus must be 1 to ${MAX_CPUS} (got ${ncpu})`);
    this.cpu = createCpu(this.mem, this.io, config.cpuModel);
    this.cpus = [this.cpu];
    for (let i = 1; i < ncpu; i++) this.cpus.push(createCpu(this.mem, this.io, config.cpuModel, { shareDecodeCacheWith: this.cpu }));
    // Virtual time: the BSP's retired instructions with one CPU; with several, the sum over all
    // CPUs as they take turns (smp.ts).
    const serial = ncpu > 1 ? new SerialInstructionCounter(this.cpu) : null;
    this.clock = new VirtualClock(serial ?? this.cpu, config.ips ?? 100_000_000);
    for (const c of this.cpus) c.timeBase = this.clock; // idle time skipped while halted advances the TSC as well
    const io = this.io, clock = this.clock, irq = this.irq, mem = this.mem;
    this.pci = createPiixBus();
    this.pci.registerPorts(io);
    this.pci.onReset = () => this.requestReset(); // 0xCF9 (kept devices: a warm reset, as the 8042's)
    // Interrupt controllers: the 8259 pair's INTR output drives every local APIC's LINT0 pin and
    // I/O APIC pin 0; each local APIC is its CPU's interrupt source (an ExtINT path hands the
    // CPU the 8259's vector); ISA IRQs reach both the 8259s and the I/O APIC.
    this.pic = new Pic8259Pair((level) => {
      for (const a of this.lapics) a.setLint(0, level);
      this.ioapic.setPin(0, level);
    });
    this.pic.registerPorts(io);
    irq.add(this.pic);
    this.ioapic = new IoApic(this.apicBus);
    irq.add(this.ioapic);
    mem.registerMmio(IOAPIC_DEFAULT_BASE, 0x1000, 'I/O APIC (82093AA)', this.ioapic);
    this.lapicMmio = new LocalApicMmio((base, dev) => {
      // A relocated register page only where nothing else is (RAM stays RAM).
      if (mem.kind[base >>> 12] !== PageKind.Unmapped) return false;
      mem.registerMmio(base, 0x1000, 'local APIC', dev);
      return true;
    });
    this.lapics = this.cpus.map((c, i) => {
      c.apicId = i;
      const a = new LocalApic(c, clock, this.apicBus, {
        id: i, bsp: i === 0, extInt: this.pic,
        onInit: () => this.initCpu(i),
        onKick: () => this.smp?.kicked(i),
        onBaseChange: (apic) => this.lapicMmio.map(apic),
      });
      c.intr = a; c.lapic = a;
      // An INIT that VMX operation latched (cpu.ts initPending), taken once unblocked: as an
      // INIT IPI would have been, the CPU's and then its local APIC's (SDM Vol. 3C §24.8).
      c.initHandler = () => { if (this.initCpu(i)) a.resetState(); };
      this.apicBus.add(a);
      this.lapicMmio.map(a);
      if (i > 0) c.enterWaitForSipi();
      return a;
    });
    this.lapicMmio.current = this.lapics[0];
    if (serial !== null) this.smp = new SmpScheduler(this.cpus, this.lapics, clock, serial, this.lapicMmio);
    // Timers and system ports.
    this.pit = new Pit8254(clock, irq.line(0));
    this.pit.registerPorts(io);
    this.portB = new SystemControlPortB(clock, this.pit);
    this.portB.registerPorts(io);
    this.cmos = new Cmos(clock, irq.line(8), { start: Math.floor((config.rtcStartMs ?? Date.UTC(2026, 0, 1)) / 1000) });
    this.cmos.registerPorts(io);
    this.port92 = new Port92((on) => { this.a20Fast = on; this.applyA20(); }, () => this.requestReset());
    this.port92.registerPorts(io);
    this.post.registerPorts(io);
    this.debugConsole = new DebugConsolePort((b) => this.onSerial?.('e9', b));
    this.debugConsole.registerPorts(io);
    this.pmTimer = new PmTimer(clock);
    this.pmTimer.registerPorts(io, PM_BASE + 8);
    this.pm1 = new AcpiPm1(clock, this.pmTimer, irq.line(9));
    this.pm1.registerPorts(io, PM_BASE);
    this.pm1.onPowerOff = () => { this.poweredOff = true; this.stop(); };
    // The PM registers follow the PIIX4 PM I/O base when a BIOS moves it (PMBA, PMREGMISC).
    const pmFn = this.pci.get(1, 3)!;
    pmFn.onWrite = () => {
      const b = pmIoBase(pmFn);
      io.relocate(this.pm1, b < 0 ? -1 : b);
      io.relocate(this.pmTimer, b < 0 ? -1 : b + 8);
    };
    // Storage.
    this.dma = new Dma8237(mem);
    this.dma.registerPorts(io);
    this.fdc = new FloppyController(clock, irq.line(6), this.dma);
    this.fdc.registerPorts(io);
    const fl = config.floppies ?? [];
    for (let i = 0; i < 2; i++) if (fl[i]) this.fdc.drives[i].insert(fl[i]!);
    this.ide = [new IdeChannel('IDE primary', irq.line(14), clock), new IdeChannel('IDE secondary', irq.line(15), clock)];
    this.ide[0].registerPorts(io, 0x1f0, 0x3f6);
    this.ide[1].registerPorts(io, 0x170, 0x376);
    const disks = config.disks ?? [];
    for (let i = 0; i < 4; i++) {
      const d = disks[i];
      if (d) this.ide[i >> 1].attach((i & 1) as 0 | 1, new AtaDisk(d));
    }
    if (config.cdrom !== undefined && config.cdrom !== null) {
      const slot = !disks[2] ? 2 : !disks[3] ? 3 : -1;
      if (slot < 0) throw new Error('no free IDE position for the CD-ROM (secondary master and slave are disks)');
      this.ide[1].attach((slot & 1) as 0 | 1, new AtapiCdrom(config.cdrom));
    }
    // Serial ports, keyboard controller, VGA.
    this.com = [new Uart16550(clock, irq.line(4), 'COM1 16550A'), new Uart16550(clock, irq.line(3), 'COM2 16550A')];
    this.com[0].registerPorts(io, 0x3f8);
    this.com[1].registerPorts(io, 0x2f8);
    this.com[0].onTransmit = (b) => this.onSerial?.('com1', b);
    this.com[1].onTransmit = (b) => this.onSerial?.('com2', b);
    this.lpt1 = new ParallelPort(irq.line(7));
    this.lpt1.registerPorts(io, 0x378);
    // An external BIOS starts from the hardware power-on state: A20 enabled by the 8042's
    // output port (as QEMU and Bochs reset it), so the reset vector at FFFFFFF0h is reachable.
    const extRom = typeof config.firmware === 'object' ? config.firmware.rom : null;
    this.a20Kbc = extRom !== null;
    this.kbc = new I8042(irq.line(1), irq.line(12), { setA20: (on) => { this.a20Kbc = on; this.applyA20(); }, reset: () => this.requestReset() }, extRom !== null);
    this.kbc.registerPorts(io);
    this.vga = new Vga(clock);
    this.vga.registerMmio(mem);
    this.vga.registerPorts(io);
    // The exit port ends the run 2 ms of virtual time later, so the UART FIFOs drain what the
    // guest wrote just before (QEMU's UART has no line timing; ours does).
    const exitTimer = new Timer('exit port drain', () => this.stop());
    this.exitPort = new ExitPort(() => { if (exitTimer.deadline < 0) clock.arm(exitTimer, clock.nowNs() + 2_000_000); });
    this.exitPort.registerPorts(io);
    // CMOS configuration the BIOS reads.
    this.cmos.setMemorySize(config.memoryBytes);
    // CPUs - 1 at CMOS 5Fh, QEMU's convention: SeaBIOS (--bios) waits for that many APs to
    // answer its INIT/SIPI broadcast when it counts CPUs.
    this.cmos.writeRegister(0x5f, ncpu - 1);
    this.cmos.setFloppyTypes(fl[0] ? floppyGeometry(fl[0].size).driveType : 0, fl[1] ? floppyGeometry(fl[1].size).driveType : 0);
    this.applyA20();
    // A device arming a timer during an I/O access ends the CPU slice so the timer is on time.
    clock.onPreempt = () => { const c = this.smp?.current ?? this.cpu; c.stopRequested = true; c.eventPending = true; };
    if (extRom !== null) {
      this.externalBios = new ExternalBios(extRom, {
        mem, io, pci: this.pci, cmos: this.cmos, bootOrder: config.bootOrder ?? ['floppy', 'hdd', 'cdrom'], cpuCount: ncpu,
        onRemap: () => { for (const c of this.cpus) c.tlb.flushAll(); },
      });
    } else if ((config.firmware ?? 'vmxlab') === 'vmxlab') {
      this.firmware = new Firmware({
        cpu: this.cpu, mem, io, memoryBytes: config.memoryBytes,
        floppies: [fl[0] ?? null, fl[1] ?? null], disks: [0, 1, 2, 3].map((i) => disks[i] ?? null),
        cdrom: config.cdrom ?? null, bootOrder: config.bootOrder ?? ['floppy', 'hdd', 'cdrom'],
        cpuCount: config.cpus ?? 1, clock, mirrorToSerial: config.biosSerialConsole ?? true,
      });
      this.firmware.install();
    } else {
      setupApicsAtPost(mem, ncpu); // no firmware: the machine does what POST would for the APICs
    }
  }

  /** INIT reached CPU `i` (IPI or LINT): the BSP restarts at the reset vector (through the
   *  firmware's entry when there is one), an AP parks in wait-for-SIPI (SDM Vol. 3A §8.4.1).
   *  False when the CPU did not take it (VMX operation blocks INIT or turns it into a VM exit). */
  private initCpu(i: number): boolean {
    const c = this.cpus[i];
    if (!c.init()) return false;
    if (i !== 0) c.enterWaitForSipi();
    else if (this.firmware !== null) this.firmware.resetCpu();
    return true;
  }

  /** Instructions retired by all CPUs. */
  instructions(): number {
    let n = 0;
    for (const c of this.cpus) n += c.icount;
    return n;
  }

  /** A20M# blocked: set by root-mode software that keeps the CPUs in VMX operation (the
   *  hosted-mode VMM), where A20M# has no effect (SDM Vol. 3C §24.8 "Restrictions on VMX
   *  Operation"): the gates (8042, port 92h) still read back, but no address wraps at 1 MB. */
  private a20Blocked = false;
  /** A guest-requested reset reaches the CPUs as INIT only (set by the hosted-mode VMM, whose
   *  CPUs stay in VMX operation): see requestReset. */
  resetAsInit = false;
  blockA20(on: boolean): void { this.a20Blocked = on; this.applyA20(); }

  /** The A20 line: enabled when the 8042 output port or port 92h enables it. */
  private applyA20(): void {
    const mask = this.a20Blocked || this.a20Kbc || this.a20Fast ? 0xffffffff | 0 : 0xffefffff | 0;
    if (this.mem.a20Mask !== mask) {
      this.mem.a20Mask = mask;
      for (const c of this.cpus) c.tlb.flushAll();
    }
  }

  /** A guest-requested reset (keyboard controller pulse, port 92h): the CPU restarts at the
   *  reset vector with the firmware; devices keep their state as on a warm reset. */
  private requestReset(): void {
    this.resetRequested = true;
    for (const a of this.lapics) a.powerOnReset();
    this.ioapic.reset();
    if (this.resetAsInit) {
      // The 8042's and port 92h's reset lines drive INIT# (SDM Vol. 3A §9.1): CPUs in VMX
      // operation block it in root operation or take it as a VM exit (Vol. 3C §24.8, §26.2),
      // so the VMM that owns them restarts its vCPUs.
      for (const c of this.cpus) c.init();
      this.a20Fast = false; this.a20Kbc = false;
      this.applyA20();
      return;
    }
    for (let i = 1; i < this.cpus.length; i++) { this.cpus[i].reset(); this.cpus[i].enterWaitForSipi(); }
    if (this.firmware !== null) this.firmware.resetCpu(); else this.cpu.reset();
    if (this.firmware === null && this.externalBios === null) setupApicsAtPost(this.mem, this.cpus.length);
    this.a20Fast = false; this.a20Kbc = this.externalBios !== null; // see the constructor
    this.applyA20();
  }

  /** Asks `run` to return at the next instruction boundary. */
  stop(): void {
    this.stopCount++;
    this.stopRequested = true;
    const c = this.smp?.current ?? this.cpu;
    c.stopRequested = true;
    c.eventPending = true;
  }

  /**
   * Runs for up to `ticks` units of virtual time (instructions, counting idle time skipped
   * while halted). Devices' timers fire between CPU slices, never inside an instruction.
   */
  run(ticks: number): MachineStop {
    const r = this.runSlices(ticks);
    return r === 'stopped' && this.poweredOff ? 'poweroff' : r;
  }

  /**
   * One turn of CPU `i` alone for up to `ticks` (smp.ts `runOne`): for root-mode software that
   * schedules the CPUs itself (the hosted-mode VMM with several vCPUs). Needs `cpus` > 1.
   */
  runCpu(i: number, ticks: number, shared: boolean): TurnStop {
    if (this.smp === null) throw new Error('PcMachine.runCpu: a machine with one CPU runs with run()');
    this.stopRequested = false;
    return this.smp.runOne(i, this.clock.ticks() + ticks, this.isStopRequested, shared);
  }
  private readonly isStopRequested = (): boolean => this.stopRequested;
  /** Virtual time since when the CPU could never wake (-1: it can), across run() calls. */
  private deadHaltAt = -1;

  /** Makes CPU `i` the one whose instructions count as virtual time and whose local APIC answers
   *  MMIO (what `runCpu` does), for software acting for that CPU between its turns. */
  selectCpu(i: number): void { this.smp?.select(i); }
  /** How many times the selected CPU has kicked another (an IPI it sent): 0 with one CPU. */
  get kicks(): number { return this.smp?.kicks ?? 0; }

  private runSlices(ticks: number): MachineStop {
    const c = this.cpu, clk = this.clock;
    const end = clk.ticks() + ticks;
    this.stopRequested = false;
    if (this.smp !== null) return this.smp.run(end, () => this.stopRequested);
    while (clk.ticks() < end) {
      const budget = clk.budgetUntilNext(end - clk.ticks());
      clk.beginSlice(budget);
      const r = c.run(budget);
      clk.endSlice();
      clk.runDue();
      if (this.stopRequested) return 'stopped';
      if (r === StopReason.Shutdown) return 'shutdown';
      if (r !== StopReason.Halted) this.deadHaltAt = -1;
      if (r === StopReason.Halted) {
        // canWake: RFLAGS.IF or an NMI; for a guest in VMX non-root operation also what exits
        // (external-interrupt exiting whatever IF says, the preemption timer, ...: cpu.ts).
        const wakes = c.canWake();
        if (!wakes) {
          // Nothing can wake the CPU; let devices finish for 10 ms of virtual time (a UART
          // draining its FIFO) before reporting it.
          // The window spans run() calls (the desktop engine runs in short slices).
          if (this.deadHaltAt < 0) this.deadHaltAt = clk.nowNs();
          else if (clk.nowNs() - this.deadHaltAt > 10_000_000) return 'halted';
        } else this.deadHaltAt = -1;
        if (!clk.skipToNext(c.wakeDeadline())) return wakes ? 'idle' : 'halted';
        clk.runDue();
        if (this.stopRequested) return 'stopped';
      }
      // StopReason.Requested without a machine stop: a timer preempted the slice; go again.
    }
    return 'budget';
  }
}
