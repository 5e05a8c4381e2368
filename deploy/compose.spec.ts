import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

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
