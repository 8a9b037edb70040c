// Issue 7's proof on real exits: a guest with one loop per exit kind (test/profile/guests/
// exit-loops.asm: N CPUID, N OUT + N IN to port 3FFh, N RDMSR + N WRMSR of MSR 200h, N writes
// to the VGA text buffer (MMIO: EPT violation + monitor trap flag), NH HLT)
// runs in hosted mode through the CLI bundle; each loop's exits are counted exactly, unfiltered
// (per guest RIP, in the profile JSON) and with `--rip-range` set to the loop's labels (from the
// nasm symbol map) and `--vcpu 0`, in every report format: the perf table, the CSV, the profile
// JSON (validated against its schema) and the Chrome trace. `--vcpu 1` counts nothing.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { Profile } from '../../src/core/profile/profile-json';
import { TRANSITION_COSTS } from '../../src/core/profile/transition-costs';
import { DEFAULT_HANDLER_COSTS } from '../../src/core/profile/handler-costs';
import { ExitReason } from '../../src/core/vmx/exit-reasons';
import {
  assembleWithMap, lazy, scratch, parseCsv, parsePerfTable, range, readProfile, readTrace, reasonCounts, ROOT, scratchFile, sym, transcript, vmxlab,
  type SymbolMap,
} from './cli-child';

// Each test runs the guest in a child process or two (0.3-1 s each, several on a loaded machine).
vi.setConfig({ testTimeout: 120_000 });

const N = 700, NH = 40;
const guest = assembleWithMap(join(ROOT, 'test/profile/guests'), 'exit-loops.asm', 'loops', [`-DN=${N}`, `-DNH=${NH}`]);
const HOSTED = ['--mode', 'hosted', '--gen', 'haswell', '--no-bios-serial', '--max-seconds', '5', '--quiet'];

/** Exits per reason name at RIPs in [from, to) of a profile's per-RIP breakdown. */
function ripCounts(p: Profile, syms: SymbolMap, from: string, to: string): Record<string, number> {
  const a = sym(syms, from), b = sym(syms, to), out: Record<string, number> = {};
  for (const r of p.rips) {
    if (r.rip < a || r.rip >= b) continue;
    for (const x of r.reasons) out[x.name] = (out[x.name] ?? 0) + x.count;
  }
  return out;
}

interface Loop { name: string; from: string; to: string; reasons: Record<string, number>; perf: Record<string, number>; event: string; csv: Record<string, number> }

// What each loop must produce, in profile names, perf names, and the CSV of one --event class.
const LOOPS: Loop[] = [
  { name: 'CPUID', from: 'cpuid_loop', to: 'cpuid_loop_end', reasons: { Cpuid: N }, perf: { CPUID: N }, event: 'vmexit', csv: { CPUID: N } },
  { name: 'port I/O', from: 'io_loop', to: 'io_loop_end', reasons: { IoInstruction: 2 * N }, perf: { IO_INSTRUCTION: 2 * N },
    event: 'ioport', csv: { '0x3ff:POUT': N, '0x3ff:PIN': N } },
  { name: 'MSR', from: 'msr_loop', to: 'msr_loop_end', reasons: { Rdmsr: N, Wrmsr: N }, perf: { RDMSR: N, WRMSR: N },
    event: 'msr', csv: { '0x200:R': N, '0x200:W': N } },
  { name: 'MMIO', from: 'mmio_loop', to: 'mmio_loop_end', reasons: { EptViolation: N, MonitorTrapFlag: N },
    perf: { EPT_VIOLATION: N, MONITOR_TRAP_FLAG: N }, event: 'mmio', csv: { '0xb8000:W': N } },
  { name: 'HLT', from: 'hlt_loop', to: 'hlt_loop_end', reasons: { Hlt: NH }, perf: { HLT: NH }, event: 'vmexit', csv: { HLT: NH } },
];

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('exit-loops guest in hosted mode (haswell, KVM exit controls): exact counts', () => {
  const prof = scratchFile('loops-all.json'), trace = scratchFile('loops-all.trace.json');
  const all = lazy(() => vmxlab(['run', guest.path, ...HOSTED, '--report', 'perf', '--profile', prof, '--trace', trace]));
  const allProfile = lazy(() => { all(); return readProfile(prof); });

  it('runs to its exit port and prints LO (every IN read back what the OUT wrote), as in bare mode', () => {
    expect(all().err).toBe('');
    expect(all().code).toBe(0);
    expect(transcript(all().out)).toBe('LO\n');
    const bare = vmxlab(['run', '--mode', 'bare', guest.path, '--no-bios-serial', '--max-seconds', '5', '--quiet']);
    expect(bare.code).toBe(0);
    expect(bare.out).toBe('LO\n');
  });

  it('unfiltered: each loop\'s exits at its own RIPs, exactly N (HLT: NH), in the profile JSON', () => {
    const p = allProfile();
    for (const l of LOOPS) expect(ripCounts(p, guest.syms, l.from, l.to), l.name).toEqual(l.reasons);
    // One RIP per exiting instruction: CPUID, OUT, IN, RDMSR, WRMSR, the VGA write (EPT
    // violation) and the instruction after it (MTF) N times each, HLT NH times.
    const inLoops = p.rips.filter((r) => r.rip >= sym(guest.syms, 'cpuid_loop') && r.rip < sym(guest.syms, 'hlt_loop_end') &&
      !(r.rip >= sym(guest.syms, 'mmio_loop_end') && r.rip < sym(guest.syms, 'hlt_loop')));
    expect(inLoops.map((r) => r.count)).toEqual([N, N, N, N, N, N, N, NH]);
    // The BIOS's exits come on top: the totals are at least the loops' sum.
    const c = reasonCounts(p);
    expect(c.Cpuid).toBeGreaterThanOrEqual(N);
    expect(c.Hlt).toBeGreaterThanOrEqual(NH);
    expect(p.run.filters).toEqual({ vcpu: null, ripRange: null });
    expect(p.totals.filteredOut).toBe(0);
  });

  it('the perf table printed in the same run agrees with the JSON', () => {
    const p = allProfile();
    const t = parsePerfTable(all().out);
    expect(t.vcpuLine).toBe('Analyze events for all VMs, all VCPUs:');
    expect(t.total).toBe(p.totals.exits);
    expect(t.rows.get('CPUID')).toBe(reasonCounts(p).Cpuid);
    expect([...t.rows.values()].reduce((a, b) => a + b, 0)).toBe(p.totals.exits);
  });

  it('the trace has one named track per vCPU (vCPU 0 only) holding the most recent exits in time order', () => {
    all();
    const t = readTrace(trace);
    const meta = t.traceEvents.filter((e) => e.ph === 'M');
    expect(meta.filter((e) => e.name === 'thread_name')).toEqual([{ name: 'thread_name', ph: 'M', ts: 0, pid: 1, tid: 0, args: { name: 'vCPU 0' } }]);
    const exits = t.traceEvents.filter((e) => e.ph === 'X');
    expect(exits.length).toBe(Math.min(1024, allProfile().totals.exits)); // the default ring size
    expect(new Set(exits.map((e) => e.tid))).toEqual(new Set([0]));
    for (let i = 1; i < exits.length; i++) expect(exits[i]!.ts).toBeGreaterThanOrEqual(exits[i - 1]!.ts + exits[i - 1]!.dur! - 1e-6);
    // The run ends with the exit port (OUT F4h) and the HLT after it (bare and hosted retire the
    // same number of instructions on this guest: 15,600 with N = 1000, measured by hand).
    expect(exits.slice(-2).map((e) => [e.name, e.args!.rip])).toEqual([
      ['IoInstruction', `0x${sym(guest.syms, 'exit_out').toString(16)}`], ['Hlt', `0x${sym(guest.syms, 'exit_out.h').toString(16)}`]]);
    expect(t.otherData.exitsRecorded).toBe(allProfile().totals.exits);
  });

  const perLoop = new Map<string, () => Profile>();
  for (const l of LOOPS) {
    describe(`--rip-range over the ${l.name} loop (${range(guest.syms, l.from, l.to)}) and --vcpu 0`, () => {
      const rr = range(guest.syms, l.from, l.to);
      const pj = scratchFile(`loops-${l.from}.json`), tj = scratchFile(`loops-${l.from}.trace.json`);
      const perf = lazy(() => vmxlab(['run', guest.path, ...HOSTED, '--rip-range', rr, '--vcpu', '0', '--report', 'perf', '--profile', pj, '--trace', tj]));
      perLoop.set(l.from, () => { perf(); return readProfile(pj); });
      const csv = lazy(() => vmxlab(['run', guest.path, ...HOSTED, '--rip-range', rr, '--vcpu', '0', '--report', 'csv', '--event', l.event]));

      it('profile JSON: exactly the loop\'s exits, the rest counted as filtered out', () => {
        expect(perf().code, perf().err).toBe(0);
        const p = perLoop.get(l.from)!();
        expect(reasonCounts(p)).toEqual(l.reasons);
        const n = Object.values(l.reasons).reduce((a, b) => a + b, 0);
        expect(p.totals.exits).toBe(n);
        expect(p.totals.filteredOut).toBe(allProfile().totals.exits - n);
        expect(p.run.filters).toEqual({ vcpu: 0, ripRange: { start: sym(guest.syms, l.from), end: sym(guest.syms, l.to) } });
        expect(p.vcpus.map((v) => [v.vcpu, v.count])).toEqual([[0, n]]);
        for (const r of p.rips) {
          expect(r.rip).toBeGreaterThanOrEqual(sym(guest.syms, l.from));
          expect(r.rip).toBeLessThan(sym(guest.syms, l.to));
        }
      });

      it('perf table: the same counts, the vCPU in the header, the filter in the details', () => {
        const t = parsePerfTable(perf().out);
        expect(Object.fromEntries(t.rows)).toEqual(l.perf);
        expect(t.total).toBe(Object.values(l.perf).reduce((a, b) => a + b, 0));
        expect(t.vcpuLine).toBe('Analyze events for all VMs, VCPU 0:');
        expect(perf().out).toContain(`Counted: vCPU 0, RIP in ${rr} (end exclusive);`);
      });

      it(`CSV (--event ${l.event}): the same counts, columns as documented`, () => {
        expect(csv().code, csv().err).toBe(0);
        const rows = parseCsv(csv().out);
        expect(Object.fromEntries(rows.map((r) => [r.event, Number(r.samples)]))).toEqual(l.csv);
        const total = rows.reduce((a, r) => a + Number(r.samples), 0);
        for (const r of rows) expect(Number(r.samples_percent)).toBeCloseTo((Number(r.samples) / total) * 100, 3);
        // Cycles: each row's are its profile entry's (reasons for vmexit, sub-keys by label otherwise).
        const p = perLoop.get(l.from)!();
        for (const r of rows) {
          const entries = l.event === 'vmexit' ? p.reasons.filter((x) => x.name.toUpperCase() === r.event.replace(/_/g, '')) : p.subkeys.filter((x) => x.label === r.event);
          expect(Number(r.cycles), r.event).toBe(entries.reduce((a, x) => a + x.cycles, 0));
        }
        if (l.event === 'vmexit') expect(rows.reduce((a, r) => a + Number(r.cycles), 0)).toBe(p.totals.exitCycles);
      });

      it('trace: only the loop\'s exits, on the vCPU 0 track', () => {
        perf();
        const ev = readTrace(tj).traceEvents.filter((e) => e.ph === 'X');
        const n = Object.values(l.reasons).reduce((a, b) => a + b, 0);
        expect(ev.length).toBe(Math.min(n, 1024));
        expect(new Set(ev.map((e) => e.tid))).toEqual(new Set([0]));
        const names: Record<string, number> = {};
        for (const e of ev) names[e.name] = (names[e.name] ?? 0) + 1;
        if (n <= 1024) expect(names).toEqual(l.reasons);
        else for (const k of Object.keys(names)) expect(l.reasons[k]).toBeDefined();
      });
    });
  }

  describe('what the VMM did, per exit', () => {
    const pj = scratchFile('loops-io.json');
    const pio = lazy(() => vmxlab(['run', guest.path, ...HOSTED, '--rip-range', range(guest.syms, 'io_loop', 'io_loop_end'), '--profile', pj]));
    const ph = scratchFile('loops-hlt.json');
    const phl = lazy(() => vmxlab(['run', guest.path, ...HOSTED, '--rip-range', range(guest.syms, 'hlt_loop', 'hlt_loop_end'), '--profile', ph]));

    it('I/O: the device that handled each access (COM1), one emulated instruction each, the port sub-keys', () => {
      expect(pio().code).toBe(0);
      const p = readProfile(pj);
      expect(p.devices.map((d) => [d.device, d.count])).toEqual([['COM1 16550A', 2 * N]]);
      expect(p.totals.instructionsEmulated).toBe(2 * N);
      const io = p.subkeys.filter((s) => s.kind === 'io').map((s) => [s.port, s.direction, s.size, s.count]);
      expect(io).toEqual([[0x3ff, 'out', 1, N], [0x3ff, 'in', 1, N]]);
    });

    it('MMIO: the device behind each EPT violation (VGA memory), the page and access; the write runs natively under MTF', () => {
      const p = perLoop.get('mmio_loop')!();
      expect(p.devices.map((d) => [d.device, d.count])).toEqual([['VGA video memory', N]]);
      expect(p.subkeys.filter((s) => s.kind === 'ept').map((s) => [s.label, s.mmio, s.count])).toEqual([['0xb8000:W', true, N]]);
      expect(p.totals.instructionsEmulated).toBe(0);
    });

    it('HLT: every HLT is followed by one injected interrupt (IRQ 0 from the PIT)', () => {
      expect(phl().code).toBe(0);
      const p = readProfile(ph);
      const hlt = p.reasons.find((r) => r.reason === ExitReason.Hlt)!;
      expect(hlt.count).toBe(NH);
      expect(hlt.interruptsInjected).toBe(NH);
    });
  });

  it('--key time sorts the perf rows by average time, --key sample (the default) by samples, ties by name', () => {
    const rr = range(guest.syms, 'cpuid_loop', 'mmio_loop_end');
    const byTime = vmxlab(['run', guest.path, ...HOSTED, '--rip-range', rr, '--report', 'perf', '--key', 'time']);
    const bySample = vmxlab(['run', guest.path, ...HOSTED, '--rip-range', rr, '--report', 'perf']);
    // Haswell, default handler table: EPT violation 512 + 2500, I/O 512 + 500 + 400 (one emulated
    // instruction), RDMSR/WRMSR 512 + 250 + 400, CPUID and MTF 512 + 200 cycles.
    expect([...parsePerfTable(byTime.out).rows.keys()]).toEqual(['EPT_VIOLATION', 'IO_INSTRUCTION', 'RDMSR', 'WRMSR', 'CPUID', 'MONITOR_TRAP_FLAG']);
    expect([...parsePerfTable(bySample.out).rows]).toEqual([
      ['IO_INSTRUCTION', 2 * N], ['CPUID', N], ['EPT_VIOLATION', N], ['MONITOR_TRAP_FLAG', N], ['RDMSR', N], ['WRMSR', N]]);
  });

  it('--vcpu 1 (no such vCPU): nothing counted in any report, every exit filtered out', () => {
    const pj = scratchFile('loops-vcpu1.json');
    const r = vmxlab(['run', guest.path, ...HOSTED, '--vcpu', '1', '--report', 'perf', '--profile', pj]);
    expect(r.code).toBe(0);
    const t = parsePerfTable(r.out);
    expect(t.vcpuLine).toBe('Analyze events for all VMs, VCPU 1:');
    expect(t.total).toBe(0);
    const p = readProfile(pj);
    expect(p.totals.exits).toBe(0);
    expect(p.totals.filteredOut).toBe(allProfile().totals.exits);
    expect(p.reasons).toEqual([]);
  });

  it('cost arithmetic through the CLI: N CPUID exits on haswell cost N x (512 + the CPUID handler figure), at 3 GHz', () => {
    const p = perLoop.get('cpuid_loop')!();
    const handler = DEFAULT_HANDLER_COSTS.get(ExitReason.Cpuid)!.cycles;
    expect(TRANSITION_COSTS.haswell.cycles).toBe(512);
    const c = p.reasons[0]!;
    expect(c).toMatchObject({ count: N, transitionCycles: N * 512, handlerCycles: N * handler, cycles: N * (512 + handler), minCycles: 512 + handler, maxCycles: 512 + handler });
    expect(p.totals.exitCycles).toBe(N * (512 + handler));
    // Re-costed on Merom (1156 published): only the round trip changes.
    expect(p.generations.find((g) => g.generation === 'merom')!.exitCycles).toBe(N * (1156 + handler));
  });
});
