// Compare: pin a run's profile (A), change the controls or the generation, run again, and see
// the difference against the current run's profile (B), from src/core/profile compare: the
// paging figures (EPT against shadow paging, issue 6), the exits by reason and by sub-key. A
// profile saved by `vmxlab run --profile` (or the Export menu) can be loaded as A instead.
import { defineStore } from 'pinia';
import { computed, markRaw, shallowRef } from 'vue';
import { compareProfiles, type CompareRow } from '../../../core/profile/compare';
import { parseProfile, type Profile } from '../../../core/profile/profile-json';
import { platform } from '../platform';

export interface PinnedRun { readonly label: string; readonly profile: Profile }

export const useCompareStore = defineStore('compare', () => {
  const pinned = shallowRef<PinnedRun | null>(null);
  const current = shallowRef<PinnedRun | null>(null);
  const error = shallowRef('');

  const label = (p: Profile): string => `${p.run.image ?? 'run'} · ${p.costModel.generation} · ${p.totals.exits.toLocaleString('en-US')} exits`;

  async function fetchProfile(): Promise<Profile | null> {
    error.value = '';
    try {
      const p = await platform().request({ kind: 'profile' });
      if (p === null) error.value = 'This run has no VM exits to compare yet.';
      return p;
    } catch (e) {
      error.value = (e as Error).message;
      return null;
    }
  }

  async function pin(): Promise<void> {
    const p = await fetchProfile();
    if (p !== null) pinned.value = markRaw({ label: label(p), profile: p });
  }

  async function refresh(): Promise<void> {
    const p = await fetchProfile();
    if (p !== null) current.value = markRaw({ label: label(p), profile: p });
  }

  /** A saved profile (JSON text) as A; a bad file leaves A as it was and says why. */
  function pinText(text: string, name: string): void {
    error.value = '';
    try {
      const p = parseProfile(text, name);
      pinned.value = markRaw({ label: `${name} · ${label(p)}`, profile: p });
    } catch (e) {
      error.value = (e as Error).message;
    }
  }

  function unpin(): void { pinned.value = null; }

  const comparison = computed(() => {
    const a = pinned.value, b = current.value;
    if (a === null || b === null) return null;
    return compareProfiles(a.profile, b.profile);
  });

  return { pinned, current, error, comparison, pin, pinText, refresh, unpin };
});

export type { CompareRow };
