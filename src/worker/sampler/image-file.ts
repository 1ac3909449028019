/**
 * Decodes an image file to packed 8-bit RGB (hash/decode-image.ts says how, for PDQ and for the
 * classifiers); a missing, unreadable or undecodable file is an ImageDecodeError naming it.
 * Known limit of "identical hash": for 16-bit files the reduction to 8 bits is libvips' (high
 * byte), not necessarily ImageMagick's.
 */
import { stat } from 'node:fs/promises';
import type { RgbImage } from '../../domain/frame.js';
import { ImageDecodeError } from '../../domain/errors.js';
import { decodeRgb, type DecodeMode } from '../../hash/decode-image.js';

export type { DecodeMode };

export async function readRgbImage(path: string, mode: DecodeMode = 'pdq'): Promise<RgbImage> {
  await checkReadableFile(path);
  try {
    return await decodeRgb(path, mode);
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
