import { Controller, Get, Inject, UseGuards } from '@nestjs/common';
import { REQUEST_CLASSES, type RequestClass } from '@app/resilience';
import { AdmissionGate } from '../admission/admission.gate.js';
import { AdminAuthGuard } from '../auth/admin-auth.guard.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config.js';
import { ResiliencePolicies } from '../policies/resilience-policies.js';

/** One request class at one service's door. */
export interface AdmissionClassView {
  inflight: number;
  admitted: number;
  refusedLimit: number;
  refusedCohort: number;
  /** User cohorts (of 128) the class admits now. */
  admittedCohorts: number;
}

/** One service's adaptive limit as this gateway sees it. */
export interface AdmissionServiceView {
  limit: number;
  inflight: number;
  baselineMs: number;
  recentMs: number;
  /** Calls refused locally by client-side throttling since start. */
  throttled: number;
  classes: Record<RequestClass, AdmissionClassView>;
}

/** `GET /admin/admission`: this gateway's door. */
export interface AdmissionView {
  mode: 'adaptive' | 'static';
  /** Adaptive mode only: the priority level (of 640) and the gateway's own queueing delay. */
  priority?: { level: number; delayMs: number; utilization: number; cpuShare: number; overloaded: boolean; starved: boolean; refused: number; refusedByClass: Record<RequestClass, number> };
  services?: { query: AdmissionServiceView; delivery: AdmissionServiceView };
}

/**
 * `GET /admin/admission` → this gateway's admission control: the priority level and its event-loop
 * delay, and per service the adaptive limit, in flight, and per class what was admitted and refused
 * (see README "Admission control"). With `ADMISSION_MODE=static` only the mode is given.
 */
@Controller('admin/admission')
@UseGuards(AdminAuthGuard)
export class AdminAdmissionController {
  constructor(
    private readonly gate: AdmissionGate,
    private readonly policies: ResiliencePolicies,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  @Get()
  view(): AdmissionView {
    const mode = this.config.resilience.admission.mode;
    if (mode === 'static') return { mode };
    const snapshot = this.gate.snapshot();
    const throttled = this.policies.retries();
    const service = (name: 'query' | 'delivery'): AdmissionServiceView => {
      const s = snapshot[name];
      return {
        limit: s.limit,
        inflight: s.inflight,
        baselineMs: Math.round(s.baselineMs * 10) / 10,
        recentMs: Math.round(s.recentMs * 10) / 10,
        throttled: throttled[name]?.throttled ?? 0,
        classes: Object.fromEntries(REQUEST_CLASSES.map((cls) => [cls, { ...s.classes[cls] }])) as Record<RequestClass, AdmissionClassView>,
      };
    };
    const p = this.gate.prioritySnapshot();
    const refusedByClass = { ...this.gate.refusedByPriority };
    return {
      mode,
      priority: { level: p.level, delayMs: Math.round(p.delayMs * 10) / 10, utilization: Math.round(p.utilization * 100) / 100, cpuShare: Math.round(p.cpuShare * 100) / 100, overloaded: p.overloaded, starved: p.starved, refused: Object.values(refusedByClass).reduce((total, n) => total + n, 0), refusedByClass },
      services: { query: service('query'), delivery: service('delivery') },
    };
  }
}
