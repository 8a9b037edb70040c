// String I/O with guest paging on (issue 5): the VMM emulates INS/OUTS by running the CPU core on
// the lent guest state, so linear addresses go through the guest's page tables. A guest with
// paging maps its message at a linear address other than its physical one, prints it with
// REP OUTSB, reads bytes back with REP INSB into a mapped page, and takes a #PF in its own
// handler for an OUTSB from an unmapped page: the same transcript as on the bare machine.
import { describe, expect, it } from 'vitest';
import { ExitReason } from '../../src/core/vmx/exit-reasons';
import { bootSector } from '../firmware/support';
import { bareRun, HostedPc } from './support';

// Flat protected mode; page directory at 0x10000 with PDE 0 = 4 MB identity (PSE) and PDE 1
// (linear 0x400000) = a page table mapping linear 0x400000 -> physical 0x7000 (the page that
// holds this boot sector's data: 0x7c00 is in it) and nothing else; CR4.PSE, CR0.PG.
const GUEST = bootSector(`
  cli
  xor ax, ax
  mov ds, ax
  lgdt [gdtr]
  mov eax, cr0
  or al, 1
  mov cr0, eax
  jmp dword 0x08:pm
bits 32
pm:
  mov ax, 0x10
  mov ds, ax
  mov es, ax
  mov ss, ax
  mov esp, 0x9000
  mov edi, 0x10000
  mov ecx, 2048
  xor eax, eax
  rep stosd
  mov dword [0x10000], 0x00000083      ; PDE 0: 4 MB page at 0, present, writable
  mov dword [0x10004], 0x00011003      ; PDE 1: page table at 0x11000
  mov dword [0x11000], 0x00007003      ; linear 0x400000 -> physical 0x7000
  ; IDT with a #PF handler
  mov eax, pf_handler
  mov [idt + 14*8], ax
  mov word [idt + 14*8 + 2], 0x08
  mov word [idt + 14*8 + 4], 0x8e00
  shr eax, 16
  mov [idt + 14*8 + 6], ax
  lidt [idtr]
  mov eax, cr4
  or eax, 0x10
  mov cr4, eax
  mov eax, 0x10000
  mov cr3, eax
  mov eax, cr0
  or eax, 0x80000000
  mov cr0, eax
  ; REP OUTSB of msg through its alias at linear 0x400000 + (msg - 0x7000)
  mov esi, 0x400000 + (msg - 0x7000)
  mov ecx, msg_end - msg
  mov dx, 0xe9
  cld
  rep outsb
  ; REP INSB of 4 bytes from the CMOS data port (index 0x0f: shutdown status) into the alias
  mov al, 0x0f
  out 0x70, al
  mov edi, 0x400000 + (buf - 0x7000)
  mov ecx, 4
  mov dx, 0x71
  rep insb
  mov al, [buf]
  add al, 'A'
  out 0xe9, al
  ; OUTSB from linear 0x800000 (not present): the guest's #PF handler prints CR2's top byte
  mov esi, 0x800000
  mov dx, 0xe9
  outsb
after:
  mov al, 10
  out 0xe9, al
  cli
  hlt
pf_handler:
  mov eax, cr2
  shr eax, 20
  add al, '0'
  out 0xe9, al
  add esp, 4                           ; the error code
  mov dword [esp], after               ; resume after the OUTSB
  iret
msg: db 'paged string I/O '
msg_end:
buf: dd 0
align 8
gdt: dq 0, 0x00cf9a000000ffff, 0x00cf92000000ffff
gdtr: dw 23
  dd gdt
idt: times 16*8 db 0
idtr: dw 16*8-1
  dd idt
`);

function bare(gen: string): string {
  const r = bareRun(GUEST, gen, 1, 50_000_000);
  expect(r.stop).toBe('halted');
  return r.serial;
}

describe('hosted mode: string I/O with guest paging on', () => {
  for (const gen of ['westmere', 'haswell']) {
    it(`REP OUTSB/INSB through the guest's page tables, and a #PF to the guest (${gen})`, () => {
      const want = bare(gen);
      expect(want).toMatch(/^paged string I\/O A8\n$/); // CMOS 0Fh is 0 at power-on; CR2 = 0x800000
      const pc = new HostedPc(GUEST, gen);
      expect(pc.run(0.5)).toBe('halted');
      expect(pc.vm.fault, pc.vm.fault?.summary).toBeNull();
      expect(pc.serial).toBe(want);
      // In the boot sector: one exit per string instruction (each REP runs whole in the
      // emulator), the OUTSB that faults (once: the guest's handler skips it), OUT 0x70, and
      // the three single OUTs to 0xE9 ('A', the handler's digit, the newline).
      let inGuest = 0;
      for (const [k, n] of pc.exits) {
        const [r, a] = k.split(':');
        if (Number(r) === ExitReason.IoInstruction && parseInt(a, 16) >= 0x7c00 && parseInt(a, 16) < 0x7e00) inGuest += n;
      }
      expect(inGuest).toBe(7);
    });
  }
});
