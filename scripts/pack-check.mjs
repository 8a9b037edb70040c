#!/usr/bin/env node
// `npm run pack:check`: validates the packaging setup without network access.
//  0. validates build/electron-builder.yml against electron-builder's schema (all platforms) and
//     checks the targets (NSIS, DMG x64+arm64, AppImage, deb) and the icon (packaging-config.mjs);
//  1. builds the app (electron-vite build), unless --no-build;
//  2. makes a stand-in "Electron distribution" in a temp dir: one executable named
//     `electron` (a shell script) — the real runtime cannot be downloaded here;
//  3. runs `electron-builder --linux --dir -c build/electron-builder.yml -c.electronDist=<stand-in>`
//     into a temp output dir (`--dir` builds only the unpacked app: no installer tools needed);
//  4. checks the result: executable renamed to the product name, app.asar holding exactly
//     package.json + out/{main,preload,renderer}, and no node_modules.
// A real installer (`npx electron-builder -c build/electron-builder.yml`) needs network access.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root } from './esbuild-node.mjs';
import { CONFIG_PATH, configProblems, loadConfig, targetsOf, validateSchema } from './packaging-config.mjs';

const require = createRequire(import.meta.url);
const keep = process.argv.includes('--keep');
const noBuild = process.argv.includes('--no-build');

function fail(msg) {
  console.error(`pack:check FAILED: ${msg}`);
  process.exit(1);
}

function run(cmd, args, env = {}) {
  console.log(`$ ${[cmd, ...args].join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.error) fail(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) fail(`${cmd} exited with ${r.status ?? r.signal}`);
}

const bin = (name) => join(root, 'node_modules', '.bin', process.platform === 'win32' ? `${name}.cmd` : name);

// 0. The configuration: electron-builder's schema (win, mac and linux sections alike: only the
//    Linux app can be packaged here) and the targets and icons vmxlab ships.
{
  const config = await loadConfig(root);
  try { await validateSchema(config); } catch (e) { fail(`${CONFIG_PATH} fails electron-builder's schema: ${e.message}`); }
  const problems = configProblems(root, config);
  if (problems.length) fail(`${CONFIG_PATH}: ${problems.join('; ')}`);
  const t = (p) => Object.entries(targetsOf(config[p])).map(([n, a]) => `${n}${a.length ? ` (${a.join('+')})` : ''}`).join(', ');
  console.log(`pack:check: ${CONFIG_PATH} passes electron-builder's schema; win: ${t('win')}; mac: ${t('mac')}; linux: ${t('linux')}`);
}

if (!noBuild) run(bin('electron-vite'), ['build']);
for (const f of ['out/main/index.js', 'out/preload/preload.js', 'out/renderer/index.html']) {
  if (!existsSync(join(root, f))) fail(`${f} is missing: run npm run build first`);
}

const work = mkdtempSync(join(tmpdir(), 'vmxlab-pack-'));
const dist = join(work, 'electron-dist');
const output = join(work, 'dist');
mkdirSync(dist);

// The stand-in Electron: only its name and the executable bit matter to electron-builder.
const exe = join(dist, 'electron');
writeFileSync(exe, '#!/bin/sh\necho "stand-in Electron from scripts/pack-check.mjs: not a real runtime" >&2\nexit 1\n');
chmodSync(exe, 0o755);
const electronVersion = JSON.parse(readFileSync(require.resolve('electron/package.json'), 'utf8')).version;
writeFileSync(join(dist, 'version'), electronVersion);
mkdirSync(join(dist, 'resources'));

run(
  bin('electron-builder'),
  [
    '--linux',
    '--dir',
    '--x64',
    '--publish',
    'never',
    '-c',
    'build/electron-builder.yml',
    `-c.electronDist=${dist}`,
    `-c.electronVersion=${electronVersion}`,
    `-c.directories.output=${output}`,
  ],
  // electron-builder's CLI otherwise asks the npm registry whether it is outdated.
  { NO_UPDATE_NOTIFIER: '1' },
);

// Check what was produced.
const unpacked = join(output, 'linux-unpacked');
const appExe = join(unpacked, 'vmxlab');
if (!existsSync(appExe)) fail(`no executable ${appExe}`);
if (!(statSync(appExe).mode & 0o111)) fail(`${appExe} is not executable`);
const asarPath = join(unpacked, 'resources', 'app.asar');
if (!existsSync(asarPath)) fail(`no ${asarPath}`);

const asar = createRequire(require.resolve('app-builder-lib/package.json'))('@electron/asar');
const files = asar.listPackage(asarPath).map((f) => f.replaceAll('\\', '/'));
const expected = ['/package.json', '/out/main/index.js', '/out/preload/preload.js', '/out/renderer/index.html'];
const missing = expected.filter((f) => !files.includes(f));
if (missing.length) fail(`app.asar lacks ${missing.join(', ')}`);
const stray = files.filter(
  (f) => f.startsWith('/node_modules/') || f.endsWith('.map') || !/^\/(package\.json|out(\/(main|preload|renderer)(\/.*)?)?)$/.test(f),
);
if (stray.length) fail(`app.asar has unexpected entries: ${stray.slice(0, 10).join(', ')}`);
const appPkg = JSON.parse(asar.extractFile(asarPath, 'package.json').toString('utf8'));
if (appPkg.main !== 'out/main/index.js') fail(`packaged package.json main is ${appPkg.main}`);

console.log(
  `pack:check OK: electron-builder packaged vmxlab for linux-x64 (Electron ${electronVersion} stand-in), ` +
    `app.asar has ${files.length} entries (package.json + out/main, out/preload, out/renderer)`,
);
if (keep) console.log(`kept ${work}`);
else rmSync(work, { recursive: true, force: true });
