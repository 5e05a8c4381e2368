import { isOnCanary, userBucket, USER_BUCKETS } from './user-bucket.js';

const users = Array.from({ length: 20_000 }, (_, i) => `user-${i}`);

describe('userBucket', () => {
  it('is stable: the same user and salt always give the same bucket', () => {
    for (const user of users.slice(0, 500)) expect(userBucket(user, 's1')).toBe(userBucket(user, 's1'));
    expect(userBucket('alice', 'salt-a')).toBe(userBucket('alice', 'salt-a'));
  });

  it('spreads users evenly over 0..9999 (each tenth holds 10 % ± 1 %)', () => {
    const tenths = new Array(10).fill(0);
    for (const user of users) {
      const bucket = userBucket(user, 'rollout-1');
      expect(bucket).toBeGreaterThanOrEqual(0);
      expect(bucket).toBeLessThan(USER_BUCKETS);
      tenths[Math.floor(bucket / 1_000)]++;
    }
    for (const count of tenths) expect(Math.abs(count / users.length - 0.1)).toBeLessThan(0.01);
  });

  it('depends on the salt: another rollout draws another set of users', () => {
    const a = users.filter((u) => isOnCanary(u, 'salt-a', 20));
    const b = new Set(users.filter((u) => isOnCanary(u, 'salt-b', 20)));
    const overlap = a.filter((u) => b.has(u)).length / a.length;
    expect(overlap).toBeGreaterThan(0.15); // independent draws overlap by about the weight, 20 %
    expect(overlap).toBeLessThan(0.25);
  });
});

describe('isOnCanary', () => {
  it('puts weight % of users on the canary (±1 % over 20 000 users)', () => {
    for (const weight of [1, 5, 20, 50, 90]) {
      const share = users.filter((u) => isOnCanary(u, 'w', weight)).length / users.length;
      expect(Math.abs(share - weight / 100)).toBeLessThan(0.01);
    }
  });

  it('is monotonic: raising the weight only moves users from stable to canary', () => {
    const weights = [0, 1, 5, 10, 20, 35, 50, 75, 99, 100];
    for (const user of users.slice(0, 5_000)) {
      let wasOn = false;
      for (const weight of weights) {
        const isOn = isOnCanary(user, 'mono', weight);
        if (wasOn) expect(isOn).toBe(true);
        wasOn = isOn;
      }
      expect(isOnCanary(user, 'mono', 0)).toBe(false);
      expect(isOnCanary(user, 'mono', 100)).toBe(true);
    }
  });
});
