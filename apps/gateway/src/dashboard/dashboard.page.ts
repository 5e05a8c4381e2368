/**
 * The operator dashboard page (`GET /admin/`). Static: it holds no data, and every call it makes
 * carries the admin token the operator types in (kept in sessionStorage for the tab's life).
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Rampart operator dashboard</title>
<style>
  :root { font-family: system-ui, sans-serif; color: #1d2330; background: #f5f6f8; }
  body { margin: 0; }
  header { background: #1d2330; color: #fff; padding: 10px 20px; display: flex; align-items: center; gap: 16px; }
  header h1 { font-size: 18px; margin: 0; flex: 1; }
  main { padding: 16px 20px; display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 16px; }
  section { background: #fff; border-radius: 8px; padding: 12px 16px; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
  section h2 { font-size: 15px; margin: 0 0 8px; }
  table { border-collapse: collapse; width: 100%; font-size: 13px; }
  th, td { text-align: left; padding: 4px 6px; border-bottom: 1px solid #e6e8ec; }
  .state { padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; }
  .healthy, .closed, .off { background: #e3f6e8; color: #16692f; }
  .probing, .halfOpen { background: #fff4d6; color: #7a5600; }
  .ejected, .open, .on { background: #fde4e4; color: #9b1c1c; }
  button { cursor: pointer; border: 1px solid #9aa3b2; background: #fff; border-radius: 4px; padding: 2px 10px; }
  input { padding: 3px 6px; border: 1px solid #9aa3b2; border-radius: 4px; }
  #login { max-width: 420px; margin: 80px auto; background: #fff; padding: 24px; border-radius: 8px; }
  #login input { width: 100%; box-sizing: border-box; margin: 8px 0; }
  .error { color: #9b1c1c; font-size: 13px; min-height: 1em; }
  .muted { color: #6b7385; font-size: 12px; }
  .counts { display: flex; gap: 18px; font-size: 14px; }
  .counts b { display: block; font-size: 20px; }
  .wide { grid-column: 1 / -1; }
  .refused { background: #fde4e4; color: #9b1c1c; }
  .exhausted { background: #fff4d6; color: #7a5600; }
  td button { margin-right: 4px; }
  section { overflow-x: auto; }
  svg { width: 100%; height: 160px; background: #fafbfc; border: 1px solid #e6e8ec; }
</style>
</head>
<body>
<div id="login" hidden>
  <h2>Rampart operator dashboard</h2>
  <p class="muted">Enter the admin token (ADMIN_TOKEN) and your name, which signs every change you make in the audit log (X-Actor). Both stay in this tab only.</p>
  <form id="login-form"><input id="token" type="password" autocomplete="off" placeholder="admin token" aria-label="admin token"><input id="actor" autocomplete="off" placeholder="your name, e.g. sre.alice" aria-label="your name" maxlength="64"><button type="submit">Open</button></form>
  <div class="error" id="login-error"></div>
</div>
<div id="app" hidden>
  <header><h1>Rampart</h1><span class="muted">signed as <b id="whoami"></b></span><span class="muted" id="updated"></span><button id="logout">Log out</button></header>
  <main>
    <section class="wide"><h2>Uncertain orders (work list)</h2>
      <p class="muted">Sent to a provider without order numbers and not answered: check with the provider, then resolve. Each resolve asks for a reason.</p>
      <table id="uncertain"><thead><tr><th>order</th><th>user</th><th>gift</th><th>created</th><th>last error</th><th></th></tr></thead><tbody></tbody></table>
      <div class="error" id="uncertain-error"></div>
    </section>
    <section class="wide"><h2>Activities by failing deliveries (last 60 min)</h2>
      <p class="muted">Counted by the analyzers from every claim and settlement (a few seconds behind). Click an activity for its page.</p>
      <table id="analytics-ranking"><thead><tr><th>activity</th><th>claims</th><th>delivered</th><th>failing</th><th>refused</th><th>success</th><th>burn-rate alerts</th></tr></thead><tbody></tbody></table>
      <div class="error" id="analytics-error"></div>
      <div id="activity-view" hidden>
        <h2 id="activity-title" style="margin-top:12px"></h2>
        <div id="activity-alerts"></div>
        <div class="counts" id="activity-totals"></div>
        <div style="display:flex;gap:16px;flex-wrap:wrap">
          <div style="flex:2;min-width:320px"><div id="activity-chart"></div>
            <table id="activity-gifts"><thead><tr><th>gift</th><th>provider</th><th>claims</th><th>delivered</th><th>failed</th><th>uncertain</th><th>refusals</th><th>success</th><th>p50 ms</th><th>p99 ms</th></tr></thead><tbody></tbody></table></div>
          <div style="flex:1;min-width:240px"><h2>Configuration</h2><pre id="activity-config" style="max-height:320px;overflow:auto;font-size:12px"></pre></div>
        </div>
      </div>
      <div class="error" id="activity-error"></div>
    </section>
    <section><h2>Service success rate and p99 (last 5 min)</h2><div id="chart"></div></section>
    <section><h2>Admission control</h2><p id="admission-priority" class="muted"></p><table id="admission"><thead><tr><th>service</th><th>class</th><th>limit</th><th>in flight</th><th>admitted</th><th>refused (limit)</th><th>refused (cohort)</th><th>cohorts</th></tr></thead><tbody></tbody></table></section>
    <section class="wide"><h2>Gray releases</h2><div id="releases" class="muted">loading</div></section>
    <section><h2>Upstream instances</h2><table id="upstreams"><thead><tr><th>service</th><th>instance</th><th>state</th><th>success</th><th>requests</th><th>p99 ms</th><th>ejections</th></tr></thead><tbody></tbody></table></section>
    <section><h2>Circuit breakers</h2><table id="breakers"><thead><tr><th>name</th><th>state</th><th>failures</th><th>successes</th><th>rejects</th></tr></thead><tbody></tbody></table></section>
    <section><h2>Delivery queue</h2><div class="counts" id="queue"></div><h2 style="margin-top:12px">Dead letters</h2><div class="muted" id="dead-split"></div><table id="dead"><thead><tr><th>order</th><th>why</th><th>attempts</th><th>failed at</th><th>last error</th><th></th></tr></thead><tbody></tbody></table><div class="error" id="dead-error"></div></section>
    <section><h2>Order</h2>
      <form id="order-form"><input id="order-id" placeholder="order id" size="36" aria-label="order id"> <button type="submit">Show</button></form>
      <div class="error" id="order-error"></div>
      <div id="order-view"></div>
    </section>
    <section><h2>Degradation flags</h2>
      <p class="muted">A change needs a reason; it reaches every instance within a second and is audited.</p>
      <label>Reason <input id="reason" size="40" placeholder="why (required)"></label>
      <table id="flags"><thead><tr><th>flag</th><th>state</th><th>since</th><th>by</th><th>why</th><th></th></tr></thead><tbody></tbody></table>
      <form id="add-flag"><input id="new-flag" placeholder="gift.g1.paused" size="28"> <button type="submit">Enable</button></form>
      <div class="error" id="flag-error"></div>
    </section>
    <section class="wide"><h2>Publish an activity</h2>
      <p class="muted">Load the stored configuration, edit it, check it: the dry run shows what would change and stores nothing. Publish is enabled once the edited configuration passed a check.</p>
      <form id="publish-form"><input id="publish-id" placeholder="activity id" size="24" aria-label="activity id"> <button type="button" id="publish-load">Load</button>
        <input id="publish-reason" placeholder="why (audited)" size="30" aria-label="reason"> <button type="submit" id="publish-check">Check (dry run)</button> <button type="button" id="publish-go" disabled>Publish</button></form>
      <textarea id="publish-config" rows="10" style="width:100%;font-family:monospace" aria-label="configuration (JSON)" placeholder='{ "name": "...", "startsAt": "...", "endsAt": "...", "gifts": [ ... ] }'></textarea>
      <div class="error" id="publish-error"></div>
      <pre id="publish-diff" class="muted"></pre>
    </section>
    <section><h2>Audit log</h2><table id="audit"><thead><tr><th>time</th><th>actor</th><th>action</th><th>target</th><th>reason</th></tr></thead><tbody></tbody></table></section>
  </main>
</div>
<script src="/admin/dashboard.js"></script>
</body>
</html>
`;
