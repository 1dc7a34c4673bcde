import {
  LoupeError,
  SERVICE_APIS,
  type Annotation,
  type VocabularyFormat,
  type FindingsOutput,
  type ResultSetsOutput,
  defineHandler,
  inSpan,
  captionSourceIds,
  stageResult,
  type StageInput,
  type Principal,
  type ResultSet,
  type ServiceDefinition,
} from '@loupe/contracts';
import { labelOfAnnotation, parseConceptCsv, parseEuropeanaVocabularyJson, parseSkosJsonLd, toAlto, toHocr } from '@loupe/datasets';
import { withPublicUrl, type AnnotationStore, type ContentSearchIndex, type Vocabulary } from '@loupe/store';
import { contentSearchHandlers } from './content-search.js';
import { layerHandlers } from './layers.js';
import { textRankingHandler } from './text-ranking.js';
import { peopleNamesHandler } from './people-names.js';
import { resultSetKey, toAnnotations } from './annotations.js';
import { correctionOf, imageRequest, pagesOf, queryAll, queryOf, requireDataset } from './curation.js';
import { datasetSplits, exportDataset, importDataset } from './datasets.js';
import { evaluateModel } from './evaluation.js';
import { explainOption, explainTopClassifications } from './explanations.stage.js';
import { dropOrphanedExplanations, explanationHandler, type ExplainClient } from './explanations.js';
import { modelCardOf, type HeadCards, type ModelCards } from './model-card.js';
import { canvasOcrPage, ocrDocumentUrls } from './ocr-documents.js';
import { reviewQueueOf } from './review-queue.js';

export interface GroundTruthDeps {
  readonly store: AnnotationStore;
  /** Public base URL: annotation and page ids are built on it. */
  readonly publicUrl: string;
  /** Shown by /readyz: 'embedded' or 'mongodb'. */
  readonly storeKind?: string;
  /** The model registry: generator ids (`/v1/models/<id>/<version>`) dereference to its cards. */
  readonly models?: ModelCards;
  /** The classification heads on disk, whose cards classifications' generator ids dereference to. */
  readonly heads?: HeadCards;
  /** The full-text index IIIF Content Search answers from (docs/search.md); without one, search says it is not available. */
  readonly search?: ContentSearchIndex;
  /** Reaches classify and detect, which explain annotations (GET /v1/annotations/{key}/explanation). */
  readonly client?: ExplainClient;
}

/** Finds every result set earlier stages produced (stage outputs shaped like FindingsOutput or ResultSetsOutput). */
function resultSetsOf(results: Record<string, unknown>): ResultSet[] {
  const sets: ResultSet[] = [];
  for (const output of Object.values(results)) {
    if (!output || typeof output !== 'object') continue;
    if ('resultSet' in output) sets.push((output as FindingsOutput).resultSet);
    if ('resultSets' in output && Array.isArray(output.resultSets)) sets.push(...(output as ResultSetsOutput).resultSets);
  }
  return sets;
}

/**
 * The name a revision records. An authenticated caller (API key, OIDC token) is who they are,
 * whatever the body claims; the body's `reviewer` counts only when nobody authenticated (Loupe
 * without authentication, e.g. behind a proxy that authenticates, or the process's own CLI).
 */
export function reviewerOf(principal: Principal | undefined, claimed: string | undefined): string {
  if (principal?.via === 'key' || principal?.via === 'oidc') return principal.name ?? principal.id;
  if (claimed !== undefined) return claimed;
  if (principal) return principal.id;
  throw new LoupeError('LOUPE_ERR_VALIDATION', 'A review needs a reviewer');
}

const VERSION = '0.1.0';

export function createGroundTruthService(deps: GroundTruthDeps): ServiceDefinition {
  const { publicUrl } = deps;
  // Ids are kept without the public URL and shown under the one in force: a store made under
  // another URL (`loupe run` before `loupe serve`) is served and reviewed as if made here.
  const store = withPublicUrl(deps.store, publicUrl);
  const apis = SERVICE_APIS['ground-truth'];
  const explaining = { store, raw: deps.store, publicUrl, client: deps.client };

  const storeResults = defineHandler({
    ...apis.store,
    async handler(input) {
      const { task } = input;
      // What the review page needs to show the canvas, and exports its size.
      await store.putCanvas({
        canvasId: task.canvasId,
        manifestId: task.manifestId,
        label: task.canvasLabel,
        index: task.canvasIndex,
        width: task.canvasWidth,
        height: task.canvasHeight,
        image: {
          id: task.image.id,
          ...(task.image.service && { service: task.image.service.id, serviceVersion: task.image.service.version }),
          ...(task.image.width !== undefined && { width: task.image.width }),
          ...(task.image.height !== undefined && { height: task.image.height }),
        },
      });
      const totals = { sets: 0, inserted: 0, kept: 0, removed: 0 };
      // The annotations each result set became, for a composed caption to name its sources by id.
      const made = new Map<string, Annotation[]>();
      for (const set of resultSetsOf(input.results)) {
        const attributes = { 'db.system.name': deps.storeKind ?? 'unknown', 'db.operation.name': 'replaceResultSet', 'loupe.model.id': set.model.id, 'loupe.model.version': set.model.version };
        const annotations = withSources(set, toAnnotations(set, publicUrl), input.results, made);
        made.set(`${set.stage}\n${set.model.id}`, annotations);
        const written = await inSpan('store annotations', attributes, async (span) => {
          const counts = await store.replaceResultSet(resultSetKey(set), set.model.version, annotations);
          // Replaced with its set: a re-run that lays out no page leaves none behind.
          await store.replaceOcrPage(resultSetKey(set), set.model.version, set.ocr, set.generated);
          span.setAttributes({ 'loupe.annotations.inserted': counts.inserted, 'loupe.annotations.kept': counts.kept, 'loupe.annotations.removed': counts.removed });
          return counts;
        });
        totals.sets += 1;
        totals.inserted += written.inserted;
        totals.kept += written.kept;
        totals.removed += written.removed;
      }
      // Only a write that removed annotations can leave an explanation linked to nothing.
      if (totals.removed > 0) await dropOrphanedExplanations(explaining.store, task.manifestId, task.canvasId);
      if (explainOption(input.options).classifications) await explainTopClassifications(explaining, made);
      return totals;
    },
  });

  const annotationUrl = (key: string): string => `${publicUrl}/v1/annotations/${key}`;
  const requireAnnotation = async (key: string): Promise<Annotation> => {
    const found = await store.get(annotationUrl(key));
    if (!found) throw new LoupeError('LOUPE_ERR_NOT_FOUND', `No annotation ${annotationUrl(key)}`, { details: { id: annotationUrl(key) } });
    return found;
  };

  const queryAnnotations = defineHandler({
    ...apis.annotations,
    async handler(q) {
      const items = await store.query({ ...queryOf(q), limit: q.limit, offset: q.offset });
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(q)) if (v !== undefined && k !== 'limit' && k !== 'offset') params.set(k, String(v));
      return { id: `${publicUrl}/v1/annotations?${params.toString()}`, type: 'AnnotationPage' as const, items };
    },
  });

  const getAnnotation = defineHandler({ ...apis.annotation, handler: async ({ key }) => requireAnnotation(key) });

  const review = defineHandler({
    ...apis.review,
    async handler({ key, state, reviewer, note, correction }, ctx) {
      const current = await requireAnnotation(key);
      if (correction !== undefined && state !== 'corrected') {
        throw new LoupeError('LOUPE_ERR_VALIDATION', `A correction goes with state 'corrected', not ${JSON.stringify(state)}`);
      }
      if (state === 'corrected' && correction === undefined) throw new LoupeError('LOUPE_ERR_VALIDATION', "State 'corrected' needs a correction");
      return store.review(current.id, {
        state,
        reviewer: reviewerOf(ctx.principal, reviewer),
        ...(note !== undefined && { note }),
        ...(correction !== undefined && { correction: correctionOf(current, correction) }),
      });
    },
  });

  const history = defineHandler({
    ...apis.history,
    async handler({ key }) {
      return { items: await store.history(annotationUrl(key)) };
    },
  });

  const reviewMany = defineHandler({
    ...apis.reviewMany,
    async handler({ filter, state, reviewer, note }, ctx) {
      if (Object.values(filter).every((v) => v === undefined)) {
        throw new LoupeError('LOUPE_ERR_VALIDATION', 'A bulk review needs at least one filter (it would review every annotation in the store)');
      }
      return store.reviewMany(queryOf(filter), { state, reviewer: reviewerOf(ctx.principal, reviewer), ...(note !== undefined && { note }) });
    },
  });

  const canvases = defineHandler({
    ...apis.canvases,
    async handler(q) {
      const found = await store.canvases({ ...queryOf(q), limit: q.limit, offset: q.offset });
      return {
        items: found.map(({ canvas, annotations }) => ({ canvas: mutable(canvas), annotations, image: imageRequest(canvas, 1200), thumbnail: imageRequest(canvas, 200) })),
      };
    },
  });

  const ocrPages = defineHandler({
    ...apis.ocrPages,
    async handler({ manifest, canvas }) {
      if (manifest === undefined && canvas === undefined) {
        throw new LoupeError('LOUPE_ERR_VALIDATION', 'Name the manifest or the canvas whose OCR pages to list', { details: { fields: ['manifest', 'canvas'] } });
      }
      const found = await store.ocrPageEntries({ ...(manifest !== undefined && { manifestId: manifest }), ...(canvas !== undefined && { canvasId: canvas }) });
      return {
        items: found.map(({ key, modelVersion, generated }) => ({
          canvas: key.canvasId,
          manifest: key.manifestId,
          imageIndex: key.imageIndex,
          stage: key.stage,
          model: { id: key.modelId, version: modelVersion },
          generated,
          ...ocrDocumentUrls(publicUrl, key.canvasId, key.modelId),
        })),
      };
    },
  });

  const software = { name: 'Loupe', version: VERSION };
  const ocrAlto = defineHandler({
    ...apis.ocrAlto,
    async handler({ canvas, model }) {
      const { page, options } = await canvasOcrPage(store, canvas, model, software);
      return toAlto(page, options);
    },
  });
  const ocrHocr = defineHandler({
    ...apis.ocrHocr,
    async handler({ canvas, model }) {
      const { page, options } = await canvasOcrPage(store, canvas, model, software);
      return toHocr(page, options);
    },
  });

  const vocabularies = defineHandler({ ...apis.vocabularies, handler: async () => ({ items: await store.listVocabularies() }) });

  const vocabulary = defineHandler({
    ...apis.vocabulary,
    async handler({ id }) {
      const found = await store.getVocabulary(id);
      if (!found) throw new LoupeError('LOUPE_ERR_NOT_FOUND', `No vocabulary ${JSON.stringify(id)}`, { details: { id } });
      return mutable(found);
    },
  });

  const vocabularyImport = defineHandler({
    ...apis.vocabularyImport,
    async handler({ format, content, id, label }) {
      const parsed = await parseVocabulary(format, content, id);
      const vocab: Vocabulary = { ...parsed, ...(id !== undefined && { id }), ...(label !== undefined && { label }) };
      const { concepts } = await store.putVocabulary(vocab);
      return { id: vocab.id, concepts };
    },
  });

  const datasets = defineHandler({ ...apis.datasets, handler: async () => ({ items: (await store.listDatasets()).map(mutable) }) });

  const datasetCreate = defineHandler({
    ...apis.datasetCreate,
    async handler({ name, description, sources, filter }) {
      await store.createDataset({ name, ...(description !== undefined && { description }) });
      if (sources && sources.length > 0) await store.addDatasetSources(name, sources);
      if (filter) {
        const ids = (await queryAll(store, queryOf(filter))).map((a) => a.id);
        if (ids.length > 0) await store.addDatasetMembers(name, ids);
      }
      return mutable((await store.getDataset(name))!);
    },
  });

  const dataset = defineHandler({
    ...apis.dataset,
    async handler({ name }) {
      const found = await requireDataset(store, name);
      const counts = new Map<string, { label?: string; count: number }>();
      let total = 0;
      // Page by page: a large dataset is counted without holding all of it.
      for await (const page of pagesOf(store, { dataset: name })) {
        total += page.length;
        for (const a of page) {
          const said = labelOfAnnotation(a)?.label;
          const key = said?.concept ?? said?.label;
          if (!said || key === undefined) continue;
          const entry = counts.get(key) ?? { ...(said.label !== undefined && { label: said.label }), count: 0 };
          entry.count += 1;
          counts.set(key, entry);
        }
      }
      return {
        ...mutable(found),
        annotations: total,
        concepts: [...counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([concept, e]) => ({ concept, ...e })),
      };
    },
  });

  const datasetImport = defineHandler({ ...apis.datasetImport, handler: (input) => importDataset(store, publicUrl, input) });
  const datasetExport = defineHandler({ ...apis.datasetExport, handler: (q) => exportDataset(store, publicUrl, q) });
  const splits = defineHandler({ ...apis.datasetSplits, handler: (q) => datasetSplits(store, q) });
  const evaluation = defineHandler({ ...apis.evaluation, handler: (q) => evaluateModel(store, q) });
  const reviewQueue = defineHandler({ ...apis.reviewQueue, handler: (q) => reviewQueueOf(store, q) });
  const modelCard = defineHandler({ ...apis.modelCard, handler: async ({ id, version }) => modelCardOf(deps.models, publicUrl, id, version, deps.heads) });

  return {
    name: 'ground-truth',
    version: VERSION,
    description: 'The ground-truth store: W3C Web Annotations with provenance and review state',
    handlers: [
      storeResults,
      queryAnnotations,
      getAnnotation,
      review,
      history,
      reviewMany,
      canvases,
      ocrPages,
      ocrAlto,
      ocrHocr,
      vocabularies,
      vocabulary,
      vocabularyImport,
      datasets,
      datasetCreate,
      dataset,
      datasetImport,
      datasetExport,
      splits,
      evaluation,
      reviewQueue,
      modelCard,
      ...contentSearchHandlers({ store, search: deps.search ?? NO_SEARCH_INDEX, publicUrl }),
      ...layerHandlers(store, publicUrl),
      textRankingHandler(store, deps.search ?? NO_SEARCH_INDEX),
      peopleNamesHandler(store, publicUrl),
      explanationHandler(explaining),
    ],
    readiness: () => ({ store: deps.storeKind ?? 'embedded' }),
  };
}

/** A composed caption's annotation with `loupe:derivedFrom`: the ids of the annotations its phrases say (made earlier in this call). */
function withSources(set: ResultSet, annotations: Annotation[], results: StageInput['results'], made: ReadonlyMap<string, Annotation[]>): Annotation[] {
  if (set.stage !== 'caption') return annotations;
  const caption = stageResult(results, 'caption')?.caption;
  if (!caption) return annotations;
  const sources = captionSourceIds(caption, (stage, model) => made.get(`${stage}\n${model}`));
  return annotations.map((a) => ({ ...a, 'loupe:derivedFrom': sources }) as Annotation);
}

const noIndex = (): never => {
  throw new LoupeError('LOUPE_ERR_CONFIG_INVALID', 'IIIF Content Search needs the embedded SQLite store: with LOUPE_STORE=mongodb it is not available yet');
};
const NO_SEARCH_INDEX: ContentSearchIndex = { search: async () => noIndex(), terms: async () => noIndex(), close: async () => {} };

type Mutable<T> = T extends readonly (infer U)[] ? Mutable<U>[] : T extends object ? { -readonly [K in keyof T]: Mutable<T[K]> } : T;

/** The store's values are read-only; the schemas' types are not. Same data, another view of it. */
const mutable = <T,>(value: T): Mutable<T> => value as Mutable<T>;

export async function parseVocabulary(format: VocabularyFormat, content: string, id: string | undefined): Promise<Vocabulary> {
  const opts = id !== undefined ? { id } : {};
  switch (format) {
    case 'europeana-json':
      return parseEuropeanaVocabularyJson(content, opts);
    case 'concept-csv':
      return parseConceptCsv(content, opts);
    case 'skos-jsonld': {
      let doc: unknown;
      try {
        doc = JSON.parse(content);
      } catch (err) {
        throw new LoupeError('LOUPE_ERR_VALIDATION', `The SKOS document is not JSON: ${(err as Error).message}`);
      }
      return parseSkosJsonLd(doc, opts);
    }
  }
}
