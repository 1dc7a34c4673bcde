import os from 'node:os';
import path from 'node:path';
import { LoupeError } from '@loupe/contracts/core';

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
  /** Worker threads the process's onnxruntime sessions run on (LOUPE_INFERENCE_THREADS). */
  readonly inferenceThreads: number;
  /** Card id of a whole-image orientation model (task `orientation`) preprocess may use. */
  readonly orientationModel: string | undefined;
  /** Most output pixels one enhancement (deblur, upscale) may make (LOUPE_ENHANCE_MAX_PIXELS). */
  readonly enhanceMaxPixels: number;
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
  /** LOUPE_LOG_FORMAT: one JSON object a line, or lines for a person; unset: pretty on a terminal, JSON elsewhere. */
  readonly logFormat: 'json' | 'pretty' | undefined;
  readonly fetch: {
    readonly timeoutMs: number;
    readonly maxBytes: number;
    readonly maxPixels: number;
    readonly perHostConcurrency: number;
    readonly retries: number;
    /** Whole-request deadline (connect, headers and body together), LOUPE_FETCH_DEADLINE_MS. */
    readonly deadlineMs: number;
    /** Slowest body accepted, in bytes per second averaged since the first byte (LOUPE_FETCH_MIN_RATE). */
    readonly minBytesPerSecond: number;
    /** Decoded pixels this process holds at once across all images (LOUPE_PIXEL_BUDGET). */
    readonly pixelBudget: number;
    /** What $LOUPE_DATA_DIR/cache may hold, least recently used going first (LOUPE_CACHE_MAX_BYTES). */
    readonly cacheMaxBytes: number;
    /** How long a cached manifest, collection or info.json is used before its server is asked again (LOUPE_DOCUMENT_FRESH_MS). */
    readonly documentFreshMs: number;
    /** What $LOUPE_DATA_DIR/derived may hold (LOUPE_DERIVED_MAX_BYTES). */
    readonly derivedMaxBytes: number;
  };
  /**
   * Which addresses outbound requests may reach. `denyPrivate` refuses loopback, private,
   * link-local, CGNAT, multicast and unspecified ranges; `allow` (hosts and CIDRs, LOUPE_FETCH_ALLOW)
   * opens some of them again. Servers deny by default; the CLI's local commands allow (see main.ts).
   */
  readonly egress: { readonly denyPrivate: boolean; readonly allow: readonly string[] };
  /** Who may call the HTTP API (docs/security.md). */
  readonly auth: {
    /** Hashed API keys (`loupe keys`); LOUPE_KEYS_FILE, default $LOUPE_DATA_DIR/keys.json. */
    readonly keysFile: string;
    /** OIDC/JWT bearer tokens, when LOUPE_OIDC_ISSUER is set. */
    readonly oidc: { readonly issuer: string; readonly audience: string | undefined; readonly jwksUrl: string | undefined; readonly rolesClaim: string } | undefined;
    /** LOUPE_INSECURE_NO_AUTH=1 or `loupe serve --insecure-no-auth`: serve without auth on a non-loopback address. */
    readonly insecureNoAuth: boolean;
    /** LOUPE_IIIF_PUBLIC=1: the IIIF-facing GET routes (manifests, annotation pages) need no credentials, as viewers send none. */
    readonly publicIiif: boolean;
    /** Origins (besides any origin on the IIIF-facing GET routes) allowed by CORS (LOUPE_CORS_ORIGINS). */
    readonly corsOrigins: readonly string[];
    /** Requests per minute per caller (key, token subject, else address); LOUPE_RATE_LIMIT, 0 = off. */
    readonly rateLimitPerMinute: number;
  };
  /** Harvest limits: canvases one job may queue (LOUPE_MAX_CANVASES). */
  readonly maxCanvasesPerJob: number;
  /** What the gateway does at start with jobs a crash left running (LOUPE_RECOVER_JOBS). */
  readonly recoverJobs: 'resume' | 'fail';
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
 * What a command decides rather than the environment. `egressDefault` is the policy when
 * LOUPE_FETCH_PRIVATE is unset: `deny` for servers (the default), `allow` for the CLI's local
 * commands, run by a person on their own machine against their own servers.
 */
export type LoupeConfigOverrides = Partial<Pick<LoupeConfig, 'logLevel' | 'dataDir' | 'services'>> & {
  readonly egressDefault?: 'deny' | 'allow';
  readonly insecureNoAuth?: boolean;
};

/** A host name, an IPv4/IPv6 address, or a CIDR block: what LOUPE_FETCH_ALLOW lists. */
const ALLOW_ENTRY = /^(?:[a-z0-9.-]+|\[?[0-9a-f:.]+\]?)(?:\/\d{1,3})?$/i;

/**
 * Parses the environment. A bad environment fails with ONE error listing every
 * invalid variable, so an operator fixes them all in one go.
 */
export function loadConfig(env: Env, overrides: LoupeConfigOverrides = {}): LoupeConfig {
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
  /** A size in bytes, or in KiB, MiB, GiB or TiB (`10G`, `10GiB` and `10GB` alike: 1024s). */
  const bytes = (name: string, fallback: number, min: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const m = /^(\d+)\s*(?:([KMGT])(?:i?B)?)?$/i.exec(raw.trim());
    const n = m ? Number(m[1]) * 1024 ** (m[2] ? 'KMGT'.indexOf(m[2].toUpperCase()) + 1 : 0) : Number.NaN;
    if (!(n >= min && n <= 2 ** 53)) {
      problems.push(`${name}=${JSON.stringify(raw)}: expected a size of at least ${min} bytes, such as 20G or 500M`);
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

  const list = (name: string, valid: (entry: string) => boolean, what: string): readonly string[] => {
    const entries = (env[name] ?? '').split(',').map((e) => e.trim()).filter(Boolean);
    const bad = entries.filter((e) => !valid(e));
    if (bad.length > 0) problems.push(`${name}: ${bad.map((b) => JSON.stringify(b)).join(', ')} is not ${what}`);
    return Object.freeze(entries.filter(valid));
  };
  const flag = (name: string): boolean => {
    const raw = env[name];
    if (raw === undefined || raw === '' || raw === '0' || raw === 'false') return false;
    if (raw === '1' || raw === 'true') return true;
    problems.push(`${name}=${JSON.stringify(raw)}: expected 1 or 0`);
    return false;
  };
  const oidc = (): LoupeConfig['auth']['oidc'] => {
    if (!env.LOUPE_OIDC_ISSUER) return undefined;
    // Kept exactly as given: a token's `iss` must equal it, trailing slash and all.
    const issuer = url('LOUPE_OIDC_ISSUER', '') && env.LOUPE_OIDC_ISSUER;
    const jwksUrl = env.LOUPE_OIDC_JWKS_URL ? url('LOUPE_OIDC_JWKS_URL', '') : undefined;
    return { issuer, audience: env.LOUPE_OIDC_AUDIENCE || undefined, jwksUrl, rolesClaim: env.LOUPE_OIDC_ROLES_CLAIM || 'roles' };
  };

  const port = int('LOUPE_PORT', 8080, 0, 65535);
  // Loopback unless told otherwise: exposing the API is a decision (and then needs auth).
  const host = env.LOUPE_HOST || '127.0.0.1';
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
    inferenceThreads: int('LOUPE_INFERENCE_THREADS', defaultInferenceThreads(), 1, 64),
    orientationModel: env.LOUPE_ORIENTATION_MODEL || undefined,
    enhanceMaxPixels: int('LOUPE_ENHANCE_MAX_PIXELS', 24_000_000, 1, 2 ** 31),
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
    logFormat: env.LOUPE_LOG_FORMAT ? oneOf('LOUPE_LOG_FORMAT', ['json', 'pretty'] as const, 'json') : undefined,
    fetch: {
      timeoutMs: int('LOUPE_FETCH_TIMEOUT_MS', 15_000, 100, 600_000),
      maxBytes: int('LOUPE_FETCH_MAX_BYTES', 50 * 1024 * 1024, 1024, 2 ** 31),
      maxPixels: int('LOUPE_FETCH_MAX_PIXELS', 100_000_000, 1, 2 ** 31),
      perHostConcurrency: int('LOUPE_FETCH_PER_HOST', 4, 1, 256),
      retries: int('LOUPE_FETCH_RETRIES', 3, 0, 20),
      deadlineMs: int('LOUPE_FETCH_DEADLINE_MS', 120_000, 1000, 3_600_000),
      minBytesPerSecond: int('LOUPE_FETCH_MIN_RATE', 4096, 0, 2 ** 31),
      pixelBudget: int('LOUPE_PIXEL_BUDGET', 250_000_000, 1, 2 ** 40),
      cacheMaxBytes: bytes('LOUPE_CACHE_MAX_BYTES', 10 * 1024 ** 3, 1024 ** 2),
      documentFreshMs: int('LOUPE_DOCUMENT_FRESH_MS', 300_000, 0, 30 * 24 * 3600_000),
      derivedMaxBytes: bytes('LOUPE_DERIVED_MAX_BYTES', 10 * 1024 ** 3, 1024 ** 2),
    },
    egress: {
      denyPrivate: oneOf('LOUPE_FETCH_PRIVATE', ['deny', 'allow'] as const, overrides.egressDefault ?? 'deny') === 'deny',
      allow: list('LOUPE_FETCH_ALLOW', (entry) => ALLOW_ENTRY.test(entry), 'a host name, an IP address or a CIDR block'),
    },
    auth: {
      keysFile: path.resolve(env.LOUPE_KEYS_FILE || path.join(dataDir, 'keys.json')),
      oidc: oidc(),
      insecureNoAuth: overrides.insecureNoAuth ?? flag('LOUPE_INSECURE_NO_AUTH'),
      publicIiif: flag('LOUPE_IIIF_PUBLIC'),
      corsOrigins: list('LOUPE_CORS_ORIGINS', (o) => o === '*' || /^https?:\/\/[^/\s]+$/.test(o), 'an origin such as https://viewer.example.org'),
      rateLimitPerMinute: int('LOUPE_RATE_LIMIT', 600, 0, 1_000_000),
    },
    maxCanvasesPerJob: int('LOUPE_MAX_CANVASES', 100_000, 1, 10_000_000),
    recoverJobs: oneOf('LOUPE_RECOVER_JOBS', ['resume', 'fail'] as const, 'resume'),
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

/**
 * One inference thread per four cores, at most four: each run already spreads over the cores
 * (onnxruntime's own threads), so more threads only help a process whose models take turns, and
 * on a small machine they take the CPU that answers HTTP (docs/benchmarks.md, "Serving while enriching").
 */
function defaultInferenceThreads(): number {
  return Math.min(4, Math.max(1, Math.floor(os.availableParallelism() / 4)));
}
