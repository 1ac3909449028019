/**
 * Decodes an image file (JPEG, PNG, WebP, GIF first frame, anything libvips reads) to packed
 * 8-bit RGB for PDQ hashing.
 *
 * The choices follow what Meta's reference hasher sees when it loads a file, so that identical
 * files give identical hashes:
 *  - no colour management: embedded ICC profiles are ignored (sharp would otherwise convert to
 *    sRGB, which moves pixels and flips hash bits; the reference uses the stored values);
 *  - no EXIF auto-rotation (the reference hashes the stored orientation; rotated copies are
 *    caught by the dihedral hashes instead);
 *  - alpha is dropped, keeping the stored colour values (the reference reads the first three
 *    channels and ignores the fourth);
 *  - greyscale is expanded to three equal channels (the hasher takes the grey value as luma for
 *    any image whose pixels are all grey, as the reference does); 16-bit samples are reduced to 8 bits.
 *
 * Known limit of "identical hash": for 16-bit files the reduction to 8 bits is libvips' (high
 * byte), not necessarily ImageMagick's.
 */
import { stat } from 'node:fs/promises';
import sharp from 'sharp';
import type { RgbImage } from '../../domain/frame.js';
import { ImageDecodeError } from '../../domain/errors.js';

/**
 * How to decode: `pdq` (the default) as described above; `view` as a person sees the picture,
 * for the classifiers: EXIF orientation applied (a phone photo stored sideways is classified
 * upright) and embedded colour profiles converted to sRGB, the space the models were trained in.
 */
export type DecodeMode = 'pdq' | 'view';

export async function readRgbImage(path: string, mode: DecodeMode = 'pdq'): Promise<RgbImage> {
  await checkReadableFile(path);
  try {
    const view = mode === 'view';
    const decoder = sharp(path, { ignoreIcc: !view, failOn: 'error', page: 0, pages: 1 });
    const { data, info } = await (view ? decoder.rotate() : decoder)
      .toColourspace('srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || data.length !== info.width * info.height * 3) {
      throw new Error(`decoder returned ${info.channels} channels of ${info.width}x${info.height}, expected packed RGB`);
    }
    return { width: info.width, height: info.height, data };
  } catch (err) {
    throw new ImageDecodeError(path, `cannot decode image: ${describe(err)}`, { cause: err });
  }
}

async function checkReadableFile(path: string): Promise<void> {
  let isFile: boolean;
  try {
    isFile = (await stat(path)).isFile();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : describe(err);
    throw new ImageDecodeError(path, reason, { cause: err });
  }
  if (!isFile) throw new ImageDecodeError(path, 'not a regular file');
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
