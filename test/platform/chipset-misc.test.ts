// Port 0x92 fast A20/reset, the 0x80 POST code and 0xE9 console ports, and the ACPI PM timer.
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/platform/clock';
import { IoBus } from '../../src/core/platform/io-bus';
import { Port92 } from '../../src/core/platform/devices/port92';
import { DebugConsolePort, PostCodePort } from '../../src/core/platform/devices/debug-ports';
import { PM_TIMER_HZ, PmTimer } from '../../src/core/platform/devices/pm-timer';

describe('port 0x92', () => {
  it('gates A20 on bit 1 and resets on a 0 -> 1 write of bit 0', () => {
    const io = new IoBus();
    const a20: boolean[] = [];
    let resets = 0;
    const p = new Port92((on) => a20.push(on), () => resets++);
    p.registerPorts(io);
    // The usual fast-A20 sequence: read, set bit 1, clear bit 0, write.
    io.write(0x92, 1, (io.read(0x92, 1) | 0x02) & 0xfe);
    expect(a20).toEqual([true]);
    expect(io.read(0x92, 1)).toBe(0x02);
    io.write(0x92, 1, 0x02); // no change: no callback
    expect(a20).toEqual([true]);
    expect(resets).toBe(0);
    io.write(0x92, 1, 0x03);
    expect(resets).toBe(1);
    io.write(0x92, 1, 0x03); // bit 0 still set: no second pulse
    expect(resets).toBe(1);
    io.write(0x92, 1, 0x00);
    expect(a20).toEqual([true, false]);
    io.write(0x92, 1, 0x03);
    expect(a20).toEqual([true, false, true]);
    p.reset(); // the machine's reset clears the register (it resets its A20 state itself)
    expect(io.read(0x92, 1)).toBe(0);
    io.write(0x92, 1, 0x01);
    expect(resets).toBe(3);
  });
});

describe('debug ports', () => {
  it('keeps the last POST code and a bounded history', () => {
    const io = new IoBus();
    const post = new PostCodePort(4);
    post.registerPorts(io);
    expect(io.read(0x80, 1)).toBe(0xff);
    for (const c of [0x01, 0x02, 0x03, 0x04, 0x05, 0x06]) io.write(0x80, 1, c);
    expect(post.last).toBe(0x06);
    expect(io.read(0x80, 1)).toBe(0x06);
    expect(post.history()).toEqual([0x03, 0x04, 0x05, 0x06]);
    expect(post.writes).toBe(6);
    post.reset();
    expect(post.history()).toEqual([]);
  });

  it('passes 0xE9 bytes to the console and answers 0xE9', () => {
    const io = new IoBus();
    let text = '';
    new DebugConsolePort((b) => (text += String.fromCharCode(b))).registerPorts(io);
    for (const ch of 'ok\n') io.write(0xe9, 1, ch.charCodeAt(0));
    expect(text).toBe('ok\n');
    expect(io.read(0xe9, 1)).toBe(0xe9);
  });
});

describe('ACPI PM timer', () => {
  it('counts 3.579545 MHz in 24 bits from virtual time', () => {
    const counter = { icount: 0 };
    const clock = new VirtualClock(counter);
    const io = new IoBus();
    const pm = new PmTimer(clock);
    pm.registerPorts(io, 0x608);
    expect(io.read(0x608, 4)).toBe(0);
    counter.icount = 1e8; // 1 s
    expect(io.read(0x608, 4)).toBe(PM_TIMER_HZ);
    expect(io.read(0x608, 2)).toBe(PM_TIMER_HZ & 0xffff);
    expect(io.read(0x60a, 1)).toBe((PM_TIMER_HZ >> 16) & 0xff);
    counter.icount = 5e8; // 5 s: 17.9 M ticks wrap past 2^24
    expect(io.read(0x608, 4)).toBe((5 * PM_TIMER_HZ) % 0x1000000);
    expect(pm.carries()).toBe(2);
    // Monotonic between wraps at fine grain.
    let last = io.read(0x608, 4);
    for (let i = 0; i < 1000; i++) { counter.icount += 7; const v = io.read(0x608, 4); expect(v).toBeGreaterThanOrEqual(last); last = v; }
  });
});
