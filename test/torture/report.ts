import { GIFTS } from './gifts.js';
import { INVARIANTS, type FinalData, type Violation } from './invariants.js';
import type { RunState } from './run-state.js';
import { describeSchedule, type Schedule } from './schedule.js';
import { format, short } from './trace.js';

const count = <T>(items: T[], key: (item: T) => string): string => {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ×${n}`).join(', ') || '-';
};

/** The report of one run: what was done, what came back, and the violations with their traces. */
export function formatReport(
  r: { seed: number; minutes: number; state: RunState; schedule: Schedule; data: FinalData; violations: Violation[]; quiesceMs: number; open: number; elapsedMs: number },
  evidence: (orderId: string) => string[],
): string {
  const { state, data, violations } = r;
  const lines: string[] = [];
  const keys = [...state.keys.values()];
  const claims = state.exchanges.filter((e) => e.method === 'POST' && e.path.startsWith('/api/gifts/'));
  lines.push(`torture seed ${r.seed}: ${r.minutes} min schedule, ${(r.elapsedMs / 1000).toFixed(0)} s in all; replay: npm run torture -- --seed ${r.seed} --minutes ${r.minutes}`);
  lines.push(`claims: ${keys.length} keys (${keys.filter((k) => /^\d+$/.test(k.key)).length} numeric, ${keys.filter((k) => k.key.length === 128).length} of 128 chars), ${claims.length} sends, ${keys.reduce((n, k) => n + k.reuses.length, 0)} key reuses`);
  lines.push(`claim answers: ${count(claims, (e) => (e.status ? `${e.status}${e.code ? ` ${e.code}` : ''}` : `no answer (${e.error?.includes('timeout') ? 'timeout' : 'network'})`))}`);
  lines.push(`other requests: ${count(state.exchanges.filter((e) => !claims.includes(e)), (e) => `${e.method} ${e.path.split('/').slice(0, 3).join('/')} ${e.status || 'no answer'}`)}`);
  for (const gift of GIFTS.filter((g) => g.buckets)) {
    const mine = claims.filter((e) => e.path === `/api/gifts/${gift.giftId}/claims`);
    const remaining = (data.gifts.get(gift.giftId) as { remaining?: number } | undefined)?.remaining;
    lines.push(`split gift ${gift.giftId} (${gift.buckets} buckets, inventory ${gift.inventory}): remaining ${remaining ?? 'unreadable'} at the end; answers ${count(mine, (e) => `${e.status}${e.code ? ` ${e.code}` : ''}`)}`);
  }
  lines.push(`faults injected: ${count(state.faults, (f) => f.kind)}`);
  lines.push(`archive: ${data.archive.held.size} orders of the short activity in PostgreSQL, ${data.archive.retired.length} of them removed from Redis by retention; ${state.revisits} claims came back to its keys after it ended`);
  lines.push(`flag flips: ${state.flagFlips}; operator actions: ${count(state.operatorGroups, (g) => `${g.action}${g.statuses.length > 1 ? '×2' : ''} [${g.statuses.join(',')}]`)}`);
  const finals = [...data.orders.values()];
  lines.push(`orders at the end: ${count(finals, (o) => (o.kind === 'order' ? o.view.status : o.kind === 'absent' ? 'no order (404)' : `unreadable ${o.status}`))}`);
  lines.push(`quiescence: ${r.open ? `${r.open} orders still open after` : 'reached in'} ${(r.quiesceMs / 1000).toFixed(1)} s`);
  if (!violations.length) {
    lines.push('OK: no invariant violated');
    return lines.join('\n');
  }
  lines.push(`FAILED: ${violations.length} violations: ${count(violations, (v) => v.invariant)}`);
  const bySignature = new Map<string, Violation[]>();
  for (const v of violations) bySignature.set(`${v.invariant}|${v.signature}`, [...(bySignature.get(`${v.invariant}|${v.signature}`) ?? []), v]);
  lines.push('distinct failures:');
  for (const [sig, list] of bySignature) lines.push(`  ${sig.replace('|', '. ')} ×${list.length}`);
  const traced = new Set<string>();
  for (const [sig, list] of bySignature) {
    const inv = sig.split('|')[0];
    lines.push(`\n== ${sig.replace('|', '. ')}: ${list.length} violation(s) of "${INVARIANTS[inv]}"`);
    for (const v of list.slice(0, 4)) lines.push(`  - ${v.message}`);
    if (list.length > 4) lines.push(`  ... ${list.length - 4} more`);
    const at = list[0].at;
    if (at !== undefined && !list.some((v) => v.orderIds.length)) {
      lines.push(`  faults, processes and flags around ${(at / 1000).toFixed(1)} s:`);
      for (const e of state.trace.events.filter((e) => !e.orderId && e.t >= at - 4_000 && e.t <= at + 1_000)) lines.push(`    ${format(e)}`);
    }
    // A minimal trace: the first offending order of each distinct failure.
    for (const id of list.flatMap((v) => v.orderIds).filter((id) => !traced.has(id)).slice(0, 1)) {
      traced.add(id);
      lines.push(`  trace of ${short(id)}:`);
      for (const l of state.trace.forOrder(id, 40)) lines.push(`    ${l}`);
      const logs = evidence(id);
      if (logs.length) {
        lines.push('    app log lines naming it:');
        for (const l of logs) lines.push(`      ${l}`);
      }
    }
  }
  lines.push('\nschedule:');
  for (const l of describeSchedule(r.schedule)) lines.push(`  ${l}`);
  return lines.join('\n');
}
