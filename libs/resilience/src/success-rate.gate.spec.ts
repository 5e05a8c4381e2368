import { SuccessRateGate } from './success-rate.gate.js';

describe('SuccessRateGate', () => {
  it.each([
    [undefined, true], // no data yet: open
    [1, true],
    [0.8, true], // at the threshold: open
    [0.79, false],
    [0, false],
  ])('with success rate %p allows retries: %p', (rate, allowed) => {
    expect(new SuccessRateGate({ successRate: () => rate }).allows()).toBe(allowed);
  });

  it('uses a custom threshold and reads the rate at each decision', () => {
    let rate = 0.6;
    const gate = new SuccessRateGate({ successRate: () => rate, minSuccessRate: 0.5 });
    expect(gate.allows()).toBe(true);
    rate = 0.4;
    expect(gate.allows()).toBe(false);
  });

  it('refuses a threshold outside 0–1', () => {
    expect(() => new SuccessRateGate({ successRate: () => 1, minSuccessRate: 80 })).toThrow(RangeError);
  });
});
