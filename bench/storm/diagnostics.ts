/** Counters of the gateways' admission decisions, summed over gateways (from their /metrics). */
export type RefusalCounts = Record<string, number>;

/** What each counter is called in the report. */
const COUNTERS: Array<[label: string, match: (line: string) => boolean]> = [
  ['priority', (l) => l.startsWith('rampart_admission_priority_refused_total')],
  ['limit', (l) => l.startsWith('rampart_admission_requests_total') && l.includes('outcome="refused_limit"')],
  ['cohort', (l) => l.startsWith('rampart_admission_requests_total') && l.includes('outcome="refused_cohort"')],
  ['throttled', (l) => l.startsWith('rampart_client_throttled_total')],
  ['bulkhead', (l) => l.startsWith('rampart_bulkhead_rejected_total')],
];

/** The claims' share of the same (the mixed storm: who refused the claims, beside the reads). */
const CLAIM_PREFIX = 'claims by ';
const isClaim = (line: string) => line.includes('class="claim"');
COUNTERS.push(
  ...COUNTERS.filter(([label]) => label === 'priority' || label === 'limit' || label === 'cohort').map(
    ([label, match]): [string, (line: string) => boolean] => [`${CLAIM_PREFIX}${label}`, (l) => match(l) && isClaim(l)],
  ),
);

/** Reads every gateway's /metrics and sums the refusal counters by kind. */
export async function refusalCounts(gatewayUrls: string[]): Promise<RefusalCounts> {
  const counts: RefusalCounts = Object.fromEntries(COUNTERS.map(([label]) => [label, 0]));
  for (const url of gatewayUrls) {
    const text = await (await fetch(`${url}/metrics`)).text();
    for (const line of text.split('\n')) {
      if (line.startsWith('#')) continue;
      for (const [label, match] of COUNTERS) if (match(line)) counts[label]! += Number(line.slice(line.lastIndexOf(' ') + 1)) || 0;
    }
  }
  return counts;
}

/** `after − before`, as `kind n` pairs of the non-zero kinds (with the claims' own counts only when `claimsApart`). */
export function formatDelta(before: RefusalCounts, after: RefusalCounts, claimsApart = false): string {
  const parts = Object.keys(after)
    .filter((k) => claimsApart || !k.startsWith(CLAIM_PREFIX))
    .map((k) => [k, (after[k] ?? 0) - (before[k] ?? 0)] as const)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`);
  return parts.join(', ') || '-';
}
