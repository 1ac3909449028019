/**
 * The Hasher-Matcher-Actioner's lookup API (ThreatExchange's hasher-matcher-actioner,
 * OpenMediaMatch blueprints matching.py and curation.py), over streamscreen's lists: each list is
 * a bank, each list entry a bank content with a stable id. Shapes as HMA returns them, so HMA and
 * Coop clients call it unchanged:
 *  - GET  /m/lookup?signal_type=pdq&signal=HEX[&banks=A,B] -> { BANK: [{ bank_content_id, distance }] }
 *         (distance a string, as HMA's pretty_str; `url` lookups are refused: no fetching here);
 *  - POST /m/lookup, multipart/form-data with one file in a field named after its content type
 *         (`photo`) -> { pdq: { BANK: [...] } };
 *  - GET  /m/raw_lookup?signal_type=pdq&signal=HEX[&banks][&include_distance=true]
 *         -> { matches: [id, ...] } or { matches: [{ bank_content_id, distance }] };
 *  - GET  /m/index/status[?signal_type=pdq] -> { pdq: { present, built_to, size } };
 *  - GET  /c/banks, /c/bank/NAME -> { name, matching_enabled_ratio }.
 * Errors are `{ message }` with HMA's status codes (400 bad input, 403 no hashing, 404, 503 not ready).
 */
import { createHash } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import { z } from 'zod';
import type { MatcherConfig } from '../config/index.js';
import { isPdqHex, pdqFromHex, pdqToHex } from '../domain/pdq.js';
import type { Logger } from '../domain/logger.js';
import type { RgbImage } from '../domain/frame.js';
import type { ListHit, ListSummary, LookupOptions } from '../hash/hash-matcher.js';

/** What the API needs of the lists it serves (a HashMatcherService). */
export interface MatcherBackend {
  readonly ready: boolean;
  lists(): ListSummary[];
  lookup(hash: Uint16Array, options?: LookupOptions): ListHit[];
}

export interface HmaApiDeps {
  readonly backend: MatcherBackend;
  readonly decode: (bytes: Buffer) => Promise<RgbImage>;
  readonly hash: (image: RgbImage) => Uint16Array;
  readonly logger: Logger;
  readonly options: Pick<MatcherConfig, 'maxUploadBytes' | 'logRequests'>;
}

/** The one signal type served: PDQ (known-video lists are served frame by frame, as pdq). */
const SIGNAL_TYPE = 'pdq';
/** HMA's content type for images: the multipart field name of a POST /m/lookup. */
const PHOTO = 'photo';

/**
 * A bank content id that stays the same across reloads and workers: HMA's are database ids; here
 * the first 48 bits of SHA-256(list, hash[, video]), a JSON-safe integer.
 */
export function bankContentId(list: string, hash: string, video?: string): number {
  const digest = createHash('sha256')
    .update(`${list}\u0000${hash}${video === undefined ? '' : `\u0000${video}`}`)
    .digest();
  return digest.readUIntBE(0, 6);
}

class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

const banksParam = z
  .string()
  .optional()
  .transform((v) =>
    v
      ? v
          .split(',')
          .map((b) => b.trim())
          .filter(Boolean)
      : undefined,
  );

const LookupQuery = z.object({
  signal_type: z.string().optional(),
  signal: z.string().optional(),
  url: z.string().optional(),
  banks: banksParam,
});

const RawLookupQuery = z.object({
  signal_type: z.string({ message: 'signal_type is required' }),
  signal: z.string({ message: 'signal is required' }),
  banks: banksParam,
  include_distance: z
    .enum(['true', 'false', '1', '0'], { message: 'include_distance: invalid boolean parameter - prefer true/false' })
    .optional()
    .transform((v) => v === 'true' || v === '1'),
});

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new HttpError(400, r.error.issues.map((i) => i.message).join('; '));
  return r.data;
}

function signalOf(type: string | undefined, signal: string | undefined): Uint16Array {
  if (type !== SIGNAL_TYPE) throw new HttpError(400, `No such SignalType '${type}'`);
  if (!signal || !isPdqHex(signal)) throw new HttpError(400, 'invalid signal: a PDQ hash is 64 hexadecimal digits');
  return pdqFromHex(signal);
}

interface BankMatch {
  readonly bank_content_id: number;
  readonly distance: string;
}

/** { BANK: [BankMatch] }, the 200 body of GET /m/lookup, as a response schema. */
const BANK_MATCHES_SCHEMA = {
  type: 'object',
  additionalProperties: {
    type: 'array',
    items: {
      type: 'object',
      properties: { bank_content_id: { type: 'integer' }, distance: { type: 'string' } },
      required: ['bank_content_id', 'distance'],
    },
  },
} as const;

export async function buildHmaApi(deps: HmaApiDeps): Promise<FastifyInstance> {
  const { backend } = deps;
  const loggerInstance: FastifyBaseLogger = deps.logger;
  const app = Fastify({
    loggerInstance,
    bodyLimit: deps.options.maxUploadBytes,
    logController: new LogController({ disableRequestLogging: !deps.options.logRequests }),
  });

  // multipart/form-data is read by the runtime's own parser (the WHATWG Request.formData() that
  // Node ships): no hand-written multipart parsing here, and no extra dependency.
  app.addContentTypeParser('multipart/form-data', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err, req, reply) => {
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) return reply.code(status).send({ message: (err as Error).message });
    req.log.error({ err }, 'lookup failed');
    return reply.code(500).send({ message: 'internal error' });
  });

  const ensureReady = (): void => {
    if (!backend.ready) throw new HttpError(503, 'index not yet ready');
  };

  const matches = (hash: Uint16Array, banks: readonly string[] | undefined): ListHit[] => {
    ensureReady();
    if (!banks) return backend.lookup(hash);
    // Only with banks= does a request pay for the list of banks.
    const known = new Set(backend.lists().map((l) => l.id));
    const only = banks.filter((b) => known.has(b));
    return only.length === 0 ? [] : backend.lookup(hash, { lists: only });
  };

  const byBank = (hits: readonly ListHit[]): Record<string, BankMatch[]> => {
    const out: Record<string, BankMatch[]> = {};
    for (const h of hits)
      (out[h.list] ??= []).push({ bank_content_id: bankContentId(h.list, h.hash, h.video?.id), distance: String(h.distance) });
    return out;
  };

  // Serialised by the schema's compiled serializer rather than JSON.stringify: the lookup is the hot route.
  app.get('/m/lookup', { schema: { response: { 200: BANK_MATCHES_SCHEMA } } }, async (req) => {
    const q = parse(LookupQuery, req.query);
    if (q.url !== undefined) throw new HttpError(403, 'Hashing by URL is disabled here: POST the file to /m/lookup instead');
    if (!q.signal || !q.signal_type) throw new HttpError(400, 'Either url or both signal and signal_type are required');
    return byBank(matches(signalOf(q.signal_type, q.signal), q.banks));
  });

  app.post('/m/lookup', async (req) => {
    const banks = parse(z.object({ banks: banksParam }).loose(), req.query).banks;
    const contentType = req.headers['content-type'] ?? '';
    if (!Buffer.isBuffer(req.body) || !contentType.startsWith('multipart/form-data')) {
      throw new HttpError(400, 'Missing multipart/form-data file upload');
    }
    let form: FormData;
    try {
      form = await new Response(req.body, { headers: { 'content-type': contentType } }).formData();
    } catch {
      throw new HttpError(400, 'Missing multipart/form-data file upload');
    }
    // A file part: a Blob (File) rather than a string field.
    const files = [...form.entries()].filter((e) => typeof e[1] !== 'string') as unknown as Array<[string, Blob]>;
    if (files.length === 0) throw new HttpError(400, 'Missing multipart/form-data file upload');
    if (files.length > 1) throw new HttpError(400, 'Only one file allowed per request');
    const [field, file] = files[0]!;
    if (field !== PHOTO) throw new HttpError(400, `no such content_type: '${field}'`);
    let image: RgbImage;
    try {
      image = await deps.decode(Buffer.from(await file.arrayBuffer()));
    } catch (err) {
      throw new HttpError(400, `cannot decode the uploaded image: ${(err as Error).message}`);
    }
    const hash = deps.hash(image);
    req.log.debug({ hash: pdqToHex(hash) }, 'uploaded image hashed');
    return { [SIGNAL_TYPE]: byBank(matches(hash, banks)) };
  });

  app.get('/m/raw_lookup', async (req) => {
    const q = parse(RawLookupQuery, req.query);
    const hits = matches(signalOf(q.signal_type, q.signal), q.banks);
    const ids = hits.map((h) => bankContentId(h.list, h.hash, h.video?.id));
    return {
      matches: q.include_distance ? hits.map((h, i) => ({ bank_content_id: ids[i]!, distance: String(h.distance) })) : ids,
    };
  });

  app.get('/m/index/status', async (req) => {
    const { signal_type: type } = parse(z.object({ signal_type: z.string().optional() }).loose(), req.query);
    if (type !== undefined && type !== SIGNAL_TYPE) throw new HttpError(400, `No such signal type '${type}'`);
    const lists = backend.lists();
    const present = backend.ready && lists.length > 0;
    const builtTo = lists.reduce((t, l) => Math.max(t, Math.floor(Date.parse(l.loadedAt) / 1000)), -1);
    return {
      [SIGNAL_TYPE]: {
        present,
        built_to: present ? builtTo : -1,
        size: present ? lists.reduce((n, l) => n + l.count, 0) : 0,
      },
    };
  });

  const bank = (l: ListSummary) => ({ name: l.id, matching_enabled_ratio: 1.0 });
  app.get('/c/banks', async () => backend.lists().map(bank));
  app.get('/c/bank/:name', async (req, reply: FastifyReply) => {
    const { name } = req.params as { name: string };
    const found = backend.lists().find((l) => l.id === name);
    if (!found) return reply.code(404).send({ message: `bank '${name}' not found` });
    return bank(found);
  });

  return app;
}
