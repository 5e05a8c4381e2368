import type { Clock } from './clock.js';

/** A hand-driven {@link Clock} for specs: `tick(ms)` moves time and fires due intervals. */
export class FakeClock implements Clock {
  private time = 1_000;
  private timers: Array<{ fn: () => void; ms: number; next: number; id: number }> = [];
  private ids = 0;

  now(): number {
    return this.time;
  }
  setInterval(fn: () => void, ms: number): unknown {
    const id = ++this.ids;
    this.timers.push({ fn, ms, next: this.time + ms, id });
    return id;
  }
  clearInterval(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }
  get pendingTimers(): number {
    return this.timers.length;
  }
  tick(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.next <= end).sort((a, b) => a.next - b.next)[0];
      if (!due) break;
      this.time = due.next;
      due.next += due.ms;
      due.fn();
    }
    this.time = end;
  }
}
