import { JetStreamApiCodes, JetStreamApiError, type JetStreamManager, type StreamConfig, type StreamInfo } from '@nats-io/jetstream';
import { ConfigError } from '../../domain/errors.js';
import type { Logger } from '../../domain/logger.js';

export type DesiredStream = Partial<StreamConfig> & Pick<StreamConfig, 'name' | 'subjects'>;

/** Settings JetStream cannot change on an existing stream: a mismatch needs an operator. */
const IMMUTABLE: ReadonlyArray<keyof StreamConfig> = ['retention', 'storage'];

/**
 * Creates the stream, or brings an existing one to the desired settings. Idempotent and safe to
 * run from every worker at start: when two race to create it, the loser re-reads and compares.
 */
export async function ensureStream(jsm: JetStreamManager, desired: DesiredStream, logger?: Logger): Promise<StreamInfo> {
  let info = await streamInfo(jsm, desired.name);
  if (!info) {
    try {
      info = await jsm.streams.add(desired);
      logger?.info({ stream: desired.name }, 'created JetStream stream');
      return info;
    } catch (err) {
      info = await streamInfo(jsm, desired.name);
      if (!info) throw err;
    }
  }
  const drift = differences(info.config, desired);
  if (drift.length === 0) return info;
  const immutable = drift.filter((k) => IMMUTABLE.includes(k));
  if (immutable.length > 0) {
    throw new ConfigError(
      `stream ${desired.name} exists with settings that cannot be changed in place`,
      immutable.map(
        (k) =>
          `${String(k)}: is ${JSON.stringify(info.config[k])}, want ${JSON.stringify(desired[k])} (delete the stream or choose another name)`,
      ),
    );
  }
  const updated = await jsm.streams.update(desired.name, desired);
  logger?.warn({ stream: desired.name, changed: drift }, 'updated JetStream stream settings');
  return updated;
}

async function streamInfo(jsm: JetStreamManager, name: string): Promise<StreamInfo | undefined> {
  try {
    return await jsm.streams.info(name);
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) return undefined;
    throw err;
  }
}

function differences(have: StreamConfig, want: DesiredStream): Array<keyof StreamConfig> {
  const out: Array<keyof StreamConfig> = [];
  for (const key of Object.keys(want) as Array<keyof StreamConfig>) {
    const w = want[key];
    const h = have[key];
    if (w === undefined) continue;
    if (Array.isArray(w) && Array.isArray(h)) {
      if ([...w].map(String).sort().join('\n') !== [...h].map(String).sort().join('\n')) out.push(key);
    } else if (w !== h) {
      out.push(key);
    }
  }
  return out;
}
