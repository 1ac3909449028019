/** The sampler stage's public surface: the pipeline and commands import from here only. */
export {
  createSampler,
  type CreateSamplerDeps,
  type Sampler,
  type SamplerState,
  type SamplerStats,
  type SamplingPressure,
} from './sampler.js';
export { resolveFfmpeg, probeFfmpeg, type FfmpegBinary, type FfmpegSource, type ResolveFfmpegOptions } from './ffmpeg-binary.js';
export { parseSourceUrl, redactUrl, redactUrlsInText, SourceUrl, type SourceKind, type ParseSourceUrlOptions } from './source-url.js';
export { SourceFailedError } from './errors.js';
