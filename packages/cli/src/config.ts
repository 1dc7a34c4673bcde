import os from 'node:os';
import path from 'node:path';
import { LoupeError } from '@loupe/contracts';

/** Everything a Loupe process reads from its environment, validated once. */
/** The offline pack's models, used unless LOUPE_OBJECT_MODEL, LOUPE_FACE_MODEL or LOUPE_EMBED_MODEL names another card. */
export const DEFAULT_MODELS = { objects: 'centernet-coco', faces: 'blazeface-back', embed: 'mobilenet-v2-features', text: 'clip-vit-b32-text' } as const;

export interface LoupeConfig {
  readonly port: number;
  readonly host: string;
  readonly publicUrl: string;
  readonly dataDir: string;
  readonly modelsDir: string;
  readonly bus: 'memory' | 'nats';
  /** NATS server(s) when bus is 'nats'. */
  readonly natsUrl: string | undefined;
  readonly services: readonly string[];
  readonly executionProvider: 'cpu' | 'cuda';
  /** Card id of a whole-image orientation model (task `orientation`) preprocess may use. */
  readonly orientationModel: string | undefined;
  /** Card ids of the models detect and embed use unless a request names another. */
  readonly objectModel: string;
  readonly faceModel: string;
  readonly embedModel: string;
  /** The text-embedding card for text queries (CLIP's text tower, paired with its image tower). */
  readonly textModel: string;
  /** The classification head the classify service uses when a request names none (LOUPE_CLASSIFY_HEAD). */
  readonly classifyHead: string | undefined;
  /** Where vectors live: the embedded index under LOUPE_DATA_DIR, or a Qdrant server. */
  readonly vectors: { readonly kind: 'embedded' | 'qdrant'; readonly qdrantUrl?: string; readonly qdrantApiKey?: string; readonly quantization: 'none' | 'int8' };
  /** Where ground truth lives: the embedded SQLite file under LOUPE_DATA_DIR, or a MongoDB server. */
  readonly store: { readonly kind: 'embedded' | 'mongodb'; readonly mongodbUrl?: string; readonly mongodbDatabase?: string };
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  readonly fetch: {
    readonly timeoutMs: number;
    readonly maxBytes: number;
    readonly maxPixels: number;
    readonly perHostConcurrency: number;
    readonly retries: number;
  };
  readonly queue: {
    /** Deliveries of a work message before its task fails and it is dead-lettered. */
    readonly maxDeliver: number;
    /** First retry delay of a failed stage; doubles with each delivery. */
    readonly retryBaseMs: number;
    /** A delivery not acknowledged (nor reported as still working) in this time goes to another worker. */
    readonly ackWaitMs: number;
    /** Messages one process handles at once per stage. */
    readonly concurrency: number;
  };
}

export const SERVICE_NAMES = ['gateway', 'iiif-fetcher', 'preprocess', 'classify', 'detect', 'embed', 'caption', 'ground-truth'] as const;

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Parses the environment. A bad environment fails with ONE error listing every
 * invalid variable, so an operator fixes them all in one go.
 */
export function loadConfig(env: Env, overrides: Partial<Pick<LoupeConfig, 'logLevel' | 'dataDir' | 'services'>> = {}): LoupeConfig {
  const problems: string[] = [];

  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name}=${JSON.stringify(raw)}: expected an integer from ${min} to ${max}`);
      return fallback;
    }
    return n;
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    if (!(allowed as readonly string[]).includes(raw)) {
      problems.push(`${name}=${JSON.stringify(raw)}: expected one of ${allowed.join(', ')}`);
      return fallback;
    }
    return raw as T;
  };
  const url = (name: string, fallback: string): string => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    try {
      const u = new URL(raw);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http(s)');
      return raw.replace(/\/+$/, '');
    } catch {
      problems.push(`${name}=${JSON.stringify(raw)}: expected an http(s) URL`);
      return fallback;
    }
  };

  const port = int('LOUPE_PORT', 8080, 0, 65535);
  const host = env.LOUPE_HOST || '0.0.0.0';
  const publicUrl = url('LOUPE_PUBLIC_URL', `http://localhost:${port}`);
  const dataDir = path.resolve(overrides.dataDir ?? (env.LOUPE_DATA_DIR || path.join(os.homedir(), '.local', 'share', 'loupe')));
  const modelsDir = path.resolve(env.LOUPE_MODELS_DIR || path.join(dataDir, 'models'));
  const bus = oneOf('LOUPE_BUS', ['memory', 'nats'] as const, 'memory');
  let natsUrl: string | undefined;
  if (bus === 'nats') {
    const raw = env.LOUPE_NATS_URL;
    const urls = (raw ?? '').split(',').map((u) => u.trim()).filter(Boolean);
    if (urls.length === 0) problems.push('LOUPE_NATS_URL: required when LOUPE_BUS=nats (e.g. nats://nats:4222)');
    else if (!urls.every((u) => /^(nats|tls|wss?):\/\/[^\s/]+/.test(u))) {
      problems.push(`LOUPE_NATS_URL=${JSON.stringify(raw)}: expected nats://host:port (comma-separated for a cluster)`);
    } else natsUrl = urls.join(',');
  }

  const vectorKind = oneOf('LOUPE_VECTORS', ['embedded', 'qdrant'] as const, 'embedded');
  let qdrantUrl: string | undefined;
  if (vectorKind === 'qdrant') {
    if (!env.LOUPE_QDRANT_URL) problems.push('LOUPE_QDRANT_URL: required when LOUPE_VECTORS=qdrant (e.g. http://qdrant:6333)');
    else qdrantUrl = url('LOUPE_QDRANT_URL', '');
  }

  const storeKind = oneOf('LOUPE_STORE', ['embedded', 'mongodb'] as const, 'embedded');
  let mongodbUrl: string | undefined;
  if (storeKind === 'mongodb') {
    if (!env.LOUPE_MONGODB_URL) problems.push('LOUPE_MONGODB_URL: required when LOUPE_STORE=mongodb (e.g. mongodb://mongo:27017/loupe)');
    else if (!/^mongodb(\+srv)?:\/\/\S+$/.test(env.LOUPE_MONGODB_URL)) problems.push('LOUPE_MONGODB_URL: expected mongodb://host:port/database or mongodb+srv://...');
    else mongodbUrl = env.LOUPE_MONGODB_URL;
  }

  let services: readonly string[] = [...SERVICE_NAMES];
  const servicesRaw = overrides.services?.join(',') ?? env.LOUPE_SERVICES;
  if (servicesRaw) {
    const asked = servicesRaw.split(',').map((s) => s.trim()).filter(Boolean);
    const unknown = asked.filter((s) => !(SERVICE_NAMES as readonly string[]).includes(s));
    const source = overrides.services ? '--services' : 'LOUPE_SERVICES';
    if (unknown.length > 0 || asked.length === 0) {
      problems.push(`${source}=${JSON.stringify(servicesRaw)}: unknown ${unknown.join(', ') || '(empty)'}; known: ${SERVICE_NAMES.join(', ')}`);
    } else services = asked;
  }

  const config: LoupeConfig = {
    port,
    host,
    publicUrl,
    dataDir,
    modelsDir,
    bus,
    natsUrl,
    services,
    executionProvider: oneOf('LOUPE_EXECUTION_PROVIDER', ['cpu', 'cuda'] as const, 'cpu'),
    orientationModel: env.LOUPE_ORIENTATION_MODEL || undefined,
    objectModel: env.LOUPE_OBJECT_MODEL || DEFAULT_MODELS.objects,
    faceModel: env.LOUPE_FACE_MODEL || DEFAULT_MODELS.faces,
    embedModel: env.LOUPE_EMBED_MODEL || DEFAULT_MODELS.embed,
    textModel: env.LOUPE_TEXT_MODEL || DEFAULT_MODELS.text,
    classifyHead: env.LOUPE_CLASSIFY_HEAD || undefined,
    vectors: {
      kind: vectorKind,
      ...(qdrantUrl && { qdrantUrl }),
      ...(env.LOUPE_QDRANT_API_KEY && { qdrantApiKey: env.LOUPE_QDRANT_API_KEY }),
      quantization: oneOf('LOUPE_QDRANT_QUANTIZATION', ['none', 'int8'] as const, 'none'),
    },
    store: {
      kind: storeKind,
      ...(mongodbUrl && { mongodbUrl }),
      ...(env.LOUPE_MONGODB_DATABASE && { mongodbDatabase: env.LOUPE_MONGODB_DATABASE }),
    },
    logLevel: overrides.logLevel ?? oneOf('LOUPE_LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
    fetch: {
      timeoutMs: int('LOUPE_FETCH_TIMEOUT_MS', 15_000, 100, 600_000),
      maxBytes: int('LOUPE_FETCH_MAX_BYTES', 50 * 1024 * 1024, 1024, 2 ** 31),
      maxPixels: int('LOUPE_FETCH_MAX_PIXELS', 100_000_000, 1, 2 ** 31),
      perHostConcurrency: int('LOUPE_FETCH_PER_HOST', 4, 1, 256),
      retries: int('LOUPE_FETCH_RETRIES', 3, 0, 20),
    },
    queue: {
      maxDeliver: int('LOUPE_MAX_DELIVER', 5, 1, 100),
      retryBaseMs: int('LOUPE_RETRY_BASE_MS', 500, 0, 600_000),
      ackWaitMs: int('LOUPE_ACK_WAIT_MS', 60_000, 100, 3_600_000),
      concurrency: int('LOUPE_STAGE_CONCURRENCY', 2, 1, 256),
    },
  };
  if (problems.length > 0) {
    throw new LoupeError('LOUPE_ERR_CONFIG_INVALID', `invalid configuration:\n  - ${problems.join('\n  - ')}`, { details: { problems } });
  }
  return Object.freeze(config);
}
