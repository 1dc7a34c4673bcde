import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { startIiifImageServer, type IiifImageServer } from './iiif-image.server.js';
import { manifestV3 } from './manifest.builders.js';

/** What a folder may hold that is served: the formats sharp reads that cameras and scanners write. */
export const FOLDER_IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png', '.tif', '.tiff', '.webp'];

export interface ImageFolderServerOptions {
  readonly folder: string;
  /** Default 0: any free port. */
  readonly port?: number;
  /** Default 127.0.0.1: only this machine can reach the files. */
  readonly host?: string;
}

export interface ServedImage {
  /** The file's name in the folder, which is also its Image API identifier. */
  readonly file: string;
  readonly serviceId: string;
  readonly width: number;
  readonly height: number;
}

export interface ImageFolderServer {
  /** Base URL, e.g. `http://127.0.0.1:8182`. */
  readonly url: string;
  /** The generated Presentation 3 manifest: one canvas per image, in file-name order. */
  readonly manifestUrl: string;
  readonly images: readonly ServedImage[];
  close(): Promise<void>;
}

/** `plate_01-recto.tif` -> `plate 01 recto`: a label a person reads in a viewer. */
function labelOf(file: string): string {
  return path.basename(file, path.extname(file)).replace(/[_-]+/g, ' ').trim() || file;
}

/**
 * A folder of images as IIIF: each image an Image API 3 level-2 service (read from disk on each
 * request), and a manifest at /manifest.json listing them sorted by name, so that any IIIF client
 * (`loupe run`, Mirador) works on files that no server publishes yet. The folder is read once, at
 * start.
 */
export async function serveImageFolder(options: ImageFolderServerOptions): Promise<ImageFolderServer> {
  const folder = path.resolve(options.folder);
  const entries = await readdir(folder, { withFileTypes: true });
  const files = entries
    .filter((e) => e.isFile() && !e.name.startsWith('.') && FOLDER_IMAGE_EXTENSIONS.includes(path.extname(e.name).toLowerCase()))
    .map((e) => e.name)
    .sort(new Intl.Collator('en', { numeric: true }).compare);
  if (files.length === 0) throw new Error(`${folder} holds no images (${FOLDER_IMAGE_EXTENSIONS.join(', ')})`);
  const server: IiifImageServer = await startIiifImageServer({
    defaults: { version: 3, level: 2 },
    ...(options.port !== undefined && { port: options.port }),
    ...(options.host !== undefined && { host: options.host }),
  });
  try {
    const images: ServedImage[] = [];
    for (const file of files) {
      const serviceId = await server.addImage(file, path.join(folder, file)).catch((err: unknown) => {
        throw new Error(`${path.join(folder, file)}: not an image sharp can read (${(err as Error).message})`);
      });
      const { width, height } = server.profile(file);
      images.push({ file, serviceId, width, height });
    }
    const manifestUrl = `${server.url}/manifest.json`;
    server.addDocument(
      '/manifest.json',
      manifestV3({
        id: manifestUrl,
        label: path.basename(folder),
        canvases: images.map((image) => ({
          label: labelOf(image.file),
          width: image.width,
          height: image.height,
          image: { serviceId: image.serviceId, version: 3, level: 2 },
        })),
      }),
    );
    return { url: server.url, manifestUrl, images, close: () => server.close() };
  } catch (err) {
    await server.close();
    throw err;
  }
}
