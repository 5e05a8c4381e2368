/**
 * The stub's switchable faults: one plain object, validated the same way whether it comes from the
 * environment at start-up or from `PUT /_faults` at run time.
 */

/** How the stub misbehaves on `POST /deliveries` (see the header of provider-stub.ts). */
export const FAULT_MODES = ['none', 'hang', 'answer-after-delay', 'reset', 'hang-first', 'reject', 'trickle'] as const;
export type FaultMode = (typeof FAULT_MODES)[number];

/** Gap between two body bytes in mode `trickle` when `latencyMs` is 0, in ms. */
export const DEFAULT_TRICKLE_BYTE_MS = 50;

/** Longest latency the stub accepts, in ms (10 minutes). */
export const MAX_LATENCY_MS = 600_000;

export type FaultSettings = Readonly<{
  /** Delay before every answer, in ms (mode `trickle`: the gap between two bytes of the body). Default 0. */
  latencyMs: number;
  /** Probability (0–1) of a 503 before delivering. Default 0. */
  errorRate: number;
  /** Probability (0–1) of a 422 `refused` before delivering (mode `reject` is rate 1). Default 0. */
  rejectRate: number;
  /** Behaviour switch. Default `none`. */
  mode: FaultMode;
  /**
   * Refuse (422) every delivery of these gifts, checked before any other fault; with `release`, only
   * calls whose `X-Rampart-Release` header names it (a canary that breaks one activity's provider calls).
   * Default none.
   */
  refuse?: Readonly<{ giftIds: readonly string[]; release?: string }>;
}>;

export const NO_FAULTS: FaultSettings = Object.freeze({ latencyMs: 0, errorRate: 0, rejectRate: 0, mode: 'none' });

export type FaultParse = { ok: true; settings: FaultSettings } | { ok: false; problems: string[] };

const KNOWN = new Set(['latencyMs', 'errorRate', 'rejectRate', 'mode', 'refuse']);

/**
 * Validates a `PUT /_faults` body. Missing fields take their defaults (PUT replaces the whole
 * setting, so a test states every fault it wants); unknown fields are refused.
 */
export function parseFaultSettings(body: unknown): FaultParse {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, problems: ['body must be a JSON object'] };
  }
  const input = body as Record<string, unknown>;
  const problems = Object.keys(input)
    .filter((key) => !KNOWN.has(key))
    .map((key) => `unknown field "${key}"`);
  const latencyMs = input.latencyMs ?? NO_FAULTS.latencyMs;
  if (!Number.isInteger(latencyMs) || (latencyMs as number) < 0 || (latencyMs as number) > MAX_LATENCY_MS) {
    problems.push(`latencyMs must be an integer 0-${MAX_LATENCY_MS}`);
  }
  const errorRate = input.errorRate ?? NO_FAULTS.errorRate;
  if (!isRate(errorRate)) problems.push('errorRate must be a number 0-1');
  const rejectRate = input.rejectRate ?? NO_FAULTS.rejectRate;
  if (!isRate(rejectRate)) problems.push('rejectRate must be a number 0-1');
  const mode = input.mode ?? NO_FAULTS.mode;
  if (!isFaultMode(mode)) problems.push(`mode must be one of ${FAULT_MODES.join(', ')}`);
  const refuse = parseRefuse(input.refuse, problems);
  if (problems.length) return { ok: false, problems };
  return {
    ok: true,
    settings: Object.freeze({
      latencyMs: latencyMs as number,
      errorRate: errorRate as number,
      rejectRate: rejectRate as number,
      mode: mode as FaultMode,
      ...(refuse ? { refuse } : {}),
    }),
  };
}

function parseRefuse(value: unknown, problems: string[]): FaultSettings['refuse'] {
  if (value === undefined) return undefined;
  const input = value as { giftIds?: unknown; release?: unknown } | null;
  const isValid =
    typeof input === 'object' && input !== null && Array.isArray(input.giftIds) && input.giftIds.every((g) => typeof g === 'string') &&
    (input.release === undefined || typeof input.release === 'string') && Object.keys(input).every((k) => k === 'giftIds' || k === 'release');
  if (!isValid) {
    problems.push('refuse must be { giftIds: string[], release?: string }');
    return undefined;
  }
  return Object.freeze({ giftIds: Object.freeze([...(input.giftIds as string[])]), ...(input.release !== undefined ? { release: input.release as string } : {}) });
}

export function isFaultMode(value: unknown): value is FaultMode {
  return typeof value === 'string' && (FAULT_MODES as readonly string[]).includes(value);
}

function isRate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 1;
}
