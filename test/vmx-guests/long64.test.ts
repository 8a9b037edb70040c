// vmx-long64 (long64/long64.asm): the 64-bit test hypervisor. It enters IA-32e mode, VMXONs
// with a 64-bit host and launches a 64-bit guest under EPT; its COM1 transcript was recorded on
// Bochs 2.7 (corei7_haswell_4770, which has long mode; record-bochs.sh long64 haswell). vmxlab's
// CLI builds its CPU models without long mode until the default changes (cpu-model.ts), so this
// test builds the bare PC itself with cpuModelFor('haswell', { longMode: true }) and compares
// the transcript byte for byte. A model without long mode prints the skip line (checked too).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BlockDevice } from '../../src/core/platform/block';
import { PcMachine } from '../../src/core/platform/machine';
import { cpuModelFor } from '../../src/core/vmx/cpu-model';
import { generation } from '../../src/core/vmx/generations';

const IMAGE = join(__dirname, 'long64', 'vmx-long64.img');

function run(gen: string, longMode: boolean): { serial: string; stop: unknown } {
  const img = new Uint8Array(1474560);
  img.set(readFileSync(IMAGE));
  const m = new PcMachine({
    cpuModel: cpuModelFor(generation(gen), { longMode }), memoryBytes: 32 << 20,
    floppies: [new BlockDevice('fd0', img)], bootOrder: ['floppy'], biosSerialConsole: false,
  });
  let serial = '';
  m.onSerial = (_p, b) => { serial += String.fromCharCode(b); };
  const stop = m.run(200_000_000);
  return { serial, stop };
}

describe('vmx-long64: a 64-bit hypervisor with a 64-bit guest, against its Bochs recording', () => {
  it('haswell with long mode prints expected/vmx-long64.haswell.txt byte for byte', () => {
    const r = run('haswell', true);
    expect(r.serial).toBe(readFileSync(join(__dirname, 'expected', 'vmx-long64.haswell.txt'), 'latin1'));
    expect(r.stop).toBe('stopped'); // the exit port (0xF4) after END
  }, 120_000);

  it('a model without long mode prints the skip line', () => {
    const r = run('haswell', false);
    expect(r.serial).toBe('VMX-LONG64 START\n  skip (no Intel 64 on this CPU model)\nEND VMX-LONG64\n');
  }, 60_000);
});
