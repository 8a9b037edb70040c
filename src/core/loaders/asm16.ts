// A tiny label assembler for 16-bit x86 stubs the loaders install in guest memory: callers emit
// instruction bytes (with the mnemonic in a comment), this resolves jumps and absolute offsets.
// Encodings: SDM Vol. 2 (Jcc rel8 = 70+cc, JMP rel8 = EB, JMP rel16 = E9, CALL rel16 = E8).

type Fixup = { at: number; label: string; kind: 'rel8' | 'rel16' | 'abs16' };

export class Asm16 {
  private readonly out: number[] = [];
  private readonly labels = new Map<string, number>();
  private readonly fixups: Fixup[] = [];
  /** Offset of the first byte within its segment. */
  constructor(readonly origin = 0) {}

  get here(): number { return this.origin + this.out.length; }

  /** Raw bytes. */
  b(...bytes: number[]): this { for (const x of bytes) this.out.push(x & 0xff); return this; }
  w(v: number): this { return this.b(v & 0xff, (v >>> 8) & 0xff); }

  label(name: string): this {
    if (this.labels.has(name)) throw new Error(`asm16: label ${name} defined twice`);
    this.labels.set(name, this.here);
    return this;
  }

  /** Short conditional or unconditional jump: `op` is 0x70+cc or 0xEB. */
  j8(op: number, label: string): this {
    this.b(op);
    this.fixups.push({ at: this.out.length, label, kind: 'rel8' });
    return this.b(0);
  }
  /** Near JMP (E9) or CALL (E8) with a 16-bit displacement. */
  near(op: 0xe8 | 0xe9, label: string): this {
    this.b(op);
    this.fixups.push({ at: this.out.length, label, kind: 'rel16' });
    return this.w(0);
  }
  /** A 16-bit absolute offset of `label` (e.g. a table's address in a memory operand). */
  abs16(label: string): this {
    this.fixups.push({ at: this.out.length, label, kind: 'abs16' });
    return this.w(0);
  }

  /** Pads with `fill` up to offset `off` (relative to the origin). */
  padTo(off: number, fill = 0): this {
    while (this.here < off) this.b(fill);
    return this;
  }

  offsetOf(label: string): number {
    const v = this.labels.get(label);
    if (v === undefined) throw new Error(`asm16: undefined label ${label}`);
    return v;
  }

  build(): Uint8Array {
    const bytes = Uint8Array.from(this.out);
    for (const f of this.fixups) {
      const target = this.offsetOf(f.label);
      if (f.kind === 'abs16') { bytes[f.at] = target & 0xff; bytes[f.at + 1] = target >>> 8; continue; }
      const next = this.origin + f.at + (f.kind === 'rel8' ? 1 : 2);
      const d = target - next;
      if (f.kind === 'rel8') {
        if (d < -128 || d > 127) throw new Error(`asm16: short jump to ${f.label} out of range (${d})`);
        bytes[f.at] = d & 0xff;
      } else {
        bytes[f.at] = d & 0xff; bytes[f.at + 1] = (d >>> 8) & 0xff;
      }
    }
    return bytes;
  }
}
