import {
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { SharedStreamSpec } from '../../contracts/index.js';
import type { Logger } from '../../domain/logger.js';

/**
 * Creates a shared stream (contracts/streams.ts) or brings its subjects and limits to the spec.
 * The console's own copy until the shared src/nats/ kit lands; the spec is the same one the
 * worker provisions from, so the two never undo each other's settings.
 */
export async function ensureSharedStream(jsm: JetStreamManager, spec: SharedStreamSpec, logger?: Logger): Promise<void> {
  const want = {
    name: spec.name,
    subjects: [...spec.subjects],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: nanos(spec.maxAgeMs),
    duplicate_window: nanos(spec.duplicateWindowMs),
  };
  let have;
  try {
    have = await jsm.streams.info(spec.name);
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound)) throw err;
    try {
      await jsm.streams.add(want);
      logger?.info({ stream: spec.name }, 'created JetStream stream');
      return;
    } catch (addErr) {
      have = await jsm.streams.info(spec.name).catch(() => undefined); // lost a creation race: compare with the winner's
      if (!have) throw addErr;
    }
  }
  const c = have.config;
  const sameSubjects = [...c.subjects].sort().join() === [...want.subjects].sort().join();
  if (sameSubjects && c.max_age === want.max_age && c.duplicate_window === want.duplicate_window) return;
  await jsm.streams.update(spec.name, { ...c, subjects: want.subjects, max_age: want.max_age, duplicate_window: want.duplicate_window });
  logger?.warn({ stream: spec.name }, 'updated JetStream stream settings');
}
