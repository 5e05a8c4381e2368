import { ReleaseWindows } from './release.windows.js';

describe('ReleaseWindows', () => {
  it('counts per service, release and gift within the window, and forgets gifts without calls', () => {
    const windows = new ReleaseWindows({ windowMs: 60_000, buckets: 12 });
    windows.record('delivery', 'canary-1', 'g1', false, 10, 1_000);
    windows.record('delivery', 'canary-1', 'g1', true, 10, 2_000);
    windows.record('delivery', 'stable', 'g2', true, 10, 2_000);
    windows.record('query', 'stable', 'g1', true, 10, 2_000);
    expect(windows.tallies('delivery', 'canary-1', 3_000).get('g1')).toMatchObject({ ok: 1, failed: 1 });
    expect(windows.releases('delivery').sort()).toEqual(['canary-1', 'stable']);
    windows.record('delivery', 'stable', 'g3', true, 10, 50_000);
    windows.prune(65_000); // g1 and g2 were last called before the window
    expect(windows.releases('delivery')).toEqual(['stable']);
    expect([...windows.tallies('delivery', 'stable', 65_000).keys()]).toEqual(['g3']);
    windows.restart('delivery');
    expect(windows.releases('delivery')).toEqual([]);
    expect(windows.releases('query')).toEqual([]); // pruned too: its call left the window
  });
});
