/**
 * The composite classifier with the default model pack (nudity + face/age): what it hands its
 * face part, and how it behaves when a frame fails.
 */
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openClassifier } from '../../src/classify/classifier.js';
import { faceAgeFactory } from '../../src/classify/load-face-part.js';
import { loadManifest, parseManifest } from '../../src/classify/manifest.js';
import type { Classifier } from '../../src/classify/types.js';
import { modelsReady } from './support.js';

interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly component?: string;
}

const lines: LogLine[] = [];
let classifier: Classifier;
let manifestPath: string;

beforeAll(async () => {
  manifestPath = (await modelsReady()).manifestPath;
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  classifier = await openClassifier({ logger, faceAge: faceAgeFactory });
}, 120_000);

afterAll(async () => {
  await classifier?.close();
});

describe('composite classifier', () => {
  it("gives the face part the composite's logger (the part makes none of its own)", () => {
    expect(classifier.faces).toBe(true);
    expect(lines).toContainEqual(expect.objectContaining({ component: 'face-age', msg: 'face and age models loaded' }));
    expect(lines).toContainEqual(expect.objectContaining({ component: 'face-age', msg: 'face and age models warmed up' }));
  });

  it('hands an injected manifest to the face part, which reads none from disk', async () => {
    const real = await loadManifest(manifestPath);
    const models = real.models.map((m) => ({ ...m, file: real.resolveFile(m) }));
    const injected = parseManifest({ version: 1, models }, join(real.path, '..', 'no-such-dir', 'manifest.json'));
    const c = await openClassifier({ manifest: injected, faceAge: faceAgeFactory, options: { nudity: false, custom: false, warmUp: false } });
    try {
      expect(c.faces).toBe(true);
      expect(c.models).toEqual(['face-age']);
    } finally {
      await c.close();
    }
  });
});
