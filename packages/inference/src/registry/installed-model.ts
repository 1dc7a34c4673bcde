import { LoupeError } from '@loupe/contracts';
import type { ModelTask } from '../cards/model-card.js';
import type { InstallState, ModelEntry, Registry } from './registry.js';

/** What the classify, embed and caption services need of the registry. */
export type ModelRegistryLike = Pick<Registry, 'modelsDir' | 'list' | 'resolve'>;

/** The models of one task and their states, for a service's readiness details. */
export function describeModels(models: ModelRegistryLike, task: ModelTask): { modelsDir: string; models: { id: string; state: InstallState }[] } {
  return { modelsDir: models.modelsDir, models: models.list({ task }).map((m) => ({ id: m.id, state: m.state })) };
}

/**
 * The registry entry of model `id` of `task`, or why it cannot be used: LOUPE_ERR_MODEL_NOT_INSTALLED
 * naming the model and where it was looked for (no card of that task, or files not pulled yet).
 */
export function findModel(models: ModelRegistryLike, task: ModelTask, id: string): ModelEntry {
  const ofTask = models.list({ task });
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

/**
 * Refuses to run model `id` of `task`, saying exactly why (see findModel; LOUPE_ERR_MODEL_CHECKSUM
 * when a file changed). No runner exists yet for these tasks, so a verified model is reported as
 * not runnable rather than answered with made-up output.
 */
export async function requireInstalledModel(models: ModelRegistryLike, task: ModelTask, id: string): Promise<never> {
  findModel(models, task, id);
  await models.resolve(id); // refuses a file whose bytes changed
  throw new LoupeError('LOUPE_ERR_MODEL_NOT_INSTALLED', `${task} model ${JSON.stringify(id)} is installed, but this version of Loupe cannot run ${task} models yet`, {
    details: { model: id, task, modelsDir: models.modelsDir },
  });
}
