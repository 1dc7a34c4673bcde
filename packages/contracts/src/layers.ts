import type { Annotation, ReviewState } from './annotation.js';
import { manifestKey } from './content-search.js';

/**
 * A layer: the annotations one model (at one version) made on one manifest, in one review state,
 * served as an AnnotationCollection so that a viewer can list and toggle it. Imported ground truth
 * has no generator, hence no model: its layer's model is NO_MODEL.
 */
export interface LayerKey {
  readonly manifest: string;
  readonly model: string;
  readonly version: string;
  readonly state: ReviewState;
}

/** The model segment of a layer of annotations without a generator (imported ground truth). */
export const NO_MODEL = '-';

/** Rejected annotations form layers of their own, which no enriched manifest embeds. */
export const SHOWN_STATES: readonly ReviewState[] = ['unreviewed', 'accepted', 'corrected'];

/** The layer an annotation of `manifest` belongs to. */
export function layerOf(manifest: string, a: Annotation): LayerKey {
  return {
    manifest,
    model: a.generator?.['loupe:model'] ?? NO_MODEL,
    version: a.generator?.['loupe:version'] ?? NO_MODEL,
    state: a['loupe:reviewState'] ?? 'unreviewed',
  };
}

export const sameLayer = (a: LayerKey, b: LayerKey): boolean => a.manifest === b.manifest && a.model === b.model && a.version === b.version && a.state === b.state;

/** Where a layer's collection is, and its page of one canvas: under /v1/annotations, as the pages always were. */
export function layerUrls(publicUrl: string, key: LayerKey): { readonly collection: string; page(canvas: string): string } {
  const collection = `${publicUrl}/v1/annotations/layers/${manifestKey(key.manifest)}/${encodeURIComponent(key.model)}/${encodeURIComponent(key.version)}/${key.state}`;
  return { collection, page: (canvas) => `${collection}/page?canvas=${encodeURIComponent(canvas)}` };
}

const STATE_WORDS: Record<ReviewState, string> = {
  unreviewed: 'unreviewed',
  accepted: 'accepted by a person',
  corrected: 'corrected by a person',
  rejected: 'rejected by a person',
};

/**
 * What a person calls a layer: what its annotations are, who made them and whether a person has
 * looked, e.g. "Objects — CenterNet COCO 1 (onnxruntime), unreviewed". The model's words are its
 * generator's name, the one its annotations carry.
 */
export function layerLabel(key: LayerKey, sample: Annotation | undefined): { en: string[] } {
  const kind = sample ? kindOf(sample) : 'Annotations';
  const by = sample?.generator?.name ?? (key.model === NO_MODEL ? 'imported ground truth' : `${key.model} ${key.version}`);
  return { en: [`${kind} — ${by}, ${STATE_WORDS[key.state]}`] };
}

type Body = Exclude<Annotation['body'], unknown[]>;

function kindOf(a: Annotation): string {
  const motivation = [a.motivation].flat()[0] ?? '';
  const bodies: Body[] = [a.body].flat();
  switch (motivation) {
    case 'supplementing':
    case 'transcribing':
      return 'Text';
    case 'tagging':
      // The face detector tags every box "face"; the object detectors name a class.
      return bodies.some((b) => b.purpose === 'tagging' && b.value === 'face') ? 'Faces' : 'Objects';
    case 'classifying':
      return 'Classifications';
    case 'describing':
      return 'Captions';
    case 'identifying':
      return 'People';
    default:
      return motivation ? motivation[0]!.toUpperCase() + motivation.slice(1) : 'Annotations';
  }
}

/**
 * An explanation (a saliency map, `loupe:explains`) belongs to the annotation it explains, reached
 * through that one's explanation route and the review page, not to a layer a viewer shows.
 */
export const isExplanation = (a: Annotation): boolean => 'loupe:explains' in a;

/** A manifest's annotations by layer, in the order the layers first appear; rejected ones and explanations are left out. */
export function shownLayers(manifest: string, annotations: readonly Annotation[]): { key: LayerKey; annotations: Annotation[] }[] {
  const layers = new Map<string, { key: LayerKey; annotations: Annotation[] }>();
  for (const a of annotations) {
    if (isExplanation(a)) continue;
    const key = layerOf(manifest, a);
    if (!SHOWN_STATES.includes(key.state)) continue;
    const id = JSON.stringify([key.model, key.version, key.state]);
    const layer = layers.get(id);
    if (layer) layer.annotations.push(a);
    else layers.set(id, { key, annotations: [a] });
  }
  return [...layers.values()];
}

/** The reference an AnnotationPage's `partOf` makes to its layer. */
export function layerRef(publicUrl: string, key: LayerKey, sample: Annotation | undefined) {
  return { id: layerUrls(publicUrl, key).collection, type: 'AnnotationCollection' as const, label: layerLabel(key, sample) };
}

/** One canvas's page of a layer, as embedded in a manifest or served at its id. */
export function layerPage(publicUrl: string, key: LayerKey, canvas: string, items: Annotation[]) {
  const ref = layerRef(publicUrl, key, items[0]);
  return { id: layerUrls(publicUrl, key).page(canvas), type: 'AnnotationPage' as const, label: ref.label, partOf: [ref], items };
}
