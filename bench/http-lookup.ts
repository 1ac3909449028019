/**
 * Lookup latency over real HTTP: the matcher's HMA API (src/matcher/hma-api.ts) on 127.0.0.1
 * serving one list, queried one request at a time over a kept-alive connection from this
 * process, timed at the client (request sent to JSON parsed). The baseline in the same run is the
 * same look-up without HTTP, so the ratio shows what the HTTP layer costs. The API runs with the
 * matcher's default settings and a logger at info (written to /dev/null), so whatever it logs
 * per request in production is paid here too.
 */
import { request, Agent } from 'node:http';
import { pino } from 'pino';
import { resolveConfig } from '../src/config/index.js';
import { pdqToHex } from '../src/domain/pdq.js';
import type { HashIndex } from '../src/hash/hash-index.js';
import { createHashMatcher } from '../src/hash/hash-matcher.js';
import type { HashListData, LoadedList } from '../src/hash/hash-list.js';
import { LabelPoolBuilder } from '../src/hash/label-pool.js';
import { buildHmaApi } from '../src/matcher/hma-api.js';

export interface HttpLookupFigures {
  readonly requests: number;
  readonly http_p50_ms: number;
  readonly http_p99_ms: number;
  /** This process's CPU time per request (client and server share it): the wall-clock tail minus other processes' turns. */
  readonly http_cpu_p50_ms: number;
  readonly http_cpu_p99_ms: number;
  readonly direct_p50_ms: number;
  readonly direct_p99_ms: number;
  readonly hits: number;
}

/** Requests before the timed ones (see the warm-up below). */
const WARM_UP_REQUESTS = 5_000;

function get(agent: Agent, port: number, path: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(body)) : reject(new Error(`${res.statusCode}: ${body}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

const quantile = (v: number[], q: number): number => {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
};

export async function httpLookupLatency(index: HashIndex, size: number, queries: readonly Uint16Array[]): Promise<HttpLookupFigures> {
  const data: HashListData = {
    count: size,
    hashes: index.hashes,
    labelIds: null,
    labels: new LabelPoolBuilder().finish(),
    format: 'text',
    stats: { lines: size, entries: size, skippedOtherTypes: 0, lowQuality: 0, withQuality: 0 },
  };
  const list: LoadedList = {
    meta: { id: 'BENCH', action: 'kill', format: 'text', sha256: '0'.repeat(64), origin: 'bench', loadedAt: new Date().toISOString() },
    data,
    index,
  };
  const resolved = resolveConfig();
  const matcher = createHashMatcher(resolved.stages.matcher);
  matcher.source('bench').replaceAll([list]);
  const app = await buildHmaApi({
    backend: matcher,
    decode: () => Promise.reject(new Error('no uploads in this benchmark')),
    hash: () => new Uint16Array(16),
    logger: pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: true })),
    options: resolved.config.matcher,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const paths = queries.map((q) => `/m/lookup?signal_type=pdq&signal=${pdqToHex(q)}`);
    // Warm-up, not timed, on other hashes (a word of a query flipped): the connection, and the JIT.
    // V8 still compiles parts of the HTTP stack, Fastify and the route well into the first
    // thousands of requests (a burst of compiling costs a request milliseconds of CPU); measured
    // here, the p99 of 2,000 requests after 200 of warm-up was 3.7-4.5 ms, after ~4,500 0.25-0.30 ms.
    const warm = Array.from({ length: WARM_UP_REQUESTS }, (_, i) => {
      const w = Uint16Array.from(queries[i % queries.length]!);
      const word = Math.floor(i / queries.length) % 16;
      w[word] = w[word]! ^ 0xffff;
      return `/m/lookup?signal_type=pdq&signal=${pdqToHex(w)}`;
    });
    for (const p of warm) await get(agent, port, p);
    const http: number[] = [];
    const cpu: number[] = [];
    let hits = 0;
    for (const p of paths) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const body = (await get(agent, port, p)) as Record<string, unknown[]>;
      http.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
      hits += Object.values(body).reduce((n, v) => n + v.length, 0);
    }
    const direct: number[] = [];
    for (const q of queries) {
      const t0 = performance.now();
      matcher.lookup(q);
      direct.push(performance.now() - t0);
    }
    const r3 = (v: number) => Math.round(v * 1000) / 1000;
    return {
      requests: paths.length,
      http_p50_ms: r3(quantile(http, 0.5)),
      http_p99_ms: r3(quantile(http, 0.99)),
      http_cpu_p50_ms: r3(quantile(cpu, 0.5)),
      http_cpu_p99_ms: r3(quantile(cpu, 0.99)),
      direct_p50_ms: r3(quantile(direct, 0.5)),
      direct_p99_ms: r3(quantile(direct, 0.99)),
      hits,
    };
  } finally {
    agent.destroy();
    await app.close();
  }
}
