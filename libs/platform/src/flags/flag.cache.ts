import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { RedisKeys } from '@app/contracts';

/**
 * A local copy of the degradation flags, kept current by pub/sub: a change announced on the flags
 * channel is applied within milliseconds; a poll every `refreshMs` repairs anything missed while
 * the subscription was down. Reads are synchronous and cost a Map lookup, so hot paths may check
 * flags on every request. Writers use `set()`, which stores and announces in one step.
 */
export class FlagCache {
  private readonly logger = new Logger(FlagCache.name);
  private flags = new Map<string, boolean>();
  private timer?: NodeJS.Timeout;
  private isLoaded = false;

  /**
   * @param redis commands connection.
   * @param subscriber a dedicated connection (subscribe mode blocks other commands).
   * @param refreshMs safety poll interval. Default 5000.
   */
  constructor(
    private readonly redis: Redis,
    private readonly subscriber: Redis,
    private readonly keys: RedisKeys,
    private readonly refreshMs = 5_000,
  ) {}

  async start(): Promise<void> {
    this.subscriber.on('message', (channel: string) => {
      if (channel === this.keys.flagsChannel()) void this.refresh();
    });
    // After a reconnect ioredis re-subscribes; reload in case a change was missed meanwhile.
    this.subscriber.on('ready', () => void this.refresh());
    await this.subscriber.subscribe(this.keys.flagsChannel());
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.refreshMs);
    this.timer.unref();
  }

  isEnabled(name: string): boolean {
    return this.flags.get(name) ?? false;
  }

  /** Every flag that has been set, enabled or not. */
  all(): Record<string, boolean> {
    return Object.fromEntries(this.flags);
  }

  /** Stores a flag and announces the change to every instance. */
  async set(name: string, enabled: boolean): Promise<void> {
    await this.redis.hset(this.keys.flags(), name, enabled ? '1' : '0');
    await this.redis.publish(this.keys.flagsChannel(), name);
    this.flags.set(name, enabled);
  }

  async refresh(): Promise<void> {
    try {
      const hash = await this.redis.hgetall(this.keys.flags());
      const next = new Map(Object.entries(hash).map(([name, value]) => [name, value === '1']));
      if (this.isLoaded) this.logChanges(next);
      this.flags = next;
      this.isLoaded = true;
    } catch (err) {
      this.logger.warn({ event: 'flags.refresh-failed', error: (err as Error).message });
    }
  }

  /** One `flag.applied` line per flag whose value this instance sees change (the writer logs `flag.changed` with the actor). */
  private logChanges(next: Map<string, boolean>): void {
    for (const [name, enabled] of next) {
      if (this.flags.get(name) !== enabled) this.logger.log({ event: 'flag.applied', flag: name, enabled });
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
