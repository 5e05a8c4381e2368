import { formatFailures, type LoadResult } from './load-result.js';

/** Prints a table with a title; numbers and the header line up on the right. */
export function printTable(title: string, header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(`\n${title}`);
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
}

export const fmtRate = (perS: number): string => (Number.isFinite(perS) ? Math.round(perS).toLocaleString('en-US') : '-');
export const fmtMs = (ms: number): string => (Number.isFinite(ms) ? ms.toFixed(2) : '-');
export const fmtRatio = (x: number): string => (Number.isFinite(x) ? `${(x * 100).toFixed(0)}%` : '-');

/** Columns of {@link resultRow}. */
export const RESULT_HEADER = ['path', 'load', 'ok/s', 'p50 ms', 'p99 ms', 'ok', 'not ok'];

/** One table row of a load result. */
export function resultRow(path: string, load: string, r: LoadResult): string[] {
  const notOk = formatFailures(r.skipped ? { ...r.failures, skipped: r.skipped } : r.failures);
  return [path, load, fmtRate(r.okPerS), fmtMs(r.p50Ms), fmtMs(r.p99Ms), String(r.ok), notOk];
}

/** `met`/`MISSED` against a goal, for the summary lines (printed, never asserted). */
export const verdict = (met: boolean): string => (met ? 'met' : 'MISSED');
