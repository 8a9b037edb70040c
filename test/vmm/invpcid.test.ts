// INVPCID in a hosted guest (SDM Vol. 3C §26.1.3: it exits with reason 58 when "enable INVPCID"
// and "INVLPG exiting" are both 1, which shadow paging sets). The guest (guests/invpcid.asm)
// changes a page-directory entry and invalidates with each INVPCID type before reading through
// it: the VMM runs the instruction and brings the shadow tables in line with the guest's, as the
// processor's TLB would be. Under EPT (KVM's controls: INVLPG exiting off) nothing exits.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cpuModelFor } from '../../src/core/vmx/cpu-model';
import { ExitReason } from '../../src/core/vmx/exit-reasons';
import { generation } from '../../src/core/vmx/generations';
import { capabilitiesFor } from '../../src/core/vmx/capabilities';
import { kvmDefaults, parseExits } from '../../src/core/vmm/index';
import { asm } from '../firmware/support';
import { bareRun, HostedPc } from './support';

const IMG = asm(readFileSync(join(__dirname, 'guests/invpcid.asm'), 'utf8'), join(__dirname, 'guests'));
const OUT = 'ABCDEOK\n';

describe('INVPCID exits (reason 58) under shadow paging', () => {
  const base = kvmDefaults(capabilitiesFor(generation('haswell'), cpuModelFor(generation('haswell'))));
  it('bare: each type makes the new page-directory entry take effect', () => {
    const b = bareRun(IMG, 'haswell');
    expect(b.stop).toBe('halted');
    expect(b.serial).toBe(OUT);
  });
  it('ept=off: four INVPCID exits, the shadow follows the guest\'s tables, the same output', () => {
    const pc = new HostedPc(IMG, 'haswell', { exits: parseExits('ept=off', base) });
    expect(pc.run(1)).toBe('halted');
    expect(pc.serial).toBe(OUT);
    expect(pc.count(ExitReason.Invpcid)).toBe(4);
  });
  it('EPT with KVM\'s controls: no INVPCID exit, the same output; with invlpg=on four', () => {
    const pc = new HostedPc(IMG, 'haswell', { exits: base });
    expect(pc.run(1)).toBe('halted');
    expect(pc.serial).toBe(OUT);
    expect(pc.count(ExitReason.Invpcid)).toBe(0);
    const on = new HostedPc(IMG, 'haswell', { exits: parseExits('invlpg=on', base) });
    expect(on.run(1)).toBe('halted');
    expect(on.serial).toBe(OUT);
    expect(on.count(ExitReason.Invpcid)).toBe(4);
  });
});
