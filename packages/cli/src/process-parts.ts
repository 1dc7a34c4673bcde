import { createClient, type Bus, type ServiceClient } from '@loupe/bus';
import type { Logger } from '@loupe/contracts';
import { fetchCanvasImage, type DocumentLoader, type Fetcher } from '@loupe/iiif';
import { openProcessModels, type ProcessModels } from '@loupe/inference';
import { openSqliteJobStore, type AnnotationStore, type ContentSearchIndex, type JobStore } from '@loupe/store';
import type { VectorStore } from '@loupe/vectors';
import type { ExplanationImageFetch } from '@loupe/service-classify';
import type { LoupeConfig } from './config.js';
import { annotationStoreFromConfig, contentSearchFromConfig, embeddedDbPath, headsDir } from './stores.js';
import { vectorsFromConfig } from './vectors.js';

/** The stores a process's services ask for: each opened on first ask, all closed with the process. */
export interface ProcessStores {
  jobs(): JobStore;
  annotations(): Promise<AnnotationStore>;
  vectors(): Promise<VectorStore>;
  /** The ground-truth store's full-text index (IIIF Content Search). */
  search(): Promise<ContentSearchIndex | undefined>;
}

/**
 * Everything a service factory may take, built once per process. Each service's factory names the
 * part it reads (`DetectParts`, `EmbedParts`, ...); the configuration is the CLI's whole LoupeConfig,
 * of which each factory reads its slice.
 */
export interface ProcessParts {
  readonly config: LoupeConfig;
  readonly bus: Bus;
  readonly client: ServiceClient;
  readonly log: Logger;
  readonly fetcher: Fetcher;
  /** The canvas image an explanation masks, fitted inside fit x fit (classify holds no fetcher of its own). */
  readonly fetchExplanationImage: ExplanationImageFetch;
  readonly load: DocumentLoader;
  readonly models: ProcessModels;
  readonly stores: ProcessStores;
  readonly headsDir: string;
  readonly localSources: boolean;
}

export interface ProcessPartsInput {
  readonly config: LoupeConfig;
  readonly bus: Bus;
  readonly log: Logger;
  readonly fetcher: Fetcher;
  readonly load: DocumentLoader;
  readonly localSources: boolean;
  /** A job store the caller owns, left open on close. */
  readonly jobs?: JobStore | undefined;
}

export function openProcessParts(input: ProcessPartsInput): ProcessParts & { close(): Promise<void> } {
  const { config, log } = input;
  // One engine per process: every model goes through it, and a model two services use is loaded once.
  const models = openProcessModels({
    modelsDir: config.modelsDir,
    executionProvider: config.executionProvider,
    inferenceThreads: config.inferenceThreads,
    log: { warn: (message, details) => log.warn({ ...details }, message), info: (message, details) => log.info({ ...details }, message) },
  });
  let jobs: JobStore | undefined;
  let annotations: Promise<AnnotationStore> | undefined;
  let vectors: Promise<VectorStore> | undefined;
  let search: Promise<ContentSearchIndex | undefined> | undefined;
  const stores: ProcessStores = {
    jobs: () => (jobs ??= input.jobs ?? openSqliteJobStore({ path: embeddedDbPath(config) })),
    annotations: () => (annotations ??= annotationStoreFromConfig(config)),
    vectors: () => (vectors ??= vectorsFromConfig(config)),
    // After the annotation store: opening it brings the schema the index lives in up to date.
    search: () => (search ??= stores.annotations().then(() => contentSearchFromConfig(config))),
  };
  return {
    config,
    bus: input.bus,
    client: createClient(input.bus),
    log,
    fetcher: input.fetcher,
    fetchExplanationImage: (image, canvas, fit, region) => fetchCanvasImage(input.fetcher, image, canvas, { fit: { width: fit, height: fit } }, region ? { region } : {}),
    load: input.load,
    models,
    stores,
    headsDir: headsDir(config),
    localSources: input.localSources,
    async close() {
      await models.close();
      await (await search)?.close();
      await (await annotations)?.close();
      if (!input.jobs) await jobs?.close();
      await (await vectors)?.close();
    },
  };
}
