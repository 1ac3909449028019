import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlvKeyframeRelay, FlvRelayError } from '../../../src/worker/sampler/flv-keyframes.js';
import { DEBIAN_FFMPEG } from './helpers.js';

// The keyframe relay over FLV written by ffmpeg itself (x264 with B-frames, a keyframe every
// 10 frames), fed in uneven chunks as a pipe delivers it.

const execFileP = promisify(execFile);
let dir: string;
let flv: Buffer;

interface Tag {
  readonly type: number;
  readonly timestamp: number;
  readonly data: Buffer;
}

/** Tags of an FLV byte stream (after the 13-byte header). */
function tags(bytes: Buffer): Tag[] {
  const out: Tag[] = [];
  for (let pos = 13; pos + 11 <= bytes.length;) {
    const size = bytes.readUIntBE(pos + 1, 3);
    const timestamp = bytes.readUIntBE(pos + 4, 3) | (bytes[pos + 7]! << 24);
    out.push({ type: bytes[pos]!, timestamp, data: bytes.subarray(pos + 11, pos + 11 + size) });
    // Each tag ends with its own size.
    expect(bytes.readUInt32BE(pos + 11 + size)).toBe(11 + size);
    pos += 11 + size + 4;
  }
  return out;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'streamscreen-flv-'));
  const path = join(dir, 'b-frames.flv');
  await execFileP(DEBIAN_FFMPEG, [
    '-hide_banner',
    '-loglevel',
    'error',
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=160x120:rate=10:duration=3',
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-bf',
    '2',
    '-g',
    '10',
    '-keyint_min',
    '10',
    '-sc_threshold',
    '0',
    '-pix_fmt',
    'yuv420p',
    path,
  ]);
  flv = await readFile(path);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('FLV keyframe relay', () => {
  it('passes the header, metadata and decoder configuration, keeps only keyframes, and follows each with an end-of-sequence packet', () => {
    const relay = new FlvKeyframeRelay();
    const out: Buffer[] = [];
    // Uneven chunks: tags split across reads.
    for (let pos = 0; pos < flv.length; pos += 777) out.push(...relay.push(flv.subarray(pos, pos + 777)));
    const relayed = Buffer.concat(out);
    expect(relayed.subarray(0, 13)).toEqual(flv.subarray(0, 13));

    const source = tags(flv).filter((t) => t.type === 9);
    const keys = source.filter((t) => t.data[0]! >> 4 === 1 && t.data[1] === 1);
    const inter = source.filter((t) => t.data[0]! >> 4 === 2);
    expect(keys.length).toBe(3);
    expect(inter.length).toBeGreaterThan(20);
    expect(relay.stats).toEqual({ keyframes: 3, dropped: inter.length });

    const video = tags(relayed).filter((t) => t.type === 9);
    // The configuration record, then keyframe + end-of-sequence pairs, then the muxer's own
    // end-of-stream marker (AVC packet type 2), nothing else.
    expect(video[0]!.data[1]).toBe(0);
    expect(video.at(-1)!.data[1]).toBe(2);
    const rest = video.slice(1, -1);
    expect(rest).toHaveLength(2 * keys.length);
    rest.forEach((t, i) => {
      if (i % 2 === 0) {
        expect(t.data).toEqual(keys[i / 2]!.data);
      } else {
        // Keyframe, AVC NAL units, composition time 0, one NAL unit of 1 byte: type 10.
        expect([...t.data]).toEqual([0x17, 0x01, 0, 0, 0, 0, 0, 0, 1, 0x0a]);
        expect(t.timestamp).toBe(rest[i - 1]!.timestamp);
      }
    });
    // Non-video tags (onMetaData) pass unchanged.
    expect(tags(relayed).filter((t) => t.type === 18)).toEqual(tags(flv).filter((t) => t.type === 18));
  });

  it('decodes, with ffmpeg, to exactly the keyframes', async () => {
    const relay = new FlvKeyframeRelay();
    const relayed = Buffer.concat(relay.push(flv));
    const path = join(dir, 'relayed.flv');
    await import('node:fs/promises').then((fs) => fs.writeFile(path, relayed));
    const { stderr } = await execFileP(DEBIAN_FFMPEG, [
      '-hide_banner',
      '-loglevel',
      'level+info',
      '-i',
      path,
      '-vf',
      'showinfo=checksum=0',
      '-f',
      'null',
      '-',
    ]);
    const decoded = [...stderr.matchAll(/pts_time:(\S+).*iskey:(\d)/g)].map((m) => ({ t: Number(m[1]), key: m[2] }));
    expect(decoded).toEqual([
      { t: 0, key: '1' },
      { t: 1, key: '1' },
      { t: 2, key: '1' },
    ]);
  });

  it('refuses what is not FLV', () => {
    expect(() => new FlvKeyframeRelay().push(Buffer.from('RIFF\0\0\0\0WAVEfmt '))).toThrow(FlvRelayError);
  });
});
