// A generation as a CPU model for createCpu: CPUID identity (family, model, stepping, brand)
// from the generation; CPUID feature bits are what the interpreter implements (P6_MODEL's),
// plus CPUID.1:ECX.VMX when the generation has VMX, with the factory that installs its VMX
// unit. The interpreter has no long mode and no SSE: reporting the real part's feature bits
// would promise instructions that raise #UD here.
import { Cpuid1Ecx, CpuModel, P6_MODEL } from '../cpu/model';
import { capabilitiesFor } from './capabilities';
import { Generation, generation } from './generations';
import { VmxUnit } from './unit';

export function cpuModelFor(gen: Generation): CpuModel {
  const base: CpuModel = {
    ...P6_MODEL,
    name: gen.name,
    family: gen.family, model: gen.model, stepping: gen.stepping, brand: gen.brand,
    leaf1Ecx: gen.vmx !== null ? P6_MODEL.leaf1Ecx | Cpuid1Ecx.VMX : P6_MODEL.leaf1Ecx,
  };
  if (gen.vmx === null) return base;
  // The capabilities depend on the model's own CPUID bits (long mode, RDTSCP, ...).
  const caps = capabilitiesFor(gen, base);
  return { ...base, vmx: (cpu) => new VmxUnit(cpu, caps) };
}

/** The CPU model of the generation called `name` (throws, listing the names, if unknown). */
export function cpuModelForName(name: string): CpuModel {
  return cpuModelFor(generation(name));
}
