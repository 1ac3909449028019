import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/index.js';

describe('outbox and delivery settings', () => {
  it('keeps each NATS deployment in its own default outbox, so no decision is replayed into another', () => {
    const a = resolveConfig({ nats: { url: 'nats://a:4222' } }).stages.outbox.dir;
    const b = resolveConfig({ nats: { url: 'nats://b:4222' } }).stages.outbox.dir;
    expect(a).not.toBe(b);
    expect(a.startsWith(join(tmpdir(), 'streamscreen-outbox-'))).toBe(true);
    expect(resolveConfig({ nats: { url: 'nats://a:4222' } }).stages.outbox.dir).toBe(a);
  });

  it("takes a relative outbox directory from the config file's folder", () => {
    expect(resolveConfig({ outbox: { dir: 'state/outbox' } }, { baseDir: '/etc/streamscreen' }).stages.outbox.dir).toBe(
      '/etc/streamscreen/state/outbox',
    );
    expect(resolveConfig({ outbox: { dir: '/var/lib/streamscreen/outbox' } }).stages.outbox.dir).toBe('/var/lib/streamscreen/outbox');
  });

  it('refuses a shutdown grace that leaves no time before the deadline, and probe delays the wrong way round', () => {
    expect(() => resolveConfig({ worker: { shutdownGraceMs: 5_000, shutdownTimeoutMs: 5_000 } })).toThrow(
      /shutdownGraceMs \(5000\) must be below shutdownTimeoutMs/,
    );
    expect(() => resolveConfig({ ingest: { sourceProbeBaseMs: 10_000, sourceProbeMaxMs: 5_000 } })).toThrow(/sourceProbeMaxMs/);
  });

  it('hands the replica count to everything that provisions, and the policy state a lifetime past the longest cooldown', () => {
    const { stages } = resolveConfig({ nats: { replicas: 3 }, policy: { killSwitchCooldownMs: 120_000 } });
    expect(stages.ingest.replicas).toBe(3);
    expect(stages.publisher.replicas).toBe(3);
    expect(stages.hashListSync.replicas).toBe(3);
    expect(resolveConfig({}).stages.hashListSync.replicas).toBe(1);
    expect(stages.publisher.policyStateTtlMs).toBe(240_000);
    expect(resolveConfig({}).stages.publisher.policyStateTtlMs).toBe(120_000);
  });
});
