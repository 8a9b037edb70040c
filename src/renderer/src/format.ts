// Number formats shared by the views.
export const int = (n: number): string => Math.round(n).toLocaleString('en-US');
export const pct = (n: number, digits = 1): string => `${n.toFixed(digits)}%`;
export const hex = (n: number, width = 8): string => `0x${(n >>> 0).toString(16).toUpperCase().padStart(width, '0')}`;

/** 1.23 K, 4.5 M, ... */
export function compact(n: number): string {
  const a = Math.abs(n);
  if (a >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (a >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (a >= 1e4) return `${(n / 1e3).toFixed(1)} K`;
  return int(n);
}

/** Virtual time: '1.234 s' or '12.3 ms'. */
export function vtime(ns: number): string {
  if (ns >= 1e9) return `${(ns / 1e9).toFixed(3)} s`;
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  return `${(ns / 1e3).toFixed(1)} µs`;
}

/** A stable colour per exit reason (chart series, table swatches). */
export function reasonColor(reason: number, alpha = 1): string {
  const hue = (reason * 137.508) % 360;
  return `hsla(${hue.toFixed(1)}, 68%, 58%, ${alpha})`;
}
