/** One named readiness check: resolves 'ok' or a short reason. */
export type ReadinessCheck = () => Promise<string>;

/** The readiness checks of one app, registered by its module. */
export class ReadinessChecks {
  constructor(private readonly checks: Record<string, ReadinessCheck>) {}

  async run(): Promise<Record<string, string>> {
    const entries = await Promise.all(
      Object.entries(this.checks).map(async ([name, check]) => {
        try {
          return [name, await withTimeout(check(), 1_000)] as const;
        } catch (err) {
          return [name, `failed: ${(err as Error).message}`] as const;
        }
      }),
    );
    return Object.fromEntries(entries);
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Redis answers PING. */
export const redisPing = (redis: { ping(): Promise<string> }): ReadinessCheck => async () => {
  await redis.ping();
  return 'ok';
};
