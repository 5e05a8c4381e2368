/** A small JSON HTTP client for tests (global fetch, undici underneath). */
export interface JsonResponse {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

export async function http(
  method: string,
  url: string,
  opts: { token?: string; headers?: Record<string, string>; body?: unknown; rawBody?: string; timeoutMs?: number } = {},
): Promise<JsonResponse> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined = opts.rawBody;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  } else if (body !== undefined) headers['content-type'] ??= 'application/json';
  const res = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(opts.timeoutMs ?? 15_000) });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

/** Asserts the contract's error shape and returns the error object. */
export function expectError(res: JsonResponse, status: number, code: string): { code: string; message: string; requestId: string; details?: unknown[] } {
  if (res.status !== status || res.body?.error?.code !== code) {
    throw new Error(`expected ${status} ${code}, got ${res.status} ${res.text}`);
  }
  const error = res.body.error;
  if (typeof error.message !== 'string' || typeof error.requestId !== 'string' || !error.requestId) {
    throw new Error(`error shape lacks message/requestId: ${res.text}`);
  }
  return error;
}
