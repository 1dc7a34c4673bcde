import sharp from 'sharp';

export interface TestImageOptions {
  readonly width: number;
  readonly height: number;
  /** Default jpg. */
  readonly format?: 'jpg' | 'png' | 'webp';
}

/**
 * An image whose every region looks different (colour ramps across both axes and a coarse
 * checkerboard), so that a misplaced tile or a wrong crop shows up in a pixel comparison.
 */
export async function makeTestImage(options: TestImageOptions): Promise<Buffer> {
  const { width, height } = options;
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const checker = ((Math.floor(x / 64) + Math.floor(y / 64)) & 1) === 0;
      pixels[i] = Math.round((x / Math.max(1, width - 1)) * 255);
      pixels[i + 1] = Math.round((y / Math.max(1, height - 1)) * 255);
      pixels[i + 2] = checker ? 200 : 40;
    }
  }
  const image = sharp(pixels, { raw: { width, height, channels: 3 } });
  switch (options.format ?? 'jpg') {
    case 'jpg':
      return image.jpeg({ quality: 92 }).toBuffer();
    case 'png':
      return image.png().toBuffer();
    case 'webp':
      return image.webp({ quality: 92 }).toBuffer();
  }
}
