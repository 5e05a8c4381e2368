import { useTestApp } from '../testing/test-app.js';
import { cpuShare } from './admission.gate.js';
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

describe('cpuShare (how much of a sample the gateway ran on a core)', () => {
  it('is the loop utilisation while the process got the CPU for it', () => {
    expect(cpuShare(0.95, 9.8, 10)).toBe(0.95);
    expect(cpuShare(0.3, 3, 10)).toBe(0.3);
  });

  it('is the CPU share when the loop ran callbacks without a core (starved on shared cores)', () => {
    expect(cpuShare(1, 4, 10)).toBeCloseTo(0.4);
  });

  it('never counts the CPU of other threads (a crypto job in the pool) as the loop being busy, nor an empty sample', () => {
    expect(cpuShare(0.5, 14, 10)).toBe(0.5);
    expect(cpuShare(0.7, 0, 0)).toBe(0.7);
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
