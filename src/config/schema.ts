import { z } from 'zod';
import { ms, positiveMs } from './fields.js';
import { AdmissionMode, CapacitySection } from './stages/capacity.js';
import { ClassifySection } from './stages/classify.js';
import { EvidenceSection } from './stages/evidence.js';
import { HashSection } from './stages/hash.js';
import { IngestSection } from './stages/ingest.js';
import { OutboxSection } from './stages/outbox.js';
import { PipelineSection } from './stages/pipeline.js';
import { PolicySection } from './stages/policy.js';
import { PublishSection } from './stages/publish.js';
import { ReviewSection } from './stages/review.js';
import { SamplerSection } from './stages/sampler.js';
import { BridgeSection } from './stages/bridge.js';
import { EnforcerSection } from './stages/enforcer.js';
import { IngestsSection } from './stages/ingests.js';
import { ConsoleConfigSchema } from './console-schema.js';
import { MatcherSection } from './matcher-schema.js';

/**
 * The one place where configuration defaults and rules live: each stage's section (stages/*.ts)
 * states its fields with their defaults, bounds and cross-field rules, and the stages take what
 * resolve.ts makes of it. Every value can be overridden from the config file
 * (config/streamscreen.json or STREAMSCREEN_CONFIG); a few from the environment (see env.ts).
 * config/streamscreen.example.json is checked against these defaults by a test.
 */
export const ConfigSchema = z
  .strictObject({
    nats: z
      .strictObject({
        /**
         * One server URL or several, comma-separated (a cluster). Credentials in the URL
         * (`nats://user:pass@host`, `nats://token@host`) are moved into user/pass or token at load,
         * because the client ignores them there, and the URL is logged without them.
         */
        url: z.string().min(1).default('nats://127.0.0.1:4222'),
        /** Connection name shown in the server's monitoring; the instance id is appended. */
        name: z.string().default('streamscreen'),
        /** Login: at most one of user/pass, token, credsFile, nkeySeedFile. Secrets may also come from files. */
        user: z.string().min(1).optional(),
        pass: z.string().min(1).optional(),
        passFile: z.string().min(1).optional(),
        token: z.string().min(1).optional(),
        tokenFile: z.string().min(1).optional(),
        /** A `.creds` file (user JWT and NKey seed), as issued by an operator/account setup. */
        credsFile: z.string().min(1).optional(),
        /** A file holding an NKey user seed (`SU...`). */
        nkeySeedFile: z.string().min(1).optional(),
        /** TLS: server verification against `ca` (default: the system store); `cert` + `key` for mutual TLS. */
        tls: z
          .strictObject({
            ca: z.string().min(1).optional(),
            cert: z.string().min(1).optional(),
            key: z.string().min(1).optional(),
            handshakeFirst: z.boolean().default(false),
          })
          .optional(),
        /** Start-up fails after this long instead of hanging on an unreachable or refusing server. */
        connectTimeoutMs: positiveMs(5_000),
        /**
         * Reconnects go on forever; each waits this long plus up to reconnectJitterMs. 250 ms: the
         * screening path tolerates a short NATS restart only if the client is back within ~1 s
         * (the client's 2 s default alone used up half the lease TTL); the jitter spreads a fleet.
         */
        reconnectWaitMs: positiveMs(250),
        reconnectJitterMs: ms(250),
        /**
         * Replicas of every stream and bucket the worker provisions (starts, ends, decisions, dead
         * letters, leases, policy state). 1 for a single server; 3 on a JetStream cluster, so a node
         * (or a stream's leader) can go down without losing a decision or a lease
         * (deploy/nats/cluster/). Changing it on existing streams needs a cluster.
         */
        replicas: z.number().int().min(1).max(5).default(1),
        /**
         * Subject prefix of this client's reply inboxes. With the reference permissions
         * (deploy/nats/accounts.conf) each role may only subscribe under `_INBOX_<role>`, so one role
         * cannot read another's replies; set it to that prefix. Default: the client's `_INBOX`.
         */
        inboxPrefix: z
          .string()
          .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'a literal subject prefix')
          .optional(),
      })
      .superRefine((n, ctx) => {
        const logins = [
          n.user !== undefined,
          n.token !== undefined || n.tokenFile !== undefined,
          n.credsFile !== undefined,
          n.nkeySeedFile !== undefined,
        ];
        if (logins.filter(Boolean).length > 1)
          ctx.addIssue({ code: 'custom', message: 'choose one login: user/pass, token, credsFile or nkeySeedFile' });
        if (n.pass !== undefined && n.passFile !== undefined)
          ctx.addIssue({ code: 'custom', path: ['passFile'], message: 'set pass or passFile, not both' });
        if (n.token !== undefined && n.tokenFile !== undefined)
          ctx.addIssue({ code: 'custom', path: ['tokenFile'], message: 'set token or tokenFile, not both' });
        if ((n.pass !== undefined || n.passFile !== undefined) && n.user === undefined)
          ctx.addIssue({ code: 'custom', path: ['user'], message: 'a password needs a user' });
        if (n.tls && (n.tls.cert === undefined) !== (n.tls.key === undefined))
          ctx.addIssue({ code: 'custom', path: ['tls'], message: 'tls.cert and tls.key go together' });
      })
      .prefault({}),

    worker: z
      .strictObject({
        /** Defaults to `<hostname>-<pid>` so two workers on one host never share a lease identity. */
        id: z.string().min(1).optional(),
        /**
         * The hard cap on streams one worker screens at once; with `admission: measured` the worker
         * stops below it as soon as its CPU, event loop or budget says so. 48: within what the load
         * benchmark holds on 2 cores (56 in auto at 1.8 % of a core per stream; 16 in full decoding,
         * where measured admission does the limiting), and low enough to size memory by: about 40 MB
         * per stream plus 250 MB, 2.2 GB at 48. With `admission: fixed` set it from the benchmark for the
         * worker's cores (streams per core per mode: README, sizing).
         */
        maxStreams: z.number().int().positive().default(48),
        /**
         * `measured` (default): pull a new stream only while the worker's measured CPU, event loop and
         * budget breaches leave room (worker.capacity), up to maxStreams. `fixed`: up to maxStreams,
         * whatever the load (the load benchmark uses it to force the number it measures).
         */
        admission: AdmissionMode.default('measured'),
        /** Measured admission's thresholds and the steps of graceful degradation. */
        capacity: CapacitySection.prefault({}),
        /**
         * Stage one of shutdown: how long held streams may finish on their own before they are handed
         * back to other workers. 0, because live streams do not finish on their own and every second
         * of waiting is screened by a worker that is leaving; decisions already being published still
         * go out (ingest's abort grace).
         */
        shutdownGraceMs: ms(0),
        /**
         * The whole shutdown (stop taking streams, finish in-flight frames, publish what the outbox
         * holds, release leases, close) ends by this deadline even when NATS cannot be reached:
         * what is not published by then stays in the outbox for the next start. 20 s: inside
         * Kubernetes' default 30 s grace period, with room for the process to exit.
         */
        shutdownTimeoutMs: positiveMs(20_000),
      })
      .superRefine((w, ctx) => {
        if (w.shutdownGraceMs >= w.shutdownTimeoutMs) {
          ctx.addIssue({
            code: 'custom',
            path: ['shutdownGraceMs'],
            message: `shutdownGraceMs (${w.shutdownGraceMs}) must be below shutdownTimeoutMs (${w.shutdownTimeoutMs})`,
          });
        }
      })
      .prefault({}),

    ingest: IngestSection.prefault({}),
    sampler: SamplerSection.prefault({}),
    hash: HashSection.prefault({}),
    classify: ClassifySection.prefault({}),
    pipeline: PipelineSection.prefault({}),
    publish: PublishSection.prefault({}),
    outbox: OutboxSection.prefault({}),
    policy: PolicySection.prefault({}),
    /** The ingest servers the bridge and the enforcer talk to. */
    ingests: IngestsSection.default([]),
    bridge: BridgeSection.prefault({}),
    enforcer: EnforcerSection.prefault({}),
    /** Written by the worker, read by the console and `streamscreen evidence`. */
    evidence: EvidenceSection.prefault({}),
    review: ReviewSection.prefault({}),
    console: ConsoleConfigSchema.prefault({}),
    matcher: MatcherSection.prefault({}),

    metrics: z
      .strictObject({
        enabled: z.boolean().default(true),
        host: z.string().default('0.0.0.0'),
        port: z.number().int().min(0).max(65535).default(9464),
      })
      .prefault({}),

    log: z
      .strictObject({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      })
      .prefault({}),
  })
  .superRefine((c, ctx) => {
    // Rules across sections.
    const floor = c.classify.facesNudityFloor;
    if (floor !== undefined && floor > c.policy.nudityWithMinorEscalateAt) {
      ctx.addIssue({
        code: 'custom',
        path: ['classify', 'facesNudityFloor'],
        message: `must be <= policy.nudityWithMinorEscalateAt (${c.policy.nudityWithMinorEscalateAt}): frames in between would escalate as possible minors only with faces`,
      });
    }
    const inference = c.pipeline.inference;
    if (inference.degradeRiskFloor !== undefined && inference.degradeRiskFloor > c.policy.nudityWithMinorEscalateAt) {
      ctx.addIssue({
        code: 'custom',
        path: ['pipeline', 'inference', 'degradeRiskFloor'],
        message: `must be <= policy.nudityWithMinorEscalateAt (${c.policy.nudityWithMinorEscalateAt}): a stream scoring at an escalation bar could lose its classifiers under degradation`,
      });
    }
    if (c.classify.enabled && inference.maxBatch > c.classify.maxBatch) {
      ctx.addIssue({
        code: 'custom',
        path: ['pipeline', 'inference', 'maxBatch'],
        message: `must be <= classify.maxBatch (${c.classify.maxBatch}): the models would split the scheduler's batches anyway`,
      });
    }
  });

export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;

/** Every default, for texts that state them (command usage); never a second copy of a value. */
export const CONFIG_DEFAULTS: Config = ConfigSchema.parse({});
