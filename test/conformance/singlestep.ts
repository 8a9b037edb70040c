// Runs SingleStepTests-format files (hardware-recorded single-instruction tests; schema in
// ../shared/testdata/singlestep-80286/README.md) against the vmxlab CPU core.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join, dirname } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createCpu, Cpu, StopReason } from '../../src/core/cpu/index';
import { PhysicalMemory } from '../../src/core/platform/memory';
import { IoBus } from '../../src/core/platform/io-bus';
import { Seg } from '../../src/core/cpu/regs';
import { EXCLUSIONS, FLAGS_ALWAYS_MASKED, excludedByRule } from './exclusions';

export interface SsRegs { [name: string]: number }
export interface SsState { regs: SsRegs; ram: [number, number][] }
export interface SsTest {
  idx: number; name: string; bytes: number[]; initial: SsState; final: SsState;
  exception?: { number: number; flag_address: number }; hash: string;
}
interface MetaEntry { status: string; 'flags-mask'?: number; reg?: Record<string, MetaEntry> }
export interface Metadata { opcodes: Record<string, MetaEntry> }

export interface Failure { idx: number; name: string; hash: string; diffs: string[] }
export interface FileResult {
  file: string; stem: string; passed: number; failed: number; excluded: number;
  skippedReason?: string; failures: Failure[];
}

const REG16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'];
const SEGS: [string, number][] = [['es', Seg.ES], ['cs', Seg.CS], ['ss', Seg.SS], ['ds', Seg.DS]];

/** One machine reused across tests: 16 MB like the recording rig, I/O reads all ones. */
export class SingleStepMachine {
  readonly mem = new PhysicalMemory(1 << 24);
  readonly io = new IoBus();
  readonly cpu: Cpu = createCpu(this.mem, this.io);

  run(t: SsTest, flagsMask: number): string[] {
    const c = this.cpu, m = this.mem;
    c.reset();
    const ir = t.initial.regs;
    for (let i = 0; i < 8; i++) c.r16[i << 1] = ir[REG16[i]];
    for (const [n, s] of SEGS) c.setSegReal(s, ir[n], 0xffff, s === Seg.CS ? 0x9b : 0x93);
    c.eip = ir.ip;
    // The 286 cannot hold IOPL/NT in real mode: start from the value it actually had.
    c.setFlags(ir.flags & ~FLAGS_ALWAYS_MASKED, 0xffffffff);
    c.invalidateFetch();
    for (const [a, v] of t.initial.ram) m.u8[a] = v;
    let stop: StopReason = StopReason.Budget;
    let error = '';
    try {
      for (let i = 0; i < 64 && !c.halted && !c.shutdown; i++) stop = c.run(1);
    } catch (e) {
      error = `host exception: ${(e as Error).stack ?? e}`;
    }
    const diffs: string[] = [];
    if (error) diffs.push(error);
    if (!c.halted) diffs.push(`did not reach HLT (stop ${StopReason[stop]}${c.shutdown ? ', shutdown: ' + c.shutdownReason : ''})`);
    const fr = t.final.regs;
    const want = (n: string): number => (fr[n] !== undefined ? fr[n] : ir[n]);
    for (let i = 0; i < 8; i++) {
      const got = c.r16[i << 1];
      if (got !== want(REG16[i])) diffs.push(`${REG16[i]}: got ${hex(got)} want ${hex(want(REG16[i]))}`);
    }
    for (const [n, s] of SEGS) if (c.segSel[s] !== want(n)) diffs.push(`${n}: got ${hex(c.segSel[s])} want ${hex(want(n))}`);
    if ((c.eip & 0xffff) !== want('ip')) diffs.push(`ip: got ${hex(c.eip)} want ${hex(want('ip'))}`);
    const gf = c.getFlags() & flagsMask & 0xffff, wf = want('flags') & flagsMask;
    if (gf !== wf) diffs.push(`flags: got ${hex(gf)} want ${hex(wf)} (mask ${hex(flagsMask)})`);
    // The FLAGS image an exception pushed sits at SS:SP+4 after the 3-word frame. (The
    // recorded flag_address is off by one when SP is odd, so it is derived here instead.)
    let fa = -1;
    if (t.exception) fa = ((want('ss') << 4) + ((want('sp') + 4) & 0xffff));
    for (const [a, v] of t.final.ram) {
      let got = m.u8[a], exp = v;
      if (fa >= 0 && (a === fa || a === ((want('ss') << 4) + ((want('sp') + 5) & 0xffff)))) {
        const sh = a === fa ? 0 : 8;
        got &= (flagsMask >> sh) & 0xff; exp &= (flagsMask >> sh) & 0xff;
      }
      if (got !== exp) diffs.push(`ram[${hex(a)}]: got ${hex(got)} want ${hex(exp)}`);
    }
    // Restore memory for the next test.
    for (const [a] of t.initial.ram) m.u8[a] = 0;
    for (const [a] of t.final.ram) m.u8[a] = 0;
    return diffs;
  }
}

function hex(v: number): string { return '0x' + (v >>> 0).toString(16); }

export function loadMetadata(dir: string): Metadata {
  return JSON.parse(readFileSync(join(dir, 'metadata.json'), 'utf8')) as Metadata;
}

/** File stem ('80.1', 'F6.6', '00') -> metadata entry for that opcode (and ModRM reg). */
export function metaFor(meta: Metadata, stem: string): MetaEntry | undefined {
  const [op, reg] = stem.split('.');
  const e = meta.opcodes[op.toUpperCase()];
  if (!e) return undefined;
  if (reg !== undefined) return e.reg?.[reg];
  return e;
}

export function runFile(path: string, meta: Metadata, machine: SingleStepMachine): FileResult {
  const stem = basename(path).replace(/\.json(\.gz)?$/, '').replace(/\.MOO(\.gz)?$/, '').toUpperCase();
  const res: FileResult = { file: path, stem, passed: 0, failed: 0, excluded: 0, failures: [] };
  const me = metaFor(meta, stem);
  if (!me) { res.skippedReason = 'no metadata entry'; return res; }
  if (me.status !== 'normal') { res.skippedReason = `metadata status '${me.status}'`; return res; }
  const excl = EXCLUSIONS.filter((x) => x.stem === stem);
  if (excl.some((x) => x.tests === undefined)) { res.skippedReason = `excluded: ${excl.map((x) => x.reason).join('; ')}`; return res; }
  const excludedIdx = new Set<number>(excl.flatMap((x) => x.tests ?? []));
  const raw = readFileSync(path);
  const tests = JSON.parse((path.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8')) as SsTest[];
  const mask = (me['flags-mask'] ?? 0xffff) & ~FLAGS_ALWAYS_MASKED;
  for (const t of tests) {
    if (excludedIdx.has(t.idx) || excludedByRule(t.name) !== undefined) { res.excluded++; continue; }
    const diffs = machine.run(t, mask);
    if (diffs.length === 0) res.passed++;
    else { res.failed++; res.failures.push({ idx: t.idx, name: t.name, hash: t.hash, diffs }); }
  }
  return res;
}

/** Lists test files under a directory (or the file itself), sorted by opcode. */
export function listTestFiles(target: string): string[] {
  if (statSync(target).isFile()) return [target];
  return readdirSync(target).filter((f) => /\.json(\.gz)?$/.test(f) && f !== 'metadata.json').sort().map((f) => join(target, f));
}

/** The metadata directory for a target (the directory itself, or a file's directory). */
export function metadataDirFor(target: string): string {
  return statSync(target).isFile() ? dirname(target) : target;
}
