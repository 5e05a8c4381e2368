import type { Deployment } from './deployment.js';
import type { RunState } from './run-state.js';
import type { Fault, Timed } from './schedule.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs a lane of faults one after the other, each no earlier than its scheduled time. */
export async function runFaultLane(state: RunState, d: Deployment, faults: Array<Timed<Fault>>, stopped: () => boolean): Promise<void> {
  for (const fault of faults) {
    while (state.trace.now() < fault.at && !stopped()) await sleep(Math.min(200, fault.at - state.trace.now()));
    if (stopped()) return;
    await applyFault(state, d, fault);
  }
}

/** Injects one fault, waits its duration, then undoes it (restart on the same ports, SIGCONT, faults cleared). */
export async function applyFault(state: RunState, d: Deployment, fault: Fault): Promise<void> {
  const label = fault.kind === 'provider' ? `${fault.target} ${fault.label}` : `${fault.kind} ${fault.target}`;
  const window = { kind: fault.kind === 'provider' ? `provider ${fault.label.split(' ')[0]}` : fault.kind, target: fault.target, start: state.trace.now(), end: undefined as number | undefined };
  state.faults.push(window);
  state.trace.add('fault', `${label} for ${fault.durationMs} ms`);
  try {
    switch (fault.kind) {
      case 'SIGKILL':
      case 'SIGTERM': {
        const inst = d.instances.find((i) => i.name === fault.target)!;
        const exited = inst.app?.exited;
        d.signal(fault.target, fault.kind);
        // A SIGTERMed instance drains; give it up to 5 s, then SIGKILL as a supervisor would.
        const gone = await Promise.race([exited?.then(() => true), sleep(5_000).then(() => false)]);
        if (!gone) {
          state.trace.add('process', `${fault.target} still running 5 s after ${fault.kind}: SIGKILL`);
          d.signal(fault.target, 'SIGKILL');
          await exited;
        }
        state.trace.add('process', `${fault.target} exited`);
        await sleep(fault.durationMs);
        await d.restart(fault.target);
        state.trace.add('process', `${fault.target} restarted on its ports`);
        break;
      }
      case 'SIGSTOP':
        d.signal(fault.target, 'SIGSTOP');
        await sleep(fault.durationMs);
        d.signal(fault.target, 'SIGCONT');
        state.trace.add('process', `${fault.target} SIGCONT`);
        break;
      case 'redis-kill':
        await outage(state, fault.durationMs, [() => d.killRedis(), 'redis-server killed (-9)'], [() => d.restartRedis(), 'redis-server restarted (same port and AOF dir)']);
        break;
      case 'pg-down':
        await outage(state, fault.durationMs, [() => d.cutDatabase(), 'PostgreSQL cut (its proxy refuses connections)'], [() => d.restoreDatabase(), 'PostgreSQL reachable again']);
        break;
      case 'provider': {
        const url = fault.target === 'provider-on' ? d.providerOn : d.providerOff;
        await setStubFaults(url, fault.settings);
        await sleep(fault.durationMs);
        await setStubFaults(url, {});
        break;
      }
    }
  } catch (err) {
    state.trace.add('note', `fault ${label} failed: ${String(err)}`);
  } finally {
    window.end = state.trace.now();
    state.trace.add('fault-end', `${label} cleared`);
  }
}

/** Takes a dependency away, traced, for `durationMs`, then brings it back, traced. */
async function outage(state: RunState, durationMs: number, [stop, stopped]: [() => Promise<void>, string], [restore, restored]: [() => Promise<void>, string]): Promise<void> {
  await stop();
  state.trace.add('process', stopped);
  await sleep(durationMs);
  await restore();
  state.trace.add('process', restored);
}

export async function setStubFaults(url: string, settings: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${url}/_faults`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(settings),
    signal: AbortSignal.timeout(3_000),
  });
  if (res.status !== 200) throw new Error(`PUT ${url}/_faults answered ${res.status} ${await res.text()}`);
}
