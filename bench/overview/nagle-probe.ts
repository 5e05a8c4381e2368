import type { Socket } from 'node:net';
import { Logger } from '@nestjs/common';
import { RoundRobinRouter } from '@app/routing';
import { Patterns } from '@app/contracts';
import { UpstreamClient, tcpClient } from '../../apps/gateway/src/upstream/upstream.client.js';
import { runBench } from '../support/bench-run.js';
import { LatencyRecorder } from '../support/latency-recorder.js';

/**
 * Probe behind the bench:overview finding (run: `node bench/support/run.cjs bench/overview/nagle-probe.ts`
 * after `npm run build`): three calls sent at once over one gateway->query TCP connection take
 * ~44 ms p50, whether or not the client socket has noDelay. The query's replies are Nagled: the
 * second reply waits for the ACK of the first, which the client delays ~40 ms. The fix is
 * `setNoDelay(true)` on the sockets the services' TCP server accepts (libs/platform start-service).
 */
runBench('nagle', { deadlineS: 120 }, async (ctx) => {
  Logger.overrideLogger(['error']);
  const suite = await ctx.startSuite();
  const addr = [`127.0.0.1:${suite.queryTcpPorts[0]}`];
  for (const noDelay of [false, true]) {
    const client = new UpstreamClient('query', new RoundRobinRouter(addr, { name: 'q' }), (a) => {
      const c = tcpClient(a);
      if (noDelay) {
        const connect = c.connect.bind(c);
        c.connect = async () => { const r = await connect(); c.unwrap<Socket>().setNoDelay(true); return r; };
      }
      return c;
    });
    const rec = new LatencyRecorder();
    const opts = { timeoutMs: 1000, retryOnOtherInstance: false };
    for (let i = 0; i < 200; i++) {
      const t = performance.now();
      await Promise.all([0, 1, 2].map(() => client.call(Patterns.ListActivities, { meta: { requestId: 'x' } }, opts)));
      if (i >= 20) rec.record(performance.now() - t);
    }
    console.log(`client noDelay=${noDelay}: 3 parallel calls p50 ${rec.percentiles(50)[0].toFixed(2)} p90 ${rec.percentiles(90)[0].toFixed(2)}`);
    await client.close();
  }
});
