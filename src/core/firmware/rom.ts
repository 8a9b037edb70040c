// The BIOS ROM image (64 KB at 0xF0000-0xFFFFF), generated here. It holds tiny x86 stubs; the
// BIOS services themselves run in TypeScript behind the service port (layout.ts).
//
// A service stub, entered through the IVT (frame IP, CS, FLAGS at SS:SP):
//   S+0  E6 E0   out 0xE0, al   ; traps: the handler finds the stub from CS:EIP (EIP = S+2)
//   S+2  CF      iret           ; done: return to the caller with the flags the handler left
//   S+3  FB      sti            ; not done yet (blocking service): the handler sets EIP = S+3
//   S+4  F4      hlt            ; wait for an interrupt (virtual time advances meanwhile)
//   S+5  EB F9   jmp S          ; and ask again
// Hand-assembled encodings (checked with nasm -f bin) are written out per stub below.
import { font8x16, font8x8 } from './font';
import { ROM_SIZE, SERVICE_PORT } from './layout';

/** Services reached through the trap port. */
export enum Svc {
  Post, Int10, Int11, Int12, Int13, Int14, Int15, Int16, Int17, Int18, Int19, Int1A, Irq0, Irq1,
}

/** Fixed offsets inside the ROM segment (F000:xxxx). */
export const ROM_OFF = {
  FONT16: 0x1000,
  FONT8: 0x2000, // 2 KB: glyphs 0-127 for INT 43h, 128-255 (at +0x400) for INT 1Fh
  DISKETTE_PARAMS: 0x2800,
  CONFIG_TABLE: 0x2810,
  RSDP: 0x3000, // 16-byte aligned (ACPI spec §5.2.5.1)
  MP_FLOAT: 0x3020, // 16-byte aligned (MP spec §4.1)
  MP_CONFIG: 0x3040, // up to 0x7000
  MP_CONFIG_END: 0x7000,
  RESET: 0xfff0,
} as const;

export interface RomLayout {
  image: Uint8Array;
  /** Trap EIP (offset after the OUT) -> service. */
  traps: Map<number, Svc>;
  /** Entry offset of each service stub, for the IVT. */
  entry: Map<Svc, number>;
  /** Default handlers. */
  iret: number; irqMaster: number; irqSlave: number; int70: number;
  /** `cli; hlt` forever. */
  haltLoop: number;
  /** In the POST stub: `sti; int 19h`, where a resumed POST continues. */
  postBoot: number;
}

// Diskette parameter table for a 1.44 MB 3.5" drive (IBM PC AT Technical Reference, INT 1Eh):
// step rate/head unload, head load/DMA, motor-off delay, 512-byte sectors (2), 18 sectors per
// track, gap length, data length, format gap, fill byte, head settle, motor start.
const DISKETTE_PARAMS = [0xdf, 0x02, 0x25, 0x02, 0x12, 0x1b, 0xff, 0x6c, 0xf6, 0x0f, 0x08];

// INT 15h AH=C0h system configuration table (RBIL INT 15/AH=C0h): length 8, model FCh (AT),
// submodel 01h, BIOS revision 0, feature byte 1: [6] second 8259 | [5] RTC | [4] INT 15h/4Fh
// called by INT 09h | [2] EBDA allocated = 0x74, feature byte 2: [6] INT 16h/09h extended = 0x40.
const CONFIG_TABLE = [0x08, 0x00, 0xfc, 0x01, 0x00, 0x74, 0x40, 0x00, 0x00, 0x00];

export function buildRom(): RomLayout {
  const img = new Uint8Array(ROM_SIZE);
  let pc = 0x0100;
  const emit = (...b: number[]): number => { const at = pc; for (const x of b) img[pc++] = x & 0xff; return at; };
  const traps = new Map<number, Svc>();
  const entry = new Map<Svc, number>();
  const P = SERVICE_PORT;

  // Default interrupt handler: iret.
  const iret = emit(0xcf);
  // cli; hlt; jmp $-1 (back to hlt).
  const haltLoop = emit(0xfa, 0xf4, 0xeb, 0xfd);

  // POST: cli; cld; out P,al (POST runs in TS); sti; int 19h; then halt.
  const post = emit(0xfa, 0xfc, 0xe6, P);
  traps.set(pc, Svc.Post);
  const postBoot = emit(0xfb, 0xcd, 0x19, 0xfa, 0xf4, 0xeb, 0xfd);
  entry.set(Svc.Post, post);

  // Generic service stubs.
  for (const s of [Svc.Int10, Svc.Int11, Svc.Int12, Svc.Int13, Svc.Int14, Svc.Int15, Svc.Int16, Svc.Int17,
    Svc.Int18, Svc.Int19, Svc.Int1A]) {
    const at = emit(0xe6, P);
    traps.set(pc, s);
    emit(0xcf, 0xfb, 0xf4, 0xeb, 0xf9);
    entry.set(s, at);
  }

  // IRQ0 (INT 08h): out P,al (tick count in TS); int 1Ch; push ax; mov al,20h; out 20h,al
  // (non-specific EOI to the master 8259); pop ax; iret.
  const irq0 = emit(0xe6, P);
  traps.set(pc, Svc.Irq0);
  emit(0xcd, 0x1c, 0x50, 0xb0, 0x20, 0xe6, 0x20, 0x58, 0xcf);
  entry.set(Svc.Irq0, irq0);

  // IRQ1 (INT 09h): push ax; in al,60h; mov ah,4Fh; stc; int 15h (keyboard intercept: CF=1
  // keeps the scancode); jnc +2; out P,al (TS translates AL into the buffer); mov al,20h;
  // out 20h,al; pop ax; iret.
  const irq1 = emit(0x50, 0xe4, 0x60, 0xb4, 0x4f, 0xf9, 0xcd, 0x15, 0x73, 0x02, 0xe6, P);
  traps.set(pc, Svc.Irq1);
  emit(0xb0, 0x20, 0xe6, 0x20, 0x58, 0xcf);
  entry.set(Svc.Irq1, irq1);

  // IRQ8 (INT 70h): push ax; mov al,0Ch; out 70h,al; in al,71h (read RTC register C to
  // acknowledge); mov al,20h; out A0h,al; out 20h,al; pop ax; iret.
  const int70 = emit(0x50, 0xb0, 0x0c, 0xe6, 0x70, 0xe4, 0x71, 0xb0, 0x20, 0xe6, 0xa0, 0xe6, 0x20, 0x58, 0xcf);
  // Other master IRQs: push ax; mov al,20h; out 20h,al; pop ax; iret.
  const irqMaster = emit(0x50, 0xb0, 0x20, 0xe6, 0x20, 0x58, 0xcf);
  // Other slave IRQs: EOI to both 8259s.
  const irqSlave = emit(0x50, 0xb0, 0x20, 0xe6, 0xa0, 0xe6, 0x20, 0x58, 0xcf);

  img.set(font8x16(), ROM_OFF.FONT16);
  img.set(font8x8(), ROM_OFF.FONT8);
  img.set(DISKETTE_PARAMS, ROM_OFF.DISKETTE_PARAMS);
  img.set(CONFIG_TABLE, ROM_OFF.CONFIG_TABLE);

  // Reset vector F000:FFF0: jmp far F000:post; then the BIOS date and model byte (FCh = AT).
  img.set([0xea, post & 0xff, post >> 8, 0x00, 0xf0], ROM_OFF.RESET);
  img.set(Array.from('06/01/25', (ch) => ch.charCodeAt(0)), 0xfff5);
  img[0xfffe] = 0xfc;

  return { image: img, traps, entry, iret, irqMaster, irqSlave, int70, haltLoop, postBoot };
}
