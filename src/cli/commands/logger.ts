import { pino } from 'pino';
import type { Logger } from '../../domain/logger.js';

/** JSON logs on stderr: stdout belongs to commands that print results (`screen`, `hash`). */
export function createLogger(level: string, name = 'streamscreen'): Logger {
  return pino({ name, level }, pino.destination(2));
}
