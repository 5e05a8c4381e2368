import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { checkPromql, exportedMetrics } from '../exported-metrics';

// Offline schema check of the provisioned Grafana dashboard: the fields Grafana needs to load it,
// unique panel ids, panels on the 24-column grid, every query on the provisioned datasource, well
// formed and naming a metric the apps export (or a rule records). The provisioning files point at it.
type Panel = Record<string, any>;
const DIR = __dirname;
const dashboard = JSON.parse(readFileSync(join(DIR, 'dashboards', 'rampart.json'), 'utf8'));
const panels: Panel[] = dashboard.panels;
const queryPanels = panels.filter((p) => p.type !== 'row');
const datasource = parse(readFileSync(join(DIR, 'provisioning', 'datasources', 'prometheus.yml'), 'utf8')).datasources[0];
const recorded = new Set<string>(
  parse(readFileSync(join(DIR, '..', 'prometheus', 'alerts.yml'), 'utf8')).groups.flatMap((g: any) => g.rules).filter((r: any) => r.record).map((r: any) => r.record),
);

describe('deploy/grafana dashboard', () => {
  it('has the top-level fields Grafana requires', () => {
    expect(dashboard).toMatchObject({
      uid: expect.stringMatching(/^[a-zA-Z0-9_-]{1,40}$/),
      title: expect.any(String),
      schemaVersion: expect.any(Number),
      panels: expect.any(Array),
      time: { from: expect.any(String), to: expect.any(String) },
      templating: { list: expect.any(Array) },
    });
    expect(dashboard).not.toHaveProperty('id'); // provisioned dashboards get their id from Grafana
  });

  it('panels have unique ids, a known type, a title and a place on the 24-column grid', () => {
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of panels) {
      expect(['row', 'timeseries', 'state-timeline', 'stat', 'gauge', 'table']).toContain(p.type);
      expect(p.title).toEqual(expect.any(String));
      const { x, y, w, h } = p.gridPos;
      expect([x, y, w, h].every(Number.isInteger)).toBe(true);
      expect(x + w).toBeLessThanOrEqual(24);
      expect(h).toBeGreaterThan(0);
    }
  });

  it("every panel's queries run on the provisioned Prometheus, parse, and name metrics the apps export", () => {
    const exported = exportedMetrics();
    const unknown: string[] = [];
    for (const p of queryPanels) {
      expect({ panel: p.title, ds: p.datasource }).toEqual({ panel: p.title, ds: { type: 'prometheus', uid: datasource.uid } });
      expect(p.targets.length).toBeGreaterThan(0);
      const refIds = p.targets.map((t: Panel) => t.refId);
      expect(new Set(refIds).size).toBe(refIds.length);
      for (const t of p.targets) {
        const { metrics } = checkPromql(t.expr);
        expect(metrics.length).toBeGreaterThan(0);
        for (const m of metrics) if (!exported.has(m) && !recorded.has(m)) unknown.push(`${p.title}: ${m}`);
      }
    }
    expect(unknown).toEqual([]);
  });

  it('covers RED per route, per-upstream success and p99, breakers and flags, queue depth and age, deliveries by outcome', () => {
    const exprs = queryPanels.flatMap((p) => p.targets.map((t: Panel) => t.expr)).join('\n');
    for (const needle of [
      'rampart_http_requests_total', 'rampart_http_request_duration_seconds_bucket', 'by (route',
      'rampart_upstream_success_rate', 'rampart_upstream_p99_seconds', 'upstream)',
      'rampart_breaker_state', 'rampart_flag_enabled', 'rampart_queue_jobs', 'rampart_queue_oldest_waiting_seconds',
      'rampart_deliveries_total', 'rampart_dead_letters_total',
    ]) expect({ needle, found: exprs.includes(needle) }).toEqual({ needle, found: true });
  });

  it('has an Analytics row below the others: burning activities, analyzer lag p99, entries new vs repeat, backlog', () => {
    const row = panels.find((p) => p.type === 'row' && p.title.startsWith('Analytics'))!;
    expect(row).toBeDefined();
    const under = queryPanels.filter((p) => p.gridPos.y === row.gridPos.y + 1);
    const exprs = under.flatMap((p) => p.targets.map((t: Panel) => t.expr as string));
    expect(Math.max(...panels.map((p) => p.gridPos.y))).toBe(row.gridPos.y + 1);
    expect(exprs).toEqual(expect.arrayContaining([
      'max by (activity, rule) (rampart_activity_burn_rate)',
      'histogram_quantile(0.99, sum by (le) (rate(rampart_analyzer_lag_seconds_bucket[$__rate_interval])))',
      'sum by (kind) (rate(rampart_analyzer_entries_total[$__rate_interval]))',
      'max(rampart_analyzer_backlog)',
    ]));
    expect(under.reduce((w, p) => w + p.gridPos.w, 0)).toBe(24);
  });

  it('is provisioned: the dashboards provider reads the folder compose mounts, the datasource points at compose Prometheus', () => {
    const provider = parse(readFileSync(join(DIR, 'provisioning', 'dashboards', 'rampart.yml'), 'utf8')).providers[0];
    const compose = parse(readFileSync(join(DIR, '..', '..', 'docker-compose.yml'), 'utf8'));
    const mounts: string[] = compose.services.grafana.volumes;
    expect(mounts).toContain(`./deploy/grafana/dashboards:${provider.options.path}:ro`);
    expect(mounts).toContain('./deploy/grafana/provisioning:/etc/grafana/provisioning:ro');
    expect(datasource).toMatchObject({ type: 'prometheus', url: 'http://prometheus:9090' });
    expect(readdirSync(join(DIR, 'dashboards'))).toEqual(['rampart.json']);
  });
});
