import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode } from '@app/contracts';
import { ERROR_CATALOGUE, PUBLIC_ERROR_CODES, publicErrorOf, renderErrorCatalogue } from './error-catalogue.js';
import { ERROR_STATUS } from './error-status.js';

const DOC = join(__dirname, '../../../../docs/errors.md');
const doc = readFileSync(DOC, 'utf8');

/** The catalogue's table rows as code -> [status, retry, Retry-After], parsed from docs/errors.md itself. */
function rowsOf(markdown: string): Map<string, { status: number; retry: string; retryAfter: string }> {
  const rows = new Map<string, { status: number; retry: string; retryAfter: string }>();
  for (const line of markdown.split('\n')) {
    const cells = line.split(/(?<!\\)\|/).map((c) => c.trim());
    const code = /^`([A-Z_]+)`$/.exec(cells[1] ?? '')?.[1];
    if (code) rows.set(code, { status: Number(cells[2]), retry: cells[4], retryAfter: cells[5] });
  }
  return rows;
}

describe('error catalogue (docs/errors.md)', () => {
  it('is the rendering of the code (run `npm run docs:api` after changing a code, its status or its entry)', () => {
    expect(doc).toBe(renderErrorCatalogue());
  });

  const rows = rowsOf(doc);
  it.each(Object.values(ErrorCode))('lists %s with the status and Retry-After the gateway answers', (code) => {
    const row = rows.get(code);
    expect(row).toBeDefined();
    expect(row!.status).toBe(ERROR_STATUS[code].status);
    expect(row!.retryAfter).toBe(ERROR_STATUS[code].retryAfterS !== undefined ? 'yes' : 'no');
    expect(row!.retry).toBe(ERROR_CATALOGUE[code].retry);
  });

  it('lists no code that does not exist', () => {
    expect([...rows.keys()].sort()).toEqual(Object.values(ErrorCode).sort());
  });

  it('says what the claim refusals and the retryable codes mean for a client', () => {
    expect(publicErrorOf(ErrorCode.RateLimited)).toEqual({ code: 'RATE_LIMITED', status: 429, publicCode: 'RATE_LIMITED', isRetryAfterSent: true });
    expect(publicErrorOf(ErrorCode.CircuitOpen)).toMatchObject({ status: 503, publicCode: 'SERVICE_UNAVAILABLE', isRetryAfterSent: true });
    expect(ERROR_CATALOGUE[ErrorCode.SoldOut].retry).toBe('no');
    expect(PUBLIC_ERROR_CODES).not.toContain(ErrorCode.CircuitOpen);
    expect(PUBLIC_ERROR_CODES).toContain(ErrorCode.ServiceUnavailable);
  });
});
