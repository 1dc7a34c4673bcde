import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import fs from 'node:fs/promises';
import { pino } from 'pino';
import { LoupeError, SERVICE_APIS, activeTraceIds, exponentialBackoff, jittered, type Logger, type ServiceDefinition } from '@loupe/contracts';
import { connectJetStreamBus, createMemoryBus, type Bus } from '@loupe/bus';
import { UNREADABLE_CHANNEL, createDocumentLoader } from '@loupe/iiif';
import { REDACTED_PATHS, createServiceApp, startTracing, type LoupeApp } from '@loupe/runtime';
import type { JobStore } from '@loupe/store';
import type { VectorStore } from '@loupe/vectors';
import { captionServiceFromConfig } from '@loupe/service-caption';
import { classifyServiceFromConfig } from '@loupe/service-classify';
import { detectServiceFromConfig } from '@loupe/service-detect';
import { embedServiceFromConfig } from '@loupe/service-embed';
import { gatewayServiceFromConfig } from '@loupe/service-gateway';
import { groundTruthServiceFromConfig } from '@loupe/service-ground-truth';
import { iiifFetcherServiceFromConfig } from '@loupe/service-iiif-fetcher';
import { preprocessServiceFromConfig } from '@loupe/service-preprocess';
import { fetcherFromConfig } from './fetcher.js';
import { openProcessParts, type ProcessParts } from './process-parts.js';
import type { LoupeConfig } from './config.js';
import { logSink } from './log-output.js';

export interface Embedded {
  readonly app: LoupeApp;
  readonly bus: Bus;
  readonly log: Logger;
  /** The vector store, when this process runs the embed service. */
  readonly vectors: VectorStore | undefined;
  close(): Promise<void>;
}

/** A call on a process's own HTTP API. */
export type ApiCall = <T>(method: 'GET' | 'POST', url: string, payload?: unknown) => Promise<T>;

/**
 * Calls the app's HTTP API in process (no socket): the CLI accepts and refuses exactly what the
 * API does. An error answer is thrown as the LoupeError it carries.
 */
export function apiCaller(app: LoupeApp): ApiCall {
  return async <T>(method: 'GET' | 'POST', url: string, payload?: unknown): Promise<T> => {
    // As this process itself (admin): the CLI works whatever keys the data directory holds.
    const res = await app.inject({ method, url, headers: { authorization: app.localAuthorization }, ...(payload !== undefined && { payload: payload as object }) });
    const body = res.json() as T & { code?: string; message?: string };
    if (res.statusCode >= 400) throw LoupeError.fromJSON(body);
    return body;
  };
}

/** The bus the configuration names: in-memory (one process) or NATS JetStream (many). */
export async function busFromConfig(config: LoupeConfig): Promise<Bus> {
  if (config.bus === 'nats') {
    return connectJetStreamBus({ url: config.natsUrl!, name: `loupe ${config.services.join(',')}`, defaultAckWaitMs: config.queue.ackWaitMs, defaultMaxDeliver: config.queue.maxDeliver });
  }
  return createMemoryBus({ defaultAckWaitMs: config.queue.ackWaitMs, defaultMaxDeliver: config.queue.maxDeliver });
}

export interface EmbeddedOptions {
  /** A bus the caller owns (tests put several processes' worth of services on one). */
  readonly bus?: Bus;
  /**
   * Folders whose manifests and collections may be read from disk: a command's own argument
   * (`loupe run ./manifest.json`). None by default: a server's API and bus take http(s) only.
   */
  readonly localSources?: readonly string[];
  /** A job store the caller owns: `loupe run` keeps its job in its output folder, not in the data dir. */
  readonly jobs?: JobStore;
}

/**
 * Every service a process can run, each built by the factory beside it, in the order their routes
 * are mounted. A process builds the ones `config.services` names.
 */
const SERVICE_FACTORIES: readonly (readonly [string, (parts: ProcessParts) => ServiceDefinition | Promise<ServiceDefinition>])[] = [
  ['gateway', gatewayServiceFromConfig],
  ['iiif-fetcher', iiifFetcherServiceFromConfig],
  ['preprocess', preprocessServiceFromConfig],
  ['detect', detectServiceFromConfig],
  ['classify', classifyServiceFromConfig],
  ['embed', embedServiceFromConfig],
  ['caption', captionServiceFromConfig],
  ['ground-truth', groundTruthServiceFromConfig],
];

/** A failed stage's redelivery waits longest at this, however many deliveries failed. */
const MAX_RETRY_DELAY_MS = 30_000;

/**
 * Builds one Loupe process: the bus the configuration names, the embedded SQLite stores the
 * local services need, and the services `config.services` names, mounted in one Fastify app.
 * By default that is every service on the in-memory bus (embedded mode).
 */
export async function createEmbedded(config: LoupeConfig, opts: EmbeddedOptions = {}): Promise<Embedded> {
  await fs.mkdir(config.dataDir, { recursive: true });
  // Before anything else: the HTTP instrumentation and the logs' trace ids follow whether it is on.
  const tracing = await startTracing({ attributes: { 'loupe.services': config.services.join(',') } });
  const pinoLog = pino({ level: config.logLevel, redact: REDACTED_PATHS, ...(tracing && { mixin: () => activeTraceIds() ?? {} }) }, logSink(config));
  const log = pinoLog as unknown as Logger;
  // A bus handed in belongs to the caller (tests put several processes' worth of services on one).
  const bus = opts.bus ?? (await busFromConfig(config));
  const fetcher = fetcherFromConfig(config, log);
  // What a IIIF document threw, with its stack: callers only see a stable code and plain words.
  const onUnreadable = (message: unknown): void => {
    const { document, index, error } = message as { document: string; index?: number; error: unknown };
    log.warn({ document, canvasIndex: index, err: error }, 'part of a IIIF document could not be read');
  };
  subscribe(UNREADABLE_CHANNEL, onUnreadable);
  const load = createDocumentLoader(fetcher, { files: opts.localSources ?? 'none' });
  const parts = openProcessParts({ config, bus, log, fetcher, load, localSources: opts.localSources !== undefined, jobs: opts.jobs });

  const wanted = new Set(config.services);
  const services: ServiceDefinition[] = [];
  for (const [name, serviceFromConfig] of SERVICE_FACTORIES) if (wanted.has(name)) services.push(await serviceFromConfig(parts));
  const vectors = wanted.has('embed') ? await parts.stores.vectors() : undefined;

  const retryBaseMs = config.queue.retryBaseMs;
  const app = await createServiceApp(services, {
    bus,
    loggerInstance: pinoLog,
    publicUrl: config.publicUrl,
    readiness: () => ({ inference: parts.models.engine.readiness() }),
    auth: {
      keysFile: config.auth.keysFile,
      oidc: config.auth.oidc,
      publicIiif: config.auth.publicIiif,
      corsOrigins: config.auth.corsOrigins,
      rateLimitPerMinute: config.auth.rateLimitPerMinute,
    },
    // A gateway mounts the routes of the services it does not run, forwarding over the bus.
    ...(wanted.has('gateway') && { remote: SERVICE_APIS }),
    queue: {
      concurrency: config.queue.concurrency,
      maxDeliver: config.queue.maxDeliver,
      ackWaitMs: config.queue.ackWaitMs,
      // Jittered by a quarter either way, so tasks that failed together are not retried together.
      backoffMs: (delivery) => jittered(exponentialBackoff(delivery, retryBaseMs, MAX_RETRY_DELAY_MS)),
    },
  });
  return {
    app,
    bus,
    log,
    vectors,
    async close() {
      unsubscribe(UNREADABLE_CHANNEL, onUnreadable);
      await app.close();
      if (!opts.bus) await bus.close();
      await parts.close();
      // The process may go on (tests, `loupe run`'s next step): the spans leave now, the SDK stays.
      await tracing?.forceFlush();
    },
  };
}
