// Summarises a V8 .cpuprofile: the functions with the most self time, and the share of time spent
// under (inclusive) functions whose name or file matches a pattern.
// Usage: node bench/support/profile-summary.cjs <file.cpuprofile> [top=25] [pattern...]
const { readFileSync } = require('node:fs');

const [file, topArg, ...patterns] = process.argv.slice(2);
if (!file) {
  console.error('usage: profile-summary.cjs <file.cpuprofile> [top] [pattern...]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const counts = new Map();
for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1);
const total = profile.samples.length;
const label = (n) => `${n.callFrame.functionName || '(anonymous)'} ${(n.callFrame.url || '').split('/').slice(-2).join('/')}:${n.callFrame.lineNumber + 1}`;

const self = new Map();
for (const [id, c] of counts) {
  const key = label(byId.get(id));
  self.set(key, (self.get(key) ?? 0) + c);
}
const idle = [...counts].filter(([id]) => byId.get(id).callFrame.functionName === '(idle)').reduce((s, [, c]) => s + c, 0);
console.log(`${file}: ${total} samples, ${((100 * (total - idle)) / total).toFixed(1)}% busy`);
const pct = (c) => `${((100 * c) / (total - idle)).toFixed(1)}%`.padStart(6);
const ranked = [...self].filter(([key]) => !key.startsWith('(idle)')).sort((a, b) => b[1] - a[1]);
for (const [key, c] of ranked.slice(0, Number(topArg ?? 25))) console.log(`${pct(c)}  ${key}`);
for (const pattern of patterns) {
  const re = new RegExp(pattern);
  let under = 0;
  for (const [id, c] of counts) {
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur);
      if (re.test(n.callFrame.functionName) || re.test(n.callFrame.url)) {
        under += c;
        break;
      }
    }
  }
  console.log(`under /${pattern}/: ${pct(under)} of busy time`);
}
