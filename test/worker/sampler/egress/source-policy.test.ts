import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../../../src/config/index.js';
import { ConfigError } from '../../../../src/domain/errors.js';
import { parseAllowHosts } from '../../../../src/domain/egress/allow-list.js';
import { parseHost } from '../../../../src/domain/egress/host.js';
import { deniedRange, embeddedIPv4 } from '../../../../src/domain/egress/ip-ranges.js';
import { createEgressPolicy, type Lookup, type ResolvedAddress } from '../../../../src/worker/sampler/egress/policy.js';
import { rtmpApp } from '../../../../src/worker/sampler/rtmp-app.js';
import { prepareSource } from '../../../../src/worker/sampler/source-policy.js';
import { parseSourceUrl } from '../../../../src/worker/sampler/source-url.js';
import { srtQueryIssues } from '../../../../src/worker/sampler/srt-options.js';

// Pure logic: nothing here opens a socket or asks real DNS (every name goes to `fakeDns`).

const v4 = (address: string): ResolvedAddress => ({ address, family: 4 });
const v6 = (address: string): ResolvedAddress => ({ address, family: 6 });

function fakeDns(table: Record<string, ResolvedAddress[]>): Lookup & { asked: string[] } {
  const asked: string[] = [];
  const lookup = async (name: string): Promise<ResolvedAddress[]> => {
    asked.push(name);
    const found = table[name];
    if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
    return found;
  };
  return Object.assign(lookup, { asked });
}

describe('deny ranges (ip-ranges.ts)', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['100.64.0.1', 'cgnat'],
    ['100.100.100.200', 'cgnat'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link-local'],
    ['fd00::1', 'unique-local'],
    ['fc00::1', 'unique-local'],
    ['fd00:ec2::254', 'unique-local'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:a9fe:a9fe', 'link-local'],
    ['::ffff:10.0.0.1', 'private'],
    ['64:ff9b::a00:1', 'private'],
    ['2002:7f00:1::1', 'loopback'],
    ['2001::1', 'teredo'],
    ['not-an-ip', 'invalid'],
  ])('%s is %s', (address, label) => {
    expect(deniedRange(address)).toBe(label);
  });

  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808'])(
    '%s is public',
    (address) => {
      expect(deniedRange(address)).toBeUndefined();
    },
  );

  it('reads the IPv4 address inside mapped, NAT64 and 6to4 forms', () => {
    expect(embeddedIPv4('::ffff:7f00:1')).toBe('127.0.0.1');
    expect(embeddedIPv4('64:ff9b::c0a8:101')).toBe('192.168.1.1');
    expect(embeddedIPv4('2002:a9fe:a9fe::')).toBe('169.254.169.254');
    expect(embeddedIPv4('2606:4700::1')).toBeUndefined();
  });
});

describe('hosts as the resolver reads them (host.ts)', () => {
  it.each([
    ['0x7f000001', '127.0.0.1'],
    ['0X7F000001', '127.0.0.1'],
    ['2130706433', '127.0.0.1'],
    ['127.1', '127.0.0.1'],
    ['0177.0.0.1', '127.0.0.1'],
    ['127.0.0.1.', '127.0.0.1'],
    ['10.0x10', '10.0.0.16'],
    ['0', '0.0.0.0'],
    ['[::1]', '::1'],
    ['[::FFFF:127.0.0.1]', '::ffff:127.0.0.1'],
  ])('%s is the address %s', (raw, address) => {
    expect(parseHost(raw)).toMatchObject({ kind: 'ip', address });
  });

  it('normalises names: lower case, no trailing dot, punycode', () => {
    expect(parseHost('Ingest.Example.COM.')).toEqual({ kind: 'name', name: 'ingest.example.com' });
    expect(parseHost('bücher.example')).toEqual({ kind: 'name', name: 'xn--bcher-kva.example' });
  });

  it.each(['1.2.3.256', '08.1.1.1', '1.2.3.4.5', '%31.0.0.1', '[fe80::1%25eth0]', 'a b', '', '.', 'exa mple.com', '[1.2.3.4]'])(
    '%j is refused, never handed to a resolver',
    (raw) => {
      expect(parseHost(raw)).toBeUndefined();
    },
  );
});

describe('sampler.allowHosts (allow-list.ts)', () => {
  it('takes names, *.names, addresses and CIDR blocks, and lists every bad entry', () => {
    const { list, issues } = parseAllowHosts(['ingest.example.net', '*.cdn.example', '10.1.0.0/16', '::1', '[fd00:1::]/64', '192.0.2.7']);
    expect(issues).toEqual([]);
    expect(list.allowsName('ingest.example.net')).toBe(true);
    expect(list.allowsName('a.cdn.example')).toBe(true);
    expect(list.allowsName('cdn.example')).toBe(false);
    expect(list.allowsName('evil-ingest.example.net')).toBe(false);
    expect(list.allowsAddress('10.1.200.3')).toBe(true);
    expect(list.allowsAddress('10.2.0.1')).toBe(false);
    expect(list.allowsAddress('::1')).toBe(true);
    expect(list.allowsAddress('fd00:1::5')).toBe(true);
    expect(list.allowsAddress('192.0.2.7')).toBe(true);
    expect(parseAllowHosts(['10.0.0.0/33', 'bad host', '*.1.2.3.4', 'ok.example']).issues).toHaveLength(3);
  });
});

describe('the egress policy (policy.ts)', () => {
  it('refuses denied literal addresses, in any notation, without asking DNS', async () => {
    const dns = fakeDns({});
    const policy = createEgressPolicy({ lookup: dns });
    for (const host of [
      '127.0.0.1',
      '0x7f000001',
      '2130706433',
      '127.1',
      '[::1]',
      '169.254.169.254',
      '100.100.100.200',
      '10.0.0.1',
      '172.16.5.4',
      '192.168.0.10',
      '[fd00::1]',
      '[fe80::1]',
      '[::ffff:127.0.0.1]',
    ]) {
      const v = await policy.check(host);
      expect(v, host).toMatchObject({ ok: false, reason: 'refused' });
    }
    expect(dns.asked).toEqual([]);
  });

  it('refuses localhost and metadata names before any lookup', async () => {
    const dns = fakeDns({ 'metadata.google.internal': [v4('8.8.8.8')] });
    const policy = createEgressPolicy({ lookup: dns });
    for (const host of [
      'localhost',
      'LOCALHOST.',
      'a.localhost',
      'metadata.google.internal',
      'metadata.goog',
      'metadata',
      'instance-data',
    ]) {
      expect(await policy.check(host), host).toMatchObject({ ok: false, reason: 'refused' });
    }
    expect(dns.asked).toEqual([]);
  });

  it('checks every address a name resolves to: one private address refuses the name', async () => {
    const dns = fakeDns({
      'public.example': [v4('93.184.216.34'), v6('2606:2800:220:1::1')],
      'mixed.example': [v4('93.184.216.34'), v4('10.0.0.7')],
      'rebind.example': [v6('::ffff:169.254.169.254')],
    });
    const policy = createEgressPolicy({ lookup: dns });
    expect(await policy.check('public.example')).toEqual({
      ok: true,
      host: 'public.example',
      addresses: [v4('93.184.216.34'), v6('2606:2800:220:1::1')],
    });
    expect(await policy.check('mixed.example')).toMatchObject({
      ok: false,
      reason: 'refused',
      detail: expect.stringContaining('10.0.0.7'),
    });
    expect(await policy.check('rebind.example')).toMatchObject({ ok: false, reason: 'refused' });
  });

  it('an allow-listed name or address passes, and nothing else near it does', async () => {
    const dns = fakeDns({ 'ingest.internal.example': [v4('10.20.0.5')], 'other.internal.example': [v4('10.20.0.6')] });
    const policy = createEgressPolicy({ lookup: dns, allowHosts: ['ingest.internal.example', '127.0.0.1/32'] });
    expect(await policy.check('ingest.internal.example')).toMatchObject({ ok: true, addresses: [v4('10.20.0.5')] });
    expect(await policy.check('other.internal.example')).toMatchObject({ ok: false, reason: 'refused' });
    expect(await policy.check('127.0.0.1')).toMatchObject({ ok: true });
    expect(await policy.check('127.0.0.2')).toMatchObject({ ok: false, reason: 'refused' });
  });

  it('a name that does not resolve, or not in time, is unresolvable (retryable), not refused', async () => {
    const hang: Lookup = () => new Promise(() => {});
    expect(await createEgressPolicy({ lookup: fakeDns({}) }).check('nowhere.example')).toMatchObject({ ok: false, reason: 'unresolvable' });
    expect(await createEgressPolicy({ lookup: hang, lookupTimeoutMs: 20 }).check('slow.example')).toMatchObject({
      ok: false,
      reason: 'unresolvable',
      detail: expect.stringContaining('20 ms'),
    });
  });

  it('a bad allowHosts entry is a ConfigError naming it, at load', () => {
    expect(() => createEgressPolicy({ allowHosts: ['10.0.0.0/40'] })).toThrow(ConfigError);
    expect(() => resolveConfig({ sampler: { allowHosts: ['10.0.0.0/40', 'ingest.example', 'not a host'] } })).toThrow(
      expect.objectContaining({
        issues: [
          expect.stringMatching(/^sampler\.allowHosts: "10\.0\.0\.0\/40"/),
          expect.stringMatching(/^sampler\.allowHosts: "not a host"/),
        ],
      }),
    );
    expect(resolveConfig({ sampler: { allowHosts: ['ingest.example', '10.1.0.0/16'] } }).stages.sampler.allowHosts).toEqual([
      'ingest.example',
      '10.1.0.0/16',
    ]);
  });
});

describe('srt options (srt-options.ts)', () => {
  it('caller mode and stream options pass; listener, rendezvous and socket tuning do not', () => {
    expect(srtQueryIssues('')).toEqual([]);
    expect(srtQueryIssues('streamid=#!::r=live/abc,m=request&latency=200000&mode=caller&passphrase=0123456789ab')).toEqual([]);
    expect(srtQueryIssues('mode=listener')).toHaveLength(1);
    expect(srtQueryIssues('MODE=Rendezvous')).toHaveLength(1);
    expect(srtQueryIssues('streamid=x&ipttl=1&rcvbuf=999999999&localport=1')).toHaveLength(3);
    expect(srtQueryIssues('connect_timeout=600000')).toHaveLength(1);
    expect(srtQueryIssues('transtype=file')).toHaveLength(1);
  });

  it('parseSourceUrl refuses an srt URL with a forbidden option (source_refused), and a scheme the operator left out', () => {
    const protocols = new Set(['srt', 'rtmp', 'http']);
    expect(() => parseSourceUrl('srt://media.example:9000?mode=listener', { protocols })).toThrow(
      expect.objectContaining({ code: 'source_refused' }),
    );
    expect(() => parseSourceUrl('srt://media.example:9000?streamid=a&mode=caller', { protocols })).not.toThrow();
    expect(() => parseSourceUrl('http://media.example/a.m3u8', { protocols, schemes: new Set(['rtmps', 'https']) })).toThrow(
      expect.objectContaining({ code: 'source_refused' }),
    );
  });
});

describe('rtmp app as ffmpeg derives it (rtmp-app.ts)', () => {
  it.each([
    ['/live/key', 'live'],
    ['/live', ''],
    ['/live/inst/key', 'live/inst'],
    ['/live/mp4:file/x', 'live'],
    ['/ondemand/a/b', 'ondemand'],
    ['/app/key?slist=stream', 'app/key'],
    ['/app/key?token=a/b', 'app/key?token=a'],
  ])('%s -> %j', (path, app) => {
    expect(rtmpApp(path)).toBe(app);
  });
});

describe('prepareSource: what ffmpeg is given (source-policy.ts)', () => {
  const protocols = new Set(['rtmp', 'rtmps', 'srt', 'http', 'https']);
  const dns = fakeDns({
    'ingest.example': [v4('198.51.100.10')],
    'ingest6.example': [v6('2606:4700::10')],
    'cdn.example': [v4('93.184.216.34')],
  });
  // 198.51.100.0/24 is a documentation range, denied by default: allow-listed here so pinning can be shown.
  const policy = createEgressPolicy({ lookup: dns, allowHosts: ['198.51.100.0/24'] });
  const proxyUrl = 'http://u:p@127.0.0.1:1';

  it('rtmp: the checked address in place of the name, and the tcUrl ffmpeg would have sent with the name', async () => {
    const source = parseSourceUrl('rtmp://user:pw@Ingest.Example:1935/live/sk_secret', { protocols });
    const p = await prepareSource(source, { policy, proxyUrl });
    expect(p).toEqual({
      ok: true,
      value: { input: 'rtmp://user:pw@198.51.100.10:1935/live/sk_secret', args: ['-rtmp_tcurl', 'rtmp://ingest.example:1935/live'] },
    });
    const six = await prepareSource(parseSourceUrl('rtmp://ingest6.example/live/k', { protocols }), { policy });
    expect(six).toMatchObject({ ok: true, value: { input: 'rtmp://[2606:4700::10]/live/k' } });
  });

  it('srt: pinned, with the query (stream id and its # included) exactly as written', async () => {
    const source = parseSourceUrl('srt://ingest.example:9000?streamid=#!::r=live/k,m=request&latency=120000', { protocols });
    expect(await prepareSource(source, { policy })).toEqual({
      ok: true,
      value: { input: 'srt://198.51.100.10:9000?streamid=#!::r=live/k,m=request&latency=120000', args: [] },
    });
  });

  it('http(s) and rtmps: the normalised URL through the egress proxy, TLS verified (with the configured CA)', async () => {
    const http = await prepareSource(parseSourceUrl('HTTP://CDN.example/live/index.m3u8?token=t', { protocols }), { policy, proxyUrl });
    expect(http).toEqual({ ok: true, value: { input: 'http://cdn.example/live/index.m3u8?token=t', args: ['-http_proxy', proxyUrl] } });
    const https = await prepareSource(parseSourceUrl('https://cdn.example/a.m3u8', { protocols }), {
      policy,
      proxyUrl,
      tlsCaFile: '/ca.pem',
    });
    expect(https).toMatchObject({ ok: true, value: { args: ['-http_proxy', proxyUrl, '-tls_verify', '1', '-ca_file', '/ca.pem'] } });
    const rtmps = await prepareSource(parseSourceUrl('rtmps://CDN.example:443/app/key', { protocols }), { policy, proxyUrl });
    expect(rtmps).toEqual({
      ok: true,
      value: { input: 'rtmps://cdn.example:443/app/key', args: ['-http_proxy', proxyUrl, '-tls_verify', '1'] },
    });
  });

  it('a refused host is a terminal source_refused; an unresolvable one a retryable source_unreachable', async () => {
    const refused = await prepareSource(parseSourceUrl('rtmp://0x7f000001/live/k', { protocols }), { policy });
    expect(refused).toMatchObject({ ok: false, error: { code: 'source_refused', retryable: false } });
    const gone = await prepareSource(parseSourceUrl('rtmp://gone.example/live/k', { protocols }), { policy });
    expect(gone).toMatchObject({ ok: false, error: { code: 'source_unreachable', retryable: true } });
  });
});
