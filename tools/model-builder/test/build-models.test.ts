/**
 * tools/model-builder/build-models.ts: idempotent, cached by source sha256 and converter version, rebuilds a
 * damaged file, keeps a platform's drop-in entries, and survives concurrent builds (test workers
 * and `npm run models` at once). Uses a real tiny converter in a temp folder.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CONVERTERS, buildModels } from '../build-models.js';
import { GraphBuilder, sha256Hex, tensorF32, type ModelConverter } from '../onnx/index.js';
import { loadManifest } from '../../../src/worker/classify/manifest.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'streamscreen-models-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function tinyConverter(state: { source: string; version: string; converted: number }): ModelConverter {
  return {
    id: 'tiny',
    file: 'tiny.onnx',
    name: 'tiny-converter',
    get version() {
      return state.version;
    },
    async source() {
      return { package: 'tiny-pkg', version: '0.1.0', license: 'MIT', sha256: sha256Hex(state.source), files: ['weights.bin'] };
    },
    async convert() {
      state.converted++;
      const g = new GraphBuilder('tiny');
      const x = g.addInput('image', 'uint8', ['batch', 2, 2, 3]);
      const f = g.op('Cast', [x], { to: 1 });
      const m = g.op('ReduceMean', [f], { axes: [1, 2, 3], keepdims: 0 });
      g.addOutput(g.op('Mul', [m, g.constant(tensorF32([Number(state.source.length)], []))]), 'float32', ['batch'], 'out');
      return {
        bytes: g.toBytes(),
        entry: {
          kind: 'tiny',
          labels: ['x'],
          input: {
            name: 'image',
            type: 'uint8' as const,
            layout: 'NHWC' as const,
            size: [2, 2] as [number, number],
            channels: 3 as const,
            batch: 'dynamic' as const,
            normalisation: {
              divisor: 1,
              mean: [0, 0, 0] as [number, number, number],
              std: [1, 1, 1] as [number, number, number],
              inGraph: true,
            },
          },
        },
      };
    },
  };
}

describe('buildModels', () => {
  it('the default pack converts the nsfw model (and the face models)', () => {
    expect(CONVERTERS.map((c) => c.id)).toContain('nsfw-mobilenet-v2');
    expect(new Set(CONVERTERS.map((c) => c.id)).size).toBe(CONVERTERS.length);
  });

  it('converts once, then serves from cache until the source, converter or file changes', async () => {
    const state = { source: 'v1', version: '1', converted: 0 };
    const converters = [tinyConverter(state)];
    const first = await buildModels({ outDir: dir, converters });
    expect(first.built).toEqual(['tiny']);
    const manifest = await loadManifest(first.manifestPath);
    const entry = manifest.models[0]!;
    expect(entry).toMatchObject({
      id: 'tiny',
      file: 'tiny.onnx',
      license: 'MIT',
      source: { package: 'tiny-pkg', version: '0.1.0', sha256: sha256Hex('v1') },
      converter: { name: 'tiny-converter', version: '1' },
    });
    expect(entry.sha256).toBe(sha256Hex(await readFile(join(dir, 'tiny.onnx'))));
    const session = await ort.InferenceSession.create(join(dir, 'tiny.onnx'));
    await session.release();

    const written = (await stat(join(dir, 'tiny.onnx'), { bigint: true })).mtimeNs;
    expect((await buildModels({ outDir: dir, converters })).cached).toEqual(['tiny']);
    expect(state.converted).toBe(1);
    // A cache hit leaves the model file alone (only the manifest is rewritten).
    expect((await stat(join(dir, 'tiny.onnx'), { bigint: true })).mtimeNs).toBe(written);

    state.source = 'v2';
    expect((await buildModels({ outDir: dir, converters })).built).toEqual(['tiny']);
    state.version = '2';
    expect((await buildModels({ outDir: dir, converters })).built).toEqual(['tiny']);
    await writeFile(join(dir, 'tiny.onnx'), 'damaged');
    expect((await buildModels({ outDir: dir, converters })).built).toEqual(['tiny']);
    expect((await buildModels({ outDir: dir, converters, force: true })).built).toEqual(['tiny']);
    expect(state.converted).toBe(5);
  });

  it("keeps a platform's drop-in entries across rebuilds", async () => {
    const converters = [tinyConverter({ source: 'v1', version: '1', converted: 0 })];
    const { manifestPath } = await buildModels({ outDir: dir, converters });
    const json = JSON.parse(await readFile(manifestPath, 'utf8')) as { models: unknown[] };
    const dropIn = {
      id: 'vendor',
      kind: 'custom',
      file: 'vendor.onnx',
      sha256: 'a'.repeat(64),
      license: 'proprietary',
      source: { package: 'vendor', version: '9' },
    };
    json.models.push(dropIn);
    await writeFile(manifestPath, JSON.stringify(json));
    await buildModels({ outDir: dir, converters, force: true });
    const after = await loadManifest(manifestPath);
    expect(after.models.map((m) => m.id)).toEqual(['tiny', 'vendor']);
    expect(after.models[1]).toMatchObject(dropIn);
  });

  it('rebuilds over an invalid manifest and keeps a copy of it', async () => {
    await writeFile(join(dir, 'manifest.json'), '{"version": 1, "models": [{"id": "BAD ID"}]}');
    const lines: string[] = [];
    const r = await buildModels({
      outDir: dir,
      converters: [tinyConverter({ source: 'v1', version: '1', converted: 0 })],
      log: (l) => lines.push(l),
    });
    expect(r.built).toEqual(['tiny']);
    expect(lines.join('\n')).toMatch(/invalid, rebuilding/);
    expect(await readFile(join(dir, 'manifest.json.invalid'), 'utf8')).toContain('BAD ID');
  });

  it('concurrent builds wait for each other and leave one consistent result', async () => {
    const state = { source: 'v1', version: '1', converted: 0 };
    const converters = [tinyConverter(state)];
    const results = await Promise.all([1, 2, 3].map(() => buildModels({ outDir: dir, converters })));
    expect(state.converted).toBe(1);
    expect(results.flatMap((r) => r.built)).toEqual(['tiny']);
    const manifest = await loadManifest(join(dir, 'manifest.json'));
    expect(manifest.models[0]!.sha256).toBe(sha256Hex(await readFile(join(dir, 'tiny.onnx'))));
  });

  it('takes over a lock left by a build that died', async () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    await mkdir(join(dir, '.build-lock'));
    await writeFile(join(dir, '.build-lock', 'pid'), String(dead));
    const lines: string[] = [];
    const r = await buildModels({
      outDir: dir,
      converters: [tinyConverter({ source: 'v1', version: '1', converted: 0 })],
      log: (l) => lines.push(l),
    });
    expect(r.built).toEqual(['tiny']);
    // Taken over because its owner is gone, not waited out (no wall-clock bound: the lock wait is
    // minutes, so a build that waited would fail this test on its timeout anyway).
    expect(lines[0]).toBe(`taking over ${join(dir, '.build-lock')}: its owner (pid ${dead}) is gone`);
    await expect(stat(join(dir, '.build-lock'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
