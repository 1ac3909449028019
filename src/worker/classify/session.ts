import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { ModelError } from '../../domain/errors.js';
import type { LoadedManifest, ManifestEntry } from './manifest.js';

export interface SessionOptions {
  /** Threads one inference may use. 1 suits a worker screening many streams on few cores. */
  readonly intraOpThreads: number;
  /**
   * Let idle ORT worker threads spin waiting for work. Off: spinning buys microseconds per op
   * but burns whole cores that the ffmpeg samplers and PDQ need.
   */
  readonly spinning?: boolean;
}

/**
 * An onnxruntime CPU session with our defaults: all graph optimisations, sequential execution.
 * Every session of the worker is made here, so all are configured one way. `label` names the
 * model in the error (default: the path, or the byte count).
 */
export async function createSession(model: string | Uint8Array, options: SessionOptions, label?: string): Promise<ort.InferenceSession> {
  if (!(Number.isInteger(options.intraOpThreads) && options.intraOpThreads >= 1)) {
    throw new ModelError('model_invalid', `intraOpThreads must be a positive integer, got ${options.intraOpThreads}`);
  }
  const spin = options.spinning ? '1' : '0';
  try {
    return await ort.InferenceSession.create(model as string, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      intraOpNumThreads: options.intraOpThreads,
      interOpNumThreads: 1,
      enableCpuMemArena: true,
      enableMemPattern: true,
      extra: { 'session.intra_op.allow_spinning': spin, 'session.inter_op.allow_spinning': spin },
    });
  } catch (err) {
    const what = label ?? (typeof model === 'string' ? model : `${model.byteLength}-byte model`);
    throw new ModelError('model_invalid', `cannot load ONNX model ${what}: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
}

/**
 * The session for a manifest entry: reads its file, checks it against the manifest's sha256 (a
 * stale or swapped model must not screen silently) and creates the session from those bytes.
 */
export async function openModelSession(
  manifest: LoadedManifest,
  entry: ManifestEntry,
  options: SessionOptions,
): Promise<ort.InferenceSession> {
  const path = manifest.resolveFile(entry);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new ModelError('model_invalid', `model '${entry.id}': cannot read ${path} (run \`npm run models\`)`, { cause: err });
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== entry.sha256) {
    throw new ModelError(
      'model_invalid',
      `model '${entry.id}': ${path} has sha256 ${sha256}, the manifest says ${entry.sha256} (rebuild with \`npm run models\`)`,
    );
  }
  return createSession(bytes, options, `model '${entry.id}' (${path})`);
}

/**
 * Counts calls that have started and not finished, so a model's `close()` can wait for them
 * before releasing its sessions: a session released under a running or queued inference fails
 * that call, and native code may still be reading the session's memory.
 */
export interface InFlight {
  /** Runs `fn`, counted as in flight until it settles. */
  run<T>(fn: () => Promise<T>): Promise<T>;
  /** Resolves once nothing is in flight. */
  idle(): Promise<void>;
}

export function createInFlight(): InFlight {
  let count = 0;
  let waiters: Array<() => void> = [];
  return {
    async run(fn) {
      count++;
      try {
        return await fn();
      } finally {
        if (--count === 0) {
          const w = waiters;
          waiters = [];
          for (const resolve of w) resolve();
        }
      }
    },
    idle() {
      return count === 0 ? Promise.resolve() : new Promise((resolve) => waiters.push(resolve));
    },
  };
}

/**
 * Runs one job at a time and batches what queued up meanwhile: while an inference runs, requests
 * from other streams wait, and the next run takes up to `maxBatch` of them at once. No request
 * waits for a batch to fill, so batching only ever happens when it saves time.
 */
export interface BatchQueue<I, O> {
  push(item: I): Promise<O>;
  /** Requests waiting (not counting the running batch). */
  readonly pending: number;
  /** Resolves when nothing is queued or running. */
  drain(): Promise<void>;
}

export function createBatchQueue<I, O>(run: (items: readonly I[]) => Promise<readonly O[]>, maxBatch: number): BatchQueue<I, O> {
  if (!(Number.isInteger(maxBatch) && maxBatch >= 1)) throw new RangeError(`maxBatch must be a positive integer, got ${maxBatch}`);
  interface Job {
    item: I;
    resolve: (o: O) => void;
    reject: (e: unknown) => void;
  }
  const queue: Job[] = [];
  let running = false;
  let drained: Array<() => void> = [];

  async function pump(): Promise<void> {
    if (running) return;
    running = true;
    try {
      while (queue.length > 0) {
        const batch = queue.splice(0, maxBatch);
        try {
          const out = await run(batch.map((j) => j.item));
          if (out.length !== batch.length) throw new ModelError('inference_failed', `batch of ${batch.length} gave ${out.length} results`);
          batch.forEach((j, i) => j.resolve(out[i]!));
        } catch (err) {
          for (const j of batch) j.reject(err);
        }
      }
    } finally {
      running = false;
      const waiters = drained;
      drained = [];
      for (const w of waiters) w();
    }
  }

  return {
    push(item) {
      return new Promise<O>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        void pump();
      });
    },
    get pending() {
      return queue.length;
    },
    drain() {
      if (!running && queue.length === 0) return Promise.resolve();
      return new Promise((resolve) => drained.push(resolve));
    },
  };
}
