/**
 * The composite classifier with the default model pack (nudity + face/age): what it hands its
 * face part, and how it behaves when a frame fails.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openClassifier } from '../../src/classify/classifier.js';
import { faceAgeFactory } from '../../src/classify/load-face-part.js';
import type { Classifier } from '../../src/classify/types.js';
import { modelsReady } from './support.js';

interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly component?: string;
}

const lines: LogLine[] = [];
let classifier: Classifier;

beforeAll(async () => {
  await modelsReady();
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
});
