import { DnsDiscovery, mergeSources, parseDnsTarget } from './dns.discovery.js';
import { UpstreamDiscovery, type DiscoveryTarget } from './upstream.discovery.js';

const dnsError = (code: string) => Object.assign(new Error(`queryA ${code} query.ns.svc`), { code });

/** A resolver whose answers the test sets, counting lookups. */
function fakeResolver(initial: string[] | Error) {
  const state = { answer: initial as string[] | Error, lookups: 0, names: [] as string[] };
  const resolve = async (name: string) => {
    state.lookups++;
    state.names.push(name);
    if (state.answer instanceof Error) throw state.answer;
    return state.answer;
  };
  return { state, resolve };
}

function fakeTarget(initial: string[]): DiscoveryTarget & { current: string[] } {
  const target = {
    service: 'query',
    current: [...initial],
    endpoints: () => target.current,
    setEndpoints: (a: readonly string[]) => {
      target.current = [...a];
    },
  };
  return target;
}

describe('DnsDiscovery', () => {
  it('resolves the headless Service name into sorted, deduplicated ip:port addresses', async () => {
    const { state, resolve } = fakeResolver(['10.1.0.7', '10.1.0.3', '10.1.0.7']);
    const dns = new DnsDiscovery({ target: 'query-headless.rampart.svc.cluster.local:4001', resolve });
    expect(await dns.addresses()).toEqual(['10.1.0.3:4001', '10.1.0.7:4001']);
    expect(state.names).toEqual(['query-headless.rampart.svc.cluster.local']);
  });

  it('reuses an answer for refreshMs, then asks again and sees pods come and go', async () => {
    const clock = { ms: 0 };
    const { state, resolve } = fakeResolver(['10.1.0.3']);
    const dns = new DnsDiscovery({ target: 'q:4001', resolve, refreshMs: 1_000, now: () => clock.ms });
    await dns.addresses();
    clock.ms = 999;
    state.answer = ['10.1.0.3', '10.1.0.9'];
    expect(await dns.addresses()).toEqual(['10.1.0.3:4001']);
    expect(state.lookups).toBe(1);
    clock.ms = 1_000;
    expect(await dns.addresses()).toEqual(['10.1.0.3:4001', '10.1.0.9:4001']);
    expect(state.lookups).toBe(2);
  });

  it.each(['ENOTFOUND', 'ENODATA'])('answers no instance for %s (every pod gone or not ready)', async (code) => {
    const { resolve } = fakeResolver(dnsError(code));
    expect(await new DnsDiscovery({ target: 'q:4001', resolve }).addresses()).toEqual([]);
  });

  it.each(['ETIMEOUT', 'ESERVFAIL', 'ECONNREFUSED'])('throws on %s so the caller keeps its list', async (code) => {
    const { resolve } = fakeResolver(dnsError(code));
    await expect(new DnsDiscovery({ target: 'q:4001', resolve }).addresses()).rejects.toMatchObject({ code });
  });

  it('refuses a malformed target', () => {
    expect(() => new DnsDiscovery({ target: 'query-headless' })).toThrow(/name:port/);
    expect(parseDnsTarget('q.ns.svc:4001')).toEqual({ host: 'q.ns.svc', port: 4001 });
    for (const bad of ['q', 'q:0', 'q:70000', ':4001', 'q-:4001', 'q:40 01', 'http://q:4001']) expect(parseDnsTarget(bad)).toBeUndefined();
  });
});

describe('DNS discovery merged with the static list and the registry (UpstreamDiscovery)', () => {
  it('adds and removes pods behind the Service, keeps the static list, and keeps everything on a DNS failure', async () => {
    const { state, resolve } = fakeResolver(['10.1.0.3']);
    const clock = { ms: 0 };
    const dns = new DnsDiscovery({ target: 'q:4001', resolve, refreshMs: 1_000, now: () => clock.ms });
    const registry = { addresses: ['127.0.0.1:5001'] };
    const target = fakeTarget(['127.0.0.1:4001']);
    const discovery = new UpstreamDiscovery(target, {
      staticAddresses: ['127.0.0.1:4001'],
      registered: mergeSources([async () => registry.addresses, () => dns.addresses()]),
    });

    await discovery.refresh();
    expect(target.current).toEqual(['127.0.0.1:4001', '127.0.0.1:5001', '10.1.0.3:4001']);

    // A pod scaled up, another replaced; the registry entry lapsed.
    clock.ms += 1_000;
    state.answer = ['10.1.0.4', '10.1.0.9'];
    registry.addresses = [];
    await discovery.refresh();
    expect(target.current).toEqual(['127.0.0.1:4001', '10.1.0.4:4001', '10.1.0.9:4001']);

    // DNS times out: the list stays as it was.
    clock.ms += 1_000;
    state.answer = dnsError('ETIMEOUT');
    await discovery.refresh();
    expect(target.current).toEqual(['127.0.0.1:4001', '10.1.0.4:4001', '10.1.0.9:4001']);

    // The Service has no ready pod: only the static list is left.
    clock.ms += 1_000;
    state.answer = dnsError('ENOTFOUND');
    await discovery.refresh();
    expect(target.current).toEqual(['127.0.0.1:4001']);
    await discovery.stop();
  });
});
