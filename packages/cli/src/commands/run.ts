import fs from 'node:fs/promises';
import path from 'node:path';
import { IIIF_PRESENTATION_CONTEXT, LOUPE_CONTEXT_PATH, type AnnotationPage, type ClassifyOptions, type JobView, type PipelineName } from '@loupe/contracts';
import type { LoupeConfig } from '../config.js';
import { apiCaller, createEmbedded } from '../embedded.js';
import { Progress } from '../progress.js';

export interface RunReport {
  job: string;
  state: JobView['state'];
  manifests: string[];
  canvases: number;
  images: number;
  annotations: number;
  failures: { canvas: string | null; stage: string; code: string; message: string }[];
  stages: Record<string, { ms: number; done: number; failed: number }>;
  outputs: { manifests: string[]; annotations: string };
}

export interface RunOptions {
  readonly source: string;
  readonly outDir: string;
  /** Which pipeline runs on every canvas image (default: text). */
  readonly pipeline?: PipelineName;
  /** pipeline classify: head, vocabulary (zero-shot), mode, k. */
  readonly classify?: ClassifyOptions;
  readonly progress?: Progress | undefined;
  readonly pollMs?: number;
}

type Json = Record<string, unknown>;

/** A manifest or collection given as a local file is read from disk; anything with a scheme is a URL. */
export function resolveSource(source: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(source) ? source : path.resolve(source);
}

function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60) || 'canvas';
}

/**
 * A whole pipeline in one process (text by default: harvest, preprocess, detect text, store);
 * then writes the enriched manifest(s), one AnnotationPage per canvas and a report.
 */
export async function runPipeline(config: LoupeConfig, opts: RunOptions): Promise<RunReport> {
  const embedded = await createEmbedded(config);
  const { app } = embedded;
  try {
    await app.start();
    const call = apiCaller(app);
    let job = await call<JobView>('POST', '/v1/jobs', {
      manifest: resolveSource(opts.source),
      pipeline: opts.pipeline ?? 'text',
      ...(opts.classify && { classify: opts.classify }),
    });
    while (job.state === 'queued' || job.state === 'harvesting' || job.state === 'running') {
      opts.progress?.update(job);
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 200));
      job = await call<JobView>('GET', `/v1/jobs/${job.id}`);
    }
    opts.progress?.update(job);
    opts.progress?.end();

    await fs.mkdir(path.join(opts.outDir, 'annotations'), { recursive: true });
    const report: RunReport = {
      job: job.id,
      state: job.state,
      manifests: job.manifests,
      canvases: 0,
      images: job.tasks.total,
      annotations: 0,
      failures: job.failures,
      stages: Object.fromEntries(Object.entries(job.stages).map(([k, s]) => [k, { ms: Math.round(s.ms), done: s.done, failed: s.failed }])),
      outputs: { manifests: [], annotations: path.join(opts.outDir, 'annotations') },
    };
    const several = job.manifests.length > 1;
    for (const [m, manifestId] of job.manifests.entries()) {
      const manifest = await call<Json>('GET', `/v1/jobs/${job.id}/manifest?manifest=${encodeURIComponent(manifestId)}`);
      const file = several ? path.join(opts.outDir, 'manifests', `${String(m + 1).padStart(3, '0')}.json`) : path.join(opts.outDir, 'manifest.json');
      await fs.mkdir(path.dirname(file), { recursive: true });
      await fs.writeFile(file, JSON.stringify(manifest, null, 2));
      report.outputs.manifests.push(file);
      const canvases = (manifest.items as Json[] | undefined) ?? [];
      report.canvases += canvases.length;
      for (const [c, canvas] of canvases.entries()) {
        const pages = ((canvas.annotations as Json[] | undefined) ?? []).filter((p) => String(p.id).includes('/v1/annotations'));
        const items = pages.flatMap((p) => (p.items as AnnotationPage['items']) ?? []);
        report.annotations += items.length;
        const label = typeof canvas.label === 'object' && canvas.label ? Object.values(canvas.label as Record<string, string[]>)[0]?.[0] : undefined;
        const name = `${several ? `${String(m + 1).padStart(3, '0')}-` : ''}${String(c + 1).padStart(4, '0')}-${slug(label ?? String(canvas.id))}.json`;
        const page = pages[0] ?? { id: `${config.publicUrl}/v1/annotations?canvas=${encodeURIComponent(String(canvas.id))}`, type: 'AnnotationPage' };
        await fs.writeFile(
          path.join(opts.outDir, 'annotations', name),
          JSON.stringify({ '@context': [`${config.publicUrl}${LOUPE_CONTEXT_PATH}`, IIIF_PRESENTATION_CONTEXT], ...page, items }, null, 2),
        );
      }
    }
    await fs.writeFile(path.join(opts.outDir, 'report.json'), JSON.stringify(report, null, 2));
    return report;
  } finally {
    await embedded.close();
  }
}
