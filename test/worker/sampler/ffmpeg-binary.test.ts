import { existsSync } from 'node:fs';
import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { SourceError } from '../../../src/domain/errors.js';
import { parseFfmpegVersion, parseInputProtocols, probeFfmpeg, resolveFfmpeg } from '../../../src/worker/sampler/ffmpeg-binary.js';

const DEBIAN = '/usr/bin/ffmpeg';
const BUNDLED = new URL('../../../node_modules/@ffmpeg-installer/linux-x64/ffmpeg', import.meta.url).pathname;

describe('ffmpeg binary resolution (real binaries)', () => {
  it('FFMPEG_PATH wins and is probed: version, protocols, -fps_mode', async () => {
    const b = await resolveFfmpeg({ envPath: DEBIAN, pathEnv: '/nonexistent' });
    expect(b).toMatchObject({ path: DEBIAN, source: 'env', hasFpsMode: true });
    expect(b.version).toMatch(/^5\./);
    for (const p of ['rtmp', 'rtmps', 'http', 'https', 'tcp', 'tls', 'srt', 'crypto']) expect(b.protocols.has(p)).toBe(true);
  });

  it('then ffmpeg on PATH', async () => {
    const b = await resolveFfmpeg({ pathEnv: '/nonexistent:/usr/bin' });
    expect(b).toMatchObject({ path: DEBIAN, source: 'path' });
  });

  it.runIf(existsSync(BUNDLED))('then the bundled 2018 static build: no SRT, no -fps_mode', async () => {
    const b = await resolveFfmpeg({ pathEnv: '/nonexistent' });
    expect(b.source).toBe('bundled');
    expect(b.path).toBe(BUNDLED);
    expect(b.protocols.has('rtmp')).toBe(true);
    expect(b.protocols.has('srt')).toBe(false);
    expect(b.hasFpsMode).toBe(false);
  });

  it('a broken FFMPEG_PATH is an error, not a silent fallback', async () => {
    await expect(resolveFfmpeg({ envPath: '/nonexistent/ffmpeg', pathEnv: '/usr/bin' })).rejects.toMatchObject({
      code: 'ffmpeg_missing',
      message: expect.stringContaining('FFMPEG_PATH=/nonexistent/ffmpeg'),
    });
    // A binary that runs but is not ffmpeg.
    await expect(resolveFfmpeg({ envPath: '/bin/true' })).rejects.toBeInstanceOf(SourceError);
  });

  it('ffmpeg_missing with what was tried when nothing works', async () => {
    const err = await resolveFfmpeg({ pathEnv: '/nonexistent', bundledPath: () => undefined }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ffmpeg_missing', retryable: false });
    expect((err as Error).message).toMatch(/no ffmpeg on PATH.*not installed/);
  });

  it('logs the chosen binary and version', async () => {
    const logged: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        logged.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    await resolveFfmpeg({ envPath: DEBIAN, logger: pino(sink) });
    expect(logged).toEqual([
      expect.objectContaining({ msg: 'using ffmpeg', ffmpeg: DEBIAN, source: 'env', version: expect.stringMatching(/^5\./), srt: true }),
    ]);
  });

  it('probeFfmpeg rejects a non-ffmpeg', async () => {
    await expect(probeFfmpeg('/bin/echo', 'env')).rejects.toThrow(/did not print an ffmpeg version/);
  });
});

describe('probe output parsing', () => {
  it('reads versions and the input protocol list', () => {
    expect(parseFfmpegVersion('ffmpeg version 5.1.9-0+deb12u1 Copyright (c) 2000-2026')).toBe('5.1.9-0+deb12u1');
    expect(parseFfmpegVersion('ffmpeg version N-47683-g0e8eb07980-static https://johnvansickle.com/ffmpeg/')).toBe(
      'N-47683-g0e8eb07980-static',
    );
    const p = parseInputProtocols('Supported file protocols:\nInput:\n  file\n  rtmp\n  srt\nOutput:\n  icecast\n  rtmp\n');
    expect([...p]).toEqual(['file', 'rtmp', 'srt']);
  });
});
