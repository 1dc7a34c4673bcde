import { LoupeError } from '@loupe/contracts';
import type { ModelTask } from '../cards/model-card.js';
import type { EngineEntry, InstallState, ModelEntry, Registry } from './registry.js';

/** What the classify, embed and caption services need of the registry. */
export type ModelRegistryLike = Pick<Registry, 'modelsDir' | 'list' | 'resolve'>;

/** One model or engine in a service's readiness details; an engine names its languages. */
export interface CardReadiness {
  id: string;
  state: InstallState;
  version: string;
  engine?: { runtime: string; languages: string[] };
}

/** The models (and engines) of one task and their states, for a service's readiness details. */
export function describeModels(models: ModelRegistryLike, task: ModelTask): { modelsDir: string; models: CardReadiness[] } {
  return {
    modelsDir: models.modelsDir,
    models: models.list({ task }).map((m) => ({
      id: m.id,
      state: m.state,
      version: m.card.version,
      ...(m.kind === 'engine' && { engine: { runtime: m.card.engine.runtime, languages: m.card.engine.languages.map((l) => l.code) } }),
    })),
  };
}

/**
 * The registry entry of model `id` of `task`, or why it cannot be used: LOUPE_ERR_MODEL_NOT_INSTALLED
 * naming the model and where it was looked for (no card of that task, or files not pulled yet).
 */
export function findModel(models: ModelRegistryLike, task: ModelTask, id: string): ModelEntry {
  const listed = models.list({ task });
  const engine = listed.find((m): m is EngineEntry => m.kind === 'engine' && m.id === id);
  if (engine) {
    throw new LoupeError('LOUPE_ERR_MODEL_LOAD', `${task} model ${JSON.stringify(id)} is an engine (${engine.card.engine.runtime}), not an ONNX model: Loupe runs it through its own recogniser`, {
      details: { model: id, task },
    });
  }
  const ofTask = listed.filter((m): m is ModelEntry => m.kind === 'model');
  const entry = ofTask.find((m) => m.id === id);
  if (!entry) {
    const known = ofTask.map((m) => m.id);
    throw new LoupeError(
      'LOUPE_ERR_MODEL_NOT_INSTALLED',
      `${task} model ${JSON.stringify(id)} is not installed (no card for it among the built-in cards or in ${models.modelsDir}; ${task} models with a card: ${known.join(', ') || 'none'})`,
      { details: { model: id, task, modelsDir: models.modelsDir, known } },
    );
  }
  if (entry.state === 'missing') {
    throw new LoupeError('LOUPE_ERR_MODEL_NOT_INSTALLED', `${task} model ${JSON.stringify(id)} is not downloaded; run: loupe models pull ${id}`, {
      details: { model: id, task, modelsDir: models.modelsDir },
    });
  }
  return entry;
}
