import { describe, expect, it } from 'vitest';
import {
  buildDemuxArgs,
  buildFilterChain,
  buildSamplerArgs,
  buildVideoFilter,
  rateFilter,
  scaleFilter,
  SKIP_NONREF_MAX_FPS,
} from '../../../src/worker/sampler/ffmpeg-args.js';
import { samplerOptions } from '../../support/stage-options.js';
import { parseSourceUrl } from '../../../src/worker/sampler/source-url.js';

const protocols = new Set(['rtmp', 'rtmps', 'http', 'https', 'srt', 'file']);
const opts = samplerOptions();

function argAfter(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i < 0 ? undefined : args[i + 1];
}

describe('buildSamplerArgs', () => {
  it('rtmp: low-latency input flags, rw_timeout in microseconds, whitelist, forced flv, then -i', () => {
    const source = parseSourceUrl('rtmp://ingest.example:1935/live/sk_secret', { protocols });
    const args = buildSamplerArgs({ source, options: { ...opts, rwTimeoutMs: 2500 }, hasFpsMode: true });
    const input = args.indexOf('-i');
    expect(args[input + 1]).toBe('rtmp://ingest.example:1935/live/sk_secret');
    const before = args.slice(0, input);
    expect(before).toEqual([
      '-hide_banner',
      '-nostdin',
      '-nostats',
      '-loglevel',
      'level+info',
      '-probesize',
      '32',
      '-analyzeduration',
      '0',
      '-flags',
      'low_delay',
      '-skip_frame',
      'noref',
      '-threads',
      '1',
      '-rw_timeout',
      '2500000',
      '-protocol_whitelist',
      'rtmp,rtmps,tcp,tls,httpproxy',
      '-rtmp_live',
      'live',
      '-f',
      'flv',
    ]);
  });

  it('output: first video stream only, source timestamps, passthrough timing, one encoder thread, rgb24 on stdout', () => {
    const source = parseSourceUrl('rtmp://h/live/k', { protocols });
    const args = buildSamplerArgs({ source, options: opts, hasFpsMode: true });
    const after = args.slice(args.indexOf('-i') + 2);
    expect(after).toEqual([
      '-map',
      '0:v:0',
      '-an',
      '-sn',
      '-dn',
      '-copyts',
      '-vf',
      buildVideoFilter(opts),
      '-fps_mode',
      'passthrough',
      '-threads',
      '1',
      '-flush_packets',
      '1',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      'pipe:1',
    ]);
  });

  it('keyframe runs: a remuxer reads the source exactly as a full-decode run does; the decoder reads its FLV on stdin', () => {
    const source = parseSourceUrl('rtmp://h/live/k', { protocols });
    const all = buildSamplerArgs({ source, options: opts, hasFpsMode: true });
    const decoder = buildSamplerArgs({ source, options: opts, hasFpsMode: true, keyframesOnly: true });
    const demux = buildDemuxArgs({ source, options: opts });
    // The remuxer: the same probe, protocol and demuxer options and input, copied (not decoded) to FLV, flushed per packet.
    const sourcePart = all.slice(all.indexOf('-rw_timeout'), all.indexOf('-i') + 2);
    expect(demux.slice(demux.indexOf('-rw_timeout'), demux.indexOf('-i') + 2)).toEqual(sourcePart);
    expect(demux.slice(demux.indexOf('-i') + 2)).toEqual([
      '-map',
      '0:v:0',
      '-an',
      '-sn',
      '-dn',
      '-copyts',
      '-c',
      'copy',
      '-flush_packets',
      '1',
      '-f',
      'flv',
      'pipe:1',
    ]);
    expect(demux).toContain('-probesize');
    // The remuxer's demuxer drops the frames between keyframes, before they are piped to the worker.
    expect(argAfter(demux, '-discard:v')).toBe('nokey');
    expect(demux.indexOf('-discard:v')).toBeLessThan(demux.indexOf('-i'));
    expect(all).not.toContain('-discard:v');
    // The decoder: no network options; low-delay, one thread, FLV from stdin; no -skip_frame
    // (it would make the decoder ignore the relay's end-of-sequence packets).
    const input = decoder.slice(0, decoder.indexOf('-i') + 2);
    expect(input.slice(input.indexOf('-flags'))).toEqual([
      '-flags',
      'low_delay',
      '-threads',
      '1',
      '-probesize',
      '32',
      '-analyzeduration',
      '0',
      '-f',
      'flv',
      '-i',
      'pipe:0',
    ]);
    expect(decoder).not.toContain('-skip_frame');
    expect(decoder).not.toContain('-rw_timeout');
    // Same output either way.
    expect(decoder.slice(decoder.indexOf('-i') + 2)).toEqual(all.slice(all.indexOf('-i') + 2));
  });

  it('reports every decoded keyframe on a side branch that ends in a sink, before the frames are selected', () => {
    expect(buildVideoFilter(opts)).toBe(
      `split=2[frames][keys];[keys]select='eq(key,1)',showinfo@key=checksum=0,nullsink;[frames]${buildFilterChain(opts)}`,
    );
  });

  it('uses -vsync on builds without -fps_mode (the 2018 static build)', () => {
    const source = parseSourceUrl('rtmp://h/live/k', { protocols });
    const args = buildSamplerArgs({ source, options: opts, hasFpsMode: false });
    expect(argAfter(args, '-vsync')).toBe('passthrough');
    expect(args).not.toContain('-fps_mode');
  });

  it('hls: forced hls demuxer, nested-protocol whitelist, newest segment, no tiny probe', () => {
    const source = parseSourceUrl('https://cdn.example/live/index.m3u8?token=abc', { protocols });
    const args = buildSamplerArgs({ source, options: opts, hasFpsMode: true });
    expect(argAfter(args, '-f')).toBe('hls');
    expect(argAfter(args, '-protocol_whitelist')).toBe('http,https,tcp,tls,crypto,httpproxy');
    expect(argAfter(args, '-live_start_index')).toBe('-1');
    expect(args).not.toContain('-probesize');
    expect(argAfter(args, '-flags')).toBe('low_delay');
    expect(argAfter(args, '-rw_timeout')).toBe(String(opts.rwTimeoutMs * 1000));
  });

  it('srt: forced mpegts and an srt-only whitelist', () => {
    const source = parseSourceUrl('srt://10.0.0.1:9000?streamid=abc', { protocols });
    const args = buildSamplerArgs({ source, options: opts, hasFpsMode: true });
    expect(argAfter(args, '-f')).toBe('mpegts');
    expect(argAfter(args, '-protocol_whitelist')).toBe('srt');
    expect(argAfter(args, '-probesize')).toBe('32');
  });

  it('file: file-only whitelist, -re when realtime, no rw_timeout, demuxer probed', () => {
    const source = parseSourceUrl('/tmp/clip.mp4', { allowFiles: true, protocols });
    const args = buildSamplerArgs({ source, options: opts, hasFpsMode: true });
    expect(argAfter(args, '-protocol_whitelist')).toBe('file');
    expect(args).toContain('-re');
    expect(args).not.toContain('-rw_timeout');
    expect(args.slice(0, args.indexOf('-i'))).not.toContain('-f');
    expect(argAfter(args, '-i')).toBe('file:/tmp/clip.mp4');
    const fast = buildSamplerArgs({ source, options: { ...opts, fileRealtime: false }, hasFpsMode: true });
    expect(fast).not.toContain('-re');
  });

  it('lowLatency off drops the probe/buffer/decoder flags; encoderThreads 0 leaves the choice to ffmpeg', () => {
    const source = parseSourceUrl('rtmp://h/live/k', { protocols });
    const args = buildSamplerArgs({ source, options: { ...opts, lowLatency: false, encoderThreads: 0 }, hasFpsMode: true });
    for (const f of ['-probesize', '-analyzeduration', '-flags']) expect(args).not.toContain(f);
    expect(args).not.toContain('nobuffer');
    const out = args.slice(args.indexOf('-i') + 2);
    expect(argAfter(out, '-threads')).toBe('0');
  });
});

describe('full decoding of a live source skips non-reference frames when sampling sparsely', () => {
  const source = parseSourceUrl('rtmp://h/live/k', { protocols });
  it('on live sources up to SKIP_NONREF_MAX_FPS; never above it, in keyframe runs or on files', () => {
    for (const fps of [0.2, 1, SKIP_NONREF_MAX_FPS]) {
      expect(argAfter(buildSamplerArgs({ source, options: { ...opts, fps }, hasFpsMode: true }), '-skip_frame')).toBe('noref');
    }
    expect(buildSamplerArgs({ source, options: { ...opts, fps: SKIP_NONREF_MAX_FPS + 1 }, hasFpsMode: true })).not.toContain('-skip_frame');
    expect(buildSamplerArgs({ source, options: opts, hasFpsMode: true, keyframesOnly: true })).not.toContain('-skip_frame');
    // A file (an operator hashing a reference video) decodes every frame: each slot takes its first.
    const file = parseSourceUrl('/videos/reference.mp4', { protocols, allowFiles: true });
    expect(buildSamplerArgs({ source: file, options: opts, hasFpsMode: true })).not.toContain('-skip_frame');
  });
});

describe('filter chain', () => {
  it('select picks the first frame of each 1/fps slot, without the fps filter', () => {
    expect(rateFilter(1, 'select')).toBe("select='isnan(prev_selected_t)+gt(floor(t*1),floor(prev_selected_t*1))'");
    expect(rateFilter(0.5, 'select')).toContain('floor(t*0.5)');
    expect(rateFilter(2, 'fps')).toBe('fps=2');
    expect(rateFilter(1e-7, 'select')).toContain('floor(t*0.0000001)');
    expect(() => rateFilter(0, 'select')).toThrow(RangeError);
  });

  it('shrink reduces only frames larger than the target; exact always scales', () => {
    expect(scaleFilter({ width: 512, height: 512, scaleMode: 'exact', scaleFlags: 'area' })).toBe('scale=512:512:flags=area');
    expect(scaleFilter({ width: 512, height: 512, scaleMode: 'shrink', scaleFlags: 'area' })).toBe(
      "scale=w='if(gt(iw,512)+gt(ih,512),512,iw)':h='if(gt(iw,512)+gt(ih,512),512,ih)':flags=area",
    );
  });

  it('ends with rgb24 and the named showinfo whose lines carry pts and size', () => {
    expect(buildFilterChain(opts).split(',').slice(-2)).toEqual(['format=rgb24', 'showinfo@frame']);
  });
});
