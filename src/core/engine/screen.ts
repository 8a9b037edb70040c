// The VGA text screen as the engine sends it: characters, attributes, the 16 colours through
// the attribute controller and DAC, and the cursor (src/core/platform/devices/vga.ts). The
// renderer draws it; the engine sends a new one only when the VGA's change counter moved.
import type { Vga } from '../platform/devices/vga';
import type { ScreenSnapshot } from './protocol';

export function screenSnapshot(vga: Vga): ScreenSnapshot {
  const c = vga.cells();
  const cur = vga.cursor();
  return {
    cols: c.cols, rows: c.rows, chars: c.chars, attrs: c.attrs, palette: vga.textColors(), blink: c.blink,
    cursor: { row: cur.row, col: cur.col, visible: cur.visible }, textMode: vga.isText(),
  };
}
