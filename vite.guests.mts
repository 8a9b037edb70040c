// A Vite plugin that bundles the built-in guest images (src/renderer/src/guest-catalog.json)
// into the renderer as base64 strings: `import images from 'virtual:vmxlab-guests'` gives
// { [id]: base64 }. Inlined rather than fetched, so the desktop app (a file:// page, where
// fetch() of file: URLs is not allowed) and the browser build load them the same way.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'vite';

const ID = 'virtual:vmxlab-guests';
const RESOLVED = `\0${ID}`;
const repo = (p: string): string => fileURLToPath(new URL(`./${p}`, import.meta.url));

export function guestImages(): Plugin {
  return {
    name: 'vmxlab-guests',
    resolveId(source) { return source === ID ? RESOLVED : null; },
    load(id) {
      if (id !== RESOLVED) return null;
      const catalogPath = repo('src/renderer/src/guest-catalog.json');
      this.addWatchFile(catalogPath);
      const catalog = JSON.parse(readFileSync(catalogPath, 'utf8')) as { id: string; file: string }[];
      const out: Record<string, string> = {};
      for (const g of catalog) {
        const path = repo(g.file);
        this.addWatchFile(path);
        out[g.id] = readFileSync(path).toString('base64');
      }
      return `export default ${JSON.stringify(out)};\n`;
    },
  };
}
