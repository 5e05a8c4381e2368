import { Logger } from '@nestjs/common';
import { UpstreamDiscovery, type DiscoveryTarget } from './upstream.discovery.js';

function target(initial: string[]): DiscoveryTarget & { list: string[] } {
  const t = {
    service: 'query',
    list: initial,
    endpoints: () => t.list,
    setEndpoints: (addresses: readonly string[]) => (t.list = [...addresses]),
  };
  return t;
}

describe('UpstreamDiscovery', () => {
  beforeAll(() => {
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  it('adds registered instances to the static ones and removes those that left', async () => {
    let registered = ['h:3', 'h:1'];
    const t = target(['h:1', 'h:2']);
    const discovery = new UpstreamDiscovery(t, { staticAddresses: ['h:1', 'h:2'], registered: async () => registered });
    await discovery.refresh();
    expect(t.list).toEqual(['h:1', 'h:2', 'h:3']);
    registered = ['h:4'];
    await discovery.refresh();
    expect(t.list).toEqual(['h:1', 'h:2', 'h:4']);
    registered = [];
    await discovery.refresh();
    expect(t.list).toEqual(['h:1', 'h:2']); // static addresses are always kept
  });

  it('leaves the list alone while the registry cannot be read', async () => {
    const t = target(['h:1', 'h:3']);
    const discovery = new UpstreamDiscovery(t, { staticAddresses: ['h:1'], registered: async () => Promise.reject(new Error('ECONNREFUSED')) });
    await discovery.refresh();
    expect(t.list).toEqual(['h:1', 'h:3']);
  });

  it('reads on start and on every interval until stopped', async () => {
    jest.useFakeTimers();
    try {
      const registered = jest.fn(async () => ['h:9']);
      const discovery = new UpstreamDiscovery(target([]), { staticAddresses: [], registered, refreshMs: 1_000 });
      discovery.start();
      await jest.advanceTimersByTimeAsync(3_000);
      expect(registered).toHaveBeenCalledTimes(4);
      await discovery.stop();
      await discovery.stop();
      await jest.advanceTimersByTimeAsync(3_000);
      expect(registered).toHaveBeenCalledTimes(4);
    } finally {
      jest.useRealTimers();
    }
  });

  it('passes the registry\'s releases of the instances to a target that routes by release; a failed read changes nothing', async () => {
    const t = { ...target(['h:1']), releases: new Map<string, string>() };
    const withReleases = Object.assign(t, { setReleases: (r: ReadonlyMap<string, string>) => (t.releases = new Map(r)) });
    let fails = false;
    const releases = jest.fn(async (addresses: readonly string[]) => {
      if (fails) throw new Error('ECONNREFUSED');
      return new Map(addresses.filter((a) => a === 'h:2').map((a) => [a, 'canary-1']));
    });
    const discovery = new UpstreamDiscovery(withReleases, { staticAddresses: ['h:1'], registered: async () => ['h:2'], releases });
    await discovery.refresh();
    expect(releases).toHaveBeenCalledWith(['h:1', 'h:2']);
    expect(t.releases).toEqual(new Map([['h:2', 'canary-1']]));
    fails = true;
    await discovery.refresh();
    expect(t.releases).toEqual(new Map([['h:2', 'canary-1']]));
  });
});
