import { GIFTS } from './gifts.js';
import type { Prng } from './prng.js';

export type ProcessFault = { kind: 'SIGKILL' | 'SIGTERM' | 'SIGSTOP'; target: string; durationMs: number };
export type RedisFault = { kind: 'redis-kill'; target: 'redis'; durationMs: number };
export type ProviderFault = {
  kind: 'provider';
  target: 'provider-on' | 'provider-off';
  /** Body of the stub's `PUT /_faults`. */
  settings: { mode?: string; latencyMs?: number; errorRate?: number };
  label: string;
  durationMs: number;
};
/** PostgreSQL unreachable (its proxy refuses and cuts connections): the archive, not the claims, waits. */
export type DatabaseFault = { kind: 'pg-down'; target: 'postgres'; durationMs: number };
export type Fault = ProcessFault | RedisFault | ProviderFault | DatabaseFault;

export type Timed<T> = T & { at: number };
export type FlagEpisode = { name: string; durationMs: number };
export type OperatorAction = { action: 'retry' | 'resolve'; concurrent: boolean };

/**
 * What happens when, drawn from the seed alone. Three fault lanes (processes/Redis, providers,
 * PostgreSQL), each sequential, so at most three faults are active at once; flag episodes (on, then
 * off); operator actions.
 * Times are ms since the schedule started; every fault and flag episode ends before `totalMs` - 3 s.
 */
export interface Schedule {
  totalMs: number;
  processFaults: Array<Timed<ProcessFault | RedisFault>>;
  providerFaults: Array<Timed<ProviderFault>>;
  databaseFaults: Array<Timed<DatabaseFault>>;
  flags: Array<Timed<FlagEpisode>>;
  operators: Array<Timed<OperatorAction>>;
}

const INSTANCES = ['delivery-1', 'delivery-2', 'query-1', 'query-2', 'gateway-1', 'gateway-2'];

export function makeSchedule(prng: Prng, totalMs: number): Schedule {
  const lastEnd = totalMs - 3_000;
  // Its own stream (forked before any draw), so the other lanes of a seed are what they were before it.
  const databasePrng = prng.fork('database');
  const databaseFaults: Schedule['databaseFaults'] = [];
  for (let at = databasePrng.int(5_000, 15_000); ; ) {
    const durationMs = databasePrng.int(2_000, 8_000);
    if (at + durationMs > lastEnd) break;
    databaseFaults.push({ at, kind: 'pg-down', target: 'postgres', durationMs });
    at += durationMs + databasePrng.int(8_000, 20_000);
  }
  const processFaults: Schedule['processFaults'] = [];
  for (let at = prng.int(2_000, 5_000); ; ) {
    const durationMs = prng.int(1_000, 5_000);
    if (at + durationMs > lastEnd) break;
    const target = prng.weighted([['delivery', 45], ['query', 20], ['gateway', 20], ['redis', 15]] as const);
    if (target === 'redis') processFaults.push({ at, kind: 'redis-kill', target: 'redis', durationMs: Math.min(durationMs, 3_000) });
    else {
      const kind = prng.weighted([['SIGKILL', 40], ['SIGTERM', 30], ['SIGSTOP', 30]] as const);
      processFaults.push({ at, kind, target: prng.pick(INSTANCES.filter((i) => i.startsWith(target))), durationMs });
    }
    at += durationMs + prng.int(3_000, 8_000);
  }

  const providerFaults: Schedule['providerFaults'] = [];
  for (let at = prng.int(1_000, 4_000); ; ) {
    const durationMs = prng.int(2_000, 6_000);
    if (at + durationMs > lastEnd) break;
    const target = prng.chance(0.5) ? 'provider-on' : 'provider-off';
    const fault = providerFault(prng);
    providerFaults.push({ at, kind: 'provider', target, durationMs, ...fault });
    at += durationMs + prng.int(2_000, 6_000);
  }

  const flags: Schedule['flags'] = [];
  for (let at = prng.int(3_000, 8_000); ; ) {
    const durationMs = prng.int(2_000, 6_000);
    if (at + durationMs > lastEnd) break;
    const name = prng.chance(0.4) ? 'delivery.forceAsync' : `gift.${prng.pick(GIFTS).giftId}.paused`;
    flags.push({ at, name, durationMs });
    at += durationMs + prng.int(4_000, 12_000);
  }

  const operators: Schedule['operators'] = [];
  for (let at = prng.int(4_000, 8_000); at < totalMs - 1_000; at += prng.int(2_000, 5_000)) {
    operators.push({ at, action: prng.chance(0.5) ? 'retry' : 'resolve', concurrent: prng.chance(0.4) });
  }
  return { totalMs, processFaults, providerFaults, databaseFaults, flags, operators };
}

function providerFault(prng: Prng): { settings: ProviderFault['settings']; label: string } {
  const kind = prng.pick(['hang', 'hang-first', 'answer-after-delay', 'reset', 'reject', 'errors', 'latency', 'trickle'] as const);
  switch (kind) {
    case 'answer-after-delay': {
      const latencyMs = prng.int(1_000, 1_600);
      return { settings: { mode: kind, latencyMs }, label: `${kind} ${latencyMs} ms` };
    }
    case 'errors': {
      const errorRate = prng.pick([0.5, 0.8, 1]);
      return { settings: { errorRate }, label: `errorRate ${errorRate}` };
    }
    case 'latency': {
      const latencyMs = prng.int(200, 1_200);
      return { settings: { latencyMs }, label: `latency ${latencyMs} ms` };
    }
    case 'trickle': {
      const latencyMs = prng.int(30, 80);
      return { settings: { mode: kind, latencyMs }, label: `trickle a byte every ${latencyMs} ms` };
    }
    default:
      return { settings: { mode: kind }, label: kind };
  }
}

/** One line per scheduled event, for `--dry-run` and reports. */
export function describeSchedule(s: Schedule): string[] {
  const rows: Array<[number, string]> = [
    ...s.processFaults.map((f) => [f.at, `${f.kind} ${f.target} for ${f.durationMs} ms`] as [number, string]),
    ...s.providerFaults.map((f) => [f.at, `${f.target} ${f.label} for ${f.durationMs} ms`] as [number, string]),
    ...s.databaseFaults.map((f) => [f.at, `${f.kind} for ${f.durationMs} ms`] as [number, string]),
    ...s.flags.map((f) => [f.at, `flag ${f.name} on for ${f.durationMs} ms`] as [number, string]),
    ...s.operators.map((o) => [o.at, `operator ${o.action}${o.concurrent ? ' ×2 concurrent' : ''}`] as [number, string]),
  ];
  return rows.sort((a, b) => a[0] - b[0]).map(([at, text]) => `${(at / 1000).toFixed(1).padStart(6)}s ${text}`);
}
