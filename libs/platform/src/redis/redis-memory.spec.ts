import { memoryHeadroomRatio, parseRedisMemory } from './redis-memory.js';

const INFO = [
  '# Memory',
  'used_memory:2997616',
  'used_memory_human:2.86M',
  'used_memory_rss:18186240',
  'used_memory_peak:111259128',
  'maxmemory:4194304',
  'maxmemory_human:4.00M',
  'maxmemory_policy:noeviction',
  '',
].join('\r\n');

describe('Redis memory from INFO memory', () => {
  it('reads used_memory (not its _rss or _peak neighbours), maxmemory and the policy', () => {
    expect(parseRedisMemory('127.0.0.1:6379', INFO)).toEqual({ node: '127.0.0.1:6379', usedBytes: 2_997_616, maxBytes: 4_194_304, policy: 'noeviction' });
  });

  it('a Redis without a limit has maxmemory 0 and no headroom ratio', () => {
    const unbounded = parseRedisMemory('n', INFO.replace('maxmemory:4194304', 'maxmemory:0').replace('noeviction', 'allkeys-lru'));
    expect(unbounded).toMatchObject({ maxBytes: 0, policy: 'allkeys-lru' });
    expect(memoryHeadroomRatio(unbounded)).toBeUndefined();
  });

  it('headroom is the free share of maxmemory, 0 when full or over', () => {
    expect(memoryHeadroomRatio({ node: 'n', usedBytes: 750, maxBytes: 1000, policy: 'noeviction' })).toBeCloseTo(0.25);
    expect(memoryHeadroomRatio({ node: 'n', usedBytes: 1000, maxBytes: 1000, policy: 'noeviction' })).toBe(0);
    expect(memoryHeadroomRatio({ node: 'n', usedBytes: 1200, maxBytes: 1000, policy: 'noeviction' })).toBe(0);
  });

  it('refuses an answer without used_memory', () => {
    expect(() => parseRedisMemory('n', '# Memory\r\nused_memory:abc\r\n')).toThrow(/no used_memory/);
  });
});
