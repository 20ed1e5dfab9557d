// When a connection ends: its lifetime (goAway, then close 1000) and the scenario's injected faults.
import { CLOSE, type CloseSpec } from './protocol';
import { DEFAULTS, type FaultSpec } from './scenarios';

export interface FaultHooks {
  after(ms: number, fn: () => void): void;
  goAway(timeLeftMs: number): void;
  close(close: CloseSpec): void;
}

function goAwayTimeLeftMs(fault: FaultSpec): number {
  return fault.goAwayTimeLeftMs ?? DEFAULTS.goAwayTimeLeftMs;
}

function faultClose(fault: FaultSpec): CloseSpec {
  return { code: fault.closeCode ?? DEFAULTS.closeCode, reason: fault.closeReason ?? DEFAULTS.closeReason };
}

/** Starts the timers of a connection whose setup was accepted. */
export function scheduleFaultTimers(fault: FaultSpec, defaultLifetimeMs: number, hooks: FaultHooks): void {
  const lifetime = fault.lifetimeMs ?? defaultLifetimeMs;
  // Vertex warns with goAway about 60 s before the ~10 min limit (protocol reference §3.4, §4.1). A lifetime
  // shorter than the warning gets its goAway halfway, so a connection is never told to leave at birth.
  const timeLeft = Math.min(goAwayTimeLeftMs(fault), lifetime / 2);
  hooks.after(lifetime - timeLeft, () => hooks.goAway(timeLeft));
  hooks.after(lifetime, () => hooks.close(CLOSE.connectionLifetime));
  if (fault.goAwayAfterMs !== undefined) {
    hooks.after(fault.goAwayAfterMs, () => hooks.goAway(goAwayTimeLeftMs(fault)));
  }
  if (fault.closeAfterMs !== undefined) hooks.after(fault.closeAfterMs, () => hooks.close(faultClose(fault)));
}

/** Checks the message-count faults after the n-th client message following setup. */
export function messageFaults(fault: FaultSpec, afterSetup: number, hooks: FaultHooks): void {
  if (fault.closeAfterMessages !== undefined && afterSetup >= fault.closeAfterMessages) {
    return hooks.close(faultClose(fault));
  }
  if (fault.goAwayAfterMessages !== undefined && afterSetup >= fault.goAwayAfterMessages) {
    hooks.goAway(goAwayTimeLeftMs(fault));
  }
}
