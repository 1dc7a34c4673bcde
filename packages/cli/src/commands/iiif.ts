import type { ImageServiceRef } from '@loupe/contracts';
import { LoupeError } from '@loupe/contracts/core';
import { createDocumentLoader, parseImageInfo, planImageRequest, type DocumentLoader, type PlanTarget } from '@loupe/iiif/plan';
import type { ImageFolderServer } from '@loupe/demo';
import type { Fetcher } from '@loupe/iiif';
import type { LoupeConfig } from '../config.js';
import { resolveSource } from '../source-path.js';

/**
 * Loads the command's own argument, on the user's machine: any file the user can read. The
 * fetcher (and with it sharp, undici and the logger) is built only when the argument is a URL,
 * so that planning from a local info.json loads only the planner.
 */
function commandLoader(config: LoupeConfig): DocumentLoader {
  let fetcher: Promise<Fetcher> | undefined;
  const getJson = async (url: string): Promise<unknown> => {
    fetcher ??= import('../fetcher.js').then(({ fetcherFromConfig }) => fetcherFromConfig(config));
    return (await fetcher).getJson(url);
  };
  return createDocumentLoader({ getJson }, { files: 'any' });
}

/** One JSON line per canvas image on stdout; harvest errors as JSON lines on stderr. Returns the number of errors. */
export async function harvestCommand(config: LoupeConfig, source: string, write: (line: string) => void, warn: (line: string) => void): Promise<number> {
  const { harvest } = await import('@loupe/iiif');
  const load = commandLoader(config);
  let errors = 0;
  for await (const event of harvest(resolveSource(source), load)) {
    if (event.type === 'error') {
      errors += 1;
      warn(JSON.stringify({ error: event.error }));
      continue;
    }
    for (const canvas of event.manifest.canvases) {
      for (const image of canvas.images) {
        const service: ImageServiceRef | undefined = image.service;
        write(
          JSON.stringify({
            manifest: event.manifest.id,
            canvas: canvas.id,
            image: image.id,
            service: service?.id ?? null,
            version: service?.version ?? null,
            level: service?.level ?? null,
            width: image.width ?? canvas.width,
            height: image.height ?? canvas.height,
          }),
        );
      }
    }
  }
  return errors;
}

export function parseTarget(opts: { shortSide?: string | undefined; fit?: string | undefined; region?: string | undefined }): PlanTarget {
  let region: { x: number; y: number; w: number; h: number } | undefined;
  if (opts.region !== undefined) {
    const parts = opts.region.split(',').map(Number);
    if (parts.length !== 4 || parts.some((n) => !Number.isFinite(n) || n < 0) || parts[2]! <= 0 || parts[3]! <= 0) {
      throw new LoupeError('LOUPE_ERR_VALIDATION', `--region ${JSON.stringify(opts.region)}: expected x,y,w,h in image pixels (w and h above 0)`);
    }
    region = { x: parts[0]!, y: parts[1]!, w: parts[2]!, h: parts[3]! };
  }
  if ((opts.shortSide === undefined) === (opts.fit === undefined)) {
    throw new LoupeError('LOUPE_ERR_VALIDATION', 'give exactly one of --short-side N or --fit WxH');
  }
  if (opts.shortSide !== undefined) {
    const n = Number(opts.shortSide);
    if (!Number.isInteger(n) || n <= 0) throw new LoupeError('LOUPE_ERR_VALIDATION', `--short-side ${JSON.stringify(opts.shortSide)}: expected a positive integer`);
    return { shortSide: n, ...(region && { region }) };
  }
  const m = /^(\d+)x(\d+)$/i.exec(opts.fit ?? '');
  if (!m || Number(m[1]) <= 0 || Number(m[2]) <= 0) throw new LoupeError('LOUPE_ERR_VALIDATION', `--fit ${JSON.stringify(opts.fit)}: expected WxH, e.g. 1024x768`);
  return { fit: { width: Number(m[1]), height: Number(m[2]) }, ...(region && { region }) };
}

/** Prints the planned request (first line) and the scale that maps result pixels back. */
export async function planCommand(config: LoupeConfig, infoRef: string, target: PlanTarget, write: (line: string) => void): Promise<void> {
  const load = commandLoader(config);
  const ref = resolveSource(infoRef);
  const info = parseImageInfo(await load(ref), ref);
  const plan = planImageRequest(info, target);
  if (plan.kind === 'single') write(plan.url!);
  else {
    write(`tiles: ${plan.tiles!.length} requests stitched into ${plan.width}x${plan.height}`);
    for (const tile of plan.tiles!) write(`  ${tile.url} -> ${tile.x},${tile.y}`);
  }
  write(`scale: ${plan.scale} (image pixels per result pixel); result ${plan.width}x${plan.height}; region ${plan.region.x},${plan.region.y},${plan.region.w},${plan.region.h}`);
  write(`why: ${plan.reason}${plan.resizeLocally ? '; resize locally to reach the target' : ''}`);
  if (plan.upscale) write(`upscale: offered x${plan.upscale.suggested} (the server gives ${plan.upscale.have} px where ${plan.upscale.want} are wanted; loupe run --enhance upscale=${plan.upscale.suggested})`);
}

export interface FolderServeOptions {
  readonly folder: string;
  readonly port?: number | undefined;
  readonly host?: string | undefined;
}

/**
 * `loupe iiif serve <folder>`: the folder's images as IIIF (an Image API 3 level-2 service each
 * and a manifest, @loupe/demo's server) until the returned server is closed. A folder that cannot
 * be served is the user's to fix, so it is a validation error naming the folder, not a crash.
 */
export async function serveFolder(opts: FolderServeOptions): Promise<ImageFolderServer> {
  const { serveImageFolder } = await import('@loupe/demo');
  try {
    return await serveImageFolder({ folder: opts.folder, ...(opts.port !== undefined && { port: opts.port }), ...(opts.host !== undefined && { host: opts.host }) });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') throw new LoupeError('LOUPE_ERR_VALIDATION', `cannot listen on ${opts.host ?? '127.0.0.1'}:${opts.port ?? 0} (${code}): choose another --port`, { cause: err });
    throw new LoupeError('LOUPE_ERR_VALIDATION', `cannot serve ${opts.folder}: ${(err as Error).message}`, { cause: err });
  }
}
