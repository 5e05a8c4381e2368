import { createHmac } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Logger } from '@nestjs/common';
import { ErrorCode } from '@app/contracts';
import { skipRequestLog } from '@app/platform';
import {
  AdmissionController,
  PriorityLevel,
  REQUEST_CLASSES,
  type AdmissionSnapshot,
  type Permit,
  type PermitOutcome,
  type PriorityLevelSnapshot,
  type RequestClass,
} from '@app/resilience';
import type { AdmissionConfig } from '../config/gateway.config.js';
import { wasOverloadAnswer } from '../errors/overload-answer.js';
import type { PolicedService } from '../policies/resilience-policies.js';
import { admittedRoute } from './request-classes.js';
import { TokenCohorts } from './token-cohorts.js';

/** `Retry-After` of a refusal for the limit (s): a slot may free at any moment. */
const LIMIT_RETRY_AFTER_S = 1;
/** `Retry-After` of a refusal for the user's cohort (s): the overload that shed it lasts longer. */
const COHORT_RETRY_AFTER_S = 2;
/** How often the refusals since the last summary are logged, in ms. */
const SUMMARY_EVERY_MS = 5_000;
/** How often the event loop's lag is sampled, in ms. */
const LAG_SAMPLE_MS = 10;
/** How often the services' refusals per class are turned into back-pressure on the priority level (in lag samples). */
const PRESSURE_EVERY_SAMPLES = 10;
/** Refused share of a class's arrivals at its service (over one pressure interval) that presses the classes below it. */
const PRESSURE_REFUSED_SHARE = 0.1;
/** Arrivals of a class in one interval below which its refusals say nothing. */
const PRESSURE_MIN_ARRIVALS = 20;

const PERMIT = Symbol('rampart.admission');
type AdmittedRequest = FastifyRequest & { [PERMIT]?: Permit };

/**
 * The gateway's door, two checks deep. First the gateway's own {@link PriorityLevel} (DAGOR): when
 * this process's event loop lags (its CPU, or the machine's, is saturated), requests are shed by
 * priority key — lowest class first, and within a class the same user cohorts — whatever service they
 * go to, so an overview flood gives way to claims; and while this process is busy and a class is
 * being refused by its service's limit, the classes below it are shed too (DAGOR's back-pressure:
 * on a shared machine the lower flood is what slows the service). Then one {@link AdmissionController} per upstream
 * service (an adaptive concurrency limit moved by that service's latency, with class shares and user
 * cohorts): a slow or hung service fills its own limit and no other. A request is admitted or refused
 * in Fastify's `preParsing` hook, after routing and CORS but before its body is read, its token verified, the
 * rate-limit script run or any upstream called; a refusal is a 503 SERVICE_UNAVAILABLE with
 * `Retry-After`, not logged line by line (metrics count it; a summary is logged every 5 s). An
 * admitted request holds its slot until its answer is sent, and its latency moves the limit; an
 * answer of 503/504 (a timeout, an overloaded service) counts as a drop and backs it off.
 */
export class AdmissionGate {
  private readonly logger = new Logger('Admission');
  readonly controllers: Record<PolicedService, AdmissionController>;
  readonly priority: PriorityLevel;
  private lagTimer: NodeJS.Timeout | undefined;
  /** Requests refused by the priority level since start, by class. */
  readonly refusedByPriority: Record<RequestClass, number> = Object.fromEntries(REQUEST_CLASSES.map((cls) => [cls, 0])) as Record<RequestClass, number>;
  private readonly cohorts: TokenCohorts;
  private refusedSinceSummary = 0;
  private lastSummaryMs = Date.now();

  constructor(config: AdmissionConfig, jwtSecret: string) {
    // A request's latency at the gateway includes every wait of the request in this process (token,
    // rate limit, the reply), which grows with the process's own load and the machine's, not only
    // with the service's queue: the limit gives way only once latency is ADMISSION_TOLERANCE times
    // its baseline (default 10), or on drops; the instances' own doors judge the service's latency.
    const limit = { initialLimit: config.initialLimit, minLimit: config.minLimit, maxLimit: config.maxLimit, maxLatencyMs: config.maxLatencyMs, tolerance: config.tolerance };
    this.controllers = { query: new AdmissionController({ limit }), delivery: new AdmissionController({ limit }) };
    this.priority = new PriorityLevel({ overloadedAboveMs: config.loopDelayMs });
    // Users' cohorts are salted with a key derived from the JWT secret: the same on every gateway,
    // unknown to users (nobody can pick a user id that is never shed).
    this.cohorts = TokenCohorts.salted(createHmac('sha256', jwtSecret).update('rampart admission cohorts').digest('hex'));
  }

  /** Registers the hooks on the gateway's Fastify instance and starts sampling the event loop's lag. */
  register(fastify: FastifyInstance): void {
    this.startLagSampling();
    fastify.addHook('onClose', (_instance, done) => {
      clearInterval(this.lagTimer);
      done();
    });
    fastify.addHook('preParsing', (request, reply, payload, done) => {
      const route = admittedRoute(request.method, request.routeOptions.url);
      if (!route) return done(null, payload);
      const cohort = this.cohortOf(request);
      if (!this.priority.admits(route.cls, cohort)) {
        this.refusedByPriority[route.cls]++;
        this.refuse(request, reply, COHORT_RETRY_AFTER_S);
        return;
      }
      const admission = this.controllers[route.service].tryAcquire(route.cls, cohort);
      if (!admission.admitted) {
        this.refuse(request, reply, admission.reason === 'cohort' ? COHORT_RETRY_AFTER_S : LIMIT_RETRY_AFTER_S);
        return;
      }
      if (route.isStream) admission.permit.release('ignore'); // a stream holds no slot while it streams
      else (request as AdmittedRequest)[PERMIT] = admission.permit;
      done(null, payload);
    });
    fastify.addHook('onResponse', (request, reply, done) => {
      const permit = (request as AdmittedRequest)[PERMIT];
      if (permit) permit.release(permitOutcome(request, reply.statusCode, this.priority.shedding));
      done();
    });
    // A client that went away: the slot is freed, its latency says nothing.
    fastify.addHook('onRequestAbort', (request, done) => {
      (request as AdmittedRequest)[PERMIT]?.release('ignore');
      done();
    });
  }

  /** The priority level (the gateway's own overload). */
  prioritySnapshot(): PriorityLevelSnapshot {
    return this.priority.snapshot();
  }

  snapshot(): Record<PolicedService, AdmissionSnapshot> {
    return { query: this.controllers.query.snapshot(), delivery: this.controllers.delivery.snapshot() };
  }

  /**
   * Samples the event loop every LAG_SAMPLE_MS: how late the timer fires (how long a request waits
   * before it runs) and how busy the loop was since the last sample (its utilisation).
   */
  private startLagSampling(): void {
    let expected = performance.now() + LAG_SAMPLE_MS;
    let lastUtilization = performance.eventLoopUtilization();
    let lastCpu = process.cpuUsage();
    let lastMs = performance.now();
    let samples = 0;
    let last = this.classTotals();
    this.lagTimer = setInterval(() => {
      const now = performance.now();
      const loopNow = performance.eventLoopUtilization();
      const { utilization } = performance.eventLoopUtilization(loopNow, lastUtilization);
      lastUtilization = loopNow;
      const cpuNow = process.cpuUsage();
      const cpuMs = (cpuNow.user - lastCpu.user + cpuNow.system - lastCpu.system) / 1000;
      lastCpu = cpuNow;
      this.priority.recordLoad(now - expected, utilization, cpuShare(utilization, cpuMs, now - lastMs));
      lastMs = now;
      expected = now + LAG_SAMPLE_MS;
      if (++samples % PRESSURE_EVERY_SAMPLES) return;
      const totals = this.classTotals();
      for (const cls of REQUEST_CLASSES) {
        const arrivals = totals[cls].arrivals - last[cls].arrivals;
        const refused = totals[cls].refused - last[cls].refused;
        if (arrivals >= PRESSURE_MIN_ARRIVALS && refused / arrivals > PRESSURE_REFUSED_SHARE) this.priority.recordPressure(cls);
      }
      last = totals;
    }, LAG_SAMPLE_MS);
    this.lagTimer.unref();
  }

  /** Per class, arrivals and refusals at the services' limits (both services) since start. */
  private classTotals(): Record<RequestClass, { arrivals: number; refused: number }> {
    const totals = {} as Record<RequestClass, { arrivals: number; refused: number }>;
    const snapshots = [this.controllers.query.snapshot(), this.controllers.delivery.snapshot()];
    for (const cls of REQUEST_CLASSES) {
      let arrivals = 0;
      let refused = 0;
      for (const s of snapshots) {
        const c = s.classes[cls];
        arrivals += c.admitted + c.refusedLimit + c.refusedCohort;
        refused += c.refusedLimit + c.refusedCohort;
      }
      totals[cls] = { arrivals, refused };
    }
    return totals;
  }

  /** The cohort of the request's user: the token's `sub`, read without verifying (verification comes after admission). */
  private cohortOf(request: FastifyRequest): number {
    return this.cohorts.of(request.headers.authorization, Date.now());
  }

  private refuse(request: FastifyRequest, reply: FastifyReply, retryAfterS: number): void {
    skipRequestLog(request);
    this.refusedSinceSummary++;
    const now = Date.now();
    if (now - this.lastSummaryMs >= SUMMARY_EVERY_MS) {
      this.logger.warn({ event: 'admission.shed', refused: this.refusedSinceSummary, sinceMs: now - this.lastSummaryMs, ...this.limits() });
      this.refusedSinceSummary = 0;
      this.lastSummaryMs = now;
    }
    const body = { error: { code: ErrorCode.ServiceUnavailable, message: 'overloaded: request shed at the door; retry after the time in Retry-After', requestId: String(request.id) } };
    void reply.code(503).header('retry-after', String(retryAfterS)).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(body));
  }

  private limits(): Record<string, number> {
    return { priorityLevel: this.priority.snapshot().level, queryLimit: this.controllers.query.limiter.limit, deliveryLimit: this.controllers.delivery.limiter.limit };
  }
}

/**
 * The share of a sample's time the process ran on a core: its CPU time over the wall time, but no
 * more than the event loop's utilisation (the CPU of other threads, a crypto job in the pool, is not
 * the loop at work). The loop counts as busy while it runs a callback even when the machine's
 * scheduler has it waiting for a core; its CPU time does not grow then (see PriorityLevel.recordLoad).
 */
export function cpuShare(loopUtilization: number, cpuMs: number, wallMs: number): number {
  if (!(wallMs > 0)) return loopUtilization;
  return Math.min(loopUtilization, cpuMs / wallMs);
}

/**
 * What an answered request tells its service's limit: an overload answer (refused by the service's
 * door or this gateway's throttle, timed out, unreachable) is a drop; any other 5xx (a dependency of
 * the service down) says nothing about the service's load, and its quick answer is no sample at all;
 * while this gateway sheds its own load (`gatewayShedding`) an answer is traffic but not latency: its
 * latency then is mostly this gateway's own queue (in a read flood on two shared cores the claims'
 * latency grew several-fold and the delivery limit shrank and refused claims while the reads were
 * being shed), and the service still says when it is overloaded, with its door's answers.
 * Otherwise a latency sample.
 */
export function permitOutcome(request: object, statusCode: number, gatewayShedding = false): PermitOutcome {
  if (wasOverloadAnswer(request)) return 'dropped';
  if (statusCode >= 500) return 'ignore';
  return gatewayShedding ? 'untimed' : 'ok';
}
