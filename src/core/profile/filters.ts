// What the recorder counts: `--vcpu N` keeps one virtual CPU's exits, `--rip-range A-B` keeps
// exits whose guest RIP (linear) lies in [A, B). Filtered exits reach no aggregate, no time
// series bin and not the ring of recent exits; the recorder only counts how many it skipped.

export interface RipRange {
  /** First linear address inside the range. */
  readonly start: number;
  /** First linear address past the range (exclusive). */
  readonly end: number;
}

export interface ExitFilter {
  /** Only this vCPU's exits, or null for all. */
  readonly vcpu: number | null;
  /** Only exits at a guest RIP in this range, or null for all. */
  readonly ripRange: RipRange | null;
}

export const NO_FILTER: ExitFilter = { vcpu: null, ripRange: null };

const ADDRESS = /^(?:0x[0-9a-f]+|[0-9]+)$/i;

function parseAddress(s: string, what: string): number {
  const t = s.trim().replace(/_/g, '');
  if (!ADDRESS.test(t)) throw new Error(`${what}: '${s}' is not an address (decimal or 0x hex)`);
  const v = Number(t);
  if (!Number.isSafeInteger(v)) throw new Error(`${what}: '${s}' is too large`);
  return v;
}

/** Parses `A-B` (decimal or 0x hex, B exclusive) as given to `--rip-range`; throws an Error
 *  that says what is wrong. */
export function parseRipRange(text: string): RipRange {
  const parts = text.split('-');
  if (parts.length !== 2 || parts[0]!.trim() === '' || parts[1]!.trim() === '') {
    throw new Error(`--rip-range: expected START-END such as 0xc1000000-0xc1800000, got '${text}'`);
  }
  const start = parseAddress(parts[0]!, '--rip-range start');
  const end = parseAddress(parts[1]!, '--rip-range end');
  if (end <= start) throw new Error(`--rip-range: the end (${parts[1]!.trim()}) must be above the start (${parts[0]!.trim()}); the end is exclusive`);
  return { start, end };
}

/** Parses the argument of `--vcpu` (a whole number from 0). */
export function parseVcpu(text: string): number {
  const t = text.trim();
  if (!/^[0-9]+$/.test(t) || !Number.isSafeInteger(Number(t))) throw new Error(`--vcpu: expected a vCPU index (0, 1, ...), got '${text}'`);
  return Number(t);
}

/** `0xc1000000-0xc1800000`, as parseRipRange accepts it. */
export function formatRipRange(r: RipRange): string {
  return `0x${r.start.toString(16)}-0x${r.end.toString(16)}`;
}
