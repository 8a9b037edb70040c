// Guest exceptions leave an instruction by throwing one preallocated object (faults are rare;
// throwing a fresh Error per fault would allocate and capture stacks). The run loop catches it
// once, restores EIP to the start of the instruction and delivers the exception
// (fault semantics, SDM Vol. 3A §6.5).

export class CpuFault {
  vector = 0;
  errorCode = 0;
  hasErrorCode = false;
}

/** The single instance thrown for every guest exception. */
export const FAULT = new CpuFault();

/** Vectors that push an error code (SDM Vol. 3A Table 6-1). */
export function pushesErrorCode(vector: number): boolean {
  return vector === 8 || (vector >= 10 && vector <= 14) || vector === 17 || vector === 21;
}

/** Exception classes for the double-fault rules (SDM Vol. 3A Table 6-4/6-5). */
export enum FaultClass { Benign = 0, Contributory = 1, PageFault = 2, DoubleFault = 3 }

export function faultClass(vector: number): FaultClass {
  if (vector === 0 || (vector >= 10 && vector <= 13)) return FaultClass.Contributory;
  if (vector === 14) return FaultClass.PageFault;
  if (vector === 8) return FaultClass.DoubleFault;
  return FaultClass.Benign;
}
