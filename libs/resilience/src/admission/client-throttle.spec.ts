import { ManualClock } from '../clock.js';
import { ClientThrottle } from './client-throttle.js';

describe('ClientThrottle', () => {
  it('never throttles a backend that accepts everything', () => {
    const throttle = new ClientThrottle({ clock: new ManualClock(), random: () => 0 });
    for (let i = 0; i < 10_000; i++) {
      expect(throttle.shouldThrottle()).toBe(false);
      throttle.recordOutcome(true);
    }
  });

  it('sends a backend that can accept 1 request a ms, offered 20, about K times what it accepts', () => {
    const clock = new ManualClock();
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const throttle = new ClientThrottle({ k: 2, clock, random });
    let sent = 0;
    let accepted = 0;
    let acceptedThisMs = 0;
    for (let i = 0; i < 400_000; i++) {
      if (i % 20 === 0) {
        clock.advance(1); // 20 requests a ms, for 20 s
        acceptedThisMs = 0;
      }
      if (throttle.shouldThrottle()) continue;
      sent++;
      const isAccepted = acceptedThisMs < 1;
      if (isAccepted) {
        acceptedThisMs++;
        accepted++;
      }
      throttle.recordOutcome(isAccepted);
    }
    expect(sent / accepted).toBeGreaterThan(1.5);
    expect(sent / accepted).toBeLessThan(3);
    expect(throttle.rejectProbability()).toBeGreaterThan(0.5);
  });

  it('does not throttle a burst of calls still in flight (they count once answered)', () => {
    const throttle = new ClientThrottle({ clock: new ManualClock(), random: () => 0 });
    for (let i = 0; i < 1000; i++) expect(throttle.shouldThrottle()).toBe(false);
  });

  it('forgets old refusals as the window slides', () => {
    const clock = new ManualClock();
    const throttle = new ClientThrottle({ windowMs: 10_000, clock, random: () => 0.99 });
    for (let i = 0; i < 1000; i++) throttle.recordOutcome(false);
    expect(throttle.rejectProbability()).toBeGreaterThan(0.9);
    clock.advance(11_000);
    expect(throttle.rejectProbability()).toBe(0);
  });
});
