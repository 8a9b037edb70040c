// The exit controls a hosted run chooses (issue 5): a typed settings object, the KVM-like default
// set of a generation, parsing of `--exits a=b,c=d` and of a JSON file, and the check against the
// generation's capability MSRs (SDM Vol. 3D Appendix A.3: a control may be 1 only where the
// allowed-1 half of its IA32_VMX_*_CTLS MSR has it). vmcs-setup.ts turns the object into control
// words and bitmaps. The shape of `ExitControls` is stable: the desktop engine consumes it.
//
// Every control changes which VM exits happen, never what the guest computes: a port that does
// not exit reaches the same device model through the CPU's own IN/OUT, an MSR that does not exit
// is the CPU's own (or, for IA32_SYSENTER_*, the VMCS guest field VM entry loaded, §27.3.2.1), an
// exception that exits is reflected to the guest unchanged, RDTSC/INVLPG/PAUSE that exit are
// emulated as the CPU would run them.
import { Cr0, Cr4 } from '../cpu/regs';
import type { VmxCapabilities } from '../vmx/capabilities';
import { PinBasedCtls, ProcBasedCtls, ProcBasedCtls2 } from '../vmx/controls';

/** An inclusive range of ports or MSR indices. */
export interface IdRange { readonly first: number; readonly last: number }

/** I/O exiting (§25.6.2 Table 25-6 bits 24/25, §25.6.4 I/O bitmaps): every IN/OUT/INS/OUTS
 *  exits, or only those touching a port listed in `ports` (the rest reach the device directly). */
export type IoExiting = { readonly kind: 'unconditional' } | { readonly kind: 'bitmap'; readonly ports: readonly IdRange[] };

/** MSR exiting (§25.6.9): without bitmaps every RDMSR/WRMSR exits; with them, `exit` lists the
 *  MSRs that exit (`mode: 'exit'`) or the MSRs that do not (`mode: 'pass'`: all others exit).
 *  MSRs outside 0-1FFFH and C0000000H-C0001FFFH always exit (§26.1.3). */
export type MsrExiting = { readonly kind: 'all' } | { readonly kind: 'bitmap'; readonly mode: 'exit' | 'pass'; readonly msrs: readonly IdRange[] };

export interface ExitControls {
  /** HLT exiting (primary bit 7). Off: the guest's HLT idles inside VMX non-root operation. */
  readonly hlt: boolean;
  /** RDTSC exiting (primary bit 12); RDTSC is then emulated by the VMM (same value). */
  readonly rdtsc: boolean;
  readonly io: IoExiting;
  readonly msr: MsrExiting;
  /** CR3-load / CR3-store exiting (primary bits 15/16; default1 without TRUE controls). */
  readonly cr3Load: boolean;
  readonly cr3Store: boolean;
  /** Exception bitmap (§25.6.3): bit n set, exception n exits (the VMM reflects it). */
  readonly exceptionBitmap: number;
  /** INVLPG exiting (primary bit 9). */
  readonly invlpg: boolean;
  /** PAUSE exiting (primary bit 30). */
  readonly pause: boolean;
  /** VMX-preemption timer value (pin bit 6, §26.5.1), the vCPU's scheduling tick; null: off. */
  readonly preemptionTimer: number | null;
  /** Enable VPID (secondary bit 5): VM entries and exits keep the guest's TLB entries (§29.1). */
  readonly vpid: boolean;
  /** CR0/CR4 guest/host mask bits the VMM owns (§25.6.6): a MOV to CR0/CR4, CLTS or LMSW that
   *  would change an owned bit from its read-shadow value exits, reads of owned bits come from
   *  the shadow (never an exit). CR0.NE and CR4.VMXE are owned whatever these say (guest-view.ts).
   *  Absent: KVM's masks (`KVM_CR0_MASK`, `KVM_CR4_MASK`). */
  readonly cr0Mask?: number;
  readonly cr4Mask?: number;
  /** Guest RAM in the EPT tables: 'eager' maps it all before the first entry; 'lazy' maps each
   *  4 KB page at the EPT violation its first access causes, as KVM faults guest memory in on
   *  demand (one exit per page the guest touches). Absent: eager. */
  readonly eptPopulate?: 'eager' | 'lazy';
  /** Enable EPT (secondary bit 1) with unrestricted guest (bit 7). false: shadow paging
   *  (vmm/shadow/, issue 6) with CR3-load/store and INVLPG exiting and #PF intercepted, and the
   *  guest's real-mode code emulated by the VMM. Absent: on where the generation has both. */
  readonly ept?: boolean;
}

/** Whether `e` runs with EPT on this generation (absent: where it has EPT and unrestricted guest). */
export function eptOn(e: ExitControls, caps: VmxCapabilities): boolean {
  return e.ept ?? hasEptAndUnrestricted(caps);
}

/** The generation can run real-mode code in VMX non-root operation: secondary controls with
 *  "enable EPT" and "unrestricted guest" (Appendix A.3.3; unrestricted guest needs EPT, §26.2.1.1). */
export function hasEptAndUnrestricted(caps: VmxCapabilities): boolean {
  const need = ProcBasedCtls2.EnableEpt | ProcBasedCtls2.UnrestrictedGuest;
  return (caps.proc.mayBe1 & ProcBasedCtls.ActivateSecondaryControls) !== 0 && (caps.proc2.mayBe1 & need) === need;
}

/** #PF (vector 14): intercepted when the VMM keeps shadow page tables. */
export const PF_EXCEPTION_BIT = 1 << 14;

/** CR0/CR4 bits KVM leaves to the guest (Linux 6.1 arch/x86/kvm/kvm_cache_regs.h
 *  KVM_POSSIBLE_CR0_GUEST_BITS = TS; KVM_POSSIBLE_CR4_GUEST_BITS = PVI | DE | PCE | OSFXSR |
 *  OSXMMEXCPT | PGE | TSD | FSGSBASE; vmx.c sets the guest/host masks to their complement), so
 *  KVM's masks own every other bit. */
export const KVM_CR0_MASK = ~Cr0.TS >>> 0;
export const KVM_CR4_MASK = ~(Cr4.PVI | Cr4.DE | Cr4.PCE | Cr4.OSFXSR | Cr4.OSXMMEXCPT | Cr4.PGE | Cr4.TSD | Cr4.FSGSBASE) >>> 0;

/** The run's CR0 / CR4 masks (absent: KVM's). */
export function crMasks(e: ExitControls): { cr0: number; cr4: number } {
  return { cr0: (e.cr0Mask ?? KVM_CR0_MASK) >>> 0, cr4: (e.cr4Mask ?? KVM_CR4_MASK) >>> 0 };
}

/** Ports the VMM must see whatever the settings say: the BIOS service port (the service needs
 *  the caller's registers and may move CS:IP, which the VMM lends it through guest-view.ts). */
export const VMM_PORTS: readonly IdRange[] = [{ first: 0xe0, last: 0xe0 }];
/** MSRs the VMM must see: IA32_FEATURE_CONTROL (reads as locked with VMX off) and the IA32_VMX_*
 *  capability MSRs (hidden from the guest: #GP), 480H-493H. */
export const VMM_MSRS: readonly IdRange[] = [{ first: 0x3a, last: 0x3a }, { first: 0x480, last: 0x493 }];

/** Vectors KVM intercepts with EPT on (Linux arch/x86/kvm/vmx/vmx.c
 *  vmx_update_exception_bitmap: #PF, #UD, #MC, #DB, #AC, then #PF dropped when EPT makes the
 *  guest's page faults its own). */
export const KVM_EXCEPTION_BITMAP = (1 << 1) | (1 << 6) | (1 << 17) | (1 << 18);

/** MSRs KVM passes through on a 32-bit guest (vmx.c vmx_vcpu_create / init_vmcs:
 *  vmx_disable_intercept_for_msr for IA32_SYSENTER_CS/ESP/EIP; IA32_TSC it passes for reads
 *  only, which one bitmap bit per MSR cannot say, so here TSC exits both ways; FS/GS_BASE and
 *  KERNEL_GS_BASE exist only with Intel 64). */
export const KVM_PASS_MSRS: readonly IdRange[] = [{ first: 0x174, last: 0x176 }];

/**
 * KVM's controls on a generation (Linux arch/x86/kvm/vmx/vmx.c setup_vmcs_config): HLT, CR3
 * load/store, unconditional I/O, MOV-DR, TSC offsetting, MWAIT/MONITOR, INVLPG and RDPMC exiting
 * required; MSR bitmaps and secondary controls when the CPU has them; with EPT it clears
 * CR3-load/store and INVLPG exiting. No RDTSC exiting (TSC offsetting instead), no PAUSE exiting
 * (PAUSE-loop exiting where present), no I/O bitmaps, the preemption timer only for the LAPIC
 * timer (not a scheduling tick: off here), VPID on when the CPU has it (enable_vpid).
 * Without MSR bitmaps (none of the generations hosted mode runs on lacks them) every MSR exits.
 */
export function kvmDefaults(caps: VmxCapabilities): ExitControls {
  const vpid = (caps.proc2.mayBe1 & ProcBasedCtls2.EnableVpid) !== 0;
  const bitmaps = (caps.proc.mayBe1 & ProcBasedCtls.UseMsrBitmaps) !== 0;
  // Without EPT and unrestricted guest (merom, penryn; nehalem, which has EPT but no
  // unrestricted guest, runs shadow paging here where KVM would use EPT with an identity-mapped
  // page table for real mode): KVM's enable_ept=0 controls: CR3-load/store and INVLPG exiting
  // stay on, #PF is intercepted (vmx_update_exception_bitmap). VPID off: the shadow MMU relies
  // on the flush of every VM entry without VPID (§29.1) rather than on INVVPID.
  if (!hasEptAndUnrestricted(caps)) return shadowControls(kvmDefaultsEpt(caps, false, bitmaps));
  return kvmDefaultsEpt(caps, vpid, bitmaps);
}

/** `e` adjusted for shadow paging (`--exits ept=off`): CR3-load/store and INVLPG exiting, #PF
 *  intercepted, no VPID (as KVM's controls with enable_ept=0, VPID aside). */
export function shadowControls(e: ExitControls): ExitControls {
  return { ...e, ept: false, cr3Load: true, cr3Store: true, invlpg: true, exceptionBitmap: (e.exceptionBitmap | PF_EXCEPTION_BIT) >>> 0, vpid: false };
}

function kvmDefaultsEpt(caps: VmxCapabilities, vpid: boolean, bitmaps: boolean): ExitControls {
  return {
    hlt: true, rdtsc: false, io: { kind: 'unconditional' },
    msr: bitmaps ? { kind: 'bitmap', mode: 'pass', msrs: KVM_PASS_MSRS } : { kind: 'all' },
    cr3Load: false, cr3Store: false, exceptionBitmap: KVM_EXCEPTION_BITMAP, invlpg: false, pause: false,
    preemptionTimer: null, vpid, cr0Mask: KVM_CR0_MASK, cr4Mask: KVM_CR4_MASK,
  };
}

/** A setting the generation or the VMM cannot honour, or a malformed one. */
export class ExitControlError extends Error {}

const parseNum = (s: string, what: string): number => {
  const t = s.trim();
  const v = /^0x[0-9a-f]+$/i.test(t) ? parseInt(t.slice(2), 16) : /^[0-9]+$/.test(t) ? parseInt(t, 10) : NaN;
  if (!Number.isFinite(v)) throw new ExitControlError(`${what}: '${s}' is not a number (decimal or 0x hex)`);
  return v;
};

/** "0x3f8-0x3ff,0x60" (parts already split on commas by the caller for --exits: use `+` or `;`
 *  there as well). */
export function parseRanges(list: string, what: string, max: number): IdRange[] {
  const out: IdRange[] = [];
  for (const part of list.split(/[,;+]/)) {
    if (part.trim() === '') continue;
    const [a, b] = part.split('-');
    const first = parseNum(a, what), last = b === undefined ? first : parseNum(b, what);
    if (first > last || last > max) throw new ExitControlError(`${what}: range '${part}' is empty or above 0x${max.toString(16)}`);
    out.push({ first, last });
  }
  return out;
}

const onOff = (v: string, key: string): boolean => {
  if (v === 'on' || v === 'true' || v === '1') return true;
  if (v === 'off' || v === 'false' || v === '0') return false;
  throw new ExitControlError(`--exits ${key}=${v}: on or off`);
};

/** The keys of `--exits`, for messages. */
export const EXIT_KEYS = ['hlt', 'rdtsc', 'io', 'msr', 'cr3', 'cr3-load', 'cr3-store', 'exceptions', 'invlpg', 'pause', 'preemption-timer', 'vpid',
  'cr0-mask', 'cr4-mask', 'ept', 'ept-populate'] as const;

/**
 * Applies `--exits` text to `base`: `hlt=off,io=bitmap:0x3f8-0x3ff,0x60,rdtsc=on`. A bare item
 * after `io=bitmap:`/`msr=...:` continues its list (so ports may be comma-separated as above).
 * io=unconditional | bitmap:<ports>; msr=all | bitmap:<exiting MSRs> | pass:<passed-through MSRs>;
 * exceptions=0x<bitmap> | <vectors joined by +> (`exceptions=6+13`) | none; preemption-timer=off | <value>;
 * cr0-mask=<bits> | kvm; cr4-mask=<bits> | kvm; ept=on | off (off: shadow paging, which also
 * turns on CR3-load/store and INVLPG exiting and #PF interception and turns VPID off).
 */
export function parseExits(text: string, base: ExitControls): ExitControls {
  const o: { -readonly [K in keyof ExitControls]: ExitControls[K] } = { ...base };
  const items = text.split(',');
  let i = 0;
  while (i < items.length) {
    let item = items[i++].trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq < 0) throw new ExitControlError(`--exits '${item}': key=value (keys: ${EXIT_KEYS.join(', ')})`);
    const key = item.slice(0, eq), val0 = item.slice(eq + 1);
    const listed = /^(bitmap|pass):/.test(val0) && (key === 'io' || key === 'msr');
    if (listed) while (i < items.length && !items[i].includes('=')) item += `+${items[i++].trim()}`;
    const val = item.slice(eq + 1);
    switch (key) {
      case 'hlt': o.hlt = onOff(val, key); break;
      case 'rdtsc': o.rdtsc = onOff(val, key); break;
      case 'invlpg': o.invlpg = onOff(val, key); break;
      case 'pause': o.pause = onOff(val, key); break;
      case 'vpid': o.vpid = onOff(val, key); break;
      case 'cr3': o.cr3Load = o.cr3Store = onOff(val, key); break;
      case 'cr3-load': o.cr3Load = onOff(val, key); break;
      case 'cr3-store': o.cr3Store = onOff(val, key); break;
      case 'io':
        if (val === 'unconditional') o.io = { kind: 'unconditional' };
        else if (val.startsWith('bitmap:')) o.io = { kind: 'bitmap', ports: parseRanges(val.slice(7), '--exits io', 0xffff) };
        else throw new ExitControlError(`--exits io=${val}: unconditional or bitmap:<ports> (e.g. bitmap:0x3f8-0x3ff,0x60)`);
        break;
      case 'msr':
        if (val === 'all') o.msr = { kind: 'all' };
        else if (val.startsWith('bitmap:')) o.msr = { kind: 'bitmap', mode: 'exit', msrs: parseRanges(val.slice(7), '--exits msr', 0xffffffff) };
        else if (val.startsWith('pass:')) o.msr = { kind: 'bitmap', mode: 'pass', msrs: parseRanges(val.slice(5), '--exits msr', 0xffffffff) };
        else throw new ExitControlError(`--exits msr=${val}: all, bitmap:<MSRs that exit> or pass:<MSRs that do not>`);
        break;
      case 'exceptions':
        // 0x.. is the bitmap itself; decimal vectors joined by + (6+13) name its bits; none is 0.
        if (val === 'none') o.exceptionBitmap = 0;
        else if (/^0x/i.test(val)) o.exceptionBitmap = parseNum(val, '--exits exceptions') >>> 0;
        else {
          let b = 0;
          for (const r of parseRanges(val, '--exits exceptions', 31)) for (let v = r.first; v <= r.last; v++) b |= 1 << v;
          o.exceptionBitmap = b >>> 0;
        }
        break;
      case 'preemption-timer': o.preemptionTimer = val === 'off' ? null : parseNum(val, '--exits preemption-timer') >>> 0; break;
      case 'cr0-mask': o.cr0Mask = val === 'kvm' ? KVM_CR0_MASK : parseNum(val, '--exits cr0-mask') >>> 0; break;
      case 'cr4-mask': o.cr4Mask = val === 'kvm' ? KVM_CR4_MASK : parseNum(val, '--exits cr4-mask') >>> 0; break;
      case 'ept-populate':
        if (val !== 'eager' && val !== 'lazy') throw new ExitControlError(`--exits ept-populate=${val}: eager or lazy`);
        o.eptPopulate = val; break;
      case 'ept': {
        // ept=off: shadow paging, with the controls it needs (a later item may change them).
        const on = onOff(val, key);
        Object.assign(o, on ? { ept: true } : shadowControls(o));
        break;
      }
      default: throw new ExitControlError(`--exits: unknown control '${key}' (keys: ${EXIT_KEYS.join(', ')})`);
    }
  }
  return o;
}

/** A JSON settings object (the `--exits-file` format): the keys of `ExitControls`, with ranges
 *  as strings ("0x3f8-0x3ff") or numbers; missing keys keep `base`. */
export function exitsFromJson(json: unknown, base: ExitControls): ExitControls {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ExitControlError('exit-controls file: a JSON object expected');
  const j = json as Record<string, unknown>;
  const o: { -readonly [K in keyof ExitControls]: ExitControls[K] } = { ...base };
  const ranges = (v: unknown, what: string, max: number): IdRange[] => {
    if (!Array.isArray(v)) throw new ExitControlError(`exit-controls file: ${what}: an array of numbers or "first-last" strings`);
    return v.flatMap((e) => typeof e === 'number' ? parseRanges(String(e), what, max) : typeof e === 'string' ? parseRanges(e, what, max) : (() => { throw new ExitControlError(`exit-controls file: ${what}: ${JSON.stringify(e)}`); })());
  };
  const bool = (k: string): boolean => {
    if (typeof j[k] !== 'boolean') throw new ExitControlError(`exit-controls file: ${k}: true or false`);
    return j[k] as boolean;
  };
  for (const k of Object.keys(j)) {
    switch (k) {
      case 'hlt': o.hlt = bool(k); break;
      case 'rdtsc': o.rdtsc = bool(k); break;
      case 'cr3Load': o.cr3Load = bool(k); break;
      case 'cr3Store': o.cr3Store = bool(k); break;
      case 'invlpg': o.invlpg = bool(k); break;
      case 'pause': o.pause = bool(k); break;
      case 'vpid': o.vpid = bool(k); break;
      case 'ept': Object.assign(o, bool(k) ? { ept: true } : shadowControls(o)); break;
      case 'eptPopulate':
        if (j[k] !== 'eager' && j[k] !== 'lazy') throw new ExitControlError('exit-controls file: eptPopulate: "eager" or "lazy"');
        o.eptPopulate = j[k] as 'eager' | 'lazy'; break;
      case 'cr0Mask': case 'cr4Mask':
        if (typeof j[k] !== 'number') throw new ExitControlError(`exit-controls file: ${k}: a number`);
        o[k] = (j[k] as number) >>> 0; break;
      case 'exceptionBitmap':
        if (typeof j[k] !== 'number') throw new ExitControlError('exit-controls file: exceptionBitmap: a number');
        o.exceptionBitmap = (j[k] as number) >>> 0; break;
      case 'preemptionTimer':
        if (j[k] !== null && typeof j[k] !== 'number') throw new ExitControlError('exit-controls file: preemptionTimer: a number or null');
        o.preemptionTimer = j[k] === null ? null : (j[k] as number) >>> 0; break;
      case 'io': {
        const v = j[k] as { kind?: unknown; ports?: unknown };
        if (v?.kind === 'unconditional') o.io = { kind: 'unconditional' };
        else if (v?.kind === 'bitmap') o.io = { kind: 'bitmap', ports: ranges(v.ports, 'io.ports', 0xffff) };
        else throw new ExitControlError('exit-controls file: io: {"kind":"unconditional"} or {"kind":"bitmap","ports":[...]}');
        break;
      }
      case 'msr': {
        const v = j[k] as { kind?: unknown; mode?: unknown; msrs?: unknown };
        if (v?.kind === 'all') o.msr = { kind: 'all' };
        else if (v?.kind === 'bitmap' && (v.mode === 'exit' || v.mode === 'pass')) o.msr = { kind: 'bitmap', mode: v.mode, msrs: ranges(v.msrs, 'msr.msrs', 0xffffffff) };
        else throw new ExitControlError('exit-controls file: msr: {"kind":"all"} or {"kind":"bitmap","mode":"exit"|"pass","msrs":[...]}');
        break;
      }
      default: throw new ExitControlError(`exit-controls file: unknown key '${k}'`);
    }
  }
  return o;
}

/** The control words an `ExitControls` asks for (before must-be-1 bits are added). */
export interface ControlWords { pin: number; proc: number; proc2: number }

export function controlWords(e: ExitControls): ControlWords {
  const p = ProcBasedCtls;
  const proc = (e.hlt ? p.HltExiting : 0) | (e.rdtsc ? p.RdtscExiting : 0) |
    (e.io.kind === 'bitmap' ? p.UseIoBitmaps : p.UnconditionalIoExiting) | (e.msr.kind === 'bitmap' ? p.UseMsrBitmaps : 0) |
    (e.cr3Load ? p.Cr3LoadExiting : 0) | (e.cr3Store ? p.Cr3StoreExiting : 0) | (e.invlpg ? p.InvlpgExiting : 0) |
    (e.pause ? p.PauseExiting : 0);
  return {
    pin: e.preemptionTimer !== null ? PinBasedCtls.ActivatePreemptionTimer : 0,
    proc: proc >>> 0,
    proc2: e.vpid ? ProcBasedCtls2.EnableVpid : 0,
  };
}

/**
 * Refuses settings the generation cannot give (its allowed-1 bits, Appendix A.3) or must force
 * (a must-be-1 bit the settings turn off: CR3 exiting without TRUE controls), naming the
 * control and the generation.
 */
export function checkExitControls(e: ExitControls, caps: VmxCapabilities): void {
  const w = controlWords(e);
  const p = ProcBasedCtls;
  const lack = (what: string): never => { throw new ExitControlError(`exit control '${what}' is not available on generation '${caps.generation}'`); };
  if ((w.pin & ~caps.pin.mayBe1) !== 0) lack('VMX-preemption timer');
  const procMissing = w.proc & ~caps.proc.mayBe1;
  const names: [number, string][] = [[p.HltExiting, 'HLT exiting'], [p.RdtscExiting, 'RDTSC exiting'], [p.UseIoBitmaps, 'use I/O bitmaps'],
    [p.UseMsrBitmaps, 'use MSR bitmaps'], [p.Cr3LoadExiting, 'CR3-load exiting'], [p.Cr3StoreExiting, 'CR3-store exiting'],
    [p.InvlpgExiting, 'INVLPG exiting'], [p.PauseExiting, 'PAUSE exiting'], [p.UnconditionalIoExiting, 'unconditional I/O exiting']];
  for (const [b, n] of names) if ((procMissing & b) !== 0) lack(n);
  if ((w.proc2 & ~caps.proc2.mayBe1) !== 0) lack('enable VPID');
  for (const [b, n] of [[p.Cr3LoadExiting, 'cr3-load'], [p.Cr3StoreExiting, 'cr3-store']] as const) {
    if ((caps.proc.mustBe1 & b) !== 0 && (w.proc & b) === 0) {
      throw new ExitControlError(`--exits ${n}=off: generation '${caps.generation}' forces ${n} exiting (a default1 control without TRUE capability MSRs, Appendix A.2)`);
    }
  }
  if (e.ept === true && !hasEptAndUnrestricted(caps)) throw new ExitControlError(`--exits ept=on: generation '${caps.generation}' lacks 'enable EPT' or 'unrestricted guest' (the VMM runs real-mode code in VMX non-root operation only with both; shadow paging: ept=off)`);
  if (e.ept === false) {
    if (e.vpid) throw new ExitControlError('--exits ept=off with vpid=on: the shadow MMU relies on the TLB flush of every VM entry without VPID (use vpid=off)');
    if (!e.cr3Load || !e.cr3Store || !e.invlpg || (e.exceptionBitmap & PF_EXCEPTION_BIT) === 0) {
      throw new ExitControlError('--exits ept=off needs cr3-load=on, cr3-store=on, invlpg=on and #PF (14) in exceptions: shadow paging sees the guest\'s CR3 and TLB maintenance and its page faults that way');
    }
  }
  if (e.preemptionTimer !== null && e.preemptionTimer === 0) throw new ExitControlError('--exits preemption-timer=0 would exit before every instruction: give a tick of at least 1');
  if (e.io.kind === 'bitmap') for (const r of e.io.ports) if (r.last > 0xffff) throw new ExitControlError(`I/O port range 0x${r.first.toString(16)}-0x${r.last.toString(16)}: ports end at 0xffff`);
}

/** True when port `p` exits under `e` (the VMM's own ports always do). */
export function portExits(e: ExitControls, p: number): boolean {
  if (e.io.kind === 'unconditional') return true;
  return inRanges(VMM_PORTS, p) || inRanges(e.io.ports, p);
}

/** True when MSR `n` exits under `e` (reads and writes alike). */
export function msrExits(e: ExitControls, n: number): boolean {
  if (e.msr.kind === 'all') return true;
  if (!(n <= 0x1fff || (n >= 0xc0000000 && n <= 0xc0001fff))) return true;
  if (inRanges(VMM_MSRS, n)) return true;
  return e.msr.mode === 'exit' ? inRanges(e.msr.msrs, n) : !inRanges(e.msr.msrs, n);
}

export function inRanges(rs: readonly IdRange[], v: number): boolean {
  for (const r of rs) if (v >= r.first && v <= r.last) return true;
  return false;
}

/** One line per control, for `--report` and messages. */
export function describeExits(e: ExitControls): string {
  const rs = (l: readonly IdRange[]): string => l.map((r) => r.first === r.last ? `0x${r.first.toString(16)}` : `0x${r.first.toString(16)}-0x${r.last.toString(16)}`).join('+');
  return [`hlt=${e.hlt ? 'on' : 'off'}`, `rdtsc=${e.rdtsc ? 'on' : 'off'}`,
    `io=${e.io.kind === 'unconditional' ? 'unconditional' : `bitmap:${rs(e.io.ports)}`}`,
    `msr=${e.msr.kind === 'all' ? 'all' : `${e.msr.mode === 'exit' ? 'bitmap' : 'pass'}:${rs(e.msr.msrs)}`}`,
    `cr3-load=${e.cr3Load ? 'on' : 'off'}`, `cr3-store=${e.cr3Store ? 'on' : 'off'}`, `exceptions=0x${e.exceptionBitmap.toString(16)}`,
    `invlpg=${e.invlpg ? 'on' : 'off'}`, `pause=${e.pause ? 'on' : 'off'}`,
    `preemption-timer=${e.preemptionTimer === null ? 'off' : e.preemptionTimer}`, `vpid=${e.vpid ? 'on' : 'off'}`,
    `cr0-mask=0x${crMasks(e).cr0.toString(16)}`, `cr4-mask=0x${crMasks(e).cr4.toString(16)}`, `ept-populate=${e.eptPopulate ?? 'eager'}`,
    ...(e.ept === undefined ? [] : [`ept=${e.ept ? 'on' : 'off'}`])].join(',');
}
