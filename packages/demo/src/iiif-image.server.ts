import { setTimeout as sleep } from 'node:timers/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { type ImageProfile, infoJson, type ResolvedProfile, resolveProfile } from './image-profile.js';
import { planRender, RequestRefused, type RenderSpec } from './image-request.js';

/** A source image: its encoded bytes, or the path of a file holding them (read on each request, never held in memory). */
export type ImageSource = Buffer | string;

/** A source with its own profile (otherwise the server's `defaults` apply). */
export interface ImageRegistration extends ImageProfile {
  readonly source: ImageSource;
}

export interface IiifImageServerOptions {
  /** Images by identifier. */
  readonly images?: Readonly<Record<string, ImageSource | ImageRegistration>>;
  /** Profile of images registered without one. Default: version 3, level 2. */
  readonly defaults?: ImageProfile;
  /** Path segment(s) before the identifier. Default `iiif`. */
  readonly prefix?: string;
  /** Default 0: any free port. */
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
}

/**
 * A misbehaviour to inject for requests whose path matches. Without `status`, `body`, `never` or
 * `truncate` the request is only delayed and then served normally.
 */
export interface Fault {
  /** Answer with this status (body: `body`, or a short text). */
  readonly status?: number;
  /** Answer with this body (status 200 unless `status` says otherwise). */
  readonly body?: string | Buffer;
  /** Content type of `body`. Default text/plain, or text/html when the body starts with `<`. */
  readonly contentType?: string;
  /** Extra response headers, e.g. `{ 'retry-after': '1' }`. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Wait this long before doing anything else. */
  readonly delayMs?: number;
  /** Never answer; the connection stays open until the server closes. */
  readonly never?: true;
  /** Serve the normal response cut to its first half (with a matching Content-Length): a truncated file. */
  readonly truncate?: true;
  /** Apply to this many matching requests, then serve normally. Default: every one. */
  readonly times?: number;
  /** Serve this many matching requests normally before applying (a client's check before its real request). Default 0. */
  readonly after?: number;
}

export interface IiifImageServer {
  /** Base URL, e.g. `http://127.0.0.1:40123` (no trailing slash). */
  readonly url: string;
  readonly port: number;
  /** Path (with query) of every request received, in order. */
  readonly requests: string[];
  /** Most requests that were in flight at once (since start or reset): what a client's concurrency limit allows. */
  readonly maxInFlight: number;
  /** Forgets the recorded requests and maxInFlight (faults stay; see clearFaults). */
  reset(): void;
  /** The Image API base URI (service id) of an image. */
  serviceId(id: string): string;
  /** Registers an image (replacing one with the same id) and returns its service id. */
  addImage(id: string, source: ImageSource, profile?: ImageProfile): Promise<string>;
  /** The profile an image is served with, every default applied. */
  profile(id: string): ResolvedProfile;
  /** Injects a fault for paths starting with the string (a full URL on this server works too) or matching the RegExp. */
  fail(match: string | RegExp, fault: Fault): void;
  clearFaults(): void;
  /** Serves a JSON document (an object is serialised) at `path`; returns its URL. Default type application/ld+json for objects. */
  addDocument(path: string, document: unknown, contentType?: string): string;
  /** Serves plain bytes at `path` (an image without any Image API service); returns its URL. */
  addFile(path: string, data: Buffer, contentType: string): string;
  close(): Promise<void>;
}

interface Registered {
  readonly source: ImageSource;
  readonly profile: ResolvedProfile;
}

interface Static {
  readonly body: Buffer;
  readonly contentType: string;
}

interface Answer {
  status: number;
  body: Buffer;
  headers: Record<string, string>;
}

const CONTENT_TYPES: Record<RenderSpec['format'], string> = { jpg: 'image/jpeg', png: 'image/png', webp: 'image/webp' };

/**
 * Starts a real Image API server (2.1 or 3, level 0, 1 or 2 per image) on a local port, rendering
 * with sharp. Tests use it instead of mocks: what the fetcher and planner see is real HTTP from a
 * server that refuses, as strictly as the spec allows, whatever the advertised level does not offer.
 */
export async function startIiifImageServer(options: IiifImageServerOptions = {}): Promise<IiifImageServer> {
  const prefix = (options.prefix ?? 'iiif').replace(/^\/+|\/+$/g, '');
  const images = new Map<string, Registered>();
  const documents = new Map<string, Static>();
  const faults: { match: string | RegExp; fault: Fault; left: number; passing: number }[] = [];
  const requests: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let base = '';

  const serviceId = (id: string): string => `${base}${prefix === '' ? '' : `/${prefix}`}/${encodeURIComponent(id)}`;

  async function addImage(id: string, source: ImageSource, profile: ImageProfile = options.defaults ?? {}): Promise<string> {
    // A file is left on disk: a folder of 100 MB TIFF masters is served without holding them.
    const meta = await sharp(source).metadata();
    if (!meta.width || !meta.height) throw new Error(`Image ${id}: cannot read its size`);
    images.set(id, { source, profile: resolveProfile(profile, meta.width, meta.height) });
    return serviceId(id);
  }

  function findFault(path: string): Fault | undefined {
    for (const entry of faults) {
      if (entry.left <= 0) continue;
      const hit = typeof entry.match === 'string' ? path.startsWith(entry.match) : entry.match.test(path);
      if (hit && entry.passing > 0) {
        entry.passing--;
        return undefined;
      }
      if (hit) {
        entry.left--;
        return entry.fault;
      }
    }
    return undefined;
  }

  async function route(path: string, accept: string): Promise<Answer> {
    const pathname = path.split('?')[0]!;
    const doc = documents.get(pathname);
    if (doc) return { status: 200, body: doc.body, headers: { 'content-type': doc.contentType } };
    const root = prefix === '' ? '/' : `/${prefix}/`;
    if (!pathname.startsWith(root)) return text(404, `Not found: ${pathname}`);
    const segments = pathname.slice(root.length).split('/');
    let id: string;
    try {
      id = decodeURIComponent(segments[0] ?? '');
    } catch {
      return text(400, 'Invalid identifier encoding');
    }
    const image = images.get(id);
    if (!image) return text(404, `No image "${id}"`);
    if (segments.length === 1 || (segments.length === 2 && segments[1] === '')) {
      return { status: 303, body: Buffer.alloc(0), headers: { location: `${serviceId(id)}/info.json` } };
    }
    if (segments.length === 2 && segments[1] === 'info.json') {
      const ld = accept.includes('application/ld+json');
      const type = image.profile.version === 3 ? 'http://iiif.io/api/image/3/context.json' : 'http://iiif.io/api/image/2/context.json';
      return {
        status: 200,
        body: Buffer.from(JSON.stringify(infoJson(serviceId(id), image.profile))),
        headers: { 'content-type': ld ? `application/ld+json;profile="${type}"` : 'application/json' },
      };
    }
    if (segments.length !== 5) return text(400, `Not an Image API request: ${pathname}`);
    let spec: RenderSpec;
    try {
      const [, region, size, rotation, qualityFormat] = segments.map((s) => decodeURIComponent(s)) as [string, string, string, string, string];
      spec = planRender(image.profile, { region, size, rotation, qualityFormat });
    } catch (err) {
      if (err instanceof RequestRefused) return text(err.status, err.message);
      if (err instanceof URIError) return text(400, `Invalid percent-encoding in ${pathname}`);
      throw err;
    }
    return { status: 200, body: await render(image.source, spec), headers: { 'content-type': CONTENT_TYPES[spec.format] } };
  }

  const held = new Set<ServerResponse>();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = req.url ?? '/';
    requests.push(path);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    res.on('close', () => inFlight--);
    const fault = findFault(path);
    if (fault?.delayMs) await sleep(fault.delayMs);
    if (fault?.never) {
      held.add(res);
      res.on('close', () => held.delete(res));
      return;
    }
    let answer: Answer;
    if (fault && (fault.status !== undefined || fault.body !== undefined)) {
      const body = fault.body === undefined ? Buffer.from(`Injected HTTP ${fault.status}`) : Buffer.from(fault.body);
      const contentType = fault.contentType ?? (body.subarray(0, 1).toString() === '<' ? 'text/html; charset=utf-8' : 'text/plain; charset=utf-8');
      answer = { status: fault.status ?? 200, body, headers: { 'content-type': contentType } };
    } else {
      answer = await route(path, String(req.headers.accept ?? ''));
      if (fault?.truncate) answer.body = answer.body.subarray(0, Math.floor(answer.body.length / 2));
    }
    res.writeHead(answer.status, {
      'access-control-allow-origin': '*',
      'content-length': String(answer.body.length),
      ...answer.headers,
      ...fault?.headers,
    });
    res.end(req.method === 'HEAD' ? undefined : answer.body);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`Internal error: ${(err as Error).message}`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  base = `http://${host}:${address.port}`;

  for (const [id, entry] of Object.entries(options.images ?? {})) {
    if (typeof entry === 'string' || Buffer.isBuffer(entry)) await addImage(id, entry);
    else {
      const { source, ...profile } = entry;
      await addImage(id, source, { ...options.defaults, ...profile });
    }
  }

  const normalisePath = (path: string): string => {
    if (path.startsWith(base)) path = path.slice(base.length);
    return path.startsWith('/') ? path : `/${path}`;
  };

  return {
    url: base,
    port: address.port,
    requests,
    get maxInFlight() {
      return maxInFlight;
    },
    reset() {
      requests.length = 0;
      maxInFlight = inFlight;
    },
    serviceId,
    addImage,
    profile(id) {
      const image = images.get(id);
      if (!image) throw new Error(`No image "${id}"`);
      return image.profile;
    },
    fail(match, fault) {
      faults.push({ match: typeof match === 'string' ? normalisePath(match) : match, fault, left: fault.times ?? Number.POSITIVE_INFINITY, passing: fault.after ?? 0 });
    },
    clearFaults() {
      faults.length = 0;
    },
    addDocument(path, document, contentType) {
      const p = normalisePath(path);
      const raw = Buffer.isBuffer(document) || typeof document === 'string';
      const body = raw ? Buffer.from(document) : Buffer.from(JSON.stringify(document, null, 2));
      documents.set(p, { body, contentType: contentType ?? (raw ? 'application/json' : 'application/ld+json') });
      return `${base}${p}`;
    },
    addFile(path, data, contentType) {
      const p = normalisePath(path);
      documents.set(p, { body: data, contentType });
      return `${base}${p}`;
    },
    async close() {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

function text(status: number, message: string): Answer {
  return { status, body: Buffer.from(message), headers: { 'content-type': 'text/plain; charset=utf-8' } };
}

async function render(source: ImageSource, spec: RenderSpec): Promise<Buffer> {
  const { region } = spec;
  // Two passes so the order is the spec's (region, size, then mirror and rotation), not sharp's.
  const scaled = await sharp(source)
    .extract({ left: region.x, top: region.y, width: region.w, height: region.h })
    .resize(spec.width, spec.height, { fit: 'fill' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  let out = sharp(scaled.data, { raw: { width: scaled.info.width, height: scaled.info.height, channels: scaled.info.channels } });
  if (spec.mirror) out = out.flop();
  if (spec.rotation !== 0) out = out.rotate(spec.rotation);
  if (spec.quality === 'gray') out = out.grayscale().toColourspace('b-w');
  if (spec.quality === 'bitonal') out = out.threshold(128).toColourspace('b-w');
  switch (spec.format) {
    case 'jpg':
      return out.flatten({ background: '#ffffff' }).jpeg({ quality: 90 }).toBuffer();
    case 'png':
      return out.png().toBuffer();
    case 'webp':
      return out.webp({ quality: 90 }).toBuffer();
  }
}
