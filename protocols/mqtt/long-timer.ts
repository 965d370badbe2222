/**
 * setTimeout fires at once for delays past 2^31-1 ms (about 24.8 days), but MQTT allows session expiries and
 * will delays up to 2^32-1 seconds. A long timer waits in steps that setTimeout can hold.
 */
const MAX_STEP_MS = 2 ** 31 - 1;

export interface LongTimer {
  cancel(): void;
}

export function longTimer(delayMs: number, fire: () => void): LongTimer {
  let timer: NodeJS.Timeout | undefined;
  const due = Date.now() + delayMs;
  const arm = () => {
    const left = due - Date.now();
    if (left <= 0) {
      timer = undefined;
      fire();
      return;
    }
    timer = setTimeout(arm, Math.min(left, MAX_STEP_MS));
    timer.unref?.();
  };
  arm();
  return {
    cancel: () => {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}
