import { Body, Controller, Get, Logger, Param, Put, UseGuards } from '@nestjs/common';
import { z } from 'zod';
import { AppError, ErrorCode, isKnownFlag } from '@app/contracts';
import { AuditLog, FlagCache } from '@app/platform';
import { Actor } from '../auth/actor.decorator.js';
import { AdminAuthGuard } from '../auth/admin-auth.guard.js';
import { parseStrict } from '../http/validation.js';

/** `PUT /admin/flags/{name}` body; also the OpenAPI document's. */
export const flagBody = z.strictObject({
  enabled: z.boolean(),
  reason: z.string().trim().min(1, 'a reason is required').max(500),
});

/**
 * Degradation flags (contract section 3). A change is stored in Redis and announced by pub/sub,
 * so every gateway and service instance applies it within a second; it survives restarts.
 */
@Controller('admin/flags')
@UseGuards(AdminAuthGuard)
export class AdminFlagsController {
  private readonly logger = new Logger(AdminFlagsController.name);

  constructor(
    private readonly flags: FlagCache,
    private readonly audit: AuditLog,
  ) {}

  /** `GET /admin/flags`: every flag that was ever set, with its value. */
  @Get()
  list(): { flags: Record<string, boolean> } {
    return { flags: this.flags.all() };
  }

  /** `PUT /admin/flags/{name}` with `{ enabled, reason }`; unknown names are 404. */
  @Put(':name')
  async set(@Param('name') name: string, @Body() body: unknown, @Actor() actor: string): Promise<{ name: string; enabled: boolean }> {
    if (!isKnownFlag(name)) throw new AppError(ErrorCode.NotFound, `flag ${name.slice(0, 200)} does not exist`);
    const { enabled, reason } = parseStrict(flagBody, body, 'body');
    const was = this.flags.isEnabled(name);
    await this.flags.set(name, enabled);
    this.logger.log({ event: 'flag.changed', flag: name, enabled, was, actor, reason });
    await this.audit.record({ actor, action: enabled ? 'flag.enable' : 'flag.disable', target: name, reason });
    return { name, enabled };
  }
}
