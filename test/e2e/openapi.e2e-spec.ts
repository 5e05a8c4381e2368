import { randomBytes, randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validate } from '@readme/openapi-parser';
import { chromium, type Browser } from 'playwright-core';
import { buildOpenApiDocument } from '../../apps/gateway/src/openapi/openapi.document.js';
import { findChromium } from '../support/chromium.js';
import { freePort } from '../support/ports.js';
import { deletePrefix, useTestRedis, type TestRedis } from '../support/redis.js';
import { spawnApp, tail, type RunningApp } from '../support/spawn-app.js';

jest.setTimeout(90_000);

// The API description through a real gateway process: what it serves is the document the code
// builds, valid OpenAPI 3.1, public, and /docs renders it in a real headless Chromium (assets served
// by the gateway itself: the test runs offline). No query or delivery instance is needed for this.
describe('GET /openapi.json and /docs on a real gateway', () => {
  let redis: TestRedis;
  let gateway: RunningApp;
  let browser: Browser | undefined;
  let url: string;
  const prefix = `e2e-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    redis = await useTestRedis();
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    // Upstream addresses nobody listens on: the description must not depend on the services.
    const [queryPort, deliveryPort] = [await freePort(), await freePort()];
    gateway = await spawnApp('gateway', {
      REDIS_URL: redis.url,
      REDIS_PREFIX: prefix,
      PORT: String(port),
      QUERY_UPSTREAMS: `127.0.0.1:${queryPort}`,
      DELIVERY_UPSTREAMS: `127.0.0.1:${deliveryPort}`,
      JWT_SECRET: randomBytes(32).toString('hex'),
      ADMIN_TOKEN: randomBytes(24).toString('hex'),
    });
  });
  afterAll(async () => {
    await browser?.close();
    await gateway?.stop();
    await deletePrefix(redis.url, prefix);
    await redis?.stop();
  });

  it('answers the document the code builds, valid OpenAPI 3.1, without a token', async () => {
    const res = await fetch(`${url}/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const document = (await res.json()) as Record<string, unknown>;
    expect(document).toEqual(buildOpenApiDocument());
    const result = await validate(document as never);
    expect(result.valid).toBe(true);
    const paths = document.paths as Record<string, Record<string, { parameters?: Array<{ name: string }> }>>;
    expect(paths['/api/gifts/{giftId}/claims'].post.parameters?.map((p) => p.name)).toContain('Idempotency-Key');
  });

  it('renders /docs in headless Chromium, showing the operations', async () => {
    const binary = await findChromium();
    process.stdout.write(`openapi e2e: Chromium from ${binary.source}\n`);
    browser = await chromium.launch({ executablePath: binary.executablePath, args: binary.args, headless: true });
    const page = await browser.newPage();
    const failures: string[] = [];
    page.on('pageerror', (err) => failures.push(String(err)));
    page.on('console', (msg) => msg.type() === 'error' && failures.push(msg.text()));
    // Anything not served by the gateway itself (a CDN) would fail offline: refuse it outright.
    await page.route((target) => !target.href.startsWith(url), (route) => {
      failures.push(`request outside the gateway: ${route.request().url()}`);
      return route.abort();
    });
    try {
      await page.goto(`${url}/docs`);
      await page.waitForSelector('.opblock-summary-path[data-path="/api/gifts/{giftId}/claims"]', { timeout: 30_000 });
    } catch (err) {
      throw new Error(`${String(err)}\npage errors: ${failures.join('\n')}\n${tail(gateway)}`);
    }
    expect(await page.locator('.info .title').textContent()).toContain('Rampart API');
    const shown = await page.locator('.opblock-summary-path').evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-path')));
    for (const path of ['/api/gifts/{giftId}/claims', '/api/orders/{orderId}/events', '/admin/orders/{orderId}/resolve', '/admin/flags/{name}']) {
      expect(shown).toContain(path);
    }
    expect(await page.locator('.opblock').count()).toBe(Object.values(buildOpenApiDocument().paths as object).flatMap((item) => Object.keys(item)).length);
    expect(failures).toEqual([]);
    await page.locator('.opblock-summary-path[data-path="/api/gifts/{giftId}/claims"]').click();
    await page.waitForSelector('.opblock.is-open .parameters-container');
    await page.screenshot({ path: join(tmpdir(), 'rampart-docs.png'), fullPage: false });
  });
});
