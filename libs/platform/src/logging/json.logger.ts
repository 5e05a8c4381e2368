import { ConsoleLogger, type LogLevel } from '@nestjs/common';
import type { LogLevelName } from '../config/common.config.js';

const enabled: Record<LogLevelName, LogLevel[]> = {
  debug: ['fatal', 'error', 'warn', 'log', 'debug'],
  log: ['fatal', 'error', 'warn', 'log'],
  warn: ['fatal', 'error', 'warn'],
  error: ['fatal', 'error'],
};

/** JSON-lines logger for every app: one object a line, with the app name as context. */
export function createLogger(app: string, level: LogLevelName): ConsoleLogger {
  return new ConsoleLogger(app, { json: true, logLevels: enabled[level], colors: false });
}

/** The one line each app prints when it serves; tests and `npm start` wait for it. */
export function readyEvent(app: string, ports: Record<string, number>): Record<string, unknown> {
  return { event: 'app.ready', app, pid: process.pid, ...ports };
}
