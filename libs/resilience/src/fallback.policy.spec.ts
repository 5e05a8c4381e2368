import { AppError, ErrorCode } from '@app/contracts';
import { compose } from './compose.js';
import { CircuitOpenError } from './errors/circuit-open.error.js';
import { fallback } from './fallback.policy.js';
import { TimeoutPolicy } from './timeout.policy.js';

describe('fallback', () => {
  const inner = compose(new TimeoutPolicy(1000));

  it('answers the fallback value on an open circuit (e.g. a claim queued instead of a 503)', async () => {
    const policy = fallback(inner, { when: (e) => e instanceof CircuitOpenError, value: () => ({ status: 'queued' as const }) });
    await expect(policy.execute(() => Promise.reject(new CircuitOpenError('delivery')))).resolves.toEqual({ status: 'queued' });
    await expect(policy.execute(async () => ({ status: 'delivered' as const }))).resolves.toEqual({ status: 'delivered' });
  });

  it('rethrows errors its predicate does not accept (by default business errors)', async () => {
    const policy = fallback(inner, { value: () => 'fallback' });
    const soldOut = new AppError(ErrorCode.SoldOut, 'sold out');
    await expect(policy.execute(() => Promise.reject(soldOut))).rejects.toBe(soldOut);
    await expect(policy.execute(() => Promise.reject(new AppError(ErrorCode.UpstreamUnreachable, 'down')))).resolves.toBe('fallback');
  });
});
