// The packaging configuration's own checks, shared by `npm run pack:check` and
// test/main/packaging.test.ts: electron-builder's schema validation of build/electron-builder.yml
// (every platform section: win, mac and linux, whatever the host), then what vmxlab promises:
// Windows NSIS, macOS DMG for x64 and arm64, Linux AppImage and deb, and an icon in build/ that
// electron-builder can turn into .ico and .icns (a PNG of at least 512x512).
import { readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);

export const CONFIG_PATH = 'build/electron-builder.yml';

/** The targets vmxlab ships, per platform section: target name -> the architectures it needs. */
export const REQUIRED_TARGETS = {
  win: { nsis: ['x64'] },
  mac: { dmg: ['x64', 'arm64'] },
  linux: { AppImage: ['x64'], deb: ['x64'] },
};

/** Loads the configuration as electron-builder does (extends, package.json metadata). */
export async function loadConfig(root, override = null) {
  const { getConfig } = require('app-builder-lib/out/util/config/config');
  return getConfig(root, CONFIG_PATH, override);
}

/** electron-builder's schema validation; throws its message for an invalid configuration. */
export async function validateSchema(config) {
  const { validateConfiguration } = require('app-builder-lib/out/util/config/config');
  const { DebugLogger } = require('builder-util');
  await validateConfiguration(config, new DebugLogger(false));
}

/** The targets of a platform section as { name: [arch...] } (a string target means the host's arch). */
export function targetsOf(section) {
  const list = section?.target === undefined ? [] : Array.isArray(section.target) ? section.target : [section.target];
  const out = {};
  for (const t of list) {
    if (typeof t === 'string') out[t] = [];
    else out[t.target] = Array.isArray(t.arch) ? t.arch : t.arch === undefined ? [] : [t.arch];
  }
  return out;
}

/** PNG width and height from its IHDR chunk, or null for a file that is not a PNG. */
export function pngSize(path) {
  const b = readFileSync(path);
  if (b.length < 24 || b.readUInt32BE(0) !== 0x89504e47 || b.toString('latin1', 12, 16) !== 'IHDR') return null;
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

/** What is wrong with the loaded configuration (empty when nothing is). */
export function configProblems(root, config) {
  const problems = [];
  for (const [platform, targets] of Object.entries(REQUIRED_TARGETS)) {
    const have = targetsOf(config[platform]);
    for (const [name, arches] of Object.entries(targets)) {
      if (have[name] === undefined) { problems.push(`${platform}: no ${name} target`); continue; }
      for (const a of arches) if (!have[name].includes(a)) problems.push(`${platform}: ${name} lacks arch ${a}`);
    }
    const icon = config[platform]?.icon;
    if (typeof icon !== 'string') { problems.push(`${platform}: no icon`); continue; }
    const file = join(root, icon);
    if (!existsSync(file)) { problems.push(`${platform}: icon ${icon} does not exist`); continue; }
    const size = icon.endsWith('.png') ? pngSize(file) : null;
    if (icon.endsWith('.png') && (size === null || size.width < 512 || size.height < 512)) {
      problems.push(`${platform}: icon ${icon} must be a PNG of at least 512x512 (is ${size === null ? 'not a PNG' : `${size.width}x${size.height}`})`);
    }
  }
  if (config.directories?.buildResources !== 'build') problems.push('directories.buildResources must be build/');
  if (config.npmRebuild !== false) problems.push('npmRebuild must be false (a rebuild fetches Node headers)');
  return problems;
}
