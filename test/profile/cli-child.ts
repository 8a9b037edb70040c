// The exact-count tests' tools: the `vmxlab` CLI bundled once and run in a child process
// (vitest's module transform slows the interpreter several times), guests assembled with a
// nasm symbol map (`[map symbols F]`, so tests take loop addresses from the labels), and
// parsers that read every report format back: the perf table, the CSV and the profile JSON.
import { buildSync } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CSV_COLUMNS } from '../../src/core/profile/report-csv';
import { PROFILE_SCHEMA, type Profile } from '../../src/core/profile/profile-json';
import { validateJson } from '../../src/core/profile/json-schema';
import type { TraceFile } from '../../src/core/profile/trace';

export const ROOT = resolve(__dirname, '../..');
export const scratch = mkdtempSync(join(tmpdir(), 'vmxlab-profile-'));

let bundle: string | null = null;

/** The CLI bundle (src/cli/index.ts), built once per test file under a private name and
 *  renamed into place: other test files may build it at the same time. VMXLAB_TEST_CLI names
 *  a bundle built already (e.g. out/cli/vmxlab.cjs) to use instead. */
export function cliBundle(): string {
  if (bundle !== null) return bundle;
  const given = process.env.VMXLAB_TEST_CLI;
  if (given !== undefined && given !== '') return (bundle = resolve(ROOT, given));
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const out = buildSync({
    entryPoints: [join(ROOT, 'src/cli/index.ts')], absWorkingDir: ROOT, bundle: true, write: false,
    platform: 'node', format: 'cjs', target: 'node20', logLevel: 'error',
    define: { __VMXLAB_VERSION__: JSON.stringify(pkg.version) },
  });
  const dir = join(ROOT, 'node_modules/.cache/vmxlab-tests');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'vmxlab-cli.cjs'), part = `${file}.${process.pid}`;
  writeFileSync(part, out.outputFiles[0]!.contents);
  renameSync(part, file);
  bundle = file;
  return file;
}

export interface CliRun { code: number; out: string; err: string }

/** `vmxlab argv...` in a child process. */
export function vmxlab(argv: string[], timeoutMs = 120_000): CliRun {
  const p = spawnSync(process.execPath, [cliBundle(), ...argv], { encoding: 'latin1', timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 << 20 });
  if (p.error) throw p.error;
  return { code: p.status ?? -1, out: p.stdout, err: p.stderr };
}

/** Label -> linear address, from a nasm `[map symbols]` file (bin format, org applied). */
export type SymbolMap = ReadonlyMap<string, number>;

export function parseNasmMap(text: string): SymbolMap {
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    const r = /^\s+([0-9A-F]+)\s+([0-9A-F]+)\s+(\S+)\s*$/.exec(line);
    if (r) m.set(r[3]!, parseInt(r[2]!, 16));
  }
  return m;
}

/** Assembles `src` (in `dir`, as the guest's own build does) with `flags` and -DMAPFILE into
 *  the scratch directory; returns the image path, its bytes and its symbols. */
export function assembleWithMap(dir: string, src: string, name: string, flags: string[] = []): { path: string; bytes: Uint8Array; syms: SymbolMap } {
  const path = join(scratch, `${name}.img`), map = join(scratch, `${name}.map`);
  const r = spawnSync('nasm', ['-f', 'bin', ...flags, `-DMAPFILE=${map}`, src, '-o', path], { cwd: dir, encoding: 'utf8' });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`nasm ${flags.join(' ')} ${dir}/${src} failed:\n${r.stderr}`);
  return { path, bytes: new Uint8Array(readFileSync(path)), syms: parseNasmMap(readFileSync(map, 'utf8')) };
}

export function sym(syms: SymbolMap, name: string): number {
  const a = syms.get(name);
  if (a === undefined) throw new Error(`no symbol '${name}' in the nasm map`);
  return a;
}

/** A `--rip-range` argument covering labels [from, to). */
export function range(syms: SymbolMap, from: string, to: string): string {
  return `0x${sym(syms, from).toString(16)}-0x${sym(syms, to).toString(16)}`;
}

/** One row of the perf table: event label -> samples. */
export function parsePerfTable(text: string): { rows: Map<string, number>; total: number; vcpuLine: string } {
  const lines = text.split('\n');
  const head = lines.findIndex((l) => /^\s+(VM-EXIT|IO Port Access|MSR Access|CR Access|Exception|MMIO Access)\s+Samples\s+Samples%/.test(l));
  if (head < 0) throw new Error(`no perf table in:\n${text}`);
  const vcpuLine = lines.slice(0, head).reverse().find((l) => l.startsWith('Analyze events')) ?? '';
  const rows = new Map<string, number>();
  for (let i = head + 2; i < lines.length && lines[i]!.trim() !== ''; i++) {
    // perf's layout: %20s %10d %8.2f%% %8.2f%% %9.2fus %9.2fus %9.2fus ( +-%7.2f%% ) (a longer
    // label pushes the row right, as printf does)
    const r = /^ *(.+?) +(\d+) +[\d.]+% +[\d.]+% +[\d.]+us +[\d.]+us +[\d.]+us \( \+- *[\d.]+% \)$/.exec(lines[i]!);
    if (!r) throw new Error(`perf row does not parse: '${lines[i]}'`);
    rows.set(r[1]!.trim(), Number(r[2]));
  }
  const t = /Total Samples:(\d+), Total events handled time:[\d.]+us\./.exec(text);
  if (!t) throw new Error('no perf total line');
  return { rows, total: Number(t[1]), vcpuLine };
}

export type CsvRecord = Record<(typeof CSV_COLUMNS)[number], string>;

/** RFC 4180 records of the CSV report, checked against the documented header. */
export function parseCsv(text: string): CsvRecord[] {
  const start = text.indexOf(CSV_COLUMNS.join(','));
  if (start < 0) throw new Error(`no CSV header in:\n${text}`);
  const body = text.slice(start);
  const records: string[][] = [];
  let field = '', rec: string[] = [], i = 0, quoted = false;
  for (; i < body.length; i++) {
    const ch = body[i]!;
    if (quoted) {
      if (ch === '"' && body[i + 1] === '"') { field += '"'; i++; } else if (ch === '"') quoted = false; else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') { rec.push(field); field = ''; } else if (ch === '\r' && body[i + 1] === '\n') {
      rec.push(field); records.push(rec); rec = []; field = ''; i++;
      if (body[i + 1] === '\n' || i + 1 >= body.length) break; // the blank line or end after the CSV
    } else field += ch;
  }
  const [header, ...rows] = records;
  if (header!.join(',') !== CSV_COLUMNS.join(',')) throw new Error(`CSV header ${header!.join(',')}`);
  return rows.map((r) => {
    if (r.length !== CSV_COLUMNS.length) throw new Error(`CSV record with ${r.length} fields: ${r.join(',')}`);
    return Object.fromEntries(CSV_COLUMNS.map((c, k) => [c, r[k]!])) as CsvRecord;
  });
}

/** A profile file, validated against profile.schema.json. */
export function readProfile(path: string): Profile {
  const json: unknown = JSON.parse(readFileSync(path, 'utf8'));
  const errors = validateJson(PROFILE_SCHEMA, json);
  if (errors.length > 0) throw new Error(`${path} does not match profile.schema.json:\n${errors.map((e) => JSON.stringify(e)).join('\n')}`);
  return json as Profile;
}

export function readTrace(path: string): TraceFile {
  return JSON.parse(readFileSync(path, 'utf8')) as TraceFile;
}

/** Count per exit-reason name in a profile. */
export function reasonCounts(p: Profile): Record<string, number> {
  return Object.fromEntries(p.reasons.map((r) => [r.name, r.count]));
}

/** Scratch file path. */
export function scratchFile(name: string): string { return join(scratch, name); }

/** The guest's own serial transcript: what `vmxlab run` printed before the report. */
export function transcript(out: string): string {
  const i = out.indexOf('\n\n\nAnalyze events');
  const j = out.indexOf(CSV_COLUMNS.join(','));
  const cut = [i, j].filter((x) => x >= 0);
  return cut.length > 0 ? out.slice(0, Math.min(...cut)) : out;
}

/** `f()` run on first use, then its result: child runs happen inside the tests that need them. */
export function lazy<T>(f: () => T): () => T {
  let done = false, v: T | undefined;
  return () => {
    if (!done) { v = f(); done = true; }
    return v as T;
  };
}
