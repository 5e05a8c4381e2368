import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { findChromium } from '../support/chromium.js';
import { http } from '../support/http.js';
import { startSuite, type Suite } from '../support/suite.js';
import { waitFor } from '../support/wait-for.js';

jest.setTimeout(90_000);

// The operator dashboard in a real headless Chromium against the real suite.
describe('operator dashboard (headless Chromium)', () => {
  let suite: Suite;
  let browser: Browser;
  let page: Page;
  let gw: string;

  beforeAll(async () => {
    // CHROMIUM_PATH, else /usr/bin/chromium, else the registry's @sparticuz/chromium: no apt needed.
    const binary = await findChromium();
    process.stdout.write(`dashboard e2e: Chromium from ${binary.source} (${binary.executablePath})\n`);
    suite = await startSuite({ queries: 2 });
    gw = suite.gatewayUrls[0];
    browser = await chromium.launch({ executablePath: binary.executablePath, args: binary.args, headless: true });
    page = await browser.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await suite?.stop();
  });

  it('asks for the token, then shows the upstream instances', async () => {
    await page.goto(`${gw}/admin/`);
    await page.fill('#token', 'wrong-token-wrong-token-x');
    await page.click('#login-form button');
    await page.waitForSelector('#login-error:has-text("refused")');
    await page.fill('#token', suite.adminToken);
    await page.click('#login-form button');
    await page.waitForSelector('#upstreams tbody tr[data-address] .state.healthy');
    expect(await page.locator('#upstreams tbody tr[data-address]').count()).toBe(3); // 2 query + 1 delivery
    expect(await page.locator('#queue-failed').textContent()).toBe('0');
  });

  it('shows an ejected instance after one is killed', async () => {
    const victim = `127.0.0.1:${suite.queryTcpPorts[0]}`;
    suite.queries[0].signal('SIGKILL');
    const token = await suite.token('dash-user');
    // Light read traffic lets the gateway notice (a refused connection ejects at once).
    await waitFor(async () => {
      await Promise.all(Array.from({ length: 5 }, () => http('GET', `${gw}/api/gifts/none`, { token })));
      return (await page.locator(`#upstreams tr[data-address="${victim}"] .state`).textContent()) === 'ejected';
    }, { timeoutMs: 20_000, intervalMs: 200, what: 'the dashboard to show the killed instance as ejected' });
  });

  it('toggles a flag with a reason, and the change takes effect', async () => {
    await page.click('button[data-flag="report.disabled"]');
    await page.waitForSelector('#flag-error:has-text("reason")');
    await page.fill('#reason', 'browser test');
    await page.click('button[data-flag="report.disabled"]');
    await page.waitForSelector('[data-flag-state="report.disabled"]:has-text("enabled")');
    const flags = await http('GET', `${gw}/admin/flags`, { token: suite.adminToken });
    expect(flags.body.flags['report.disabled']).toBe(true);
    await page.waitForSelector('#audit td:has-text("browser test")');
    await page.screenshot({ path: join(tmpdir(), 'rampart-dashboard.png'), fullPage: true });
  });
});
