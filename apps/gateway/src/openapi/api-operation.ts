import type { z } from 'zod';
import type { ErrorCode } from '@app/contracts';

/**
 * Who may call an operation: a user JWT, the admin token, a user JWT or an event-stream ticket, or
 * anyone. Each maps to the document's security schemes and adds 401 UNAUTHORIZED (except `public`).
 */
export type ApiAuth = 'user' | 'admin' | 'user-or-ticket' | 'public';

/** A successful answer of an operation. */
export interface ApiSuccess {
  status: number;
  description: string;
  /** The body's schema (JSON unless `contentType` says otherwise). None: no body is documented. */
  schema?: z.ZodType;
  /** Default `application/json`. */
  contentType?: string;
  /** A typical body; tests check it against `schema`. */
  example?: unknown;
  /** Several typical bodies, by name, instead of `example` (when one status answers two kinds, e.g. a publish and its dry run). */
  examples?: Record<string, { summary: string; value: unknown }>;
}

/** The typical bodies of a success: its `example`, or each of its `examples`. */
export const examplesOf = (success: ApiSuccess): unknown[] =>
  success.examples ? Object.values(success.examples).map((e) => e.value) : success.example === undefined ? [] : [success.example];

/** A request header the route reads. */
export interface ApiHeader {
  name: string;
  description: string;
  required: boolean;
  schema: z.ZodType;
  example: string;
}

/** A path parameter. */
export interface ApiPathParam {
  description: string;
  /** Default: an id (1-128 of [A-Za-z0-9_-]). */
  schema?: z.ZodType;
  example: string;
}

/**
 * One documented route. The document is built from these entries alone; the request schemas are
 * the very zod objects the route validates with (imported from the controller or contracts), so
 * the document cannot describe a validator that does not run. `openapi.document.spec.ts` fails when
 * a route Fastify serves has no entry, or an entry no route.
 */
export interface ApiOperation {
  /** The operationId: lowerCamelCase, unique. */
  id: string;
  method: 'get' | 'post' | 'put' | 'delete';
  /** OpenAPI path template, e.g. `/api/gifts/{giftId}/claims`. */
  path: string;
  tag: 'User' | 'Order events' | 'Operator' | 'Platform';
  summary: string;
  description?: string;
  auth: ApiAuth;
  pathParams?: Record<string, ApiPathParam>;
  /** The exact zod object the route parses its query string with (properties become query parameters). */
  query?: z.ZodObject;
  /** An example query string per parameter, used by the tests against the real route. */
  queryExample?: Record<string, string>;
  /** Query parameters not read through a zod object (the event-stream ticket). */
  extraQuery?: Array<{ name: string; description: string; schema: z.ZodType }>;
  headers?: ApiHeader[];
  /** The exact zod schema the route validates its JSON body with, and an example that passes it. */
  body?: { schema: z.ZodType; example: unknown; isRequired: boolean };
  successes: ApiSuccess[];
  /**
   * Error codes this route answers with besides the ones every route of its kind has (401 when
   * authenticated, 400 with a body/query/header, 413 with a body, 500 always, 503 when
   * `callsServices`). Each is documented under its HTTP status with its meaning.
   */
  errors?: ErrorCode[];
  /** Whether the route calls the query or delivery service (adds 503 SERVICE_UNAVAILABLE). */
  callsServices: boolean;
}
