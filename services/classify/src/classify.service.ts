import { createHash } from 'node:crypto';
import {
  ClassifyOptions,
  LoupeError,
  SERVICE_APIS,
  defineHandler,
  stageResult,
  type ClassifyOutput,
  type EmbedImageInput,
  type ImageRef,
  type ServiceDefinition,
} from '@loupe/contracts';
import { describeModels, findModel, type ImageEmbedder, type ModelRegistryLike, type TextEmbedder } from '@loupe/inference';
import { closeToChance, decide, headCard, headHome, listHeadsWithPack, listVersions, loadHead, meanEmbedding, predict, promptsFor, uncertainty, zeroShotHead, type LinearHead } from '@loupe/heads';
import type { ServiceClient } from '@loupe/runtime';
import { classificationExplainHandler, type ExplanationImageFetch } from './classification.explain.handler.js';
import { classifyTiled } from './tiling.js';

export interface ClassifyDeps {
  /** The model registry: the embedding models heads run on, and CLIP's text tower for zero-shot. */
  readonly models: ModelRegistryLike;
  /** Reaches the embed service (image vectors) and the ground-truth service (vocabularies), in this process or another. */
  readonly client: ServiceClient;
  /** Where `loupe train` writes heads: `<dir>/<id>/<version>.json` (LOUPE_MODELS_DIR/heads). */
  readonly headsDir: string;
  /** The head used when a request names neither a head nor a vocabulary (LOUPE_CLASSIFY_HEAD). */
  readonly defaultHead?: string | undefined;
  /** CLIP's text tower (LOUPE_TEXT_MODEL), loaded on first zero-shot use. */
  readonly textEmbedder?: () => Promise<TextEmbedder>;
  /** The image-embedding card `id`, run here: explaining a concept embeds dozens of masked copies of the image. */
  readonly imageEmbedder?: (id: string) => Promise<ImageEmbedder>;
  /** Fetches the canvas image an explanation masks; without it (and imageEmbedder) /v1/classify/explain answers 503. */
  readonly fetchImage?: ExplanationImageFetch;
}

/**
 * Classifies images into a vocabulary's concepts with a linear head over an image embedding: a
 * head trained from the ground-truth store (`loupe train`), or a zero-shot head built from the
 * vocabulary's labels with CLIP's text tower. The embedding comes from the embed service; the head
 * is a few kilobytes applied here. Heads are read from disk when asked for, so a head trained
 * while the service runs is used at once (no restart); each version is cached once read.
 */
export function createClassifyService(deps: ClassifyDeps): ServiceDefinition {
  const cache = new Map<string, Promise<LinearHead>>();
  const cached = (key: string, make: () => Promise<LinearHead>): Promise<LinearHead> => {
    let head = cache.get(key);
    if (!head) {
      head = make();
      head.catch(() => cache.delete(key));
      cache.set(key, head);
    }
    return head;
  };

  async function trainedHead(id: string, version: string | undefined): Promise<LinearHead> {
    // One small directory read per request: what lets a version trained a moment ago be the latest.
    // The user's heads come first; a head Loupe ships (the pack) answers only for an id they lack.
    const dir = await headHome(deps.headsDir, id);
    const wanted = version ?? (await listVersions(dir, id)).at(-1);
    if (wanted === undefined) {
      throw new LoupeError('LOUPE_ERR_NOT_FOUND', `No classification head ${JSON.stringify(id)} in ${deps.headsDir}`, {
        details: { head: id, dir: deps.headsDir, hint: 'train one: loupe train --dataset <name> --embedding <model> --head <id>' },
      });
    }
    return cached(`${dir}:${id}@${wanted}`, () => loadHead(dir, id, wanted));
  }

  async function zeroShot(vocabularyId: string): Promise<LinearHead> {
    if (!deps.textEmbedder) {
      throw new LoupeError('LOUPE_ERR_MODEL_NOT_INSTALLED', 'Zero-shot classification needs a text-embedding model (LOUPE_TEXT_MODEL, CLIP)');
    }
    // The model first: without it nothing else matters, and its error names what to install.
    const text = await deps.textEmbedder();
    const vocabulary = await deps.client.request(SERVICE_APIS['ground-truth'].vocabulary, { id: vocabularyId });
    if (vocabulary.concepts.length < 2) {
      throw new LoupeError('LOUPE_ERR_VALIDATION', `Vocabulary ${vocabularyId} has ${vocabulary.concepts.length} concept(s): a classifier needs two or more`);
    }
    const imageCard = findModel(deps.models, 'image-embedding', text.imageModel).card;
    const classes = vocabulary.concepts.map((c) => ({ concept: c.uri, label: c.prefLabel['en'] ?? c.prefLabel[''] ?? Object.values(c.prefLabel)[0] ?? c.notation ?? c.uri }));
    // The version names everything the head is made of: the text model and the prompts it read.
    const prompts = classes.map((c) => promptsFor(c.label));
    const digest = createHash('sha256').update(JSON.stringify([text.model.id, text.model.version, classes, prompts])).digest('hex').slice(0, 12);
    return cached(`zero-shot:${vocabularyId}@${digest}`, async () => {
      const embeddings: Float32Array[] = [];
      for (const p of prompts) embeddings.push(meanEmbedding(await text.embed(p)));
      return zeroShotHead(classes, embeddings, {
        id: `zero-shot.${vocabularyId.toLowerCase().replace(/[^a-z0-9._-]+/g, '_').slice(-80)}`,
        version: `${text.model.version.toLowerCase().replace(/[^a-z0-9._-]+/g, '_')}-${digest}`,
        embedding: { model: imageCard.id, version: imageCard.version, dims: embeddings[0]!.length },
      });
    });
  }

  function headFor(opts: ClassifyOptions): Promise<LinearHead> {
    if (opts.head !== undefined) return trainedHead(opts.head, opts.headVersion);
    if (opts.vocabulary !== undefined) return zeroShot(opts.vocabulary);
    if (deps.defaultHead !== undefined) return trainedHead(deps.defaultHead, undefined);
    throw new LoupeError('LOUPE_ERR_VALIDATION', 'Name a head (`head`, or LOUPE_CLASSIFY_HEAD) or a vocabulary for zero-shot classification (`vocabulary`)');
  }

  async function classify(
    opts: ClassifyOptions,
    image: ImageRef,
    canvas: { id: string; width: number; height: number } | undefined,
    hints: EmbedImageInput['hints'],
  ): Promise<ClassifyOutput & { head: LinearHead }> {
    const started = performance.now();
    const head = await headFor(opts);
    const tiled = head.input && (await classifyTiled({ ...head, input: head.input }, image, canvas, hints?.region, deps));
    const embedded = tiled ? undefined : await deps.client.request(
      SERVICE_APIS.embed.image,
      { model: head.embedding.model, image, ...(canvas && { canvas }), ...(hints !== undefined && { hints }) },
      { timeoutMs: 120_000 },
    );
    if (embedded && (embedded.model.version !== head.embedding.version || embedded.dims !== head.embedding.dims)) {
      throw new LoupeError(
        'LOUPE_ERR_MODEL_CARD_INVALID',
        `Head ${head.id} ${head.version} runs on ${head.embedding.model} ${head.embedding.version} (${head.embedding.dims} dims); the embed service has ${embedded.model.id} ${embedded.model.version} (${embedded.dims} dims): train the head again`,
        { details: { head: head.id, version: head.version, wanted: head.embedding, got: { ...embedded.model, dims: embedded.dims } } },
      );
    }
    const embeddedAt = performance.now();
    const probs = tiled ? tiled.probs : predict(head, Float32Array.from(embedded!.vector));
    const mode = opts.mode ?? 'top-k';
    const k = mode === 'top-k' ? (opts.k ?? 1) : undefined;
    const chosen = decide(head, probs, { mode, ...(k !== undefined && { k }) });
    return {
      head,
      mode,
      ...(k !== undefined && { k }),
      predictions: chosen.picks.map((p) => ({
        concept: p.concept,
        ...(p.label !== undefined && { label: p.label }),
        probability: p.probability,
        threshold: head.thresholds[p.index]!,
        aboveThreshold: p.aboveThreshold,
      })),
      uncertainty: { margin: uncertainty(probs, head.kind, 'margin'), entropy: uncertainty(probs, head.kind, 'entropy') },
      request: tiled ? tiled.request : embedded!.request,
      ...withCaution(head),
      ms: { ...(tiled ? tiled.ms : { embed: embeddedAt - started }), head: performance.now() - embeddedAt },
    };
  }

  const headRef = (head: LinearHead) => ({
    id: head.id,
    version: head.version,
    source: head.source,
    kind: head.kind,
    embedding: { model: head.embedding.model, version: head.embedding.version },
  });

  const image = defineHandler({
    ...SERVICE_APIS.classify.image,
    async handler(input) {
      const { image: ref, canvas, region, ...opts } = input;
      const out = await classify(opts, ref, canvas, region && { region: regionInImage(region, ref, canvas) });
      return { ...out, head: headRef(out.head) };
    },
  });

  const canvasStage = defineHandler({
    ...SERVICE_APIS.classify.canvas,
    async handler({ task, results, options }) {
      const opts = options as ClassifyOptions;
      const out = await classify(opts, task.image, { id: task.canvasId, width: task.canvasWidth, height: task.canvasHeight }, stageResult(results, 'preprocess'));
      const { head } = out;
      return {
        resultSet: {
          manifestId: task.manifestId,
          canvasId: task.canvasId,
          imageIndex: task.imageIndex,
          stage: 'classify',
          model: { id: head.id, version: head.version, name: head.id, embedding: { id: head.embedding.model, version: head.embedding.version } },
          generated: new Date().toISOString(),
          findings: out.predictions.map((p) => ({
            motivation: 'classifying',
            concept: p.concept,
            ...(p.label !== undefined && { label: p.label }),
            confidence: p.probability,
            margin: out.uncertainty.margin,
            entropy: out.uncertainty.entropy,
          })),
        },
        ms: out.ms,
      };
    },
  });

  const heads = defineHandler({
    ...SERVICE_APIS.classify.heads,
    async handler() {
      const items = [];
      for (const { id, versions } of await listHeadsWithPack(deps.headsDir)) {
        const latest = await trainedHead(id, versions.at(-1));
        items.push({ id, versions, latest: cardOf(latest), ...withCaution(latest) });
      }
      return { items };
    },
  });

  return {
    name: 'classify',
    version: '0.2.0',
    description: 'Classifies canvas images into controlled vocabularies (SKOS concepts by URI): trained heads and zero-shot',
    handlers: [image, canvasStage, heads, classificationExplainHandler({ headFor, imageEmbedder: deps.imageEmbedder, fetchImage: deps.fetchImage })],
    readiness: () => ({ heads: deps.headsDir, defaultHead: deps.defaultHead ?? null, textModels: describeModels(deps.models, 'text-embedding') }),
  };
}

/**
 * A region given in canvas coordinates, in the image's pixels (what the fetch crops): scaled when
 * the image's size differs from the canvas's. Without a canvas, or without the image's size, the
 * region is taken as image pixels already.
 */
export function regionInImage(
  region: { x: number; y: number; w: number; h: number },
  image: ImageRef,
  canvas: { width: number; height: number } | undefined,
): { x: number; y: number; w: number; h: number } {
  if (!canvas || !image.width || !image.height) return region;
  const sx = image.width / canvas.width;
  const sy = image.height / canvas.height;
  return { x: region.x * sx, y: region.y * sy, w: region.w * sx, h: region.h * sy };
}

/** What a head says about itself, without its weights: its card, the classes, calibration and cross-validation report. */
export function cardOf(head: LinearHead): Record<string, unknown> {
  return {
    ...headCard(head),
    classes: head.classes,
    temperature: head.temperature,
    thresholds: head.thresholds,
    ...(head.metrics !== undefined && { metrics: head.metrics }),
  };
}

/** `caution`, for a head its own evaluation puts close to chance: said with every answer it gives. */
function withCaution(head: LinearHead): { caution?: string } {
  const caution = closeToChance(head);
  return caution === undefined ? {} : { caution };
}
