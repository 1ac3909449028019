import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { createHooks, type Listeners } from '../../../src/domain/hooks.js';
import type { WorkerEvents } from '../../../src/worker/events.js';
import { Kvm, type KV } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import type { ConfigInput, IngestOptions } from '../../../src/config/index.js';
import { createIngest, type Ingest, type ScreeningAssignment } from '../../../src/worker/intake/index.js';
import { createDecisionPublisher, type DecisionPublisher } from '../../../src/worker/publish/index.js';
import { ingestOptions, publisherOptions } from '../../support/stage-options.js';
import type { ScreeningOutcome } from '../../../src/domain/screening-outcome.js';
import { eventually } from '../../support/eventually.js';

export const silent = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** The config values a test sets: intake's section and the worker's stream limit. */
export interface IngestTestConfig {
  readonly ingest?: ConfigInput['ingest'];
  readonly worker?: ConfigInput['worker'];
}

/**
 * Short server-side timings keep the tests fast; config/ holds them to the same rules as the
 * defaults (heartbeat <= ttl/3 and <= ackWait/2). Each test gets its own streams, consumer and
 * bucket (by tag), so leftovers of one test never reach another's workers. `extra` overrides
 * any of them; a key given as undefined falls back to the config default.
 */
export function testIngestConfig(tag: string, extra: ConfigInput['ingest'] = {}): NonNullable<ConfigInput['ingest']> {
  return {
    startsStream: `STARTS_${tag}`,
    startsSubjectPrefix: `${tag}.started`,
    endsStream: `ENDS_${tag}`,
    endsSubjectPrefix: `${tag}.ended`,
    consumerName: `screeners_${tag}`,
    leaseBucket: `leases_${tag}`,
    ackWaitMs: 2000,
    leaseTtlMs: 3000,
    heartbeatMs: 500,
    pullExpiresMs: 1000,
    retryDelayMs: 500,
    abortGraceMs: 1000,
    requestTimeoutMs: 1000,
    ...extra,
  };
}

/** Intake's options for a test, resolved by config/ as the worker's are. */
export function testOptions(tag: string, config: IngestTestConfig = {}): IngestOptions {
  return ingestOptions(testIngestConfig(tag, config.ingest), config.worker);
}

export async function connectForTest(url: string): Promise<NatsConnection> {
  return connect({ servers: url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
}

export interface Harness {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  publisher: DecisionPublisher;
  close(): Promise<void>;
}

export async function harness(url: string): Promise<Harness> {
  const nc = await connectForTest(url);
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const publisher = createDecisionPublisher({
    js,
    logger: silent,
    options: publisherOptions({ publishTimeoutMs: 1000, retryBaseMs: 50, retryMaxMs: 500 }),
  });
  await publisher.provision();
  return { nc, js, jsm, publisher, close: () => nc.close() };
}

/** Records assignments and keeps each one screening until its signal aborts or the test completes it. */
export class Recorder {
  readonly assignments: ScreeningAssignment[] = [];
  readonly aborted = new Map<ScreeningAssignment, unknown>();
  private readonly finishers = new Map<ScreeningAssignment, (o: ScreeningOutcome) => void>();

  readonly onAssignment = async (a: ScreeningAssignment): Promise<ScreeningOutcome> => {
    this.assignments.push(a);
    const outcome = await new Promise<ScreeningOutcome>((resolve) => {
      this.finishers.set(a, resolve);
      if (a.signal.aborted) resolve({ kind: 'stopped' });
      a.signal.addEventListener('abort', () => resolve({ kind: 'stopped' }), { once: true });
    });
    if (a.signal.aborted) this.aborted.set(a, a.signal.reason);
    return outcome;
  };

  /** The source ended: onAssignment returns `source_ended`; resolves once intake has settled it. */
  async complete(a: ScreeningAssignment, settled: () => Promise<boolean> = async () => a.publishSignal.aborted): Promise<void> {
    this.finishers.get(a)?.({ kind: 'source_ended' });
    await eventually(settled, 5000, 'assignment settled');
  }

  for(streamId: string): ScreeningAssignment[] {
    return this.assignments.filter((a) => a.start.streamId === streamId);
  }
}

export function makeIngest(
  h: Harness,
  tag: string,
  onAssignment: (a: ScreeningAssignment) => Promise<ScreeningOutcome>,
  config: IngestTestConfig = {},
  workerId?: string,
  events?: Listeners<WorkerEvents>,
): Ingest {
  return createIngest({
    nc: h.nc,
    logger: silent,
    publisher: h.publisher,
    onAssignment,
    options: testOptions(tag, config),
    ...(workerId ? { workerId } : {}),
    ...(events ? { events: createHooks<WorkerEvents>(undefined, events) } : {}),
  });
}

export async function leaseBucket(h: Harness, tag: string): Promise<KV> {
  // Short request timeout: a read lost in a server restart must not stall a polling test.
  return new Kvm(jetstream(h.nc, { timeout: 1000 })).open(testOptions(tag).leaseBucket, { allow_direct: false });
}

export async function publishStart(
  h: Harness,
  tag: string,
  streamId: string,
  body: unknown = { streamId, url: `rtmp://media/live/${streamId}` },
): Promise<number> {
  const data = typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
  return (await h.js.publish(`${tag}.started.${streamId}`, data)).seq;
}

export async function publishEnd(h: Harness, tag: string, streamId: string, body: unknown = { streamId }): Promise<number> {
  const data = typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
  return (await h.js.publish(`${tag}.ended.${streamId}`, data)).seq;
}

export const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
