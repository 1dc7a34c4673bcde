import os from 'node:os';
import path from 'node:path';
import { LoupeError } from '@loupe/contracts';

/** Everything a Loupe process reads from its environment, validated once. */
export interface LoupeConfig {
  readonly port: number;
  readonly host: string;
  readonly publicUrl: string;
  readonly dataDir: string;
  readonly modelsDir: string;
  readonly bus: 'memory';
  readonly services: readonly string[];
  readonly executionProvider: 'cpu' | 'cuda';
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
  };
}

export const SERVICE_NAMES = ['gateway', 'iiif-fetcher', 'preprocess', 'classify', 'detect', 'embed', 'caption', 'ground-truth'] as const;

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Parses the environment. A bad environment fails with ONE error listing every
 * invalid variable, so an operator fixes them all in one go.
 */
export function loadConfig(env: Env, overrides: Partial<Pick<LoupeConfig, 'logLevel' | 'dataDir'>> = {}): LoupeConfig {
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
  const bus = oneOf('LOUPE_BUS', ['memory'] as const, 'memory');

  let services: string[] = [...SERVICE_NAMES];
  if (env.LOUPE_SERVICES) {
    const asked = env.LOUPE_SERVICES.split(',').map((s) => s.trim()).filter(Boolean);
    const unknown = asked.filter((s) => !(SERVICE_NAMES as readonly string[]).includes(s));
    if (unknown.length > 0 || asked.length === 0) {
      problems.push(`LOUPE_SERVICES=${JSON.stringify(env.LOUPE_SERVICES)}: unknown ${unknown.join(', ') || '(empty)'}; known: ${SERVICE_NAMES.join(', ')}`);
    } else services = asked;
  }

  const config: LoupeConfig = {
    port,
    host,
    publicUrl,
    dataDir,
    modelsDir,
    bus,
    services,
    executionProvider: oneOf('LOUPE_EXECUTION_PROVIDER', ['cpu', 'cuda'] as const, 'cpu'),
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
    },
  };
  if (problems.length > 0) {
    throw new LoupeError('LOUPE_ERR_CONFIG_INVALID', `invalid configuration:\n  - ${problems.join('\n  - ')}`, { details: { problems } });
  }
  return Object.freeze(config);
}
