import { parseRedisUrl, redactRedisUrl, RedisUrlError } from '../redis/redis-url.js';

/**
 * Small readers for environment variables that collect every problem instead of stopping at the
 * first, so a bad start-up prints one line naming each wrong variable. Secrets are named, never echoed.
 */
export class ConfigError extends Error {
  constructor(
    readonly app: string,
    readonly problems: string[],
  ) {
    super(`Invalid ${app} config: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

export class EnvReader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  private raw(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  }

  /** An integer in [min, max]; `fallback` when unset. */
  int(name: string, opts: { min: number; max: number; fallback: number }): number {
    const raw = this.raw(name);
    if (raw === undefined) return opts.fallback;
    const value = Number(raw);
    if (!/^-?\d+$/.test(raw) || value < opts.min || value > opts.max) {
      this.problems.push(`${name} must be an integer ${opts.min}-${opts.max} (got "${raw}")`);
      return opts.fallback;
    }
    return value;
  }

  /** A number in [min, max]; `fallback` when unset. */
  number(name: string, opts: { min: number; max: number; fallback: number }): number {
    const raw = this.raw(name);
    if (raw === undefined) return opts.fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < opts.min || value > opts.max) {
      this.problems.push(`${name} must be a number ${opts.min}-${opts.max} (got "${raw}")`);
      return opts.fallback;
    }
    return value;
  }

  string(name: string, opts: { fallback: string; pattern?: RegExp; hint?: string }): string {
    const raw = this.raw(name);
    if (raw === undefined) return opts.fallback;
    if (opts.pattern && !opts.pattern.test(raw)) {
      this.problems.push(`${name} must be ${opts.hint ?? `like ${opts.pattern}`} (got "${raw}")`);
    }
    return raw;
  }

  /**
   * A required secret of at least `minLength` bytes that is not an obvious placeholder (see
   * {@link isPlaceholderSecret}); reported by name only, never echoed.
   */
  secret(name: string, opts: { minLength: number }): string {
    const raw = this.raw(name);
    if (raw === undefined) {
      this.problems.push(`${name} is required`);
      return '';
    }
    if (isPlaceholderSecret(raw)) {
      this.problems.push(`${name} is a placeholder, not a secret: set a random value (e.g. openssl rand -hex 32)`);
    } else if (Buffer.byteLength(raw) < opts.minLength) {
      this.problems.push(`${name} must be at least ${opts.minLength} characters`);
    }
    return raw;
  }

  /**
   * A Redis URL in one of the forms of {@link parseRedisUrl}: `redis://`/`rediss://` (one server),
   * `redis+cluster://host:port,...` (Redis Cluster), `redis+sentinel://host:port,.../<master>`
   * (Sentinel). A password in a bad URL is shown as `***`.
   */
  redisUrl(name: string, fallback: string): string {
    const raw = this.raw(name) ?? fallback;
    try {
      parseRedisUrl(raw);
    } catch (err) {
      if (!(err instanceof RedisUrlError)) throw err;
      this.problems.push(`${name} ${err.message} (got "${redactRedisUrl(raw)}")`);
    }
    return raw;
  }

  /** Comma-separated `host:port` list. */
  addresses(name: string, fallback: string, opts: { allowEmpty?: boolean } = {}): string[] {
    const raw = this.raw(name) ?? fallback;
    const items = raw.split(',').map((s) => s.trim()).filter(Boolean);
    const bad = items.filter((item) => !isHostPort(item));
    if (bad.length) this.problems.push(`${name} must be comma-separated host:port addresses (bad: "${bad.join('", "')}")`);
    if (!items.length && !opts.allowEmpty) this.problems.push(`${name} must name at least one host:port address`);
    return [...new Set(items)];
  }

  /** Comma-separated list of free-form items. */
  list(name: string, fallback: string): string[] {
    return (this.raw(name) ?? fallback).split(',').map((s) => s.trim()).filter(Boolean);
  }

  boolean(name: string, fallback: boolean): boolean {
    const raw = this.raw(name);
    if (raw === undefined) return fallback;
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    this.problems.push(`${name} must be true or false (got "${raw}")`);
    return fallback;
  }

  /** Throws one ConfigError listing every problem found so far. */
  finish(app: string): void {
    if (this.problems.length) throw new ConfigError(app, this.problems);
  }
}

/** Words that mark a value copied from an example rather than generated (compared without `-`, `_`, `.` or spaces). */
const PLACEHOLDER_MARKERS = ['replaceme', 'changeme', 'placeholder', 'example'] as const;

/**
 * Whether a secret is an obvious placeholder: it contains `replace-me`, `change-me`/`changeme`,
 * `placeholder` or `example` (any case, with or without `-`, `_`, `.` or spaces), or it is one
 * character repeated (`xxxx…`). Why: the shipped Kubernetes Secret (`deploy/k8s/secret.yaml`) and
 * docs carry such values; long enough to pass a length check, they would run a deployment with a
 * secret everyone can read. Refusing them at start-up makes "applied as shipped" fail loudly.
 */
export function isPlaceholderSecret(value: string): boolean {
  const folded = value.toLowerCase().replace(/[-_.\s]/g, '');
  return PLACEHOLDER_MARKERS.some((marker) => folded.includes(marker)) || /^(.)\1*$/su.test(value);
}

export function isHostPort(value: string): boolean {
  const match = /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\]):(\d{1,5})$/.exec(value);
  return match !== null && Number(match[2]) >= 1 && Number(match[2]) <= 65535;
}

export function deepFreeze<T>(value: T): Readonly<T> {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value as object)) deepFreeze(child);
  }
  return value;
}
