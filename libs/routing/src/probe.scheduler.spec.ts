import { ProbeScheduler, RoundRobinRouter, SuccessRateRouter } from '@app/routing';
import { FakeClock } from './testing.fake-clock.js';

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('ProbeScheduler', () => {
  function setup(answers: (endpoint: string) => boolean | Promise<boolean>) {
    const clock = new FakeClock();
    const router = new SuccessRateRouter(['a', 'b', 'c'], { clock });
    const probed: string[] = [];
    const scheduler = new ProbeScheduler({
      router,
      clock,
      intervalMs: 500,
      probe: async (endpoint) => {
        probed.push(endpoint);
        return answers(endpoint);
      },
    });
    const state = () => router.snapshot().find((s) => s.endpoint === 'a')!.state;
    for (let i = 0; i < 5; i++) router.report('a', 'timeout', 300);
    return { clock, router, scheduler, probed, state };
  }

  it('pings nothing while the instance is ejected, then readmits it after 3 good probes', async () => {
    const { clock, scheduler, probed, state } = setup(() => true);
    clock.tick(4_500);
    await flush();
    expect(probed).toEqual([]);
    for (let i = 0; i < 3; i++) {
      clock.tick(500);
      await flush();
    }
    expect(probed).toEqual(['a', 'a', 'a']);
    expect(state()).toBe('healthy');
    scheduler.dispose();
  });

  it('ejects again when a probe fails or throws', async () => {
    let calls = 0;
    const { clock, scheduler, state, router } = setup(() => {
      calls++;
      if (calls === 1) throw new Error('ECONNRESET');
      return false;
    });
    clock.tick(5_000);
    await flush();
    expect(state()).toBe('ejected');
    expect(router.snapshot()[0].ejectedForMs).toBe(10_000); // second ejection in a row: 2 x 5 s;
    scheduler.dispose();
  });

  it('keeps one probe per instance in flight', async () => {
    let release: (v: boolean) => void = () => undefined;
    const { clock, scheduler, probed, state } = setup(() => new Promise<boolean>((resolve) => (release = resolve)));
    clock.tick(6_000);
    await flush();
    expect(probed).toEqual(['a']);
    release(true);
    await flush();
    expect(state()).toBe('probing');
    scheduler.dispose();
  });

  it('stops on dispose (twice is fine) and never starts for a router that does not probe', () => {
    const { clock, scheduler } = setup(() => true);
    expect(clock.pendingTimers).toBe(1);
    scheduler.dispose();
    scheduler.dispose();
    expect(clock.pendingTimers).toBe(0);
    const idle = new ProbeScheduler({ router: new RoundRobinRouter(['a']), clock, probe: async () => true });
    expect(clock.pendingTimers).toBe(0);
    idle.dispose();
  });
});
