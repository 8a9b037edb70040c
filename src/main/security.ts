// The main process's guards: the Content-Security-Policy of every page, navigation and new
// windows blocked, permissions refused, and the sender check every IPC handler runs first
// (GitHub Desktop checks event.senderFrame the same way): a message is served only when it
// comes from the main frame of one of our windows showing our page.
import type { ElectronDeps, InvokeEvent, WebContentsLike } from './deps';

/** Content-Security-Policy for every page we load (also a <meta> in index.html). */
export const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export class UntrustedSenderError extends Error {
  constructor(channel: string, url: string) {
    super(`IPC ${channel} refused: sender frame ${url === '' ? '(none)' : url} is not the app's main frame`);
    this.name = 'UntrustedSenderError';
  }
}

export class AppOrigin {
  constructor(private readonly rendererIndex: string, private readonly devServerUrl: string | undefined) {}

  /** The URL the app's window loads. */
  get url(): string {
    return this.devServerUrl ?? fileUrl(this.rendererIndex);
  }

  /** Whether `url` is the app's page (hash and query ignored). */
  isAppUrl(url: string): boolean {
    const base = url.split('#')[0]!.split('?')[0]!;
    if (this.devServerUrl !== undefined) return base === this.devServerUrl || base.startsWith(this.devServerUrl.replace(/\/?$/, '/'));
    return base === fileUrl(this.rendererIndex);
  }
}

/** file:// URL of an absolute path (POSIX or Windows). */
export function fileUrl(path: string): string {
  const p = path.replace(/\\/g, '/');
  return encodeURI(`file://${p.startsWith('/') ? '' : '/'}${p}`);
}

/**
 * Throws UntrustedSenderError unless `event` comes from the main frame of a web contents in
 * `trusted` showing the app's page.
 */
export function checkSender(channel: string, event: InvokeEvent, trusted: ReadonlySet<number>, origin: AppOrigin): void {
  const frame = event.senderFrame as { url?: string; parent?: unknown } | null;
  const url = frame?.url ?? '';
  const contents = event.sender as Partial<WebContentsLike>;
  const mainFrame = contents.mainFrame;
  const ok = frame !== null && trusted.has(event.sender.id) && (mainFrame === undefined || mainFrame === frame) &&
    (frame.parent === null || frame.parent === undefined) && origin.isAppUrl(url);
  if (!ok) throw new UntrustedSenderError(channel, url);
}

/** No camera, microphone, notifications...; the CSP header on every response. */
export function hardenSession(electron: ElectronDeps): void {
  const s = electron.session.defaultSession;
  s.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP] } });
  });
  s.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  s.setPermissionCheckHandler(() => false);
}

/** Blocks navigation away from the app, redirects, <webview> and new windows. */
export function guardContents(contents: WebContentsLike, origin: AppOrigin): void {
  contents.on('will-navigate', (event, url) => { if (!origin.isAppUrl(url)) event.preventDefault(); });
  contents.on('will-redirect', (event, url) => { if (!origin.isAppUrl(url)) event.preventDefault(); });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
}
