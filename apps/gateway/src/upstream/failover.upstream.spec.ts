import { AppError, ErrorCode, Patterns } from '@app/contracts';
import { FailoverUpstream } from './failover.upstream.js';
import type { Upstream } from './upstream.client.js';

function group(name: string) {
  const state = { isDown: false, calls: 0, pings: 0 };
  const upstream: Upstream = {
    call: async <T>(): Promise<T> => {
      state.calls++;
      if (state.isDown) throw new AppError(ErrorCode.UpstreamUnreachable, `${name} is unreachable`, { retryable: true });
      return name as T;
    },
    anyInstanceAnswers: async () => {
      state.pings++;
      return state.isDown ? 'no instance answered' : 'ok';
    },
    close: async () => undefined,
  };
  return { upstream, state };
}

describe('FailoverUpstream', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('moves traffic to the backup after consecutive failures and back after good probe sweeps', async () => {
    const primary = group('primary');
    const backup = group('backup');
    const failover = new FailoverUpstream('query', primary.upstream, backup.upstream, { afterFailures: 3, recoverAfterProbes: 2, probeIntervalMs: 100, probeTimeoutMs: 50 });
    await expect(failover.call(Patterns.GetGift, {})).resolves.toBe('primary');
    primary.state.isDown = true;
    for (let i = 0; i < 3; i++) await expect(failover.call(Patterns.GetGift, {})).rejects.toMatchObject({ code: ErrorCode.UpstreamUnreachable });
    expect(failover.group).toBe('backup');
    await expect(failover.call(Patterns.GetGift, {})).resolves.toBe('backup');
    expect(primary.state.calls).toBe(4);
    // Probes of the primary fail while it is down: traffic stays on the backup.
    await jest.advanceTimersByTimeAsync(500);
    expect(failover.group).toBe('backup');
    primary.state.isDown = false;
    await jest.advanceTimersByTimeAsync(100);
    expect(failover.group).toBe('backup'); // one good sweep is not enough
    await jest.advanceTimersByTimeAsync(100);
    expect(failover.group).toBe('primary');
    await expect(failover.call(Patterns.GetGift, {})).resolves.toBe('primary');
    const pings = primary.state.pings;
    await jest.advanceTimersByTimeAsync(1_000);
    expect(primary.state.pings).toBe(pings); // no probing while on the primary
    await failover.close();
  });

  it('stays on the primary while any instance answers: failures between successes do not add up', async () => {
    const primary = group('primary');
    const backup = group('backup');
    const failover = new FailoverUpstream('query', primary.upstream, backup.upstream, { afterFailures: 3, recoverAfterProbes: 1, probeIntervalMs: 100, probeTimeoutMs: 50 });
    for (let i = 0; i < 10; i++) {
      primary.state.isDown = i % 2 === 0;
      await failover.call(Patterns.GetGift, {}).catch(() => undefined);
    }
    expect(failover.group).toBe('primary');
    expect(backup.state.calls).toBe(0);
    await failover.close();
  });

  it('does not count business refusals as group failures', async () => {
    const refusing: Upstream = {
      call: async () => {
        throw new AppError(ErrorCode.SoldOut, 'sold out');
      },
      anyInstanceAnswers: async () => 'ok',
      close: async () => undefined,
    };
    const backup = group('backup');
    const failover = new FailoverUpstream('delivery', refusing, backup.upstream, { afterFailures: 2, recoverAfterProbes: 1, probeIntervalMs: 100, probeTimeoutMs: 50 });
    for (let i = 0; i < 5; i++) await failover.call(Patterns.ClaimGift, {}).catch(() => undefined);
    expect(failover.group).toBe('primary');
    await failover.close();
  });
});
