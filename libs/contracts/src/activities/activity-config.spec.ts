import { checkActivityConfig } from './activity-config.js';

const valid = () => ({
  name: 'Spring festival',
  startsAt: '2026-01-01T00:00:00Z',
  endsAt: '2027-01-01T00:00:00Z',
  gifts: [
    { giftId: 'g1', name: 'Skin', inventory: 1000, dailyLimit: 300, perUserLimit: 1, delivery: 'sync', provider: { url: 'http://127.0.0.1:7001', orderNumbers: true } },
  ],
});

describe('checkActivityConfig', () => {
  it('accepts the contract example and applies defaults', () => {
    const body = valid();
    delete (body.gifts[0] as Partial<(typeof body.gifts)[0]>).perUserLimit;
    const result = checkActivityConfig(body);
    expect(result.kind).toBe('ok');
    if (result.kind === 'ok') expect(result.config.gifts[0].perUserLimit).toBe(1);
  });

  it('accepts a gift split over buckets, and keeps the count', () => {
    const body = valid();
    (body.gifts[0] as Record<string, unknown>).buckets = 9;
    const result = checkActivityConfig(body);
    expect(result.kind === 'ok' && result.config.gifts[0].buckets).toBe(9);
  });

  it('lists every violation at once', () => {
    const body = valid();
    body.endsAt = '2025-01-01T00:00:00Z';
    body.gifts.push({ ...body.gifts[0], dailyLimit: 2000, perUserLimit: 0, provider: { url: 'ftp://x', orderNumbers: true } });
    const result = checkActivityConfig(body);
    expect(result.kind).toBe('invalid');
    const paths = result.kind === 'invalid' ? result.details.map((d) => d.path).sort() : [];
    expect(paths).toEqual(['endsAt', 'gifts[1].dailyLimit', 'gifts[1].giftId', 'gifts[1].perUserLimit', 'gifts[1].provider.url'].sort());
  });

  it.each([
    ['a non-integer inventory', (b: any) => (b.gifts[0].inventory = 1.5), 'gifts[0].inventory'],
    ['a negative inventory', (b: any) => (b.gifts[0].inventory = -1), 'gifts[0].inventory'],
    ['a bad time', (b: any) => (b.startsAt = 'tomorrow'), 'startsAt'],
    ['no gifts', (b: any) => (b.gifts = []), 'gifts'],
    ['a bad giftId', (b: any) => (b.gifts[0].giftId = 'g 1'), 'gifts[0].giftId'],
    ['an unknown delivery mode', (b: any) => (b.gifts[0].delivery = 'later'), 'gifts[0].delivery'],
    ['a missing name', (b: any) => delete b.name, 'name'],
    ['a gift split over 1 bucket too few', (b: any) => (b.gifts[0].buckets = 0), 'gifts[0].buckets'],
    ['a gift split over more than 64 buckets', (b: any) => (b.gifts[0].buckets = 65), 'gifts[0].buckets'],
    ['a daily limit smaller than the bucket count (each bucket holds a share)', (b: any) => ((b.gifts[0].buckets = 9), (b.gifts[0].dailyLimit = 8)), 'gifts[0].dailyLimit'],
  ])('rejects %s with its path', (_name, mutate, path) => {
    const body = valid();
    mutate(body);
    const result = checkActivityConfig(body);
    expect(result.kind).toBe('invalid');
    if (result.kind === 'invalid') expect(result.details.map((d) => d.path)).toContain(path);
  });

  it('reports unknown fields separately (a 400, not a 422)', () => {
    const body: any = valid();
    body.colour = 'red';
    body.gifts[0].provider.secret = 'x';
    const result = checkActivityConfig(body);
    expect(result.kind).toBe('unknown-fields');
    expect(result.kind === 'unknown-fields' && result.details.map((d) => d.path).sort()).toEqual(['colour', 'gifts[0].provider.secret']);
  });

  it('rejects a body that is not an object', () => {
    expect(checkActivityConfig('nope').kind).toBe('invalid');
    expect(checkActivityConfig(null).kind).toBe('invalid');
  });
});
