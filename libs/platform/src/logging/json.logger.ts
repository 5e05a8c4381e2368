import { Logger as PinoNestLogger, PinoLogger } from 'nestjs-pino';
import { pino, stdTimeFunctions, type Logger as Pino, type LoggerOptions } from 'pino';
import type { LogLevelName } from '../config/common.config.js';

/** Our level names (LOG_LEVEL) as pino levels; Nest's `verbose` maps to pino's `trace`. */
const PINO_LEVEL: Record<LogLevelName, string> = { debug: 'debug', log: 'info', warn: 'warn', error: 'error' };

/**
 * Fields that are never written, wherever they appear at the top level or one level down: request
 * headers that carry credentials and any field named like a credential. pino replaces the value
 * with `[redacted]`; the event line itself is kept.
 */
export const REDACTED_PATHS: readonly string[] = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  ...['authorization', 'token', 'ticket', 'secret', 'password', 'jwt', 'adminToken', 'serviceToken', 'jwtSecret'].flatMap((k) => [k, `*.${k}`]),
];

/**
 * Nest's start-up chatter at `log` level (one line per mapped route, per module, per start step):
 * over a hundred lines that say nothing an operator needs. Warnings and errors from the same
 * contexts still pass.
 */
export const BOOT_NOISE_CONTEXTS: ReadonlySet<string> = new Set([
  'RoutesResolver', 'RouterExplorer', 'InstanceLoader', 'NestFactory', 'NestApplication', 'NestMicroservice', 'ServerTCP',
]);

/**
 * pino settings of every app: one JSON object a line with `level` as a word (`info`, `warn`...),
 * `time` in ISO-8601 UTC, `app` and `pid`; credentials redacted ({@link REDACTED_PATHS}).
 */
export function pinoOptions(app: string, level: LogLevelName): LoggerOptions {
  return {
    level: PINO_LEVEL[level],
    base: { app, pid: process.pid },
    timestamp: stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
  };
}

/**
 * Nest's `LoggerService` over pino (nestjs-pino's `Logger`), without the boot noise. Events are
 * logged as objects (`logger.log({ event: 'breaker.open', ... })`) and land as top-level fields of
 * the line: `{"level":"info","time":"...","app":"gateway","pid":1,"context":"X","event":"breaker.open",...}`.
 */
export class AppLogger extends PinoNestLogger {
  constructor(readonly pino: Pino) {
    super(new OwnPinoLogger(pino), {});
  }

  override log(message: unknown, ...optionalParams: unknown[]): void {
    const context = optionalParams.at(-1);
    if (typeof context === 'string' && BOOT_NOISE_CONTEXTS.has(context)) return;
    super.log(message, ...optionalParams);
  }
}

/**
 * nestjs-pino's `PinoLogger` writes through a process-wide root logger (the first one made wins);
 * this one always writes through the pino it was given, so two loggers in one process (specs)
 * cannot swap destinations.
 */
class OwnPinoLogger extends PinoLogger {
  constructor(private readonly own: Pino) {
    super({ pinoHttp: { logger: own } });
  }

  override get logger(): Pino {
    return this.own;
  }
}

/** The JSON-lines logger of an app (stdout). */
export function createLogger(app: string, level: LogLevelName, destination?: NodeJS.WritableStream): AppLogger {
  const options = pinoOptions(app, level);
  return new AppLogger(destination ? pino(options, destination) : pino(options));
}

/** The one line each app prints when it serves; tests and `npm start` wait for its `"event":"app.ready"`. */
export function readyEvent(_app: string, ports: Record<string, number | string>): Record<string, unknown> {
  // The app's name is already on every line (pino's base fields).
  return { event: 'app.ready', ...ports };
}
