// `vmxlab run` end to end through the CLI dispatcher: a real guest, and bad input that must
// produce a clear error without a stack trace.
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, nasm, scratchDir as dir } from '../support/cli';


describe('vmxlab run on the PC', () => {
  it('boots a boot sector through the BIOS, waits for --until and prints the screen', async () => {
    // Polls the UART's line status before each byte, as a real driver must.
    const img = nasm(`bits 16
org 0x7c00
  mov si, msg
.next: lodsb
  test al, al
  jz .done
  mov ah, 0x0e
  int 0x10          ; the BIOS mirrors teletype output to COM1
  jmp .next
.done: cli
  hlt
msg: db "guest says hi", 13, 10, 0
times 510-($-$$) db 0
dw 0xaa55
`);
    const r = await cli('run', '--mode', 'bare', '--until', 'guest says hi', '--screen', '--max-seconds', '5', img);
    expect(r.err).toMatch(/hdd image \(boot signature 55AA/);
    expect(r.out).toContain('vmxlab BIOS');
    expect(r.out).toContain('guest says hi');
    expect(r.out).toMatch(/----- VGA text screen -----\n[^]*guest says hi/);
    expect(r.err).toMatch(/stopped: saw 'guest says hi'/);
    expect(r.code).toBe(0);
  });

  it('exits 1 when --until is not seen and says why the guest stopped', async () => {
    const img = nasm(`bits 16
org 0x7c00
  cli
  hlt
times 510-($-$$) db 0
dw 0xaa55
`);
    const r = await cli('run', '--mode', 'bare', '--until', 'never printed', img);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/stopped: HLT with interrupts disabled/);
  });

  it('rejects unsupported options clearly', async () => {
    let r = await cli('run', '--cpus', '9', 'x.img');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--cpus: a whole number of CPUs from 1 to 8, got '9'/);
    r = await cli('run', '--cpus', '1.5', 'x.img');
    expect(r.code).toBe(2);
    r = await cli('run', '--mem', '3T', 'x.img');
    expect(r.code).toBe(2);
    r = await cli('run', '--boot', 'tape', 'x.img');
    expect(r.err).toMatch(/--boot: one of floppy, hdd, cdrom, kernel/);
  });
});

describe('vmxlab run --machine testbed', () => {
  it('boots a boot sector, prints its serial output and returns the exit-port code', async () => {
    const img = nasm(`bits 16
org 0x7c00
  mov si, msg
.next: lodsb
  test al, al
  jz .done
  mov dx, 0x3f8
  out dx, al
  jmp .next
.done: mov al, 0
  out 0xf4, al
  hlt
msg: db "hello from the guest", 10, 0
times 510-($-$$) db 0
dw 0xaa55
`);
    const r = await cli('run', '--machine', 'testbed', img);
    expect(r.out).toBe('hello from the guest\n');
    expect(r.err).toMatch(/instructions in .* stopped: exit port, code 0/);
    expect(r.code).toBe(0);
  });

  it('--no-long-mode and --smx change what CPUID reports: LM (80000001H:EDX[29]), SMX (1:ECX[6])', async () => {
    // Prints 'L' or 'l' and 'S' or 's' on COM1 from real mode (CPUID works in every mode).
    const img = nasm(`bits 16
org 0x7c00
  mov dx, 0x3f8
  mov eax, 0x80000001
  cpuid
  mov al, 'L'
  bt edx, 29
  jc .lm
  mov al, 'l'
.lm: mov dx, 0x3f8
  out dx, al
  mov eax, 1
  cpuid
  mov al, 'S'
  bt ecx, 6
  jc .smx
  mov al, 's'
.smx: mov dx, 0x3f8
  out dx, al
  mov al, 0
  out 0xf4, al
  hlt
times 510-($-$$) db 0
dw 0xaa55
`);
    expect((await cli('run', '--machine', 'testbed', img)).out).toBe('Ls');
    expect((await cli('run', '--machine', 'testbed', '--no-long-mode', img)).out).toBe('ls');
    expect((await cli('run', '--machine', 'testbed', '--smx', '--gen', 'merom', img)).out).toBe('LS');
  });

  it('reports a guest triple fault as a shutdown with exit code 3', async () => {
    const img = nasm(`bits 16
org 0x7c00
  lidt [idt]
  int 0x80
idt: dw 0
  dd 0
times 510-($-$$) db 0
dw 0xaa55
`);
    const r = await cli('run', '--machine', 'testbed', img);
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/stopped: shutdown \(triple fault/);
  });

  it('rejects a truncated image and a missing file with a clear message', async () => {
    const short = join(dir, 'short.img');
    writeFileSync(short, new Uint8Array(100));
    let r = await cli('run', '--machine', 'testbed', short);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/short\.img: boot image is 100 bytes; a boot sector is 512/);
    r = await cli('run', short);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/short\.img: unknown image format \(100 bytes\).*use --boot/);
    r = await cli('run', join(dir, 'nope.img'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/cannot read .*nope\.img/);
    r = await cli('run');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/missing <image>/);
  });
});
