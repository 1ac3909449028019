/**
 * Optional vitest globalSetup (wire as `globalSetup: ['test/worker/classify/global-setup.ts']` in
 * vitest.config.ts): converts the models once before any test file starts, so tests outside
 * test/classify that build a classifier find models/ ready. The classify tests do not depend on
 * it: they call `modelsReady()` (support.ts), which is a cheap cache check when this ran.
 */
import { ensureModels } from '../../../tools/model-builder/build-models.js';

export default async function setup(): Promise<void> {
  const result = await ensureModels();
  if (result.built.length > 0) process.stdout.write(`models: built ${result.built.join(', ')}\n`);
}
