import { signServiceMessage, verifyServiceMessage } from './service-auth.js';

const TOKEN = 't'.repeat(32);
const NOW = Date.parse('2026-06-01T12:00:00Z');
const claim = { meta: { requestId: 'r1' }, giftId: 'g1', userId: 'u1', orderId: '12345' };

describe('service message proof', () => {
  const received = (message: object) => JSON.parse(JSON.stringify(message)) as Record<string, unknown>; // as the wire delivers it

  it('accepts a signed message and hands the handler the payload as it was sent', () => {
    const message = received(signServiceMessage(TOKEN, 'gift.claim', claim, NOW));
    expect(verifyServiceMessage(TOKEN, 'gift.claim', message, NOW + 1_000)).toEqual({ ok: true });
    expect(message).toEqual(claim);
  });

  it('refuses a message without proof, with another token, or for another pattern', () => {
    expect(verifyServiceMessage(TOKEN, 'gift.claim', received(claim), NOW)).toEqual({ ok: false, reason: 'message has no service proof' });
    expect(verifyServiceMessage(TOKEN, 'gift.claim', undefined, NOW).ok).toBe(false);
    const other = received(signServiceMessage('o'.repeat(32), 'gift.claim', claim, NOW));
    expect(verifyServiceMessage(TOKEN, 'gift.claim', other, NOW)).toEqual({ ok: false, reason: 'service proof does not match' });
    const read = received(signServiceMessage(TOKEN, 'gift.get', claim, NOW));
    expect(verifyServiceMessage(TOKEN, 'gift.claim', read, NOW)).toEqual({ ok: false, reason: 'service proof does not match' });
  });

  it('refuses a changed payload (another user) under a valid proof', () => {
    const message = received(signServiceMessage(TOKEN, 'gift.claim', claim, NOW));
    message.userId = 'u2';
    expect(verifyServiceMessage(TOKEN, 'gift.claim', message, NOW).ok).toBe(false);
  });

  it('bounds a replay to the allowed clock skew', () => {
    const message = signServiceMessage(TOKEN, 'gift.claim', claim, NOW);
    expect(verifyServiceMessage(TOKEN, 'gift.claim', received(message), NOW + 29_000).ok).toBe(true);
    expect(verifyServiceMessage(TOKEN, 'gift.claim', received(message), NOW + 31_000)).toEqual({ ok: false, reason: 'service proof is too old or from the future' });
    expect(verifyServiceMessage(TOKEN, 'gift.claim', received(message), NOW - 31_000).ok).toBe(false);
  });

  it('refuses a malformed proof without throwing', () => {
    for (const serviceAuth of [null, 'x', { ts: 'now', mac: 'ab' }, { ts: NOW, mac: 'zz'.repeat(32) }, { ts: NOW, mac: 'ab' }]) {
      expect(verifyServiceMessage(TOKEN, 'gift.claim', { ...claim, serviceAuth }, NOW).ok).toBe(false);
    }
  });
});
