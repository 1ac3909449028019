import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HashListError } from '../../src/domain/errors.js';
import { pdqToHex } from '../../src/domain/pdq.js';
import { createHashMatcher } from '../../src/hash/hash-matcher.js';
import { indexParsedList } from '../../src/hash/load-list.js';
import { parseHashList } from '../../src/hash/parse-hashlist.js';
import { formatVpdqLine, parseVpdqFrames, parseVpdqPath } from '../../src/hash/parse-vpdq.js';
import { nearDuplicate, randomHashes, seededRandom } from '../support/synthetic-hashes.js';
import { matcherOptions } from '../support/stage-options.js';

const rand = seededRandom(17);
const pool = randomHashes(40, rand);
const hex = (i: number) => pdqToHex(pool.subarray(i * 16, i * 16 + 16));
const line = (frame: number, quality: number, i: number, seconds: number) =>
  formatVpdqLine(frame, quality, pool.subarray(i * 16, i * 16 + 16), seconds);
const bytes = (text: string) => [new TextEncoder().encode(text)];

describe('vPDQ files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vpdq-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the reference format: frameNumber,quality,pdqHash,timestamp (3 decimals)', async () => {
    const text = [line(0, 100, 0, 0), line(15, 98, 1, 0.5), line(30, 12, 2, 1)].join('\n') + '\n';
    expect(text.split('\n')[1]).toBe(`15,98,${hex(1)},0.500`);
    const f = await parseVpdqFrames(bytes(text), 'v.txt');
    expect(f.count).toBe(3);
    expect([...f.frameNumbers]).toEqual([0, 15, 30]);
    expect([...f.qualities]).toEqual([100, 98, 12]);
    expect([...f.timestamps]).toEqual([0, 0.5, 1]);
    expect(pdqToHex(f.hashes.subarray(16, 32))).toBe(hex(1));
  });

  it('refuses a bad file whole, naming the line', async () => {
    const good = line(0, 100, 0, 0);
    const cases: Array<[string, RegExp]> = [
      [`${good}\n1,100,${hex(1)}\n`, /v.txt:2: .*3 fields/],
      [`${good}\n1,101,${hex(1)},1.000\n`, /v.txt:2: .*quality/],
      [`${good}\n${good}\n2,90,${hex(2).slice(1)}x,2.000\n`, /v.txt:3: .*64 hex/],
      [`x,90,${hex(2)},2.000\n`, /v.txt:1: .*frame number/],
      [`1,90,${hex(2)},-2\n`, /v.txt:1: .*timestamp/],
      ['\n\n', /empty vPDQ file/],
    ];
    for (const [text, message] of cases) {
      const err = await parseVpdqFrames(bytes(text), 'v.txt').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HashListError);
      expect(String((err as Error).message)).toMatch(message);
    }
  });

  it("a list keeps each video's distinct frames of quality >= 50, earliest time first; a directory is one video per file", async () => {
    const videos = join(dir, 'videos');
    await mkdir(videos);
    // Video a: frame 1 repeats (static scene), frame 2 is too flat to count.
    await writeFile(
      join(videos, 'a.vpdq'),
      [line(0, 100, 0, 0), line(1, 100, 1, 1), line(2, 100, 1, 2), line(3, 20, 2, 3), line(4, 90, 3, 4)].join('\n'),
    );
    await writeFile(join(videos, 'b.txt'), [line(0, 100, 10, 0), line(1, 100, 11, 2)].join('\n'));
    await writeFile(join(videos, 'notes.md'), 'not a video');
    const parsed = await parseVpdqPath(videos);
    const { data } = parsed;
    expect(data.format).toBe('vpdq');
    expect(data.count).toBe(5);
    expect(data.videos?.known).toEqual([
      { id: 'a', frames: 3, duration: 4, step: 1 },
      { id: 'b', frames: 2, duration: 2, step: 2 },
    ]);
    expect(data.stats.lowQuality).toBe(1);
    // Changing a video changes the list's digest.
    await writeFile(join(videos, 'b.txt'), [line(0, 100, 10, 0), line(1, 100, 12, 2)].join('\n'));
    expect((await parseVpdqPath(videos)).sha256).not.toBe(parsed.sha256);
  });

  it('frames of a known video are matched as evidence for the window, never as single-frame kills; look-ups show the video', async () => {
    const text = Array.from({ length: 30 }, (_, i) => line(i, 100, i, i)).join('\n');
    const parsed = await parseHashList(bytes(text), 'case.vpdq', { format: 'vpdq', videoId: 'case-9' });
    const list = await indexParsedList(
      parsed,
      { id: 'videos', action: 'kill', origin: 'test', video: { minMatchedSeconds: 5 } },
      { minIndexedSize: 2 },
    );
    const matcher = createHashMatcher(matcherOptions());
    matcher.source('t').replaceAll([list]);
    const frame = matcher.matchFrame([nearDuplicate(pool, 7, 6, rand)], 100);
    expect(frame.matches).toEqual([]);
    expect(frame.videoFrames).toEqual([
      {
        list: 'videos',
        action: 'kill',
        video: 'case-9',
        videoFrames: 30,
        step: 1,
        hash: hex(7),
        at: 7,
        distance: 6,
        rule: { windowMs: 600_000, matchShare: 0.8, queryShare: 0, minMatchedSeconds: 5 },
      },
    ]);
    expect(matcher.lookup(pool.subarray(7 * 16, 8 * 16))).toEqual([
      { list: 'videos', distance: 0, hash: hex(7), action: 'kill', video: { id: 'case-9', at: 7 } },
    ]);
  });
});
