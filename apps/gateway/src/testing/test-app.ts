import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Redis } from 'ioredis';
import { SignJWT } from 'jose';
import { loadGatewayConfig } from '../config/gateway.config.js';
import { GatewayModule } from '../gateway.module.js';
import { configureHttp, createGatewayAdapter } from '../http/http-setup.js';
import type { Upstream } from '../upstream/upstream.client.js';

/** Secrets of the test app. */
export const JWT_SECRET = 'inject-spec-jwt-secret-32-bytes-long!';
export const ADMIN_TOKEN = 'inject-spec-admin-token-24+';
/** Config of the test app: small body limit, CORS for any localhost port. */
export const config = loadGatewayConfig({ JWT_SECRET, ADMIN_TOKEN, SERVICE_TOKEN: 'inject-spec-service-token-32-bytes-long', BODY_LIMIT_BYTES: '2048', CORS_ORIGINS: 'http://localhost:*' });

const fakeUpstream = () => ({ call: jest.fn(), anyInstanceAnswers: jest.fn(async () => 'ok'), close: jest.fn(async () => undefined) });
/** The fake services behind the test app; specs set what `call` answers. */
export const query = fakeUpstream();
export const delivery = fakeUpstream();

type InjectOptions = { method?: 'GET' | 'POST' | 'PUT' | 'DELETE'; headers?: Record<string, string>; payload?: string | object };
type InjectResponse = Awaited<ReturnType<NestFastifyApplication['inject']>>;

/**
 * The real gateway module and HTTP setup over fake upstreams and a fake Redis, for `app.inject()`
 * specs: started in `beforeAll`, closed in `afterAll`, mocks cleared before each test.
 */
export function useTestApp() {
  let app: NestFastifyApplication;
  let userToken: string;
  const routes: Array<{ method: string; url: string }> = [];

  beforeAll(async () => {
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const redis = {
      ping: async () => 'PONG',
      status: 'end',
      on: () => redis,
      subscribe: async () => 1,
      hgetall: async () => ({}),
      smembers: async () => [],
      defineCommand: () => undefined,
    } as unknown as Redis;
    const upstreams: Record<string, Upstream> = { query, delivery };
    const module = GatewayModule.register(config, { redis: () => redis, upstream: (service) => upstreams[service] });
    app = await NestFactory.create<NestFastifyApplication>(module, createGatewayAdapter(config), { logger: false });
    configureHttp(app, config);
    // Every route Fastify registers, as it registers it (Nest adds its routes in init()).
    app.getHttpAdapter().getInstance().addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) routes.push({ method, url: route.url });
    });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    userToken = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('u1').setExpirationTime('5m').sign(new TextEncoder().encode(JWT_SECRET));
  });
  afterAll(() => app.close());
  beforeEach(() => jest.clearAllMocks());

  /** Sends a request as user `u1` (or with `token`, or none when null). */
  function inject(url: string, { method = 'GET', headers = {}, payload }: InjectOptions = {}, token?: string | null): Promise<InjectResponse> {
    const bearer = token === undefined ? userToken : token;
    const auth = bearer ? { authorization: `Bearer ${bearer}` } : {};
    return app.inject({ method, url, headers: { ...auth, ...headers }, payload });
  }
  /** The routes Fastify serves (HEAD routes it adds for GET ones included), after `beforeAll`. */
  const registeredRoutes = (): ReadonlyArray<{ method: string; url: string }> => routes;
  return { inject, registeredRoutes };
}

/** Checks the one error shape and returns its `error` object. */
export function expectError(res: InjectResponse, status: number, code: string): Record<string, unknown> {
  expect(res.statusCode).toBe(status);
  const { error } = res.json() as { error: Record<string, unknown> };
  expect(error).toMatchObject({ code, message: expect.any(String), requestId: res.headers['x-request-id'] });
  expect(Object.keys(error).every((key) => ['code', 'message', 'requestId', 'details'].includes(key))).toBe(true);
  return error;
}
