import { z } from 'zod';
import { positiveMs } from '../fields.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** The bridge's listener, fail mode and outbox (config section `bridge`). */
export const BridgeSection = z.strictObject({
  /**
   * Loopback by default: hook calls carry stream keys and decide who may broadcast, so the
   * listener is exposed to the ingest's network deliberately, never by accident.
   */
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(8089),
  /**
   * What a publish hook answers when NATS does not ack the start within natsTimeoutMs.
   * `open`: allow and queue the start in the outbox (screened late, never unscreened);
   * `closed`: refuse the broadcaster. Open, because refusing every broadcaster while NATS is
   * down turns a screening outage into a platform outage; a platform that must never carry
   * an unscreened second chooses closed.
   */
  failMode: z.enum(['open', 'closed']).default('open'),
  /**
   * How long a hook waits for JetStream. The publish hook's budget is p99 <= 20 ms with NATS
   * up (a loopback ack takes ~1 ms); 250 ms keeps a struggling NATS from stalling every
   * encoder's connect while riding out a leader election's short pause.
   */
  natsTimeoutMs: positiveMs(250),
  /** Durable queue of starts and ends NATS did not take; relative paths are under the working directory. */
  outboxDir: z.string().min(1).default('var/bridge-outbox'),
  /** How often the outbox is retried while NATS is away. */
  outboxRetryMs: positiveMs(1_000),
  /**
   * Generic webhook replay window: a signed request older or newer than this is refused.
   * Five minutes, as Stripe and Slack use: room for clock skew, short for replays.
   */
  signatureToleranceMs: positiveMs(300_000),
  /**
   * How long a publisher record (who published a stream, from where) is kept. Thirty days:
   * kills come during the stream and reports within days, and nobody's address is kept for
   * longer than those need.
   */
  recordTtlMs: positiveMs(30 * DAY_MS),
  /** Largest hook body. Real hooks are under 2 KiB; 64 KiB refuses floods cheaply. */
  bodyLimitBytes: z.number().int().min(1024).max(1_048_576).default(65_536),
});

export type BridgeOptions = Readonly<z.output<typeof BridgeSection>>;
