import Fastify from 'fastify';
import { ErrorCode, ID_PATTERN, RedisKeys } from '@app/contracts';
import { closeRedis, createRedis } from '@app/platform';
import { QueryArchive } from '../../apps/query/src/archive/query-archive.js';
import { QueryRepository } from '../../apps/query/src/query.repository.js';

/**
 * The no-hop baseline of bench/gateway: `GET /api/gifts/{giftId}` answered by the query app's own
 * `QueryRepository` and `@app/contracts` mapping inside one plain Fastify process, against the
 * same Redis and prefix. No Nest, no auth, no TCP hop: the floor the gateway path is compared with.
 *
 * Env: REDIS_URL, REDIS_PREFIX, PORT. Prints `{"event":"app.ready"}` when listening.
 */
async function main(): Promise<void> {
  const { REDIS_URL, REDIS_PREFIX, PORT } = process.env;
  if (!REDIS_URL || !REDIS_PREFIX || !PORT) throw new Error('no-hop server needs REDIS_URL, REDIS_PREFIX and PORT');
  const redis = createRedis(REDIS_URL, 'rampart-bench-no-hop');
  const repository = new QueryRepository(redis, new RedisKeys(REDIS_PREFIX), new QueryArchive({ url: '', schema: 'public', poolMax: 1, statementTimeoutMs: 1_000 }));
  const app = Fastify({ logger: false });
  app.get<{ Params: { giftId: string } }>('/api/gifts/:giftId', async (request, reply) => {
    const { giftId } = request.params;
    if (!ID_PATTERN.test(giftId)) return reply.code(400).send({ error: { code: ErrorCode.BadRequest, message: 'bad gift id' } });
    const gift = await repository.gift(giftId);
    return gift ?? reply.code(404).send({ error: { code: ErrorCode.NotFound, message: `gift ${giftId} does not exist` } });
  });
  await app.listen({ host: '127.0.0.1', port: Number(PORT) });
  process.stdout.write(`${JSON.stringify({ event: 'app.ready', app: 'no-hop', port: Number(PORT) })}\n`);
  const stop = (): void => {
    void app.close().then(() => closeRedis(redis)).then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
