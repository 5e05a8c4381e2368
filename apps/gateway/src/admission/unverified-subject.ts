/** The `sub` of a bearer JWT's payload, read without checking the signature (only to pick a cohort); undefined when there is none. */
export function unverifiedSubject(authorization: string | undefined): string | undefined {
  if (!authorization || !authorization.startsWith('Bearer ')) return undefined;
  const token = authorization.slice(7);
  const first = token.indexOf('.');
  const second = token.indexOf('.', first + 1);
  if (first < 0 || second < 0 || second - first > 4096) return undefined;
  try {
    const payload = JSON.parse(Buffer.from(token.slice(first + 1, second), 'base64url').toString('utf8')) as { sub?: unknown };
    return typeof payload.sub === 'string' && payload.sub.length <= 256 ? payload.sub : undefined;
  } catch {
    return undefined;
  }
}
