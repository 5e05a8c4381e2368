import { Controller, Get, HttpCode, HttpException, HttpStatus, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheckService, HealthIndicatorService, type HealthCheckResult, type HealthIndicatorResult } from '@nestjs/terminus';
import { ReadinessChecks } from './readiness.checks.js';

/**
 * `GET /health/live`: 200 while the process runs. `GET /health/ready`: the app's readiness checks
 * run through `@nestjs/terminus`; 200 when all are up, else 503 in the contract's error shape with
 * every check's result (`ok` or the reason it failed).
 */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly checks: ReadinessChecks,
  ) {}

  @Get('live')
  @HttpCode(200)
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  async ready(): Promise<{ status: 'ok'; checks: Record<string, string> }> {
    let result: HealthCheckResult;
    try {
      result = await this.health.check(this.checks.names().map((name) => () => this.indicator(name)));
    } catch (err) {
      if (!(err instanceof ServiceUnavailableException)) throw err;
      const checks = summary(err.getResponse() as HealthCheckResult);
      const failing = Object.entries(checks).filter(([, r]) => r !== 'ok');
      throw new HttpException(
        { error: { code: 'SERVICE_UNAVAILABLE', message: `not ready: ${failing.map(([name, r]) => `${name} ${r}`).join('; ')}`, checks } },
        HttpStatus.SERVICE_UNAVAILABLE,
      );
    }
    return { status: 'ok', checks: summary(result) };
  }

  private async indicator(name: string): Promise<HealthIndicatorResult> {
    const session = this.indicators.check(name);
    const outcome = await this.checks.runOne(name);
    return outcome === 'ok' ? session.up() : session.down({ message: outcome });
  }
}

/** `{ name: 'ok' | reason }` from terminus' details. */
function summary(result: HealthCheckResult): Record<string, string> {
  return Object.fromEntries(
    Object.entries(result.details ?? {}).map(([name, detail]) => [name, detail.status === 'up' ? 'ok' : String(detail.message ?? 'down')]),
  );
}
