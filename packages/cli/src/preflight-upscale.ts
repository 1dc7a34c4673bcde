// The upscaling offer before a run: the planner knows, canvas by canvas, when a server cannot give
// the size a stage wants (small masters, limits); a run that would read such images is told once per
// manifest, with the option that would help. Only told: upscaling is never applied unasked.
import { PIPELINES, type CreateJobInput, type PipelineName } from '@loupe/contracts';
import { parseImageInfo, planImageRequest, upscaleOffer, type Fetcher, type HarvestedManifest, type ImageInfo, type UpscaleOffer } from '@loupe/iiif';
import { openRegistry, type Registry } from '@loupe/inference';
import type { LoupeConfig } from './config.js';

/** The text stage fetches pages fitted in this square (detect's textFetchSize): small print needs the pixels. */
const TEXT_FETCH_SIDE = 2048;
/** Canvases whose images are looked at per manifest: the hint is a sample, not a second harvest. */
export const UPSCALE_PROBE_CANVASES = 40;
const PROBE_CONCURRENCY = 4;

/** The largest side a stage of the pipeline wants its image at, and which part wants it. */
export interface WantedSide {
  readonly side: number;
  readonly by: string;
}

/** What the pipeline's stages want: the text reader its fetch size, a detector its model's input. */
export function wantedSide(pipeline: PipelineName, registry: Pick<Registry, 'get'>, models: { objects: string; faces: string }): WantedSide | undefined {
  const wants: WantedSide[] = [];
  const inputSide = (id: string): number => {
    const entry = registry.get(id);
    return entry?.kind === 'model' ? Math.max(entry.card.input.width ?? 0, entry.card.input.height ?? 0) : 0;
  };
  for (const step of PIPELINES[pipeline]) {
    const kinds = (step.options?.['kinds'] as string[] | undefined) ?? [];
    if (step.stage === 'detect.text' || kinds.includes('text')) wants.push({ side: TEXT_FETCH_SIDE, by: 'the text reader' });
    if (kinds.includes('objects')) wants.push({ side: inputSide(models.objects), by: `the object detector (${models.objects})` });
    if (kinds.includes('faces')) wants.push({ side: inputSide(models.faces), by: `the face detector (${models.faces})` });
  }
  return wants.filter((w) => w.side > 0).sort((a, b) => b.side - a.side)[0];
}

export interface UpscaleProbe {
  /** An image service's info.json, parsed (the fetcher's cache keeps it for the run). */
  readonly info: (serviceId: string) => Promise<ImageInfo>;
  readonly plan: (info: ImageInfo, target: { fit: { width: number; height: number }; region?: { x: number; y: number; w: number; h: number } }) => { upscale?: UpscaleOffer };
  readonly offer: (have: number, want: number) => UpscaleOffer | undefined;
}

/**
 * One line for the manifest when some of its first canvases come smaller than `want` asks:
 * how many, the largest of those sizes, and the --enhance that would reach it; undefined otherwise
 * (or when the job already upscales). An info.json that cannot be read is the run's to report.
 */
export async function upscaleHint(manifest: HarvestedManifest, want: WantedSide, enhance: CreateJobInput['enhance'], probe: UpscaleProbe): Promise<string | undefined> {
  if (enhance?.upscale) return undefined;
  const canvases = manifest.canvases.slice(0, UPSCALE_PROBE_CANVASES);
  const offers: (UpscaleOffer | undefined)[] = [];
  for (let i = 0; i < canvases.length; i += PROBE_CONCURRENCY) {
    const batch = canvases.slice(i, i + PROBE_CONCURRENCY).map(async (canvas) => {
      const looks = await Promise.all(canvas.images.map((image) => lookAt(image, want.side, probe)));
      // A canvas is short when none of its images reaches the size: a small inset beside a large page is not the page.
      if (looks.includes('enough')) return undefined;
      const short = looks.filter((l): l is UpscaleOffer => typeof l === 'object');
      return short.sort((a, b) => b.have - a.have)[0];
    });
    offers.push(...(await Promise.all(batch)));
  }
  const short = offers.filter((o): o is UpscaleOffer => o !== undefined);
  if (short.length === 0) return undefined;
  const largest = Math.max(...short.map((o) => o.have));
  const factors = [...new Set(short.map((o) => o.suggested))].sort((a, b) => a - b);
  const first = factors[0]!;
  const last = factors[factors.length - 1]!;
  const of = manifest.canvases.length > canvases.length ? `of the first ${canvases.length} of ${manifest.canvases.length}` : `of ${canvases.length}`;
  const name = manifest.label || manifest.id;
  return (
    `${name}: ${short.length} ${of} canvases come at most ${largest} px where ${want.by} wants ${want.side}: ` +
    `add --enhance upscale=${first}${last > first ? ` (or ${last} for the smallest)` : ''} to upscale them first (docs/enhance.md)`
  );
}

/** One image: the offer when it comes short, 'enough' when it does not, 'unknown' when its size cannot be known now. */
async function lookAt(image: HarvestedManifest['canvases'][number]['images'][number], side: number, probe: UpscaleProbe): Promise<UpscaleOffer | 'enough' | 'unknown'> {
  const target = { fit: { width: side, height: side } };
  if (!image.service) {
    const w = image.region?.w ?? image.width;
    const h = image.region?.h ?? image.height;
    return w && h ? (probe.offer(Math.max(w, h), side) ?? 'enough') : 'unknown';
  }
  try {
    return probe.plan(await probe.info(image.service.id), image.region ? { ...target, region: image.region } : target).upscale ?? 'enough';
  } catch {
    return 'unknown';
  }
}

/**
 * The offer for each manifest of a run or a plan (`loupe run`, `loupe run --dry-run`): what the
 * pipeline wants from this configuration's models, the info.json documents through `fetcher` (whose
 * cache the run then reads them from).
 */
export function upscaleHinter(config: LoupeConfig, pipeline: PipelineName, enhance: CreateJobInput['enhance'], fetcher: Pick<Fetcher, 'getJson'>): (manifest: HarvestedManifest) => Promise<string | undefined> {
  const want = wantedSide(pipeline, openRegistry({ modelsDir: config.modelsDir }), { objects: config.objectModel, faces: config.faceModel });
  const info = async (serviceId: string): Promise<ImageInfo> => {
    const url = `${serviceId}/info.json`;
    return parseImageInfo(await fetcher.getJson(url), url);
  };
  return async (manifest) => (want ? upscaleHint(manifest, want, enhance, { info, plan: planImageRequest, offer: upscaleOffer }) : undefined);
}
