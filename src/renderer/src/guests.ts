// Built-in guests: the catalogue (guest-catalog.json, also read by vite.guests.mts) and their
// bytes (bundled as base64 by the 'virtual:vmxlab-guests' module).
import images from 'virtual:vmxlab-guests';
import catalog from './guest-catalog.json';

export interface GuestEntry {
  readonly id: string;
  readonly name: string;
  /** Path from the repository root. */
  readonly file: string;
  readonly description: string;
  /** The guest's last line: the run stops there when "stop at" is on. */
  readonly marker: string | null;
}

export const GUESTS: readonly GuestEntry[] = catalog;

export function guestBytes(id: string): Uint8Array {
  const b64 = images[id];
  if (b64 === undefined) throw new Error(`no built-in guest '${id}'`);
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function guestById(id: string | null): GuestEntry | undefined {
  return GUESTS.find((g) => g.id === id);
}
