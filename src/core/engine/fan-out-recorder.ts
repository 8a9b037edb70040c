// The all-vCPU exit recorder of a hosted run: the VMM records every exit into one recorder
// (HostedOptions.recorder); this one also hands each exit to the recorder of the exit's vCPU,
// so the live table's per-vCPU filter has its own aggregates. No allocation per exit.
import { ExitRecorder, type RecorderOptions } from '../profile/recorder';
import type { ExitEvent } from '../profile/exit-event';

export class FanOutRecorder extends ExitRecorder {
  /** `perVcpu[v]` receives the exits of vCPU v (each filters on its own vCPU as well). */
  constructor(options: RecorderOptions, private readonly perVcpu: readonly ExitRecorder[]) {
    super(options);
  }

  override record(ev: ExitEvent): void {
    super.record(ev);
    const r = this.perVcpu[ev.vcpu];
    if (r !== undefined) r.record(ev);
  }
}
