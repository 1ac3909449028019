/**
 * Sessions on a worker thread of their own (session-thread.ts) against sessions on the calling
 * thread, on the real models: the same outputs, to the bit, and the same failures.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadManifest, type LoadedManifest } from '../../../src/worker/classify/manifest.js';
import { openModelSession, type ModelSession } from '../../../src/worker/classify/session.js';
import { createThreadSession } from '../../../src/worker/classify/session-thread.js';
import { modelsReady } from './support.js';

let manifest: LoadedManifest;
beforeAll(async () => {
  manifest = await loadManifest((await modelsReady()).manifestPath);
}, 300_000);

/** A deterministic, non-trivial input for the model's first input. */
function input(session: ModelSession, entry: LoadedManifest['models'][number]): Record<string, ort.Tensor> {
  const spec = entry.input!;
  const [h, w] = spec.size;
  const dims = spec.layout === 'NCHW' ? [1, 3, h, w] : [1, h, w, 3];
  const n = 3 * h * w;
  if (spec.type === 'uint8')
    return {
      [session.inputNames[0]!]: new ort.Tensor(
        'uint8',
        Uint8Array.from({ length: n }, (_, i) => (i * 7) % 256),
        dims,
      ),
    };
  return {
    [session.inputNames[0]!]: new ort.Tensor(
      'float32',
      Float32Array.from({ length: n }, (_, i) => ((i * 7) % 256) / 255),
      dims,
    ),
  };
}

describe('inference on a thread of its own', () => {
  it('gives every model the same outputs, bit for bit, as the session on the calling thread', async () => {
    for (const entry of manifest.models) {
      const here = await openModelSession(manifest, entry, { intraOpThreads: 1, offThread: false });
      const there = await openModelSession(manifest, entry, { intraOpThreads: 1, offThread: true });
      try {
        expect(there.inputNames).toEqual(here.inputNames);
        expect(there.outputNames).toEqual(here.outputNames);
        const feeds = input(here, entry);
        const [a, b] = await Promise.all([here.run(feeds), there.run(feeds)]);
        for (const name of here.outputNames) {
          expect(b[name]!.dims, `${entry.id} ${name}`).toEqual(a[name]!.dims);
          expect(Buffer.from((b[name]!.data as Float32Array).buffer)).toEqual(Buffer.from((a[name]!.data as Float32Array).buffer));
        }
      } finally {
        await Promise.all([here.release(), there.release()]);
      }
    }
  }, 120_000);

  it('leaves the event loop free while it runs', async () => {
    const entry = manifest.models.find((m) => m.kind === 'nudity')!;
    const blocked = async (offThread: boolean): Promise<number> => {
      const session = await openModelSession(manifest, entry, { intraOpThreads: 1, offThread });
      const feeds = input(session, entry);
      await session.run(feeds);
      const h = monitorEventLoopDelay({ resolution: 1 });
      h.enable();
      for (let i = 0; i < 10; i++) await session.run(feeds);
      h.disable();
      await session.release();
      return h.percentile(50) / 1e6;
    };
    const onLoop = await blocked(false);
    const onThread = await blocked(true);
    console.info(
      `median event-loop delay over 10 inferences: ${onLoop.toFixed(1)} ms with them on the loop, ${onThread.toFixed(1)} ms with them on a thread`,
    );
    // On the loop nearly every timer tick waits for an inference to finish; on a thread only for posting the input.
    expect(onThread).toBeLessThan(onLoop);
  }, 60_000);

  it('fails a bad model at load, and a run after release', async () => {
    await expect(createThreadSession(new Uint8Array([1, 2, 3]), {})).rejects.toThrow();
    const entry = manifest.models.find((m) => m.kind === 'nudity')!;
    const session = await openModelSession(manifest, entry, { intraOpThreads: 1, offThread: true });
    const feeds = input(session, entry);
    await session.release();
    await expect(session.run(feeds)).rejects.toThrow();
  }, 60_000);
});
