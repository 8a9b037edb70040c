// Configurable exit controls (issue 5): each control changes exactly the exits it should, at the
// guest's own instructions, while the serial transcript stays the bare machine's (Popek and
// Goldberg equivalence); settings a generation cannot give are refused; the KVM default set.
import { describe, expect, it } from 'vitest';
import { bootSector } from '../firmware/support';
import { capabilitiesFor } from '../../src/core/vmx/capabilities';
import { cpuModelFor } from '../../src/core/vmx/cpu-model';
import { ExitReason } from '../../src/core/vmx/exit-reasons';
import { generation } from '../../src/core/vmx/generations';
import {
  checkExitControls, describeExits, ExitControlError, exitsFromJson, KVM_EXCEPTION_BITMAP, kvmDefaults, parseExits, type ExitControls,
} from '../../src/core/vmm/index';
import { bareRun, HostedPc, MEM } from './support';

const caps = (gen: string) => capabilitiesFor(generation(gen), cpuModelFor(generation(gen)));

// One guest touching every control 10 times: RDTSC (the delta printed), IN 0x64, MOV from/to
// CR3, RDMSR/WRMSR IA32_SYSENTER_CS (incremented: its final value is printed), INVLPG, PAUSE,
// UD2 (its real-mode handler prints 'u' and skips it), then three HLTs woken by the BIOS's PIT
// and a final CLI; HLT. Everything it prints goes to port 0xE9.
const GUEST = bootSector(`
  cli
  xor ax, ax
  mov ds, ax
  mov word [6*4], ud
  mov word [6*4+2], ax
  mov si, 10
.l:
  rdtsc
  mov ebx, eax
  nop
  rdtsc
  sub eax, ebx
  and al, 0x3f
  add al, 0x40
  out 0xe9, al
  in al, 0x64
  mov eax, cr3
  mov cr3, eax
  mov ecx, 0x174
  rdmsr
  inc eax
  wrmsr
  invlpg [0]
  pause
  ud2
  dec si
  jnz .l
  mov ecx, 0x174
  rdmsr
  add al, '0'
  out 0xe9, al
  sti
  mov si, 3
.h: hlt
  dec si
  jnz .h
  mov al, 'E'
  out 0xe9, al
  cli
  hlt
ud:
  push bp
  mov bp, sp
  add word [bp+2], 2
  pop bp
  mov al, 'u'
  out 0xe9, al
  iret`);

/** The transcript of the bare machine (no VMM). */
function bareTranscript(gen: string): string {
  const r = bareRun(GUEST, gen);
  expect(r.stop).toBe('halted');
  return r.serial;
}

/** Exits with `reason` at the guest's own code (the boot sector), not the BIOS's. */
function inGuest(pc: HostedPc, reason: number): number {
  let n = 0;
  for (const [k, v] of pc.exits) {
    const [r, a] = k.split(':');
    const rip = parseInt(a, 16);
    if (Number(r) === reason && rip >= 0x7c00 && rip < 0x7e00) n += v;
  }
  return n;
}

interface Expected { io: number; rdtsc: number; cr: number; rdmsr: number; wrmsr: number; invlpg: number; pause: number; exc: number; hlt: number }

const R = ExitReason;
function counts(pc: HostedPc): Expected {
  return {
    io: inGuest(pc, R.IoInstruction), rdtsc: inGuest(pc, R.Rdtsc), cr: inGuest(pc, R.CrAccess), rdmsr: inGuest(pc, R.Rdmsr),
    wrmsr: inGuest(pc, R.Wrmsr), invlpg: inGuest(pc, R.Invlpg), pause: inGuest(pc, R.Pause), exc: inGuest(pc, R.ExceptionOrNmi), hlt: inGuest(pc, R.Hlt),
  };
}

// Under KVM's set: OUT 0xE9 22 times (10 deltas, 10 'u', the count, 'E') + IN 0x64 10 times,
// 10 #UD exits, 4 HLTs; MSRs IA32_SYSENTER_* pass through, no RDTSC/CR3/INVLPG/PAUSE exits.
const KVM: Expected = { io: 32, rdtsc: 0, cr: 0, rdmsr: 0, wrmsr: 0, invlpg: 0, pause: 0, exc: 10, hlt: 4 };

const CASES: [string, Partial<Expected>][] = [
  ['', {}],
  ['rdtsc=on', { rdtsc: 20 }],
  ['io=bitmap:0xe9', { io: 22 }],
  ['io=bitmap:0x60-0x64', { io: 10 }],
  ['io=bitmap:0x3f8-0x3ff,0x60', { io: 0 }],
  ['msr=all', { rdmsr: 11, wrmsr: 10 }],
  ['msr=bitmap:0x174', { rdmsr: 11, wrmsr: 10 }],
  ['msr=pass:0x10-0x1ff', { rdmsr: 0, wrmsr: 0 }],
  ['cr3=on', { cr: 20 }],
  ['cr3-store=on', { cr: 10 }],
  ['exceptions=none', { exc: 0 }],
  ['exceptions=6+13', { exc: 10 }],
  ['invlpg=on', { invlpg: 10 }],
  ['pause=on', { pause: 10 }],
  ['vpid=off', {}],
  ['vpid=on,invlpg=on', { invlpg: 10 }],
  ['preemption-timer=1', {}],
];

describe('exit controls: each control changes the exits, never the transcript', () => {
  for (const gen of ['westmere', 'haswell']) {
    const bare = bareTranscript(gen);
    it(`${gen}: the bare transcript is what the guest computes`, () => {
      expect(bare).toMatch(/^(.u){10}:E$/);
    });
    for (const [text, delta] of CASES) {
      it(`${gen}: --exits ${text === '' ? '(KVM defaults)' : text}`, () => {
        const exits = parseExits(text, kvmDefaults(caps(gen)));
        const pc = new HostedPc(GUEST, gen, { exits });
        expect(pc.run(1)).toBe('halted');
        expect(pc.vm.fault, pc.vm.fault?.summary).toBeNull();
        expect(pc.serial).toBe(bare);
        expect(counts(pc)).toEqual({ ...KVM, ...delta });
        const ticks = pc.vm.exitCounts.get(R.PreemptionTimerExpired) ?? 0;
        if (exits.preemptionTimer === null) expect(ticks).toBe(0);
        else expect(ticks).toBeGreaterThan(0); // 7 on haswell with a tick of 1 (2^rate TSC ticks): time passes mostly in HLT
      }, 60_000);
    }
  }

  it('ept-populate=lazy: one EPT violation per guest RAM page at its first access, the same transcript', () => {
    const ramFaults: number[] = [];
    const eager = new HostedPc(GUEST, 'haswell', { exits: kvmDefaults(caps('haswell')) });
    const lazy = new HostedPc(GUEST, 'haswell', { exits: parseExits('ept-populate=lazy', kvmDefaults(caps('haswell'))) });
    lazy.vm.root.unit.addExitListener((x) => { if (x.reason === R.EptViolation && x.guestPhysical < MEM) ramFaults.push(x.guestPhysical >>> 12); });
    expect(eager.run(1)).toBe('halted');
    expect(lazy.run(1)).toBe('halted');
    expect(lazy.vm.fault, lazy.vm.fault?.summary).toBeNull();
    expect(lazy.serial).toBe(eager.serial);
    // Every other exit is the eager run's; the extra ones are RAM pages, each faulted in once:
    // at least the IVT/BDA page, the boot sector's page and the BIOS's stack page.
    expect(counts(lazy)).toEqual(counts(eager));
    expect(new Set(ramFaults).size).toBe(ramFaults.length);
    expect(ramFaults).toEqual(expect.arrayContaining([0x0, 0x7]));
    expect(lazy.count(R.EptViolation) - eager.count(R.EptViolation)).toBe(ramFaults.length);
    expect(lazy.m.cpu.icount).toBe(eager.m.cpu.icount); // restarted accesses retire once
  });

  it('--no-hlt-exiting (HostedOptions.hltExiting) is an alias of hlt=off and wins over exits', () => {
    const pc = new HostedPc(GUEST, 'haswell', { exits: kvmDefaults(caps('haswell')), hltExiting: false });
    expect(pc.vm.exits.hlt).toBe(false);
    // Not run: with HLT exiting off this guest's final CLI; HLT halts inside VMX non-root
    // operation, which the VMM does not see (test/vmm/exits.test.ts runs an HLT loop instead).
  });
});

describe('exit controls: settings', () => {
  it('parses --exits text, port lists continuing after commas', () => {
    const e = parseExits('hlt=off,io=bitmap:0x3f8-0x3ff,0x60,rdtsc=on,msr=pass:0x174-0x176,exceptions=6+13,preemption-timer=0x1000,vpid=off', kvmDefaults(caps('haswell')));
    expect(e.hlt).toBe(false);
    expect(e.rdtsc).toBe(true);
    expect(e.io).toEqual({ kind: 'bitmap', ports: [{ first: 0x3f8, last: 0x3ff }, { first: 0x60, last: 0x60 }] });
    expect(e.msr).toEqual({ kind: 'bitmap', mode: 'pass', msrs: [{ first: 0x174, last: 0x176 }] });
    expect(e.exceptionBitmap).toBe((1 << 6) | (1 << 13));
    expect(e.preemptionTimer).toBe(0x1000);
    expect(e.vpid).toBe(false);
  });

  it('reads the --exits-file JSON form', () => {
    const e = exitsFromJson({ hlt: false, io: { kind: 'bitmap', ports: ['0x3f8-0x3ff', 0x60] }, msr: { kind: 'all' }, preemptionTimer: 100 }, kvmDefaults(caps('westmere')));
    expect(e.hlt).toBe(false);
    expect(e.io).toEqual({ kind: 'bitmap', ports: [{ first: 0x3f8, last: 0x3ff }, { first: 0x60, last: 0x60 }] });
    expect(e.msr).toEqual({ kind: 'all' });
    expect(e.preemptionTimer).toBe(100);
    expect(() => exitsFromJson({ halt: true }, e)).toThrow(/unknown key 'halt'/);
    expect(() => exitsFromJson([], e)).toThrow(/JSON object/);
  });

  it('rejects malformed text with the offending part', () => {
    const d = kvmDefaults(caps('haswell'));
    expect(() => parseExits('hlt=maybe', d)).toThrow(/hlt=maybe: on or off/);
    expect(() => parseExits('warp=on', d)).toThrow(/unknown control 'warp'/);
    expect(() => parseExits('io=bitmap:0x10000', d)).toThrow(ExitControlError);
    expect(() => parseExits('io=some', d)).toThrow(/unconditional or bitmap/);
    expect(() => checkExitControls(parseExits('preemption-timer=0', d), caps('haswell'))).toThrow(/at least 1/);
  });

  it("KVM's default set: the same on haswell and westmere (VPID on, EPT clears CR3/INVLPG exiting)", () => {
    const want: ExitControls = {
      hlt: true, rdtsc: false, io: { kind: 'unconditional' }, msr: { kind: 'bitmap', mode: 'pass', msrs: [{ first: 0x174, last: 0x176 }] },
      cr3Load: false, cr3Store: false, exceptionBitmap: KVM_EXCEPTION_BITMAP, invlpg: false, pause: false, preemptionTimer: null, vpid: true,
      // Every CR0 bit but TS; every CR4 bit but PVI DE PCE OSFXSR OSXMMEXCPT PGE TSD FSGSBASE.
      cr0Mask: 0xfffffff7, cr4Mask: 0xfffef871,
    };
    expect(kvmDefaults(caps('haswell'))).toEqual(want);
    expect(kvmDefaults(caps('westmere'))).toEqual(want);
    expect(KVM_EXCEPTION_BITMAP).toBe((1 << 1) | (1 << 6) | (1 << 17) | (1 << 18)); // #DB #UD #AC #MC
    // Penryn has no VPID: KVM runs without it (enable_vpid needs the control).
    expect(kvmDefaults(caps('penryn')).vpid).toBe(false);
  });

  it("KVM's set without EPT (merom, penryn; nehalem without unrestricted guest) and --exits ept=off: shadow paging's exits", () => {
    const shadowWant = { ept: false, cr3Load: true, cr3Store: true, invlpg: true, exceptionBitmap: KVM_EXCEPTION_BITMAP | (1 << 14), vpid: false };
    for (const gen of ['merom', 'penryn', 'nehalem']) {
      expect(kvmDefaults(caps(gen)), gen).toMatchObject(shadowWant);
      expect(() => checkExitControls(kvmDefaults(caps(gen)), caps(gen))).not.toThrow();
    }
    const off = parseExits('ept=off', kvmDefaults(caps('haswell')));
    expect(off).toMatchObject(shadowWant);
    expect(describeExits(off)).toMatch(/,ept=off$/);
    expect(exitsFromJson({ ept: false }, kvmDefaults(caps('haswell')))).toMatchObject(shadowWant);
    expect(() => checkExitControls({ ...off, vpid: true }, caps('haswell'))).toThrow(/ept=off with vpid=on/);
    expect(() => checkExitControls({ ...off, invlpg: false }, caps('haswell'))).toThrow(/ept=off needs cr3-load=on/);
    expect(() => checkExitControls(parseExits('ept=on', kvmDefaults(caps('penryn'))), caps('penryn'))).toThrow(/ept=on: generation 'penryn' lacks/);
    expect(parseExits('ept=on', kvmDefaults(caps('haswell'))).ept).toBe(true);
  });

  it('refuses controls a generation lacks, naming the control and the generation', () => {
    const d = kvmDefaults(caps('penryn'));
    expect(() => checkExitControls({ ...d, ept: true, vpid: true }, caps('penryn'))).toThrow(/'enable VPID' is not available on generation 'penryn'/);
    expect(() => checkExitControls({ ...d, preemptionTimer: 100 }, caps('merom'))).toThrow(/'VMX-preemption timer' is not available on generation 'merom'/);
    // Without TRUE capability MSRs CR3-load/store exiting are default1: they cannot be turned off.
    const epton = { ...d, ept: undefined, cr3Load: false, cr3Store: false, vpid: false };
    expect(() => checkExitControls(epton, caps('penryn'))).toThrow(/cr3-load=off: generation 'penryn' forces/);
    expect(() => checkExitControls({ ...epton, cr3Load: true, cr3Store: true }, caps('penryn'))).not.toThrow();
    // Every generation hosted mode runs on (unrestricted guest: westmere and later) has every
    // control of ExitControls, so the VMM refuses there only through the generation check.
    for (const gen of ['westmere', 'sandy-bridge', 'haswell', 'ice-lake']) {
      const all = parseExits('rdtsc=on,io=bitmap:0x60,msr=bitmap:0x10,cr3=on,invlpg=on,pause=on,preemption-timer=1000,vpid=on', kvmDefaults(caps(gen)));
      expect(() => checkExitControls(all, caps(gen))).not.toThrow();
    }
    // Penryn runs with shadow paging (shadow-hosted.test.ts), with several vCPUs too (one shared
    // shadow MMU, smp-shadow.test.ts), though it has no VMX-preemption timer to schedule them.
    expect(new HostedPc(GUEST, 'penryn', {}, 2).vm.vcpus.length).toBe(2);
  });
});
