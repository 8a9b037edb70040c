// Hosted mode in the engine: which generations can run it, and how the exit-control panel's
// control words map onto the VMM's typed `ExitControls` (src/core/vmm/exit-controls.ts). With
// 'enable EPT' and 'unrestricted guest' (westmere and later) the VMM runs the BIOS's real-mode
// code in VMX non-root operation (SDM Vol. 3C §26.2.1.1, §27.8); without them (merom, penryn,
// nehalem, or the panel's 'enable EPT' off) it keeps shadow page tables (one MMU shared by the
// vCPUs) and runs real-mode code as a V86 task or emulates it (issue 6), as `vmxlab run` does
// (src/cli/commands/run.ts).
import type { ExitControls, IdRange, IoExiting } from '../vmm/index';
import { hasEptAndUnrestricted, KVM_CR0_MASK, KVM_CR4_MASK, shadowControls } from '../vmm/exit-controls';
import { ControlField, PinBasedCtls, ProcBasedCtls, ProcBasedCtls2 } from '../vmx/controls';
import { findGeneration, type GenerationName } from '../vmx/generations';
import { generationCaps } from './controls-catalog';
import type { ExitControlSettings } from './protocol';

/** How the VMM maps guest memory: EPT, or shadow page tables it keeps from the guest's own. */
export type PagingMode = 'ept' | 'shadow';

/** The paging the VMM uses on `name` by default (shadow where the generation lacks EPT or
 *  unrestricted guest), or null without VMX. */
export function pagingModeFor(name: GenerationName): PagingMode | null {
  const caps = generationCaps(name);
  if (caps === null) return null;
  return hasEptAndUnrestricted(caps) ? 'ept' : 'shadow';
}

/** null when `name` can run hosted mode, else why not (one sentence for the UI). Every
 *  generation with VMX runs it, with 1-8 vCPUs (shadow paging too: one shadow MMU shared by the
 *  vCPUs, issue 6). */
export function hostedUnavailableReason(name: GenerationName): string | null {
  const gen = findGeneration(name);
  if (gen === undefined) return `unknown CPU generation '${name}'`;
  if (generationCaps(name) === null) return `${gen.title} has no VMX`;
  return null;
}

/** The run mode the app starts in for `name`: hosted where the VMM can run, else bare. */
export function defaultModeFor(name: GenerationName): 'bare' | 'hosted' {
  return hostedUnavailableReason(name) === null ? 'hosted' : 'bare';
}

/** The VMX-preemption timer value the VMM gets when the panel turns the timer on (the panel
 *  has no field for it): its scheduling tick, in timer units (TSC >> IA32_VMX_MISC[4:0], §26.5.1). */
export const PANEL_PREEMPTION_TICK = 100_000;

/** The panel's controls the VMM honours, each with what it becomes in `ExitControls`; the VMM
 *  sets every other control itself (EPT, unrestricted guest, external-interrupt exiting, ...). */
export const HONOURED_CONTROLS: readonly { readonly field: ControlField; readonly mask: number; readonly as: string }[] = [
  { field: ControlField.PinBased, mask: PinBasedCtls.ActivatePreemptionTimer, as: `preemption timer (tick ${PANEL_PREEMPTION_TICK})` },
  { field: ControlField.ProcBased, mask: ProcBasedCtls.HltExiting, as: 'hlt' },
  { field: ControlField.ProcBased, mask: ProcBasedCtls.InvlpgExiting, as: 'invlpg' },
  { field: ControlField.ProcBased, mask: ProcBasedCtls.RdtscExiting, as: 'rdtsc' },
  { field: ControlField.ProcBased, mask: ProcBasedCtls.Cr3LoadExiting, as: 'cr3-load' },
  { field: ControlField.ProcBased, mask: ProcBasedCtls.Cr3StoreExiting, as: 'cr3-store' },
  { field: ControlField.ProcBased, mask: ProcBasedCtls.UnconditionalIoExiting, as: 'io=unconditional' },
  { field: ControlField.ProcBased, mask: ProcBasedCtls.UseIoBitmaps, as: 'io=bitmap (the ports the panel lists, and the VMM\'s own 0xE0)' },
  { field: ControlField.ProcBased, mask: ProcBasedCtls.UseMsrBitmaps, as: 'msr=bitmap (the MSRs the panel lists)' },
  { field: ControlField.ProcBased, mask: ProcBasedCtls.PauseExiting, as: 'pause' },
  { field: ControlField.ProcBased2, mask: ProcBasedCtls2.EnableVpid, as: 'vpid' },
  { field: ControlField.ProcBased2, mask: ProcBasedCtls2.EnableEpt, as: 'ept (off: shadow paging, with CR3-load/store and INVLPG exiting, #PF intercepted and VPID off)' },
];

/** Whether the VMM honours the panel's control (`field`, `mask`). */
export function controlHonoured(field: ControlField, mask: number): boolean {
  return HONOURED_CONTROLS.some((c) => c.field === field && (c.mask >>> 0) === (mask >>> 0));
}

/**
 * The VMM's exit controls for the panel's words and lists. I/O: unconditional exiting wins
 * (§25.6.2: it is ignored when 'use I/O bitmaps' is 1, but the panel's meaning is "every port");
 * 'use I/O bitmaps' makes the listed ports exit; neither bit means no port exits but the VMM's
 * own. MSRs: with 'use MSR bitmaps' the listed MSRs exit ('exit') or pass ('pass'), without it
 * every MSR exits. The exception bitmap is the panel's; the CR0/CR4 masks KVM's. Paging: EPT when
 * the panel has 'enable EPT' and the generation (when given) has EPT and unrestricted guest;
 * otherwise shadow paging with the controls it needs (`shadowControls`: CR3-load/store and
 * INVLPG exiting, #PF in the exception bitmap, VPID off), as `--exits ept=off` gives them. The
 * VMM checks the result against the generation (checkExitControls) and refuses what it cannot give.
 */
export function hostedExitControls(c: ExitControlSettings, generation?: GenerationName): ExitControls {
  const p = ProcBasedCtls;
  const on = (bit: number): boolean => (c.proc & bit) !== 0;
  const io: IoExiting = on(p.UnconditionalIoExiting) ? { kind: 'unconditional' } : { kind: 'bitmap', ports: on(p.UseIoBitmaps) ? c.ioPorts.map(copy) : [] };
  const caps = generation === undefined ? null : generationCaps(generation);
  const ept = on(p.ActivateSecondaryControls) && (c.proc2 & ProcBasedCtls2.EnableEpt) !== 0 && (caps === null || hasEptAndUnrestricted(caps));
  const e: ExitControls = {
    hlt: on(p.HltExiting), rdtsc: on(p.RdtscExiting), io,
    msr: on(p.UseMsrBitmaps) ? { kind: 'bitmap', mode: c.msrMode, msrs: c.msrs.map(copy) } : { kind: 'all' },
    cr3Load: on(p.Cr3LoadExiting), cr3Store: on(p.Cr3StoreExiting),
    exceptionBitmap: c.exceptionBitmap >>> 0, invlpg: on(p.InvlpgExiting), pause: on(p.PauseExiting),
    preemptionTimer: (c.pin & PinBasedCtls.ActivatePreemptionTimer) !== 0 ? PANEL_PREEMPTION_TICK : null,
    vpid: (c.proc2 & ProcBasedCtls2.EnableVpid) !== 0,
    // The panel has no CR0/CR4 guest/host masks: KVM's.
    cr0Mask: KVM_CR0_MASK, cr4Mask: KVM_CR4_MASK,
  };
  return ept ? e : shadowControls(e);
}

const copy = (r: IdRange): IdRange => ({ first: r.first, last: r.last });
