import sharp from 'sharp';

/**
 * Benign synthetic evidence: a coloured checkerboard with a frame number drawn as bars. Sharp
 * edges and saturated colour make "blurred", "greyscale" and "clear" measurable on screen.
 */
export async function syntheticFrame(n: number, width = 320, height = 180): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  const palette: Array<[number, number, number]> = [
    [220, 40, 40],
    [40, 90, 220],
    [240, 200, 30],
    [30, 160, 80],
  ];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const cell = ((x >> 4) + (y >> 4) + n) % 2;
      const [r, g, b] = cell ? palette[n % palette.length]! : [250, 250, 250];
      // n bars in the top-left corner tell the frames apart at a glance.
      const bar = y < 24 && x < 12 * (n + 1) && x % 12 < 8;
      const i = (y * width + x) * 3;
      raw[i] = bar ? 0 : r;
      raw[i + 1] = bar ? 0 : g;
      raw[i + 2] = bar ? 0 : b;
    }
  }
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

export interface ImageStats {
  /** Mean absolute difference between neighbouring pixels: high for sharp edges, near zero when blurred. */
  readonly edge: number;
  /** Mean spread between the RGB channels of a pixel: zero for greyscale. */
  readonly chroma: number;
}

export async function imageStats(png: Buffer): Promise<ImageStats> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  let edge = 0;
  let chroma = 0;
  const { width, height, channels } = info;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * channels;
      const r = data[i]!;
      const g = data[i + 1]!;
      const b = data[i + 2]!;
      chroma += Math.max(r, g, b) - Math.min(r, g, b);
      if (x + 1 < width) edge += Math.abs(data[i + channels]! - r);
    }
  }
  return { edge: edge / (width * height), chroma: chroma / (width * height) };
}
