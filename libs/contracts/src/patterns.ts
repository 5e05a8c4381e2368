/**
 * Message patterns between the gateway and the services (TCP transport). Handlers and clients both
 * import from here, so no pattern string is written twice.
 */
export const Patterns = {
  /** query: one gift with its remaining counts. */
  GetGift: 'gift.get',
  /** query: one activity with its gifts. */
  GetActivity: 'activity.get',
  /** query: every published activity with its gifts (for the overview). */
  ListActivities: 'activity.list',
  /** query: one order of a user. */
  GetOrder: 'order.get',
  /** query: a user's orders, newest first. */
  ListUserOrders: 'order.list-for-user',
  /** query: any order of any user, filtered, newest first, by cursor (`GET /admin/orders`). */
  AdminListOrders: 'order.admin-list',
  /** query: one order with its history (`GET /admin/orders/{orderId}`). */
  AdminGetOrder: 'order.admin-get',
  /** query: an activity's stored configuration with each gift's consumption (`GET /admin/activities/{id}`). */
  AdminGetActivity: 'activity.admin-get',
  /** query: an activity's analytics per gift and provider (`GET /admin/analytics/activities/{id}`). */
  ActivityAnalytics: 'analytics.activity',
  /** query: activities ranked by failing claims (`GET /admin/analytics/activities`). */
  AnalyticsRanking: 'analytics.ranking',
  /** query: open gifts a user may still claim, most remaining first (the overview's non-essential part). */
  Recommendations: 'gift.recommend',
  /** delivery: claim a gift (idempotent by order number). */
  ClaimGift: 'gift.claim',
  /** delivery: validate and store an activity configuration. */
  PublishActivity: 'activity.publish',
  /** delivery: check a configuration against storage and answer what publishing it would change; stores nothing. */
  PlanActivity: 'activity.plan',
  /** delivery: counts of the delivery queue. */
  QueueCounts: 'queue.counts',
  /** delivery: the dead-lettered orders, newest first. */
  QueueFailed: 'queue.failed',
  /** delivery: re-queue a dead-lettered order. */
  RetryFailed: 'queue.retry-failed',
  /** delivery: drop a dead-lettered order from the dead-letter set (the order stays failed). */
  DiscardFailed: 'queue.discard-failed',
  /** delivery: an operator settles an uncertain order. */
  ResolveOrder: 'order.resolve',
  /** delivery: circuit breakers of the provider calls (`GET /admin/breakers`). */
  ProviderBreakers: 'provider.breakers',
  /** both services: a liveness probe over the same transport, answered without touching storage. */
  Ping: 'instance.ping',
} as const;
export type Pattern = (typeof Patterns)[keyof typeof Patterns];

/**
 * Patterns a user request leads to: the ones a service sheds under overload. Operators' patterns and
 * probes are always handled, so an operator can work and an instance stays visible through a storm.
 */
export const USER_PATTERNS: ReadonlySet<string> = new Set<Pattern>([
  Patterns.GetGift,
  Patterns.GetActivity,
  Patterns.ListActivities,
  Patterns.GetOrder,
  Patterns.ListUserOrders,
  Patterns.Recommendations,
  Patterns.ClaimGift,
]);
