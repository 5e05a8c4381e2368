/** The dashboard's script (`GET /admin/dashboard.js`): polls the admin API every 2 s and renders it. */
export const DASHBOARD_JS = `'use strict';
(() => {
  const KNOWN_FLAGS = ['delivery.forceAsync', 'query.serveStale', 'report.disabled', 'service.query.shed', 'service.delivery.shed'];
  const HISTORY_MS = 5 * 60 * 1000;
  const history = {};
  let timer;
  const $ = (s) => document.querySelector(s);
  const esc = (v) => String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
  const token = () => sessionStorage.getItem('rampartAdminToken');

  async function api(path, init = {}) {
    const res = await fetch(path, { ...init, headers: { authorization: 'Bearer ' + token(), 'content-type': 'application/json', ...(init.headers || {}) } });
    const body = await res.json().catch(() => ({}));
    if (res.status === 401) { logout('The token was refused.'); throw new Error('unauthorized'); }
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

  function renderQueue(counts, failed) {
    $('#queue').innerHTML = ['waiting', 'active', 'delayed', 'failed', 'completed'].map((k) => '<div><b id="queue-' + k + '">' + esc(counts[k]) + '</b>' + k + '</div>').join('');
    rows('#dead', failed.failed, (d) => '<tr><td>' + esc(d.orderId) + '</td><td>' + esc(d.attempts) + '</td><td>' + esc(d.failedAt) + '</td><td>' + esc(d.reason) + '</td><td><button data-retry="' + esc(d.orderId) + '">Retry</button></td></tr>');
  }

  function renderFlags(data) {
    const names = [...new Set([...KNOWN_FLAGS, ...Object.keys(data.flags)])].sort();
    rows('#flags', names, (name) => {
      const on = data.flags[name] === true;
      return '<tr><td>' + esc(name) + '</td><td><span class="state ' + (on ? 'on' : 'off') + '" data-flag-state="' + esc(name) + '">' + (on ? 'enabled' : 'disabled') + '</span></td><td><button data-flag="' + esc(name) + '" data-enable="' + (!on) + '">' + (on ? 'Disable' : 'Enable') + '</button></td></tr>';
    });
  }

  function renderAudit(data) {
    rows('#audit', data.entries, (e) => '<tr><td>' + esc(e.time) + '</td><td>' + esc(e.actor) + '</td><td>' + esc(e.action) + '</td><td>' + esc(e.target) + '</td><td>' + esc(e.reason) + '</td></tr>');
  }

  async function refresh() {
    const [upstreams, breakers, queue, failed, flags, audit] = await Promise.allSettled([
      api('/admin/upstreams'), api('/admin/breakers'), api('/admin/queues'), api('/admin/queues/failed'), api('/admin/flags'), api('/admin/audit?limit=50'),
    ]);
    if (upstreams.status === 'fulfilled') renderUpstreams(upstreams.value);
    if (breakers.status === 'fulfilled') renderBreakers(breakers.value);
    if (queue.status === 'fulfilled' && failed.status === 'fulfilled') renderQueue(queue.value, failed.value);
    if (flags.status === 'fulfilled') renderFlags(flags.value);
    if (audit.status === 'fulfilled') renderAudit(audit.value);
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
    const retry = event.target.closest('[data-retry]');
    if (retry) {
      retry.disabled = true;
      try { await api('/admin/queues/failed/' + encodeURIComponent(retry.dataset.retry) + '/retry', { method: 'POST' }); } catch (err) { alert(err.message); }
      await refresh();
    }
  });
  $('#add-flag').addEventListener('submit', (event) => { event.preventDefault(); setFlag($('#new-flag').value.trim(), true); });
  $('#login-form').addEventListener('submit', (event) => {
    event.preventDefault();
    sessionStorage.setItem('rampartAdminToken', $('#token').value);
    start();
  });
  $('#logout').addEventListener('click', () => logout(''));

  function logout(message) {
    clearInterval(timer);
    sessionStorage.removeItem('rampartAdminToken');
    $('#app').hidden = true;
    $('#login').hidden = false;
    $('#login-error').textContent = message;
  }

  function start() {
    if (!token()) return logout('');
    $('#login').hidden = true;
    $('#app').hidden = false;
    refresh().catch(() => undefined);
    clearInterval(timer);
    timer = setInterval(() => refresh().catch(() => undefined), 2000);
  }
  start();
})();
`;
