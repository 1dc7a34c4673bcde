import fs from 'node:fs/promises';
import path from 'node:path';
import { LoupeError, type AnalysisOutput } from '@loupe/contracts';
import type { LoupeConfig } from '../config.js';
import { numberOption } from '../options.js';
import { apiCaller, createEmbedded } from '../embedded.js';
import { resolveSource } from '../source-path.js';

export interface AnalysisCommandOptions {
  readonly model?: string | undefined;
  readonly format?: string | undefined;
  /** A file to write; standard output when absent. */
  readonly out?: string | undefined;
  /** duplicates: --near, --similar, --k; clusters: --k, --k-min, --k-max, --central, --seed. */
  readonly numbers: Readonly<Record<string, string | undefined>>;
}

/**
 * `loupe duplicates <collection>` and `loupe clusters <collection>`: the embed service's analyses
 * over the images a collection (or one manifest) had embedded, in this process, against the
 * configured vector store. The report goes to --out or standard output (JSON, or CSV with
 * --format csv); a summary line goes to standard error.
 */
export async function analysisCommand(
  config: LoupeConfig,
  kind: 'duplicates' | 'clusters',
  source: string | undefined,
  opts: AnalysisCommandOptions,
  say: (line: string) => void,
): Promise<number> {
  if (!source) throw new LoupeError('LOUPE_ERR_VALIDATION', `loupe ${kind} needs the collection or manifest URL that was embedded (loupe run <it> --pipeline embed)`);
  const format = opts.format ?? 'json';
  if (format !== 'json' && format !== 'csv') throw new LoupeError('LOUPE_ERR_VALIDATION', `--format must be json or csv; got ${JSON.stringify(format)}`);
  const n = opts.numbers;
  const body =
    kind === 'duplicates'
      ? { nearHamming: numberOption('near', n['near'], true), similarCosine: numberOption('similar', n['similar'], false), k: numberOption('k', n['k'], true) }
      : { k: numberOption('k', n['k'], true), kMin: numberOption('k-min', n['k-min'], true), kMax: numberOption('k-max', n['k-max'], true), central: numberOption('central', n['central'], true), seed: numberOption('seed', n['seed'], true) };
  const payload = {
    source: resolveSource(source),
    format,
    ...(opts.model && { model: opts.model }),
    ...Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined)),
  };
  const embedded = await createEmbedded({ ...config, services: ['embed'] });
  try {
    await embedded.app.start();
    const out = await apiCaller(embedded.app)<AnalysisOutput>('POST', `/v1/${kind}`, payload);
    const text = format === 'csv' ? out.csv! : `${JSON.stringify(out, null, 2)}\n`;
    if (opts.out) {
      await fs.mkdir(path.dirname(path.resolve(opts.out)), { recursive: true });
      await fs.writeFile(opts.out, text);
    } else {
      process.stdout.write(text);
    }
    const report = out.report as { counts?: { groups?: Record<string, number> }; k?: number; silhouette?: number | null };
    const summary =
      kind === 'duplicates'
        ? `groups: ${Object.entries(report.counts?.groups ?? {}).map(([tier, c]) => `${c} ${tier}`).join(', ')}`
        : `${report.k} clusters (silhouette ${report.silhouette?.toFixed(3) ?? 'n/a'})`;
    say(`${kind} of ${out.images} images of ${out.scope} ${out.source} (${out.model.id} ${out.model.version}) in ${(out.ms / 1000).toFixed(1)} s: ${summary}${opts.out ? `; wrote ${opts.out}` : ''}`);
    return 0;
  } finally {
    await embedded.close();
  }
}
