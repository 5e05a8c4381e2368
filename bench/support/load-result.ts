import { LatencyRecorder } from './latency-recorder.js';

/** What one load run measured. Latencies count successful requests only. */
export interface LoadResult {
  /** Successful requests (2xx, or what the caller counts as success). */
  ok: number;
  /** Everything else, by outcome (status code or error code). */
  failures: Record<string, number>;
  elapsedS: number;
  /** Successful requests per second. */
  okPerS: number;
  p50Ms: number;
  p99Ms: number;
  /** For paced runs: requests the pacer could not send because `maxInFlight` were pending. */
  skipped?: number;
}

/** Accumulates outcomes and latencies of one run. */
export class LoadTally {
  readonly latencies = new LatencyRecorder();
  private ok = 0;
  private readonly failures: Record<string, number> = {};
  private readonly startedMs = performance.now();

  success(latencyMs: number): void {
    this.ok++;
    this.latencies.record(latencyMs);
  }

  failure(outcome: string): void {
    this.failures[outcome] = (this.failures[outcome] ?? 0) + 1;
  }

  result(extra: { elapsedS?: number; skipped?: number } = {}): LoadResult {
    const elapsedS = extra.elapsedS ?? (performance.now() - this.startedMs) / 1000;
    const [p50Ms, p99Ms] = this.latencies.percentiles(50, 99);
    return { ok: this.ok, failures: this.failures, elapsedS, okPerS: this.ok / elapsedS, p50Ms, p99Ms, ...(extra.skipped ? { skipped: extra.skipped } : {}) };
  }
}

/** `{ '409': 3, ECONNRESET: 1 }` as `409x3 ECONNRESETx1`, or `-`. */
export function formatFailures(failures: Record<string, number>): string {
  const entries = Object.entries(failures);
  return entries.length ? entries.map(([k, n]) => `${k}x${n}`).join(' ') : '-';
}
