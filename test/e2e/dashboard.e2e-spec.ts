import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { findChromium } from '../support/chromium.js';
import { http } from '../support/http.js';
import { setFaults } from '../support/orders.js';
import type { RunningApp } from '../support/spawn-app.js';
import { demoActivity, startProviderWithoutOrderNumbers, startSuite, type Suite } from '../support/suite.js';
import { waitFor } from '../support/wait-for.js';

jest.setTimeout(90_000);

// The operator dashboard in a real headless Chromium against the real suite.
describe('operator dashboard (headless Chromium)', () => {
  let suite: Suite;
  let browser: Browser;
  let page: Page;
  let gw: string;
  let plain: RunningApp;
  let plainUrl: string;

  beforeAll(async () => {
    // CHROMIUM_PATH, else /usr/bin/chromium, else the registry's @sparticuz/chromium: no apt needed.
    const binary = await findChromium();
    process.stdout.write(`dashboard e2e: Chromium from ${binary.source} (${binary.executablePath})\n`);
    suite = await startSuite({ queries: 2, deliveryEnv: { PROVIDER_TIMEOUT_MS: '500' } });
    gw = suite.gatewayUrls[0];
    ({ app: plain, url: plainUrl } = await startProviderWithoutOrderNumbers());
    browser = await chromium.launch({ executablePath: binary.executablePath, args: binary.args, headless: true });
    page = await browser.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await plain?.stop();
    await suite?.stop();
  });

  it('asks for the token and the operator\'s name, then shows the upstream instances', async () => {
    await page.goto(`${gw}/admin/`);
    await page.fill('#token', suite.adminToken);
    await page.click('#login-form button');
    await page.waitForSelector('#login-error:has-text("name")');
    await page.fill('#actor', 'dash.op');
    await page.fill('#token', 'wrong-token-wrong-token-x');
    await page.click('#login-form button');
    await page.waitForSelector('#login-error:has-text("refused")');
    await page.fill('#actor', 'dash.op');
    await page.fill('#token', suite.adminToken);
    await page.click('#login-form button');
    await page.waitForSelector('#upstreams tbody tr[data-address] .state.healthy');
    expect(await page.locator('#upstreams tbody tr[data-address]').count()).toBe(3); // 2 query + 1 delivery
    expect(await page.locator('#queue-failed').textContent()).toBe('0');
    expect(await page.locator('#whoami').textContent()).toBe('dash.op');
    // Admission control: the priority level is shown, and a claim's admission appears in the table.
    await page.waitForSelector('#admission-priority:has-text("priority level 640 of 640")');
  });

  it('resolves an uncertain order from the work list with a reason, signed by the operator, and shows its history', async () => {
    const put = await http('PUT', `${gw}/admin/activities/a-dash`, {
      token: suite.adminToken,
      body: demoActivity(plainUrl, [{ giftId: 'dash-g1', provider: { url: plainUrl, orderNumbers: false } }]),
    });
    expect(put.status).toBe(201);
    await setFaults(plainUrl, { mode: 'hang' });
    const token = await suite.token('dash-buyer');
    const claim = await http('POST', `${gw}/api/gifts/dash-g1/claims`, { token, headers: { 'idempotency-key': 'dash-unc-1' }, body: {} });
    expect(claim.body).toEqual({ orderId: 'dash-unc-1', status: 'uncertain' });
    await setFaults(plainUrl, {});

    const row = page.locator('#uncertain tr[data-uncertain="dash-unc-1"]');
    await row.waitFor();
    expect(await row.textContent()).toContain('dash-buyer');
    // The order view, from the work list's link: fields and history.
    await row.locator('a[data-view]').click();
    await page.waitForSelector('#order-fields td[data-field="status"]:has-text("uncertain")');
    expect(await page.locator('#order-history tbody tr').count()).toBe(2);
    // Resolve: the page asks for a reason (a prompt), then the order leaves the work list.
    page.once('dialog', (dialog) => void dialog.accept('provider confirmed by phone'));
    await row.locator('button[data-delivered="true"]').click();
    await row.waitFor({ state: 'detached' });
    await page.waitForSelector('#order-fields td[data-field="status"]:has-text("delivered")');
    const order = await http('GET', `${gw}/admin/orders/dash-unc-1`, { token: suite.adminToken });
    expect(order.body).toMatchObject({ status: 'delivered', resolvedBy: 'admin:dash.op' });
    const audit = await http('GET', `${gw}/admin/audit?limit=20`, { token: suite.adminToken });
    expect(audit.body.entries).toEqual(expect.arrayContaining([
      expect.objectContaining({ action: 'order.resolve.delivered', target: 'dash-unc-1', actor: 'admin:dash.op', reason: 'provider confirmed by phone' }),
    ]));
  });

  it('publishes only after a dry run that shows the diff and stores nothing', async () => {
    await page.fill('#publish-id', 'a-dash');
    await page.click('#publish-load');
    await page.waitForFunction(() => (document.querySelector('#publish-config') as HTMLTextAreaElement).value.includes('dash-g1'));
    const config = JSON.parse(await page.inputValue('#publish-config'));
    config.gifts[0].inventory = 1500;
    await page.fill('#publish-config', JSON.stringify(config, null, 2));
    expect(await page.isDisabled('#publish-go')).toBe(true); // not checked yet
    await page.fill('#publish-reason', 'more skins for the weekend');
    await page.click('#publish-check');
    await page.waitForSelector('#publish-diff:has-text("dash-g1.inventory: 1000 → 1500")');
    const stored = async () => (await http('GET', `${gw}/admin/activities/a-dash`, { token: suite.adminToken })).body.gifts[0].inventory;
    expect(await stored()).toBe(1000); // the dry run stored nothing
    await page.click('#publish-go');
    await page.waitForSelector('#publish-diff:has-text("published")');
    expect(await stored()).toBe(1500);
    const audit = await http('GET', `${gw}/admin/audit?limit=20`, { token: suite.adminToken });
    expect(audit.body.entries).toEqual(expect.arrayContaining([expect.objectContaining({ target: 'a-dash', actor: 'admin:dash.op', reason: 'more skins for the weekend' })]));
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
    // The flag's history: enabled since when, by whom (the name given at login), why.
    const flagRow = page.locator('tr[data-flag-row="report.disabled"]');
    await page.waitForSelector('tr[data-flag-row="report.disabled"] td:has-text("admin:dash.op")');
    expect(await flagRow.textContent()).toContain('browser test');
    await page.screenshot({ path: join(tmpdir(), 'rampart-dashboard.png'), fullPage: true });
  });

  // Regression (a CI run): a wrong token, then the right one before the wrong one's 401s came back;
  // those late 401s logged the new session out and the dashboard stayed on its login form.
  it('stays logged in when 401s for a token already replaced arrive late', async () => {
    await page.click('#logout');
    const wrong = 'wrong-token-wrong-token-y';
    await page.route('**/admin/**', async (route) => {
      if (route.request().headers().authorization === `Bearer ${wrong}`) await new Promise((r) => setTimeout(r, 1_500));
      await route.continue();
    });
    try {
      await page.fill('#actor', 'dash.op');
      await page.fill('#token', wrong);
      await page.click('#login-form button'); // its refresh's requests are held 1.5 s
      await page.waitForSelector('#app', { state: 'visible' });
      await page.click('#logout');
      await page.fill('#actor', 'dash.op');
      await page.fill('#token', suite.adminToken);
      await page.click('#login-form button');
      await page.waitForTimeout(2_500); // the held 401s arrive meanwhile
      expect(await page.isVisible('#app')).toBe(true);
      expect(await page.isVisible('#login')).toBe(false);
      await page.waitForSelector('#upstreams tbody tr[data-address] .state');
    } finally {
      await page.unroute('**/admin/**');
    }
  });
});
