import { stat } from 'node:fs/promises';
import sharp from 'sharp';
import type { RgbImage } from '../domain/frame.js';
import { ImageDecodeError } from '../domain/errors.js';

/**
 * Decodes an image file to packed 8-bit sRGB for the classifiers. Unlike the PDQ decoder
 * (src/sampler/image-file.ts, which must see the stored pixels as the reference does), this one
 * applies EXIF orientation, so a phone photo stored sideways is classified upright as a viewer
 * sees it, and converts embedded colour profiles to sRGB, the space the models were trained in.
 * Alpha is dropped (stored colour kept), as tfjs's fromPixels does. Sizes are left alone: the
 * classifier scales to each model's input, and an image already at that size goes in unchanged.
 */
export async function decodeImageForClassification(path: string): Promise<RgbImage> {
  let isFile = false;
  try {
    isFile = (await stat(path)).isFile();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ImageDecodeError(path, code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(err), { cause: err });
  }
  if (!isFile) throw new ImageDecodeError(path, 'not a regular file');
  try {
    const { data, info } = await sharp(path, { failOn: 'error', page: 0, pages: 1 })
      .rotate()
      .toColourspace('srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || data.length !== info.width * info.height * 3) {
      throw new Error(`decoder returned ${info.channels} channels of ${info.width}x${info.height}, expected packed RGB`);
    }
    return { width: info.width, height: info.height, data };
  } catch (err) {
    throw new ImageDecodeError(path, `cannot decode image: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}
