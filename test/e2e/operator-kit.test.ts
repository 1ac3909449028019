import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { startWorker, type Worker } from '../../src/worker/app/start-worker.js';
import { eventually } from '../support/eventually.js';
import { ALLOW_LOOPBACK } from '../support/egress.js';
import { freePort } from '../support/free-port.js';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';
import { dashboardQueries, metricNames, recordedNames, ruleQueries } from '../support/operator-kit.js';
import { scrape, type Exposition } from '../support/prom-text.js';
import { startTcpProxy, type TcpProxy } from '../worker/intake/tcp-proxy.js';

// The on-call kit (deploy/grafana, deploy/prometheus) against a real worker: every metric it
// queries is one the worker exports, and the series behind the alerts move as the alerts assume.
// A real nats-server; the worker's connection goes through a loopback proxy so the test can
// take NATS away from it. Sources are RTMP URLs nobody serves: ffmpeg fails to connect.

/**
 * Series the kit reads that this worker does not export yet, each with the reason. Anything
 * else missing from /metrics fails the test.
 */
const NOT_EXPORTED_YET: Record<string, string> = {};

describe('on-call kit against a real worker', () => {
  let server: NatsServerHandle;
  let proxy: TcpProxy;
  let nc: NatsConnection;
  let worker: Worker;
  let deadUrl: string;
  const metrics = (): Promise<Exposition> => scrape(worker.metricsPort!);

  beforeAll(async () => {
    server = await startNatsServer();
    proxy = await startTcpProxy(server.port);
    nc = await server.connect();
    deadUrl = `rtmp://127.0.0.1:${await freePort()}/live`;
    const loaded = loadConfig({
      env: { NATS_URL: proxy.url, PATH: process.env.PATH },
      cwd: mkdtempSync(join(tmpdir(), 'streamscreen-kit-')),
      overrides: {
        metrics: { port: 0, host: '127.0.0.1' },
        // One slot, so a second stream has to wait; no models: metrics do not depend on them.
        worker: { id: 'kit-worker', maxStreams: 1 },
        classify: { enabled: false },
        // A failing source is retried for a few seconds before the stream is given up.
        sampler: { maxRestarts: 4, backoffBaseMs: 400, backoffMaxMs: 800, allowHosts: ALLOW_LOOPBACK },
      },
    });
    worker = await startWorker(loaded, pino({ level: process.env.E2E_LOG ?? 'silent' }));
  }, 60_000);

  afterAll(async () => {
    proxy?.restore();
    await worker?.stop(0);
    await nc?.close();
    await proxy?.close();
    await server?.stop();
  });

  it('exports every metric the dashboard and the rules query', async () => {
    const exported = (await metrics()).seriesNames();
    const recorded = recordedNames();
    const missing: string[] = [];
    for (const q of [...dashboardQueries(), ...ruleQueries()]) {
      for (const name of metricNames(q.expr)) {
        if (recorded.has(name) || exported.has(name) || name in NOT_EXPORTED_YET) continue;
        // Prometheus' own series about a scrape target.
        if (name === 'up') continue;
        missing.push(`${name} (${q.where})`);
      }
    }
    expect(missing).toEqual([]);
    // Recording rules read only exported series or other recording rules, checked above; and the
    // kit's exceptions are still needed.
    for (const name of Object.keys(NOT_EXPORTED_YET)) expect(exported.has(name), `${name} is exported now: drop the exception`).toBe(false);
  });

  it('reports readiness, the NATS connection, capacity and budget, with nothing waiting', async () => {
    const m = await metrics();
    expect(m.value('streamscreen_ready')).toBe(1);
    expect(m.value('streamscreen_nats_connected')).toBe(1);
    expect(m.value('streamscreen_stream_capacity')).toBe(1);
    expect(m.value('streamscreen_frame_budget_seconds')).toBe(0.5);
    expect(m.value('streamscreen_sources_down')).toBe(0);
    expect(m.value('streamscreen_starts_waiting')).toBe(0);
    expect(m.value('streamscreen_starts_oldest_waiting_seconds')).toBe(0);
  });

  it('shows a failing source, and a start waiting while the worker is at capacity, until both clear', async () => {
    const js = jetstream(nc);
    await js.publish('streams.started.kit-a', JSON.stringify({ streamId: 'kit-a', url: deadUrl }));
    await eventually(async () => (await metrics()).value('streamscreen_active_streams') === 1, 10_000, 'kit-a taken');
    await js.publish('streams.started.kit-b', JSON.stringify({ streamId: 'kit-b', url: deadUrl }));

    const waiting = await eventually(
      async () => {
        const m = await metrics();
        return m.value('streamscreen_sources_down') === 1 &&
          m.value('streamscreen_starts_waiting') === 1 &&
          (m.value('streamscreen_starts_oldest_waiting_seconds') ?? 0) > 0.2
          ? m
          : undefined;
      },
      10_000,
      'a failing source and a waiting start',
      100,
    );
    expect(waiting.value('streamscreen_source_restarts_total', { code: 'source_unreachable' })).toBeGreaterThan(0);

    // kit-a is reported after its restarts (a screening failure event) and kept, probed until its
    // stream ends; then kit-b is taken and ends too: no source counts as failing and nothing waits.
    const jsm = await js.jetstreamManager();
    await eventually(
      async () =>
        (await jsm.streams.getMessage('SCREENING_DECISIONS', { last_by_subj: 'screening.failure.kit-a' }).catch(() => null)) ?? undefined,
      20_000,
      'a screening failure',
      200,
    );
    await js.publish('streams.ended.kit-a', JSON.stringify({ streamId: 'kit-a' }));
    await js.publish('streams.ended.kit-b', JSON.stringify({ streamId: 'kit-b' }));
    const cleared = await eventually(
      async () => {
        const m = await metrics();
        return m.value('streamscreen_sources_down') === 0 &&
          m.value('streamscreen_starts_waiting') === 0 &&
          m.value('streamscreen_active_streams') === 0
          ? m
          : undefined;
      },
      20_000,
      'nothing failing or waiting after the ends',
      200,
    );
    expect(cleared.value('streamscreen_starts_oldest_waiting_seconds')).toBe(0);
  }, 60_000);

  it('says when NATS is gone, without holding up the scrape, and when it is back', async () => {
    proxy.refuse();
    const down = await eventually(
      async () => {
        const m = await metrics();
        return m.value('streamscreen_nats_connected') === 0 ? m : undefined;
      },
      10_000,
      'nats_connected 0',
      100,
    );
    expect(down.value('streamscreen_ready')).toBe(0);
    const t0 = Date.now();
    await metrics();
    expect(Date.now() - t0).toBeLessThan(1_000);
    proxy.restore();
    const up = await eventually(
      async () => {
        const m = await metrics();
        return m.value('streamscreen_nats_connected') === 1 ? m : undefined;
      },
      15_000,
      'nats_connected 1 again',
      200,
    );
    expect(up.value('streamscreen_ready')).toBe(1);
  }, 40_000);
});
