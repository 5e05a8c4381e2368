/** A cancellable timer handle, as returned by {@link Clock.setTimeout}. */
export interface TimerHandle {
  /** Cancels the timer; calling it after it fired, or twice, is harmless. */
  clear(): void;
}

/**
 * Where policies read time and schedule timers, so tests can drive them with a fake.
 * Every timer a policy creates through a clock is `unref()`ed: it never keeps the process alive.
 */
export interface Clock {
  /** Milliseconds since an arbitrary origin; only differences are meaningful. */
  now(): number;
  /** Runs `fn` after `ms` milliseconds (unref'ed). */
  setTimeout(fn: () => void, ms: number): TimerHandle;
}

/**
 * The process clock. It reads the globals at call time (not at import), so Jest's modern fake
 * timers (`jest.useFakeTimers()`) drive it too.
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const timer = setTimeout(fn, ms);
    timer.unref?.();
    return { clear: () => clearTimeout(timer) };
  },
};

/**
 * A clock that only moves when told to: `advance(ms)` runs due timers in time order.
 * For unit tests of time-based code (windows, budgets, buffers) without Jest's globals.
 */
export class ManualClock implements Clock {
  private current: number;
  private timers: { at: number; seq: number; fn: () => void; cleared: boolean }[] = [];
  private seq = 0;

  constructor(startMs = 0) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = { at: this.current + Math.max(0, ms), seq: this.seq++, fn, cleared: false };
    this.timers.push(timer);
    return { clear: () => void (timer.cleared = true) };
  }

  /** Moves time forward by `ms`, running every timer that falls due, earliest first. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      this.timers = this.timers.filter((t) => !t.cleared);
      const due = this.timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.current = due.at;
      due.cleared = true;
      due.fn();
    }
    this.current = target;
  }

  /** Timers scheduled and not yet run or cleared. */
  get pending(): number {
    return this.timers.filter((t) => !t.cleared).length;
  }
}
