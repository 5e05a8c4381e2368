import type { OrderStatus } from '@app/contracts';

/**
 * Which status changes an order's event stream sends: each announcement carries the order's
 * version (`<version>|<status>`); one that is not newer than what was already sent (e.g. it arrived
 * before the stream read the order) is dropped, so the stream never goes backwards, and a status is
 * not sent twice in a row.
 */
export class StatusSequence {
  private lastVersion = -1;
  private lastStatus?: string;

  /** The version of the last status let through (-1 before any). */
  get version(): number {
    return this.lastVersion;
  }

  /** The status to send for a change at `version`, or undefined when there is nothing new. */
  next(version: number, status: string): OrderStatus | undefined {
    if (!Number.isFinite(version) || version <= this.lastVersion) return undefined;
    this.lastVersion = version;
    if (status === this.lastStatus) return undefined;
    this.lastStatus = status;
    return status as OrderStatus;
  }

  /** The same for a pub/sub announcement `<version>|<status>` (malformed ones are dropped). */
  nextFromMessage(message: string): OrderStatus | undefined {
    const [version, status] = message.split('|');
    return status ? this.next(Number(version), status) : undefined;
  }
}
