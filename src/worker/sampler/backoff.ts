/**
 * The sampler restarts ffmpeg with the worker-wide retry rule (domain/retry.ts): restart number
 * `failures` (1 = first restart) waits a delay in [d/2, d], d doubling from `baseMs` up to
 * `maxMs`. Kept as the sampler's own name so its callers read in its terms.
 */
export { backoffDelay } from '../../domain/retry.js';
