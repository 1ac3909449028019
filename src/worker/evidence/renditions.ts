import sharp from 'sharp';
import type { EvidenceOptions } from '../../config/index.js';
import type { EvidenceRendition } from '../../contracts/index.js';
import type { RawFrame } from '../../domain/frame.js';

export interface RenderedImage {
  readonly rendition: EvidenceRendition;
  readonly bytes: Buffer;
  readonly contentType: 'image/jpeg' | 'image/png';
  readonly ext: 'jpg' | 'png';
}

type RenderOptions = Pick<EvidenceOptions, 'width' | 'greyscale' | 'blurSigma' | 'clearCopy' | 'jpegQuality'>;

/**
 * The renditions of one sampled frame, from the raw RGB the sampler gave (no copy is made of it):
 * - `blurred`: downscaled, greyscale (by default) and Gaussian-blurred JPEG, what a console shows
 *   by default: the layout of a scene, no detail;
 * - `reviewer` (evidence.clearCopy): the same without blur, shown only after a deliberate reveal;
 * - `original` (when asked: kill-switches and hash matches): the frame exactly as screened, PNG,
 *   lossless, for legal preservation.
 */
export async function renderFrame(frame: RawFrame, o: RenderOptions, original: boolean): Promise<RenderedImage[]> {
  const raw = { raw: { width: frame.width, height: frame.height, channels: 3 as const } };
  const copy = () => {
    const s = sharp(frame.data, raw).resize({ width: o.width, withoutEnlargement: true });
    // One channel, not grey in three: a third of the pixels to encode and store.
    return o.greyscale ? s.greyscale().toColourspace('b-w') : s;
  };
  const jobs: Array<Promise<RenderedImage>> = [
    copy()
      .blur(o.blurSigma)
      .jpeg({ quality: o.jpegQuality })
      .toBuffer()
      .then((bytes) => ({ rendition: 'blurred' as const, bytes, contentType: 'image/jpeg' as const, ext: 'jpg' as const })),
  ];
  if (o.clearCopy) {
    jobs.push(
      copy()
        .jpeg({ quality: o.jpegQuality })
        .toBuffer()
        .then((bytes) => ({ rendition: 'reviewer' as const, bytes, contentType: 'image/jpeg' as const, ext: 'jpg' as const })),
    );
  }
  if (original) {
    jobs.push(
      sharp(frame.data, raw)
        .png({ compressionLevel: 6 })
        .toBuffer()
        .then((bytes) => ({ rendition: 'original' as const, bytes, contentType: 'image/png' as const, ext: 'png' as const })),
    );
  }
  return Promise.all(jobs);
}
