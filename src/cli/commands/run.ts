// `vmxlab run <image>`: boots an image on the emulated PC, under vmxlab's VMM in VMX non-root
// operation (hosted mode, the default) or directly (bare mode), and streams what the guest writes on COM1 (and port 0xE9)
// to the terminal or a file. `--machine testbed` runs a boot sector on the BIOS-less test
// machine instead (guests that only use port I/O).
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { PcMachine, type MachineStop } from '../../core/platform/machine';
import { Testbed } from '../../core/platform/testbed';
import { validateBiosRom } from '../../core/platform/bios-rom';
import { createCpu } from '../../core/cpu/index';
import type { CpuModel } from '../../core/cpu/model';
import { loadImage, type ImageKind } from '../../core/loaders/index';
import { buildE820 } from '../../core/firmware/e820';
import { DEFAULT_GENERATION, GENERATION_NAMES, findGeneration, type GenerationName } from '../../core/vmx/generations';
import { cpuModelFor } from '../../core/vmx/cpu-model';
import { describeExits, exitsFromJson, HostedVm, hostReservedBytes, kvmDefaults, parseExits, UnsupportedGeneration, type ExitControls, type HostedStop } from '../../core/vmm/index';
import { capabilitiesFor } from '../../core/vmx/capabilities';
import { buildReports } from '../../core/profile/reports';
import { defaultProfileOptions, profilingRequested, recorderFor, takeProfileFlag, PROFILE_FLAGS_USAGE, type ProfileCliOptions } from '../../core/profile/profile-options';
import type { ExitRecorder } from '../../core/profile/recorder';
import { hostedPaging } from '../../core/engine/paging-info';
import { exitListenerHost, fillExitEvent } from '../../core/engine/exit-tap';
import { writeFileSync } from 'node:fs';
import { UsageError, type Command, type CliContext } from '../types';

const BOOT_KINDS: Record<string, ImageKind> = {
  floppy: 'floppy', hdd: 'hdd', cdrom: 'cdrom', kernel: 'bzimage', bzimage: 'bzimage', multiboot: 'multiboot', com: 'com',
};

interface RunOpts {
  image: string; mode: 'bare' | 'hosted'; modeGiven: boolean; bareWhy?: string; prof: ProfileCliOptions; hltExiting: boolean; exits: string[]; exitsFile?: string; machine: 'pc' | 'testbed'; boot?: ImageKind; initrd?: string; cmdline?: string;
  memBytes: number; cpus: number; bios?: string; serial?: string; until?: string; maxSeconds: number;
  screen: boolean; quiet: boolean; ips: number; biosSerial: boolean; gen: GenerationName; longMode: boolean; smx: boolean;
}

function parseSize(v: string): number {
  const m = /^(\d+)([KMG]?)B?$/i.exec(v.trim());
  if (!m) throw new UsageError(`--mem: expected a size such as 64M or 512M, got '${v}'`);
  const n = Number(m[1]) * ({ '': 1 << 20, K: 1 << 10, M: 1 << 20, G: 1 << 30 } as Record<string, number>)[m[2].toUpperCase()];
  if (n < 2 * 1048576 || n > 2048 * 1048576 || n % 4096 !== 0) throw new UsageError('--mem: between 2M and 2048M, a multiple of 4K');
  return n;
}

function parse(args: readonly string[]): RunOpts {
  const o: RunOpts = { image: '', mode: 'hosted', modeGiven: false, prof: defaultProfileOptions(), hltExiting: true, exits: [], machine: 'pc', memBytes: 64 << 20, cpus: 1, maxSeconds: 60, screen: false, quiet: false, ips: 100_000_000, biosSerial: true, gen: DEFAULT_GENERATION, longMode: true, smx: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const val = (): string => {
      const v = args[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    switch (a) {
      case '--mode': { const v = val(); if (v !== 'bare' && v !== 'hosted') throw new UsageError(`--mode ${v}: hosted (the default where the VMM can run the guest) or bare`); o.mode = v; o.modeGiven = true; break; }
      case '--no-hlt-exiting': o.hltExiting = false; break;
      case '--exits': o.exits.push(val()); break;
      case '--exits-file': o.exitsFile = val(); break;
      case '--machine': { const v = val(); if (v !== 'pc' && v !== 'testbed') throw new UsageError('--machine: pc or testbed'); o.machine = v; break; }
      case '--boot': { const v = val(); const k = BOOT_KINDS[v]; if (!k) throw new UsageError(`--boot: one of ${Object.keys(BOOT_KINDS).join(', ')}`); o.boot = k; break; }
      case '--initrd': o.initrd = val(); break;
      case '--cmdline': o.cmdline = val(); break;
      case '--mem': case '--memory': o.memBytes = parseSize(val()); break;
      case '--cpus': {
        const n = Number(val());
        if (!Number.isInteger(n) || n < 1 || n > 8) throw new UsageError(`--cpus: a whole number of CPUs from 1 to 8, got '${args[i]}'`);
        o.cpus = n; break;
      }
      case '--bios': o.bios = val(); break;
      case '--gen': {
        const v = val(), g = findGeneration(v);
        if (g === undefined) throw new UsageError(`--gen: unknown CPU generation '${v}'; one of ${GENERATION_NAMES.join(', ')}`);
        o.gen = g.name; break;
      }
      case '--no-long-mode': o.longMode = false; break;
      case '--smx': o.smx = true; break;
      case '--serial': o.serial = val(); break;
      case '--until': case '--marker': o.until = val(); break;
      case '--max-seconds': { const n = Number(val()); if (!(n > 0)) throw new UsageError('--max-seconds: a positive number'); o.maxSeconds = n; break; }
      case '--mips': { const n = Number(val()); if (!(n > 0)) throw new UsageError('--mips: a positive number'); o.ips = n * 1e6; break; }
      case '--screen': o.screen = true; break;
      case '--no-bios-serial': o.biosSerial = false; break;
      case '--quiet': case '-q': o.quiet = true; break;
      default: {
        let took: boolean;
        try { took = takeProfileFlag(o.prof, a, val); } catch (e) { throw new UsageError((e as Error).message); }
        if (took) break;
        if (a.startsWith('-')) throw new UsageError(`unknown option ${a}`);
        if (o.image) throw new UsageError(`one image only (got ${o.image} and ${a})`);
        o.image = a;
      }
    }
  }
  if (!o.image) throw new UsageError('missing <image>');
  if (o.bios !== undefined && o.machine === 'testbed') throw new UsageError('--bios: the testbed machine has no firmware (use --machine pc)');
  // Without --mode: hosted where vmxlab's VMM can run the guest (issue 5), else bare, saying why.
  if (!o.modeGiven) {
    const why = hostedUnavailable(o);
    if (why !== null) { o.mode = 'bare'; o.bareWhy = why; }
  }
  if (o.mode === 'hosted') {
    if (o.machine === 'testbed') throw new UsageError('--mode hosted: the testbed machine has no VMM (use --machine pc)');
    if (o.bios !== undefined) throw new UsageError("--mode hosted: boots with vmxlab's BIOS only so far (no --bios)");
  } else if (profilingRequested(o.prof) && o.machine === 'testbed') throw new UsageError('--report/--profile/--trace: the testbed machine records no VM exits (use --machine pc)');
  else if (o.exits.length > 0 || o.exitsFile !== undefined || !o.hltExiting) throw new UsageError('--exits/--exits-file/--no-hlt-exiting: exit controls belong to hosted mode (add --mode hosted)');
  return o;
}

/** Why hosted mode cannot run these settings (then the default is bare mode), or null. */
function hostedUnavailable(o: RunOpts): string | null {
  if (o.machine === 'testbed') return 'the testbed machine has no VMM';
  if (o.bios !== undefined) return "hosted mode boots with vmxlab's BIOS only (--bios)";
  const gen = findGeneration(o.gen)!;
  if (gen.vmx === null) return `generation '${o.gen}' has no VMX`;
  return null;
}

/** The run's exit controls: KVM's set for the generation, then --exits-file, then each --exits
 *  in order, then --no-hlt-exiting. Errors (bad syntax, unreadable file) are the caller's. */
function exitControls(o: RunOpts, model: CpuModel): ExitControls {
  let e = kvmDefaults(capabilitiesFor(findGeneration(o.gen)!, model));
  if (o.exitsFile !== undefined) {
    let json: unknown;
    try { json = JSON.parse(readFileSync(o.exitsFile, 'utf8')); } catch (err) { throw new Error(`--exits-file ${o.exitsFile}: ${(err as Error).message}`); }
    e = exitsFromJson(json, e);
  }
  for (const t of o.exits) e = parseExits(t, e);
  return o.hltExiting ? e : { ...e, hlt: false };
}

/** Output sink: the terminal, or a file for --serial FILE. */
function sink(o: RunOpts, ctx: CliContext): { write(s: string): void; close(): void } {
  if (o.serial === undefined || o.serial === '-') return { write: (s) => ctx.out(s), close: () => {} };
  const fd = openSync(o.serial, 'w');
  return { write: (s) => { writeSync(fd, s, null, 'latin1'); }, close: () => closeSync(fd) };
}

const STOP_TEXT: Record<MachineStop, string> = {
  budget: 'time limit', stopped: 'stopped', shutdown: 'shutdown (triple fault)',
  halted: 'HLT with interrupts disabled (nothing can wake the CPU)', idle: 'HLT with no timer armed',
  poweroff: 'the guest powered off (ACPI S5)',
};

export const run: Command = {
  name: 'run',
  summary: 'Boot an image on the emulated PC and stream its serial output',
  usage: 'run [--mode bare|hosted] [--exits K=V,...] [--exits-file F] [--no-hlt-exiting] [--boot floppy|hdd|cdrom|kernel|multiboot|com] [--initrd F] [--cmdline S]\n' +
    '           [--mem 64M] [--cpus N] [--gen GEN] [--bios ROM] [--serial FILE|-] [--until TEXT] [--max-seconds N]\n' +
    '           [--screen] ' + PROFILE_FLAGS_USAGE + ' <image>',
  details:
    'Boots <image> on an i440FX-class PC with vmxlab\'s BIOS: floppy, hard-disk and CD images through\n' +
    'the BIOS boot sequence, Linux bzImage, Multiboot kernels and DOS .COM files as a boot loader\n' +
    'would (format detected from the content; --boot overrides). COM1 and port 0xE9 output goes to\n' +
    'the terminal (or --serial FILE). Stops at --until TEXT, at a guest shutdown, when the guest\n' +
    'halts for good, or after --max-seconds of virtual time (--mips sets the guest speed that\n' +
    'turns instructions into time, default 100). Exit code: 0, or 1 when --until was given and not\n' +
    'seen, 3 on a triple fault. --screen prints the VGA text screen at the end. The BIOS mirrors\n' +
    'INT 10h teletype output to COM1 unless --no-bios-serial.\n' +
    '--bios ROM boots another BIOS image (e.g. /usr/share/seabios/bios.bin) in place of vmxlab\'s:\n' +
    'mapped at the top of 4 GB and below 1 MB behind the i440FX PAM registers; disk images only.\n' +
    'What it writes to the debug port 0x402 goes to standard error (not with --quiet).\n' +
    `--gen GEN picks the CPU generation: its CPUID identity and VMX capabilities (${GENERATION_NAMES.join(', ')};\n` +
    `default ${DEFAULT_GENERATION}; prescott has no VMX).\n` +
    '--no-long-mode hides Intel 64 from CPUID (LM, 1 GB pages, SYSCALL), as the hosted VMM (a 32-bit\n' +
    'host) does for its guests: a bare run that the hosted run of the same guest can be compared with.\n' +
    '--smx adds Safer Mode Extensions to CPUID (CR4.SMXE, GETSEC with no TXT chipset), so that a\n' +
    'hypervisor guest\'s own guests can cause GETSEC exits (11); the hosted VMM never offers SMX.\n' +
    '--machine testbed runs a boot sector on the BIOS-less test machine.\n' +
    '--mode hosted (the default) runs the guest in VMX non-root operation under vmxlab\'s VMM\n' +
    '(src/core/vmm; 1-8 vCPUs, vmxlab\'s BIOS, a generation with unrestricted guest and EPT: westmere\n' +
    'and later); where it cannot (--machine testbed, --bios, an older generation) the default is\n' +
    '--mode bare, the guest on the emulated PC directly (a hypervisor guest needs bare: VMX is hidden\n' +
    'in hosted mode). The exit controls start as KVM\'s on that generation; --exits changes them\n' +
    '(hlt, rdtsc, invlpg, pause, vpid, cr3, cr3-load, cr3-store =on|off; io=unconditional|bitmap:\n' +
    '0x3f8-0x3ff,0x60; msr=all|bitmap:<MSRs that exit>|pass:<MSRs that do not>; exceptions=0x<bitmap>|\n' +
    '6+13|none; preemption-timer=off|<value>; cr0-mask=|cr4-mask=<bits>|kvm; ept=on), e.g.\n' +
    '--exits hlt=off,io=bitmap:0x3f8-0x3ff,rdtsc=on; --exits-file F reads a JSON ExitControls object\n' +
    '(src/core/vmm/exit-controls.ts) first. --no-hlt-exiting is --exits hlt=off.\n' +
    '--report perf|csv prints the exit table at the end, --profile F and --trace F save the profile: in\n' +
    'hosted mode the guest\'s exits under vmxlab\'s VMM, in bare mode the exits that a hypervisor guest\'s\n' +
    'own VMX guests cause (e.g. test/vmx-guests/exits/vmx-exits.img).',
  run(args, ctx) {
    const o = parse(args);
    const cpuModel = cpuModelFor(findGeneration(o.gen)!, { longMode: o.longMode, smx: o.smx });
    let bytes: Uint8Array;
    try { bytes = new Uint8Array(readFileSync(o.image)); } catch (e) {
      ctx.err(`vmxlab run: cannot read ${o.image}: ${(e as Error).message}\n`);
      return 1;
    }
    if (o.machine === 'testbed') return runTestbed(o, bytes, ctx, cpuModel);
    let initrd: Uint8Array | undefined;
    if (o.initrd) {
      try { initrd = new Uint8Array(readFileSync(o.initrd)); } catch (e) {
        ctx.err(`vmxlab run: cannot read initrd ${o.initrd}: ${(e as Error).message}\n`);
        return 1;
      }
    }
    let rom: Uint8Array | undefined;
    if (o.bios !== undefined) {
      try {
        rom = new Uint8Array(readFileSync(o.bios));
        validateBiosRom(rom);
      } catch (e) {
        ctx.err(`vmxlab run: --bios ${o.bios}: ${(e as Error).message}\n`);
        return 1;
      }
    }
    let loaded;
    let m: PcMachine;
    // Hosted mode: the VMM's structures live in host memory above the guest's RAM (vmm/layout.ts).
    const hostReserved = o.mode === 'hosted' ? hostReservedBytes(o.memBytes) : 0;
    try {
      // The BIOS's memory map: the initrd must stay out of the ACPI tables at the top of RAM.
      loaded = loadImage(bytes, { name: o.image, forceFormat: o.boot, initrd, cmdline: o.cmdline, memoryBytes: o.memBytes, e820: buildE820(o.memBytes) });
      if (rom !== undefined && loaded.kind !== 'disk') {
        throw new UsageError(`--bios: ${loaded.detected.kind} images are loaded by vmxlab's BIOS; another BIOS boots disk images only (floppy, hard disk, CD-ROM)`);
      }
      m = loaded.kind === 'disk'
        ? new PcMachine({ cpuModel, memoryBytes: o.memBytes, ips: o.ips, cpus: o.cpus, biosSerialConsole: o.biosSerial, floppies: loaded.floppy ? [loaded.floppy] : [], disks: loaded.hdd ? [loaded.hdd] : [], cdrom: loaded.cdrom ?? null, bootOrder: loaded.bootOrder, firmware: rom !== undefined ? { rom } : undefined, hostReservedBytes: hostReserved })
        : new PcMachine({ cpuModel, memoryBytes: o.memBytes, ips: o.ips, cpus: o.cpus, biosSerialConsole: o.biosSerial, hostReservedBytes: hostReserved });
    } catch (e) {
      if (e instanceof UsageError) throw e;
      ctx.err(`vmxlab run: ${o.image}: ${(e as Error).message}\n`);
      return 1;
    }
    // The external BIOS's debug port (SeaBIOS's log) goes to stderr a line at a time.
    let biosLine = '';
    if (m.externalBios !== null && !o.quiet) {
      m.externalBios.onLog = (b) => { biosLine += String.fromCharCode(b); if (b === 10) { ctx.err(biosLine); biosLine = ''; } };
    }
    if (loaded.kind === 'kernel') {
      const k = loaded;
      m.firmware!.bootOverride = (cpu) => k.enter(cpu, m.mem);
      if (!o.quiet) ctx.err(`vmxlab: ${loaded.detected.kind}: ${k.summary}\n`);
    } else if (!o.quiet) ctx.err(`vmxlab: ${loaded.detected.kind} image (${loaded.detected.evidence})\n`);
    if (o.bareWhy !== undefined && !o.quiet) ctx.err(`vmxlab: bare mode: ${o.bareWhy} (--mode bare says so and is quiet)\n`);
    let vm: HostedVm | null = null;
    let recorder: ExitRecorder | null = null;
    if (o.mode === 'hosted') {
      try {
        if (profilingRequested(o.prof)) recorder = recorderFor(o.prof, o.gen);
        const exits = exitControls(o, cpuModel);
        if ((o.exits.length > 0 || o.exitsFile !== undefined) && !o.quiet) ctx.err(`vmxlab: exit controls ${describeExits(exits)}\n`);
        vm = new HostedVm(m, { generation: o.gen, recorder, exits });
      } catch (e) {
        if (!(e instanceof UnsupportedGeneration) && !(e instanceof Error)) throw e;
        ctx.err(`vmxlab run: --mode hosted: ${(e as Error).message}\n`);
        return 1;
      }
    } else if (profilingRequested(o.prof)) {
      // Bare mode: the exits the guest's own hypervisor receives, as the desktop engine records
      // them (src/core/engine/exit-tap.ts); what the hypervisor did with them is not known here.
      const rec = recorderFor(o.prof, o.gen);
      recorder = rec;
      let tapped = 0;
      m.cpus.forEach((cpu, v) => {
        const host = exitListenerHost(cpu);
        if (host === null) return;
        host.addExitListener((r) => { fillExitEvent(rec.event, r, v, m.clock.nowNs()); rec.record(rec.event); });
        tapped++;
      });
      if (tapped === 0 && !o.quiet) ctx.err(`vmxlab: --gen ${o.gen} has no VMX: bare mode has no VM exits to record\n`);
    }
    const out = sink(o, ctx);
    let seen = '';
    let found = false;
    const until = o.until;
    m.onSerial = (_port, b) => {
      const ch = String.fromCharCode(b);
      out.write(ch);
      if (until !== undefined && !found) {
        seen = (seen + ch).slice(-until.length);
        if (seen === until) { found = true; m.stop(); }
      }
    };
    const t0 = performance.now();
    const totalTicks = o.maxSeconds * o.ips;
    let stop: MachineStop | HostedStop = 'budget';
    let done = 0;
    try {
      while (done < totalTicks) {
        const slice = Math.min(o.ips / 10, totalTicks - done); // 0.1 s of virtual time per slice
        const before = m.clock.ticks();
        stop = vm !== null ? vm.run(slice) : m.run(slice);
        done += m.clock.ticks() - before;
        if (stop !== 'budget') break;
      }
    } finally {
      out.close();
      if (biosLine !== '') ctx.err(`${biosLine}\n`);
    }
    const wall = (performance.now() - t0) / 1000;
    const c = m.cpu;
    if (vm !== null && vm.fault !== null) ctx.err(`\n${HostedVm.describe(vm.fault)}\n`);
    if (recorder !== null) {
      const r = buildReports(recorder, {
        report: o.prof.report, event: o.prof.event, key: o.prof.key,
        profile: o.prof.profileFile !== null, trace: o.prof.traceFile !== null,
        run: { guestInstructions: m.instructions(), image: o.image, mode: o.mode, vcpus: m.cpus.length, virtualTimeNs: m.clock.nowNs(), paging: hostedPaging(vm) },
      });
      if (r.text !== null) ctx.out(`\n${r.text}`);
      try {
        if (o.prof.profileFile !== null && r.profileJson !== null) writeFileSync(o.prof.profileFile, r.profileJson);
        if (o.prof.traceFile !== null && r.traceJson !== null) writeFileSync(o.prof.traceFile, r.traceJson);
      } catch (e) {
        ctx.err(`vmxlab run: cannot write the profile: ${(e as Error).message}\n`);
        return 1;
      }
    }
    if (o.screen) ctx.out(`\n----- VGA text screen -----\n${m.vga.textScreen().join('\n')}\n`);
    if (!o.quiet) {
      const why = found ? `saw '${until}'` : m.exitPort.code !== null ? `exit port, code ${m.exitPort.code}` :
        stop === 'shutdown' ? `shutdown (${c.shutdownReason})` : stop === 'guest-fault' ? 'the VMM stopped the VM (report above)' : STOP_TEXT[stop];
      const total = m.instructions();
      const perCpu = m.cpus.length > 1 ? ` (per CPU: ${m.cpus.map((x) => x.icount).join(', ')})` : '';
      ctx.err(`\nvmxlab: ${o.mode} mode, ${total} instructions${perCpu}, ${(m.clock.nowNs() / 1e9).toFixed(2)} s virtual in ${wall.toFixed(2)} s (${(total / wall / 1e6).toFixed(1)} MIPS); stopped: ${why}\n`);
    }
    if (until !== undefined) return found ? 0 : 1;
    if (stop === 'shutdown' || stop === 'guest-fault') return 3;
    if (m.exitPort.code !== null) return m.exitPort.code & 0xff;
    return 0;
  },
};

function runTestbed(o: RunOpts, image: Uint8Array, ctx: CliContext, cpuModel: CpuModel): number {
  const tb = new Testbed({ memoryBytes: o.memBytes, createCpu: (mem, io) => createCpu(mem, io, cpuModel) });
  try { tb.loadBootSector(image); } catch (e) {
    ctx.err(`vmxlab run: ${o.image}: ${(e as Error).message}\n`);
    return 1;
  }
  const t0 = performance.now();
  let printed = 0, total = 0;
  const max = o.maxSeconds * o.ips;
  let res;
  for (;;) {
    res = tb.runUntil({ maxInstructions: Math.min(50_000_000, max - total), marker: o.until });
    total += res.instructions;
    if (res.output.length > printed) { ctx.out(res.output.slice(printed)); printed = res.output.length; }
    if (res.stopReason !== 'budget' || total >= max) break;
  }
  const secs = (performance.now() - t0) / 1000;
  if (!o.quiet) {
    let why: string = res.stopReason;
    if (res.stopReason === 'exit-port') why = `exit port, code ${res.exitCode}`;
    else if (res.stopReason === 'shutdown') why = `shutdown (${res.shutdownReason ?? 'triple fault'})`;
    else if (res.stopReason === 'budget') why = `instruction budget of ${max} reached`;
    ctx.err(`\nvmxlab: ${total} instructions in ${secs.toFixed(2)} s (${(total / secs / 1e6).toFixed(1)} MIPS); stopped: ${why}\n`);
  }
  if (o.until !== undefined) return res.stopReason === 'marker' ? 0 : 1;
  return res.stopReason === 'shutdown' ? 3 : res.stopReason === 'exit-port' ? (res.exitCode ?? 0) & 0xff : 0;
}
