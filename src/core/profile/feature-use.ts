// Which VMX feature an exit reason proves the run used: an exit of that reason can only happen
// when the VMM enabled a control that needs the feature (SDM Vol. 3C §26.1-§26.2 name the
// control behind each conditional exit; Vol. 3D Appendix A the capability that allows it).
// Re-costing a run on a generation that lacks one of them is a warning: the same guest on that
// generation would run differently (more exits of other kinds), so run it there to see.
// Reasons that exit without any optional control (CPUID, HLT with HLT exiting, I/O, ...) are
// absent from the table.
import { ExitReason } from '../vmx/exit-reasons';
import { FEATURE_NAMES, VmxFeature } from '../vmx/features';
import { findGeneration, type GenerationName } from '../vmx/generations';

export const REASON_FEATURE: ReadonlyMap<ExitReason, VmxFeature> = new Map<ExitReason, VmxFeature>([
  [ExitReason.NmiWindow, VmxFeature.VirtualNmis], // NMI-window exiting needs virtual NMIs (§27.2.1.1)
  [ExitReason.MonitorTrapFlag, VmxFeature.MonitorTrapFlag],
  [ExitReason.TprBelowThreshold, VmxFeature.TprShadow],
  [ExitReason.ApicAccess, VmxFeature.VirtualizeApicAccesses],
  [ExitReason.VirtualizedEoi, VmxFeature.VirtualInterruptDelivery],
  [ExitReason.GdtrIdtrAccess, VmxFeature.DescriptorTableExiting],
  [ExitReason.LdtrTrAccess, VmxFeature.DescriptorTableExiting],
  [ExitReason.EptViolation, VmxFeature.Ept],
  [ExitReason.EptMisconfiguration, VmxFeature.Ept],
  [ExitReason.Invept, VmxFeature.Ept],
  [ExitReason.Rdtscp, VmxFeature.Rdtscp],
  [ExitReason.PreemptionTimerExpired, VmxFeature.PreemptionTimer],
  [ExitReason.Invvpid, VmxFeature.Vpid],
  [ExitReason.Wbinvd, VmxFeature.WbinvdExiting],
  [ExitReason.ApicWrite, VmxFeature.ApicRegisterVirtualization],
  [ExitReason.Rdrand, VmxFeature.RdrandExiting],
  [ExitReason.Invpcid, VmxFeature.Invpcid],
  [ExitReason.Vmfunc, VmxFeature.VmFunctions],
  [ExitReason.Encls, VmxFeature.EnclsExiting],
  [ExitReason.Rdseed, VmxFeature.RdseedExiting],
  [ExitReason.PageModificationLogFull, VmxFeature.Pml],
  [ExitReason.Xsaves, VmxFeature.Xsaves],
  [ExitReason.Xrstors, VmxFeature.Xsaves],
  [ExitReason.Pconfig, VmxFeature.PconfigExiting],
  [ExitReason.SppRelatedEvent, VmxFeature.SubPageWritePermissions],
  [ExitReason.Umwait, VmxFeature.UserWaitPause],
  [ExitReason.Tpause, VmxFeature.UserWaitPause],
  [ExitReason.Enclv, VmxFeature.EnclvExiting],
  [ExitReason.InstructionTimeout, VmxFeature.InstructionTimeout],
]);

/** The features a run used: those its exit reasons prove, plus any the VMM reports. */
export function featuresUsed(reasonsWithExits: Iterable<number>, reported: Iterable<VmxFeature> = []): Set<VmxFeature> {
  const used = new Set<VmxFeature>(reported);
  for (const r of reasonsWithExits) {
    const f = REASON_FEATURE.get(r);
    if (f !== undefined) used.add(f);
  }
  return used;
}

/**
 * Warnings for re-costing a run on `gen`: the generation's row has no VMX at all, or lacks a
 * feature the run used (facts from generations.ts, as the real parts have them).
 */
export function featureWarnings(gen: GenerationName, used: ReadonlySet<VmxFeature>): string[] {
  const g = findGeneration(gen);
  if (g === undefined) return [`unknown generation '${gen}'`];
  if (g.vmx === null) return [`${g.title} (${g.part}) has no VMX: the round trip is that of the VT-x parts of the generation`];
  const out: string[] = [];
  for (const f of [...used].sort((a, b) => a - b)) {
    if (!g.vmx.features.has(f)) out.push(`${g.title} lacks ${FEATURE_NAMES.get(f) ?? `feature ${f}`}, which this run used: run the guest on ${gen} to see its real exits`);
  }
  return out;
}
