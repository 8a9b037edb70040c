// The shared SingleStepTests 80286 subset, one vitest test per opcode file.
import { describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { listTestFiles, loadMetadata, runFile, SingleStepMachine } from './singlestep';

const dir = resolve(__dirname, '../../../shared/testdata/singlestep-80286');

describe('SingleStepTests 80286 (real mode)', () => {
  it('has the shared test data', () => { expect(existsSync(dir)).toBe(true); });
  if (!existsSync(dir)) return;
  const meta = loadMetadata(dir);
  const machine = new SingleStepMachine();
  for (const f of listTestFiles(dir)) {
    it(f.replace(/^.*\//, ''), () => {
      const r = runFile(f, meta, machine);
      const detail = r.failures.slice(0, 3).map((x) => `#${x.idx} ${x.name}: ${x.diffs.join('; ')}`).join('\n');
      expect(r.failed, detail).toBe(0);
    });
  }
});
