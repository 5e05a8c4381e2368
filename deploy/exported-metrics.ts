import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

// What the apps export, read from their sources (no app needs to run): every `rampart_*` name
// given to a metric, with `_bucket`, `_count` and `_sum` for histograms; prom-client's default
// process metrics; and what Prometheus adds itself (`up`, `scrape_*`). For the offline checks of
// the alert rules and the Grafana dashboard.
const ROOT = join(__dirname, '..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') && !name.endsWith('.spec.ts') ? [path] : [];
  });
}

export function exportedMetrics(): Set<string> {
  const text = ['apps', 'libs'].flatMap((d) => sources(join(ROOT, d))).map((f) => readFileSync(f, 'utf8')).join('\n');
  const names = new Set<string>();
  for (const [, name] of text.matchAll(/'(rampart_[a-z0-9_]+)'/g)) names.add(name);
  const histograms = [
    ...[...text.matchAll(/histogram\(\s*'(rampart_[a-z0-9_]+)'/g)].map((m) => m[1]),
    ...[...text.matchAll(/new Histogram\(\{\s*name: '(rampart_[a-z0-9_]+)'/g)].map((m) => m[1]),
  ];
  for (const h of histograms) for (const suffix of ['_bucket', '_count', '_sum']) names.add(h + suffix);
  // prom-client collectDefaultMetrics (a few the rules might use) and Prometheus' own series.
  for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_heap_size_used_bytes', 'up', 'scrape_duration_seconds']) names.add(name);
  return names;
}

const FUNCTIONS_AND_KEYWORDS = new Set([
  'sum', 'min', 'max', 'avg', 'count', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values', 'group',
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset',
  'rate', 'irate', 'increase', 'delta', 'idelta', 'deriv', 'changes', 'resets', 'histogram_quantile', 'clamp_min', 'clamp_max', 'clamp',
  'abs', 'absent', 'absent_over_time', 'ceil', 'floor', 'round', 'sqrt', 'exp', 'ln', 'log2', 'log10', 'scalar', 'vector', 'time', 'timestamp',
  'label_replace', 'label_join', 'sort', 'sort_desc', 'avg_over_time', 'min_over_time', 'max_over_time', 'sum_over_time', 'count_over_time',
  'last_over_time', 'quantile_over_time', 'predict_linear', 'holt_winters', 'inf', 'nan', 'e', 'pi',
]);

/**
 * A PromQL check short of a real parser: brackets balance and nest properly, strings close,
 * every `{...}` holds only `label op "value"` matchers, every `[...]` a duration (or Grafana's
 * `$__rate_interval`), and the metric names used. Throws on the first problem.
 */
export function checkPromql(expr: string): { metrics: string[] } {
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  const stack: string[] = [];
  let inString = false;
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if ('([{'.includes(c)) stack.push(c);
    else if (')]}'.includes(c) && stack.pop() !== pairs[c]) throw new Error(`unbalanced "${c}" at ${i} in: ${expr}`);
  }
  if (inString || stack.length) throw new Error(`unclosed ${inString ? 'string' : stack.join('')} in: ${expr}`);
  for (const [, body] of expr.matchAll(/\{([^}]*)\}/g)) {
    for (const matcher of body.split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/).map((m) => m.trim()).filter(Boolean)) {
      if (!/^[a-zA-Z_][a-zA-Z0-9_]*\s*(=|!=|=~|!~)\s*"(?:[^"\\]|\\.)*"$/.test(matcher)) throw new Error(`bad label matcher "${matcher}" in: ${expr}`);
    }
  }
  for (const [, range] of expr.matchAll(/\[([^\]]*)\]/g)) {
    if (!/^(\d+(ms|s|m|h|d|w|y))+(:(\d+(ms|s|m|h|d|w|y))*)?$|^\$__(rate_)?interval$/.test(range.trim())) throw new Error(`bad range [${range}] in: ${expr}`);
  }
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\w+/g, ' ');
  const metrics = [...bare.matchAll(/(?<![\w.:])([a-zA-Z_:][a-zA-Z0-9_:]*)/g)]
    .map((m) => m[1])
    .filter((id) => !FUNCTIONS_AND_KEYWORDS.has(id.toLowerCase()) && !/^\d/.test(id));
  return { metrics: [...new Set(metrics)] };
}
