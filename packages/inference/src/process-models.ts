import { createEngine, type Engine, type ModelRunner } from './engine/model-runner.js';
import { createImageEmbedder, type ImageEmbedder } from './embedding/image-embedder.js';
import { createTextEmbedder, type TextEmbedder } from './embedding/text-embedder.js';
import { createTextRecognizer, type TextRecognizer } from './ppocr/text-recognizer.js';
import { findModel } from './registry/installed-model.js';
import { openRegistry, type Registry, type ResolvedModel } from './registry/registry.js';
import type { ExecutionProvider, InferenceLogger } from './session.js';

export interface ProcessModelsOptions {
  /** LOUPE_MODELS_DIR. */
  readonly modelsDir: string;
  readonly executionProvider: ExecutionProvider;
  /** LOUPE_INFERENCE_THREADS: the worker threads the process's sessions are spread over. */
  readonly inferenceThreads?: number;
  readonly log?: InferenceLogger;
}

/** A card's checked files and the runner the engine opened on them. */
export interface OpenedModel extends ResolvedModel {
  readonly runner: ModelRunner;
}

/**
 * The models of one process, whatever services it runs: one registry and one engine, so a model two
 * services use is loaded once, and the wrappers several services share (the text recogniser for
 * preprocess and detect, CLIP's text tower for embed and classify), each made on first use.
 */
export interface ProcessModels {
  readonly registry: Registry;
  readonly engine: Engine;
  /** Card `id`'s files, checked against the card, opened through the engine (one runner per card). */
  open(id: string): Promise<OpenedModel>;
  textRecognizer(): Promise<TextRecognizer>;
  /** The text-embedding card `id` (CLIP's text tower). */
  textEmbedder(id: string): Promise<TextEmbedder>;
  /** The image-embedding card `id`. */
  imageEmbedder(id: string): Promise<ImageEmbedder>;
  close(): Promise<void>;
}

/**
 * One promise per key, made on first ask. A failed one is forgotten, so the next ask tries again: a
 * model pulled after the first request is used without a restart.
 */
function loadOnce<T>(make: (key: string) => Promise<T>): (key: string) => Promise<T> {
  const loading = new Map<string, Promise<T>>();
  return (key) => {
    let promise = loading.get(key);
    if (!promise) {
      const made = Promise.resolve(key).then(make);
      made.catch(() => loading.get(key) === made && loading.delete(key));
      loading.set(key, made);
      promise = made;
    }
    return promise;
  };
}

export function openProcessModels(opts: ProcessModelsOptions): ProcessModels {
  const registry = openRegistry({ modelsDir: opts.modelsDir });
  const engine = createEngine({
    executionProvider: opts.executionProvider,
    ...(opts.inferenceThreads && { inferenceThreads: opts.inferenceThreads }),
    ...(opts.log && { log: opts.log }),
  });
  const open = async (id: string): Promise<OpenedModel> => {
    const { card, files } = await registry.resolve(id);
    return { card, files, runner: await engine.load(card, files) };
  };
  const recognizer = loadOnce(() => createTextRecognizer({ engine }));
  // findModel first: a card of another task, or one not pulled, fails with what to install.
  const textEmbedder = loadOnce(async (id) => {
    findModel(registry, 'text-embedding', id);
    const { runner, files } = await open(id);
    return createTextEmbedder(runner, files);
  });
  const imageEmbedder = loadOnce(async (id) => {
    findModel(registry, 'image-embedding', id);
    return createImageEmbedder((await open(id)).runner);
  });
  return {
    registry,
    engine,
    open,
    textRecognizer: () => recognizer(''),
    textEmbedder,
    imageEmbedder,
    close: () => engine.close(),
  };
}
