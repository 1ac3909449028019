import { z } from 'zod';
import { ms } from './fields.js';
import { ClassifySection } from './stages/classify.js';
import { HashSection } from './stages/hash.js';
import { IngestSection } from './stages/ingest.js';
import { PipelineSection } from './stages/pipeline.js';
import { PolicySection } from './stages/policy.js';
import { PublishSection } from './stages/publish.js';
import { SamplerSection } from './stages/sampler.js';

/**
 * The one place where configuration defaults and rules live: each stage's section (stages/*.ts)
 * states its fields with their defaults, bounds and cross-field rules, and the stages take what
 * resolve.ts makes of it. Every value can be overridden from the config file
 * (config/streamscreen.json or STREAMSCREEN_CONFIG); a few from the environment (see env.ts).
 * config/streamscreen.example.json is checked against these defaults by a test.
 */
export const ConfigSchema = z.strictObject({
  nats: z
    .strictObject({
      url: z.string().min(1).default('nats://127.0.0.1:4222'),
      /** Connection name shown in the server's monitoring; the worker id is appended. */
      name: z.string().default('streamscreen'),
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

  ingest: IngestSection.prefault({}),
  sampler: SamplerSection.prefault({}),
  hash: HashSection.prefault({}),
  classify: ClassifySection.prefault({}),
  pipeline: PipelineSection.prefault({}),
  publish: PublishSection.prefault({}),
  policy: PolicySection.prefault({}),

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

export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;

/** Every default, for texts that state them (command usage); never a second copy of a value. */
export const CONFIG_DEFAULTS: Config = ConfigSchema.parse({});
