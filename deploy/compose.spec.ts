import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadAnalyzerConfig } from '../apps/analyzer/src/analyzer.config';

// docker-compose.yml cannot be run here; this checks what can be checked offline: it parses (YAML
// anchors and merges included), every bind-mounted file exists, dependencies name real services,
// Prometheus sends alerts to the Alertmanager service, and the Alertmanager config is valid
// (amtool, when installed: Debian package prometheus-alertmanager).
const ROOT = join(__dirname, '..');
const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true });
const services: Record<string, any> = compose.services;

describe('docker-compose.yml', () => {
  it('parses; every service has an image or a build; depends_on names services', () => {
    for (const [name, s] of Object.entries(services)) {
      expect({ name, has: Boolean(s.image || s.build) }).toEqual({ name, has: true });
      const deps = Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on ?? {});
      for (const dep of deps) expect({ name, dep, known: dep in services }).toEqual({ name, dep, known: true });
    }
  });

  it('runs Prometheus, Alertmanager and Grafana with their config files present in the checkout', () => {
    for (const name of ['prometheus', 'alertmanager', 'grafana']) expect(services[name]).toBeDefined();
    for (const s of Object.values(services)) {
      for (const volume of (s.volumes ?? []) as string[]) {
        const [source] = volume.split(':');
        if (source.startsWith('./')) expect({ volume, exists: existsSync(join(ROOT, source)) }).toEqual({ volume, exists: true });
      }
    }
    expect(Object.keys(compose.volumes)).toEqual(expect.arrayContaining(['redis-data', 'grafana-data']));
  });

  it('Redis is bounded: maxmemory with noeviction, under a container memory limit above it', () => {
    const command: string[] = services.redis.command;
    const arg = (name: string) => command[command.indexOf(name) + 1];
    expect(command).toContain('--maxmemory');
    expect(arg('--maxmemory-policy')).toBe('noeviction');
    // ${VAR:-default}: the defaults as shipped.
    const bytes = (size: string) => {
      const [, n, unit] = /^\$\{\w+:-(\d+)(m|mb|g|gb)\}$/.exec(size)!;
      return Number(n) * (unit.startsWith('g') ? 1024 : 1);
    };
    const maxmemoryMb = bytes(arg('--maxmemory'));
    const limitMb = bytes(services.redis.mem_limit);
    expect(maxmemoryMb).toBeGreaterThan(0);
    expect(limitMb).toBeGreaterThanOrEqual(maxmemoryMb * 1.25);
  });

  describe('analyzer', () => {
    const analyzers = Object.entries(services).filter(([, s]) => s.environment?.APP === 'analyzer');
    /** Compose's own `${VAR:?message}` / `${VAR:-default}` interpolation, with the given variables set. */
    const interpolate = (value: string, vars: Record<string, string>) =>
      value.replace(/\$\{(\w+)(?::[?-]([^}]*))?\}/g, (_m, name: string, fallback?: string) => vars[name] ?? fallback ?? '');

    it('runs two analyzers with distinct consumer names, an HTTP port and neither a TCP port nor SERVICE_TOKEN', () => {
      expect(analyzers.map(([name]) => name)).toEqual(['analyzer-1', 'analyzer-2']);
      expect(analyzers.map(([, s]) => s.environment.ANALYZER_CONSUMER)).toEqual(['analyzer-1', 'analyzer-2']);
      for (const [, s] of analyzers) {
        expect(s.environment).toMatchObject({ HOST: '0.0.0.0', HTTP_PORT: '4071', REDIS_URL: 'redis://redis:6379' });
        expect(s.environment).not.toHaveProperty('TCP_PORT');
        expect(s.environment).not.toHaveProperty('SERVICE_TOKEN');
      }
    });

    it('waits for Redis and PostgreSQL to be healthy, and is healthy once /health/ready answers (PostgreSQL migrated)', () => {
      for (const [, s] of analyzers) {
        expect(s.depends_on).toEqual({ redis: { condition: 'service_healthy' }, postgres: { condition: 'service_healthy' } });
        expect(s.healthcheck.test.join(' ')).toContain('/health/ready');
      }
      expect(services.postgres.healthcheck.test).toEqual(['CMD', 'pg_isready', '-U', 'rampart', '-d', 'rampart']);
      expect(services.postgres.volumes).toEqual(['postgres-data:/var/lib/postgresql/data']);
      expect(Object.keys(compose.volumes)).toContain('postgres-data');
    });

    it('analyzers and query reach the compose PostgreSQL with its user, database and the password from the environment', () => {
      const pg = services.postgres.environment;
      const vars = { POSTGRES_PASSWORD: 'a1b2c3d4e5f6a7b8c9d0e1f2' };
      for (const [name, s] of [...analyzers, ['query-1', services['query-1']], ['query-2', services['query-2']]] as Array<[string, any]>) {
        const url = new URL(interpolate(s.environment.DATABASE_URL, vars));
        expect({ name, url: `${url.protocol}//${url.username}:${url.password}@${url.host}${url.pathname}` })
          .toEqual({ name, url: `postgres://${pg.POSTGRES_USER}:${interpolate(pg.POSTGRES_PASSWORD, vars)}@postgres:5432/${pg.POSTGRES_DB}` });
      }
      // No default password: compose refuses to start without one, like the other secrets.
      expect(pg.POSTGRES_PASSWORD).toMatch(/^\$\{POSTGRES_PASSWORD:\?/);
    });

    it("the analyzer's config loader accepts the whole compose environment", () => {
      for (const [, s] of analyzers) {
        const env = Object.fromEntries(Object.entries<string>(s.environment).map(([k, v]) => [k, interpolate(v, { POSTGRES_PASSWORD: 'a1b2c3d4e5f6a7b8c9d0e1f2' })]));
        const config = loadAnalyzerConfig(env);
        expect([config.consumer, config.httpPort, config.database.url]).toEqual([env.ANALYZER_CONSUMER, 4071, env.DATABASE_URL]);
      }
    });
  });

  it('Prometheus sends alerts to the alertmanager service on its port', () => {
    const prometheus = parse(readFileSync(join(ROOT, 'deploy', 'prometheus', 'prometheus.yml'), 'utf8'));
    const targets: string[] = prometheus.alerting.alertmanagers[0].static_configs[0].targets;
    expect(targets).toEqual(['alertmanager:9093']);
    expect(services.alertmanager.ports).toContain('9093:9093');
  });

  const hasAmtool = spawnSync('amtool', ['--version']).status === 0;
  (hasAmtool ? it : it.skip)(`amtool check-config deploy/alertmanager/alertmanager.yml (${hasAmtool ? 'amtool found' : 'SKIPPED: amtool not installed'})`, () => {
    const run = spawnSync('amtool', ['check-config', join(ROOT, 'deploy', 'alertmanager', 'alertmanager.yml')], { encoding: 'utf8' });
    expect(run.stdout + run.stderr).toContain('SUCCESS');
    expect(run.status).toBe(0);
  });

  it('Alertmanager routes critical alerts to a paging receiver and the rest to tickets', () => {
    const am = parse(readFileSync(join(ROOT, 'deploy', 'alertmanager', 'alertmanager.yml'), 'utf8'));
    const receivers = am.receivers.map((r: any) => r.name);
    expect(receivers).toEqual(expect.arrayContaining([am.route.receiver, ...am.route.routes.map((r: any) => r.receiver)]));
    expect(am.route.routes.find((r: any) => r.matchers.includes('severity="critical"')).receiver).toBe('page');
  });
});
