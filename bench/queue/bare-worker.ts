import { Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { Agent, request } from 'undici';

/**
 * The bare BullMQ side of bench/queue: one plain `Worker` process, nothing of Rampart's. Started by
 * bench/queue/main.ts through spawnScript (one per delivery instance, same concurrency as theirs).
 *
 * Env: REDIS_URL; BARE_PREFIX (BullMQ prefix, under the bench's Redis prefix); BARE_QUEUE (queue
 * name); CONCURRENCY; STUB_URL (empty: a no-op processor; else each job is one
 * `POST {STUB_URL}/deliveries` with the order's id, as Rampart's provider client sends it, and a
 * non-200 fails the job).
 */
interface BareJobData {
  orderId: string;
  requestId: string;
}

const env = (name: string, fallback?: string): string => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${name} is required`);
  return value;
};

async function main(): Promise<void> {
  const stubUrl = env('STUB_URL', '');
  const agent = new Agent({ keepAliveTimeout: 10_000, connections: 128 });
  const deliver = async (job: Job<BareJobData>): Promise<string> => {
    const res = await request(new URL('/deliveries', stubUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ orderId: job.data.orderId, userId: 'bare-user', giftId: 'bare-gift', quantity: 1 }),
      dispatcher: agent,
      headersTimeout: 2_000,
      bodyTimeout: 2_000,
    });
    await res.body.text();
    if (res.statusCode !== 200) throw new Error(`stub answered ${res.statusCode}`);
    return 'delivered';
  };
  const connection = new Redis(env('REDIS_URL'), { maxRetriesPerRequest: null, connectionName: 'bench-queue-bare-worker' });
  const worker = new Worker<BareJobData>(env('BARE_QUEUE'), stubUrl ? deliver : async () => 'done', {
    connection,
    prefix: env('BARE_PREFIX'),
    concurrency: Number(env('CONCURRENCY')),
  });
  worker.on('error', (err) => console.error(JSON.stringify({ event: 'worker.error', error: err.message })));
  await worker.waitUntilReady();
  console.log(JSON.stringify({ event: 'app.ready', pid: process.pid, queue: env('BARE_QUEUE'), stub: stubUrl || null }));
  const stop = (): void => {
    void worker
      .close()
      .then(() => connection.quit())
      .then(() => agent.close())
      .finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
