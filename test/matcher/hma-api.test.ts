/**
 * The matcher's HMA-compatible API over real HTTP (Fastify on 127.0.0.1), with lists loaded from
 * files as the deployable loads them. Every response is checked against the shapes HMA's
 * OpenMediaMatch declares (schemas/matching.py, curation.py, and the handlers in
 * blueprints/matching.py), restated here as zod schemas.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadConfig } from '../../src/config/index.js';
import { pdqToHex } from '../../src/domain/pdq.js';
import { createPdqHasher } from '../../src/hash/pdq-hasher.js';
import { bankContentId } from '../../src/matcher/hma-api.js';
import { startMatcher, type RunningMatcher } from '../../src/matcher/start-matcher.js';
import { readRgbImage } from '../../src/worker/sampler/image-file.js';
import { nearDuplicate, randomHashes, seededRandom } from '../support/synthetic-hashes.js';

const BRIDGE = fileURLToPath(new URL('../../../shared/pdq-vectors/decoded/bridge-1-original.png', import.meta.url));
const PEN = fileURLToPath(new URL('../../../shared/pdq-vectors/decoded/pen-and-coaster.png', import.meta.url));
const CLI = fileURLToPath(new URL('../../dist/src/cli.js', import.meta.url));

// HMA's response models. MatchWithDistance: bank_content_id int, distance str (pretty_str).
const MatchWithDistance = z.strictObject({ bank_content_id: z.number().int().nonnegative(), distance: z.string().regex(/^\d+$/) });
/** GET /m/lookup with signal_type: bank name -> matches. */
const LookupBySignal = z.record(z.string(), z.array(MatchWithDistance));
/** POST /m/lookup: signal type -> bank name -> matches. */
const LookupByType = z.record(z.string(), LookupBySignal);
const RawLookupResponse = z.strictObject({ matches: z.array(z.union([z.number().int(), MatchWithDistance])) });
const IndexStatusResponse = z.record(
  z.string(),
  z.strictObject({ present: z.boolean(), built_to: z.number().int(), size: z.number().int().nonnegative() }),
);
const BankConfig = z.strictObject({ name: z.string(), matching_enabled_ratio: z.number().min(0).max(1) });
const ErrorResponse = z.strictObject({ message: z.string().min(1) });

describe('HMA-compatible lookup API', () => {
  let dir: string;
  let running: RunningMatcher;
  let base: string;
  let bridgeHash: string;
  const rand = seededRandom(5);
  const synthetic = randomHashes(5_000, rand);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'matcher-'));
    bridgeHash = pdqToHex(createPdqHasher().hash(await readRgbImage(BRIDGE)).hash);
    const lines = Array.from({ length: 5_000 }, (_, i) => pdqToHex(synthetic.subarray(i * 16, i * 16 + 16)));
    await writeFile(join(dir, 'CONFIRMED.txt'), `${bridgeHash}\tbridge-case\n${lines.slice(0, 2_500).join('\n')}\n`);
    await writeFile(join(dir, 'REVIEW.txt'), `${lines.slice(2_500).join('\n')}\n${bridgeHash}\n`);
    const loaded = loadConfig({
      env: {},
      cwd: dir,
      overrides: {
        hash: {
          objectStore: { enabled: false },
          lists: [
            { id: 'CONFIRMED', path: join(dir, 'CONFIRMED.txt'), action: 'kill' },
            { id: 'REVIEW', path: join(dir, 'REVIEW.txt'), action: 'escalate', maxDistance: 10 },
          ],
        },
        matcher: { port: 0 },
      },
    });
    running = await startMatcher(loaded, pino({ level: 'silent' }));
    base = `http://127.0.0.1:${running.port}`;
  }, 60_000);

  afterAll(async () => {
    await running?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const get = async (path: string) => {
    const res = await fetch(base + path);
    return { status: res.status, body: await res.json() };
  };

  it('GET /m/lookup: matches by bank, each list at its own distance, with stable bank content ids', async () => {
    const entry = 1_200; // in CONFIRMED
    const q = pdqToHex(nearDuplicate(synthetic, entry, 20, rand));
    const { status, body } = await get(`/m/lookup?signal_type=pdq&signal=${q}`);
    expect(status).toBe(200);
    const parsed = LookupBySignal.parse(body);
    const listed = pdqToHex(synthetic.subarray(entry * 16, entry * 16 + 16));
    expect(parsed).toEqual({ CONFIRMED: [{ bank_content_id: bankContentId('CONFIRMED', listed), distance: '20' }] });
    // The bridge is in both banks; REVIEW matches only within its own distance (10).
    const far = pdqToHex(nearDuplicate(createHashOf(bridgeHash), 0, 12, rand));
    expect(Object.keys(LookupBySignal.parse((await get(`/m/lookup?signal_type=pdq&signal=${far}`)).body))).toEqual(['CONFIRMED']);
    const near = pdqToHex(nearDuplicate(createHashOf(bridgeHash), 0, 3, rand));
    const both = LookupBySignal.parse((await get(`/m/lookup?signal_type=pdq&signal=${near}`)).body);
    expect(Object.keys(both).sort()).toEqual(['CONFIRMED', 'REVIEW']);
    expect(both.CONFIRMED![0]!.bank_content_id).not.toBe(both.REVIEW![0]!.bank_content_id);
    // banks= restricts the search; no match is an empty object.
    expect(LookupBySignal.parse((await get(`/m/lookup?signal_type=pdq&signal=${near}&banks=REVIEW`)).body)).toEqual({
      REVIEW: both.REVIEW,
    });
    expect((await get(`/m/lookup?signal_type=pdq&signal=${pdqToHex(randomHashes(1, rand))}`)).body).toEqual({});
  });

  it('POST /m/lookup hashes an uploaded photo and answers by signal type', async () => {
    const form = new FormData();
    form.append('photo', new Blob([await readFile(BRIDGE)], { type: 'image/png' }), 'bridge.png');
    const res = await fetch(`${base}/m/lookup`, { method: 'POST', body: form });
    expect(res.status).toBe(200);
    const body = LookupByType.parse(await res.json());
    expect(body).toEqual({
      pdq: {
        CONFIRMED: [{ bank_content_id: bankContentId('CONFIRMED', bridgeHash), distance: '0' }],
        REVIEW: [{ bank_content_id: bankContentId('REVIEW', bridgeHash), distance: '0' }],
      },
    });
    const other = new FormData();
    other.append('photo', new Blob([await readFile(PEN)], { type: 'image/png' }), 'pen.png');
    expect(LookupByType.parse(await (await fetch(`${base}/m/lookup?banks=CONFIRMED`, { method: 'POST', body: other })).json())).toEqual({
      pdq: {},
    });
  });

  it('GET /m/raw_lookup: ids, or ids with distances', async () => {
    const near = pdqToHex(nearDuplicate(createHashOf(bridgeHash), 0, 2, rand));
    const ids = RawLookupResponse.parse((await get(`/m/raw_lookup?signal_type=pdq&signal=${near}`)).body);
    expect([...ids.matches].sort()).toEqual([bankContentId('CONFIRMED', bridgeHash), bankContentId('REVIEW', bridgeHash)].sort());
    const withDistance = RawLookupResponse.parse((await get(`/m/raw_lookup?signal_type=pdq&signal=${near}&include_distance=true`)).body);
    expect(withDistance.matches).toHaveLength(2);
    for (const m of withDistance.matches) expect(m).toMatchObject({ distance: '2' });
  });

  it('GET /m/index/status and the banks', async () => {
    const status = IndexStatusResponse.parse((await get('/m/index/status')).body);
    expect(status.pdq).toMatchObject({ present: true, size: 5_002 });
    expect(status.pdq!.built_to).toBeGreaterThan(Date.now() / 1000 - 600);
    expect(IndexStatusResponse.parse((await get('/m/index/status?signal_type=pdq')).body)).toEqual(status);
    expect(z.array(BankConfig).parse((await get('/c/banks')).body)).toEqual([
      { name: 'CONFIRMED', matching_enabled_ratio: 1 },
      { name: 'REVIEW', matching_enabled_ratio: 1 },
    ]);
    expect(BankConfig.parse((await get('/c/bank/REVIEW')).body)).toEqual({ name: 'REVIEW', matching_enabled_ratio: 1 });
    const missing = await get('/c/bank/NOPE');
    expect(missing.status).toBe(404);
    expect(ErrorResponse.parse(missing.body)).toEqual({ message: "bank 'NOPE' not found" });
  });

  it('answers bad requests as HMA does: { message } with 400 or 403', async () => {
    const cases: Array<[string, number, RegExp]> = [
      ['/m/lookup?signal_type=md5&signal=abc', 400, /No such SignalType 'md5'/],
      ['/m/lookup?signal_type=pdq&signal=xyz', 400, /invalid signal/],
      ['/m/lookup?signal_type=pdq', 400, /Either url or both signal and signal_type are required/],
      ['/m/lookup?url=http://127.0.0.1/x.png', 403, /URL/],
      ['/m/raw_lookup?signal=abc', 400, /signal_type is required/],
      [`/m/raw_lookup?signal_type=pdq&signal=${bridgeHash}&include_distance=maybe`, 400, /invalid boolean/],
      ['/m/index/status?signal_type=video_md5', 400, /No such signal type/],
    ];
    for (const [path, status, message] of cases) {
      const r = await get(path);
      expect(r.status, path).toBe(status);
      expect(ErrorResponse.parse(r.body).message).toMatch(message);
    }
    const noFile = await fetch(`${base}/m/lookup`, { method: 'POST', body: new FormData() });
    expect(noFile.status).toBe(400);
    const video = new FormData();
    video.append('video', new Blob([Buffer.from('not a video')]), 'x.mp4');
    const wrongType = await fetch(`${base}/m/lookup`, { method: 'POST', body: video });
    expect(wrongType.status).toBe(400);
    expect(ErrorResponse.parse(await wrongType.json()).message).toMatch(/no such content_type: 'video'/);
    const garbage = new FormData();
    garbage.append('photo', new Blob([Buffer.from('not an image')]), 'x.png');
    expect((await fetch(`${base}/m/lookup`, { method: 'POST', body: garbage })).status).toBe(400);
  });

  it('streamscreen matcher serve starts, serves and stops on SIGTERM', async () => {
    const config = join(dir, 'matcher.json');
    await writeFile(
      config,
      JSON.stringify({
        hash: { objectStore: { enabled: false }, lists: [{ id: 'CONFIRMED', path: join(dir, 'CONFIRMED.txt') }] },
        log: { level: 'silent' },
      }),
    );
    const child = spawn(process.execPath, [CLI, 'matcher', 'serve', '--config', config, '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`matcher exited with ${code}`)));
    });
    const status = IndexStatusResponse.parse(await (await fetch(`${url}/m/index/status`)).json());
    expect(status.pdq).toMatchObject({ present: true, size: 2_501 });
    child.kill('SIGTERM');
    expect(await new Promise((resolve) => child.once('exit', resolve))).toBe(0);
    await promisify(execFile)(process.execPath, [CLI, 'matcher', '--help']);
  }, 30_000);
});

function createHashOf(hex: string): Uint16Array {
  const out = new Uint16Array(16);
  for (let i = 0; i < 16; i++) out[i] = parseInt(hex.slice(i * 4, i * 4 + 4), 16);
  return out;
}

describe('HMA API request logging', () => {
  /** A matcher on one small list, logging at info into `lines`. */
  async function matcherLoggingTo(lines: Array<Record<string, unknown>>, logRequests?: boolean): Promise<RunningMatcher> {
    const dir = await mkdtemp(join(tmpdir(), 'matcher-log-'));
    await writeFile(join(dir, 'L.txt'), `${pdqToHex(randomHashes(1, seededRandom(9)))}\n`);
    const loaded = loadConfig({
      env: {},
      cwd: dir,
      overrides: {
        hash: { objectStore: { enabled: false }, lists: [{ id: 'L', path: join(dir, 'L.txt') }] },
        matcher: { port: 0, ...(logRequests === undefined ? {} : { logRequests }) },
      },
    });
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const running = await startMatcher(loaded, logger);
    await rm(dir, { recursive: true, force: true });
    return running;
  }

  it('logs no line per look-up by default, and Fastify’s per-request lines with matcher.logRequests', async () => {
    const q = pdqToHex(randomHashes(1, seededRandom(10)));
    const perRequest = (lines: Array<Record<string, unknown>>) => lines.filter((l) => l.msg === 'request completed').length;
    for (const logRequests of [undefined, true]) {
      const lines: Array<Record<string, unknown>> = [];
      const running = await matcherLoggingTo(lines, logRequests);
      try {
        const base = `http://127.0.0.1:${running.port}`;
        for (let i = 0; i < 3; i++) expect((await fetch(`${base}/m/lookup?signal_type=pdq&signal=${q}`)).status).toBe(200);
        expect(perRequest(lines)).toBe(logRequests ? 3 : 0);
        expect(lines.some((l) => l.msg === 'matcher serving')).toBe(true);
      } finally {
        await running.stop();
      }
    }
  });
});
