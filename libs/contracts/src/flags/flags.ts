import { ID_PATTERN } from '../activities/activity-config.js';

/**
 * Degradation flags (contract section 3). Stored in Redis (`RedisKeys.flags()`), changes published
 * on `RedisKeys.flagsChannel()` so every instance applies them within a second.
 */
export const Flags = {
  /** Every claim is answered 202 and delivered through the queue. */
  DeliveryForceAsync: 'delivery.forceAsync',
  /** Reads may be answered from the last good value when the query service fails. */
  QueryServeStale: 'query.serveStale',
  /** The claim path's report branch is skipped. */
  ReportDisabled: 'report.disabled',
} as const;

/** `gift.{giftId}.paused`: claims of the gift get 409 NOT_ACTIVE. */
export const giftPausedFlag = (giftId: string): string => `gift.${giftId}.paused`;
/** `service.{query|delivery}.shed`: the gateway answers 503 at once for that service. */
export const serviceShedFlag = (service: 'query' | 'delivery'): string => `service.${service}.shed`;

const FIXED = new Set<string>(Object.values(Flags));
const SHED = /^service\.(query|delivery)\.shed$/;
const PAUSED = /^gift\.(.+)\.paused$/;

/** Whether `name` is a flag Rampart knows (unknown names are 404 at the admin API). */
export function isKnownFlag(name: string): boolean {
  if (FIXED.has(name) || SHED.test(name)) return true;
  const paused = PAUSED.exec(name);
  return paused !== null && ID_PATTERN.test(paused[1]);
}
