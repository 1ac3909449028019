import { PassThrough } from 'node:stream';
import type { CommandIO } from '../../src/cli/commands/io.js';

/** A CommandIO whose output a test reads back: run a command in-process, then inspect out()/err(). */
export interface CapturedIO {
  readonly io: CommandIO;
  out(): string;
  err(): string;
}

export function captureIO(): CapturedIO {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  return { io: { stdout, stderr }, out: () => out, err: () => err };
}
