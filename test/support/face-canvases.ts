// Canvases of portraits run through the detect and embed stages over real HTTP, as the enrich
// pipeline runs them: what the people tests group, name and search.
import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { startIiifImageServer } from '@loupe/testing';

type Call = <T = any>(method: 'GET' | 'POST', url: string, body?: unknown) => Promise<T>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** JSON over HTTP to a Loupe at `base`, as the process's own local principal. */
export function localCaller(base: string, authorization: string): Call {
  return async (method, url, body) => {
    const res = await fetch(url.startsWith('http') ? url : `${base}${url}`, {
      method,
      headers: { authorization, ...(body !== undefined && { 'content-type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${url} answered ${res.status}: ${text}`);
    return JSON.parse(text);
  };
}

/**
 * The fixture astronaut twice (as served, and mirrored and recompressed: one person on two
 * canvases), beside the other fixture files named in `others` (canvas name to file name).
 */
export async function astronautAndOthers(fixtures: string, others: Record<string, string>): Promise<Record<string, Buffer>> {
  const portrait = path.join(fixtures, 'photo-astronaut-eileen-collins-nasa.png');
  const pictures: Record<string, Buffer> = {
    astronaut: await fs.readFile(portrait),
    'astronaut-mirrored': await sharp(portrait).flop().jpeg({ quality: 70 }).toBuffer(),
  };
  for (const [name, file] of Object.entries(others)) pictures[name] = await fs.readFile(path.join(fixtures, file));
  return pictures;
}

/** One canvas per picture (`<manifest base>/canvas/<name>`), detected and embedded; `store` also keeps the detections. */
export async function addFaceCanvases(
  images: Awaited<ReturnType<typeof startIiifImageServer>>,
  manifestId: string,
  pictures: Record<string, Buffer>,
  call: Call,
  opts: { store?: boolean } = {},
): Promise<(name: string) => string> {
  const canvasOf = (name: string) => `${manifestId.replace(/\/manifest$/, '')}/canvas/${name}`;
  let index = 0;
  for (const [name, bytes] of Object.entries(pictures)) {
    const serviceId = await images.addImage(name, bytes, { version: 3, level: 2 });
    const meta = await sharp(bytes).metadata();
    const task = {
      jobId: 'j',
      manifestId,
      canvasId: canvasOf(name),
      canvasIndex: index++,
      canvasLabel: name,
      canvasWidth: meta.width,
      canvasHeight: meta.height,
      imageIndex: 0,
      image: { id: `${serviceId}/full/max/0/default.jpg`, service: { id: serviceId, version: 3, level: 2 } },
    };
    const detect = await call('POST', '/v1/detect', { task, options: { kinds: ['faces'] } });
    await call('POST', '/v1/embed/canvas', { task, results: { detect } });
    if (opts.store) await call('POST', '/v1/results', { task, results: { detect } });
  }
  return canvasOf;
}
