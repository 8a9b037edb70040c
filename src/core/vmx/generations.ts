// The CPU generations vmxlab can be: one row each, with the CPUID identity of a representative
// part and the VMX features that generation has (in the manner of Bochs' cpu/cpudb/intel/*.cc
// model files). capabilities.ts derives the IA32_VMX_* MSRs from a row; cpu-model.ts builds the
// CPU model (identity from the row, feature bits from what the interpreter implements).
//
// Sources, cited next to each fact:
//  [SDM]     Intel SDM Vol. 3C/3D (feature definitions, Appendix A capability MSRs).
//  [BXDUMP]  hardware MSR dumps kept as comments in Bochs' cpudb files:
//            core2_penryn_t9600.cc (Core 2 Duo T9600) and corei7_skylake-x.cc (i7-7800X).
//  [BX27]    Bochs 2.7 (Debian 2.7+dfsg-4) run with `cpu: model=<model>`, read back by a boot
//            sector that prints CPUID.1 and RDMSR 0x3A, 0x480-0x492 on port 0xE9 (values quoted
//            below). Bochs reports its own VMCS revision 0x2B and region size 4096 for every
//            model but Ice Lake (revision 4), and no preemption-timer rate (0).
//  [XEN]     Xen commit "vmx: Add support for Pause-Loop Exiting" (Intel, 2009): "New NHM
//            processors will support Pause-Loop Exiting".
//  [RECALL]  values recalled from published vmxcap / IA32_VMX_BASIC dumps and not re-verified
//            here (no primary source at hand): marked so they can be replaced when one is.
import { VmxFeature as F } from './features';

export const GENERATION_NAMES = [
  'prescott', 'merom', 'penryn', 'nehalem', 'westmere', 'sandy-bridge', 'ivy-bridge', 'haswell',
  'broadwell', 'skylake', 'ice-lake',
] as const;
export type GenerationName = (typeof GENERATION_NAMES)[number];

/** A generation's VMX facts (not yet filtered by what vmxlab models: see capabilities.ts). */
export interface VmxFacts {
  /** IA32_VMX_BASIC[30:0]. */
  readonly revisionId: number;
  readonly features: ReadonlySet<F>;
  /** IA32_VMX_MISC[4:0]: the preemption timer counts down every 2^rate TSC ticks. */
  readonly preemptionTimerRate: number;
  /** IA32_VMX_MISC[24:16]. */
  readonly cr3TargetCount: number;
}

/**
 * Instruction-set facts of a generation that the interpreter can report in CPUID (SDM Vol. 2A
 * CPUID, Tables 3-8 and 3-10): cpu-model.ts turns those the interpreter implements into the
 * CPUID bits; capabilities.ts then offers the VMX controls that go with them (HostIsa).
 */
export enum IsaFeature {
  /** CPUID.1:ECX[3] MONITOR/MWAIT: SSE3 parts, Prescott on ([BX27 p4_prescott_celeron_336]:
   *  CPUID.1 ECX = 0000651D, bit 3 set). */
  Monitor,
  /** CPUID.80000001H:EDX[27] RDTSCP: Nehalem on (the "enable RDTSCP" control of [BX27
   *  corei5_lynnfield_750]'s 0x48B; Penryn's 0x48B = 00000041 [BXDUMP] has none). */
  Rdtscp,
  /** CPUID.1:ECX[30] RDRAND: Ivy Bridge on (with "RDRAND exiting", [BX27 corei7_ivy_bridge_3770k]). */
  Rdrand,
  /** CPUID.(7,0):EBX[10] INVPCID: Haswell on (with "enable INVPCID", [BX27 corei7_haswell_4770]). */
  Invpcid,
  /** CPUID.(7,0):EBX[18] RDSEED: Broadwell on (with "RDSEED exiting", [BX27 broadwell_ult]). */
  Rdseed,
  /** Intel 64 (CPUID.80000001H:EDX[29] LM, [11] SYSCALL): every generation here. Prescott parts
   *  varied (the first Prescotts had no EM64T); the modelled Celeron D 336 (CPUID 00000F41, E0
   *  stepping) has it: [BX27 p4_prescott_celeron_336] enables BX_ISA_LONG_MODE. */
  Intel64,
  /** CPUID.80000001H:EDX[26] 1-GByte pages: Haswell on among the modelled parts ([BX27
   *  corei7_haswell_4770] enables BX_ISA_1G_PAGES; corei5_arrandale_m520, corei7_sandy_bridge_2600K
   *  and corei7_ivy_bridge_3770K do not: the server Westmere-EP parts had them, these clients not). */
  Page1Gb,
  /** CPUID.1:ECX[26] XSAVE (XSAVE/XRSTOR, XSETBV/XGETBV, CR4.OSXSAVE, CPUID leaf 0DH): Penryn,
   *  the first Intel part with it ([BX27 core2_penryn_t9600] reports it: "xsave=1" in
   *  test/vmx-guests/expected/vmx-isa.penryn.txt; Bochs' core2_penryn_t9600.cc enables
   *  BX_ISA_XSAVE), then Sandy Bridge on (with AVX). Merom and Prescott have none; neither have
   *  Nehalem and Westmere (Bochs' corei5_lynnfield_750.cc and corei5_arrandale_m520.cc leave
   *  CPUID.1:ECX[26] clear, and their maximum basic leaf is 0BH, below 0DH). */
  Xsave,
}

export interface Generation {
  readonly name: GenerationName;
  /** Marketing name of the microarchitecture and the representative part. */
  readonly title: string;
  readonly part: string;
  readonly family: number;
  readonly model: number;
  readonly stepping: number;
  /** CPUID 80000002h-80000004h, as the part reports it (leading spaces included). */
  readonly brand: string;
  /** null: no VMX (CPUID.1:ECX[5] = 0). */
  readonly vmx: VmxFacts | null;
  /** The part's instruction-set facts (IsaFeature). */
  readonly isa: ReadonlySet<IsaFeature>;
}

const set = (...lists: (readonly F[])[]): ReadonlySet<F> => new Set(lists.flat());
const I = IsaFeature;
const ISA_PRESCOTT: ReadonlySet<IsaFeature> = new Set([I.Monitor, I.Intel64]);
const ISA_PENRYN: ReadonlySet<IsaFeature> = new Set([...ISA_PRESCOTT, I.Xsave]);
const ISA_NEHALEM: ReadonlySet<IsaFeature> = new Set([...ISA_PRESCOTT, I.Rdtscp]);
const ISA_SANDY_BRIDGE: ReadonlySet<IsaFeature> = new Set([...ISA_NEHALEM, I.Xsave]);
const ISA_IVY_BRIDGE: ReadonlySet<IsaFeature> = new Set([...ISA_SANDY_BRIDGE, I.Rdrand]);
const ISA_HASWELL: ReadonlySet<IsaFeature> = new Set([...ISA_IVY_BRIDGE, I.Invpcid, I.Page1Gb]);
const ISA_BROADWELL: ReadonlySet<IsaFeature> = new Set([...ISA_HASWELL, I.Rdseed]);

// Every VT-x processor: activity states HLT, shutdown and wait-for-SIPI (MISC[8:6] = 111b in
// the Penryn and Skylake-X dumps [BXDUMP]); the primary controls that have no feature flag.
const VTX_BASE: readonly F[] = [F.ActivityHlt, F.ActivityShutdown, F.ActivityWaitForSipi];

// Merom: Core microarchitecture, Intel 64. TPR shadow (with CR8-load/store exiting, which
// exist for CR8 in 64-bit mode) is assumed from the first Intel 64 VT-x parts; virtual NMIs and
// the secondary controls are absent here and present on Penryn [BXDUMP]. No Merom dump at hand.
const MEROM: readonly F[] = [...VTX_BASE, F.TprShadow];

// Penryn [BXDUMP core2_penryn_t9600.cc]: 0x480 = 005A0800_0000000D (revision 0xD, bit 49
// dual-monitor SMM, bit 54 INS/OUTS information, bit 55 clear: no TRUE MSRs), 0x481 allowed-1
// 0x3F (virtual NMIs), 0x482 allowed-1 F7F9FFFE (TPR shadow, NMI-window, secondary controls;
// no MTF), 0x483 allowed-1 0003FFFF and 0x484 allowed-1 00003FFF (load PERF_GLOBAL_CTRL, no
// PAT/EFER controls), 0x485 = 000403C0 (no preemption timer, 4 CR3 targets), 0x48B = 00000041
// (virtualize APIC accesses, WBINVD exiting).
const PENRYN: readonly F[] = [
  ...MEROM, F.DualMonitorSmm, F.InsOutsInfo, F.VirtualNmis, F.SecondaryControls,
  F.VirtualizeApicAccesses, F.WbinvdExiting, F.LoadPerfGlobalCtrl,
];

// Nehalem: EPT and VPID (SDM: first processors with the "enable EPT"/"enable VPID" controls),
// the preemption timer, PAT/EFER save/load, TRUE capability MSRs; [BX27 corei5_lynnfield_750]:
// 0x48B allowed-1 0000007F (APIC accesses, EPT, descriptor-table exiting, RDTSCP, x2APIC
// virtualization, VPID, WBINVD exiting: no unrestricted guest), 0x48C = 00000F01_06114141
// (execute-only, 4-level walk, UC/WB, 2 MB pages, INVEPT single/all, INVVPID all types; no
// 1 GB pages or A/D flags), 0x483 allowed-1 007FFFFF, 0x484 allowed-1 0000FFFF. MTF: Bochs 2.7
// leaves it out of every model before Ice Lake (0x482 allowed-1 F7F9FFFE, its source says "not
// implemented yet"); the Skylake-X dump has it and vmxlab gives it to Nehalem, the generation
// that introduced it [RECALL]. MISC[5] (LMA stored on exit) as on every Intel 64 part since.
const NEHALEM: readonly F[] = [
  ...PENRYN, F.TrueControls, F.PreemptionTimer, F.MonitorTrapFlag, F.Ept, F.Vpid,
  F.DescriptorTableExiting, F.Rdtscp, F.VirtualizeX2apic, F.SaveLoadPat, F.SaveLoadEfer,
  F.EptExecuteOnly, F.Ept2MbPages, F.StoreLmaOnExit,
];

// Westmere: unrestricted guest ([BX27 corei5_arrandale_m520]: 0x48B allowed-1 000000FF, bit 7);
// PAUSE-loop exiting [XEN] (Bochs 2.7's Westmere..Ivy Bridge models omit it).
const WESTMERE: readonly F[] = [...NEHALEM, F.UnrestrictedGuest, F.PauseLoopExiting];

// Sandy Bridge: no VMX change visible in [BX27 corei7_sandy_bridge_2600k] (0x48B = 000000FF,
// 0x48C = 00000F01_06114141).
const SANDY_BRIDGE: readonly F[] = [...WESTMERE];

// Ivy Bridge: RDRAND exiting ([BX27 corei7_ivy_bridge_3770k]: 0x48B allowed-1 000008FF, bit 11).
const IVY_BRIDGE: readonly F[] = [...SANDY_BRIDGE, F.RdrandExiting];

// Haswell [BX27 corei7_haswell_4770]: 0x48B allowed-1 00047FFF (+ APIC-register virtualization,
// virtual-interrupt delivery, INVPCID, VM functions, VMCS shadowing, EPT-violation #VE), 0x48C =
// 00000F01_06334141 (+ 1 GB pages, A/D flags), 0x485 bit 29 (VMWRITE to any field), 0x491 = 1
// (EPTP switching).
const HASWELL: readonly F[] = [
  ...IVY_BRIDGE, F.ApicRegisterVirtualization, F.VirtualInterruptDelivery, F.Invpcid, F.VmFunctions,
  F.VmcsShadowing, F.EptViolationVe, F.Ept1GbPages, F.EptAccessedDirty, F.VmwriteAnyField,
];

// Broadwell: RDSEED exiting ([BX27 broadwell_ult]: 0x48B allowed-1 00057FFF, bit 16).
const BROADWELL: readonly F[] = [...HASWELL, F.RdseedExiting];

// Skylake [BXDUMP corei7_skylake-x.cc, i7-7800X]: 0x480 = 00DA0400_00000004, 0x481 allowed-1 FF
// (posted interrupts), 0x482 allowed-1 FFF9FFFE (MTF), 0x483 allowed-1 01FFFFFF (clear
// BNDCFGS, conceal from PT), 0x484 allowed-1 0003FFFF, 0x485 = 7004C1E7 (rate 7, PT in VMX,
// bit 29, bit 30 zero-length injection), 0x48B allowed-1 025D3FFF (+ RDSEED exiting, #VE,
// conceal from PT, XSAVES, mode-based execute, TSC scaling; this part lacks VMCS shadowing and
// PML), 0x48C = 00000F01_06734141 (+ advanced EPT-violation information, bit 22).
const SKYLAKE: readonly F[] = [
  ...BROADWELL.filter((f) => f !== F.VmcsShadowing), F.PostedInterrupts, F.ZeroLengthInjection,
  F.Mpx, F.ProcessorTrace, F.ConcealVmxFromPt, F.Xsaves, F.ModeBasedEptExecute, F.TscScaling,
  F.EptAdvancedExitInfo,
];

// Ice Lake [BX27 corei7_icelake_u]: revision 4, 0x48B allowed-1 02977FFF (+ VMCS shadowing,
// PML, sub-page write permissions), 0x482 allowed-1 FFF9FFFE.
const ICE_LAKE: readonly F[] = [...SKYLAKE, F.VmcsShadowing, F.Pml, F.SubPageWritePermissions];

/** The generation table. */
export const GENERATIONS: readonly Generation[] = [
  {
    // Prescott without VT-x: the Celeron D 336 of [BX27 p4_prescott_celeron_336] (CPUID.1 EAX =
    // 00000F41, ECX = 0000651D: bit 5 clear). VT-x came with the Prescott 2M Pentium 4 662/672
    // (late 2005); the earlier Prescott parts, this one included, have none.
    name: 'prescott', title: 'Prescott', part: 'Celeron D 336',
    family: 15, model: 4, stepping: 1, brand: '                Intel(R) Celeron(R) CPU 2.80GHz',
    vmx: null, isa: ISA_PRESCOTT,
  },
  {
    // Core 2 Duo T7200 (Merom B2, CPUID 000006F6). Revision: 0xD as Penryn (same Core
    // microarchitecture VMCS) [RECALL].
    name: 'merom', title: 'Merom', part: 'Core 2 Duo T7200',
    family: 6, model: 15, stepping: 6, brand: 'Intel(R) Core(TM)2 CPU         T7200  @ 2.00GHz',
    vmx: { revisionId: 0x0d, features: set(MEROM), preemptionTimerRate: 0, cr3TargetCount: 4 },
    isa: ISA_PRESCOTT,
  },
  {
    // [BX27 core2_penryn_t9600]: CPUID.1 EAX = 0001067A; revision 0xD [BXDUMP].
    name: 'penryn', title: 'Penryn', part: 'Core 2 Duo T9600',
    family: 6, model: 0x17, stepping: 0xa, brand: 'Intel(R) Core(TM)2 Duo CPU     T9600  @ 2.80GHz',
    vmx: { revisionId: 0x0d, features: set(PENRYN), preemptionTimerRate: 0, cr3TargetCount: 4 },
    isa: ISA_PENRYN,
  },
  {
    // [BX27 corei5_lynnfield_750]: CPUID.1 EAX = 000106E5. Revision 0xE, rate 5 (MISC
    // 000401E5) [RECALL].
    name: 'nehalem', title: 'Nehalem', part: 'Core i5 750',
    family: 6, model: 0x1e, stepping: 5, brand: 'Intel(R) Core(TM) i5 CPU         750  @ 2.67GHz',
    vmx: { revisionId: 0x0e, features: set(NEHALEM), preemptionTimerRate: 5, cr3TargetCount: 4 },
    isa: ISA_NEHALEM,
  },
  {
    // [BX27 corei5_arrandale_m520]: CPUID.1 EAX = 00020652. Revision 0xE, rate 5 [RECALL].
    name: 'westmere', title: 'Westmere', part: 'Core i5 M 520',
    family: 6, model: 0x25, stepping: 2, brand: 'Intel(R) Core(TM) i5 CPU       M 520  @ 2.40GHz',
    vmx: { revisionId: 0x0e, features: set(WESTMERE), preemptionTimerRate: 5, cr3TargetCount: 4 },
    isa: ISA_NEHALEM,
  },
  {
    // [BX27 corei7_sandy_bridge_2600k]: CPUID.1 EAX = 000206A7. Revision 0x10, rate 5 [RECALL].
    name: 'sandy-bridge', title: 'Sandy Bridge', part: 'Core i7-2600K',
    family: 6, model: 0x2a, stepping: 7, brand: '       Intel(R) Core(TM) i7-2600K CPU @ 3.40GHz',
    vmx: { revisionId: 0x10, features: set(SANDY_BRIDGE), preemptionTimerRate: 5, cr3TargetCount: 4 },
    isa: ISA_SANDY_BRIDGE,
  },
  {
    // [BX27 corei7_ivy_bridge_3770k]: CPUID.1 EAX = 000306A9. Revision 0x10, rate 5 [RECALL].
    name: 'ivy-bridge', title: 'Ivy Bridge', part: 'Core i7-3770K',
    family: 6, model: 0x3a, stepping: 9, brand: '       Intel(R) Core(TM) i7-3770K CPU @ 3.50GHz',
    vmx: { revisionId: 0x10, features: set(IVY_BRIDGE), preemptionTimerRate: 5, cr3TargetCount: 4 },
    isa: ISA_IVY_BRIDGE,
  },
  {
    // [BX27 corei7_haswell_4770]: CPUID.1 EAX = 000306C3. Revision 0x12, rate 5 (MISC
    // 300481E5) [RECALL].
    name: 'haswell', title: 'Haswell', part: 'Core i7-4770',
    family: 6, model: 0x3c, stepping: 3, brand: 'Intel(R) Core(TM) i7-4770 CPU @ 3.40GHz',
    vmx: { revisionId: 0x12, features: set(HASWELL), preemptionTimerRate: 5, cr3TargetCount: 4 },
    isa: ISA_HASWELL,
  },
  {
    // [BX27 broadwell_ult]: CPUID.1 EAX = 000306D4, the Core M-5Y70. Revision 0x12, rate 5
    // [RECALL].
    name: 'broadwell', title: 'Broadwell', part: 'Core M-5Y70',
    family: 6, model: 0x3d, stepping: 4, brand: 'Intel(R) Processor 5Y70 CPU @ 1.10GHz',
    vmx: { revisionId: 0x12, features: set(BROADWELL), preemptionTimerRate: 5, cr3TargetCount: 4 },
    isa: ISA_BROADWELL,
  },
  {
    // [BX27 corei7_skylake_x]: CPUID.1 EAX = 00050654. Revision 4, rate 7 [BXDUMP].
    name: 'skylake', title: 'Skylake', part: 'Core i7-7800X',
    family: 6, model: 0x55, stepping: 4, brand: 'Intel(R) Core(TM) i7-7800X CPU @ 3.50GHz',
    vmx: { revisionId: 0x04, features: set(SKYLAKE), preemptionTimerRate: 7, cr3TargetCount: 4 },
    isa: ISA_BROADWELL,
  },
  {
    // [BX27 corei7_icelake_u]: CPUID.1 EAX = 000706E5, revision 4. Rate 7 as Skylake [RECALL].
    name: 'ice-lake', title: 'Ice Lake', part: 'Core i7-1065G7',
    family: 6, model: 0x7e, stepping: 5, brand: 'Intel(R) Core(TM) i7-1065G7 CPU @ 1.30GHz',
    vmx: { revisionId: 0x04, features: set(ICE_LAKE), preemptionTimerRate: 7, cr3TargetCount: 4 },
    isa: ISA_BROADWELL,
  },
];

/**
 * The generation `vmxlab run` uses without --gen: one with every feature issue 4 lists (EPT
 * with A/D flags and 1 GB pages, VPID, unrestricted guest, preemption timer, PAUSE-loop,
 * RDRAND/RDSEED exiting, INVPCID, descriptor-table exiting, PAT/EFER controls).
 */
export const DEFAULT_GENERATION: GenerationName = 'skylake';

const BY_NAME = new Map<string, Generation>(GENERATIONS.map((g) => [g.name, g]));

/** The generation called `name`, or undefined. */
export function findGeneration(name: string): Generation | undefined {
  return BY_NAME.get(name);
}

/** The generation called `name`; throws an Error listing the valid names otherwise. */
export function generation(name: string): Generation {
  const g = BY_NAME.get(name);
  if (g === undefined) throw new Error(`unknown CPU generation '${name}' (one of ${GENERATION_NAMES.join(', ')})`);
  return g;
}
