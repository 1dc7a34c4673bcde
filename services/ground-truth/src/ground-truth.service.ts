import { Type } from '@sinclair/typebox';
import {
  SERVICE_APIS,
  FindingsOutput,
  type ResultSetsOutput,
  SUBJECTS,
  StageInput,
  defineHandler,
  type ResultSet,
  type ServiceDefinition,
} from '@loupe/contracts';
import type { AnnotationStore } from '@loupe/store';
import { resultSetKey, toAnnotations } from './annotations.js';

export interface GroundTruthDeps {
  readonly store: AnnotationStore;
  /** Public base URL: annotation and page ids are built on it. */
  readonly publicUrl: string;
}

const StoreOutput = Type.Object({
  sets: Type.Integer(),
  inserted: Type.Integer(),
  kept: Type.Integer(),
  removed: Type.Integer(),
});

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

export function createGroundTruthService(deps: GroundTruthDeps): ServiceDefinition {
  const { store, publicUrl } = deps;

  const storeResults = defineHandler({
    name: 'store',
    summary: 'Store the result sets that earlier stages produced for one canvas image (idempotent)',
    subject: SUBJECTS.resultsPut,
    mode: 'queue',
    route: { method: 'POST', url: '/v1/results' },
    input: StageInput,
    output: StoreOutput,
    errors: ['LOUPE_ERR_VALIDATION', 'LOUPE_ERR_STORE'],
    async handler(input) {
      const totals = { sets: 0, inserted: 0, kept: 0, removed: 0 };
      for (const set of resultSetsOf(input.results)) {
        const written = await store.replaceResultSet(resultSetKey(set), set.model.version, toAnnotations(set, publicUrl));
        totals.sets += 1;
        totals.inserted += written.inserted;
        totals.kept += written.kept;
        totals.removed += written.removed;
      }
      return totals;
    },
  });

  const queryAnnotations = defineHandler({
    ...SERVICE_APIS['ground-truth'].annotations,
    async handler(q) {
      const items = await store.query({
        ...(q.canvas !== undefined && { canvasId: q.canvas }),
        ...(q.manifest !== undefined && { manifestId: q.manifest }),
        ...(q.motivation !== undefined && { motivation: q.motivation }),
        ...(q.model !== undefined && { modelId: q.model }),
        ...(q.reviewState !== undefined && { reviewState: q.reviewState }),
        limit: q.limit,
        offset: q.offset,
      });
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(q)) if (v !== undefined && k !== 'limit' && k !== 'offset') params.set(k, String(v));
      return { id: `${publicUrl}/v1/annotations?${params.toString()}`, type: 'AnnotationPage' as const, items };
    },
  });

  return {
    name: 'ground-truth',
    version: '0.1.0',
    description: 'The ground-truth store: W3C Web Annotations with provenance and review state',
    handlers: [storeResults, queryAnnotations],
    readiness: () => ({ store: 'embedded' }),
  };
}
