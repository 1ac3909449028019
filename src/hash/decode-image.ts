/**
 * Image bytes or a file to packed 8-bit RGB, as PDQ hashing needs it (and as the classifiers
 * need it, in `view` mode). One pipeline for files (the `hash` command, the sampler's image
 * files) and uploads (the matcher's POST /m/lookup).
 */
import sharp from 'sharp';
import type { RgbImage } from '../domain/frame.js';

/**
 * `pdq` (the default): what Meta's reference hasher sees when it loads a file, so that identical
 * files give identical hashes: no colour management (embedded ICC profiles ignored), no EXIF
 * auto-rotation (rotated copies are caught by the dihedral hashes), alpha dropped keeping the
 * stored colour values, greyscale expanded to three equal channels (the hasher takes the grey
 * value as luma for any all-grey image, as the reference does), 16-bit samples reduced to 8 bits.
 * `view`: as a person sees the picture, for the classifiers: EXIF orientation applied and
 * embedded colour profiles converted to sRGB, the space the models were trained in.
 */
export type DecodeMode = 'pdq' | 'view';

/** Decodes the first frame (JPEG, PNG, WebP, GIF, anything libvips reads); throws on anything else. */
export async function decodeRgb(input: string | Buffer, mode: DecodeMode = 'pdq'): Promise<RgbImage> {
  const view = mode === 'view';
  const decoder = sharp(input, { ignoreIcc: !view, failOn: 'error', page: 0, pages: 1 });
  const { data, info } = await (view ? decoder.rotate() : decoder)
    .toColourspace('srgb')
    .removeAlpha()
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || data.length !== info.width * info.height * 3) {
    throw new Error(`decoder returned ${info.channels} channels of ${info.width}x${info.height}, expected packed RGB`);
  }
  return { width: info.width, height: info.height, data };
}
