import { LoadTally, type LoadResult } from './load-result.js';

/**
 * One request of a loop: resolves `true` on success, or a short outcome for anything else
 * (`'409'`, `'SOLD_OUT'`); a throw counts as its error code or name.
 */
export type LoadCall = () => Promise<true | string>;

const outcomeOf = (err: unknown): string => {
  const e = err as { code?: unknown; name?: unknown };
  return String(e?.code ?? e?.name ?? 'error');
};

async function timed(call: LoadCall, tally: LoadTally): Promise<void> {
  const startedMs = performance.now();
  try {
    const outcome = await call();
    if (outcome === true) tally.success(performance.now() - startedMs);
    else tally.failure(outcome);
  } catch (err) {
    tally.failure(outcomeOf(err));
  }
}

/** Closed loop: `concurrency` workers, each sending its next call when the last one settled. */
export async function runClosedLoop(opts: { concurrency: number; durationS: number; call: LoadCall }): Promise<LoadResult> {
  const tally = new LoadTally();
  const startedMs = performance.now();
  const endMs = startedMs + opts.durationS * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < endMs) await timed(opts.call, tally);
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  return tally.result({ elapsedS: (performance.now() - startedMs) / 1000 });
}

/**
 * Open loop at a fixed rate: call `i` is due `i / ratePerS` seconds after the start, whatever the
 * answers do (so a slow server builds a queue instead of slowing the sender, as real clients do).
 * A 1 ms timer sends every call that is due, so calls go out evenly, not in per-second bursts
 * (autocannon's `overallRate` bursts). Latency runs from the actual send. At most `maxInFlight`
 * calls are pending; a due call beyond that is skipped and counted.
 */
export function runPacedLoop(opts: { ratePerS: number; durationS: number; maxInFlight: number; call: LoadCall }): Promise<LoadResult> {
  const tally = new LoadTally();
  const total = Math.round(opts.ratePerS * opts.durationS);
  const startedMs = performance.now();
  let due = 0;
  let inFlight = 0;
  let skipped = 0;
  return new Promise((resolve) => {
    const finish = (): void => resolve(tally.result({ elapsedS: opts.durationS, skipped }));
    const tick = (): void => {
      const nowDue = Math.min(total, Math.floor(((performance.now() - startedMs) / 1000) * opts.ratePerS) + 1);
      for (; due < nowDue; due++) {
        if (inFlight >= opts.maxInFlight) {
          skipped++;
          continue;
        }
        inFlight++;
        void timed(opts.call, tally).then(() => {
          inFlight--;
          if (due >= total && inFlight === 0) finish();
        });
      }
      if (due < total) setTimeout(tick, 1);
      else if (inFlight === 0) finish();
    };
    tick();
  });
}
