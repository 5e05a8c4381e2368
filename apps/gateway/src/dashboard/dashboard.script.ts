/**
 * The dashboard's script (`GET /admin/dashboard.js`): polls the admin API every 2 s and renders it.
 * Every call carries the operator's name (`X-Actor`, asked once per tab with the token and kept in
 * sessionStorage), so each change in the audit log names who made it.
 */
export const DASHBOARD_JS = `'use strict';
(() => {
  const KNOWN_FLAGS = ['delivery.forceAsync', 'query.serveStale', 'report.disabled', 'service.query.shed', 'service.delivery.shed'];
  const HISTORY_MS = 5 * 60 * 1000;
  const history = {};
  let timer;
  const $ = (s) => document.querySelector(s);
  const esc = (v) => String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
  const ACTOR_PATTERN = /^[A-Za-z0-9_.@-]{1,64}$/;
  const token = () => sessionStorage.getItem('rampartAdminToken');
  const actor = () => sessionStorage.getItem('rampartActor');
  let shownOrder = '';
  let shownActivity = '';
  const pct = (r) => (r === null || r === undefined ? '–' : (r * 100).toFixed(1) + '%');
  const refusalsOf = (c) => Object.values(c.refusals || {}).reduce((n, v) => n + v, 0);

  async function api(path, init = {}) {
    const sent = token();
    const res = await fetch(path, { ...init, headers: { authorization: 'Bearer ' + sent, ...(actor() ? { 'x-actor': actor() } : {}), ...(init.body ? { 'content-type': 'application/json' } : {}), ...(init.headers || {}) } });
    const body = await res.json().catch(() => ({}));
    // A late 401 for a token already replaced (a wrong one, then the right one) must not log the new session out.
    if (res.status === 401) { if (sent === token()) logout('The token was refused.'); throw new Error('unauthorized'); }
    if (!res.ok) throw new Error((body.error && body.error.message) || 'HTTP ' + res.status);
    return body;
  }

  function rows(selector, items, render) {
    $(selector + ' tbody').innerHTML = items.length ? items.map(render).join('') : '<tr><td colspan="9" class="muted">none</td></tr>';
  }

  function renderUpstreams(data) {
    const items = [];
    for (const [service, list] of Object.entries(data)) for (const u of list) items.push({ service, ...u });
    rows('#upstreams', items, (u) => '<tr data-address="' + esc(u.address) + '"><td>' + esc(u.service) + '</td><td>' + esc(u.address) + '</td><td><span class="state ' + esc(u.state) + '">' + esc(u.state) + '</span></td><td>' + (u.successRate * 100).toFixed(1) + '%</td><td>' + esc(u.requests) + '</td><td>' + esc(u.p99Ms) + '</td><td>' + esc(u.ejections) + '</td></tr>');
    const now = Date.now();
    for (const [service, list] of Object.entries(data)) {
      const requests = list.reduce((n, u) => n + u.requests, 0);
      const ok = list.reduce((n, u) => n + u.successRate * u.requests, 0);
      const p99 = list.reduce((m, u) => Math.max(m, u.p99Ms), 0);
      const points = (history[service] = (history[service] || []).filter((p) => now - p.t < HISTORY_MS));
      points.push({ t: now, rate: requests ? ok / requests : 1, p99 });
    }
    renderChart(now);
  }

  function renderChart(now) {
    const colours = ['#2563eb', '#16a34a', '#db2777', '#ea580c'];
    let svg = '<svg viewBox="0 0 600 160" preserveAspectRatio="none">';
    let legend = '';
    Object.entries(history).forEach(([service, points], i) => {
      const colour = colours[i % colours.length];
      const x = (t) => 600 - ((now - t) / HISTORY_MS) * 600;
      const maxP99 = Math.max(50, ...points.map((p) => p.p99));
      svg += '<polyline fill="none" stroke="' + colour + '" stroke-width="2" points="' + points.map((p) => x(p.t).toFixed(1) + ',' + (150 - p.rate * 140).toFixed(1)).join(' ') + '"/>';
      svg += '<polyline fill="none" stroke="' + colour + '" stroke-dasharray="4 3" points="' + points.map((p) => x(p.t).toFixed(1) + ',' + (150 - (p.p99 / maxP99) * 140).toFixed(1)).join(' ') + '"/>';
      const last = points[points.length - 1];
      legend += '<span style="color:' + colour + '">■ ' + esc(service) + ': ' + (last.rate * 100).toFixed(1) + '% ok, p99 ' + last.p99 + ' ms (scale ' + maxP99 + ' ms)</span> ';
    });
    $('#chart').innerHTML = svg + '</svg><div class="muted">solid: success rate (0-100%); dashed: p99 latency. ' + legend + '</div>';
  }

  function renderBreakers(data) {
    const items = Array.isArray(data) ? data : data.breakers || [];
    rows('#breakers', items, (b) => '<tr><td>' + esc(b.name) + '</td><td><span class="state ' + esc(b.state) + '">' + esc(b.state) + '</span></td><td>' + esc(b.failures) + '</td><td>' + esc(b.successes) + '</td><td>' + esc(b.rejects) + '</td></tr>');
  }

  const orderLink = (id) => '<a href="#" data-view="' + esc(id) + '">' + esc(id) + '</a>';

  function renderQueue(counts, failed) {
    $('#queue').innerHTML = ['waiting', 'active', 'delayed', 'failed', 'completed'].map((k) => '<div><b id="queue-' + k + '">' + esc(counts[k]) + '</b>' + k + '</div>').join('');
    const split = { refused: 0, exhausted: 0 };
    for (const d of failed.failed) split[d.reason] = (split[d.reason] || 0) + 1;
    $('#dead-split').innerHTML = 'refused by the provider (4xx, permanent): <b id="dead-refused">' + split.refused + '</b> · out of tries: <b id="dead-exhausted">' + split.exhausted + '</b>';
    rows('#dead', failed.failed, (d) => '<tr data-dead="' + esc(d.orderId) + '"><td>' + orderLink(d.orderId) + '</td><td><span class="state ' + esc(d.reason) + '">' + esc(d.reason) + '</span></td><td>' + esc(d.attempts) + '</td><td>' + esc(d.failedAt) + '</td><td>' + esc(d.error) + '</td><td><button data-retry="' + esc(d.orderId) + '">Retry</button><button data-discard="' + esc(d.orderId) + '">Discard</button></td></tr>');
  }

  function renderUncertain(data) {
    rows('#uncertain', data.orders, (o) => '<tr data-uncertain="' + esc(o.orderId) + '"><td>' + orderLink(o.orderId) + '</td><td>' + esc(o.userId) + '</td><td>' + esc(o.giftId) + '</td><td>' + esc(o.createdAt) + '</td><td>' + esc(o.error) + '</td><td><button data-resolve="' + esc(o.orderId) + '" data-delivered="true">Delivered</button><button data-resolve="' + esc(o.orderId) + '" data-delivered="false">Not delivered</button></td></tr>');
    if (data.nextCursor) $('#uncertain tbody').insertAdjacentHTML('beforeend', '<tr><td colspan="6" class="muted">more uncertain orders: resolve these first</td></tr>');
  }

  /** Per flag, its latest change in the audit log: since when, by whom, why. */
  function flagHistory(audit) {
    const latest = {};
    for (const e of audit.entries) if ((e.action === 'flag.enable' || e.action === 'flag.disable') && !latest[e.target]) latest[e.target] = e;
    return latest;
  }

  function renderFlags(data, history) {
    const names = [...new Set([...KNOWN_FLAGS, ...Object.keys(data.flags)])].sort();
    rows('#flags', names, (name) => {
      const on = data.flags[name] === true;
      const h = history[name];
      const since = h ? '<td>' + esc(h.time) + '</td><td>' + esc(h.actor) + '</td><td>' + esc(h.reason) + '</td>' : '<td colspan="3" class="muted">' + (on ? 'no change in the recent audit log' : 'never changed') + '</td>';
      return '<tr data-flag-row="' + esc(name) + '"><td>' + esc(name) + '</td><td><span class="state ' + (on ? 'on' : 'off') + '" data-flag-state="' + esc(name) + '">' + (on ? 'enabled' : 'disabled') + '</span></td>' + since + '<td><button data-flag="' + esc(name) + '" data-enable="' + (!on) + '">' + (on ? 'Disable' : 'Enable') + '</button></td></tr>';
    });
  }

  async function showOrder(orderId) {
    shownOrder = orderId;
    $('#order-error').textContent = '';
    try {
      const o = await api('/admin/orders/' + encodeURIComponent(orderId));
      const fields = ['orderId', 'status', 'userId', 'giftId', 'activityId', 'attempts', 'version', 'createdAt', 'updatedAt', 'error', 'failure', 'providerRef', 'resolvedBy'];
      $('#order-view').innerHTML = '<table id="order-fields">' + fields.filter((f) => o[f] !== undefined && o[f] !== '').map((f) => '<tr><th>' + f + '</th><td data-field="' + f + '">' + esc(o[f]) + '</td></tr>').join('') + '</table>' +
        '<h2 style="margin-top:12px">History</h2><table id="order-history"><thead><tr><th>at</th><th>status</th><th>by</th><th>reason</th></tr></thead><tbody>' +
        o.history.map((h) => '<tr><td>' + esc(h.at) + '</td><td>' + esc(h.status) + '</td><td>' + esc(h.actor) + '</td><td>' + esc(h.reason) + '</td></tr>').join('') + '</tbody></table>';
    } catch (err) {
      $('#order-view').innerHTML = '';
      $('#order-error').textContent = err.message;
    }
  }

  function renderAdmission(data) {
    if (data.mode !== 'adaptive') {
      $('#admission-priority').textContent = 'ADMISSION_MODE=static: the class bulkheads shed (see breakers).';
      rows('#admission', [], () => '');
      return;
    }
    const p = data.priority;
    const starved = p.starved ? ' (starved of CPU: claims not shed by priority)' : '';
    const byClass = Object.entries(p.refusedByClass).filter(([, n]) => n > 0).map(([cls, n]) => cls + ' ' + n).join(', ');
    $('#admission-priority').textContent = 'priority level ' + p.level + ' of 640' + (p.level < 640 ? ' (shedding by priority)' : '') +
      ', event-loop delay ' + p.delayMs + ' ms, busy ' + Math.round(p.utilization * 100) + '%, on a core ' + Math.round(p.cpuShare * 100) + '%' + starved +
      ', refused by priority ' + p.refused + (byClass ? ' (' + byClass + ')' : '');
    const items = [];
    for (const service of ['delivery', 'query']) {
      const s = data.services[service];
      for (const cls of Object.keys(s.classes)) {
        const c = s.classes[cls];
        if (!c.admitted && !c.refusedLimit && !c.refusedCohort) continue;
        items.push({ service, cls, limit: s.limit, inflight: c.inflight + ' / ' + s.inflight, c });
      }
    }
    rows('#admission', items, (i) => '<tr><td>' + esc(i.service) + '</td><td>' + esc(i.cls) + '</td><td>' + esc(i.limit) + '</td><td>' + esc(i.inflight) + '</td><td>' + esc(i.c.admitted) + '</td><td>' + esc(i.c.refusedLimit) + '</td><td>' + esc(i.c.refusedCohort) + '</td><td>' + esc(i.c.admittedCohorts) + '</td></tr>');
  }

  function renderAudit(data) {
    rows('#audit', data.entries, (e) => '<tr><td>' + esc(e.time) + '</td><td>' + esc(e.actor) + '</td><td>' + esc(e.action) + '</td><td>' + esc(e.target) + '</td><td>' + esc(e.reason) + '</td></tr>');
  }

  /** Per service: state, weight and releases; the judge's per-activity comparison; why it rolled back. */
  function renderReleases(data) {
    const share = (x) => (x * 100).toFixed(2) + '%';
    const side = (s) => share(s.successRate) + ' · p99 ' + esc(s.p99Ms) + ' ms · ' + esc(s.requests);
    $('#releases').innerHTML = data.services.map((r) => {
      const head = '<p data-release-service="' + esc(r.service) + '"><b>' + esc(r.service) + '</b> <span class="state ' + esc(r.state) + '" data-release-state="' + esc(r.service) + '">' + esc(r.state) + '</span> stable <b>' + esc(r.stable) + '</b>' +
        (r.canary ? ', canary <b>' + esc(r.canary) + '</b> at <b data-release-weight="' + esc(r.service) + '">' + esc(r.weightPct) + '%</b> of users' : '') +
        (r.reason ? ' <span class="muted">(' + esc(r.actor) + ': ' + esc(r.reason) + ')</span>' : '') +
        (r.stepAt ? ' <span class="muted">next step: ' + r.steps.map((st) => esc(st.weightPct) + '% after ' + esc(st.afterS) + ' s').join(', then ') + ' (first due ' + esc(r.stepAt) + ', if judged clean)</span>' : '') + '</p>';
      const releases = '<table><thead><tr><th>release</th><th>instances</th><th>success</th><th>p99 ms</th><th>calls (60 s, this gateway)</th></tr></thead><tbody>' +
        r.releases.map((x) => '<tr><td>' + esc(x.release) + '</td><td>' + esc(x.instances) + '</td><td>' + share(x.successRate) + '</td><td>' + esc(x.p99Ms) + '</td><td>' + esc(x.requests) + '</td></tr>').join('') + '</tbody></table>';
      const comparisons = r.comparisons.length
        ? '<table><thead><tr><th>compared on</th><th>canary</th><th>stable</th><th>verdict</th><th>p</th></tr></thead><tbody>' +
          r.comparisons.map((c) => '<tr><td>' + esc(c.kind) + ' ' + esc(c.id) + '</td><td>' + side(c.canary) + '</td><td>' + side(c.stable) + '</td><td><span class="state ' + esc(c.verdict) + '">' + esc(c.verdict) + '</span></td><td>' + (c.pValue === undefined ? '' : Number(c.pValue).toExponential(1)) + '</td></tr>').join('') + '</tbody></table>'
        : '';
      const rollback = r.rollback
        ? '<p class="error" data-release-rollback="' + esc(r.service) + '">Rolled back ' + esc(r.rollback.at) + ' by the judge on ' + esc(r.rollback.judgedBy) + ': ' + esc(r.rollback.comparison.kind) + ' ' + esc(r.rollback.comparison.id) + ' ' + esc(r.rollback.comparison.verdict) + ' (canary ' + side(r.rollback.comparison.canary) + ' vs stable ' + side(r.rollback.comparison.stable) + ')</p>'
        : '';
      const fallbacks = Object.entries(r.fallbacks).map(([k, n]) => esc(k) + ': ' + esc(n)).join(', ');
      return head + rollback + releases + comparisons + (fallbacks ? '<p class="muted">served by stable for want of a healthy instance: ' + fallbacks + '</p>' : '');
    }).join('');
  }

  function renderRanking(data) {
    rows('#analytics-ranking', data.activities, (a) => '<tr data-activity-row="' + esc(a.activityId) + '"><td><a href="#" data-activity="' + esc(a.activityId) + '">' + esc(a.activityId) + '</a></td><td>' + esc(a.claims) + '</td><td>' + esc(a.delivered) + '</td><td>' + esc(a.failing) + '</td><td>' + esc(a.refusals) + '</td><td>' + pct(a.successRate) + '</td><td>' +
      (a.alerts.length ? a.alerts.map((r) => '<span class="state open" data-alert="' + esc(r) + '">' + esc(r) + '</span>').join(' ') : '<span class="muted">none</span>') + '</td></tr>');
  }

  /** Success rate (solid), claims (dashed) and refusals (dotted) per minute, summed over the activity's gifts. */
  function activityChart(gifts) {
    const minutes = {};
    for (const g of gifts) for (const m of g.series) {
      const t = (minutes[m.minute] = minutes[m.minute] || { claims: 0, delivered: 0, bad: 0, refused: 0 });
      t.claims += m.claims; t.delivered += m.delivered; t.bad += m.failed + m.uncertain; t.refused += refusalsOf(m);
    }
    const keys = Object.keys(minutes).sort();
    if (!keys.length) return '<div class="muted">no claims counted in this period</div>';
    const maxClaims = Math.max(1, ...keys.map((k) => minutes[k].claims));
    const x = (i) => (keys.length === 1 ? 300 : (i / (keys.length - 1)) * 600).toFixed(1);
    const line = (f, style) => '<polyline fill="none" ' + style + ' points="' + keys.map((k, i) => x(i) + ',' + (150 - f(minutes[k]) * 140).toFixed(1)).join(' ') + '"/>';
    return '<svg viewBox="0 0 600 160" preserveAspectRatio="none">' +
      line((m) => (m.delivered + m.bad ? m.delivered / (m.delivered + m.bad) : 1), 'stroke="#16a34a" stroke-width="2"') +
      line((m) => m.claims / maxClaims, 'stroke="#2563eb" stroke-dasharray="4 3"') +
      line((m) => m.refused / maxClaims, 'stroke="#ea580c" stroke-dasharray="1 3" stroke-width="2"') +
      '</svg><div class="muted">' + keys.length + ' minutes from ' + esc(keys[0]) + ': <span style="color:#16a34a">solid success rate (0-100%)</span>, <span style="color:#2563eb">dashed claims/min (max ' + maxClaims + ')</span>, <span style="color:#ea580c">dotted refusals/min</span></div>';
  }

  async function showActivity(activityId) {
    shownActivity = activityId;
    $('#activity-error').textContent = '';
    try {
      const [a, config] = await Promise.all([api('/admin/analytics/activities/' + encodeURIComponent(activityId) + '?minutes=60'), api('/admin/activities/' + encodeURIComponent(activityId)).catch(() => null)]);
      if (shownActivity !== activityId) return;
      const t = a.totals;
      $('#activity-title').textContent = 'Activity ' + activityId + ' (last 60 min)';
      $('#activity-alerts').innerHTML = a.alerts.length
        ? a.alerts.map((al) => '<div class="error" data-activity-alert="' + esc(al.rule) + '">burning (' + esc(al.rule) + ') since ' + esc(al.since) + ': ' + esc(al.shortBurn) + 'x the error budget of a ' + pct(al.objective) + ' objective</div>').join('')
        : '<div class="muted">no burn-rate alert</div>';
      $('#activity-totals').innerHTML = ['claims', 'delivered', 'failed', 'uncertain'].map((k) => '<div><b data-total="' + k + '">' + esc(t[k]) + '</b>' + k + '</div>').join('') +
        '<div><b data-total="refused">' + refusalsOf(t) + '</b>refused</div><div><b data-total="success">' + pct(t.successRate) + '</b>success</div>';
      $('#activity-chart').innerHTML = activityChart(a.gifts);
      rows('#activity-gifts', a.gifts, (g) => '<tr data-gift="' + esc(g.giftId) + '"><td>' + esc(g.giftId) + '</td><td>' + esc(g.provider) + '</td><td data-cell="claims">' + esc(g.totals.claims) + '</td><td data-cell="delivered">' + esc(g.totals.delivered) + '</td><td data-cell="failed">' + esc(g.totals.failed) + '</td><td data-cell="uncertain">' + esc(g.totals.uncertain) + '</td><td data-cell="refusals">' +
        esc(Object.entries(g.totals.refusals).map(([code, n]) => code + ' ' + n).join(', ')) + '</td><td>' + pct(g.totals.successRate) + '</td><td>' + esc(g.totals.p50Ms ?? '–') + '</td><td>' + esc(g.totals.p99Ms ?? '–') + '</td></tr>');
      $('#activity-config').textContent = config ? JSON.stringify(config, null, 2) : 'configuration not found (retired or never published)';
      $('#activity-view').hidden = false;
    } catch (err) {
      $('#activity-error').textContent = err.message;
    }
  }

  async function refresh() {
    const [upstreams, breakers, queue, failed, flags, audit, uncertain, admission, ranking, releases] = await Promise.allSettled([
      api('/admin/upstreams'), api('/admin/breakers'), api('/admin/queues'), api('/admin/queues/failed'), api('/admin/flags'), api('/admin/audit?limit=500'),
      api('/admin/orders?status=uncertain&limit=50'), api('/admin/admission'), api('/admin/analytics/activities?minutes=60&limit=20'), api('/admin/releases'),
    ]);
    if (releases.status === 'fulfilled') renderReleases(releases.value);
    if (ranking.status === 'fulfilled') renderRanking(ranking.value);
    $('#analytics-error').textContent = ranking.status === 'rejected' ? ranking.reason.message : '';
    if (shownActivity) await showActivity(shownActivity);
    if (admission.status === 'fulfilled') renderAdmission(admission.value);
    if (upstreams.status === 'fulfilled') renderUpstreams(upstreams.value);
    if (breakers.status === 'fulfilled') renderBreakers(breakers.value);
    if (queue.status === 'fulfilled' && failed.status === 'fulfilled') renderQueue(queue.value, failed.value);
    if (flags.status === 'fulfilled') renderFlags(flags.value, audit.status === 'fulfilled' ? flagHistory(audit.value) : {});
    if (audit.status === 'fulfilled') renderAudit({ entries: audit.value.entries.slice(0, 50) });
    if (uncertain.status === 'fulfilled') renderUncertain(uncertain.value);
    $('#updated').textContent = 'updated ' + new Date().toLocaleTimeString();
  }

  async function setFlag(name, enabled) {
    const reason = $('#reason').value.trim();
    $('#flag-error').textContent = '';
    if (!reason) { $('#flag-error').textContent = 'Give a reason first.'; return; }
    try {
      await api('/admin/flags/' + encodeURIComponent(name), { method: 'PUT', body: JSON.stringify({ enabled, reason }) });
      await refresh();
    } catch (err) { $('#flag-error').textContent = err.message; }
  }

  document.addEventListener('click', async (event) => {
    const flag = event.target.closest('[data-flag]');
    if (flag) return setFlag(flag.dataset.flag, flag.dataset.enable === 'true');
    const activity = event.target.closest('[data-activity]');
    if (activity) {
      event.preventDefault();
      return showActivity(activity.dataset.activity);
    }
    const view = event.target.closest('[data-view]');
    if (view) {
      event.preventDefault();
      $('#order-id').value = view.dataset.view;
      return showOrder(view.dataset.view);
    }
    const resolve = event.target.closest('[data-resolve]');
    if (resolve) {
      const delivered = resolve.dataset.delivered === 'true';
      const reason = (prompt('Why is order ' + resolve.dataset.resolve + (delivered ? ' delivered' : ' not delivered') + '? (required, audited)') || '').trim();
      $('#uncertain-error').textContent = '';
      if (!reason) { $('#uncertain-error').textContent = 'A resolve needs a reason.'; return; }
      resolve.disabled = true;
      try {
        await api('/admin/orders/' + encodeURIComponent(resolve.dataset.resolve) + '/resolve', { method: 'POST', body: JSON.stringify({ delivered, reason }) });
      } catch (err) { $('#uncertain-error').textContent = err.message; }
      if (shownOrder === resolve.dataset.resolve) await showOrder(shownOrder);
      return refresh();
    }
    const retry = event.target.closest('[data-retry]');
    const discard = event.target.closest('[data-discard]');
    if (retry || discard) {
      const orderId = (retry || discard).dataset.retry || (retry || discard).dataset.discard;
      const answer = prompt((retry ? 'Re-queue' : 'Discard') + ' dead letter ' + orderId + ': why?' + (retry ? ' (optional)' : ' (required, audited; the order stays failed)'));
      if (answer === null) return;
      const reason = answer.trim();
      $('#dead-error').textContent = '';
      if (discard && !reason) { $('#dead-error').textContent = 'A discard needs a reason.'; return; }
      (retry || discard).disabled = true;
      const path = '/admin/queues/failed/' + encodeURIComponent(orderId) + (retry ? '/retry' : '/discard');
      try { await api(path, { method: 'POST', body: JSON.stringify(reason ? { reason } : {}) }); } catch (err) { $('#dead-error').textContent = err.message; }
      return refresh();
    }
  });
  // Publishing: a dry run first (PUT ?dryRun=true shows the diff, stores nothing), then Publish the
  // very text that was checked; editing the text after the check disables Publish again.
  let checkedText = '';
  const publishPath = () => '/admin/activities/' + encodeURIComponent($('#publish-id').value.trim());
  function publishBody() {
    const config = JSON.parse($('#publish-config').value);
    const reason = $('#publish-reason').value.trim();
    return JSON.stringify(reason ? { ...config, reason } : config);
  }
  function describeChanges(changes) {
    const ids = (gifts) => gifts.map((g) => g.giftId).join(', ');
    if (changes.created) return 'new activity: every gift is added (' + ids(changes.gifts.added) + ')';
    const lines = [];
    for (const [field, c] of Object.entries(changes.activity || {})) lines.push(field + ': ' + JSON.stringify(c.before) + ' → ' + JSON.stringify(c.after));
    if (changes.gifts.added.length) lines.push('gifts added: ' + ids(changes.gifts.added));
    if (changes.gifts.removed.length) lines.push('gifts removed: ' + ids(changes.gifts.removed));
    for (const g of changes.gifts.changed) for (const [field, c] of Object.entries(g.fields)) lines.push(g.giftId + '.' + field + ': ' + JSON.stringify(c.before) + ' → ' + JSON.stringify(c.after));
    return lines.length ? lines.join('\\n') : 'no change';
  }
  $('#publish-load').addEventListener('click', async () => {
    $('#publish-error').textContent = '';
    try {
      const stored = await api(publishPath());
      const config = { name: stored.name, startsAt: stored.startsAt, endsAt: stored.endsAt, gifts: stored.gifts.map(({ consumed, ...gift }) => gift) };
      $('#publish-config').value = JSON.stringify(config, null, 2);
    } catch (err) {
      $('#publish-error').textContent = err.message;
    }
  });
  $('#publish-config').addEventListener('input', () => { $('#publish-go').disabled = $('#publish-config').value !== checkedText; });
  $('#publish-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    $('#publish-error').textContent = '';
    $('#publish-diff').textContent = '';
    $('#publish-go').disabled = true;
    try {
      const plan = await api(publishPath() + '?dryRun=true', { method: 'PUT', body: publishBody() });
      $('#publish-diff').textContent = describeChanges(plan.changes);
      checkedText = $('#publish-config').value;
      $('#publish-go').disabled = false;
    } catch (err) {
      $('#publish-error').textContent = err instanceof SyntaxError ? 'The configuration is not valid JSON: ' + err.message : err.message;
    }
  });
  $('#publish-go').addEventListener('click', async () => {
    $('#publish-error').textContent = '';
    if ($('#publish-config').value !== checkedText) { $('#publish-error').textContent = 'Check the edited configuration first.'; return; }
    try {
      await api(publishPath(), { method: 'PUT', body: publishBody() });
      $('#publish-diff').textContent = 'published';
      $('#publish-go').disabled = true;
      checkedText = '';
    } catch (err) {
      $('#publish-error').textContent = err.message;
    }
  });

  $('#order-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const orderId = $('#order-id').value.trim();
    if (orderId) showOrder(orderId);
  });
  $('#add-flag').addEventListener('submit', (event) => { event.preventDefault(); setFlag($('#new-flag').value.trim(), true); });
  $('#login-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const name = $('#actor').value.trim();
    if (!ACTOR_PATTERN.test(name)) {
      $('#login-error').textContent = 'Give your name for the audit log: 1-64 characters of A-Z a-z 0-9 _ . @ -';
      return;
    }
    sessionStorage.setItem('rampartAdminToken', $('#token').value);
    sessionStorage.setItem('rampartActor', name);
    start();
  });
  $('#logout').addEventListener('click', () => logout(''));

  function logout(message) {
    clearInterval(timer);
    sessionStorage.removeItem('rampartAdminToken');
    sessionStorage.removeItem('rampartActor');
    $('#app').hidden = true;
    $('#login').hidden = false;
    $('#login-error').textContent = message;
  }

  function start() {
    if (!token() || !actor()) return logout('');
    $('#whoami').textContent = actor();
    $('#login').hidden = true;
    $('#app').hidden = false;
    refresh().catch(() => undefined);
    clearInterval(timer);
    timer = setInterval(() => refresh().catch(() => undefined), 2000);
  }
  start();
})();
`;
