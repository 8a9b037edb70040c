// End to end in Debian's Chromium (playwright-core, no downloaded browser): the browser build
// (vite.web.config.mts, built here into a temporary folder) served by a local static server,
// the engine in a Web Worker. A bare-mode guest shows its serial output in the terminal and its
// text on the VGA screen, with the exit table and charts in their empty state; the VMX test
// hypervisor fills the exit table, the charts and the VMCS inspector; compare shows the same
// guest on two generations. Hosted mode (the default on Skylake): a plain guest under the VMM
// fills the exit table and charts; with HLT exiting turned off, compare shows its HLT exits gone;
// paging-stress on Haswell (EPT) against Merom (shadow paging) shows the CLI's paging figures.
// Screenshots go to test-results/e2e/ (gitignored).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { build } from 'vite';
import { execFileSync, spawnSync } from 'node:child_process';
import { pagingFigures, PAGING_ROWS } from '../../src/core/profile/paging';
import type { Profile as ProfileJson } from '../../src/core/profile/profile-json';

const CHROMIUM = '/usr/bin/chromium';
const repo = (p: string): string => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const SHOTS = repo('test-results/e2e');
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json' };

let outDir = '';
let server: Server;
let base = '';
let context: BrowserContext;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium; .ci/run does)`);
  outDir = mkdtempSync(join(tmpdir(), 'vmxlab-web-'));
  await build({ configFile: repo('vite.web.config.mts'), logLevel: 'error', build: { outDir, emptyOutDir: true } });
  server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = normalize(join(outDir, path === '/' ? 'index.html' : path));
    if (!file.startsWith(outDir)) { res.writeHead(403).end(); return; }
    readFile(file).then(
      (b) => { res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }); res.end(b); },
      () => { res.writeHead(404).end(); },
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr !== null ? addr.port : 0}/`;
  mkdirSync(SHOTS, { recursive: true });
  context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'vmxlab-chromium-')), {
    executablePath: CHROMIUM, headless: true, viewport: { width: 1600, height: 1000 }, deviceScaleFactor: 1,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  page = context.pages()[0] ?? await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(base);
}, 60_000);

afterAll(async () => {
  await context?.close();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  if (outDir !== '') rmSync(outDir, { recursive: true, force: true });
});

/** `vmxlab run --profile` of paging-stress on `gen` with the settings the compare test uses in
 *  the app (32 MiB, 100 MIPS, COM1 passed through). */
function cliProfile(gen: string): ProfileJson & { path: string } {
  execFileSync(process.execPath, [repo('scripts/build-cli.mjs'), '--quiet'], { cwd: repo('.') });
  const out = join(mkdtempSync(join(tmpdir(), 'vmxlab-e2e-cli-')), `${gen}.json`);
  const r = spawnSync(process.execPath, [repo('out/cli/vmxlab.cjs'), 'run', repo('guests/paging-stress/paging-stress.img'), '--gen', gen,
    '--mem', '32M', '--mips', '100', '--exits', 'io=bitmap:0xf4', '--quiet', '--profile', out], { encoding: 'utf8', timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  return Object.assign(JSON.parse(readFileSync(out, 'utf8')) as ProfileJson, { path: out });
}

/** Waits until the state chip says one of `states`. */
async function waitState(states: RegExp, timeout = 40_000): Promise<void> {
  await page.locator('[data-test="state"]', { hasText: states }).waitFor({ timeout });
}

async function setup(guest: string, generation: string, marker?: string, mode: 'bare' | 'hosted' = 'bare'): Promise<void> {
  await page.click(`[data-test="guest-${guest}"]`);
  await page.selectOption('[data-test="generation"]', generation);
  if (await page.isEnabled(`[data-test="mode"] option[value="${mode}"]`)) await page.selectOption('[data-test="mode"]', mode);
  expect(await page.inputValue('[data-test="mode"]')).toBe(mode);
  await page.selectOption('[data-test="pacing"]', 'max');
  if (marker !== undefined) await page.fill('[data-test="marker"]', marker).then(() => page.press('[data-test="marker"]', 'Tab'));
  await page.click('[data-test="load"]');
  await waitState(/^ready$/);
}

/** Loads `guest` and runs it to its marker (or its end). */
async function runGuest(guest: string, generation: string, mode: 'bare' | 'hosted' = 'bare'): Promise<void> {
  await page.click('[data-test="tab-guest"]');
  await setup(guest, generation, undefined, mode);
  await page.click('[data-test="run"]');
  await waitState(/^(finished|at marker)$/);
}

describe('vmxlab in the browser (Chromium, engine in a Web Worker)', () => {
  it('runs a bare-mode guest: serial terminal, VGA screen, and the exit views in their empty state', async () => {
    expect(await page.textContent('[data-test="host"]')).toBe('browser');
    expect(await page.inputValue('[data-test="mode"]')).toBe('hosted'); // the default on Skylake
    await runGuest('realmode-hello', 'skylake');
    expect(await page.textContent('[data-test="stop"]')).toBe("saw 'REALMODE DONE'");
    expect(await page.textContent('[data-test="state"]')).toBe('at marker');
    // The serial terminal (xterm.js renders rows as DOM) and the store's serial log.
    await page.waitForFunction(`document.querySelector('[data-test="serial"] .xterm-rows')?.textContent?.includes('REALMODE DONE')`);
    expect(await page.textContent('[data-test="serial"] .xterm-rows')).toContain('REALMODE HELLO');
    // The VGA text screen, drawn from the text buffer.
    const vga = await page.textContent('[data-test="vga"]');
    expect(vga).toContain('vmxlab BIOS');
    expect(vga).toContain('REALMODE HELLO');
    await page.screenshot({ path: join(SHOTS, '1-guest-bare.png') });
    await page.click('[data-test="tab-exits"]');
    expect(await page.textContent('[data-test="exits-empty"]')).toContain('No VM exits: this guest runs in bare mode');
    expect(await page.textContent('[data-test="exit-total"]')).toBe('0');
    for (const c of ['chart-rate', 'chart-cost', 'chart-overhead']) expect(await page.isVisible(`[data-test="${c}"]`)).toBe(true);
    expect(await page.textContent('[data-test="chart-empty"]')).toContain('bare mode');
    await page.screenshot({ path: join(SHOTS, '2-exits-empty.png') });
  }, 60_000);

  it('runs a plain guest in hosted mode: the VMM\'s exits fill the table and charts; HLT exiting off removes its HLT exits', async () => {
    // Prescott (no VMX) forces bare, with the reason; Merom (no EPT) runs hosted with shadow
    // paging, with 2 vCPUs as with 1.
    await page.click('[data-test="tab-guest"]');
    await page.selectOption('[data-test="vcpus"]', '2');
    await page.selectOption('[data-test="generation"]', 'prescott');
    expect(await page.inputValue('[data-test="mode"]')).toBe('bare');
    expect(await page.isEnabled('[data-test="mode"] option[value="hosted"]')).toBe(false);
    expect(await page.textContent('[data-test="hosted-reason"]')).toContain('Prescott has no VMX');
    await page.selectOption('[data-test="generation"]', 'merom');
    expect(await page.inputValue('[data-test="mode"]')).toBe('hosted');
    await page.selectOption('[data-test="vcpus"]', '1');
    expect(await page.inputValue('[data-test="mode"]')).toBe('hosted');
    await page.selectOption('[data-test="generation"]', 'skylake');
    expect(await page.inputValue('[data-test="mode"]')).toBe('hosted');

    await page.click('[data-test="preset-kvm"]');
    expect(await page.isChecked('[data-test="ctl-HltExiting"] input')).toBe(true);
    expect(await page.textContent('[data-test="hosted-note"]')).toBe('applied by the VMM');
    await setup('pit-idle', 'skylake', undefined, 'hosted');
    expect(await page.textContent('[data-test="loaded"]')).toContain('pit-idle.img');
    await page.click('[data-test="run"]');
    await waitState(/^(finished|at marker)$/);
    await page.waitForFunction(`document.querySelector('[data-test="serial-text"]')?.textContent?.includes('PIT IDLE DONE')`);
    await page.screenshot({ path: join(SHOTS, '8-hosted-guest.png') });
    await page.click('[data-test="tab-exits"]');
    await page.waitForSelector('[data-test="row-12"]'); // HLT
    await page.waitForSelector('[data-test="row-30"]'); // I/O instruction
    const hltOn = Number((await page.textContent('[data-test="row-12"] td:nth-child(2)'))!.replace(/,/g, ''));
    expect(hltOn).toBeGreaterThanOrEqual(100); // 100 PIT ticks, each waking a HLT
    expect(await page.isVisible('[data-test="row-1"]')).toBe(true); // external interrupt
    expect(await page.isVisible('[data-test="chart-empty"]')).toBe(false);
    await page.waitForTimeout(150); // a coalesced chart redraw
    await page.screenshot({ path: join(SHOTS, '9-hosted-exits.png') });

    // Pin it, turn HLT exiting off, run again: the guest computes the same, its HLTs no longer exit.
    await page.click('[data-test="tab-compare"]');
    await page.click('[data-test="pin"]');
    await page.waitForSelector('text=pit-idle.img · skylake');
    await page.uncheck('[data-test="ctl-HltExiting"] input');
    // The panel marks the controls the VMM sets itself; HLT exiting is not one of them.
    expect(await page.locator('[data-test="ctl-HltExiting"] [data-test="vmm-owned"]').count()).toBe(0);
    expect(await page.locator('[data-test="ctl-MovDrExiting"] [data-test="vmm-owned"]').textContent()).toBe('set by the VMM');
    await page.locator('[data-test="ctl-RdtscExiting"]').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(SHOTS, '11-exit-controls-hosted.png') });
    await page.click('[data-test="tab-guest"]');
    await setup('pit-idle', 'skylake', undefined, 'hosted');
    expect(await page.isChecked('[data-test="ctl-HltExiting"] input')).toBe(false);
    await page.click('[data-test="run"]');
    await waitState(/^(finished|at marker)$/);
    await page.waitForFunction(`document.querySelector('[data-test="serial-text"]')?.textContent?.includes('PIT IDLE DONE')`);
    await page.click('[data-test="tab-exits"]');
    await page.waitForSelector('[data-test="row-30"]');
    expect(await page.locator('[data-test="row-12"]').count()).toBe(0);
    await page.click('[data-test="tab-compare"]');
    await page.click('[data-test="compare-refresh"]');
    const hlt = page.locator('[data-test="compare-row"]', { has: page.locator('td:first-child', { hasText: /^Hlt$/ }) }).first();
    await hlt.waitFor();
    expect(await hlt.locator('td:nth-child(2)').textContent()).toBe(hltOn.toLocaleString('en-US'));
    expect(await hlt.locator('td:nth-child(3)').textContent()).toBe('0');
    await page.screenshot({ path: join(SHOTS, '10-compare-hlt-off.png') });
    await page.click('[data-test="preset-kvm"]'); // back to the defaults for the next tests
  }, 90_000);

  it('chooses which I/O ports exit in the panel, and walks guest-physical addresses through the VMM\'s EPT', async () => {
    // A bad list is refused with the parser's message; a good one switches to I/O bitmaps.
    await page.click('[data-test="tab-guest"]');
    await page.fill('[data-test="io-ports"]', '0x3ff-0x3f8');
    await page.press('[data-test="io-ports"]', 'Enter');
    expect(await page.textContent('[data-test="io-error"]')).toContain("range '0x3ff-0x3f8' is empty");
    await page.fill('[data-test="io-ports"]', '');
    await page.click('[data-test="io-preset-COM1"]');
    expect(await page.inputValue('[data-test="io-ports"]')).toBe('0x3f8-0x3ff');
    expect(await page.textContent('[data-test="io-mode"]')).toBe('I/O bitmaps');
    expect(await page.locator('[data-test="io-error"]').count()).toBe(0);
    await page.locator('[data-test="exit-lists"]').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(SHOTS, '13-exit-lists.png') });
    await setup('pit-idle', 'skylake', undefined, 'hosted');
    expect(await page.textContent('[data-test="loaded-notes"]')).toContain('io=bitmap:0x3f8-0x3ff'); // what the VMM applies
    await page.click('[data-test="run"]');
    await waitState(/^(finished|at marker)$/);
    await page.click('[data-test="tab-exits"]');
    await page.waitForSelector('[data-test="row-30"]');
    await page.click('[data-test="row-30"]');
    const keys = await page.locator('[data-test="subkey"] td:first-child').allTextContents();
    expect(keys.length).toBeGreaterThan(0);
    for (const k of keys) expect(k).toMatch(/key 0x(3f[89a-f]|e0):/); // COM1 and the VMM's own port only
    await page.click('[data-test="row-30"]'); // collapsed again

    // The EPT walk: RAM maps to itself, VGA memory has no entry (the VMM's MMIO), the ROM is R-X.
    await page.click('[data-test="tab-vmcs"]');
    await page.click('[data-test="vmcs-page-walk"]');
    await page.fill('[data-test="walk-address"]', '0x7C00');
    await page.click('[data-test="walk-go"]');
    await page.waitForSelector('[data-test="walk-result"]');
    expect(await page.locator('[data-test="walk-ept-level"]').count()).toBe(4);
    expect(await page.textContent('[data-test="walk-result"]')).toContain('host-physical 0x00007C00');
    await page.fill('[data-test="walk-address"]', '0xFFFF0');
    await page.click('[data-test="walk-go"]');
    await page.locator('[data-test="walk-write"]', { hasText: 'EPT violation' }).waitFor();
    expect(await page.textContent('[data-test="walk-read"]')).toContain('maps');
    await page.screenshot({ path: join(SHOTS, '12-ept-walk.png') });
    await page.fill('[data-test="walk-address"]', 'b8000');
    await page.click('[data-test="walk-go"]');
    await page.locator('[data-test="walk-result"]', { hasText: 'EPT violation at the PTE' }).waitFor();
    // The guest's CS:RIP as a linear address (paging is off in this guest: linear = guest-physical).
    await page.click('[data-test="walk-rip"]');
    await page.locator('[data-test="walk-guest-result"]', { hasText: 'the linear address is the guest-physical address' }).waitFor();
    expect(await page.textContent('[data-test="walk-result"]')).toContain('host-physical');
    await page.click('[data-test="vmcs-page-fields"]');
    await page.click('[data-test="tab-guest"]');
    await page.click('[data-test="preset-kvm"]'); // back to the defaults for the next tests
    expect(await page.textContent('[data-test="io-mode"]')).toBe('every port');
  }, 90_000);

  it('compares paging-stress on Haswell (EPT) and Merom (shadow paging): the CLI\'s paging figures and exits, a bar chart of both', async () => {
    /** Runs the paging-stress guest hosted on `gen` with COM1 passed through (as --exits io=bitmap:0xf4). */
    const runOn = async (gen: 'haswell' | 'merom'): Promise<void> => {
      await page.click('[data-test="tab-guest"]');
      await page.click('[data-test="guest-paging-stress"]');
      await page.selectOption('[data-test="generation"]', gen);
      expect(await page.inputValue('[data-test="mode"]')).toBe('hosted');
      await page.selectOption('[data-test="memory"]', '32');
      await page.fill('[data-test="io-ports"]', '0xf4');
      await page.press('[data-test="io-ports"]', 'Enter');
      expect(await page.textContent('[data-test="io-mode"]')).toBe('I/O bitmaps');
      await page.selectOption('[data-test="pacing"]', 'max');
      await page.click('[data-test="load"]');
      await waitState(/^ready$/);
      const notes = await page.textContent('[data-test="loaded-notes"]');
      expect(notes).toContain('io=bitmap:0xf4');
      if (gen === 'merom') expect(notes).toContain('Shadow paging (no EPT with unrestricted guest)');
      else expect(notes).not.toContain('Shadow paging');
      await page.click('[data-test="run"]');
      await waitState(/^finished$/);
      await page.waitForFunction(`document.querySelector('[data-test="serial-text"]')?.textContent?.includes('PAGING-STRESS DONE')`);
    };
    await runOn('haswell');
    await page.click('[data-test="tab-compare"]');
    await page.click('[data-test="pin"]');
    await page.waitForSelector('text=paging-stress.img · haswell');
    await runOn('merom');
    // The Exits view's live paging figures (the stats batches' paging section).
    await page.click('[data-test="tab-exits"]');
    await page.locator('[data-test="exits-paging"]', { hasText: /^Paging\s*shadow · \d+ pages \(peak \d+\) · [\d,]+ faults fixed, 0 injected$/ }).waitFor();
    await page.waitForTimeout(150); // a coalesced chart redraw
    await page.screenshot({ path: join(SHOTS, '15-exits-shadow.png') });
    await page.click('[data-test="tab-compare"]');
    await page.click('[data-test="compare-refresh"]');
    await page.waitForSelector('text=paging-stress.img · merom');
    await page.waitForSelector('[data-test="paging-row"]');

    // The same figures as the CLI's profiles of the same runs (vmxlab run --profile).
    const cli = { haswell: cliProfile('haswell'), merom: cliProfile('merom') };
    const fa = pagingFigures(cli.haswell), fb = pagingFigures(cli.merom);
    // N = 256, K = 64: 1 + K CR3 loads, J = 64 INVLPGs (test/profile/paging-compare.test.ts has the rest of N and K).
    expect(fb).toMatchObject({ mode: 'shadow', cr3LoadExits: 65, invlpgExits: 64 });
    expect(fb.pageFaultExits).toBeGreaterThan(2 * 256);
    expect(fa).toMatchObject({ mode: 'ept', cr3LoadExits: 0, pageFaultExits: 0, invlpgExits: 0, shadowPages: null });
    expect(await page.textContent('[data-test="paging-modes"]')).toBe('A: EPT · B: shadow paging');
    const shown = (v: number | null, other: number | null): string => (v === null ? (other === null ? '–' : '0') : v.toLocaleString('en-US'));
    for (const { key } of PAGING_ROWS) {
      const cells = await page.locator(`[data-test="paging-row"][data-key="${key}"] td`).allTextContents();
      expect(cells.slice(1, 3), key).toEqual([shown(fa[key], fb[key]), shown(fb[key], fa[key])]);
    }
    // Exits by reason, A and B, as the CLI counts them.
    for (const name of new Set([...cli.haswell.reasons, ...cli.merom.reasons].map((r) => r.name))) {
      const row = page.locator('[data-test="compare-row"]', { has: page.locator('td:first-child', { hasText: new RegExp(`^${name}$`) }) }).first();
      const count = (p: ProfileJson): string => (p.reasons.find((r) => r.name === name)?.count ?? 0).toLocaleString('en-US');
      expect((await row.locator('td').allTextContents()).slice(1, 3), name).toEqual([count(cli.haswell), count(cli.merom)]);
    }
    expect(await page.isVisible('[data-test="compare-chart"]')).toBe(true);
    await page.waitForTimeout(150); // the chart's redraw
    await page.screenshot({ path: join(SHOTS, '14-compare-paging.png') });
    // The CLI's own Haswell profile loaded as A: the same rows.
    const before = await page.locator('[data-test="paging-row"]').allTextContents();
    await page.setInputFiles('[data-test="pin-file-input"]', cli.haswell.path);
    await page.locator('[data-test="label-a"]', { hasText: /^haswell\.json · .*paging-stress\.img · haswell · 13 exits$/ }).waitFor();
    expect(await page.locator('[data-test="paging-row"]').allTextContents()).toEqual(before);
    expect(pageErrors).toEqual([]);
    await page.click('[data-test="tab-guest"]');
    await page.click('[data-test="preset-kvm"]'); // back to the defaults for the next tests
    await page.selectOption('[data-test="generation"]', 'skylake');
  }, 120_000);

  it('runs the VMX test hypervisor: step from exit to exit in the VMCS inspector; its exits fill the table and charts', async () => {
    // The inspector open (it asks the engine to keep the VMCS at each exit), the run paused at a
    // section marker of the hypervisor's transcript, then two steps: each runs to the next exit.
    await page.click('[data-test="tab-vmcs"]');
    await setup('vmx-exits', 'haswell', '== E07');
    await page.click('[data-test="run"]');
    await waitState(/^at marker$/);
    for (let i = 0; i < 2; i++) {
      await page.click('[data-test="step"]');
      await waitState(/^paused$/);
    }
    await page.click('[data-test="vmcs-refresh"]');
    await page.waitForSelector('[data-test="vmcs-field"]');
    expect(await page.locator('[data-test="vmcs-field"] td:first-child', { hasText: /^GuestRip$/ }).count()).toBe(1);
    expect(await page.locator('[data-test="vmcs-field"].changed').count()).toBeGreaterThan(0);
    expect(await page.textContent('[data-test="vmcs-view"] .meta')).toContain('launched');
    await page.check('[data-test="vmcs-changed-only"]');
    expect(await page.locator('[data-test="vmcs-field"]:not(.changed)').count()).toBe(0);
    await page.screenshot({ path: join(SHOTS, '3-vmcs-step.png') });
    // On to the end of the transcript.
    await page.fill('[data-test="marker"]', 'END VMX-EXITS');
    await page.press('[data-test="marker"]', 'Tab');
    await page.click('[data-test="run"]');
    await waitState(/^at marker$/);
    await page.click('[data-test="tab-guest"]');
    await page.waitForFunction(`document.querySelector('[data-test="serial-text"]')?.textContent?.includes('END VMX-EXITS')`);
    await page.screenshot({ path: join(SHOTS, '4-guest-hypervisor.png') });
    await page.click('[data-test="tab-exits"]');
    await page.waitForSelector('[data-test="row-30"]');
    const total = Number((await page.textContent('[data-test="exit-total"]'))!.replace(/,/g, ''));
    expect(total).toBeGreaterThan(100);
    const serial = (await page.textContent('[data-test="serial-text"]'))!;
    const printedIo = serial.match(/^ {2}exit 30 /gm)!.length;
    expect(await page.textContent('[data-test="row-30"] td:nth-child(2)')).toBe(String(printedIo));
    await page.click('[data-test="row-30"]');
    expect(await page.locator('[data-test="subkey"]').count()).toBeGreaterThan(1);
    expect(await page.isVisible('[data-test="chart-empty"]')).toBe(false);
    await page.waitForTimeout(150); // a coalesced chart redraw
    await page.screenshot({ path: join(SHOTS, '5-exits.png') });
  }, 60_000);

  it('compares two runs: the same hypervisor on Haswell and on Penryn', async () => {
    await page.click('[data-test="tab-compare"]');
    await page.click('[data-test="pin"]');
    await page.waitForSelector('text=vmx-exits.img · haswell');
    await page.click('[data-test="tab-guest"]');
    await setup('vmx-exits', 'penryn', 'END VMX-EXITS');
    await page.click('[data-test="run"]');
    await waitState(/^at marker$/);
    await page.click('[data-test="tab-compare"]');
    await page.click('[data-test="compare-refresh"]');
    await page.waitForSelector('[data-test="compare-row"]');
    const rows = await page.locator('[data-test="compare-row"]').count();
    expect(rows).toBeGreaterThan(3);
    await page.screenshot({ path: join(SHOTS, '6-compare.png') });
    await page.click('[data-test="theme"]');
    await page.click('[data-test="tab-exits"]');
    await page.waitForSelector('[data-test="row-30"]');
    await page.waitForTimeout(150);
    await page.screenshot({ path: join(SHOTS, '7-exits-light.png') });
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
