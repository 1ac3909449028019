import { describe, expect, it } from 'vitest';
import { errorForExit, type FfmpegExit } from '../../../src/worker/sampler/exit-reason.js';
import { LineSplitter, parseFrameInfo, parseLogLine } from '../../../src/worker/sampler/ffmpeg-log.js';
import { parseSourceUrl } from '../../../src/worker/sampler/source-url.js';

describe('ffmpeg log lines', () => {
  it('reads context and level from -loglevel level+ output, including names with @ and commas', () => {
    expect(parseLogLine('[tcp @ 0x55988c54bd00] [error] Connection to tcp://127.0.0.1:1?tcp_nodelay=0 failed: Connection refused')).toEqual(
      {
        context: 'tcp',
        level: 'error',
        text: 'Connection to tcp://127.0.0.1:1?tcp_nodelay=0 failed: Connection refused',
      },
    );
    expect(parseLogLine('[hls,applehttp @ 0x2b2f3c80] [warning] Failed to open segment 0 of playlist 0')).toMatchObject({
      context: 'hls,applehttp',
      level: 'warning',
    });
    expect(parseLogLine('[error] rtmp://h/live/k: Connection refused')).toEqual({
      context: undefined,
      level: 'error',
      text: 'rtmp://h/live/k: Connection refused',
    });
    expect(parseLogLine('If you wish to override this adjust allowed_extensions')).toMatchObject({ level: undefined });
  });

  it("parses our showinfo's per-frame line (5.1 and 2018 formats) and ignores the rest", () => {
    const deb = parseLogLine(
      '[showinfo@frame @ 0x5594d46a0e80] [info] n:   1 pts:   1533 pts_time:1.533   pos:   105416 fmt:rgb24 sar:4/3 s:64x48 i:P iskey:0 type:P checksum:BC495 plane_checksum:[BC49514E] mean:[124] stdev:[118.1]',
    );
    expect(parseFrameInfo(deb)).toEqual({ n: 1, pts: 1.533, width: 64, height: 48 });
    const old = parseLogLine(
      '[showinfo@frame @ 0x2e71f0c0] [info] n:   0 pts:   1000 pts_time:1       pos:    67503 fmt:rgb24 sar:4/3 s:512x512 i:P iskey:1 type:I checksum:A2CA2AA6 ',
    );
    expect(parseFrameInfo(old)).toEqual({ n: 0, pts: 1, width: 512, height: 512 });
    expect(
      parseFrameInfo(parseLogLine('[showinfo@frame @ 0x1] [info] n:   3 pts:NOPTS pts_time:NOPTS pos: 1 fmt:rgb24 s:8x8 i:P')),
    ).toMatchObject({ n: 3, pts: undefined });
    expect(parseFrameInfo(parseLogLine('[showinfo@frame @ 0x1] [info] color_range:pc color_space:gbr'))).toBeUndefined();
    expect(parseFrameInfo(parseLogLine('[Parsed_showinfo_0 @ 0x1] [info] n:   0 pts:   0 pts_time:0 s:8x8 '))).toBeUndefined();
  });

  it('splits on \\n, \\r\\n and \\r across chunks, and bounds a runaway line', () => {
    const s = new LineSplitter(16);
    expect(s.push('one\ntw')).toEqual(['one']);
    expect(s.push('o\r\nthree\rfour')).toEqual(['two', 'three']);
    expect(s.flush()).toEqual(['four']);
    expect(s.push('x'.repeat(40))).toEqual(['x'.repeat(16)]);
  });
});

const lines = (...raw: string[]) => raw.map(parseLogLine);
const exit = (over: Partial<FfmpegExit>): FfmpegExit => ({ code: 1, signal: null, lines: [], framesSeen: 0, kind: 'rtmp', ...over });

describe('errorForExit', () => {
  it('connection refused (real 5.1 output) is source_unreachable and retryable, with the key redacted', () => {
    const src = parseSourceUrl('rtmp://127.0.0.1:1/live/secretkey');
    const err = errorForExit(
      exit({
        lines: lines(
          '[tcp @ 0x1] [error] Connection to tcp://127.0.0.1:1?tcp_nodelay=0 failed: Connection refused',
          '[rtmp @ 0x2] [error] Cannot open connection tcp://127.0.0.1:1?tcp_nodelay=0',
          '[error] rtmp://127.0.0.1:1/live/secretkey: Connection refused',
        ),
      }),
      (t) => src.redact(t),
    );
    expect(err).toMatchObject({ code: 'source_unreachable', retryable: true });
    expect(err?.message).toContain('Connection refused');
    expect(err?.message).not.toContain('secretkey');
  });

  it('HTTP 404 and 403 are source_unreachable (a live playlist may not exist yet)', () => {
    const err = errorForExit(
      exit({
        kind: 'hls',
        lines: lines(
          '[http @ 0x1] [warning] HTTP error 404 File not found',
          '[error] http://127.0.0.1:18080/missing.m3u8: Server returned 404 Not Found',
        ),
      }),
    );
    expect(err).toMatchObject({ code: 'source_unreachable', retryable: true });
    expect(err?.message).toMatch(/404/);
    expect(
      errorForExit(exit({ kind: 'hls', lines: lines('[error] https://h/x.m3u8: Server returned 403 Forbidden (access denied)') }))?.code,
    ).toBe('source_unreachable');
  });

  it('DNS failure outranks the generic I/O error that follows it', () => {
    const err = errorForExit(
      exit({
        kind: 'hls',
        lines: lines(
          '[tcp @ 0x1] [error] Failed to resolve hostname nonexistent.invalid: Name or service not known',
          '[error] http://nonexistent.invalid/x.m3u8: Input/output error',
        ),
      }),
    );
    expect(err).toMatchObject({ code: 'source_unreachable' });
    expect(err?.message).toMatch(/resolve hostname/);
  });

  it('an I/O timeout is a stall once frames flowed, unreachable before', () => {
    const l = lines('[error] rtmp://h/live/k: Input/output error');
    expect(errorForExit(exit({ lines: l, framesSeen: 12 }))?.code).toBe('source_stalled');
    expect(errorForExit(exit({ lines: l, framesSeen: 0 }))?.code).toBe('source_unreachable');
  });

  it('undecodable input is source_invalid: retryable live, terminal for a file', () => {
    const l = lines('[error] http://127.0.0.1:18080/page.m3u8: Invalid data found when processing input');
    expect(errorForExit(exit({ kind: 'hls', lines: l }))).toMatchObject({ code: 'source_invalid', retryable: true });
    expect(errorForExit(exit({ kind: 'file', lines: l }))).toMatchObject({ code: 'source_invalid', retryable: false });
  });

  it('network causes outrank decode noise logged before the drop', () => {
    const err = errorForExit(
      exit({
        framesSeen: 40,
        lines: lines(
          '[h264 @ 0x1] [error] Invalid NAL unit size (1 > 0).',
          '[h264 @ 0x1] [error] error while decoding MB 3 4',
          '[error] rtmp://h/live/k: Connection reset by peer',
        ),
      }),
    );
    expect(err?.code).toBe('source_unreachable');
  });

  it('a protocol refused by the whitelist is terminal source_invalid', () => {
    const err = errorForExit(
      exit({ kind: 'hls', lines: lines("[hls @ 0x1] [error] Protocol 'file' not on whitelist 'http,https,tcp,tls,crypto'!") }),
    );
    expect(err).toMatchObject({ code: 'source_invalid', retryable: false });
  });

  it('argument errors (our bug or an incompatible build) are terminal ffmpeg_crashed', () => {
    expect(
      errorForExit(
        exit({ lines: lines("[error] Unrecognized option 'fps_mode'.", '[fatal] Error splitting the argument list: Option not found') }),
      ),
    ).toMatchObject({
      code: 'ffmpeg_crashed',
      retryable: false,
    });
    expect(errorForExit(exit({ lines: lines("[AVFilterGraph @ 0x1] [error] No such filter: 'showinfox'") }))?.retryable).toBe(false);
  });

  it('a missing file is terminal; a clean end of a file is no error', () => {
    expect(errorForExit(exit({ kind: 'file', lines: lines('[error] file:/nope.mp4: No such file or directory') }))).toMatchObject({
      code: 'source_unreachable',
      retryable: false,
    });
    expect(errorForExit(exit({ kind: 'file', code: 0 }))).toBeUndefined();
  });

  it('a live source ending cleanly is worth a restart', () => {
    expect(errorForExit(exit({ code: 0, framesSeen: 30 }))).toMatchObject({
      code: 'source_unreachable',
      retryable: true,
      message: expect.stringMatching(/ended/),
    });
  });

  it('exit 0 after a read error (ffmpeg ends "normally" on rw_timeout) is still classified by the error', () => {
    const err = errorForExit(exit({ code: 0, framesSeen: 2, lines: lines('[error] rtmp://127.0.0.1:19351/live/key: Input/output error') }));
    expect(err).toMatchObject({ code: 'source_stalled', retryable: true });
  });

  it('signals and unknown failures are retryable ffmpeg_crashed (the 2018 build segfaults on DNS errors)', () => {
    expect(errorForExit(exit({ code: 139 }))).toMatchObject({
      code: 'ffmpeg_crashed',
      retryable: true,
      message: 'ffmpeg was killed by signal 11',
    });
    expect(errorForExit(exit({ code: null, signal: 'SIGSEGV' }))?.message).toBe('ffmpeg was killed by SIGSEGV');
    expect(errorForExit(exit({ code: 1, lines: lines('[error] something new and strange') }))?.message).toBe(
      'ffmpeg exited with status 1: something new and strange',
    );
  });
});
