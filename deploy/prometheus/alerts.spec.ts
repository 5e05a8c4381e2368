import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { checkPromql, exportedMetrics } from '../exported-metrics';

// deploy/prometheus: promtool checks the rules and runs their unit tests (alerts.test.yml) when it
// is installed (Debian: apt-get install prometheus); the offline checks below run everywhere.
type Rule = { alert?: string; record?: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
const DIR = __dirname;
const groups: Array<{ name: string; rules: Rule[] }> = parse(readFileSync(join(DIR, 'alerts.yml'), 'utf8')).groups;
const rules = groups.flatMap((g) => g.rules);
const alert = (name: string) => rules.find((r) => r.alert === name)!;
const hasPromtool = spawnSync('promtool', ['--version']).status === 0;
const withPromtool = hasPromtool ? it : it.skip;

describe('deploy/prometheus alert rules', () => {
  withPromtool(`promtool check rules (${hasPromtool ? 'promtool found' : 'SKIPPED: promtool not installed'})`, () => {
    expect(execFileSync('promtool', ['check', 'rules', join(DIR, 'alerts.yml')], { encoding: 'utf8' })).toContain('SUCCESS');
  });

  withPromtool('promtool test rules: dead-letter alerts fire on new entries and clear; ejection names the upstream; SLO burn fires and clears; activity burn, analyzer lag and backlog fire once per activity or deployment and clear', () => {
    const run = spawnSync('promtool', ['test', 'rules', join(DIR, 'alerts.test.yml')], { encoding: 'utf8' });
    expect(run.stdout + run.stderr).toContain('SUCCESS');
    expect(run.status).toBe(0);
  });

  withPromtool('promtool check config of prometheus.yml (rule file path mapped to this checkout)', () => {
    const config = readFileSync(join(DIR, 'prometheus.yml'), 'utf8').replace('/etc/prometheus/alerts.yml', join(DIR, 'alerts.yml'));
    const dir = mkdtempSync(join(tmpdir(), 'rampart-prom-'));
    try {
      writeFileSync(join(dir, 'prometheus.yml'), config);
      const run = spawnSync('promtool', ['check', 'config', join(dir, 'prometheus.yml')], { encoding: 'utf8' });
      expect(run.stdout + run.stderr).toContain('SUCCESS: 1 rule files found');
      expect(run.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('every expression is well-formed PromQL as far as a bracket/matcher/range check goes, and names only metrics the apps export or rules record', () => {
    const exported = exportedMetrics();
    const recorded = new Set(rules.filter((r) => r.record).map((r) => r.record!));
    const unknown: string[] = [];
    for (const rule of rules) {
      for (const metric of checkPromql(rule.expr).metrics) if (!exported.has(metric) && !recorded.has(metric)) unknown.push(`${rule.alert ?? rule.record}: ${metric}`);
    }
    expect(unknown).toEqual([]);
    expect(exported.has('rampart_dead_letters_total')).toBe(true);
    // The analyzer's, read from apps/analyzer (its histogram with its series suffixes).
    for (const name of ['rampart_analyzer_entries_total', 'rampart_analyzer_errors_total', 'rampart_analyzer_lag_seconds_bucket', 'rampart_analyzer_backlog', 'rampart_activity_burn_alert', 'rampart_activity_burn_rate']) {
      expect({ name, exported: exported.has(name) }).toEqual({ name, exported: true });
    }
  });

  it('every alert has a severity and a summary; names and records are unique', () => {
    const alerts = rules.filter((r) => r.alert);
    for (const a of alerts) {
      expect({ alert: a.alert, severity: a.labels?.severity }).toEqual({ alert: a.alert, severity: expect.stringMatching(/^(critical|warning|info)$/) });
      expect(a.annotations?.summary).toEqual(expect.any(String));
    }
    const names = rules.map((r) => r.alert ?? r.record);
    expect(new Set(names).size).toBe(names.length);
  });

  it('the ejection alert groups by and names the upstream label (Prometheus overwrites `instance` with the scraped gateway)', () => {
    const ejected = alert('RampartInstanceEjected');
    expect(ejected.expr).toMatch(/by \(service, upstream\)/);
    expect(ejected.annotations!.summary).toContain('{{ $labels.upstream }}');
    expect(rules.filter((r) => r.expr.includes('rampart_upstream')).map((r) => r.expr).join('\n')).not.toMatch(/\binstance\b/);
  });

  it('dead letters alert on new entries (increase over a window), refusals as warning, exhausted tries as critical', () => {
    const refused = alert('RampartDeadLettersRefused');
    const exhausted = alert('RampartDeadLettersExhausted');
    expect(refused.expr).toMatch(/increase\(rampart_dead_letters_total\{reason=~?"[^"]*refused[^"]*"\}\[\w+\]\)/);
    expect(exhausted.expr).toMatch(/increase\(rampart_dead_letters_total\{reason="exhausted"\}\[\w+\]\)/);
    expect([refused.labels!.severity, exhausted.labels!.severity]).toEqual(['warning', 'critical']);
    expect(rules.some((r) => r.alert && /rampart_queue_jobs\{state="failed"\}/.test(r.expr))).toBe(false);
  });

  it('claim SLOs use multi-window, multi-burn-rate rules: 14.4x over 1h and 5m, 6x over 6h and 30m', () => {
    for (const [prefix, record, budget] of [['RampartClaimError', 'rampart:claim_errors', '0.001'], ['RampartClaimLatency', 'rampart:claim_slow', '0.01']]) {
      expect(alert(`${prefix}BudgetBurnFast`).expr).toBe(`${record}:ratio_rate1h > (14.4 * ${budget}) and ${record}:ratio_rate5m > (14.4 * ${budget})`);
      expect(alert(`${prefix}BudgetBurnSlow`).expr).toBe(`${record}:ratio_rate6h > (6 * ${budget}) and ${record}:ratio_rate30m > (6 * ${budget})`);
      for (const w of ['5m', '30m', '1h', '6h']) {
        const rec = rules.find((r) => r.record === `${record}:ratio_rate${w}`);
        expect(rec?.expr).toContain(`[${w}]`);
        expect(rec?.expr).toContain('route="/api/gifts/:giftId/claims"');
      }
    }
  });

  it('analytics: the activity burn alerts page (critical) for rule="page" and ticket (warning) for rule="ticket", one per activity, naming it', () => {
    for (const [name, rule, severity] of [['ActivityBurningFast', 'page', 'critical'], ['ActivityBurningSlow', 'ticket', 'warning']]) {
      const a = alert(name);
      // max by (activity): every analyzer replica exports the same series; one alert per activity.
      expect(a.expr).toBe(`max by (activity) (rampart_activity_burn_alert{rule="${rule}"}) == 1`);
      expect(a.labels!.severity).toBe(severity);
      expect(a.annotations!.summary).toContain('{{ $labels.activity }}');
    }
  });

  it('analytics: the analyzer lagging (p99 over 10 s for 5m), its backlog growing, failing rounds, and an unscrapable analyzer', () => {
    const lagging = alert('AnalyzerLagging');
    expect(lagging.expr).toBe('histogram_quantile(0.99, sum by (le) (rate(rampart_analyzer_lag_seconds_bucket[5m]))) > 10');
    expect(lagging.for).toBe('5m');
    expect(alert('AnalyzerBacklogGrowing').expr).toMatch(/max\(rampart_analyzer_backlog\) > \d+ and max\(deriv\(rampart_analyzer_backlog\[\w+\]\)\) > 0/);
    expect(alert('AnalyzerFailing').expr).toContain('rampart_analyzer_errors_total');
    expect(alert('RampartNotReady').expr).toMatch(/job=~"[^"]*\banalyzer\b[^"]*"/);
  });

  it('prometheus.yml scrapes every app of docker-compose.yml on its metrics port, the analyzer included', () => {
    const prometheus = parse(readFileSync(join(DIR, 'prometheus.yml'), 'utf8'));
    const compose = parse(readFileSync(join(DIR, '..', '..', 'docker-compose.yml'), 'utf8'), { merge: true });
    const scraped = new Map<string, string[]>(prometheus.scrape_configs.map((c: any) => [c.job_name, c.static_configs[0].targets]));
    for (const [service, s] of Object.entries<any>(compose.services)) {
      const env = s.environment ?? {};
      if (!['gateway', 'query', 'delivery', 'analyzer'].includes(env.APP)) continue;
      const port = env.APP === 'gateway' ? env.PORT : env.HTTP_PORT;
      expect({ service, scraped: scraped.get(env.APP)?.includes(`${service}:${port}`) }).toEqual({ service, scraped: true });
    }
    expect(scraped.get('analyzer')?.length).toBeGreaterThanOrEqual(1);
  });
});

describe('checkPromql (the offline fallback)', () => {
  it.each([
    ['sum(rate(x_total{a="1"}[5m])', /unclosed/],
    ['sum(rate(x_total{a="1"]))', /unbalanced/],
    ['rate(x_total{a=1}[5m])', /bad label matcher/],
    ['rate(x_total[5 minutes])', /bad range/],
  ])('rejects %s', (expr, error) => {
    expect(() => checkPromql(expr)).toThrow(error);
  });

  it('finds metric names, not functions, keywords or grouping labels', () => {
    expect(checkPromql('sum by (service, upstream) (rate(a_total{x="b"}[5m])) / on (service) b_total and histogram_quantile(0.99, c_bucket)').metrics).toEqual(['a_total', 'b_total', 'c_bucket']);
  });
});
