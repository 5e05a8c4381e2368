/**
 * Request classes, highest priority first: a claim outranks following an order, which outranks
 * reading a gift or activity, which outranks the overview and batch reads, which outrank reports.
 * Under overload the lowest class is shed first (see {@link AdmissionController}).
 */
export const REQUEST_CLASSES = ['claim', 'status', 'read', 'overview', 'report'] as const;
export type RequestClass = (typeof REQUEST_CLASSES)[number];

/**
 * Share of a service's concurrency limit each class may fill while a higher class has been active
 * recently: the rest is headroom kept for the classes above. With no higher class active, a class
 * may fill the whole limit (work-conserving).
 */
export const DEFAULT_CLASS_SHARES: Readonly<Record<RequestClass, number>> = Object.freeze({
  claim: 1,
  status: 0.9,
  read: 0.8,
  overview: 0.6,
  report: 0.4,
});

/** Priority rank of a class: 0 is the highest. */
export function classRank(cls: RequestClass): number {
  return REQUEST_CLASSES.indexOf(cls);
}
