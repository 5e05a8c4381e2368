import { Controller, Get, HttpCode, HttpException, HttpStatus } from '@nestjs/common';
import { ReadinessChecks } from './readiness.checks.js';

/**
 * `GET /health/live`: 200 while the process runs. `GET /health/ready`: 200 when every readiness
 * check passes, else 503 listing the failing ones.
 */
@Controller('health')
export class HealthController {
  constructor(private readonly checks: ReadinessChecks) {}

  @Get('live')
  @HttpCode(200)
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  async ready(): Promise<{ status: 'ok'; checks: Record<string, string> }> {
    const results = await this.checks.run();
    const failing = Object.entries(results).filter(([, r]) => r !== 'ok');
    if (failing.length) {
      throw new HttpException(
        {
          error: {
            code: 'SERVICE_UNAVAILABLE',
            message: `not ready: ${failing.map(([name, r]) => `${name} ${r}`).join('; ')}`,
            checks: results,
          },
        },
        HttpStatus.SERVICE_UNAVAILABLE,
      );
    }
    return { status: 'ok', checks: results };
  }
}
