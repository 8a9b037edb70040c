// src/core is pure TypeScript that runs both in Node worker_threads and in browser Web Workers.
// It must not import Node built-ins or Electron, nor touch the DOM's `window`/`document`.
// (tsconfig.core.json enforces the same at type level; this test also catches `any`-typed escapes.)
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(__dirname, '../..');
const coreDir = join(root, 'src/core');
const SOURCE = /\.(?:ts|mts|cts|js|mjs|cjs)$/;

/** Every module name that exists only on Node or Electron. */
const builtins = new Set(builtinModules.flatMap((m) => [m, m.split('/')[0]!]));

export function forbiddenModule(spec: string): string | undefined {
  if (spec.startsWith('node:')) return 'Node built-in';
  if (spec === 'electron' || spec.startsWith('electron/')) return 'Electron';
  if (builtins.has(spec) || builtins.has(spec.split('/')[0]!)) return 'Node built-in';
  return undefined;
}

/**
 * Splits TypeScript source into code with comments blanked (`code`) and code with comments and
 * string contents blanked (`bare`). Line structure is kept so line numbers stay right.
 */
export function strip(src: string): { code: string; bare: string } {
  let code = '';
  let bare = '';
  let i = 0;
  const n = src.length;
  let lastSignificant = '';
  let word = '';
  const blank = (s: string) => s.replace(/[^\n]/g, ' ');
  const emit = (c: string, b: string = c) => {
    code += c;
    bare += b;
  };
  // After these, '/' starts a regular expression rather than a division.
  const regexAllowedAfter = /[(,=:[!&|?{};+\-*%<>~^]|^$|\breturn$|\btypeof$|\bcase$|\bdo$|\belse$|\bin$|\bof$/;

  while (i < n) {
    const c = src[i]!;
    const next = src[i + 1];
    if (c === '/' || c === '"' || c === "'" || c === '`') word = '';
    if (c === '/' && next === '/') {
      const end = src.indexOf('\n', i);
      const stop = end === -1 ? n : end;
      emit(blank(src.slice(i, stop)));
      i = stop;
    } else if (c === '/' && next === '*') {
      const end = src.indexOf('*/', i + 2);
      const stop = end === -1 ? n : end + 2;
      emit(blank(src.slice(i, stop)));
      i = stop;
    } else if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      while (j < n && src[j] !== c) {
        if (src[j] === '\\') j++;
        else if (c !== '`' && src[j] === '\n') break;
        j++;
      }
      const lit = src.slice(i, Math.min(j + 1, n));
      emit(lit, c + blank(lit.slice(1, -1)) + c);
      i = j + 1;
      lastSignificant = 'x';
    } else if (c === '/' && regexAllowedAfter.test(lastSignificant)) {
      let j = i + 1;
      let inClass = false;
      while (j < n && src[j] !== '\n') {
        if (src[j] === '\\') j++;
        else if (src[j] === '[') inClass = true;
        else if (src[j] === ']') inClass = false;
        else if (src[j] === '/' && !inClass) break;
        j++;
      }
      const lit = src.slice(i, j + 1);
      emit(lit, '/' + blank(lit.slice(1, -1)) + '/');
      i = j + 1;
      lastSignificant = 'x';
    } else {
      emit(c);
      // Keep a whole word as the "last significant" token so `return /re/` is seen.
      if (/[\w$]/.test(c)) {
        word += c;
        lastSignificant = word;
      } else {
        word = '';
        if (!/\s/.test(c)) lastSignificant = c;
      }
      i++;
      continue;
    }
  }
  return { code, bare };
}

export interface Violation {
  line: number;
  what: string;
}

// Matched against `bare` (string contents blanked, so quoted text never looks like an import);
// group 2 spans the blanked specifier, read back from `code` at the same offsets.
const IMPORT_PATTERNS = [
  /\bimport\s+(?:type\s+)?(?:[\w$*{}\s,]+?\s+from\s*)?(['"])( *)\1/dg,
  /\bexport\s+(?:type\s+)?(?:\*(?:\s+as\s+[\w$]+)?|\{[^}]*\})\s*from\s*(['"])( *)\1/dg,
  /\bimport\s*\(\s*(['"])( *)\1\s*\)/dg,
  /\brequire\s*\(\s*(['"])( *)\1\s*\)/dg,
];

const GLOBAL_PATTERNS = [
  // `window.x`, `document[...]`, `window?.x`, but not `foo.window` (a property of something else).
  /(?<![\w$.])(window|document)\s*(?:\?\.|\.|\[)/g,
  /\btypeof\s+(window|document)\b/g,
  /\b(?:globalThis|self)\s*(?:\?\.|\.)\s*(window|document)\b/g,
  // Passed or assigned as a value: `f(window)`, `= document;`
  /(?<=[=(,]\s*)(window|document)\s*(?=[),;])/g,
];

function lineOf(text: string, index: number): number {
  let line = 1;
  for (let k = 0; k < index; k++) if (text.charCodeAt(k) === 10) line++;
  return line;
}

export function scan(src: string): Violation[] {
  const { code, bare } = strip(src);
  const out: Violation[] = [];
  for (const re of IMPORT_PATTERNS) {
    for (const m of bare.matchAll(re)) {
      const [start, end] = m.indices![2]!;
      const spec = code.slice(start, end);
      const kind = forbiddenModule(spec);
      if (kind) out.push({ line: lineOf(code, m.index), what: `imports ${kind} '${spec}'` });
    }
  }
  for (const re of GLOBAL_PATTERNS) {
    for (const m of bare.matchAll(re)) {
      out.push({ line: lineOf(bare, m.index), what: `uses the DOM global '${m[1]}'` });
    }
  }
  return out.sort((a, b) => a.line - b.line);
}

function listSources(dir: string): string[] {
  const out: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listSources(p));
    else if (SOURCE.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

describe('the purity scanner itself', () => {
  it.each([
    [`import { readFileSync } from 'node:fs';`, "imports Node built-in 'node:fs'"],
    [`import * as fs from "fs";`, "imports Node built-in 'fs'"],
    [`import path from 'path';`, "imports Node built-in 'path'"],
    [`import { join } from 'path/posix';`, "imports Node built-in 'path/posix'"],
    [`import type { Worker } from 'worker_threads';`, "imports Node built-in 'worker_threads'"],
    [`import { ipcRenderer } from 'electron';`, "imports Electron 'electron'"],
    [`import 'node:process';`, "imports Node built-in 'node:process'"],
    [`export { x } from 'node:os';`, "imports Node built-in 'node:os'"],
    [`export * from 'fs/promises';`, "imports Node built-in 'fs/promises'"],
    [`const fs = require('fs');`, "imports Node built-in 'fs'"],
    [`const m = await import('node:crypto');`, "imports Node built-in 'node:crypto'"],
    [`const w = window.innerWidth;`, "uses the DOM global 'window'"],
    [`document.title = 'x';`, "uses the DOM global 'document'"],
    [`if (typeof window !== 'undefined') {}`, "uses the DOM global 'window'"],
    [`const d = globalThis.document;`, "uses the DOM global 'document'"],
    [`window?.postMessage(1);`, "uses the DOM global 'window'"],
    [`register(window);`, "uses the DOM global 'window'"],
  ])('flags %s', (src, what) => {
    expect(scan(src).map((v) => v.what)).toEqual([what]);
  });

  it.each([
    `import { PhysicalMemory } from './memory';`,
    `import type { GuestPhysical } from '../platform/address';`,
    `// interrupt window exiting: see document 325462\nconst x = 1;`,
    `/* window.foo and import 'fs' inside a comment */`,
    `const msg = "NMI window open; see the document";`,
    `const s = 'import fs from "fs"';`,
    `vmcs.interruptWindow = true; cpu.window.open = 1; exits.document = 0;`,
    `interface Controls { window: boolean; document: number }`,
    'const t = `window ${a / 2} document`;',
    `const re = /window\\.|document/; const y = a / b / c;`,
  ])('accepts %s', (src) => {
    expect(scan(src)).toEqual([]);
  });

  it('reports the right line', () => {
    expect(scan(`// one\n\nconst a = 1;\nimport fs from 'fs';\n`)).toEqual([
      { line: 4, what: "imports Node built-in 'fs'" },
    ]);
  });
});

describe('src/core', () => {
  const files = listSources(coreDir);

  it('has sources to check', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it('imports no Node built-in or Electron module and uses no window/document', () => {
    const problems = files.flatMap((f) =>
      scan(readFileSync(f, 'utf8')).map((v) => `${relative(root, f)}:${v.line}: ${v.what}`),
    );
    expect(problems, `src/core must stay free of Node, Electron and the DOM:\n${problems.join('\n')}`).toEqual([]);
  });
});
