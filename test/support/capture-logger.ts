import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Logger } from '../../src/domain/logger.js';

/** A real pino logger whose JSON lines are kept for assertions (e.g. no secret in any line). */
export function capturingLogger(level = 'debug'): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { logger: pino({ level }, sink), lines };
}
