// Distinct address spaces as branded numbers (idea from rust-vmm vm-memory): a guest-linear
// address cannot be passed where a guest-physical one is expected without an explicit cast
// at the translation point (paging, EPT). The brand costs nothing at run time.
export type GuestLinear = number & { readonly __space: 'guest-linear' };
export type GuestPhysical = number & { readonly __space: 'guest-physical' };
export type HostPhysical = number & { readonly __space: 'host-physical' };

export const asLinear = (a: number): GuestLinear => (a >>> 0) as GuestLinear;
// Physical addresses have up to 36 bits (MAXPHYADDR; at or above 4 GB no memory answers,
// PhysicalMemory): a 32-bit value computed as a signed int32 becomes unsigned, a larger one
// (bits 35:32 from a paging or EPT entry) is kept.
export const asGuestPhysical = (a: number): GuestPhysical => (a < 0 ? a >>> 0 : a) as GuestPhysical;
export const asHostPhysical = (a: number): HostPhysical => (a < 0 ? a >>> 0 : a) as HostPhysical;
