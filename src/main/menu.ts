// The application menu: File (open image, recent images, export), Run, View, Help. Items that
// act on the page send a MenuAction to the renderer; Open and Open Recent run in main (they read
// the file the user chose) and send the opened file.
import type { MenuItemConstructorOptions } from 'electron';
import type { MenuAction, RecentFile } from './ipc';

export const VIEWS = [
  { id: 'guest', label: 'Guest Screen', key: '1' },
  { id: 'exits', label: 'Exits', key: '2' },
  { id: 'vmcs', label: 'VMCS Inspector', key: '3' },
  { id: 'compare', label: 'Compare', key: '4' },
] as const;

export interface MenuHandlers {
  send(action: MenuAction): void;
  openDialog(): void;
  openRecent(path: string): void;
}

export function menuTemplate(recent: readonly RecentFile[], h: MenuHandlers, platform: string): MenuItemConstructorOptions[] {
  const recentItems: MenuItemConstructorOptions[] = recent.length === 0
    ? [{ label: 'No recent images', enabled: false }]
    : recent.map((r) => ({ label: r.name, sublabel: r.path, click: () => h.openRecent(r.path) }));
  const template: MenuItemConstructorOptions[] = [
    {
      label: 'File',
      submenu: [
        { label: 'Open Image…', accelerator: 'CmdOrCtrl+O', click: () => h.openDialog() },
        { label: 'Open Recent', submenu: recentItems },
        { type: 'separator' },
        { label: 'Export Profile (JSON)…', accelerator: 'CmdOrCtrl+E', click: () => h.send({ action: 'export', kind: 'profile' }) },
        { label: 'Export Exit Table (CSV)…', click: () => h.send({ action: 'export', kind: 'csv' }) },
        { label: 'Export Trace (Perfetto)…', click: () => h.send({ action: 'export', kind: 'trace' }) },
        { type: 'separator' },
        platform === 'darwin' ? { role: 'close' } : { role: 'quit' },
      ],
    },
    {
      label: 'Run',
      submenu: [
        { label: 'Run', accelerator: 'F5', click: () => h.send({ action: 'run' }) },
        { label: 'Pause', accelerator: 'Shift+F5', click: () => h.send({ action: 'pause' }) },
        { label: 'Step', accelerator: 'F10', click: () => h.send({ action: 'step' }) },
        { label: 'Reset', accelerator: 'CmdOrCtrl+R', click: () => h.send({ action: 'reset' }) },
      ],
    },
    {
      label: 'View',
      submenu: [
        ...VIEWS.map((v): MenuItemConstructorOptions => ({ label: v.label, accelerator: `CmdOrCtrl+${v.key}`, click: () => h.send({ action: 'view', view: v.id }) })),
        { type: 'separator' },
        { role: 'resetZoom' }, { role: 'zoomIn' }, { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
      ],
    },
    {
      label: 'Help',
      submenu: [{ label: 'About vmxlab', click: () => h.send({ action: 'about' }) }],
    },
  ];
  if (platform === 'darwin') template.unshift({ role: 'appMenu' });
  return template;
}
