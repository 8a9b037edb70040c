// The paging-heavy guest of issue 6 and a minimal test VMM that runs it under shadow paging.
//
// The guest (32-bit protected mode, paging on from the start, CR0.WP = 1, CR4.PSE = 1) has two
// address spaces built by `setupGuest` as a loader would: PD_A and PD_B both map 0-4 MB with a
// supervisor 4 MB page (code, IDT, GDT, TSS, stack, its own page tables, the log); linear DATA
// (4 MB-8 MB) goes through PT_A (frames 0x400000 + i*4K) in A and PT_B (frames 0x500000 + i*4K,
// preset with i*13+5) in B; linear HIGH (8 MB-12 MB, A only, PT_A2) holds a user code page, a
// user data page, a supervisor-only page and a supervisor read-only page. It runs:
//   1. N fresh pages of A written (value i*7+1);
//   2. K CR3 loads, B first then alternating, each followed by reading the N pages;
//   3. a CR3 load back to A, then for each page INVLPG and a read;
//   4. a store into its own page table PT_A (page N becomes an alias of page 0), INVLPG, a read;
//   5. IRET to ring 3 at HIGH: a read and a write of the user page, then a read of the
//      supervisor-only page: the guest's own #PF (error code 5), whose handler returns to ring 0;
//   6. a store into the read-only page: the guest's own #PF (error code 3), whose handler makes
//      the PTE writable (a store into PT_A2) and INVLPGs; the store is retried.
// The checksum (ESI), the #PF log and the page tables (with their A/D bits) are compared with
// the same guest run on the bare CPU. With `pae`, the same guest runs on PAE tables (SDM Vol. 3A
// §4.4: CR3 = PDPT_A/PDPT_B, two 2 MB pages over 0-4 MB, 8-byte entries) and the ShadowMmu
// builds PAE shadows (the real CR4.PAE = 1).
//
// The test VMM (runShadow) enters the guest directly in protected mode with paging, GuestCr3 =
// the ShadowMmu's root (generation 'merom': no EPT, no unrestricted guest), with CR3-load,
// CR3-store, INVLPG and HLT exiting and #PF in the exception bitmap (PFEC mask/match 0: every
// #PF exits, SDM Vol. 3C §25.6.3), and on each exit calls the ShadowMmu: a CR3 load -> activate
// and VMWRITE GuestCr3; INVLPG -> invlpg; #PF -> pageFault, then nothing (fixed: an event whose
// delivery faulted is re-injected from the IDT-vectoring information, §28.2.4 and §27.6) or the
// guest's #PF injected with CR2 set by the VMM (injection does not write CR2, §27.6).
import { Cr0, Cr4, Seg } from '../../../src/core/cpu/regs';
import { Desc, loadCache, tryFetchDesc } from '../../../src/core/cpu/descriptor';
import { StopReason } from '../../../src/core/cpu/cpu';
import type { PhysicalMemory } from '../../../src/core/platform/memory';
import { ControlField, ProcBasedCtls } from '../../../src/core/vmx/controls';
import { ExitReason } from '../../../src/core/vmx/exit-reasons';
import { VmcsField as V } from '../../../src/core/vmx/fields';
import { ShadowMmu, type ShadowStats } from '../../../src/core/vmm/shadow/index';
import { asm, GDT, VmxMachine } from '../../vmx/support';
import { GUEST_CODE, Guest, TSS1, TSS2 } from '../../vmx/guest-support';

export const PD_A = 0x60000, PD_B = 0x61000, PT_A = 0x62000, PT_B = 0x63000, PT_A2 = 0x64000;
/** PAE: the two page-directory-pointer tables (32-byte aligned, SDM Vol. 3A §4.4.1). */
export const PDPT_A = 0x65000, PDPT_B = 0x65020;
export const LOG = 0x70000, KSTACK = 0x7c000, IDT = 0x33000;
export const DATA = 0x400000, HIGH = 0x800000;
/** Guest RAM as the ShadowMmu sees it; the pool lies above it. */
export const GUEST_RAM = 8 << 20, POOL_BASE = 8 << 20, POOL_PAGES = 64;
const PF_HANDLER = GUEST_CODE + 0x400, BAD_HANDLER = GUEST_CODE + 0x600, USER_CODE = GUEST_CODE + 0x1000;
export const GUEST_CR0 = (Cr0.PE | Cr0.NE | Cr0.ET | Cr0.WP | Cr0.PG) >>> 0;
const P = 1, RW = 2, US = 4, PS = 0x80;

function guestSource(n: number, k: number, pae: boolean): string {
  return `
%define N ${n}
%define K ${k}
PTE equ ${pae ? 8 : 4}
CR3_A equ 0x${(pae ? PDPT_A : PD_A).toString(16)}
CR3_B equ 0x${(pae ? PDPT_B : PD_B).toString(16)}
PT_A equ 0x${PT_A.toString(16)}
PT_A2 equ 0x${PT_A2.toString(16)}
LOG equ 0x${LOG.toString(16)}
KSTACK equ 0x${KSTACK.toString(16)}
DATA equ 0x${DATA.toString(16)}
HIGH equ 0x${HIGH.toString(16)}
start:
  mov esp, KSTACK
  xor esi, esi
  xor ecx, ecx                 ; 1. N fresh pages of A, written
p1: mov eax, ecx
  imul eax, eax, 7
  inc eax
  mov edx, ecx
  shl edx, 12
  mov [edx + DATA], eax
  inc ecx
  cmp ecx, N
  jb p1
  xor ebx, ebx                 ; 2. K CR3 loads: B, A, B, ...
p2: mov eax, CR3_B
  test ebx, 1
  jz .b
  mov eax, CR3_A
.b: mov cr3, eax
  xor ecx, ecx
.r: mov edx, ecx
  shl edx, 12
  add esi, [edx + DATA]
  rol esi, 1
  inc ecx
  cmp ecx, N
  jb .r
  inc ebx
  cmp ebx, K
  jb p2
  mov eax, CR3_A               ; 3. back to A: INVLPG and read each page
  mov cr3, eax
  xor ecx, ecx
p3: mov edx, ecx
  shl edx, 12
  invlpg [edx + DATA]
  add esi, [edx + DATA]
  rol esi, 3
  inc ecx
  cmp ecx, N
  jb p3
  mov dword [PT_A + N*PTE], DATA | 3 ; 4. page N aliases page 0
  invlpg [DATA + N*4096]
  add esi, [DATA + N*4096]
  mov ax, 0x23                 ; 5. ring 3 at HIGH
  mov ds, ax
  mov es, ax
  push dword 0x23
  push dword HIGH + 0x5000
  push dword 2
  push dword 0x1b
  push dword HIGH
  iret
after_user:
  mov ax, 0x10
  mov ds, ax
  mov es, ax
  mov dword [HIGH + 0x3000], 0x1234  ; 6. read-only page: the guest's #PF, then retried
  add esi, [HIGH + 0x3000]
  add esi, [HIGH + 0x1004]
  mov [LOG], esi
  hlt
  times 0x400 - ($ - $$) db 0
pf:                            ; #PF handler (vector 14)
  pop eax
  mov edx, cr2
  mov ecx, [LOG + 4]
  mov [LOG + 8 + ecx*8], edx
  mov [LOG + 12 + ecx*8], eax
  inc dword [LOG + 4]
  add esi, edx
  add esi, eax
  test eax, 4
  jnz .user
  cmp eax, 3
  jne bad
  mov ecx, edx
  sub ecx, HIGH
  shr ecx, 12
  or dword [PT_A2 + ecx*PTE], 2
  invlpg [edx]
  iret
.user:
  mov esp, KSTACK
  jmp after_user
  times 0x600 - ($ - $$) db 0
bad:                           ; every other vector
  mov dword [LOG], 0xbad
  hlt
  times 0x1000 - ($ - $$) db 0
user:                          ; ring 3, at linear HIGH
  mov eax, [HIGH + 0x1000]
  add [HIGH + 0x1004], eax
  mov ebx, [HIGH + 0x2000]
  jmp $
`;
}

/** Loads the guest, its IDT, TSS stack and page tables into `mem` (the same for bare and VMX):
 *  32-bit paging (4 MB page over 0-4 MB), or PAE (two 2 MB pages; PDPTE 0 of PDPT_A/PDPT_B). */
export function setupGuest(mem: PhysicalMemory, n: number, k: number, pae = false): void {
  if (n < 1 || n > 255 || k < 1) throw new Error(`guest needs 1 <= N <= 255 and K >= 1 (N=${n}, K=${k})`);
  mem.load(GUEST_CODE, asm(guestSource(n, k, pae), GUEST_CODE));
  for (let v = 0; v < 256; v++) {
    const h = v === 14 ? PF_HANDLER : BAD_HANDLER;
    mem.write32(IDT + v * 8, (h & 0xffff) | (0x08 << 16));
    mem.write32(IDT + v * 8 + 4, (h & 0xffff0000) | 0x8e00);
  }
  mem.write32(TSS1 + 4, KSTACK); mem.write32(TSS1 + 8, 0x10); // ESP0, SS0
  const size = pae ? 8 : 4;
  /** PDE for linear address `lin`. */
  const pde = (pd: number, lin: number, v: number): void => mem.write32(pd + (pae ? (lin >>> 21) * 8 : (lin >>> 22) * 4), v);
  for (const pd of [PD_A, PD_B]) {
    pde(pd, 0, 0 | P | RW | PS);
    if (pae) pde(pd, 0x200000, 0x200000 | P | RW | PS);
  }
  if (pae) { mem.write32(PDPT_A, PD_A | P); mem.write32(PDPT_B, PD_B | P); }
  pde(PD_A, DATA, PT_A | P | RW | US);
  pde(PD_B, DATA, PT_B | P | RW | US);
  pde(PD_A, HIGH, PT_A2 | P | RW | US);
  for (let i = 0; i < n; i++) {
    mem.write32(PT_A + i * size, (DATA + i * 4096) | P | RW);
    mem.write32(PT_B + i * size, (0x500000 + i * 4096) | P | RW);
    mem.write32(0x500000 + i * 4096, i * 13 + 5);
  }
  const user = [USER_CODE | P | US, 0x601000 | P | RW | US, 0x602000 | P | RW, 0x603000 | P, 0x604000 | P | RW | US];
  for (let i = 0; i < user.length; i++) mem.write32(PT_A2 + i * size, user[i]);
  mem.write32(0x601000, 0x1111); mem.write32(0x601004, 0x2222);
  mem.write32(0x602000, 0x3333); mem.write32(0x603000, 0x4444);
}

/** What the guest leaves behind: the log page, its page tables and its data frames. */
export function guestImage(mem: PhysicalMemory, n: number): Uint8Array[] {
  const page = (a: number): Uint8Array => mem.u8.slice(a, a + 4096);
  const out = [page(LOG), page(PD_A), page(PD_B), page(PT_A), page(PT_B), page(PT_A2), page(PDPT_A)];
  for (let i = 0; i < n; i++) out.push(page(DATA + i * 4096), page(0x500000 + i * 4096));
  for (let i = 0; i < 5; i++) out.push(page(0x600000 + i * 4096));
  return out;
}

/** The guest on the bare CPU (no VMX): CR3 = PD_A, same GDT, TSS and IDT. */
export function runBare(n: number, k: number, pae = false): PhysicalMemory {
  const m = new VmxMachine('merom', { vmxe: false });
  const mem = m.mem, c = m.c;
  // The GDT of test/vmx/guest-support.ts: busy TSS at 0x30, available TSS at 0x38.
  const tssDesc = (i: number, base: number, type: number): void => {
    mem.write32(GDT + i * 8, 0x67 | ((base & 0xffff) << 16));
    mem.write32(GDT + i * 8 + 4, ((base >>> 16) & 0xff) | ((0x80 | type) << 8) | (base & 0xff000000));
  };
  tssDesc(6, TSS1, 0xb); tssDesc(7, TSS2, 0x9);
  c.gdtrLimit = 8 * 8 - 1;
  setupGuest(mem, n, k, pae);
  const d = new Desc();
  if (!tryFetchDesc(c, 0x30, d)) throw new Error('bare guest: no TSS descriptor');
  loadCache(c, Seg.TR, 0x30, d);
  c.idtrBase = IDT; c.idtrLimit = 256 * 8 - 1;
  c.cr4 = Cr4.PSE | (pae ? Cr4.PAE : 0); c.cr0 = GUEST_CR0; c.cr3 = pae ? PDPT_A : PD_A;
  c.tlb.flushAll();
  c.eip = GUEST_CODE; c.r32[4] = KSTACK;
  c.invalidateFetch();
  const r = c.run(10_000_000);
  if (r !== StopReason.Halted) throw new Error(`bare guest did not halt: ${StopReason[r]} at 0x${c.eip.toString(16)}`);
  return mem;
}

export interface ShadowRun {
  mem: PhysicalMemory;
  /** VM exits by basic reason. */
  exits: Map<number, number>;
  /** #PF exits by region of the faulting linear address: low (0-4 MB), data, high. */
  pf: { low: number; data: number; high: number };
  /** #PF exits that hit while an event was being delivered (re-injected). */
  reinjected: number;
  stats: ShadowStats;
}

/** The guest in VMX non-root operation on `gen` under the test VMM with a ShadowMmu. */
export function runShadow(n: number, k: number, gen = 'merom', poolPages = POOL_PAGES, pae = false): ShadowRun {
  const g = new Guest(gen);
  const mem = g.m.mem;
  setupGuest(mem, n, k, pae);
  const mmu = new ShadowMmu(mem, { base: POOL_BASE, pages: poolPages }, GUEST_RAM);
  const cr4 = Cr4.PSE | (pae ? Cr4.PAE : 0); // the guest's CR4 (the real one adds VMXE)
  g.ctl(ControlField.ProcBased, ProcBasedCtls.HltExiting | ProcBasedCtls.InvlpgExiting | ProcBasedCtls.Cr3LoadExiting | ProcBasedCtls.Cr3StoreExiting);
  g.w(V.ExceptionBitmap, 1 << 14);
  g.w(V.PageFaultErrorCodeMask, 0); g.w(V.PageFaultErrorCodeMatch, 0);
  g.w(V.GuestCr0, GUEST_CR0); g.w(V.Cr0ReadShadow, GUEST_CR0);
  g.w(V.GuestCr3, mmu.activate(GUEST_CR0, pae ? PDPT_A : PD_A, cr4));
  // The shadow has the guest's paging mode: the real CR4.PAE follows it (VM entry loads the
  // shadow PDPTEs from GuestCr3, SDM Vol. 3C §27.3.2.4).
  g.w(V.GuestCr4, cr4 | Cr4.VMXE);
  if (mmu.shadowPae !== pae) throw new Error('shadow paging mode differs from the guest\'s');
  g.w(V.GuestIdtrBase, IDT); g.w(V.GuestIdtrLimit, 256 * 8 - 1);
  g.w(V.GuestRsp, KSTACK); g.w(V.GuestRip, GUEST_CODE);
  g.c.dcache?.clear();
  const exits = new Map<number, number>();
  const pf = { low: 0, data: 0, high: 0 };
  let reinjected = 0;
  for (let steps = 0; ; steps++) {
    if (steps > 100_000) throw new Error('shadow guest: too many exits');
    const x = g.exit(1_000_000);
    exits.set(x.reason, (exits.get(x.reason) ?? 0) + 1);
    g.w(V.VmEntryInterruptionInfo, 0);
    if (x.reason === ExitReason.Hlt) break;
    if (x.reason === ExitReason.CrAccess) {
      const q = x.qualification, cr = q & 0xf, type = (q >>> 4) & 3, reg = (q >>> 8) & 0xf;
      if (cr !== 3 || type !== 0) throw new Error(`shadow guest: unexpected CR access, qualification 0x${q.toString(16)}`);
      const value = reg === 4 ? g.rd(V.GuestRsp) : g.c.r32[reg] >>> 0;
      g.w(V.GuestCr3, mmu.activate(GUEST_CR0, value, cr4));
      g.skip();
    } else if (x.reason === ExitReason.Invlpg) {
      mmu.invlpg(x.qualification);
      g.skip();
    } else if (x.reason === ExitReason.ExceptionOrNmi && (x.interruptionInfo & 0x7ff) === (14 | (3 << 8))) {
      const lin = x.qualification >>> 0;
      if (lin < DATA) pf.low++; else if (lin < HIGH) pf.data++; else pf.high++;
      const r = mmu.pageFault(lin, x.interruptionErrorCode);
      const vectoring = x.idtVectoringInfo >>> 0;
      if (r.kind === 'fixed') {
        if ((vectoring & 0x80000000) !== 0) {
          // The fault hit while delivering an event: deliver it again (§27.6 event injection).
          reinjected++;
          g.w(V.VmEntryInterruptionInfo, vectoring & ~0x1000);
          if ((vectoring & 0x800) !== 0) g.w(V.VmEntryExceptionErrorCode, x.idtVectoringErrorCode);
          const type = (vectoring >>> 8) & 7;
          if (type === 4 || type === 5 || type === 6) g.w(V.VmEntryInstructionLength, x.instructionLength);
        }
      } else if (r.kind === 'guest') {
        if ((vectoring & 0x80000000) !== 0) throw new Error(`shadow guest: guest #PF at 0x${lin.toString(16)} while delivering 0x${vectoring.toString(16)}`);
        g.c.cr2 = lin;
        g.w(V.VmEntryInterruptionInfo, (14 | (3 << 8) | (1 << 11) | (1 << 31)) >>> 0);
        g.w(V.VmEntryExceptionErrorCode, r.errorCode);
      } else {
        throw new Error(`shadow guest: MMIO access at 0x${r.gpa.toString(16)}`);
      }
    } else {
      throw new Error(`shadow guest: unexpected exit ${ExitReason[x.reason] ?? x.reason} (qualification 0x${x.qualification.toString(16)}) at 0x${x.guestRip.toString(16)}`);
    }
  }
  return { mem, exits, pf, reinjected, stats: { ...mmu.stats } };
}
