import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pino } from 'pino';
import { LoupeError, SERVICE_APIS, type Logger, type ServiceDefinition } from '@loupe/contracts';
import { connectJetStreamBus, createMemoryBus, type Bus } from '@loupe/bus';
import { UNREADABLE_CHANNEL, createDocumentLoader } from '@loupe/iiif';
import {
  createDetector,
  createEngine,
  createImageEmbedder,
  createTextEmbedder,
  createOrientationClassifier,
  createTextRecognizer,
  findForeground,
  findModel,
  openRegistry,
  type FloatTensor,
  type ImageEmbedder,
  type TextEmbedder,
  type TextRecognizer,
} from '@loupe/inference';
import { REDACTED_PATHS, createClient, createServiceApp, type LoupeApp } from '@loupe/runtime';
import { openSqliteJobStore, type AnnotationStore, type JobStore } from '@loupe/store';
import type { VectorStore } from '@loupe/vectors';
import { fetcherFromConfig } from './fetcher.js';
import { vectorsFromConfig } from './vectors.js';
import { annotationStoreFromConfig, embeddedDbPath, headsDir } from './stores.js';
import { createCaptionService } from '@loupe/service-caption';
import { createClassifyService } from '@loupe/service-classify';
import { createDetectService } from '@loupe/service-detect';
import { createEmbedService } from '@loupe/service-embed';
import { createGatewayService } from '@loupe/service-gateway';
import { createGroundTruthService } from '@loupe/service-ground-truth';
import { createIiifFetcherService } from '@loupe/service-iiif-fetcher';
import { createPreprocessService, type ForegroundFinder } from '@loupe/service-preprocess';
import type { LoupeConfig } from './config.js';

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

/**
 * Builds one Loupe process: the bus the configuration names, the embedded SQLite stores the
 * local services need, and the services `config.services` names, mounted in one Fastify app.
 * By default that is every service on the in-memory bus (embedded mode).
 */
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

export async function createEmbedded(config: LoupeConfig, opts: EmbeddedOptions = {}): Promise<Embedded> {
  await fs.mkdir(config.dataDir, { recursive: true });
  const pinoLog = pino({ level: config.logLevel, redact: REDACTED_PATHS }, pino.destination(2));
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
  const dbPath = embeddedDbPath(config);
  const wanted = new Set(config.services);

  let annotations: AnnotationStore | undefined;
  let jobs: JobStore | undefined;
  let vectors: VectorStore | undefined;
  const services: ServiceDefinition[] = [];
  const models = openRegistry({ modelsDir: config.modelsDir });
  // One engine per process: every model goes through it, and a model two services use is loaded once.
  const engine = createEngine({
    executionProvider: config.executionProvider,
    log: { warn: (message, details) => log.warn({ ...details }, message), info: (message, details) => log.info({ ...details }, message) },
  });
  let recognizer: Promise<TextRecognizer> | undefined;
  const textRecognizer = () => (recognizer ??= createTextRecognizer({ engine }));
  const foreground = async (): Promise<ForegroundFinder> => {
    const { card, files } = await models.resolve('isnet-general-medium');
    const runner = await engine.load(card, files);
    const size = card.input.width ?? 1024;
    return {
      find: (image) =>
        findForeground(image, async (feeds) => (await runner.run(feeds)) as Record<string, FloatTensor>, {
          size,
          inputName: runner.inputName,
          ...(typeof card.output.options?.output === 'string' && { outputName: card.output.options.output }),
        }),
    };
  };

  if (wanted.has('gateway')) {
    jobs = opts.jobs ?? openSqliteJobStore({ path: dbPath });
    services.push(
      createGatewayService({ bus, jobs, load, publicUrl: config.publicUrl, log, localSources: opts.localSources !== undefined, recoverJobs: config.recoverJobs }),
    );
  }
  if (wanted.has('iiif-fetcher')) services.push(createIiifFetcherService({ load, limits: { maxCanvases: config.maxCanvasesPerJob } }));
  if (wanted.has('preprocess')) {
    services.push(
      createPreprocessService({
        fetcher,
        foreground,
        ...(config.orientationModel && {
          orientationModel: async () => {
            const { card, files } = await models.resolve(config.orientationModel!);
            return createOrientationClassifier(await engine.load(card, files));
          },
        }),
        textOrientation: async () => {
          const r = await textRecognizer();
          return { detect: (image, opts) => r.pageOrientation(image, opts) };
        },
      }),
    );
  }
  if (wanted.has('detect')) {
    services.push(
      createDetectService({
        fetcher,
        textRecognizer,
        detector: async (kind) => {
          const id = kind === 'objects' ? config.objectModel : config.faceModel;
          findModel(models, kind === 'objects' ? 'object-detection' : 'face-detection', id);
          const { card, files } = await models.resolve(id);
          return createDetector(await engine.load(card, files));
        },
      }),
    );
  }
  // CLIP's text tower, loaded once on first use: text search (embed) and zero-shot (classify).
  let text: Promise<TextEmbedder> | undefined;
  const textEmbedder = (): Promise<TextEmbedder> => {
    text ??= Promise.resolve()
      .then(() => findModel(models, 'text-embedding', config.textModel))
      .then(() => models.resolve(config.textModel))
      .then(async ({ card, files }) => createTextEmbedder(await engine.load(card, files), files));
    text.catch(() => (text = undefined));
    return text;
  };
  if (wanted.has('classify')) {
    services.push(
      createClassifyService({ models, client: createClient(bus), headsDir: headsDir(config), defaultHead: config.classifyHead, textEmbedder }),
    );
  }
  if (wanted.has('embed')) {
    vectors = await vectorsFromConfig(config);
    const embedders = new Map<string, Promise<ImageEmbedder>>();
    services.push(
      createEmbedService({
        models,
        fetcher,
        vectors,
        quantization: config.vectors.quantization,
        defaultModel: config.embedModel,
        embedder: (id) => {
          let e = embedders.get(id);
          if (!e) {
            e = Promise.resolve()
              .then(() => findModel(models, 'image-embedding', id))
              .then(() => models.resolve(id))
              .then(async ({ card, files }) => createImageEmbedder(await engine.load(card, files)));
            e.catch(() => embedders.delete(id));
            embedders.set(id, e);
          }
          return e;
        },
        textEmbedder,
      }),
    );
  }
  if (wanted.has('caption')) services.push(createCaptionService({ models }));
  if (wanted.has('ground-truth')) {
    annotations = await annotationStoreFromConfig(config);
    services.push(createGroundTruthService({ store: annotations, publicUrl: config.publicUrl, storeKind: config.store.kind }));
  }

  const retryBaseMs = config.queue.retryBaseMs;
  const app = await createServiceApp(services, {
    bus,
    loggerInstance: pinoLog,
    publicUrl: config.publicUrl,
    readiness: () => ({ inference: engine.readiness() }),
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
      backoffMs: (delivery) => Math.min(30_000, retryBaseMs * 2 ** (delivery - 1)) * (0.75 + Math.random() * 0.5),
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
      await engine.close();
      await annotations?.close();
      if (!opts.jobs) await jobs?.close();
      await vectors?.close();
    },
  };
}
