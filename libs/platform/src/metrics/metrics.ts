import { Controller, Get, Header } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type LabelValues } from 'prom-client';

/** Latency buckets (seconds) for HTTP and TCP handling: 0.5 ms to 10 s. */
export const LATENCY_BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * One Prometheus registry per app, with the default process metrics and an `app` label on
 * everything. Rampart's own metrics are named `rampart_*` and carry bounded labels only (routes,
 * patterns, services, instances, outcomes: never user or order ids).
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  private readonly httpDuration: Histogram<'method' | 'route'>;

  constructor(readonly app: string) {
    this.registry.setDefaultLabels({ app });
    collectDefaultMetrics({ register: this.registry });
    this.httpRequests = new Counter({
      name: 'rampart_http_requests_total',
      help: 'HTTP requests answered, by route template and status',
      labelNames: ['method', 'route', 'status'],
      registers: [this.registry],
    });
    this.httpDuration = new Histogram({
      name: 'rampart_http_request_duration_seconds',
      help: 'HTTP request duration, by route template',
      labelNames: ['method', 'route'],
      buckets: LATENCY_BUCKETS_S,
      registers: [this.registry],
    });
  }

  /** Counts every HTTP answer of a Fastify instance by route template (unknown routes as `unmatched`). */
  instrumentHttp(fastify: FastifyInstance): void {
    fastify.addHook('onResponse', (request, reply, done) => {
      const route = request.routeOptions?.url ?? 'unmatched';
      const method = request.method;
      this.httpRequests.inc({ method, route, status: String(reply.statusCode) });
      this.httpDuration.observe({ method, route }, reply.elapsedTime / 1000);
      done();
    });
  }

  counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  histogram<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Histogram<L> {
    return new Histogram({ name, help, labelNames, buckets: LATENCY_BUCKETS_S, registers: [this.registry] });
  }

  /**
   * A counter read at scrape time from a source that counts on its own (a policy's counters since
   * start): `collect` returns the current totals, which only ever grow.
   */
  counterFrom<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    collect: () => Array<[LabelValues<L>, number]>,
  ): Counter<L> {
    return new Counter<L>({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [labels, value] of collect()) this.inc(labels, value);
      },
    });
  }

  /**
   * A gauge read at scrape time: `collect` returns the current values (label set and value), so
   * the hot path pays nothing for it.
   */
  gauge<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    collect: () => Promise<Array<[LabelValues<L>, number]>> | Array<[LabelValues<L>, number]>,
  ): Gauge<L> {
    return new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const [labels, value] of await collect()) this.set(labels, value);
      },
    });
  }
}

/** `GET /metrics` in the Prometheus text format. */
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: Metrics) {}

  @Get()
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
