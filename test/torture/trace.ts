/**
 * The run's event trace: every request and answer, every fault, flag flip and operator action, and
 * every order status the checker saw, with the time since the run started. On a violation the
 * events touching the offending order (and the faults around it) are printed.
 */
export type TraceEvent = {
  /** ms since the schedule started. */
  t: number;
  kind: 'claim' | 'answer' | 'read' | 'fault' | 'fault-end' | 'flag' | 'operator' | 'process' | 'note';
  /** The order (= Idempotency-Key) this event is about, if any. */
  orderId?: string;
  text: string;
};

export class Trace {
  readonly events: TraceEvent[] = [];
  private readonly startedMs = Date.now();
  private readonly lastStatus = new Map<string, string>();

  now(): number {
    return Date.now() - this.startedMs;
  }

  add(kind: TraceEvent['kind'], text: string, orderId?: string): void {
    this.events.push({ t: this.now(), kind, text, orderId });
  }

  /** Records an order status read, only when it changed since the last one seen. */
  status(orderId: string, status: string, detail = ''): void {
    if (this.lastStatus.get(orderId) === status) return;
    this.lastStatus.set(orderId, status);
    this.add('read', `status ${status}${detail ? ` ${detail}` : ''}`, orderId);
  }

  /** The events about one order, plus every fault/process event during its lifetime (± 2 s). */
  forOrder(orderId: string, limit = 60): string[] {
    const own = this.events.filter((e) => e.orderId === orderId);
    if (!own.length) return [`(no event names ${short(orderId)})`];
    const from = own[0].t - 2_000;
    const to = own[own.length - 1].t + 2_000;
    const around = this.events.filter(
      (e) => e.orderId === orderId || ((e.kind === 'fault' || e.kind === 'fault-end' || e.kind === 'process' || e.kind === 'flag') && e.t >= from && e.t <= to),
    );
    const lines = around.map(format);
    return lines.length > limit ? [...lines.slice(0, limit / 2), `... ${lines.length - limit} more ...`, ...lines.slice(-limit / 2)] : lines;
  }
}

export function format(e: TraceEvent): string {
  return `${(e.t / 1000).toFixed(3).padStart(8)}s ${e.kind.padEnd(9)} ${e.orderId ? `[${short(e.orderId)}] ` : ''}${e.text}`;
}

/** A long key shortened for display (its start and length). */
export function short(key: string): string {
  return key.length > 40 ? `${key.slice(0, 24)}…(${key.length} chars)` : key;
}
