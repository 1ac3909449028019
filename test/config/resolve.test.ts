import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run as runWorker } from '../../src/cli/commands/worker.js';
import { defaultManifestPath, resolveConfig, type ConfigInput } from '../../src/config/index.js';
import { ConfigError } from '../../src/domain/errors.js';
import { captureIO } from '../support/capture-io.js';

/** The issues of the ConfigError that resolving `input` throws (fails the test if it resolves). */
function issuesOf(input: ConfigInput): string[] {
  try {
    resolveConfig(input);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).issues];
  }
  throw new Error('expected a ConfigError');
}

describe('resolveConfig', () => {
  it('lists every problem of every section in one ConfigError, cross-field rules included', () => {
    const issues = issuesOf({
      ingest: { ackWaitMs: 500, startsSubjectPrefix: 'streams.*' },
      sampler: { width: 8, backoffBaseMs: 20_000, backoffMaxMs: 15_000, scaleFlags: 'area;rm' },
      publish: { retryBaseMs: 6_000, retryMaxMs: 5_000 },
      hash: {
        maxDistance: 300,
        lists: [
          { id: 'same', path: 'a.txt' },
          { id: 'same', path: 'b.txt' },
        ],
      },
      classify: { intraOpThreads: 0 },
      policy: { challengeAge: 0 },
    });
    const paths = issues.map((i) => i.slice(0, i.indexOf(':')));
    expect(paths).toEqual(
      expect.arrayContaining([
        'ingest.ackWaitMs',
        'ingest.startsSubjectPrefix',
        'sampler.width',
        'sampler.scaleFlags',
        'sampler.backoffMaxMs',
        'publish.retryMaxMs',
        'hash.maxDistance',
        'hash.lists.1.id',
        'classify.intraOpThreads',
        'policy.challengeAge',
      ]),
    );
    expect(issues).toHaveLength(10);
  });

  it('refuses sampler.backoffBaseMs above sampler.backoffMaxMs (the schema once accepted it and every stream then failed)', () => {
    expect(issuesOf({ sampler: { backoffBaseMs: 20_000, backoffMaxMs: 15_000 } })).toEqual([
      'sampler.backoffMaxMs: backoffMaxMs (15000) must be >= backoffBaseMs (20000)',
    ]);
    // The default maximum is what the operator compared against.
    expect(issuesOf({ sampler: { backoffBaseMs: 20_000 } })).toHaveLength(1);
    expect(resolveConfig({ sampler: { backoffBaseMs: 15_000 } }).stages.sampler.backoffBaseMs).toBe(15_000);
  });

  it('refuses a face cascade floor above the possible-minor bar, which would skip faces where they decide', () => {
    expect(issuesOf({ classify: { facesNudityFloor: 0.6 } })).toEqual([
      expect.stringMatching(/^classify\.facesNudityFloor: must be <= policy\.nudityWithMinorEscalateAt \(0\.5\)/),
    ]);
    expect(
      resolveConfig({ classify: { facesNudityFloor: 0.6 }, policy: { nudityWithMinorEscalateAt: 0.6 } }).config.classify.facesNudityFloor,
    ).toBe(0.6);
    expect(resolveConfig({ classify: { facesNudityFloor: 0 } }).config.classify.facesNudityFloor).toBe(0);
    // Absent: the bar itself (resolved by the worker's assembly).
    expect(resolveConfig({}).config.classify.facesNudityFloor).toBeUndefined();
  });

  it('refuses, all at once, a degradation floor above the lowest escalation bar and scheduler batches the models would split', () => {
    expect(issuesOf({ pipeline: { inference: { degradeRiskFloor: 0.6, maxBatch: 8 } } })).toEqual([
      expect.stringMatching(/^pipeline\.inference\.degradeRiskFloor: must be <= policy\.nudityWithMinorEscalateAt \(0\.5\)/),
      expect.stringMatching(/^pipeline\.inference\.maxBatch: must be <= classify\.maxBatch \(4\)/),
    ]);
    expect(resolveConfig({ pipeline: { inference: { maxBatch: 8 } }, classify: { maxBatch: 8 } }).stages.screener.inference.maxBatch).toBe(
      8,
    );
  });

  it('refuses ingest.ackWaitMs 500 at load (it used to pass and fail only after connecting)', () => {
    expect(issuesOf({ ingest: { ackWaitMs: 500 } })).toEqual([expect.stringMatching(/^ingest\.ackWaitMs: /)]);
    expect(resolveConfig({ ingest: { ackWaitMs: 1000, leaseTtlMs: 1500 } }).stages.ingest.ackWaitMs).toBe(1000);
  });

  it('has one bound for the frame size: 16..4096 on each side', () => {
    for (const side of [8, 15, 4097]) {
      expect(issuesOf({ sampler: { width: side, height: side } })).toEqual([
        expect.stringMatching(/^sampler\.width: /),
        expect.stringMatching(/^sampler\.height: /),
      ]);
    }
    expect(resolveConfig({ sampler: { width: 16, height: 4096 } }).stages.sampler).toMatchObject({ width: 16, height: 4096 });
  });

  it('holds the heartbeat to the lease TTL and ack_wait, derived or given', () => {
    expect(resolveConfig().stages.ingest.heartbeatMs).toBe(1000);
    expect(resolveConfig({ ingest: { ackWaitMs: 2000, leaseTtlMs: 3000 } }).stages.ingest.heartbeatMs).toBe(500);
    expect(issuesOf({ ingest: { leaseTtlMs: 1500, heartbeatMs: 2100 } })).toEqual([
      'ingest.heartbeatMs: heartbeat (2100 ms) must be at most leaseTtlMs / 3',
      'ingest.heartbeatMs: heartbeat (2100 ms) must be at most ackWaitMs / 2',
    ]);
  });

  it('refuses a dedupe window longer than the retention of the streams it applies to', () => {
    expect(issuesOf({ publish: { duplicateWindowMs: 2 * 86_400_000, decisionsMaxAgeMs: 86_400_000 } })).toEqual([
      'publish.duplicateWindowMs: duplicateWindowMs must not exceed decisionsMaxAgeMs or deadLetterMaxAgeMs',
    ]);
  });

  it('hands each stage its options, worked out from the sections they come from', () => {
    const { stages } = resolveConfig({
      worker: { maxStreams: 2 },
      hash: { dihedral: true, maxDistance: 20, objectStore: { enabled: false, bucket: 'b1' } },
      pipeline: { frameBudgetMs: 250 },
      publish: { retryBaseMs: 50 },
    });
    expect(stages.ingest.maxConcurrentStreams).toBe(2);
    expect(stages.matcher).toEqual({
      maxDistance: 20,
      minQuality: 50,
      video: { windowMs: 600_000, matchShare: 0.8, queryShare: 0, minMatchedSeconds: 30 },
    });
    expect(stages.quarantine).toEqual({ maxStreams: 10, windowMs: 600_000 });
    expect(stages.hashListSync).toMatchObject({ bucket: 'b1' });
    expect(stages.hashListSync).not.toHaveProperty('enabled');
    expect(stages.screener).toEqual({
      frameBudgetMs: 250,
      classifierFailuresToReport: 5,
      classifyEveryFrame: false,
      inference: { maxBatch: 1, concurrency: 1, riskWindow: 5, degradeRiskFloor: 0.25, degradedProbeMs: 10_000 },
      dihedral: true,
    });
    expect(stages.publisher.retryBaseMs).toBe(50);
    expect(stages.classifier.manifestPath).toBe(defaultManifestPath());
    expect(resolveConfig({ classify: { manifestPath: '/m/manifest.json' } }).stages.classifier.manifestPath).toBe('/m/manifest.json');
  });
});

describe('streamscreen worker with a config the schema refuses', () => {
  it('exits at load with every problem listed, before it connects to anything', async () => {
    // A listener that records connections: the worker must not get as far as NATS.
    let connections = 0;
    const nats = createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((resolve) => nats.listen(0, '127.0.0.1', resolve));
    const port = (nats.address() as { port: number }).port;
    const dir = mkdtempSync(join(tmpdir(), 'streamscreen-config-'));
    const file = join(dir, 'streamscreen.json');
    writeFileSync(file, JSON.stringify({ sampler: { backoffBaseMs: 20_000, backoffMaxMs: 15_000 }, ingest: { ackWaitMs: 500 } }));
    try {
      const err = await runWorker(['--config', file], captureIO().io, { NATS_URL: `nats://127.0.0.1:${port}` }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).message).toContain(file);
      expect((err as ConfigError).issues.map((i) => i.slice(0, i.indexOf(':')))).toEqual(['ingest.ackWaitMs', 'sampler.backoffMaxMs']);
      expect(connections).toBe(0);
    } finally {
      await new Promise((resolve) => nats.close(resolve));
    }
  });
});
