import { compileErrors, validate } from '@readme/openapi-parser';
import { AppError, ErrorCode } from '@app/contracts';
import { ADMIN_TOKEN, delivery, query, useTestApp } from '../testing/test-app.js';
import { publicErrorOf } from '../errors/error-catalogue.js';
import { type ApiOperation, examplesOf } from './api-operation.js';
import { API_OPERATIONS, buildOpenApiDocument, errorCodesOf, jsonSchemaOf, UNDOCUMENTED_ROUTES } from './openapi.document.js';

/** A parsed JSON document, read freely by the tests. */
type Json = Record<string, any>;

const document = buildOpenApiDocument() as Json;
const key = (method: string, path: string) => `${method.toUpperCase()} ${path}`;
const pathOf = (op: ApiOperation) => op.path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(op.pathParams![name].example));
const operationOf = (op: ApiOperation): Json => document.paths[op.path][op.method];

describe('OpenAPI document', () => {
  it('is valid OpenAPI 3.1 (@readme/openapi-parser)', async () => {
    const result = await validate(structuredClone(document) as never); // the validator takes any object; its OpenAPI types are stricter than a parsed JSON
    expect(result.valid ? '' : compileErrors(result)).toBe('');
    expect(result.valid).toBe(true);
    expect(document.openapi).toBe('3.1.0');
  });

  it('has both security schemes and the event-stream ticket', () => {
    expect(document.components.securitySchemes).toMatchObject({
      userJwt: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
      adminToken: { type: 'http', scheme: 'bearer' },
      eventTicket: { type: 'apiKey', in: 'query', name: 'ticket' },
    });
    const events = document.paths['/api/orders/{orderId}/events'].get;
    expect(events.security).toEqual([{ userJwt: [] }, { eventTicket: [] }]);
    expect(events.parameters).toContainEqual(expect.objectContaining({ name: 'ticket', in: 'query', required: false }));
    expect(Object.keys(events.responses[200].content)).toEqual(['text/event-stream']);
    expect(document.paths['/admin/flags'].get.security).toEqual([{ adminToken: [] }]);
    expect(document.paths['/api/me/orders'].get.security).toEqual([{ userJwt: [] }]);
    expect(document.paths['/openapi.json'].get.security).toEqual([]);
  });

  it('documents the claim: Idempotency-Key, 200/202/409/429/503, each refusal code, Retry-After', () => {
    const claim = document.paths['/api/gifts/{giftId}/claims'].post;
    expect(claim.parameters).toContainEqual(
      expect.objectContaining({ name: 'Idempotency-Key', in: 'header', required: true, schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,128}$' } }),
    );
    for (const status of ['200', '202', '400', '401', '404', '409', '413', '422', '429', '500', '503']) expect(claim.responses).toHaveProperty(status);
    const codes = (status: number): string[] => [...claim.responses[status].content['application/json'].schema.properties.error.properties.code.enum];
    expect(codes(409).sort()).toEqual(['DAILY_LIMIT_REACHED', 'NOT_ACTIVE', 'SOLD_OUT', 'USER_LIMIT_REACHED']);
    expect(codes(429).sort()).toEqual(['RATE_LIMITED', 'TOO_MANY_UNCERTAIN']);
    expect(codes(503)).toEqual(['SERVICE_UNAVAILABLE']);
    expect(codes(422)).toEqual(['IDEMPOTENCY_KEY_REUSED']);
    expect(claim.responses[429].headers).toHaveProperty('Retry-After');
    expect(claim.responses[503].headers).toHaveProperty('Retry-After');
    expect(claim.responses[409].headers).not.toHaveProperty('Retry-After');
    expect(Object.keys(claim.responses[409].content['application/json'].examples).sort()).toEqual(codes(409).sort());
  });

  it('documents the operators\' changes: X-Actor and its 400 on each, publish\'s dryRun, reason and both answers', () => {
    const changes = API_OPERATIONS.filter((op) => op.auth === 'admin' && op.method !== 'get');
    expect(changes.map((op) => op.id).sort()).toEqual(['discardDeadLetter', 'promoteRelease', 'publishActivity', 'resolveOrder', 'retryDeadLetter', 'setFlag', 'setRelease']);
    for (const op of changes) {
      expect(operationOf(op).parameters).toContainEqual(expect.objectContaining({ name: 'X-Actor', in: 'header', required: false, schema: { type: 'string', pattern: '^[A-Za-z0-9_.@-]{1,64}$' } }));
      expect(operationOf(op).responses[400].content['application/json'].schema.properties.error.properties.code.enum).toContain('BAD_REQUEST');
    }
    const publish = document.paths['/admin/activities/{activityId}'].put;
    expect(publish.parameters).toContainEqual(expect.objectContaining({ name: 'dryRun', in: 'query', required: false, description: expect.stringContaining('storing') }));
    expect(publish.requestBody.content['application/json'].schema.properties.reason).toMatchObject({ type: 'string', maxLength: 500 });
    expect(publish.responses[200].content['application/json'].schema.anyOf).toEqual([{ $ref: '#/components/schemas/PublishPlan' }, { $ref: '#/components/schemas/PublishReply' }]);
    expect(Object.keys(publish.responses[200].content['application/json'].examples)).toEqual(['dryRun', 'updated']);
    const codes = (path: string, method: string, status: number): string[] => document.paths[path][method].responses[status]?.content['application/json'].schema.properties.error.properties.code.enum ?? [];
    expect(codes('/admin/orders/{orderId}', 'get', 404)).toEqual(['NOT_FOUND']);
    expect(codes('/admin/activities/{activityId}', 'get', 404)).toEqual(['NOT_FOUND']);
    expect(codes('/admin/queues/failed/{orderId}/discard', 'post', 404)).toEqual(['NOT_FOUND']);
    expect(codes('/admin/orders/{orderId}/resolve', 'post', 409)).toEqual(['CONFLICT']);
    expect(codes('/admin/orders', 'get', 400)).toEqual(['BAD_REQUEST']);
  });

  it('lists every public error code, and only public codes in responses', () => {
    const publicCodes: string[] = document.components.schemas.ErrorCode.enum;
    expect(publicCodes).toContain('SOLD_OUT');
    expect(publicCodes).not.toContain(ErrorCode.CircuitOpen);
    for (const op of API_OPERATIONS) for (const code of errorCodesOf(op)) expect(publicCodes).toContain(code);
  });

  describe('drift from the validators', () => {
    it.each(API_OPERATIONS.filter((op) => op.body).map((op) => [op.id, op] as const))('%s: the request body schema is the route\'s zod schema, and its example passes it', (_, op) => {
      expect(operationOf(op).requestBody.content['application/json'].schema).toEqual(rewrite(jsonSchemaOf(op.body!.schema, 'input')));
      expect(op.body!.schema.safeParse(op.body!.example).error).toBeUndefined();
    });

    it.each(API_OPERATIONS.filter((op) => op.query).map((op) => [op.id, op] as const))('%s: the query parameters are those of the route\'s zod schema, and the example passes it', (_, op) => {
      const params = (operationOf(op).parameters as Json[]).filter((p) => p.in === 'query').map((p) => p.name);
      expect(params).toEqual(Object.keys(op.query!.shape));
      expect(op.query!.safeParse(op.queryExample).error).toBeUndefined();
    });

    it.each(API_OPERATIONS.flatMap((op) => op.successes.map((s) => [`${op.id} ${s.status}`, s] as const)))('%s: the response examples pass its schema', (_, success) => {
      expect(examplesOf(success).length > 0).toBe(success.schema !== undefined);
      for (const example of examplesOf(success)) expect(success.schema!.safeParse(example).error).toBeUndefined();
    });
  });
});

describe('OpenAPI document against the routes Fastify serves', () => {
  const { inject, registeredRoutes } = useTestApp();
  const documented = new Set(API_OPERATIONS.map((op) => key(op.method, op.path)));
  const served = () => new Set(registeredRoutes().filter((r) => r.method !== 'HEAD' && r.method !== 'OPTIONS').map((r) => key(r.method, r.url.replace(/:(\w+)/g, '{$1}').replace(/\/$/, '') || '/')));

  it('documents every route, and no route that is not served', () => {
    expect(served().size).toBeGreaterThan(20);
    const missing = [...served()].filter((route) => !documented.has(route) && !UNDOCUMENTED_ROUTES[route]);
    expect(missing).toEqual([]);
    expect([...documented].filter((route) => !served().has(route))).toEqual([]);
    expect(Object.keys(UNDOCUMENTED_ROUTES).filter((route) => !served().has(route))).toEqual([]);
  });

  it('serves the document at /openapi.json, and /docs without a token', async () => {
    const res = await inject('/openapi.json', {}, null);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(document);
    const docs = await inject('/docs', {}, null);
    expect(docs.statusCode).toBe(200);
    expect(docs.body).toContain('/docs/swagger-ui-bundle.js');
    expect((await inject('/docs/swagger-ui-bundle.js', {}, null)).body.length).toBeGreaterThan(100_000);
  });

  const tokenOf = (op: ApiOperation) => (op.auth === 'admin' ? ADMIN_TOKEN : op.auth === 'public' ? null : undefined);
  const requestOf = (op: ApiOperation, extra: { body?: object; query?: Record<string, string>; headers?: Record<string, string> } = {}) => {
    const search = new URLSearchParams({ ...op.queryExample, ...extra.query }).toString();
    const headers = { ...Object.fromEntries((op.headers ?? []).map((h) => [h.name.toLowerCase(), h.example])), ...extra.headers };
    const payload = op.body ? { ...(op.body.example as object), ...extra.body } : undefined;
    return inject(`${pathOf(op)}${search ? `?${search}` : ''}`, { method: op.method.toUpperCase() as 'GET', headers, payload }, tokenOf(op));
  };

  // Routes whose success needs a real Redis or a stream: the test app's fake Redis cannot serve them.
  const NEEDS_REDIS = new Set(['setFlag', 'listAudit', 'getReadiness', 'followOrderEvents', 'setRelease', 'promoteRelease']);

  it.each(API_OPERATIONS.filter((op) => !NEEDS_REDIS.has(op.id)).map((op) => [op.id, op] as const))(
    '%s: its documented request gets a documented success whose body passes the documented schema',
    async (_, op) => {
      const answer = examplesOf(op.successes[0])[0];
      query.call.mockResolvedValue(answer);
      delivery.call.mockResolvedValue(answer);
      const res = await requestOf(op);
      const success = op.successes.find((s) => s.status === res.statusCode);
      if (!success) throw new Error(`answered ${res.statusCode}, not a documented success: ${res.body.slice(0, 300)}`);
      if ((success.contentType ?? 'application/json') !== 'application/json') return;
      expect(success.schema!.safeParse(res.json()).error).toBeUndefined();
    },
  );

  // Codes the gateway raises itself (auth, input checks) are tested above; the rest come from the services.
  const GATEWAY_CODES = new Set<string>([ErrorCode.Unauthorized, ErrorCode.BadRequest, ErrorCode.PayloadTooLarge]);
  const serviceErrors = API_OPERATIONS.filter((op) => op.callsServices && op.id !== 'getReadiness').flatMap((op) =>
    [...errorCodesOf(op).filter((code) => !GATEWAY_CODES.has(code)), ErrorCode.CircuitOpen].map((code) => [op.id, code, op] as const),
  );
  it.each(serviceErrors)('%s: a service answering %s gets the documented status, code and Retry-After', async (_, code, op) => {
    query.call.mockRejectedValue(new AppError(code, `test ${code}`));
    delivery.call.mockRejectedValue(new AppError(code, `test ${code}`));
    const res = await requestOf(op);
    const documented = operationOf(op).responses[res.statusCode];
    expect(documented).toBeDefined();
    // A read that may answer its last good value (activity reads, the event stream's first read) is a documented success.
    if (op.successes.some((s) => s.status === res.statusCode)) return;
    expect(documented.content['application/json'].schema.properties.error.properties.code.enum).toContain(res.json().error.code);
    expect(Object.keys(res.json().error).sort()).toEqual(['code', 'message', 'requestId']);
    expect('retry-after' in res.headers).toBe(publicErrorOf(code).isRetryAfterSent);
    if ('retry-after' in res.headers) expect(documented.headers).toHaveProperty('Retry-After');
  });

  it.each(API_OPERATIONS.filter((op) => op.body || op.query).map((op) => [op.id, op] as const))(
    '%s: a field the document does not have is refused with 400, as the document says',
    async (_, op) => {
      const res = await requestOf(op, op.body ? { body: { undocumentedField: 1 } } : { query: { undocumentedParam: '1' } });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('BAD_REQUEST');
      expect(operationOf(op).responses[400].content['application/json'].schema.properties.error.properties.code.enum).toContain('BAD_REQUEST');
    },
  );

  it.each(API_OPERATIONS.filter((op) => op.headers?.some((h) => h.name === 'X-Actor')).map((op) => [op.id, op] as const))(
    '%s: a malformed X-Actor is refused with 400 before any service is called, as the document says',
    async (_, op) => {
      const res = await requestOf(op, { headers: { 'x-actor': 'alice smith' } });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('BAD_REQUEST');
      expect(query.call).not.toHaveBeenCalled();
      expect(delivery.call).not.toHaveBeenCalled();
    },
  );

  it.each(API_OPERATIONS.filter((op) => op.auth !== 'public').map((op) => [op.id, op] as const))('%s: without credentials it answers the documented 401', async (_, op) => {
    const res = await inject(pathOf(op), { method: op.method.toUpperCase() as 'GET' }, null);
    expect(res.statusCode).toBe(401);
    expect(operationOf(op).responses).toHaveProperty('401');
  });
});

/** `$defs` references as the document writes them (lifted into components). */
function rewrite(json: Json): Json {
  const { $defs: _, ...rest } = json;
  return JSON.parse(JSON.stringify(rest).replaceAll('#/$defs/', '#/components/schemas/'));
}
