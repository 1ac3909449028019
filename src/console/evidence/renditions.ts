import sharp from 'sharp';

/** Thumbnail width: enough to recognise a scene in a storyboard, small enough for a queue of cards. */
const THUMB_WIDTH = 320;

/**
 * The default view of a frame when the worker stored no pre-blurred rendition: made here, on the
 * server, so clear pixels never reach a browser that did not ask for them (a CSS blur can be
 * switched off in developer tools; this cannot).
 */
export async function blurredThumbnail(image: Uint8Array, sigma: number): Promise<Buffer> {
  return sharp(image).resize({ width: THUMB_WIDTH, withoutEnlargement: true }).greyscale().blur(sigma).jpeg({ quality: 70 }).toBuffer();
}

/** A revealed frame, greyscale when the reviewer's settings say so. */
export async function revealedImage(image: Uint8Array, greyscale: boolean): Promise<{ bytes: Buffer; contentType: string }> {
  if (!greyscale) return { bytes: Buffer.from(image), contentType: await contentTypeOf(image) };
  return { bytes: await sharp(image).greyscale().jpeg({ quality: 85 }).toBuffer(), contentType: 'image/jpeg' };
}

async function contentTypeOf(image: Uint8Array): Promise<string> {
  const { format } = await sharp(image).metadata();
  return format === 'png' ? 'image/png' : format === 'webp' ? 'image/webp' : 'image/jpeg';
}
