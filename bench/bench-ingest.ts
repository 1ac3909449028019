/**
 * `npm run bench:ingest`: the two figures the ingest loop promises, measured on real parts.
 *
 * 1. Hook answer time with NATS up: nginx-rtmp on_publish calls (form-encoded, token in the URL)
 *    to an in-process bridge on a real nats-server, each announcing a new stream through
 *    JetStream and recording its publisher in KV. Baseline, in the same run and alternating
 *    rounds: the same Fastify stack answering 200 after parsing the form, with no NATS at all.
 * 2. First matching frame -> disconnect: the loop of test/support/ingest-loop.ts (nginx-rtmp,
 *    worker, bridge, enforcer as processes); an encoder shows a listed image after 3 s; the time
 *    from that frame leaving the encoder to the encoder being cut off. Baseline: from the same
 *    frame to the worker's kill-switch decision (screening alone), so the ratio is what closing
 *    the loop adds.
 *
 *   npx tsx bench/bench-ingest.ts [--calls 2000] [--rounds 4] [--concurrency 8] [--trials 5]
 *
 * Prints medians and p99s (ms) and ratios to the baselines.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import formbody from '@fastify/formbody';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import Fastify from 'fastify';
import { pino } from 'pino';
import { startBridge } from '../src/bridge/start-bridge.js';
import { loadConfig } from '../src/config/index.js';
import type { KillSwitchEvent, PublisherRecord } from '../src/contracts/index.js';
import { provisionIngest } from '../src/worker/intake/index.js';
import { ingestOptions } from '../test/support/stage-options.js';
import { eventually } from '../test/support/eventually.js';
import { startIngestLoop } from '../test/support/ingest-loop.js';
import { collectEvents } from '../test/support/jetstream-events.js';
import { startNatsServer } from '../test/support/nats-server.js';
import { nginxRtmpMissing } from '../test/support/nginx-rtmp.js';
import { startRtmpPublisher } from '../test/support/rtmp-publisher.js';

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '4' },
    concurrency: { type: 'string', default: '8' },
    trials: { type: 'string', default: '5' },
  },
});
const CALLS = Number(values.calls);
const ROUNDS = Number(values.rounds);
const CONCURRENCY = Number(values.concurrency);
const TRIALS = Number(values.trials);
const IMAGE = fileURLToPath(new URL('../../shared/pdq-vectors/decoded/bridge-1-original.png', import.meta.url));
const IMAGE_AFTER_S = 3;
const secret = 'bench-hook-secret-0123456789';

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const ms = (x: number) => x.toFixed(2);

async function hookLatency(): Promise<void> {
  const nats = await startNatsServer();
  const nc = await nats.connect();
  await provisionIngest(jetstream(nc), ingestOptions());
  const outbox = mkdtempSync(join(tmpdir(), 'bench-outbox-'));
  const loaded = loadConfig({
    env: { NATS_URL: nats.url },
    cwd: outbox,
    overrides: {
      ingests: [{ id: 'nginx-1', kind: 'nginx-rtmp', secret, pullUrl: 'rtmp://127.0.0.1:1935/{app}/{name}' }],
      bridge: { port: 0, outboxDir: outbox },
      metrics: { enabled: false },
    },
  });
  const bridge = await startBridge(loaded, pino({ level: 'silent' }));
  const bare = Fastify({ logger: false });
  await bare.register(formbody);
  bare.post('/hooks/:ingest', async (req, res) => res.status(req.body ? 200 : 400).send('OK\n'));
  await bare.listen({ host: '127.0.0.1', port: 0 });
  const barePort = (bare.server.address() as { port: number }).port;

  let n = 0;
  const call = async (port: number): Promise<number> => {
    const body = new URLSearchParams({
      app: 'live',
      flashver: 'FMLE/3.0',
      tcurl: 'rtmp://127.0.0.1/live',
      addr: '127.0.0.1',
      clientid: String(++n),
      call: 'publish',
      name: `bench-${n}`,
      type: 'live',
    });
    const t0 = performance.now();
    const res = await fetch(`http://127.0.0.1:${port}/hooks/nginx-1?token=${secret}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: body.toString(),
    });
    await res.text();
    const t = performance.now() - t0;
    if (res.status !== 200) throw new Error(`hook answered ${res.status}`);
    return t;
  };
  const run = async (port: number, calls: number, concurrency: number): Promise<number[]> => {
    const out: number[] = [];
    let started = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (started++ < calls) out.push(await call(port));
      }),
    );
    return out;
  };
  // Warm-up: JIT, connections, the buckets' first writes.
  await run(bridge.port, 200, CONCURRENCY);
  await run(barePort, 200, CONCURRENCY);
  for (const concurrency of [1, CONCURRENCY]) {
    const bridgeT: number[] = [];
    const bareT: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      bridgeT.push(...(await run(bridge.port, CALLS / ROUNDS, concurrency)));
      bareT.push(...(await run(barePort, CALLS / ROUNDS, concurrency)));
    }
    console.log(
      `hook answer, ${concurrency} at a time, ${bridgeT.length} calls: bridge median ${ms(pct(bridgeT, 50))} ms p99 ${ms(pct(bridgeT, 99))} ms | ` +
        `bare Fastify median ${ms(pct(bareT, 50))} ms p99 ${ms(pct(bareT, 99))} ms | ratio p99 ${(pct(bridgeT, 99) / pct(bareT, 99)).toFixed(2)}`,
    );
  }
  const starts = (await (await jetstream(nc).jetstreamManager()).streams.info('SCREENING_STARTS')).state.messages;
  const records = (await (await new Kvm(nc).open('screening-publishers')).status()).values;
  console.log(`  (every call announced: ${starts} starts stored, ${records} publisher records)`);
  await bare.close();
  await bridge.stop();
  await nc.close();
  await nats.stop();
}

async function frameToDisconnect(): Promise<void> {
  const missing = nginxRtmpMissing();
  if (missing) {
    console.log(`first frame -> disconnect: skipped, ${missing}`);
    return;
  }
  const loop = await startIngestLoop({ listImage: IMAGE });
  const nc = await loop.nats.connect();
  const kills = await collectEvents<KillSwitchEvent>(nc, 'SCREENING_DECISIONS', 'screening.killswitch.>');
  const records = await new Kvm(nc).open('screening-publishers');
  const total: number[] = [];
  const screening: number[] = [];
  try {
    for (let t = 0; t < TRIALS; t++) {
      const key = `bench-victim-${t}`;
      const victim = startRtmpPublisher(loop.publishUrl(key), {
        width: 320,
        height: 240,
        fps: 10,
        image: IMAGE,
        imageAfterSec: IMAGE_AFTER_S,
      });
      const record = await eventually(
        async () => {
          for await (const k of await records.keys()) {
            const r = (await records.get(k))?.json<PublisherRecord>();
            if (r?.target.name === key) return r;
          }
          return undefined;
        },
        15_000,
        'the publish record',
        50,
      );
      const exit = await Promise.race([victim.exited, new Promise<null>((r) => setTimeout(() => r(null), 30_000))]);
      await victim.stop();
      if (!exit) throw new Error(`trial ${t}: not cut off within 30 s`);
      const kill = await kills.waitFor((k) => k.streamId === record.streamId, 5_000);
      const firstMatchLeft = Date.parse(record.startedAt) + IMAGE_AFTER_S * 1000;
      total.push(exit.at - firstMatchLeft);
      screening.push(Date.parse(kill.decidedAt) - firstMatchLeft);
      console.log(`  trial ${t + 1}: first matching frame -> kill decided ${screening.at(-1)} ms -> encoder cut off ${total.at(-1)} ms`);
    }
    console.log(
      `first matching frame -> disconnect, ${TRIALS} trials at 1 fps: median ${pct(total, 50)} ms, max ${Math.max(...total)} ms | ` +
        `frame -> kill decision (baseline) median ${pct(screening, 50)} ms | ratio ${(pct(total, 50) / Math.max(1, pct(screening, 50))).toFixed(2)} | target p99 <= 3000 ms`,
    );
  } finally {
    await kills.stop();
    await nc.close();
    await loop.stop();
  }
}

await hookLatency();
await frameToDisconnect();
process.exit(0);
