import { createHash } from 'node:crypto';
import {
  LoupeError,
  SERVICE_APIS,
  defineHandler,
  isRecord,
  type Annotation,
  type ExplainOptions,
  type ExplainOutput,
  type ExplanationOutput,
  type HandlerDeclaration,
  type ImageRef,
} from '@loupe/contracts';
import type { Static, TSchema } from '@sinclair/typebox';
import type { AnnotationStore, CanvasRecord } from '@loupe/store';
import { explainRequestOf, modelOf } from './explanations.request.js';

/** What ground-truth needs of the bus client: classify and detect hold the models that explain. */
export interface ExplainClient {
  request<I extends TSchema, O extends TSchema>(
    decl: Pick<HandlerDeclaration<I, O>, 'mode' | 'subject' | 'input' | 'output'>,
    input: Static<I>,
    opts?: { timeoutMs?: number },
  ): Promise<Static<O>>;
}

/** The stage an explanation's result set is kept under; one set per explained annotation, so a new one replaces only its own. */
export const EXPLANATION_STAGE = 'explanation';
/** What the generator names besides the model: the method, versioned, since a change to it changes every map. */
const EXPLAINER = { id: 'occlusion-saliency', version: '1' };
/** A CPU detector takes about 0.3 s a pass and a wide image ~90 passes: well past the bus's usual 30 s. */
const EXPLAIN_TIMEOUT_MS = 300_000;

/** The explanation's key: the explained one's, and a digest of the options when they are not the defaults. */
function explanationKey(key: string, options: ExplainOptions): string {
  const given = Object.entries(options).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : 1));
  if (given.length === 0) return `expl-${key}`;
  return `expl-${key}-${createHash('sha256').update(JSON.stringify(given)).digest('base64url').slice(0, 8)}`;
}

/** The options given, as the query that asks for the same explanation again (the body's link). */
function optionsQuery(options: ExplainOptions): string {
  const given = Object.entries(options).filter(([, v]) => v !== undefined).map(([k, v]): [string, string] => [k, String(v)]);
  return given.length === 0 ? '' : `?${new URLSearchParams(given).toString()}`;
}

function imageOf(canvas: CanvasRecord): ImageRef {
  const { image } = canvas;
  return {
    id: image.id,
    ...(image.service && { service: { id: image.service, version: (image.serviceVersion ?? 3) as 1 | 2 | 3, level: null } }),
    ...(image.width !== undefined && { width: image.width }),
    ...(image.height !== undefined && { height: image.height }),
  };
}

function canvasIdOf(target: Annotation['target']): string {
  if (typeof target === 'string') return target.split('#')[0]!;
  const source = (target as { source: unknown }).source;
  return typeof source === 'string' ? source : String((source as { id: string }).id);
}

/**
 * The overlay is kept in the stored annotation itself (the store is the one place every process
 * shares) but never leaves the store with it: withPublicUrl drops it, so listings, pages and
 * exports carry the map and a link, and only this route reads the bytes, from the raw store.
 */
const OVERLAY = 'loupe:overlay';
const DATA_URL = 'data:image/png;base64,';
/** The map, as a JSON literal outside the bodies: a body would be read as text by viewers and indexed by Content Search. */
const SALIENCY = 'loupe:saliency';

/** The overlay bytes of a stored explanation. */
function overlayOf(stored: Annotation | undefined, id: string): Uint8Array {
  const overlay = stored && (stored as Record<string, unknown>)[OVERLAY];
  if (typeof overlay !== 'string' || !overlay.startsWith(DATA_URL)) throw new LoupeError('LOUPE_ERR_STORE', `Explanation ${id} holds no overlay`);
  return Buffer.from(overlay.slice(DATA_URL.length), 'base64');
}

/** The explanation as the route answers it: the map and the annotation as served (without its bytes). */
function jsonOf(shown: Annotation): ExplanationOutput {
  const map = (shown as Record<string, unknown>)[SALIENCY];
  if (!isRecord(map)) throw new LoupeError('LOUPE_ERR_STORE', `Explanation ${shown.id} holds no map`);
  const { [OVERLAY]: _bytes, ...annotation } = shown as Record<string, unknown>;
  return { map: map as ExplanationOutput['map'], annotation };
}

/** Which model made the explained annotation, as the explanation records it: a re-run by another version makes the explanation stale. */
const EXPLAINS_MODEL = 'loupe:explainsModel';

/**
 * Whether a kept explanation still explains `explained`: made by this explainer, for the model
 * version that made the annotation now. A re-run by a new head version keeps the annotation's id
 * (the id holds what was said, not by which version) and the curator's review, but the map was
 * taken from the old head's scores.
 */
function explainsCurrent(kept: Annotation, explained: Annotation): boolean {
  const generator: unknown = kept.generator;
  const explainer = isRecord(generator) ? generator['loupe:explainer'] : undefined;
  const recorded = (kept as Record<string, unknown>)[EXPLAINS_MODEL];
  return explainer === `${EXPLAINER.id}/${EXPLAINER.version}` && JSON.stringify(recorded ?? null) === JSON.stringify(modelOf(explained) ?? null);
}

/** The explanation annotation: motivation commenting, the overlay image and the map as bodies, linked to what it explains. */
function explanationAnnotation(explained: Annotation, id: string, publicUrl: string, what: string, out: ExplainOutput, at: string, query: string): Annotation {
  const { model } = out;
  const explainedModel = modelOf(explained);
  return {
    id,
    type: 'Annotation',
    motivation: 'commenting',
    body: {
      id: `${explained.id}/explanation${query}`,
      type: 'Image',
      format: 'image/png',
      label: { en: [`Occlusion saliency for ${what} (${model.id} ${model.version})`] },
    },
    target: explained.target,
    generator: {
      id: `${publicUrl}/v1/models/${encodeURIComponent(model.id)}/${encodeURIComponent(model.version)}`,
      type: 'Software',
      name: `${EXPLAINER.id} ${EXPLAINER.version} over ${model.id} ${model.version}`,
      'loupe:model': model.id,
      'loupe:version': model.version,
      'loupe:explainer': `${EXPLAINER.id}/${EXPLAINER.version}`,
    },
    created: at,
    generated: at,
    'loupe:explains': explained.id,
    ...(explainedModel && { [EXPLAINS_MODEL]: explainedModel }),
    [SALIENCY]: out.map,
    [OVERLAY]: `${DATA_URL}${out.overlayPng}`,
  } as Annotation;
}

export interface ExplanationDeps {
  /** The store as the service sees it (ids under the public URL). */
  readonly store: AnnotationStore;
  /** The same store unwrapped (local ids): the only reader of an explanation's overlay bytes. */
  readonly raw: AnnotationStore;
  readonly publicUrl: string;
  /** Reaches classify and detect; without it the route answers 503. */
  readonly client?: ExplainClient | undefined;
  /** The time an explanation is recorded at (tests inject a fixed clock). */
  readonly now?: () => Date;
}

/**
 * The explanation of the annotation `key` with `options`: the one kept, or one made now by the
 * service that holds its model (classify for a classification, detect for a box) and kept as an
 * annotation of its own, so a second request costs a store read, not dozens of passes. Answers
 * the explanation as served (public ids, no bytes) and its local key.
 */
export async function explainAnnotation(deps: ExplanationDeps, key: string, options: ExplainOptions): Promise<{ shown: Annotation; local: string }> {
  const { store, publicUrl } = deps;
  const explainedId = `${publicUrl}/v1/annotations/${key}`;
  const explained = await store.get(explainedId);
  if (!explained) throw new LoupeError('LOUPE_ERR_NOT_FOUND', `No annotation ${explainedId}`, { details: { id: explainedId } });
  const local = explanationKey(key, options);
  const id = `${publicUrl}/v1/annotations/${local}`;
  const kept = await store.get(id);
  if (kept && explainsCurrent(kept, explained)) return { shown: kept, local };

  if (!deps.client) throw new LoupeError('LOUPE_ERR_NOT_READY', 'This ground-truth service has no bus client to ask classify or detect for an explanation');
  const canvasId = canvasIdOf(explained.target);
  const canvas = await store.getCanvas(canvasId);
  if (!canvas) throw new LoupeError('LOUPE_ERR_NOT_FOUND', `The store knows no image for canvas ${canvasId}`, { details: { canvas: canvasId } });
  const where = { image: imageOf(canvas), canvas: { id: canvasId, width: canvas.width, height: canvas.height } };
  const request = await explainRequestOf(store, explained, options);
  const opts = { timeoutMs: EXPLAIN_TIMEOUT_MS };
  const out =
    request.kind === 'classification'
      ? await deps.client.request(SERVICE_APIS.classify.explain, { ...where, ...request.input }, opts)
      : await deps.client.request(SERVICE_APIS.detect.explain, { ...where, ...request.input }, opts);
  if (request.model && (out.model.id !== request.model.id || out.model.version !== request.model.version)) {
    throw new LoupeError(
      'LOUPE_ERR_MODEL_CARD_INVALID',
      `${explainedId} was made by ${request.model.id} ${request.model.version}; the service that would explain it runs ${out.model.id} ${out.model.version}: its map would explain another model`,
      { details: { annotation: explainedId, made: request.model, running: out.model } },
    );
  }
  const at = (deps.now?.() ?? new Date()).toISOString();
  const annotation = explanationAnnotation(explained, id, publicUrl, request.what, out, at, optionsQuery(options));
  await store.replaceResultSet(explanationSet(canvas.manifestId, canvasId, key), `${EXPLAINER.version}+${out.model.version}`, [annotation]);
  return { shown: (await store.get(id)) ?? annotation, local };
}

/** The result set an annotation's explanations are kept in. */
function explanationSet(manifestId: string, canvasId: string, explainedKey: string) {
  return { manifestId, canvasId, imageIndex: 0, stage: EXPLANATION_STAGE, modelId: `${EXPLAINER.id}:${explainedKey}` };
}

/**
 * Removes the explanations of a canvas whose explained annotation is gone (a re-run that no longer
 * says what was explained removes that annotation): otherwise listings and viewers would keep a
 * comment linked to nothing. Run by the store stage after its writes to a canvas removed
 * annotations; answers how many were removed.
 */
export async function dropOrphanedExplanations(store: AnnotationStore, manifestId: string, canvasId: string): Promise<number> {
  let dropped = 0;
  for (const comment of await store.query({ canvasId, motivation: 'commenting' })) {
    const explains = (comment as Record<string, unknown>)['loupe:explains'];
    if (typeof explains !== 'string' || (await store.get(explains))) continue;
    const removed = await store.replaceResultSet(explanationSet(manifestId, canvasId, explains.split('/').at(-1)!), EXPLAINER.version, []);
    dropped += removed.removed;
  }
  return dropped;
}

/** GET /v1/annotations/{key}/explanation: the overlay PNG, or with `format=json` the map and the annotation. */
export function explanationHandler(deps: ExplanationDeps) {
  return defineHandler({
    ...SERVICE_APIS['ground-truth'].explanation,
    async handler({ key, format, ...options }) {
      const { shown, local } = await explainAnnotation(deps, key, options);
      return format === 'json' ? jsonOf(shown) : overlayOf(await deps.raw.get(local), shown.id);
    },
  });
}
