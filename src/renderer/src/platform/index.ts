// Picks the platform: the preload's API in the desktop app, a Web Worker in the browser.
import { browserPlatform } from './browser';
import { electronPlatform } from './electron';
import type { Platform } from './types';

export type { Platform, PickedImage, HostKind } from './types';

let current: Platform | null = null;

export function platform(): Platform {
  if (current === null) current = window.vmxlab !== undefined ? electronPlatform(window.vmxlab) : browserPlatform();
  return current;
}

/** Tests install their own platform. */
export function setPlatform(p: Platform | null): void {
  current = p;
}
