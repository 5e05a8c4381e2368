/** Collects latencies (ms, sub-millisecond resolution) and answers percentiles. */
export class LatencyRecorder {
  private values = new Float64Array(16_384);
  private count = 0;

  get size(): number {
    return this.count;
  }

  record(latencyMs: number): void {
    if (this.count === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.count++] = latencyMs;
  }

  /** Percentiles (0-100) by nearest rank, in ms; NaN when nothing was recorded. */
  percentiles(...ps: number[]): number[] {
    if (this.count === 0) return ps.map(() => Number.NaN);
    const sorted = this.values.slice(0, this.count).sort();
    return ps.map((p) => sorted[Math.min(this.count - 1, Math.max(0, Math.ceil((p / 100) * this.count) - 1))]);
  }
}
