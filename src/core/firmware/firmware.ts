// vmxlab's BIOS. The ROM (rom.ts) holds x86 stubs; every BIOS service is an `out 0xE0, al`
// trap into this class, which identifies the stub from CS:EIP and implements the service on
// the caller's registers, guest memory, port I/O to the devices and the disk images. Under
// VMX each service call is thus one I/O exit to the 'vmxlab BIOS service' port.
//
// Interrupt handlers: IRQ0 (INT 08h) traps to count the tick, then x86 code calls INT 1Ch and
// sends the EOI; IRQ1 (INT 09h) is x86 code that reads port 60h, calls INT 15h AH=4Fh and
// traps with the scancode in AL (translation in TS), then EOIs in x86; INT 70h (RTC) and the
// other IRQs are pure x86 (read CMOS register C / EOI).
import type { Cpu } from '../cpu/cpu';
import { Seg } from '../cpu/regs';
import { writeMsr } from '../cpu/ops/system';
import type { BlockDevice } from '../platform/block';
import { Timer } from '../platform/clock';
import type { IoBus, PortDevice } from '../platform/io-bus';
import type { PhysicalMemory } from '../platform/memory';
import { buildAcpi, type AcpiTables } from './acpi';
import { CommPortServices } from './comm-ports';
import { AL, DL, type BiosCtx } from './context';
import { DiskServices } from './disk';
import { cdDrive, floppyDrive, hardDrive } from './drives';
import { ACPI_AREA, buildE820, type E820Entry } from './e820';
import { BootMedia, CD_SECTOR, parseElTorito } from './eltorito';
import { GuestMem } from './guest';
import { Keyboard } from './keyboard';
import {
  BASE_MEM_KB, BDA, BOOT_ADDR, EBDA_BASE, EBDA_SEG, ROM_BASE, ROM_SEG, ROM_SIZE, SERVICE_PORT, SERVICE_PORT_NAME,
} from './layout';
import { buildMp } from './mptable';
import { setupApicsAtPost } from './apic-setup';
import { buildRom, ROM_OFF, Svc, type RomLayout } from './rom';
import { SystemServices } from './system';
import { cmosRead, cmosWrite, TimeServices } from './time';
import { loadFont } from './vga-mode3';
import { Video } from './video';

export type BootDevice = 'floppy' | 'hdd' | 'cdrom';

export interface FirmwareOptions {
  cpu: Cpu;
  mem: PhysicalMemory;
  io: IoBus;
  memoryBytes: number;
  floppies: (BlockDevice | null)[];
  /** ATA primary master/slave, secondary master/slave. */
  disks: (BlockDevice | null)[];
  /** 2048-byte sectors. */
  cdrom: BlockDevice | null;
  bootOrder: BootDevice[];
  cpuCount?: number;
  onBootFailure?(msg: string): void;
  /** Virtual clock for INT 15h AH=86h (else the BDA tick count paces waits); with `arm`, the
   *  BIOS's polling waits (INT 14h/17h) halt between polls instead of spinning. */
  clock?: { nowNs(): number; arm?(t: Timer, atNs: number): void };
  /** Mirror INT 10h teletype output to COM1 (default true). */
  mirrorToSerial?: boolean;
}

export class Firmware implements PortDevice {
  readonly cpu: Cpu;
  readonly mem: PhysicalMemory;
  readonly io: IoBus;
  readonly ctx: BiosCtx;
  readonly video: Video;
  readonly disk: DiskServices;
  readonly keyboard: Keyboard;
  readonly system: SystemServices;
  readonly comm: CommPortServices;
  readonly time: TimeServices;
  readonly e820: E820Entry[];
  readonly rom: RomLayout;
  acpi: AcpiTables | null = null;
  /** Called at the INT 19h boot point instead of loading a boot sector (kernel loaders). */
  bootOverride: ((cpu: Cpu) => void) | null = null;
  /** Service calls by kind, for debugging. */
  readonly calls = new Map<Svc, number>();
  /** What INT 19h booted ('floppy', 'hdd', 'cdrom', 'override') or null. */
  bootedFrom: string | null = null;
  private readonly cpuCount: number;

  constructor(private readonly opts: FirmwareOptions) {
    const { cpu, mem, io } = opts;
    if (opts.memoryBytes < 2 * 1024 * 1024) throw new Error(`the BIOS needs at least 2 MB of RAM, got ${opts.memoryBytes}`);
    this.cpu = cpu; this.mem = mem; this.io = io;
    this.cpuCount = Math.max(1, Math.min(opts.cpuCount ?? 1, 254));
    this.ctx = { cpu, io, mem, g: new GuestMem(cpu, mem), trapEip: 0 };
    this.video = new Video(this.ctx, { mirrorToSerial: opts.mirrorToSerial ?? true });
    this.disk = new DiskServices(this.ctx);
    this.keyboard = new Keyboard(this.ctx);
    this.e820 = buildE820(opts.memoryBytes);
    const clock = opts.clock;
    const pollTimer = new Timer('BIOS poll', () => { cpu.halted = false; cpu.eventPending = true; });
    this.comm = new CommPortServices(this.ctx, clock,
      clock?.arm ? (ns) => clock.arm!(pollTimer, clock.nowNs() + ns) : null);
    this.system = new SystemServices(this.ctx, { e820: this.e820, ramTop: opts.memoryBytes - ACPI_AREA, clock: opts.clock });
    this.time = new TimeServices(this.ctx);
    this.rom = buildRom();
  }

  /** Registers the service port, loads the ROM and puts the CPU at the reset vector F000:FFF0. */
  install(): void {
    this.io.register(SERVICE_PORT, 1, SERVICE_PORT_NAME, this);
    const img = this.rom.image;
    const acpiBase = this.opts.memoryBytes - ACPI_AREA;
    this.acpi = buildAcpi(acpiBase, this.cpuCount);
    img.set(this.acpi.rsdp, ROM_OFF.RSDP);
    const m = this.cpu.model;
    const sig = (m.family << 8) | (m.model << 4) | m.stepping;
    const mp = buildMp(ROM_BASE + ROM_OFF.MP_CONFIG, this.cpuCount, sig, 0x00000201); // [9] APIC | [0] FPU
    if (ROM_OFF.MP_CONFIG + mp.config.length > ROM_OFF.MP_CONFIG_END) throw new Error('MP table does not fit the ROM');
    img.set(mp.floating, ROM_OFF.MP_FLOAT);
    img.set(mp.config, ROM_OFF.MP_CONFIG);
    this.mem.load(ROM_BASE, img);
    this.mem.setRom(ROM_BASE, ROM_SIZE);
    this.setupDrives();
    this.resetCpu();
  }

  /** CPU reset state, but with CS base 000F0000h so F000:FFF0 fetches the ROM (no 4 GB alias). */
  resetCpu(): void {
    this.cpu.reset();
    this.cpu.setSegReal(Seg.CS, ROM_SEG, 0xffff, 0x9b);
    this.cpu.eip = 0xfff0;
  }

  private setupDrives(): void {
    const d = this.disk;
    d.drives.clear(); d.emulation = null;
    let n = 0;
    for (let i = 0; i < 2; i++) { const f = this.opts.floppies[i]; if (f) d.drives.set(i, floppyDrive(f)); if (f) n = i + 1; }
    d.floppyCount = this.opts.floppies.filter((f) => f).length > 0 ? n : 0;
    let h = 0;
    for (const disk of this.opts.disks) if (disk) d.drives.set(0x80 + h++, hardDrive(disk));
    d.hddCount = h;
  }

  // ---- PortDevice: the service port.
  ioRead(): number { return 0xff; }
  ioWrite(): void {
    const c = this.cpu;
    if (c.segBase[Seg.CS] !== ROM_BASE) return; // only the ROM's stubs trap
    const svc = this.rom.traps.get(c.eip & 0xffff);
    if (svc === undefined) return;
    this.ctx.trapEip = c.eip;
    this.calls.set(svc, (this.calls.get(svc) ?? 0) + 1);
    this.dispatch(svc);
  }

  private dispatch(svc: Svc): void {
    switch (svc) {
      case Svc.Post: this.post(); break;
      case Svc.Int10: this.video.service(); break;
      case Svc.Int11: this.system.int11(); break;
      case Svc.Int12: this.system.int12(); break;
      case Svc.Int13: this.disk.service(); break;
      case Svc.Int14: this.comm.int14(); break;
      case Svc.Int15: this.system.int15(); break;
      case Svc.Int16: this.keyboard.service(); break;
      case Svc.Int17: this.comm.int17(); break;
      case Svc.Int18:
        this.video.print('No ROM BASIC: boot failed, system halted\r\n');
        this.haltHere();
        break;
      case Svc.Int19: this.boot(); break;
      case Svc.Int1A: this.time.service(); break;
      case Svc.Irq0: this.time.tick(); break;
      case Svc.Irq1: this.keyboard.scancode(this.cpu.r8[AL]); break;
    }
  }

  private haltHere(): void {
    this.cpu.setSegReal(Seg.CS, ROM_SEG, 0xffff, 0x9b);
    this.cpu.eip = this.rom.haltLoop;
  }

  // ---- POST

  private post(): void {
    const c = this.cpu, b = this.ctx, m = this.mem, io = this.io;
    // IA32_FEATURE_CONTROL (0x3A) is 0 after RESET; a BIOS with VT enabled in its setup sets
    // "VMX outside SMX" (bit 2) and the lock (bit 0) before any OS runs (SDM Vol. 3C §24.7),
    // (a boot sector on Bochs 2.7 reads 5 too). Done on every pass, the shutdown-resume one included.
    if (c.vmx !== null) writeMsr(c, 0x3a, 5, 0);
    // CMOS shutdown status 05h/0Ah: resume at the far pointer at 0040:0067 without POST
    // (PC AT Technical Reference; used by 286-style protected-mode returns).
    const shutdown = cmosRead(b, 0x0f);
    if (shutdown === 0x05 || shutdown === 0x0a) {
      cmosWrite(b, 0x0f, 0);
      if (shutdown === 0x05) { io.write(0xa0, 1, 0x20); io.write(0x20, 1, 0x20); }
      c.setSegReal(Seg.CS, m.read16(BDA.SHUTDOWN_VECTOR + 2), 0xffff, 0x9b);
      c.eip = m.read16(BDA.SHUTDOWN_VECTOR);
      return;
    }
    this.setupDrives();
    c.setSegReal(Seg.SS, 0, 0xffff, 0x93); c.r16[8] = BOOT_ADDR;
    for (const s of [Seg.DS, Seg.ES]) c.setSegReal(s, 0, 0xffff, 0x93);
    this.writeIvt();
    this.writeBda();
    for (let a = EBDA_BASE; a < EBDA_BASE + 1024; a++) m.write8(a, 0);
    m.write8(EBDA_BASE, 1); // EBDA size in KB
    this.initPics();
    // The local APIC (CPUID.1:EDX.APIC) and the I/O APIC in virtual-wire mode (apic-setup.ts).
    if (c.lapic !== null && c.lapic.hwEnabled) setupApicsAtPost(m, this.cpuCount);
    // PIT channel 0: control word 36h = [7:6] channel 0 | [5:4] lobyte/hibyte | [3:1] mode 3
    // (square wave) | [0] binary; divisor 0 = 65536: 18.2 Hz (Intel 8254 datasheet).
    io.write(0x43, 1, 0x36); io.write(0x40, 1, 0); io.write(0x40, 1, 0);
    this.initKeyboardController();
    this.initSerial(0x3f8);
    this.video.setMode(0x03);
    loadFont(io, b.g);
    // Seed the tick count from the RTC (18.2065 ticks per second).
    m.write32(BDA.TICKS, Math.floor((this.time.rtcSeconds() * 1193182) / 65536));
    if (this.acpi !== null) m.load(this.opts.memoryBytes - ACPI_AREA, this.acpi.area);
    const banner = 'vmxlab BIOS\r\n';
    // On the screen, and on COM1 only through the serial-console mirror (a POST trap cannot wait
    // for the UART, so bytes written past its FIFO here would be lost).
    this.video.print(banner);
    // Back in the POST stub: sti; int 19h.
  }

  private writeIvt(): void {
    const m = this.mem, r = this.rom;
    const vec = (n: number, off: number, seg = ROM_SEG): void => { m.write16(n * 4, off); m.write16(n * 4 + 2, seg); };
    for (let n = 0; n < 256; n++) vec(n, r.iret);
    vec(0x08, r.entry.get(Svc.Irq0)!); vec(0x09, r.entry.get(Svc.Irq1)!);
    for (let n = 0x0a; n <= 0x0f; n++) vec(n, r.irqMaster);
    vec(0x70, r.int70);
    for (let n = 0x71; n <= 0x77; n++) vec(n, r.irqSlave);
    const svcs: [number, Svc][] = [[0x10, Svc.Int10], [0x11, Svc.Int11], [0x12, Svc.Int12], [0x13, Svc.Int13],
      [0x14, Svc.Int14], [0x15, Svc.Int15], [0x16, Svc.Int16], [0x17, Svc.Int17], [0x18, Svc.Int18],
      [0x19, Svc.Int19], [0x1a, Svc.Int1A]];
    for (const [n, s] of svcs) vec(n, r.entry.get(s)!);
    vec(0x1d, 0, 0); // video parameter table: none
    vec(0x1e, ROM_OFF.DISKETTE_PARAMS);
    vec(0x1f, ROM_OFF.FONT8 + 0x400); // 8x8 glyphs 80h-FFh
    vec(0x43, ROM_OFF.FONT8);
    for (let n = 0x60; n <= 0x67; n++) vec(n, 0, 0); // user vectors
  }

  private writeBda(): void {
    const m = this.mem, d = this.disk;
    for (let a = 0x400; a < 0x500; a++) m.write8(a, 0);
    const ports = this.comm.detect();
    ports.com.forEach((p, i) => m.write16(BDA.COM1 + 2 * i, p));
    ports.lpt.forEach((p, i) => m.write16(BDA.LPT1 + 2 * i, p));
    this.comm.writeTimeouts();
    m.write16(BDA.EBDA_SEG, EBDA_SEG);
    // Equipment word: [15:14] printers | [11:9] serial ports | [7:6] floppies - 1 |
    // [5:4] 10 = 80x25 colour | [1] math coprocessor | [0] floppy drives present.
    let eq = (ports.lpt.length << 14) | (ports.com.length << 9) | (2 << 4) | 0x02;
    if (d.floppyCount > 0) eq |= 1 | ((d.floppyCount - 1) << 6);
    m.write16(BDA.EQUIPMENT, eq);
    m.write16(BDA.MEM_KB, BASE_MEM_KB);
    m.write16(BDA.KBD_START, 0x1e); m.write16(BDA.KBD_END, 0x3e);
    m.write16(BDA.KBD_HEAD, 0x1e); m.write16(BDA.KBD_TAIL, 0x1e);
    m.write8(BDA.HD_COUNT, d.hddCount);
    m.write8(BDA.VIDEO_SWITCHES, 0xf9); m.write8(BDA.VGA_FLAGS, 0x51); m.write8(BDA.DCC_INDEX, 0x08);
    m.write8(BDA.VIDEO_CTL, 0x60);
  }

  /** Both 8259s (Intel 8259A datasheet): ICW1 11h = edge, cascade, ICW4 needed; ICW2 vector
   *  base; ICW3 master: slave on IR2 (04h), slave: cascade identity 2; ICW4 01h = 8086 mode. */
  private initPics(): void {
    const io = this.io;
    io.write(0x20, 1, 0x11); io.write(0x21, 1, 0x08); io.write(0x21, 1, 0x04); io.write(0x21, 1, 0x01);
    io.write(0xa0, 1, 0x11); io.write(0xa1, 1, 0x70); io.write(0xa1, 1, 0x02); io.write(0xa1, 1, 0x01);
    io.write(0x21, 1, 0xf8); // OCW1: unmask IRQ0 (timer), IRQ1 (keyboard), IRQ2 (cascade)
    io.write(0xa1, 1, 0xff); // slave: all masked (disks are polled by INT 13h)
  }

  /** 8042 command byte 65h: [6] translate to set 1 | [5] aux disabled | [2] system flag |
   *  [0] IRQ1 on output buffer full; then drain the output buffer. */
  private initKeyboardController(): void {
    const io = this.io;
    const waitIn = (): void => { for (let i = 0; i < 1000 && (io.read(0x64, 1) & 0x02) !== 0; i++) { /* input buffer full */ } };
    waitIn(); io.write(0x64, 1, 0x60); waitIn(); io.write(0x60, 1, 0x65);
    for (let i = 0; i < 16 && (io.read(0x64, 1) & 0x01) !== 0; i++) io.read(0x60, 1);
  }

  /** 16550 at `base`: 115200 8N1 (divisor 1), FIFOs on, DTR/RTS/OUT2, interrupts off. */
  private initSerial(base: number): void {
    const io = this.io;
    io.write(base + 1, 1, 0x00); // IER
    io.write(base + 3, 1, 0x80); // LCR: DLAB
    io.write(base + 0, 1, 0x01); io.write(base + 1, 1, 0x00); // divisor 1
    io.write(base + 3, 1, 0x03); // LCR: 8 data bits, no parity, 1 stop
    io.write(base + 2, 1, 0xc7); // FCR: enable, clear, 14-byte trigger
    io.write(base + 4, 1, 0x0b); // MCR: DTR, RTS, OUT2
  }

  // ---- INT 19h: boot

  private boot(): void {
    const c = this.cpu;
    if (this.bootOverride !== null) { this.bootedFrom = 'override'; this.bootOverride(c); return; }
    for (const dev of this.opts.bootOrder) {
      if (dev === 'floppy' && this.bootDisk(0x00, false)) { this.bootedFrom = dev; return; }
      if (dev === 'hdd' && this.bootDisk(0x80, true)) { this.bootedFrom = dev; return; }
      if (dev === 'cdrom' && this.bootCd()) { this.bootedFrom = dev; return; }
    }
    const msg = 'No bootable device';
    this.video.print(msg + '\r\n');
    this.opts.onBootFailure?.(msg);
    this.haltHere();
  }

  private bootDisk(drive: number, needSignature: boolean): boolean {
    const d = this.disk.drives.get(drive);
    if (d === undefined) return false;
    const sector = new Uint8Array(512);
    if (!d.dev.read(d.offset, sector, 0, 512)) return false;
    if (needSignature && (sector[510] !== 0x55 || sector[511] !== 0xaa)) return false;
    this.mem.load(BOOT_ADDR, sector);
    this.jumpToBoot(0, BOOT_ADDR, drive);
    return true;
  }

  private bootCd(): boolean {
    const cd = this.opts.cdrom;
    if (cd === null) return false;
    const e = parseElTorito(cd);
    if (typeof e === 'string') return false;
    const dk = this.disk;
    if (e.media === BootMedia.NoEmulation) {
      const bytes = Math.max(1, e.sectorCount) * 512;
      const img = new Uint8Array(bytes);
      if (!cd.read(e.lba * CD_SECTOR, img, 0, Math.min(bytes, cd.size - e.lba * CD_SECTOR))) return false;
      const addr = e.loadSegment << 4;
      if (addr + bytes > 0xa0000) return false;
      this.mem.load(addr, img);
      dk.drives.set(0xe0, cdDrive(cd));
      dk.emulation = { entry: e, drive: 0xe0 };
      this.jumpToBoot(e.loadSegment, 0, 0xe0);
      return true;
    }
    if (e.media === BootMedia.HardDisk) return false; // hard-disk emulation: not supported
    const size = e.media === BootMedia.Floppy12 ? 1228800 : e.media === BootMedia.Floppy144 ? 1474560 : 2949120;
    if (e.lba * CD_SECTOR + size > cd.size) return false;
    // The emulated floppy becomes drive 00h; a real first floppy moves to 01h.
    const realA = dk.drives.get(0x00);
    dk.drives.set(0x00, floppyDrive(cd, e.lba * CD_SECTOR, size));
    if (realA) dk.drives.set(0x01, realA); else dk.drives.delete(0x01);
    dk.floppyCount = realA ? 2 : 1;
    dk.emulation = { entry: e, drive: 0x00 };
    const sector = new Uint8Array(512);
    cd.read(e.lba * CD_SECTOR, sector, 0, 512);
    this.mem.load(e.loadSegment << 4, sector);
    this.jumpToBoot(e.loadSegment, 0, 0x00);
    return true;
  }

  /** Boot-sector entry state: CS:IP, DL = drive, DS = ES = SS = 0, SP = 7C00h, IF = 1. */
  private jumpToBoot(cs: number, ip: number, drive: number): void {
    const c = this.cpu;
    for (const s of [Seg.DS, Seg.ES, Seg.SS, Seg.FS, Seg.GS]) c.setSegReal(s, 0, 0xffff, 0x93);
    c.r16[8] = BOOT_ADDR;
    c.r8[DL] = drive;
    c.setSegReal(Seg.CS, cs, 0xffff, 0x9b);
    c.eip = ip;
    c.setFlags(0x0202, ~0);
  }

  /** Plain-object state for debugging. */
  state(): Record<string, unknown> {
    return {
      bootedFrom: this.bootedFrom,
      drives: [...this.disk.drives.entries()].map(([n, d]) => ({ drive: n, kind: d.kind, name: d.dev.name, sectors: d.sectors })),
      calls: Object.fromEntries([...this.calls.entries()].map(([k, v]) => [Svc[k], v])),
      ticks: this.mem.read32(BDA.TICKS) >>> 0,
    };
  }
}

export { biosServicePortName, SERVICE_PORT, SERVICE_PORT_NAME } from './layout';
