import fs from 'node:fs/promises';
import path from 'node:path';
import { DATASET_FORMATS, LoupeError, SPLITS, VOCABULARY_FORMATS, type EvaluationReport } from '@loupe/contracts';
import { formatBoxes, formatClassification, formatText } from '@loupe/datasets';
import type { LoupeConfig } from '../config.js';
import { apiCaller, createEmbedded } from '../embedded.js';

export interface GroundTruthOptions {
  readonly model?: string | undefined;
  readonly dataset?: string | undefined;
  readonly format?: string | undefined;
  readonly out?: string | undefined;
  readonly split?: string | undefined;
  readonly seed?: string | undefined;
  readonly folds?: string | undefined;
  readonly iou?: string | undefined;
  readonly threshold?: string | undefined;
  readonly source?: readonly string[] | undefined;
  readonly description?: string | undefined;
  readonly vocab?: string | undefined;
  readonly id?: string | undefined;
  readonly label?: string | undefined;
  readonly json?: boolean | undefined;
}

type Say = (line: string) => void;

function oneOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new LoupeError('LOUPE_ERR_VALIDATION', `--${flag} must be one of ${allowed.join(', ')}; got ${JSON.stringify(value)}`);
  }
  return value as T;
}

function need(value: string | undefined, what: string): string {
  if (!value) throw new LoupeError('LOUPE_ERR_VALIDATION', what);
  return value;
}

/**
 * Runs the ground-truth service in this process against the configured store (SQLite under
 * LOUPE_DATA_DIR, or LOUPE_STORE=mongodb) and calls its HTTP API: the CLI accepts and refuses
 * exactly what the API does.
 */
async function withGroundTruth<T>(config: LoupeConfig, fn: (call: (method: 'GET' | 'POST', url: string, payload?: unknown) => Promise<unknown>) => Promise<T>): Promise<T> {
  const embedded = await createEmbedded({ ...config, services: ['ground-truth'] });
  try {
    await embedded.app.start();
    return await fn(apiCaller(embedded.app));
  } finally {
    await embedded.close();
  }
}

async function writeFile(file: string, text: string): Promise<void> {
  await fs.mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await fs.writeFile(file, text);
}

const query = (params: Record<string, string | undefined>): string =>
  new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined)).toString();

/** `loupe eval --model <id> --dataset <name>`: the evaluation table on standard output, the JSON report in a file. */
export async function evalCommand(config: LoupeConfig, opts: GroundTruthOptions, say: Say): Promise<number> {
  const model = need(opts.model, 'loupe eval needs --model <model id>');
  const dataset = need(opts.dataset, 'loupe eval needs --dataset <name>');
  const report = (await withGroundTruth(config, (call) =>
    call('GET', `/v1/evaluations?${query({ model, dataset, iou: opts.iou, threshold: opts.threshold })}`),
  )) as EvaluationReport;
  const out = opts.out ?? `loupe-eval-${dataset}-${model.replace(/[^A-Za-z0-9._-]+/g, '_')}.json`;
  await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);
  const lines = [`${model} on ${dataset}: ${report.canvases} canvases with ground truth`];
  if (report.labels) lines.push('', 'Labels', formatClassification(report.labels as never));
  if (report.boxes) lines.push('', `Boxes (AP at IoU ${opts.iou ?? '0.5'})`, formatBoxes(report.boxes as never));
  if (report.text) lines.push('', 'Text', formatText(report.text as never));
  if (!report.labels && !report.boxes && !report.text) lines.push('(no labels, boxes or text in the ground truth)');
  process.stdout.write(`${lines.join('\n')}\n`);
  say(`wrote ${out}`);
  return 0;
}

function guessVocabularyFormat(file: string, text: string): (typeof VOCABULARY_FORMATS)[number] {
  if (file.toLowerCase().endsWith('.csv')) return 'concept-csv';
  return /"@context"|"@graph"|"@id"/.test(text) ? 'skos-jsonld' : 'europeana-json';
}

/** `loupe vocab import <file> | list | show <id>`. */
export async function vocabCommand(config: LoupeConfig, sub: string | undefined, arg: string | undefined, opts: GroundTruthOptions, say: Say): Promise<number> {
  switch (sub) {
    case 'import': {
      const file = need(arg, 'loupe vocab import needs a file (vocabulary.json, uris_vocabularies.csv or SKOS JSON-LD)');
      const content = await fs.readFile(file, 'utf8');
      const format = oneOf('format', opts.format, VOCABULARY_FORMATS) ?? guessVocabularyFormat(file, content);
      const done = (await withGroundTruth(config, (call) =>
        call('POST', '/v1/vocabularies', { format, content, ...(opts.id && { id: opts.id }), ...(opts.label && { label: opts.label }) }),
      )) as { id: string; concepts: number };
      say(`imported ${done.concepts} concepts into vocabulary ${done.id} (${format})`);
      return 0;
    }
    case 'list': {
      const { items } = (await withGroundTruth(config, (call) => call('GET', '/v1/vocabularies'))) as { items: { id: string; label?: string; concepts: number }[] };
      for (const v of items) process.stdout.write(`${v.id}\t${v.concepts} concepts${v.label ? `\t${v.label}` : ''}\n`);
      if (items.length === 0) say('no vocabularies yet: loupe vocab import <file>');
      return 0;
    }
    case 'show': {
      const id = need(arg, 'loupe vocab show needs a vocabulary id');
      const vocab = await withGroundTruth(config, (call) => call('GET', `/v1/vocabularies/${encodeURIComponent(id)}`));
      process.stdout.write(`${JSON.stringify(vocab, null, 2)}\n`);
      return 0;
    }
    default:
      throw new LoupeError('LOUPE_ERR_VALIDATION', `unknown vocab command ${JSON.stringify(sub ?? '')}: import, list or show`);
  }
}

/** `loupe datasets list | show | create | import | export | splits`. */
export async function datasetsCommand(
  config: LoupeConfig,
  sub: string | undefined,
  name: string | undefined,
  files: readonly string[],
  opts: GroundTruthOptions,
  say: Say,
): Promise<number> {
  const dataset = (): string => need(name, `loupe datasets ${sub} needs a dataset name`);
  switch (sub) {
    case 'list': {
      const { items } = (await withGroundTruth(config, (call) => call('GET', '/v1/datasets'))) as { items: { name: string; members: number; sources: string[]; description?: string }[] };
      for (const d of items) process.stdout.write(`${d.name}\t${d.members} members\t${d.sources.length} sources${d.description ? `\t${d.description}` : ''}\n`);
      if (items.length === 0) say('no datasets yet: loupe datasets create <name> --source <manifest>, or loupe datasets import');
      return 0;
    }
    case 'show': {
      const view = await withGroundTruth(config, (call) => call('GET', `/v1/datasets/${encodeURIComponent(dataset())}`));
      process.stdout.write(`${JSON.stringify(view, null, 2)}\n`);
      return 0;
    }
    case 'create': {
      const view = (await withGroundTruth(config, (call) =>
        call('POST', '/v1/datasets', { name: dataset(), ...(opts.description && { description: opts.description }), ...(opts.source && { sources: opts.source }) }),
      )) as { name: string; sources: string[]; members: number };
      say(`dataset ${view.name}: ${view.sources.length} sources, ${view.members} members`);
      return 0;
    }
    case 'import': {
      const format = need(oneOf('format', opts.format, DATASET_FORMATS), `loupe datasets import needs --format (${DATASET_FORMATS.join(', ')})`);
      if (files.length === 0) throw new LoupeError('LOUPE_ERR_VALIDATION', 'loupe datasets import needs the file(s) to import (voc: one XML file per image)');
      const texts = await Promise.all(files.map((f) => fs.readFile(f, 'utf8')));
      if (format !== 'voc' && texts.length > 1) throw new LoupeError('LOUPE_ERR_VALIDATION', `--format ${format} imports one file at a time`);
      const done = (await withGroundTruth(config, (call) =>
        call('POST', `/v1/datasets/${encodeURIComponent(dataset())}/import`, {
          format,
          content: format === 'voc' ? texts : texts[0],
          ...(opts.source?.[0] && { source: opts.source[0] }),
          ...(opts.vocab && { vocabulary: opts.vocab }),
        }),
      )) as { images: number; inserted: number; kept: number; problems: { line?: number; message: string }[] };
      for (const p of done.problems) say(`  skipped${p.line !== undefined ? ` line ${p.line}` : ''}: ${p.message}`);
      say(`imported ${done.images} images into ${name}: ${done.inserted} new annotations, ${done.kept} already there, ${done.problems.length} problems`);
      return 0;
    }
    case 'export': {
      const format = need(oneOf('format', opts.format, DATASET_FORMATS), `loupe datasets export needs --format (${DATASET_FORMATS.join(', ')})`);
      const split = oneOf('split', opts.split, SPLITS);
      const out = opts.out ?? '.';
      const done = (await withGroundTruth(config, (call) =>
        call('GET', `/v1/datasets/${encodeURIComponent(dataset())}/export?${query({ format, split, seed: opts.seed })}`),
      )) as { images: number; annotations: number; files: { name: string; content: string }[] };
      for (const file of done.files) await writeFile(path.join(out, file.name), file.content);
      say(`exported ${done.images} images, ${done.annotations} labels of ${name} as ${format}${split ? ` (${split} split)` : ''}: ${done.files.length} file(s) under ${out}`);
      return 0;
    }
    case 'splits': {
      const done = (await withGroundTruth(config, (call) =>
        call('GET', `/v1/datasets/${encodeURIComponent(dataset())}/splits?${query({ seed: opts.seed, folds: opts.folds })}`),
      )) as { seed: string; folds: number; counts: Record<string, Record<string, number>>; items: unknown[] };
      const text = `${JSON.stringify(done, null, 2)}\n`;
      if (opts.out) await writeFile(opts.out, text);
      else process.stdout.write(text);
      const sizes = Object.entries(done.counts).map(([s, c]) => `${s} ${Object.values(c).reduce((a, b) => a + b, 0)} labels`);
      say(`${done.items.length} canvases of ${name}, seed ${done.seed}: ${sizes.join(', ')}; ${done.folds} folds${opts.out ? `; wrote ${opts.out}` : ''}`);
      return 0;
    }
    default:
      throw new LoupeError('LOUPE_ERR_VALIDATION', `unknown datasets command ${JSON.stringify(sub ?? '')}: list, show, create, import, export or splits`);
  }
}
