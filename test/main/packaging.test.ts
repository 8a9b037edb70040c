// The packaging configuration (build/electron-builder.yml): electron-builder's own schema accepts
// it for every platform, it holds the four installer targets vmxlab ships (Windows NSIS, macOS DMG
// for x64 and arm64, Linux AppImage and deb) with an icon that exists, `npm run dist` builds it,
// and a broken configuration is caught by the same checks (scripts/packaging-config.mjs, which
// `npm run pack:check` runs before packaging the Linux app against a stand-in Electron).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error a plain .mjs script without type declarations
import * as pc from '../../scripts/packaging-config.mjs';

interface PackagingConfig {
  CONFIG_PATH: string;
  REQUIRED_TARGETS: Record<string, Record<string, string[]>>;
  loadConfig(root: string, override?: unknown): Promise<Record<string, unknown>>;
  validateSchema(config: unknown): Promise<void>;
  targetsOf(section: unknown): Record<string, string[]>;
  pngSize(path: string): { width: number; height: number } | null;
  configProblems(root: string, config: unknown): string[];
}
const { CONFIG_PATH, loadConfig, validateSchema, targetsOf, pngSize, configProblems } = pc as PackagingConfig;
const ROOT = join(import.meta.dirname, '../..');

describe('packaging configuration', () => {
  it('passes electron-builder\'s schema and holds NSIS, DMG (x64 + arm64), AppImage and deb with an icon in build/', async () => {
    const config = await loadConfig(ROOT);
    await validateSchema(config);
    expect(configProblems(ROOT, config)).toEqual([]);
    expect(targetsOf(config['win'])).toEqual({ nsis: ['x64'] });
    expect(targetsOf(config['mac'])).toEqual({ dmg: ['x64', 'arm64'] });
    expect(targetsOf(config['linux'])).toEqual({ AppImage: ['x64'], deb: ['x64'] });
    for (const p of ['win', 'mac', 'linux']) expect((config[p] as { icon: string }).icon).toBe('build/icon.png');
    expect(pngSize(join(ROOT, 'build/icon.png'))).toEqual({ width: 512, height: 512 });
    expect(config['npmRebuild']).toBe(false);
  }, 30_000); // loading electron-builder's library takes seconds on a busy machine

  it('catches a broken configuration: schema errors, a missing target or arch, a missing icon', async () => {
    // An unknown key and a wrong type: electron-builder's schema refuses them.
    await expect(validateSchema({ ...(await loadConfig(ROOT)), mac: { target: 'dmg', notAnOption: 1 } })).rejects.toThrow(/configuration\.mac/);
    await expect(validateSchema({ ...(await loadConfig(ROOT)), win: { target: [{ target: 'nsis', arch: ['sparc'] }] } })).rejects.toThrow(/configuration\.win\.target/);
    const base = await loadConfig(ROOT);
    const broken = {
      ...base,
      mac: { ...(base['mac'] as object), target: [{ target: 'dmg', arch: ['x64'] }] },
      linux: { ...(base['linux'] as object), target: ['AppImage'] },
      win: { ...(base['win'] as object), icon: 'build/no-such-icon.png' },
    };
    expect(configProblems(ROOT, broken)).toEqual([
      'win: icon build/no-such-icon.png does not exist', 'mac: dmg lacks arch arm64', 'linux: AppImage lacks arch x64', 'linux: no deb target',
    ]);
    expect(pngSize(join(ROOT, 'package.json'))).toBeNull();
  }, 30_000);

  it('has npm run dist (and per-platform forms) building with this configuration, and pack:check checking it offline', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts['dist']).toBe(`electron-vite build && electron-builder -c ${CONFIG_PATH} --publish never`);
    for (const [s, flag] of [['dist:win', '--win'], ['dist:mac', '--mac'], ['dist:linux', '--linux']]) expect(pkg.scripts[s!]).toContain(`-c ${CONFIG_PATH} ${flag}`);
    expect(pkg.scripts['pack:check']).toBe('node scripts/pack-check.mjs');
    const check = readFileSync(join(ROOT, 'scripts/pack-check.mjs'), 'utf8');
    expect(check).toContain('validateSchema(config)');
    expect(check).toContain('-c.electronDist=');
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(readme).toMatch(/real installer[^.]*needs network access/i);
  });
});
