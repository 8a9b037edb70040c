// The physical memory map as the BIOS reports it through INT 15h AX=E820h (ACPI spec,
// "System Address Map Interfaces"; OSDev "Detecting Memory (x86)"): what kernel loaders need to
// place an initrd in usable RAM and to fill the Multiboot mem_lower/mem_upper and mmap fields.
// The machine passes the firmware's map; `defaultE820` is the classic PC layout for tests.

/** Address range types: 1 usable RAM, 2 reserved, 3 ACPI reclaimable, 4 ACPI NVS, 5 bad. */
export enum E820Type { Ram = 1, Reserved = 2, Acpi = 3, Nvs = 4, Unusable = 5 }

export interface E820Entry { base: number; length: number; type: number }

/** 639 KB of conventional memory, EBDA, the BIOS area, then RAM from 1 MB to `memoryBytes`. */
export function defaultE820(memoryBytes: number): E820Entry[] {
  return [
    { base: 0, length: 0x9fc00, type: E820Type.Ram },
    { base: 0x9fc00, length: 0x400, type: E820Type.Reserved },
    { base: 0xf0000, length: 0x10000, type: E820Type.Reserved },
    { base: 0x100000, length: Math.max(0, memoryBytes - 0x100000), type: E820Type.Ram },
  ];
}

/** End (exclusive) of the usable region that contains `addr`, or `addr` when none does. */
export function usableEnd(map: readonly E820Entry[], addr: number): number {
  for (const r of usableRegions(map)) if (r.base <= addr && addr < r.end) return r.end;
  return addr;
}

/** Usable RAM regions sorted by base, overlapping/adjacent ones merged. */
export function usableRegions(map: readonly E820Entry[]): { base: number; end: number }[] {
  const r = map.filter((e) => e.type === E820Type.Ram && e.length > 0).map((e) => ({ base: e.base, end: e.base + e.length }));
  r.sort((a, b) => a.base - b.base);
  const out: { base: number; end: number }[] = [];
  for (const x of r) {
    const last = out[out.length - 1];
    if (last !== undefined && x.base <= last.end) last.end = Math.max(last.end, x.end);
    else out.push({ ...x });
  }
  return out;
}
