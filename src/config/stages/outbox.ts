import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';

/**
 * The decision outbox (config section `outbox`): every kill-switch, escalation and failure is
 * written here (and fsynced) before it is published, and published from here in order, so a
 * NATS outage or a crash loses none of them.
 */
export const OutboxSection = z.strictObject({
  /**
   * Root directory (each process claims a `slot-<n>` below it; a process that starts publishes
   * what a dead one left). Relative paths are taken from the config file's folder. Absent: the
   * system temp directory (`streamscreen-outbox-<hash of nats.url>` in it, so decisions recorded
   * for one NATS deployment are never replayed into another), which survives a process restart
   * but not necessarily a reboot: in production point it at a volume that outlives the container
   * (the Kubernetes manifests mount one at /var/lib/streamscreen).
   */
  dir: z.string().min(1).optional(),
  /**
   * Decisions kept at most. A worker makes a few a minute per stream; 10 000 is hours of a full
   * worker's decisions with NATS gone. Past it new decisions are kept in memory only, counted
   * (streamscreen_outbox_events_total{event="overflow"}) and alerted on.
   */
  maxEntries: z.number().int().positive().default(10_000),
  /** Bytes kept at most (payloads): 64 MiB. A decision is a few KiB, most of it the platform's metadata. */
  maxBytes: z
    .number()
    .int()
    .positive()
    .default(64 * 1024 * 1024),
  /** fsync each record and its directory before the decision counts as recorded. Turn off only for benchmarks. */
  fsync: z.boolean().default(true),
});

export type OutboxSection = z.output<typeof OutboxSection>;

/** What the outbox takes: the section with its directory made absolute. */
export interface OutboxOptions extends Omit<OutboxSection, 'dir'> {
  readonly dir: string;
}

export function outboxOptions(section: OutboxSection, natsUrl: string, baseDir?: string): OutboxOptions {
  const deployment = createHash('sha256').update(natsUrl).digest('hex').slice(0, 12);
  const dir =
    section.dir === undefined
      ? join(tmpdir(), `streamscreen-outbox-${deployment}`)
      : isAbsolute(section.dir)
        ? section.dir
        : resolve(baseDir ?? '.', section.dir);
  return { ...section, dir };
}
