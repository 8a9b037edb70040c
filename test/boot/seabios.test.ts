// `vmxlab run --bios`: Debian's SeaBIOS (a BIOS nobody here wrote) in place of vmxlab's, booting
// floppy guests, through the CLI bundle in a child process as the boot ladder does. SeaBIOS's own
// log (debug port 0x402) goes to stderr; the guest's COM1 output to stdout. Each transcript is
// compared with QEMU booting the same image with the same ROM (QEMU runs this SeaBIOS too).
//
// Differences from QEMU, explained:
// - pit-idle never programs COM1's line control register, and SeaBIOS does not either, so the
//   16550 keeps its reset LCR (0: 5-bit words). vmxlab's UART sends only the low 5 bits of each
//   byte, as the chip does; QEMU's sends whole bytes whatever the word length. So vmxlab's
//   transcript is QEMU's with every byte ANDed with 0x1F. (pmode-diff sets 8N1 and matches.)
// - SeaBIOS's log: QEMU's host bridge carries QEMU's subsystem IDs and QEMU has fw_cfg, so
//   there SeaBIOS says "Running on QEMU", reads RAM size and e820 from fw_cfg and moves the PM
//   base to 0x600; on vmxlab it reads RAM size and boot order from CMOS ("RamSize: ... [cmos]")
//   and keeps its default PM base 0xB000.
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../..');
const CLI = join(ROOT, 'out/cli/vmxlab.cjs');
const SEABIOS = '/usr/share/seabios/bios.bin';
const SEABIOS_256K = '/usr/share/seabios/bios-256k.bin';
const hasSeabios = existsSync(SEABIOS);
const hasQemu = spawnSync('qemu-system-i386', ['--version']).status === 0;
const SKIP = hasSeabios ? '' : ` (skipped: ${SEABIOS} missing; run apt-get install -y seabios)`;

const tmp = mkdtempSync(join(tmpdir(), 'vmxlab-seabios-'));
let built = false;

function vmxlab(args: string[]): { code: number; out: string; err: string } {
  if (!built) { execFileSync(process.execPath, [join(ROOT, 'scripts/build-cli.mjs'), '--quiet'], { cwd: ROOT }); built = true; }
  const p = spawnSync(process.execPath, [CLI, 'run', '--mode', 'bare', ...args], { encoding: 'latin1', timeout: 120_000, killSignal: 'SIGKILL', maxBuffer: 64 << 20 });
  if (p.error) throw p.error;
  return { code: p.status ?? -1, out: p.stdout, err: p.stderr };
}

/** A guest image padded to a 1.44 MB floppy (SeaBIOS and QEMU take it as a floppy then). */
function floppy(image: string): string {
  const f = join(tmp, image.replace(/\//g, '_'));
  const out = new Uint8Array(1474560);
  out.set(readFileSync(join(ROOT, image)));
  writeFileSync(f, out);
  return f;
}

/** QEMU with the same ROM and disk: the guest's COM1 transcript and SeaBIOS's 0x402 log. */
function qemu(rom: string, img: string, drive: 'floppy' | 'ide' = 'floppy'): { serial: string; log: string } {
  const serial = join(tmp, 'qemu-serial.txt'), log = join(tmp, 'qemu-debugcon.txt');
  writeFileSync(serial, ''); writeFileSync(log, '');
  spawnSync('qemu-system-i386', ['-M', 'pc', '-accel', 'tcg', '-cpu', 'pentium3,+nx', '-bios', rom, '-m', '64',
    '-display', 'none', '-no-reboot', '-nodefaults', '-serial', `file:${serial}`,
    '-chardev', `file,id=dbg,path=${log}`, '-device', 'isa-debugcon,iobase=0x402,chardev=dbg',
    '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04', '-drive', `file=${img},format=raw,if=${drive},snapshot=on`],
  { timeout: 60_000, killSignal: 'SIGKILL' });
  return { serial: readFileSync(serial, 'latin1'), log: readFileSync(log, 'latin1') };
}

/** From the line holding `from` through `until`, CRs dropped. */
function between(t: string, from: string, until: string): string {
  const a = t.indexOf(from), b = t.indexOf(until);
  if (a < 0 || b < 0) return `(markers not found in: ${JSON.stringify(t.slice(0, 300))})`;
  return t.slice(t.lastIndexOf('\n', a) + 1, b + until.length).replace(/\r/g, '');
}

describe('SeaBIOS in place of vmxlab\'s BIOS (vmxlab run --bios)', () => {
  for (const rom of [SEABIOS, SEABIOS_256K]) {
    const skip = !existsSync(rom);
    it.skipIf(skip)(`${rom} boots the pmode-diff floppy to PMODE DONE, transcript identical to QEMU's${skip ? SKIP : ''}`, () => {
      const img = floppy('guests/pmode-diff/pmode.img');
      const r = vmxlab(['--bios', rom, '--until', 'PMODE DONE', '--max-seconds', '20', img]);
      expect(r.err, r.err).toMatch(/stopped: saw 'PMODE DONE'/);
      expect(r.code).toBe(0);
      // SeaBIOS's own log: it ran its POST on this machine and booted the floppy.
      expect(r.err).toMatch(/SeaBIOS \(version 1\.\d+/);
      expect(r.err).toMatch(/RamSize: 0x04000000 \[cmos\]/);
      expect(r.err).toMatch(/Found 4 PCI devices/);
      expect(r.err).toMatch(/PS2 keyboard initialized/);
      expect(r.err).toMatch(/Booting from Floppy\.\.\.\nBooting from 0000:7c00\n/);
      expect(r.err).not.toMatch(/WARNING|panic|Timeout/i);
      expect(r.out.startsWith('PMODE START')).toBe(true); // nothing but the guest on COM1
      if (hasQemu) {
        const q = qemu(rom, img);
        expect(q.log).toMatch(/Booting from 0000:7c00/);
        expect(between(r.out, 'PMODE START', 'PMODE DONE')).toBe(between(q.serial, 'PMODE START', 'PMODE DONE'));
      }
    }, 180_000);
  }

  it.skipIf(!hasSeabios)(`boots the pmode-diff hard-disk image (IDE) to PMODE DONE, transcript identical to QEMU's${SKIP}`, () => {
    const img = join(ROOT, 'guests/pmode-diff/pmode.img'); // 17920 bytes: detected as a hard disk
    const r = vmxlab(['--bios', SEABIOS, '--until', 'PMODE DONE', '--max-seconds', '20', img]);
    expect(r.err, r.err).toMatch(/stopped: saw 'PMODE DONE'/);
    expect(r.err).toMatch(/ata0-0: vmxlab ATA disk/);
    expect(r.err).toMatch(/Booting from Hard Disk\.\.\.\nBooting from 0000:7c00\n/);
    if (hasQemu) {
      const q = qemu(SEABIOS, img, 'ide');
      expect(between(r.out, 'PMODE START', 'PMODE DONE')).toBe(between(q.serial, 'PMODE START', 'PMODE DONE'));
    }
  }, 180_000);

  it.skipIf(!hasSeabios)(`boots pit-idle (PIT + HLT idle loop) to its exit port; COM1 left at 5-bit words${SKIP}`, () => {
    const img = floppy('guests/pit-idle/pit-idle.img');
    const r = vmxlab(['--bios', SEABIOS, '--max-seconds', '10', img]);
    expect(r.err, r.err).toMatch(/stopped: exit port, code 0/);
    expect(r.code).toBe(0);
    const expected = 'PIT ticks 100, HLT wakeups 100\r\nPIT IDLE DONE\r\n';
    // What a 16550 with LCR = 0 sends: the low 5 bits of each byte.
    expect(r.out).toBe([...expected].map((c) => String.fromCharCode(c.charCodeAt(0) & 0x1f)).join(''));
    if (hasQemu) {
      const q = qemu(SEABIOS, img);
      expect(q.serial).toBe(expected); // QEMU's UART ignores the word length
    }
  }, 180_000);
});

describe('SeaBIOS rebooting', () => {
  // A boot sector that prints 'B' on COM1 (8N1) and pulses the 8042's reset line:
  //   mov dx, 0x3fb / mov al, 3 / out dx, al / mov dx, 0x3f8 / mov al, 'B' / out dx, al /
  //   mov al, 0xfe / out 0x64, al / cli / hlt           (nasm -f bin, bits 16, org 0x7c00)
  // The CPU restarts at the ROM's reset vector with shadow RAM kept; SeaBIOS takes its resume
  // path, finds no resume vector (CMOS shutdown status 0), copies its pristine image back and
  // resets through 0xCF9, then POSTs and boots the floppy again.
  it.skipIf(!hasSeabios)(`a guest's 8042 reset reboots SeaBIOS, which boots the floppy again${SKIP}`, () => {
    const img = join(tmp, 'reboot.img');
    const bytes = new Uint8Array(1474560);
    bytes.set([0xba, 0xfb, 0x03, 0xb0, 0x03, 0xee, 0xba, 0xf8, 0x03, 0xb0, 0x42, 0xee, 0xb0, 0xfe, 0xe6, 0x64, 0xfa, 0xf4]);
    bytes[510] = 0x55; bytes[511] = 0xaa;
    writeFileSync(img, bytes);
    const r = vmxlab(['--bios', SEABIOS, '--max-seconds', '6', img]);
    expect(r.out).toMatch(/^BB+$/);
    expect(r.err).toMatch(/In resume \(status=0\)\n[^]*Attempting a hard reboot\n[^]*SeaBIOS \(version[^]*Booting from 0000:7c00/);
    expect(r.err).toMatch(/stopped: time limit/);
  }, 180_000);
});

describe('SeaBIOS booting a CD-ROM', () => {
  const iso = '/usr/lib/ipxe/ipxe.iso';
  const skip = !hasSeabios || !existsSync(iso);
  // iPXE finds no network device and hands back to the BIOS with INT 18h, as it does on QEMU
  // with the same ROM (-nodefaults -cdrom: SeaBIOS logs "enter handle_18" after the CD boot).
  // iPXE prints through INT 10h only, which goes nowhere without a VGA BIOS, so SeaBIOS's log is
  // what shows the El Torito boot through its ATAPI driver worked.
  it.skipIf(skip)(`boots iPXE's El Torito image from the ATAPI CD-ROM and gets control back by INT 18h${skip ? ` (skipped: needs ${SEABIOS} and ${iso}; run apt-get install -y seabios ipxe)` : ''}`, () => {
    const r = vmxlab(['--bios', SEABIOS, '--max-seconds', '10', iso]);
    expect(r.err).toMatch(/DVD\/CD \[ata1-0: vmxlab ATAPI CD-ROM/);
    expect(r.err).toMatch(/Booting from DVD\/CD\.\.\.\nBooting from 0000:7c00\nenter handle_18:/);
    expect(r.err).toMatch(/stopped: time limit/);
  }, 180_000);
});

describe('vmxlab run --bios: bad ROMs and combinations', () => {
  it('says what is wrong with a missing, odd-sized or blank ROM and exits 1', () => {
    const img = floppy('guests/pit-idle/pit-idle.img');
    let r = vmxlab(['--bios', join(tmp, 'no-such-rom.bin'), img]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/vmxlab run: --bios .*no-such-rom\.bin: ENOENT/);
    const odd = join(tmp, 'odd.bin');
    writeFileSync(odd, new Uint8Array(1000));
    r = vmxlab(['--bios', odd, img]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/odd\.bin: BIOS ROM size 1000 bytes is not a multiple of 64 KB/);
    const blank = join(tmp, 'blank.bin');
    writeFileSync(blank, new Uint8Array(0x20000).fill(0xff));
    r = vmxlab(['--bios', blank, img]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/no code at its reset vector/);
    expect(r.err).not.toMatch(/\n\s+at /); // no stack trace
  }, 60_000);

  it('refuses --bios for kernels and the testbed with a usage error (exit 2)', () => {
    const rom = join(tmp, 'tiny.bin');
    const bytes = new Uint8Array(0x10000);
    bytes.set([0xfa, 0xf4], 0xfff0); // cli; hlt
    writeFileSync(rom, bytes);
    let r = vmxlab(['--bios', rom, '--machine', 'testbed', floppy('guests/pit-idle/pit-idle.img')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--bios: the testbed machine has no firmware/);
    const com = join(tmp, 'prog.com');
    writeFileSync(com, Uint8Array.from([0xcd, 0x20]));
    r = vmxlab(['--bios', rom, com]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--bios: .* images are loaded by vmxlab's BIOS; another BIOS boots disk images only/);
  }, 60_000);
});
