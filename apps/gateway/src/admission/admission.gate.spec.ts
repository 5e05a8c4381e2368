import { useTestApp } from '../testing/test-app.js';
import { ADMITTED_ROUTES, admittedRoute } from './request-classes.js';
import { unverifiedSubject } from './unverified-subject.js';

const jwt = (payload: object) => `Bearer e30.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.sig`;

describe('admission at the gateway', () => {
  it('reads the user of a bearer token for its cohort, and nothing from anything else', () => {
    expect(unverifiedSubject(jwt({ sub: 'alice', exp: 1 }))).toBe('alice');
    expect(unverifiedSubject(undefined)).toBeUndefined();
    expect(unverifiedSubject('Basic abc')).toBeUndefined();
    expect(unverifiedSubject('Bearer not-a-jwt')).toBeUndefined();
    expect(unverifiedSubject('Bearer a.%%%.c')).toBeUndefined();
    expect(unverifiedSubject(jwt({ sub: 42 }))).toBeUndefined();
    expect(unverifiedSubject(jwt({ sub: 'x'.repeat(300) }))).toBeUndefined();
  });

  it('classes every user route, claims highest, and never sheds operators, health or docs', () => {
    expect(admittedRoute('POST', '/api/gifts/:giftId/claims')).toEqual({ cls: 'claim', service: 'delivery' });
    expect(admittedRoute('GET', '/api/me/overview')?.cls).toBe('overview');
    expect(admittedRoute('GET', '/api/orders/:orderId/events')).toMatchObject({ cls: 'status', isStream: true });
    for (const route of ['GET /admin/orders', 'PUT /admin/flags/:name', 'GET /health/ready', 'GET /metrics', 'GET /openapi.json']) {
      const [method, url] = route.split(' ');
      expect(admittedRoute(method!, url)).toBeUndefined();
    }
    expect(Object.keys(ADMITTED_ROUTES).every((r) => r.includes(' /api/'))).toBe(true);
    expect(admittedRoute('GET', undefined)).toBeUndefined();
  });
});

describe('admission classes against the routes Fastify serves', () => {
  const { registeredRoutes } = useTestApp();

  it('classes every user route the gateway serves (a new /api route cannot escape admission)', () => {
    const userRoutes = registeredRoutes().filter((r) => r.url.startsWith('/api/') && r.method !== 'HEAD' && r.method !== 'OPTIONS');
    expect(userRoutes.length).toBeGreaterThan(5);
    expect(userRoutes.filter((r) => !admittedRoute(r.method, r.url)).map((r) => `${r.method} ${r.url}`)).toEqual([]);
    expect(Object.keys(ADMITTED_ROUTES).filter((k) => !userRoutes.some((r) => `${r.method} ${r.url}` === k))).toEqual([]);
  });
});
