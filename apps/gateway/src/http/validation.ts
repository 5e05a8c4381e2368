import type { z } from 'zod';
import { AppError, ErrorCode, ID_PATTERN, type ErrorDetail } from '@app/contracts';

/**
 * An id taken from the URL path. One that cannot exist (not 1-128 of [A-Za-z0-9_-]) is answered
 * like an id that does not exist: 404 NOT_FOUND.
 */
export function pathId(value: string, what: string): string {
  if (!ID_PATTERN.test(value)) throw new AppError(ErrorCode.NotFound, `${what} does not exist`);
  return value;
}

/** Parses a body or query string with a strict zod schema; any issue (unknown fields included) is a 400 with details. */
export function parseStrict<S extends z.ZodType>(schema: S, value: unknown, where: 'body' | 'query'): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const details: ErrorDetail[] = parsed.error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ path: pathOf(where, [...issue.path, key]), message: 'unknown field' }))
      : [{ path: pathOf(where, issue.path), message: issue.message }],
  );
  throw new AppError(ErrorCode.BadRequest, `invalid request ${where}`, { details });
}

function pathOf(where: string, path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : `${acc}.${String(part)}`), where);
}
