// A hash table from a key (a small integer `a`, an integer `b` below 2^53) to a dense slot
// number, kept in typed arrays: looking up or inserting allocates nothing. A JS Map keyed by
// numbers above the small-integer range (32-bit guest RIPs, MSR numbers) boxes each key, and so
// does passing such a number to a function V8 does not inline: callers therefore pass `b` split
// into two parts below 2^27 (splitKey), which stay small integers on every engine. Slots are
// handed out in insertion order, so reports list keys deterministically. The table grows
// (doubling) only when a new key arrives: its size follows the number of distinct keys.

/** `b` = hi x KEY_SPLIT + lo, both parts below 2^27 for b below 2^53. */
export const KEY_SPLIT = 0x4000000; // 2^26

const EMPTY = -1;

export class KeyTable {
  /** Slot -> first key part. */
  private a: Int32Array;
  /** Slot -> second key, high and low parts. */
  private hi: Int32Array;
  private lo: Int32Array;
  /** Open-addressing index: bucket -> slot, or EMPTY. */
  private buckets: Int32Array;
  private mask: number;
  /** Keys held. */
  size = 0;

  constructor(initialCapacity = 64, readonly maxKeys = Infinity) {
    let cap = 16;
    while (cap < initialCapacity) cap *= 2;
    this.a = new Int32Array(cap);
    this.hi = new Int32Array(cap);
    this.lo = new Int32Array(cap);
    this.buckets = new Int32Array(cap * 2).fill(EMPTY);
    this.mask = cap * 2 - 1;
  }

  /** Slots the table can hold before it grows. */
  get capacity(): number { return this.a.length; }

  private static hash(a: number, hi: number, lo: number): number {
    let h = Math.imul(a, 0x9e3779b1) ^ Math.imul(lo, 0x85ebca77) ^ Math.imul(hi, 0xc2b2ae3d);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    return h ^ (h >>> 12);
  }

  /** The slot of (a, hi x KEY_SPLIT + lo), or -1. */
  find(a: number, hi: number, lo: number): number {
    let i = KeyTable.hash(a, hi, lo) & this.mask;
    for (;;) {
      const s = this.buckets[i]!;
      if (s === EMPTY) return -1;
      if (this.lo[s] === lo && this.a[s] === a && this.hi[s] === hi) return s;
      i = (i + 1) & this.mask;
    }
  }

  /** The slot of (a, hi x KEY_SPLIT + lo), inserted if new; -1 when the table is full
   *  (maxKeys). `a` must fit an int32; hi and lo come from splitKey. */
  slot(a: number, hi: number, lo: number): number {
    let i = KeyTable.hash(a, hi, lo) & this.mask;
    for (;;) {
      const s = this.buckets[i]!;
      if (s === EMPTY) break;
      if (this.lo[s] === lo && this.a[s] === a && this.hi[s] === hi) return s;
      i = (i + 1) & this.mask;
    }
    if (this.size >= this.maxKeys) return -1;
    const s = this.size++;
    if (s >= this.a.length) this.grow();
    this.a[s] = a;
    this.hi[s] = hi;
    this.lo[s] = lo;
    i = KeyTable.hash(a, hi, lo) & this.mask;
    while (this.buckets[i] !== EMPTY) i = (i + 1) & this.mask;
    this.buckets[i] = s;
    return s;
  }

  /** First key part of a slot. */
  keyA(slot: number): number { return this.a[slot]!; }
  /** Second key of a slot (hi x KEY_SPLIT + lo). */
  keyB(slot: number): number { return this.hi[slot]! * KEY_SPLIT + this.lo[slot]!; }

  private grow(): void {
    const cap = this.a.length * 2;
    const a = new Int32Array(cap); a.set(this.a);
    const hi = new Int32Array(cap); hi.set(this.hi);
    const lo = new Int32Array(cap); lo.set(this.lo);
    this.a = a;
    this.hi = hi;
    this.lo = lo;
    this.buckets = new Int32Array(cap * 2).fill(EMPTY);
    this.mask = cap * 2 - 1;
    // Rehash the slots already held (the new one is inserted by the caller).
    for (let s = 0; s < this.size - 1; s++) {
      let i = KeyTable.hash(a[s]!, hi[s]!, lo[s]!) & this.mask;
      while (this.buckets[i] !== EMPTY) i = (i + 1) & this.mask;
      this.buckets[i] = s;
    }
  }
}
