import { z } from 'zod';
import { templateFields, templateIssues } from '../domain/template.js';

/**
 * The one place where configuration defaults live. Every value can be overridden from the
 * config file (config/streamscreen.json or STREAMSCREEN_CONFIG); a few from the environment
 * (see env.ts). config/streamscreen.example.json is checked against these defaults by a test.
 */

const ms = (def: number) => z.number().int().nonnegative().default(def);
const positiveMs = (def: number) => z.number().int().positive().default(def);

export const HashListConfigSchema = z.strictObject({
  /** Stable id, reported in every match and used as the object name when distributed over NATS. */
  id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'list id: 1-64 of A-Z a-z 0-9 _ -'),
  path: z.string().min(1),
  /** `kill` for confirmed abuse material lists; `escalate` for lower-confidence or non-CSAM lists. */
  action: z.enum(['kill', 'escalate']).default('kill'),
  label: z.string().optional(),
  source: z.string().optional(),
  enabled: z.boolean().default(true),
  /** Detected from the file name and first line when absent. */
  format: z.enum(['text', 'csv']).optional(),
});

const DAY_MS = 24 * 60 * 60 * 1000;

const templateString = (what: string) =>
  z
    .string()
    .min(1)
    .superRefine((t, ctx) => {
      for (const issue of templateIssues(t)) ctx.addIssue({ code: 'custom', message: `${what}: ${issue}` });
    });

/**
 * One ingest server the bridge takes hooks from and the enforcer kicks publishers on. The id is
 * in the hook URL (`/hooks/<id>/...`), so every stream is recorded with the instance it is on.
 */
export const IngestConfigSchema = z
  .strictObject({
    id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'ingest id: 1-64 of A-Z a-z 0-9 _ -'),
    kind: z.enum(['nginx-rtmp', 'srs', 'mediamtx', 'generic']),
    /**
     * Authenticates the ingest's hook calls: `?token=<secret>` in the hook URL or
     * `Authorization: Bearer <secret>` (none of nginx-rtmp, SRS, MediaMTX can sign), and the
     * HMAC-SHA256 key of the generic webhook. At least 16 characters: it is all that stands
     * between the internet and "allow this publisher".
     */
    secret: z.string().min(16, 'secret: at least 16 characters'),
    /** Where workers pull the stream from, e.g. `rtmp://nginx-1.internal:1935/{app}/{name}`. */
    pullUrl: templateString('pullUrl'),
    /**
     * The stream id of a publish. The default never contains the stream key (ids appear in
     * subjects, logs and events) and is the same on every reconnect with that key, so ends,
     * blocks and the worker's admission all line up: `{nameHash}` is a digest of app and name.
     */
    streamId: templateString('streamId').default('{ingest}-{app}-{nameHash}'),
    /** The ingest's control API, for the enforcer's kick call; without it this ingest's publishers cannot be kicked. */
    control: z
      .strictObject({
        /**
         * nginx-rtmp: the `rtmp_control` location (`http://nginx-1.internal:8080/control`); SRS: the
         * HTTP API (`http://srs:1985`); MediaMTX: the Control API (`http://mediamtx:9997`); generic:
         * the URL the signed kick is POSTed to.
         */
        url: z.url({ protocol: /^https?$/, message: 'control.url: an http(s) URL' }),
        /** Basic auth for the control API (MediaMTX internal users, a proxy in front of nginx). */
        username: z.string().optional(),
        password: z.string().optional(),
        /** HMAC key for the generic kick webhook; defaults to the ingest's secret. */
        secret: z.string().min(16).optional(),
      })
      .optional(),
  })
  .superRefine((ingest, ctx) => {
    const fields = templateFields(ingest.streamId);
    // An id without anything per stream would give every broadcaster of this ingest one id.
    if (!fields.some((f) => ['name', 'nameHash', 'clientId', 'connectionId'].includes(f) || f.startsWith('arg.'))) {
      ctx.addIssue({
        code: 'custom',
        path: ['streamId'],
        message:
          'streamId must use {name}, {nameHash}, {clientId}, {connectionId} or {arg.NAME}, or every stream of the ingest gets one id',
      });
    }
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(ingest.pullUrl)) {
      ctx.addIssue({ code: 'custom', path: ['pullUrl'], message: 'pullUrl must be an absolute URL (scheme://host/...)' });
    }
    if (ingest.control && (ingest.control.username === undefined) !== (ingest.control.password === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['control'], message: 'control.username and control.password go together' });
    }
  });

const ConfigObjectSchema = z.strictObject({
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
      /** Streams one worker screens at once; each costs one ffmpeg decode plus hashing/inference. */
      maxStreams: z.number().int().positive().default(4),
      /**
       * Stage one of shutdown: how long held streams may finish on their own before they are handed
       * back to other workers. 0, because live streams do not finish on their own and every second
       * of waiting is screened by a worker that is leaving; decisions already being published still
       * go out (ingest's abort grace).
       */
      shutdownGraceMs: ms(0),
    })
    .prefault({}),

  ingest: z
    .strictObject({
      /**
       * A dead worker's stream is redelivered after ack_wait; the lease TTL lets the new worker
       * take the lease over. Both well under 10 s so takeover fits the 10 s promise.
       */
      ackWaitMs: positiveMs(4_000),
      leaseTtlMs: positiveMs(6_000),
    })
    .prefault({}),

  sampler: z
    .strictObject({
      fps: z.number().positive().max(30).default(1),
      /** PDQ reduces every frame to 512x512 anyway, so ffmpeg scales to that size once. */
      width: z.number().int().min(16).max(4096).default(512),
      height: z.number().int().min(16).max(4096).default(512),
      /**
       * `shrink`: only sources larger than width x height are scaled (to exactly that size, as the
       * PDQ reference reduces); smaller ones keep their size, because upscaling moves their hash
       * (median 10 bits vs 0 on the benign test images). `exact`: every frame scaled to that size.
       */
      scaleMode: z.enum(['shrink', 'exact']).default('shrink'),
      /** `file:` and bare paths are for local testing only. */
      allowFiles: z.boolean().default(false),
      rwTimeoutMs: positiveMs(5_000),
      stallTimeoutMs: positiveMs(10_000),
      maxRestarts: z.number().int().nonnegative().default(5),
      backoffBaseMs: positiveMs(500),
      backoffMaxMs: positiveMs(15_000),
    })
    .prefault({}),

  hash: z
    .strictObject({
      lists: z.array(HashListConfigSchema).default([]),
      /** PDQ's published recommendation: distance <= 31 of 256 bits is a match. */
      maxDistance: z.number().int().min(0).max(128).default(31),
      /** PDQ's published guidance: hashes of quality < 50 (flat, featureless frames) are unreliable. */
      minQuality: z.number().int().min(0).max(100).default(50),
      /** Also match rotated and mirrored frames (8 hashes per frame); costs 8 look-ups. */
      dihedral: z.boolean().default(false),
      /**
       * Lists distributed through a JetStream Object Store (`streamscreen hashlist publish`).
       * Every worker watches the bucket and swaps a new version in within seconds.
       */
      objectStore: z
        .strictObject({
          enabled: z.boolean().default(true),
          bucket: z
            .string()
            .regex(/^[A-Za-z0-9_-]+$/)
            .default('screening-hashlists'),
          /** Only these list ids from the bucket; every list when absent. */
          lists: z.array(z.string()).optional(),
          /** Re-list the bucket this often, in case a watch update was missed while disconnected. */
          resyncIntervalMs: ms(60_000),
        })
        .prefault({}),
    })
    .prefault({}),

  classify: z
    .strictObject({
      /** Off: hash matching only (no nudity or face/age signals). */
      enabled: z.boolean().default(true),
      /** models/manifest.json of the installed package when absent. */
      manifestPath: z.string().optional(),
      /**
       * Threads per inference. 1: a worker screens several streams, so models run side by side,
       * leaving cores for ffmpeg and PDQ (npm run bench:classify measures 1 vs 2 threads).
       */
      intraOpThreads: z.number().int().min(1).max(64).default(1),
      /** Frames from different streams that queued while a model was busy run as one batch. */
      maxBatch: z.number().int().min(1).max(64).default(4),
      /** Face detection and apparent age; needs the face models in the manifest. */
      faces: z.boolean().default(true),
      /** Drop-in classifiers declared in the manifest (kind `custom`). */
      custom: z.boolean().default(true),
    })
    .prefault({}),

  pipeline: z
    .strictObject({
      /**
       * Capture-to-decision budget per frame. At the default 1 fps a frame must be decided well
       * before the next arrives; a frame already older than this skips the classifiers (the hash
       * check, the kill path, always runs) and the skip is counted in streamscreen_frames_shed_total.
       */
      frameBudgetMs: positiveMs(500),
      /**
       * Consecutive frames on which the classifiers fail before a screening failure is reported
       * for the stream (hash screening goes on). Above 1 so one bad frame does not page anyone.
       */
      classifierFailuresToReport: z.number().int().positive().default(5),
    })
    .prefault({}),

  publish: z
    .strictObject({
      /**
       * First retry delay for an unacknowledged publish; doubles up to the maximum, until acked
       * (errors that can never succeed end the retries). Short: a kill-switch is waiting.
       */
      retryBaseMs: positiveMs(100),
      retryMaxMs: positiveMs(5_000),
    })
    .prefault({}),

  policy: z
    .strictObject({
      /** `shadow` publishes decisions to shadow subjects only: a new policy is evaluated before it acts. */
      mode: z.enum(['enforce', 'shadow']).default('enforce'),
      /** A stream gets one kill-switch per cooldown; repeats add nothing while the platform acts. */
      killSwitchCooldownMs: ms(60_000),
      /** Reviewers get one escalation per stream and priority per cooldown, sooner if priority rises. */
      escalationCooldownMs: ms(30_000),
      /**
       * porn + hentai probability that escalates on the nudity classifier alone. High, because the
       * model (~90% accurate upstream) fires on benign skin and reviewers' time is the scarce resource.
       */
      nudityEscalateAt: z.number().min(0).max(1).default(0.9),
      /** With a possible minor in the frame, a false negative costs far more than a review. */
      nudityWithMinorEscalateAt: z.number().min(0).max(1).default(0.5),
      /**
       * Apparent age under which a face counts as a possible minor. 25, as age-assurance vendors
       * use: their published figure is that 99.9% of 13-17-year-olds are estimated under 25.
       */
      challengeAge: z.number().min(1).max(100).default(25),
      /** Drop-in classifier signals that escalate on their own, e.g. { "vendor_csam": 0.7 }. */
      customEscalateAt: z.record(z.string(), z.number().min(0).max(1)).default({}),
    })
    .prefault({}),

  /** The ingest servers the bridge and the enforcer talk to. */
  ingests: z.array(IngestConfigSchema).default([]),

  bridge: z
    .strictObject({
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
    })
    .prefault({}),

  enforcer: z
    .strictObject({
      /** Defaults to `enforcer-<hostname>-<pid>`; recorded in the audit trail. */
      id: z.string().min(1).optional(),
      /** Durable consumer of screening.killswitch.* (shared by enforcer replicas). */
      consumer: z
        .string()
        .regex(/^[A-Za-z0-9_-]+$/)
        .default('enforcer'),
      /** How long a kill's block lasts: a day stops the encoder's reconnect loop and the same-evening retry. */
      blockMs: positiveMs(DAY_MS),
      /**
       * A hash-list kill is a match against known abuse material: its publisher stays blocked
       * until a person lifts it. False applies blockMs to those too.
       */
      hashKillsPermanent: z.boolean().default(true),
      /**
       * What a kill blocks. Key and stream id by default; `ip` is opt-in because addresses are
       * shared (carrier NAT, offices) and would refuse unrelated broadcasters.
       */
      blockScopes: z
        .array(z.enum(['key', 'stream', 'ip']))
        .min(1)
        .default(['key', 'stream']),
      /** One kick call's time limit; ingest control APIs answer in milliseconds. */
      kickTimeoutMs: positiveMs(5_000),
      /** Retry of a failed kick: doubling from the first delay up to the cap (domain/retry.ts). */
      retryBaseMs: positiveMs(500),
      retryMaxMs: positiveMs(30_000),
      /** Redelivery of a kill whose handler died; well above one kick plus the block writes. */
      ackWaitMs: positiveMs(30_000),
      /**
       * Audit retention. A year: US providers must preserve reported material's context for
       * one year (REPORT Act, 2024), and the audit is what says when and how a stream was cut.
       */
      auditMaxAgeMs: positiveMs(365 * DAY_MS),
      /** Expired blocks are deleted (and the lift audited) this often. */
      sweepIntervalMs: positiveMs(60_000),
    })
    .prefault({}),

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
});

/** Rules across sections and entries, reported together with the field errors' sections. */
export const ConfigSchema = ConfigObjectSchema.superRefine((config, ctx) => {
  const ids = config.ingests.map((i) => i.id);
  for (const id of new Set(ids.filter((id, n) => ids.indexOf(id) !== n))) {
    ctx.addIssue({ code: 'custom', path: ['ingests'], message: `duplicate ingest id '${id}'` });
  }
  const e = config.enforcer;
  if (e.retryMaxMs < e.retryBaseMs) ctx.addIssue({ code: 'custom', path: ['enforcer', 'retryMaxMs'], message: 'must be >= retryBaseMs' });
  // A kill whose handler is still waiting on the ingest must not be redelivered to another replica.
  if (e.ackWaitMs <= 2 * e.kickTimeoutMs) {
    ctx.addIssue({ code: 'custom', path: ['enforcer', 'ackWaitMs'], message: 'must be more than twice kickTimeoutMs' });
  }
  if (new Set(e.blockScopes).size !== e.blockScopes.length) {
    ctx.addIssue({ code: 'custom', path: ['enforcer', 'blockScopes'], message: 'lists a scope twice' });
  }
});

export type Config = z.infer<typeof ConfigSchema>;
export type IngestConfig = z.infer<typeof IngestConfigSchema>;
export type HashListConfig = z.infer<typeof HashListConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;
