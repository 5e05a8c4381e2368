import { ManualClock, systemClock } from './clock.js';

describe('ManualClock', () => {
  it('runs due timers in time order as it advances, and skips cleared ones', () => {
    const clock = new ManualClock(1000);
    const log: string[] = [];
    clock.setTimeout(() => log.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => log.push(`a@${clock.now()}`), 10);
    clock.setTimeout(() => log.push('never'), 15).clear();
    clock.advance(15);
    expect(log).toEqual(['a@1010']);
    clock.advance(100);
    expect(log).toEqual(['a@1010', 'b@1020']);
    expect(clock.now()).toBe(1115);
    expect(clock.pending).toBe(0);
  });
});

describe('systemClock', () => {
  it('follows Jest fake timers, since it reads the globals at call time', () => {
    jest.useFakeTimers({ now: 5000 });
    try {
      const fn = jest.fn();
      systemClock.setTimeout(fn, 50);
      expect(systemClock.now()).toBe(5000);
      jest.advanceTimersByTime(50);
      expect(fn).toHaveBeenCalled();
    } finally {
      jest.useRealTimers();
    }
  });
});
