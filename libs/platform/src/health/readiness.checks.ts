/** One named readiness check: resolves 'ok' or a short reason. */
export type ReadinessCheck = () => Promise<string>;

/** The readiness checks of one app, registered by its module. */
export class ReadinessChecks {
  constructor(private readonly checks: Record<string, ReadinessCheck>) {}

  names(): string[] {
    return Object.keys(this.checks);
  }

  /** Runs one check with a 1 s budget: 'ok' or the reason it failed. */
  async runOne(name: string): Promise<string> {
    try {
      return await withTimeout(this.checks[name](), 1_000);
    } catch (err) {
      return `failed: ${(err as Error).message}`;
    }
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
