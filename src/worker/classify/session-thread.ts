import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';

/**
 * What the classifiers use of an onnxruntime session: the same whether it runs on the event
 * loop's thread or on a thread of its own.
 */
export interface ModelSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Readonly<Record<string, ort.Tensor>>, fetches?: readonly string[]): Promise<Record<string, ort.Tensor>>;
  release(): Promise<void>;
}

/** A session on the calling thread: onnxruntime-node runs it synchronously there (in a setImmediate). */
export function inProcessSession(session: ort.InferenceSession): ModelSession {
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    async run(feeds, fetches) {
      const out = fetches ? await session.run(feeds, [...fetches]) : await session.run(feeds);
      return out as Record<string, ort.Tensor>;
    },
    release: () => session.release(),
  };
}

interface WireTensor {
  readonly type: ort.Tensor.Type;
  readonly dims: readonly number[];
  readonly data: ort.Tensor.DataType;
}

type Reply =
  | { id: number; error: string }
  | { id: number; inputNames: string[]; outputNames: string[] }
  | { id: number; outputs: Record<string, WireTensor> };

/**
 * The thread's code, evaluated as a CommonJS script: one file that runs the same from the
 * TypeScript sources (tests) and from dist/, which a worker file of its own would not.
 * onnxruntime-node is loaded by the absolute path the main thread resolved.
 */
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
let session;
const wire = (t) => ({ type: t.type, dims: t.dims, data: t.data });
parentPort.on('message', async (m) => {
  try {
    if (m.kind === 'open') {
      session = await ort.InferenceSession.create(m.model, m.options);
      parentPort.postMessage({ id: m.id, inputNames: [...session.inputNames], outputNames: [...session.outputNames] });
    } else if (m.kind === 'run') {
      const feeds = {};
      for (const [name, t] of Object.entries(m.feeds)) feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
      const out = m.fetches ? await session.run(feeds, m.fetches) : await session.run(feeds);
      const outputs = {};
      for (const [name, t] of Object.entries(out)) outputs[name] = wire(t);
      parentPort.postMessage({ id: m.id, outputs });
    } else if (m.kind === 'release') {
      const s = session;
      session = undefined;
      if (s) await s.release();
      parentPort.postMessage({ id: m.id, outputs: {} });
    }
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: err instanceof Error ? err.message : String(err) });
  }
});
`;

/**
 * A session on a worker thread of its own. onnxruntime-node's run() is synchronous on the
 * calling thread (wrapped in a setImmediate), so in-process every inference blocks the event
 * loop for its whole duration (~10 ms for the nudity model on one thread, more on a loaded
 * machine): the sampler's pipes, PDQ and the hash check of every other stream wait behind it,
 * and with one intra-op thread the worker's inference never uses a second core. On its own
 * thread the loop only posts the input tensor (a copy: callers reuse their buffers) and reads
 * the outputs back. `options` are onnxruntime's session options, built by the caller.
 */
export async function createThreadSession(model: Uint8Array, options: ort.InferenceSession.SessionOptions): Promise<ModelSession> {
  const ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');
  const worker = new Worker(THREAD_SOURCE, { eval: true, workerData: { ortPath } });
  // The thread never keeps the worker process alive: release() ends it, and so does exit.
  worker.unref();
  const pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  let dead: Error | undefined;
  const failAll = (err: Error): void => {
    dead ??= err;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  worker.on('message', (reply: Reply) => {
    const p = pending.get(reply.id);
    pending.delete(reply.id);
    if (!p) return;
    if ('error' in reply) p.reject(new Error(reply.error));
    else p.resolve(reply);
  });
  worker.on('error', (err) => failAll(err));
  worker.on('exit', (code) => failAll(new Error(`inference thread exited (code ${code})`)));
  const call = (message: Record<string, unknown>): Promise<Reply> => {
    if (dead) return Promise.reject(dead);
    const id = nextId++;
    return new Promise<Reply>((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker.postMessage({ ...message, id });
    });
  };

  let names: { inputNames: string[]; outputNames: string[] };
  try {
    const opened = await call({ kind: 'open', model, options });
    if (!('inputNames' in opened)) throw new Error('inference thread did not report the model inputs');
    names = opened;
  } catch (err) {
    await worker.terminate();
    throw err;
  }
  let released = false;
  return {
    inputNames: names.inputNames,
    outputNames: names.outputNames,
    async run(feeds, fetches) {
      const wireFeeds: Record<string, WireTensor> = {};
      for (const [name, t] of Object.entries(feeds)) wireFeeds[name] = { type: t.type, dims: t.dims, data: t.data };
      const reply = await call({ kind: 'run', feeds: wireFeeds, ...(fetches ? { fetches: [...fetches] } : {}) });
      if (!('outputs' in reply)) throw new Error('inference thread returned no outputs');
      const out: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(reply.outputs)) out[name] = new ort.Tensor(t.type, t.data as Float32Array, t.dims);
      return out;
    },
    async release() {
      if (released) return;
      released = true;
      try {
        await call({ kind: 'release' });
      } finally {
        await worker.terminate();
      }
    },
  };
}
