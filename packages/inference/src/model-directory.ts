import fs from 'node:fs';
import path from 'node:path';
import { LoupeError } from '@loupe/contracts';

export type ModelTask = 'classification' | 'embedding' | 'captioning';

/** A model installed in LOUPE_MODELS_DIR, ready to run. */
export interface InstalledModel {
  readonly id: string;
  readonly task: ModelTask;
  run(input: unknown): Promise<Record<string, unknown>>;
}

/**
 * Where installed (non built-in) models live: one folder per model id holding its card.
 * Model cards, checksums and `loupe models pull` arrive with the inference engine; until then
 * no classification, embedding or captioning model can be installed, and the handlers say so.
 */
export interface ModelDirectory {
  readonly dir: string;
  /** Ids of the models of `task` found in the directory. */
  list(task: ModelTask): string[];
  describe(task: ModelTask): { dir: string; installed: string[] };
}

export function openModelDirectory(dir: string): ModelDirectory {
  const list = (task: ModelTask): string[] => {
    let entries: string[];
    try {
      entries = fs.readdirSync(dir);
    } catch {
      return [];
    }
    return entries.filter((id) => {
      try {
        const card = JSON.parse(fs.readFileSync(path.join(dir, id, 'card.json'), 'utf8')) as { task?: unknown };
        return card.task === task;
      } catch {
        return false;
      }
    });
  };
  return { dir, list, describe: (task) => ({ dir, installed: list(task) }) };
}

/**
 * Returns the installed model `id` for `task`, or fails with LOUPE_ERR_MODEL_NOT_INSTALLED naming
 * the model and where it was looked for. No runner exists yet for these tasks, so a card found in
 * the directory is reported as not runnable rather than answered with made-up output.
 */
export async function requireInstalledModel(models: ModelDirectory, task: ModelTask, id: string): Promise<InstalledModel> {
  const installed = models.list(task);
  if (!installed.includes(id)) {
    throw new LoupeError(
      'LOUPE_ERR_MODEL_NOT_INSTALLED',
      `${task} model ${JSON.stringify(id)} is not installed (looked in ${models.dir}; installed ${task} models: ${installed.join(', ') || 'none'})`,
      { details: { model: id, task, modelsDir: models.dir, installed } },
    );
  }
  throw new LoupeError('LOUPE_ERR_MODEL_NOT_INSTALLED', `${task} model ${JSON.stringify(id)} has a card in ${models.dir}, but this version of Loupe cannot run ${task} models yet`, {
    details: { model: id, task, modelsDir: models.dir },
  });
}
