import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { SourceError } from '../../../src/domain/errors.js';
import { parseSourceUrl, redactUrl, redactUrlsInText } from '../../../src/worker/sampler/source-url.js';

const withSrt = new Set(['rtmp', 'rtmps', 'http', 'https', 'srt', 'file']);
const noSrt = new Set(['rtmp', 'rtmps', 'http', 'https', 'file']);

function invalidMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).code).toBe('source_invalid');
    expect((err as SourceError).retryable).toBe(false);
    return (err as SourceError).message;
  }
  throw new Error('expected a SourceError');
}

describe('parseSourceUrl', () => {
  it('classifies allowed schemes', () => {
    expect(parseSourceUrl('rtmp://a.example/live/key').kind).toBe('rtmp');
    expect(parseSourceUrl('RTMPS://a.example:443/live/key').kind).toBe('rtmp');
    expect(parseSourceUrl('https://cdn.example/x/index.m3u8').kind).toBe('hls');
    expect(parseSourceUrl('http://127.0.0.1:8080/live/index.m3u8').kind).toBe('hls');
    expect(parseSourceUrl('srt://10.1.2.3:9000?streamid=x', { protocols: withSrt }).kind).toBe('srt');
  });

  it('refuses srt when the ffmpeg has no SRT, saying what to do', () => {
    expect(invalidMessage(() => parseSourceUrl('srt://10.1.2.3:9000', { protocols: noSrt }))).toMatch(/without SRT.*FFMPEG_PATH/);
  });

  it('refuses schemes outside the allowlist, including ffmpeg-special ones', () => {
    for (const url of [
      'ftp://h/x',
      'concat:/a.ts|/b.ts',
      'data:video/mp4;base64,AAAA',
      'subfile,,start,0,end,0,,:/etc/passwd',
      'tcp://h:1',
      'udp://h:1',
      'gopher://h/',
    ]) {
      invalidMessage(() => parseSourceUrl(url));
    }
    expect(invalidMessage(() => parseSourceUrl('ftp://h/x'))).toMatch(/"ftp" is not allowed/);
  });

  it('refuses files unless allowed, and passes allowed ones as absolute file: inputs', () => {
    expect(invalidMessage(() => parseSourceUrl('/tmp/a.mp4'))).toMatch(/explicitly allowed/);
    expect(invalidMessage(() => parseSourceUrl('file:///tmp/a.mp4'))).toMatch(/explicitly allowed/);
    const abs = parseSourceUrl('/tmp/a:b.mp4', { allowFiles: true });
    expect(abs.kind).toBe('file');
    expect(abs.input).toBe('file:/tmp/a:b.mp4');
    expect(abs.live).toBe(false);
    expect(parseSourceUrl('file:///tmp/c.mp4', { allowFiles: true }).input).toBe('file:/tmp/c.mp4');
    expect(parseSourceUrl('./rel.mp4', { allowFiles: true }).input).toBe(`file:${process.cwd()}/rel.mp4`);
  });

  it('refuses empty, huge, hostless, unschemed and whitespace-carrying input', () => {
    invalidMessage(() => parseSourceUrl(''));
    invalidMessage(() => parseSourceUrl(`https://h/${'a'.repeat(5000)}`));
    invalidMessage(() => parseSourceUrl('rtmp:///live/key'));
    invalidMessage(() => parseSourceUrl('example.com/live'));
    invalidMessage(() => parseSourceUrl('rtmp://h/live/key\n-i /etc/passwd'));
    invalidMessage(() => parseSourceUrl('rtmp://h/live/ key'));
  });

  it('never puts a stream key into an error message', () => {
    const msg = invalidMessage(() => parseSourceUrl('rtmp://:99999/live/sk_live_SECRET'));
    expect(msg).not.toContain('sk_live_SECRET');
  });
});

describe('redaction', () => {
  it('rtmp: the stream key (everything after the app) goes', () => {
    expect(redactUrl('rtmp://ingest.example:1935/live/sk_live_abc123')).toBe('rtmp://ingest.example:1935/live/***');
    expect(redactUrl('rtmps://u:p@ingest.example/app/inst/key?auth=zzz')).toBe('rtmps://***@ingest.example/app/***?auth=***');
    expect(redactUrl('rtmp://h/live')).toBe('rtmp://h/live');
  });

  it('http(s) and srt: userinfo and query values go, paths stay', () => {
    expect(redactUrl('https://user:pw@cdn.example/a/index.m3u8?token=T0K&exp=1#frag')).toBe(
      'https://***@cdn.example/a/index.m3u8?token=***&exp=***#***',
    );
    expect(redactUrl('srt://10.0.0.1:9000?streamid=live%2Fkey&passphrase=hunter2222')).toBe(
      'srt://10.0.0.1:9000?streamid=***&passphrase=***',
    );
    // An unescaped '#' makes the rest a fragment; it is hidden too.
    expect(redactUrl('srt://10.0.0.1:9000?streamid=#!::r=live/key,m=publish&passphrase=hunter2222')).toBe(
      'srt://10.0.0.1:9000?streamid=***#***',
    );
    const srt = parseSourceUrl('srt://10.0.0.1:9000?streamid=#!::r=live/key,m=publish&passphrase=hunter2222', { protocols: withSrt });
    expect(srt.redact('[srt @ 0x1] passphrase hunter2222 for r=live/key,m=publish')).not.toMatch(/hunter2222|live\/key/);
    expect(redactUrl('not a url')).toBe('<unparseable>');
  });

  it('a SourceUrl serialises, prints and inspects as the redacted form; input keeps the real URL', () => {
    const s = parseSourceUrl('rtmp://h.example/live/sk_SECRET_1');
    expect(s.input).toBe('rtmp://h.example/live/sk_SECRET_1');
    // The template literal is the point: a SourceUrl must redact itself however it is stringified.
    // eslint-disable-next-line @typescript-eslint/restrict-template-expressions
    for (const shown of [JSON.stringify({ s }), String(s), `${s}`, inspect(s), inspect({ nested: { s } })]) {
      expect(shown).not.toContain('sk_SECRET_1');
      expect(shown).toContain('h.example');
    }
  });

  it("scrubs URLs and this source's secrets out of ffmpeg log text", () => {
    const s = parseSourceUrl('rtmp://127.0.0.1:1935/live/sk_SECRET_2?auth=tok3n');
    const line = "[error] rtmp://127.0.0.1:1935/live/sk_SECRET_2?auth=tok3n: Connection refused (stream 'sk_SECRET_2', auth tok3n)";
    const out = s.redact(line);
    expect(out).not.toContain('sk_SECRET_2');
    expect(out).not.toContain('tok3n');
    expect(out).toContain('Connection refused');
    expect(redactUrlsInText("Opening 'https://cdn/seg1.ts?sig=abc' for reading")).toBe("Opening 'https://cdn/seg1.ts?sig=***' for reading");
  });
});
