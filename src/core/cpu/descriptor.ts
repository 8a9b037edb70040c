// Segment and gate descriptors (SDM Vol. 3A §3.4.5 segment descriptors, §3.5 system descriptor
// types, §5.8.3 call gates, §6.11 IDT descriptors, §7.2.2 TSS descriptor). A descriptor is read
// into a reusable `Desc` (two raw dwords plus where it came from), so no transfer allocates.
import type { Cpu } from './cpu';
import { Seg, Vector } from './regs';

/** System descriptor types (S=0), SDM Vol. 3A Table 3-2. */
export const enum SysType {
  Tss16Avail = 1, Ldt = 2, Tss16Busy = 3, CallGate16 = 4, TaskGate = 5, IntGate16 = 6,
  TrapGate16 = 7, Tss32Avail = 9, Tss32Busy = 0xb, CallGate32 = 0xc, IntGate32 = 0xe, TrapGate32 = 0xf,
}

/** A descriptor as read from a table: raw dwords `lo` (bytes 0-3) and `hi` (bytes 4-7). */
export class Desc {
  sel = 0;
  lo = 0;
  hi = 0;
  /** Linear address of the descriptor in its table (to set the accessed / busy bits). */
  addr = 0;

  /** Type field (bits 3:0 of the access byte). */
  get type(): number { return (this.hi >>> 8) & 0xf; }
  /** S bit set: code or data segment; clear: system segment or gate. */
  get s(): boolean { return (this.hi & 0x1000) !== 0; }
  get dpl(): number { return (this.hi >>> 13) & 3; }
  get present(): boolean { return (this.hi & 0x8000) !== 0; }
  /** D/B bit (default size / big). */
  get big(): boolean { return (this.hi & 0x400000) !== 0; }
  get base(): number { return ((this.lo >>> 16) | ((this.hi & 0xff) << 16) | (this.hi & 0xff000000)) | 0; }
  /** Byte-granular limit (G expands to 4 KB units with the low 12 bits set). */
  get limit(): number {
    const l = (this.lo & 0xffff) | (this.hi & 0xf0000);
    return (this.hi & 0x800000) !== 0 ? ((l << 12) | 0xfff) >>> 0 : l;
  }
  /** Access rights in the VMX layout used by `Cpu.segAttr` (type, S, DPL, P, AVL, L, D/B, G). */
  get attr(): number { return (this.hi >>> 8) & 0xf0ff; }

  get isCode(): boolean { return (this.hi & 0x1800) === 0x1800; }
  get isData(): boolean { return (this.hi & 0x1800) === 0x1000; }
  get conforming(): boolean { return (this.hi & 0x1c00) === 0x1c00; }
  get readableCode(): boolean { return (this.hi & 0x1a00) === 0x1a00; }
  get writableData(): boolean { return (this.hi & 0x1a00) === 0x1200; }
  /** System type (0-15) when S=0, else -1. */
  get sysType(): number { return (this.hi & 0x1000) !== 0 ? -1 : (this.hi >>> 8) & 0xf; }

  /** Gates: target selector. */
  get gateSel(): number { return this.lo >>> 16; }
  /** Gates: 32-bit target offset (16-bit gates use only the low word). */
  get gateOffset(): number { return ((this.lo & 0xffff) | (this.hi & 0xffff0000)) >>> 0; }
  /** Call gates: parameter count (bits 4:0 of byte 4). */
  get paramCount(): number { return this.hi & 0x1f; }
}

/**
 * EXT bit for selector error codes (SDM Vol. 3A §6.13): 1 while delivering an event external to
 * the program (hardware interrupt, NMI, exception), including a task switch it causes.
 */
export const EXT = { v: 0 };

/** Error code for a selector: index and TI from the selector, EXT from the event. */
export function selErr(sel: number): number { return (sel & 0xfffc) | EXT.v; }

/**
 * Reads the descriptor for `sel` from the GDT or LDT into `d`. Returns false when the selector
 * is beyond the table limit (or TI=1 with no usable LDT).
 */
export function tryFetchDesc(c: Cpu, sel: number, d: Desc): boolean {
  let base: number, limit: number;
  if ((sel & 4) !== 0) {
    if ((c.segAttr[Seg.LDTR] & 0x10000) !== 0) return false;
    base = c.segBase[Seg.LDTR]; limit = c.segLimit[Seg.LDTR];
  } else {
    base = c.gdtrBase; limit = c.gdtrLimit;
  }
  if (((sel | 7) & 0xffff) > limit) return false;
  const addr = (base + (sel & 0xfff8)) | 0;
  d.sel = sel & 0xffff;
  d.addr = addr;
  d.lo = c.readSys32(addr);
  d.hi = c.readSys32(addr + 4);
  return true;
}

/** As tryFetchDesc, raising `vector`(selector error code) when the selector is out of range. */
export function fetchDesc(c: Cpu, sel: number, d: Desc, vector: number): void {
  if (!tryFetchDesc(c, sel, d)) c.raiseErr(vector, selErr(sel));
}

/** Reads a GDT descriptor (TSS, LDT lookups): TI=1 or out of range raises `vector`(sel). */
export function fetchGdtDesc(c: Cpu, sel: number, d: Desc, vector: number): void {
  if ((sel & 4) !== 0) c.raiseErr(vector, selErr(sel));
  fetchDesc(c, sel, d, vector);
}

/** Sets the accessed bit of a code/data descriptor in memory (SDM Vol. 3A §3.4.5.1). */
export function setAccessed(c: Cpu, d: Desc): void {
  if ((d.hi & 0x100) !== 0) return;
  d.hi |= 0x100;
  c.writeSys8(d.addr + 5, (d.hi >>> 8) & 0xff);
}

/** Sets or clears the busy bit (type bit 1) of a TSS descriptor in the GDT (SDM §7.2.2). */
export function setBusy(c: Cpu, d: Desc, busy: boolean): void {
  d.hi = busy ? d.hi | 0x200 : d.hi & ~0x200;
  c.writeSys8(d.addr + 5, (d.hi >>> 8) & 0xff);
}

/** Loads a segment-register descriptor cache from `d` with selector `sel`. */
export function loadCache(c: Cpu, seg: number, sel: number, d: Desc): void {
  c.segSel[seg] = sel;
  c.segBase[seg] = d.base;
  c.segBaseHi[seg] = 0;
  c.segLimit[seg] = d.limit;
  c.segAttr[seg] = d.attr;
  c.updateSegLimits(seg);
}

/** Loads a null selector: the register becomes unusable (SDM Vol. 3A §3.4.2; VMX "unusable"). */
export function loadNull(c: Cpu, seg: number, sel: number): void {
  c.segSel[seg] = sel;
  c.segBase[seg] = 0;
  c.segBaseHi[seg] = 0;
  c.segLimit[seg] = 0;
  c.segAttr[seg] = 0x10000;
  c.updateSegLimits(seg);
}

/** Real mode: only selector and base change; limit and attributes stay ("unreal" mode works). */
export function loadReal(c: Cpu, seg: number, sel: number): void {
  c.segSel[seg] = sel;
  c.segBase[seg] = sel << 4;
  // Usable, present, read/write data (CS: execute/read code); DPL, G, D/B kept.
  c.segAttr[seg] = (c.segAttr[seg] & 0xf060) | 0x90 | (seg === Seg.CS ? 0xb : 0x3);
  c.updateSegLimits(seg);
}

/** Virtual-8086 mode: base = sel << 4, 64 KB limit, DPL 3 read/write data (SDM Vol. 3A §20.1.1). */
export function loadV86(c: Cpu, seg: number, sel: number): void {
  c.segSel[seg] = sel;
  c.segBase[seg] = sel << 4;
  c.segLimit[seg] = 0xffff;
  c.segAttr[seg] = 0xf3;
  c.updateSegLimits(seg);
}

/** Raises #NP (or #SS for a stack segment) for a not-present segment. */
export function notPresent(c: Cpu, sel: number, stack: boolean): never {
  return c.raiseErr(stack ? Vector.SS : Vector.NP, selErr(sel));
}
