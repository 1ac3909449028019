/**
 * readRgbImage (src/worker/sampler/image-file.ts): what the PDQ reference sees when it loads a file.
 * Images are drawn here in a temp dir with sharp; nothing is fetched.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageDecodeError } from '../../src/domain/errors.js';
import { readRgbImage } from '../../src/worker/sampler/image-file.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pdq-image-file-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** w x h raw pixels with `channels` channels: pixel i, channel c = (i * 37 + c * 91) & 255. */
function pattern(w: number, h: number, channels: number): Buffer {
  return Buffer.from(Array.from({ length: w * h * channels }, (_, k) => (Math.floor(k / channels) * 37 + (k % channels) * 91) & 255));
}

function rgbPixel(img: { width: number; data: Uint8Array }, x: number, y: number): number[] {
  const p = (y * img.width + x) * 3;
  return [img.data[p]!, img.data[p + 1]!, img.data[p + 2]!];
}

describe('readRgbImage', () => {
  it('decodes PNG to packed 8-bit RGB, pixel for pixel', async () => {
    const raw = pattern(13, 7, 3);
    const file = join(dir, 'rgb.png');
    await sharp(raw, { raw: { width: 13, height: 7, channels: 3 } })
      .png()
      .toFile(file);
    const img = await readRgbImage(file);
    expect([img.width, img.height, img.data.length]).toEqual([13, 7, 13 * 7 * 3]);
    expect(Buffer.from(img.data).equals(raw)).toBe(true);
  });

  it('drops alpha but keeps the stored colour of transparent pixels (no flattening)', async () => {
    const raw = pattern(6, 4, 4);
    raw.set([200, 10, 30, 0], 0); // fully transparent, coloured
    raw.set([5, 250, 90, 128], 4);
    const file = join(dir, 'rgba.png');
    await sharp(raw, { raw: { width: 6, height: 4, channels: 4 } })
      .png()
      .toFile(file);
    const img = await readRgbImage(file);
    expect(img.data.length).toBe(6 * 4 * 3);
    expect(rgbPixel(img, 0, 0)).toEqual([200, 10, 30]);
    expect(rgbPixel(img, 1, 0)).toEqual([5, 250, 90]);
  });

  it('expands greyscale (with or without alpha) to three equal channels', async () => {
    for (const channels of [1, 2] as const) {
      const raw = pattern(9, 5, channels);
      const file = join(dir, `grey${channels}.png`);
      await sharp(raw, { raw: { width: 9, height: 5, channels } })
        .png()
        .toFile(file);
      const img = await readRgbImage(file);
      expect(img.data.length).toBe(9 * 5 * 3);
      for (let i = 0; i < 9 * 5; i++) {
        const g = raw[i * channels]!;
        expect([img.data[i * 3], img.data[i * 3 + 1], img.data[i * 3 + 2]]).toEqual([g, g, g]);
      }
    }
  });

  it('reduces 16-bit PNG samples to 8 bits', async () => {
    const raw = pattern(8, 8, 3);
    const file = join(dir, 'deep.png');
    await sharp(raw, { raw: { width: 8, height: 8, channels: 3 } })
      .toColourspace('rgb16')
      .png()
      .toFile(file);
    expect((await sharp(file).metadata()).depth).toBe('ushort');
    const img = await readRgbImage(file);
    expect(Buffer.from(img.data).equals(raw)).toBe(true);
  });

  it('does not rotate by EXIF orientation (the reference hashes the stored pixels)', async () => {
    const file = join(dir, 'oriented.jpg');
    await sharp(pattern(40, 20, 3), { raw: { width: 40, height: 20, channels: 3 } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toFile(file);
    expect((await sharp(file).metadata()).orientation).toBe(6);
    const img = await readRgbImage(file);
    expect([img.width, img.height]).toEqual([40, 20]);
  });

  it('reads only the first frame of an animated GIF', async () => {
    const red = Buffer.alloc(10 * 10 * 3, 0);
    const blue = Buffer.alloc(10 * 10 * 3, 0);
    for (let i = 0; i < 100; i++) {
      red[i * 3] = 255;
      blue[i * 3 + 2] = 255;
    }
    const frames = Buffer.concat([red, blue]);
    const file = join(dir, 'anim.gif');
    await sharp(frames, { raw: { width: 10, height: 20, channels: 3, pageHeight: 10 } })
      .gif()
      .toFile(file);
    expect((await sharp(file, { animated: true }).metadata()).pages).toBe(2);
    const img = await readRgbImage(file);
    expect([img.width, img.height]).toEqual([10, 10]);
    expect(rgbPixel(img, 5, 5)).toEqual([255, 0, 0]);
  });

  it('decodes lossless WebP exactly', async () => {
    const raw = pattern(11, 6, 3);
    const file = join(dir, 'img.webp');
    await sharp(raw, { raw: { width: 11, height: 6, channels: 3 } })
      .webp({ lossless: true })
      .toFile(file);
    expect(Buffer.from((await readRgbImage(file)).data).equals(raw)).toBe(true);
  });

  describe('errors name the file and say why', () => {
    async function failure(path: string): Promise<ImageDecodeError> {
      const err: unknown = await readRgbImage(path).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ImageDecodeError);
      const e = err as ImageDecodeError;
      expect(e.code).toBe('image_unreadable');
      expect(e.retryable).toBe(false);
      expect(e.file).toBe(path);
      return e;
    }

    it('missing file', async () => {
      const path = join(dir, 'nope.png');
      expect((await failure(path)).message).toBe(`${path}: no such file`);
    });

    it('a directory', async () => {
      const path = join(dir, 'sub');
      await mkdir(path);
      expect((await failure(path)).message).toBe(`${path}: not a regular file`);
    });

    it('empty file and text file', async () => {
      const empty = join(dir, 'empty.jpg');
      const text = join(dir, 'readme.png');
      await writeFile(empty, '');
      await writeFile(text, 'this is not a PNG\n');
      expect((await failure(empty)).message).toMatch(new RegExp(`^${empty}: cannot decode image: .+`));
      expect((await failure(text)).message).toMatch(new RegExp(`^${text}: cannot decode image: .+`));
    });

    it('a file cut short mid-way', async () => {
      const whole = await sharp(pattern(64, 64, 3), { raw: { width: 64, height: 64, channels: 3 } })
        .png()
        .toBuffer();
      const cut = join(dir, 'cut.png');
      await writeFile(cut, whole.subarray(0, whole.length >> 1));
      expect((await failure(cut)).message).toMatch(/cannot decode image/);
    });
  });
});

describe('readRgbImage view mode (classifiers)', () => {
  it('applies EXIF orientation, which the PDQ mode leaves alone', async () => {
    const file = join(dir, 'sideways.jpg');
    // Stored 40 wide and 20 high, tagged "rotate 90° clockwise to view" (orientation 6).
    await sharp(pattern(40, 20, 3), { raw: { width: 40, height: 20, channels: 3 } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toFile(file);
    const stored = await readRgbImage(file);
    expect([stored.width, stored.height]).toEqual([40, 20]);
    const viewed = await readRgbImage(file, 'view');
    expect([viewed.width, viewed.height]).toEqual([20, 40]);
    expect(viewed.data.length).toBe(20 * 40 * 3);
  });
});
