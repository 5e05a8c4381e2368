import type { CallHandler, ExecutionContext } from '@nestjs/common';
import { firstValueFrom, Observable, of } from 'rxjs';
import { ErrorCode, Patterns } from '@app/contracts';
import { ServiceAdmissionInterceptor } from './service-admission.interceptor.js';

/** An RPC execution context of `pattern` with `data`. */
function rpc(pattern: string, data: unknown): ExecutionContext {
  return {
    getType: () => 'rpc',
    switchToRpc: () => ({ getData: () => data, getContext: () => ({ getPattern: () => pattern }) }),
  } as unknown as ExecutionContext;
}

/** A handler that counts its runs and answers when `release` is called (or at once). */
function handler(pending = false) {
  let runs = 0;
  const releases: Array<() => void> = [];
  const next: CallHandler = {
    handle: () => {
      runs++;
      if (!pending) return of({ ok: true, value: 'done' });
      return new Observable((sub) => {
        releases.push(() => {
          sub.next({ ok: true, value: 'done' });
          sub.complete();
        });
      });
    },
  };
  return { next, runs: () => runs, releaseAll: () => releases.splice(0).forEach((r) => r()) };
}

describe('ServiceAdmissionInterceptor', () => {
  it('drops a user message whose caller already gave up, without running its handler', async () => {
    const door = new ServiceAdmissionInterceptor();
    const h = handler();
    const reply = await firstValueFrom(door.intercept(rpc(Patterns.ClaimGift, { meta: { requestId: 'r', deadline: Date.now() - 1 } }), h.next));
    expect(reply).toMatchObject({ ok: false, error: { code: ErrorCode.ServiceUnavailable } });
    expect(h.runs()).toBe(0);
    expect(door.counters.expired).toBe(1);
    // With time left, or without a deadline, it runs.
    await firstValueFrom(door.intercept(rpc(Patterns.ClaimGift, { meta: { requestId: 'r', deadline: Date.now() + 5_000 } }), h.next));
    await firstValueFrom(door.intercept(rpc(Patterns.GetGift, { meta: { requestId: 'r' } }), h.next));
    expect(h.runs()).toBe(2);
  });

  it("sheds user messages beyond its limit at once, and lets operators' messages and probes through", async () => {
    const door = new ServiceAdmissionInterceptor({ initialLimit: 16, maxLimit: 16 });
    const h = handler(true);
    const held = Array.from({ length: 16 }, () => firstValueFrom(door.intercept(rpc(Patterns.GetGift, { meta: { requestId: 'r' } }), h.next)));
    expect(door.inFlight).toBe(16);
    const shed = await firstValueFrom(door.intercept(rpc(Patterns.GetOrder, { meta: { requestId: 'r' } }), h.next));
    expect(shed).toMatchObject({ ok: false, error: { code: ErrorCode.ServiceUnavailable } });
    expect(door.counters.shed).toBe(1);
    const operator = firstValueFrom(door.intercept(rpc(Patterns.ResolveOrder, { meta: { requestId: 'r' } }), h.next));
    const probe = firstValueFrom(door.intercept(rpc(Patterns.Ping, { meta: { requestId: 'r' } }), h.next));
    expect(h.runs()).toBe(18);
    h.releaseAll();
    await Promise.all([...held, operator, probe]);
    expect(door.inFlight).toBe(0);
  });
});
