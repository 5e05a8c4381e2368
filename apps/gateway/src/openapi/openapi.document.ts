import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { ErrorCode } from '@app/contracts';
import { ERROR_CATALOGUE, PUBLIC_ERROR_CODES, publicErrorOf } from '../errors/error-catalogue.js';
import { ADMIN_OPERATIONS } from './admin.operations.js';
import { RELEASE_OPERATIONS } from './release.operations.js';
import type { ApiAuth, ApiOperation } from './api-operation.js';
import { idSchema } from './api-schemas.js';
import { PLATFORM_OPERATIONS } from './platform.operations.js';
import { USER_OPERATIONS } from './user.operations.js';

/** Every documented route. */
export const API_OPERATIONS: readonly ApiOperation[] = [...USER_OPERATIONS, ...ADMIN_OPERATIONS, ...RELEASE_OPERATIONS, ...PLATFORM_OPERATIONS];

/** A JSON object of the document (OpenAPI objects are plain JSON). */
type Json = Record<string, unknown>;

const SECURITY: Record<ApiAuth, Array<Record<string, string[]>>> = {
  user: [{ userJwt: [] }],
  admin: [{ adminToken: [] }],
  'user-or-ticket': [{ userJwt: [] }, { eventTicket: [] }],
  public: [],
};

/**
 * The OpenAPI 3.1 document of the gateway, built from the operation entries: each request schema is
 * the JSON Schema (draft 2020-12, OpenAPI 3.1's dialect) of the zod object the route validates with
 * (`io: 'input'`, what a client sends), each response schema that of the answer (`io: 'output'`).
 * Schemas with a zod `id` become `components.schemas`. Errors come from ERROR_STATUS and the
 * catalogue: per status, the codes the operation can answer, their meaning and Retry-After.
 */
export function buildOpenApiDocument(operations: readonly ApiOperation[] = API_OPERATIONS): Json {
  const schemas: Json = {};
  const toSchema = (schema: z.ZodType, io: 'input' | 'output'): Json => liftDefs(jsonSchemaOf(schema, io), schemas);
  const paths: Record<string, Json> = {};
  for (const op of operations) {
    const item = (paths[op.path] ??= {});
    if (item[op.method]) throw new Error(`OpenAPI: ${op.method.toUpperCase()} ${op.path} is documented twice`);
    item[op.method] = operation(op, toSchema);
  }
  schemas.ErrorCode = {
    type: 'string',
    enum: PUBLIC_ERROR_CODES,
    description: ['The `error.code` values clients receive (docs/errors.md has the full catalogue):', '', '| code | status | retry | meaning |', '| --- | --- | --- | --- |',
      ...PUBLIC_ERROR_CODES.map((code) => `| ${code} | ${publicErrorOf(code).status} | ${ERROR_CATALOGUE[code].retry} | ${ERROR_CATALOGUE[code].meaning.replaceAll('|', '\\|')} |`)].join('\n'),
  };
  schemas.ErrorDetail = { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } }, required: ['path', 'message'] };
  return {
    openapi: '3.1.0',
    info: {
      title: 'Rampart API',
      version: '0.1.0',
      description:
        'Claim gifts exactly once, follow orders, and operate the platform. Every error has the shape `{ "error": { "code", "message", "requestId", "details"? } }`; ' +
        'the codes, their statuses and whether to retry are listed under each response and in `ErrorCode`. Every response carries `X-Request-Id`.',
    },
    tags: [
      { name: 'User', description: 'Calls with a user JWT (`Authorization: Bearer <JWT>`, HS256, `sub` = user id, `exp` required).' },
      { name: 'Order events', description: 'Server-sent events of an order; browsers authenticate with a ticket.' },
      { name: 'Operator', description: 'Calls with the admin token (`Authorization: Bearer <ADMIN_TOKEN>`); every change is audited with actor and reason.' },
      { name: 'Platform', description: 'Health, metrics and this description; public.' },
    ],
    paths,
    components: {
      schemas,
      securitySchemes: {
        userJwt: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A user token: HS256 with JWT_SECRET, `sub` is the user id, `exp` required.' },
        adminToken: { type: 'http', scheme: 'bearer', description: 'The operator token (ADMIN_TOKEN).' },
        eventTicket: { type: 'apiKey', in: 'query', name: 'ticket', description: 'A ticket from `POST /api/orders/{orderId}/events/ticket`: one order, one user, the event stream only, 60 s.' },
      },
      headers: {
        RequestId: { description: 'The request id (also `error.requestId`); sent back as given in `X-Request-Id`, else generated.', schema: { type: 'string' } },
      },
    },
  };
}

/** JSON Schema of a zod schema without its `$schema` line. Unrepresentable parts (transforms' outputs) become `{}`. */
export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): Json {
  const { $schema: _, ...json } = z.toJSONSchema(schema, { io, target: 'draft-2020-12', unrepresentable: 'any' }) as Json;
  return json;
}

/** Moves `$defs` into `components.schemas` and points their `$ref`s there; one id must mean one schema. */
function liftDefs(json: Json, schemas: Json): Json {
  const { $defs, ...rest } = json as Json & { $defs?: Record<string, Json> };
  for (const [id, def] of Object.entries($defs ?? {})) {
    const lifted = rewriteRefs(def) as Json;
    if (schemas[id] !== undefined && !isDeepStrictEqual(schemas[id], lifted)) throw new Error(`OpenAPI: two different schemas are named ${id}`);
    schemas[id] = lifted;
  }
  return rewriteRefs(rest) as Json;
}

function rewriteRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (!value || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, v]) => [key, key === '$ref' && typeof v === 'string' ? v.replace('#/$defs/', '#/components/schemas/') : rewriteRefs(v)]),
  );
}

/** The codes an operation answers with: its own and those of every route of its kind. */
export function errorCodesOf(op: ApiOperation): ErrorCode[] {
  const codes = new Set<ErrorCode>(op.errors ?? []);
  if (op.auth !== 'public') codes.add(ErrorCode.Unauthorized);
  // Every documented header is checked (a missing Idempotency-Key, a malformed X-Actor): 400.
  if (op.body || op.query || op.headers?.length) codes.add(ErrorCode.BadRequest);
  if (op.body) codes.add(ErrorCode.PayloadTooLarge);
  if (op.callsServices) codes.add(ErrorCode.ServiceUnavailable);
  codes.add(ErrorCode.Internal);
  return [...codes].map((code) => publicErrorOf(code).publicCode);
}

function operation(op: ApiOperation, toSchema: (schema: z.ZodType, io: 'input' | 'output') => Json): Json {
  const parameters: Json[] = [];
  for (const [name, p] of Object.entries(op.pathParams ?? {})) {
    parameters.push({ name, in: 'path', required: true, description: p.description, schema: toSchema(p.schema ?? idSchema, 'input'), example: p.example });
  }
  if (op.query) {
    const query = toSchema(op.query, 'input') as { properties?: Record<string, Json>; required?: string[] };
    for (const [name, { description, ...schema }] of Object.entries(query.properties ?? {})) {
      // A field's `.meta({ description })` describes the parameter (Swagger UI shows the parameter's, not its schema's).
      parameters.push({
        name,
        in: 'query',
        required: query.required?.includes(name) ?? false,
        ...(description ? { description } : {}),
        schema,
        ...(op.queryExample?.[name] ? { example: op.queryExample[name] } : {}),
      });
    }
  }
  for (const q of op.extraQuery ?? []) parameters.push({ name: q.name, in: 'query', required: false, description: q.description, schema: toSchema(q.schema, 'input') });
  for (const h of op.headers ?? []) parameters.push({ name: h.name, in: 'header', required: h.required, description: h.description, schema: toSchema(h.schema, 'input'), example: h.example });

  const responses: Json = {};
  for (const s of op.successes) {
    const contentType = s.contentType ?? 'application/json';
    responses[String(s.status)] = {
      description: s.description,
      headers: { 'X-Request-Id': { $ref: '#/components/headers/RequestId' } },
      ...(s.schema
        ? { content: { [contentType]: { schema: toSchema(s.schema, 'output'), ...(s.examples ? { examples: s.examples } : s.example !== undefined ? { example: s.example } : {}) } } }
        : {}),
    };
  }
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of errorCodesOf(op)) {
    const status = publicErrorOf(code).status;
    if (!byStatus.get(status)?.includes(code)) byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) responses[String(status)] = errorResponse(codes);

  return {
    operationId: op.id,
    tags: [op.tag],
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    security: SECURITY[op.auth],
    ...(parameters.length ? { parameters } : {}),
    ...(op.body
      ? { requestBody: { required: op.body.isRequired, content: { 'application/json': { schema: toSchema(op.body.schema, 'input'), example: op.body.example } } } }
      : {}),
    responses,
  };
}

/** One error status of an operation: its codes (meaning, retry advice), the error shape narrowed to them, an example per code. */
function errorResponse(codes: ErrorCode[]): Json {
  const withRetryAfter = codes.filter((code) => publicErrorOf(code).isRetryAfterSent);
  const retryAfter = { description: `Seconds to wait before repeating; sent with ${withRetryAfter.join(', ')}.`, schema: { type: 'integer', minimum: 1 } };
  return {
    description: codes.map((code) => `\`${code}\` (retry: ${ERROR_CATALOGUE[code].retry}${publicErrorOf(code).isRetryAfterSent ? ', after Retry-After' : ''}): ${ERROR_CATALOGUE[code].meaning}`).join('\n\n'),
    headers: { 'X-Request-Id': { $ref: '#/components/headers/RequestId' }, ...(withRetryAfter.length ? { 'Retry-After': retryAfter } : {}) },
    content: {
      'application/json': {
        schema: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message', 'requestId'],
              properties: {
                code: { type: 'string', enum: codes },
                message: { type: 'string', description: 'For people; never branch on it.' },
                requestId: { type: 'string' },
                details: { type: 'array', items: { $ref: '#/components/schemas/ErrorDetail' } },
              },
            },
          },
        },
        examples: Object.fromEntries(codes.map((code) => [code, { summary: code, value: { error: { code, message: exampleMessage(code), requestId: 'b7f3c1d2-5e6a-4f0b-9c8d-1a2b3c4d5e6f' } } }])),
      },
    },
  };
}

const EXAMPLE_MESSAGES: Partial<Record<ErrorCode, string>> = {
  [ErrorCode.SoldOut]: 'gift g1 has no inventory left',
  [ErrorCode.Unauthorized]: 'a valid bearer token is required',
  [ErrorCode.BadRequest]: 'invalid request body',
  [ErrorCode.ServiceUnavailable]: 'delivery service is unavailable; try again',
  [ErrorCode.Internal]: 'internal error',
};
const exampleMessage = (code: ErrorCode) => EXAMPLE_MESSAGES[code] ?? ERROR_CATALOGUE[code].meaning.split('.')[0].toLowerCase();

/**
 * Routes the document leaves out on purpose, as `METHOD /path` with the reason: pages and their
 * assets for browsers, not API calls. Every other route Fastify serves must be documented.
 */
export const UNDOCUMENTED_ROUTES: Readonly<Record<string, string>> = {
  'GET /admin': 'the operator dashboard page',
  'GET /admin/index.html': 'the operator dashboard page',
  'GET /admin/dashboard.js': 'the dashboard\'s script',
  'GET /docs': 'this document rendered by Swagger UI',
  'GET /docs/init.js': 'the Swagger UI page\'s script',
  'GET /docs/swagger-ui.css': 'a Swagger UI asset',
  'GET /docs/swagger-ui-bundle.js': 'a Swagger UI asset',
};
