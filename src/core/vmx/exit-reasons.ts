// Basic VM-exit reasons (SDM Vol. 3D Appendix C "VMX Basic Exit Reasons", Table C-1) and the
// bits above them in the exit-reason field (Vol. 3C §25.9.1 "Basic VM-Exit Information",
// table "Format of Exit Reason"). Reason 0 is a real reason: never test one for truthiness.

export enum ExitReason {
  ExceptionOrNmi = 0,
  ExternalInterrupt = 1,
  TripleFault = 2,
  InitSignal = 3,
  StartupIpi = 4,
  IoSmi = 5,
  OtherSmi = 6,
  InterruptWindow = 7,
  NmiWindow = 8,
  TaskSwitch = 9,
  Cpuid = 10,
  Getsec = 11,
  Hlt = 12,
  Invd = 13,
  Invlpg = 14,
  Rdpmc = 15,
  Rdtsc = 16,
  Rsm = 17,
  Vmcall = 18,
  Vmclear = 19,
  Vmlaunch = 20,
  Vmptrld = 21,
  Vmptrst = 22,
  Vmread = 23,
  Vmresume = 24,
  Vmwrite = 25,
  Vmxoff = 26,
  Vmxon = 27,
  CrAccess = 28,
  MovDr = 29,
  IoInstruction = 30,
  Rdmsr = 31,
  Wrmsr = 32,
  EntryFailureGuestState = 33,
  EntryFailureMsrLoading = 34,
  Mwait = 36,
  MonitorTrapFlag = 37,
  Monitor = 39,
  Pause = 40,
  EntryFailureMachineCheck = 41,
  TprBelowThreshold = 43,
  ApicAccess = 44,
  VirtualizedEoi = 45,
  GdtrIdtrAccess = 46,
  LdtrTrAccess = 47,
  EptViolation = 48,
  EptMisconfiguration = 49,
  Invept = 50,
  Rdtscp = 51,
  PreemptionTimerExpired = 52,
  Invvpid = 53,
  Wbinvd = 54,
  Xsetbv = 55,
  ApicWrite = 56,
  Rdrand = 57,
  Invpcid = 58,
  Vmfunc = 59,
  Encls = 60,
  Rdseed = 61,
  PageModificationLogFull = 62,
  Xsaves = 63,
  Xrstors = 64,
  Pconfig = 65,
  SppRelatedEvent = 66,
  Umwait = 67,
  Tpause = 68,
  Loadiwkey = 69,
  Enclv = 70,
  EnqcmdPasidTranslationFailure = 72,
  EnqcmdsPasidTranslationFailure = 73,
  BusLock = 74,
  InstructionTimeout = 75,
  Seamcall = 76,
  Tdcall = 77,
}

/** Exit-reason field bits above the basic reason (bits 15:0). */
export const EXIT_REASON_BASIC_MASK = 0xffff;
/** Bit 27: the exit happened while the guest was in enclave mode. */
export const EXIT_REASON_ENCLAVE_MODE = 1 << 27;
/** Bit 28: a pending MTF VM exit (SMM). */
export const EXIT_REASON_PENDING_MTF = 1 << 28;
/** Bit 29: VM exit from VMX root operation (SMM VM exit). */
export const EXIT_REASON_FROM_ROOT = 1 << 29;
/** Bit 31: VM-entry failure (with basic reasons 33, 34 and 41). */
export const EXIT_REASON_ENTRY_FAILURE = (1 << 31) | 0;

/** Name by basic reason, derived from the enum ('IoInstruction'). */
export const EXIT_REASON_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(ExitReason).filter(([, v]) => typeof v === 'number').map(([k, v]) => [v as number, k]),
);

/** 'IoInstruction (30)', 'EntryFailureGuestState (33, entry failure)', or the bare number. */
export function exitReasonLabel(field: number): string {
  const basic = field & EXIT_REASON_BASIC_MASK;
  const name = EXIT_REASON_NAMES.get(basic) ?? 'unknown';
  return (field & EXIT_REASON_ENTRY_FAILURE) !== 0 ? `${name} (${basic}, entry failure)` : `${name} (${basic})`;
}
