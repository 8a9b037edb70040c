// The live exit table: the latest exit snapshot of a stats batch, sorted and filtered for the
// view, each reason expandable into its sub-keys and guest RIPs; the per-vCPU filter (the engine
// keeps one recorder per vCPU); exports built from the engine's whole profile.
import { defineStore } from 'pinia';
import { computed, markRaw, ref, shallowRef } from 'vue';
import type { ExitKeyRow, ExitReasonRow, ExitSnapshot, ExitSourceKind, StatsBatch } from '../../../core/engine/protocol';
import { buildTrace, traceToJson } from '../../../core/profile/trace';
import { formatCsvReport } from '../../../core/profile/report-csv';
import { profileToJson } from '../../../core/profile/profile-json';
import type { ExportKind } from '../../../main/ipc';
import { platform } from '../platform';

export const SORT_COLUMNS = ['name', 'count', 'percent', 'rate', 'cycles', 'avg'] as const;
export type SortColumn = (typeof SORT_COLUMNS)[number];

export interface TableRow extends ExitReasonRow {
  readonly percent: number;
  /** Exits per second of virtual time. */
  readonly rate: number;
  readonly cyclesPercent: number;
}

export const useExitStore = defineStore('exits', () => {
  const snapshot = shallowRef<ExitSnapshot | null>(null);
  const source = ref<ExitSourceKind>('none');
  const virtualNs = ref(0);
  const sortBy = ref<SortColumn>('count');
  const descending = ref(true);
  const filter = ref('');
  const expanded = ref<number[]>([]);
  const vcpu = ref<number | null>(null);
  const vcpuCount = ref(1);
  /** The vCPU numbers the per-vCPU filter offers. */
  const vcpuList = ref<number[]>([0]);

  function ingest(s: StatsBatch): void {
    snapshot.value = s.exits === null ? null : markRaw(s.exits);
    source.value = s.exitSource;
    virtualNs.value = s.virtualNs;
    vcpuCount.value = s.perCpu.length;
    // The filter lists every vCPU of the machine and any vCPU number exits arrived with.
    const list = new Set<number>(s.perCpu.map((_, i) => i));
    for (const v of s.exits?.vcpus ?? []) list.add(v);
    if (vcpu.value !== null) list.add(vcpu.value);
    const sorted = [...list].sort((a, b) => a - b);
    if (sorted.join() !== vcpuList.value.join()) vcpuList.value = sorted;
  }

  function reset(): void {
    snapshot.value = null;
    virtualNs.value = 0;
  }

  const rows = computed<TableRow[]>(() => {
    const s = snapshot.value;
    if (s === null) return [];
    const secs = virtualNs.value / 1e9;
    const totalCycles = s.reasons.reduce((a, r) => a + r.cycles, 0);
    const f = filter.value.trim().toLowerCase();
    const list = s.reasons
      .filter((r) => f === '' || r.name.toLowerCase().includes(f) || String(r.reason) === f ||
        s.subkeys.some((k) => k.reason === r.reason && k.label.toLowerCase().includes(f)))
      .map((r) => ({
        ...r, percent: s.total > 0 ? (r.count / s.total) * 100 : 0, rate: secs > 0 ? r.count / secs : 0,
        cyclesPercent: totalCycles > 0 ? (r.cycles / totalCycles) * 100 : 0,
      }));
    const key = sortBy.value;
    const val = (r: TableRow): number | string => key === 'name' ? r.name : key === 'percent' ? r.count : key === 'avg' ? r.avgCycles : r[key];
    const dir = descending.value ? -1 : 1;
    return list.sort((a, b) => {
      const x = val(a), y = val(b);
      return (x < y ? -1 : x > y ? 1 : 0) * dir || a.reason - b.reason;
    });
  });

  function subkeysOf(reason: number): ExitKeyRow[] {
    return snapshot.value?.subkeys.filter((k) => k.reason === reason) ?? [];
  }
  function ripsOf(reason: number): ExitKeyRow[] {
    return snapshot.value?.rips.filter((k) => k.reason === reason) ?? [];
  }

  function sort(col: SortColumn): void {
    if (sortBy.value === col) descending.value = !descending.value;
    else { sortBy.value = col; descending.value = col !== 'name'; }
  }

  function toggle(reason: number): void {
    expanded.value = expanded.value.includes(reason) ? expanded.value.filter((r) => r !== reason) : [...expanded.value, reason];
  }

  function setVcpu(v: number | null): void {
    vcpu.value = v;
    platform().send({ type: 'statsScope', vcpu: v });
  }

  /** Why the table is empty, in words for the user. */
  const emptyText = computed(() => {
    if (snapshot.value !== null) return '';
    return source.value === 'none'
      ? 'No VM exits: this guest runs in bare mode. Exits appear here when the guest is a hypervisor, or in hosted mode (the VMM\'s exits).'
      : source.value === 'hosted' ? 'No VM exits yet: run the guest.' : 'No VM exits yet: the guest\'s hypervisor has not entered a VM.';
  });

  /** Builds an export from the engine's whole profile; resolves to a message ('' if cancelled). */
  async function exportAs(kind: ExportKind, image: string): Promise<string> {
    const p = platform();
    const profile = await p.request({ kind: 'profile' });
    if (profile === null) throw new Error('Nothing to export: no VM exits were recorded in this run.');
    const base = image.replace(/\.[^.]*$/, '') || 'guest';
    if (kind === 'csv') return p.exportFile('csv', `${base}-exits.csv`, formatCsvReport(profile));
    if (kind === 'trace') return p.exportFile('trace', `${base}-trace.json`, traceToJson(buildTrace(profile)));
    return p.exportFile('profile', `${base}-profile.json`, profileToJson(profile));
  }

  return {
    snapshot, source, virtualNs, sortBy, descending, filter, expanded, vcpu, vcpuCount, vcpuList, rows, emptyText,
    ingest, reset, subkeysOf, ripsOf, sort, toggle, setVcpu, exportAs,
  };
});
