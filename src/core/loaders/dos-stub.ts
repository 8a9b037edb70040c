// A minimal DOS API for .COM programs, assembled here as 16-bit x86 code and installed in guest
// memory. THIS IS NOT DOS: no file system, no memory manager, no processes; just enough of the
// INT 20h/21h interface (function numbers and register conventions from the IBM/Microsoft
// "MS-DOS Programmer's Reference", as on OSDev/Ralf Brown's interrupt list) for small test
// programs that print, read keys, ask the time and exit. Console I/O goes through the BIOS the
// firmware installed: INT 10h AH=0Eh (teletype), INT 16h AH=00h/01h (keyboard), INT 1Ah
// AH=02h/04h (RTC time/date, BCD).
//
// INT 21h functions (AH):
//   00h        terminate (exit code 0)             4Ch  terminate with exit code AL
//   01h        read key with echo -> AL            02h  write DL; AL = DL
//   06h        DL=FFh: key if any -> AL, ZF=0; else ZF=1, AL=0 | other DL: write DL
//   07h, 08h   read key without echo -> AL         09h  write the '$'-terminated string DS:DX
//   25h        set vector AL to DS:DX              35h  get vector AL -> ES:BX
//   2Ah        date -> CX year, DH month, DL day, AL weekday (0 = Sunday)
//   2Ch        time -> CH hour, CL minute, DH second, DL 1/100 s (0)
//   30h        version -> AL 5, AH 0 (DOS 5.0), BX = CX = 0
//   40h        write CX bytes DS:DX to handle BX = 1 or 2 (stdout/stderr) -> AX = CX, CF = 0
//   others     CF = 1, AX = 1 (invalid function)
// INT 20h terminates with code 0; INT 29h writes AL (fast console output); INT 22h/23h
// (terminate address, Ctrl-C) point at the exit code; INT 24h (critical error) returns AL = 3.
// Terminating writes the exit code to the vmxlab exit port 0xF4 (QEMU's isa-debug-exit
// convention) and then halts with interrupts disabled, so the run stops on a machine that has no
// exit port as well. Extended keys (AL = 0 from INT 16h) are returned as 0; the scan code that
// DOS would return on the next call is dropped.
import { Asm16 } from './asm16';

import { EXIT_PORT_BASE as EXIT_PORT } from '../platform/devices/exit-port';

export interface DosStub {
  code: Uint8Array;
  /** Offsets of the handlers within the stub segment. */
  int20: number; int21: number; int22: number; int23: number; int24: number; int29: number;
  /** Paragraph offset (from the stub segment) of the environment block. */
  envParagraph: number;
}

/** Sets (or clears) `mask` in the caller's FLAGS image at [BP+6] after PUSH BP; then IRET. */
function iretWithFlag(a: Asm16, set: boolean, mask: number): void {
  a.b(0x55); //                 push bp
  a.b(0x89, 0xe5); //           mov bp, sp
  if (set) a.b(0x80, 0x4e, 0x06, mask); // or byte [bp+6], mask
  else a.b(0x80, 0x66, 0x06, ~mask & 0xff); // and byte [bp+6], ~mask
  a.b(0x5d); //                 pop bp
  a.b(0xcf); //                 iret
}

/** cmp ah, fn / jne +3 / jmp near label */
function dispatch(a: Asm16, fn: number, label: string): void {
  a.b(0x80, 0xfc, fn).b(0x75, 0x03).near(0xe9, label);
}

/** Assembles the stub for segment offset 0; `programPath` goes into the environment block. */
export function assembleDosStub(programPath = 'C:\\PROGRAM.COM'): DosStub {
  const a = new Asm16(0);

  // ---- INT 20h, INT 21h AH=00h, INT 22h/23h: exit with code 0; AH=4Ch: exit with AL.
  a.label('int20');
  a.label('exit0').b(0x30, 0xc0); //                 xor al, al
  a.label('exit_al').b(0xe6, EXIT_PORT); //          out 0F4h, al
  a.label('hang').b(0xfa, 0xf4).j8(0xeb, 'hang'); // cli / hlt / jmp hang

  a.label('int24').b(0xb0, 0x03, 0xcf); //           mov al, 3 (fail) / iret
  a.label('int29').near(0xe8, 'tty').b(0xcf); //     call tty / iret

  // ---- tty: write AL through INT 10h AH=0Eh (page 0), all registers preserved.
  a.label('tty');
  a.b(0x50, 0x53); //                                push ax / push bx
  a.b(0xb4, 0x0e); //                                mov ah, 0Eh
  a.b(0xbb, 0x07, 0x00); //                          mov bx, 0007h
  a.b(0xcd, 0x10); //                                int 10h
  a.b(0x5b, 0x58, 0xc3); //                          pop bx / pop ax / ret

  // ---- bcd: AL (packed BCD) -> AL (binary); AH clobbered.
  a.label('bcd');
  a.b(0x51); //                                      push cx
  a.b(0x88, 0xc1); //                                mov cl, al
  a.b(0x80, 0xe1, 0x0f); //                          and cl, 0Fh
  a.b(0xd0, 0xe8, 0xd0, 0xe8, 0xd0, 0xe8, 0xd0, 0xe8); // shr al, 1 (x4)
  a.b(0xb5, 0x0a); //                                mov ch, 10
  a.b(0xf6, 0xe5); //                                mul ch
  a.b(0x00, 0xc8); //                                add al, cl
  a.b(0x59, 0xc3); //                                pop cx / ret

  // ---- INT 21h dispatcher.
  a.label('int21');
  a.b(0xfb); //                                      sti
  dispatch(a, 0x00, 'exit0');
  dispatch(a, 0x4c, 'exit_al');
  dispatch(a, 0x01, 'f01');
  dispatch(a, 0x02, 'f02');
  dispatch(a, 0x06, 'f06');
  dispatch(a, 0x07, 'f07');
  dispatch(a, 0x08, 'f08');
  dispatch(a, 0x09, 'f09');
  dispatch(a, 0x25, 'f25');
  dispatch(a, 0x35, 'f35');
  dispatch(a, 0x2a, 'f2a');
  dispatch(a, 0x2c, 'f2c');
  dispatch(a, 0x30, 'f30');
  dispatch(a, 0x40, 'f40');
  a.label('fail').b(0xb8, 0x01, 0x00); //            mov ax, 1 (invalid function)
  a.label('fail_cf');
  iretWithFlag(a, true, 0x01); //                    CF = 1

  a.label('f01').b(0xb4, 0x00, 0xcd, 0x16); //       mov ah, 0 / int 16h
  a.near(0xe8, 'tty').b(0xb4, 0x01, 0xcf); //        call tty / mov ah, 1 / iret

  a.label('f02').b(0x88, 0xd0); //                   mov al, dl
  a.near(0xe8, 'tty').b(0xcf); //                    call tty / iret

  a.label('f06').b(0x80, 0xfa, 0xff); //             cmp dl, 0FFh
  a.j8(0x74, 'f06_in'); //                           je f06_in
  a.b(0x88, 0xd0).near(0xe8, 'tty').b(0xcf); //      mov al, dl / call tty / iret
  a.label('f06_in').b(0xb4, 0x01, 0xcd, 0x16); //    mov ah, 1 / int 16h (ZF = 1: no key)
  a.j8(0x74, 'f06_none'); //                         jz f06_none
  a.b(0xb4, 0x00, 0xcd, 0x16, 0xb4, 0x06); //        mov ah, 0 / int 16h / mov ah, 6
  iretWithFlag(a, false, 0x40); //                   ZF = 0
  a.label('f06_none').b(0xb8, 0x00, 0x06); //        mov ax, 0600h
  iretWithFlag(a, true, 0x40); //                    ZF = 1

  a.label('f07').b(0xb4, 0x00, 0xcd, 0x16, 0xb4, 0x07, 0xcf); // mov ah,0 / int 16h / mov ah,7 / iret
  a.label('f08').b(0xb4, 0x00, 0xcd, 0x16, 0xb4, 0x08, 0xcf); // mov ah,0 / int 16h / mov ah,8 / iret

  a.label('f09').b(0xfc, 0x56, 0x89, 0xd6); //       cld / push si / mov si, dx
  a.label('f09_l').b(0xac, 0x3c, 0x24); //           lodsb / cmp al, '$'
  a.j8(0x74, 'f09_d'); //                            je f09_d
  a.near(0xe8, 'tty').j8(0xeb, 'f09_l'); //          call tty / jmp f09_l
  a.label('f09_d').b(0x5e, 0xcf); //                 pop si / iret

  a.label('f25').b(0x06, 0x53); //                   push es / push bx
  a.b(0x31, 0xdb, 0x8e, 0xc3); //                    xor bx, bx / mov es, bx
  a.b(0x88, 0xc3, 0xd1, 0xe3, 0xd1, 0xe3); //        mov bl, al / shl bx, 1 / shl bx, 1
  a.b(0xfa); //                                      cli
  a.b(0x26, 0x89, 0x17); //                          mov [es:bx], dx
  a.b(0x26, 0x8c, 0x5f, 0x02); //                    mov [es:bx+2], ds
  a.b(0x5b, 0x07, 0xcf); //                          pop bx / pop es / iret

  a.label('f35').b(0x31, 0xdb, 0x8e, 0xc3); //       xor bx, bx / mov es, bx
  a.b(0x88, 0xc3, 0xd1, 0xe3, 0xd1, 0xe3); //        mov bl, al / shl bx, 1 / shl bx, 1
  a.b(0x26, 0xc4, 0x1f, 0xcf); //                    les bx, [es:bx] / iret

  a.label('f2c').b(0xb4, 0x02, 0xcd, 0x1a); //       mov ah, 2 / int 1Ah (RTC time, BCD)
  a.j8(0x72, 'f2c_z'); //                            jc f2c_z
  a.b(0x88, 0xe8).near(0xe8, 'bcd').b(0x88, 0xc5); // mov al, ch / call bcd / mov ch, al
  a.b(0x88, 0xc8).near(0xe8, 'bcd').b(0x88, 0xc1); // mov al, cl / call bcd / mov cl, al
  a.b(0x88, 0xf0).near(0xe8, 'bcd').b(0x88, 0xc6); // mov al, dh / call bcd / mov dh, al
  a.b(0x30, 0xd2, 0xb4, 0x2c, 0xcf); //              xor dl, dl / mov ah, 2Ch / iret
  a.label('f2c_z').b(0x31, 0xc9, 0x31, 0xd2, 0xcf); // xor cx, cx / xor dx, dx / iret

  // Date: year from century and year, weekday by Sakamoto's method:
  //   y = year - (month < 3); (y + y/4 - y/100 + y/400 + t[month-1] + day) mod 7
  a.label('f2a').b(0x53, 0x56, 0x57); //             push bx / push si / push di
  a.b(0xb4, 0x04, 0xcd, 0x1a); //                    mov ah, 4 / int 1Ah (RTC date, BCD)
  a.j8(0x72, 'f2a_z'); //                            jc f2a_z
  a.b(0x88, 0xf0).near(0xe8, 'bcd').b(0x88, 0xc6); // mov al, dh / call bcd / mov dh, al (month)
  a.b(0x88, 0xd0).near(0xe8, 'bcd').b(0x88, 0xc2); // mov al, dl / call bcd / mov dl, al (day)
  a.b(0x88, 0xe8).near(0xe8, 'bcd'); //              mov al, ch / call bcd (century)
  a.b(0xb3, 0x64, 0xf6, 0xe3, 0x89, 0xc3); //        mov bl, 100 / mul bl / mov bx, ax
  a.b(0x88, 0xc8).near(0xe8, 'bcd'); //              mov al, cl / call bcd (year in century)
  a.b(0x30, 0xe4, 0x01, 0xd8, 0x89, 0xc1); //        xor ah, ah / add ax, bx / mov cx, ax
  a.b(0x80, 0xfe, 0x03); //                          cmp dh, 3
  a.j8(0x73, 'f2a_y'); //                            jae f2a_y
  a.b(0x48); //                                      dec ax
  a.label('f2a_y').b(0x89, 0xc6, 0x89, 0xc3); //     mov si, ax / mov bx, ax
  a.b(0xd1, 0xe8, 0xd1, 0xe8, 0x01, 0xc6); //        shr ax, 1 / shr ax, 1 / add si, ax
  a.b(0x52); //                                      push dx
  a.b(0x89, 0xd8, 0x31, 0xd2, 0xbf, 0x64, 0x00); //  mov ax, bx / xor dx, dx / mov di, 100
  a.b(0xf7, 0xf7, 0x29, 0xc6); //                    div di / sub si, ax
  a.b(0x89, 0xd8, 0x31, 0xd2, 0xbf, 0x90, 0x01); //  mov ax, bx / xor dx, dx / mov di, 400
  a.b(0xf7, 0xf7, 0x01, 0xc6); //                    div di / add si, ax
  a.b(0x5a); //                                      pop dx
  a.b(0x88, 0xf3, 0x30, 0xff, 0x4b); //              mov bl, dh / xor bh, bh / dec bx
  a.b(0x2e, 0x8a, 0x87).abs16('dow_table'); //       mov al, [cs:bx + dow_table]
  a.b(0x30, 0xe4, 0x01, 0xc6); //                    xor ah, ah / add si, ax
  a.b(0x88, 0xd0, 0x30, 0xe4, 0x01, 0xf0); //        mov al, dl / xor ah, ah / add ax, si
  a.b(0x52, 0x31, 0xd2, 0xbf, 0x07, 0x00); //        push dx / xor dx, dx / mov di, 7
  a.b(0xf7, 0xf7, 0x88, 0xd0, 0x5a); //              div di / mov al, dl / pop dx
  a.b(0x5f, 0x5e, 0x5b, 0xcf); //                    pop di / pop si / pop bx / iret
  a.label('f2a_z').b(0x31, 0xc9, 0x31, 0xd2, 0x30, 0xc0); // xor cx, cx / xor dx, dx / xor al, al
  a.b(0x5f, 0x5e, 0x5b, 0xcf); //                    pop di / pop si / pop bx / iret

  a.label('f30').b(0xb8, 0x05, 0x00); //             mov ax, 0005h (DOS 5.0)
  a.b(0x31, 0xdb, 0x31, 0xc9, 0xcf); //              xor bx, bx / xor cx, cx / iret

  a.label('f40').b(0x83, 0xfb, 0x01); //             cmp bx, 1
  a.j8(0x74, 'f40_ok'); //                           je f40_ok
  a.b(0x83, 0xfb, 0x02); //                          cmp bx, 2
  a.j8(0x74, 'f40_ok'); //                           je f40_ok
  a.b(0xb8, 0x06, 0x00).near(0xe9, 'fail_cf'); //    mov ax, 6 (invalid handle) / jmp fail_cf
  a.label('f40_ok').b(0x51, 0x56, 0x89, 0xd6, 0xfc); // push cx / push si / mov si, dx / cld
  a.j8(0xe3, 'f40_d'); //                            jcxz f40_d
  a.label('f40_l').b(0xac).near(0xe8, 'tty'); //     lodsb / call tty
  a.j8(0xe2, 'f40_l'); //                            loop f40_l
  a.label('f40_d').b(0x5e, 0x58); //                 pop si / pop ax (bytes written)
  iretWithFlag(a, false, 0x01); //                   CF = 0

  a.label('dow_table').b(0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4);

  // Environment block (empty environment, then the DOS 3+ program path after a count word).
  a.padTo((a.here + 15) & ~15);
  const envParagraph = a.here >> 4;
  a.b(0, 0).w(1);
  for (const ch of programPath.slice(0, 64)) a.b(ch.charCodeAt(0));
  a.b(0);
  const code = a.build();
  return {
    code,
    int20: a.offsetOf('int20'), int21: a.offsetOf('int21'), int22: a.offsetOf('exit0'),
    int23: a.offsetOf('exit0'), int24: a.offsetOf('int24'), int29: a.offsetOf('int29'),
    envParagraph,
  };
}
