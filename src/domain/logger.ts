import type { Logger as PinoLogger } from 'pino';

/** Stages take a logger from the composition root; they never create their own. */
export type Logger = PinoLogger;
