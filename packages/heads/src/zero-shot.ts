/**
 * A head with no training: with a text-image embedding (CLIP), each concept's labels are put in a
 * few sentence templates, embedded with the text encoder and averaged (prompt ensembling, as in
 * the CLIP paper); an image's class scores are then its cosine similarity with each class
 * embedding, times CLIP's logit scale, through a softmax.
 */
import { checkHeadId, checkHeadVersion } from './artefact.js';
import { invalid, type HeadClass, type LinearHead } from './head.js';

/** Heritage-flavoured templates; '{}' is the concept's label. */
export const PROMPT_TEMPLATES: readonly string[] = Object.freeze([
  'a photograph of a {}.',
  'a scan of a {}.',
  'a {} in a museum collection.',
  'a digitised {}.',
  'an image of a {}.',
  'a black and white photograph of a {}.',
  'a detail of a {}.',
]);

/** CLIP's learned logit scale (exp(4.6052) = 100). */
export const CLIP_LOGIT_SCALE = 100;

/**
 * The templates filled with one label. 'a' before a label starting with a vowel letter becomes
 * 'an' ('an engraving'); a rough rule, but the text encoder reads grammatical sentences best.
 */
export function promptsFor(label: string, templates: readonly string[] = PROMPT_TEMPLATES): string[] {
  const text = label.trim();
  if (text === '') throw invalid('a prompt needs a non-empty label', { label });
  const vowel = /^[aeiou]/iu.test(text);
  return templates.map((t) => (vowel ? t.replace(/\ba \{\}/gu, 'an {}') : t.replace(/\ban \{\}/gu, 'a {}')).replaceAll('{}', text));
}

function normalised(v: Float32Array | Float64Array, what: string): Float64Array {
  let sq = 0;
  for (let j = 0; j < v.length; j++) sq += v[j]! * v[j]!;
  const norm = Math.sqrt(sq);
  if (!(norm > 0) || !Number.isFinite(norm)) throw invalid(`${what} has length ${norm}: it cannot be normalised`, { norm });
  const out = new Float64Array(v.length);
  for (let j = 0; j < v.length; j++) out[j] = v[j]! / norm;
  return out;
}

/** The L2-normalised mean of the L2-normalised vectors (each prompt counts the same, whatever its length). */
export function meanEmbedding(vectors: readonly Float32Array[]): Float32Array {
  if (vectors.length === 0) throw invalid('no vectors to average', {});
  const d = vectors[0]!.length;
  const sum = new Float64Array(d);
  vectors.forEach((v, i) => {
    if (v.length !== d) throw invalid(`vector ${i} has ${v.length} dimensions, vector 0 has ${d}`, { index: i, expected: d, got: v.length });
    const u = normalised(v, `vector ${i}`);
    for (let j = 0; j < d; j++) sum[j]! += u[j]!;
  });
  return Float32Array.from(normalised(sum, 'the mean of the vectors'));
}

export interface ZeroShotOptions {
  readonly id: string;
  readonly version: string;
  readonly embedding: LinearHead['embedding'];
  /** Multiplies the cosine similarities; default 100, CLIP's. */
  readonly logitScale?: number;
  /** Every class's threshold; default 0.5. */
  readonly threshold?: number;
}

/**
 * A softmax head whose weights are logitScale x each class embedding (normalised again), bias 0,
 * temperature 1. The image vector should be L2-normalised (as Loupe's embedding service emits
 * it), so the logits are scaled cosine similarities, exactly CLIP's zero-shot classifier.
 *
 * Thresholds: without labelled examples nothing can be calibrated to a precision, so every class
 * gets 0.5 (a class is asserted only when the head gives it more probability than all the others
 * together) and targetPrecision is 0 ("not chosen for a precision"). Train a head to get both.
 */
export function zeroShotHead(classes: readonly HeadClass[], classEmbeddings: readonly Float32Array[], opts: ZeroShotOptions): LinearHead {
  checkHeadId(opts.id);
  checkHeadVersion(opts.version);
  const k = classes.length;
  const d = opts.embedding.dims;
  if (k < 2) throw invalid(`a zero-shot head needs at least 2 classes, got ${k}`, { classes: k });
  if (classEmbeddings.length !== k) throw invalid(`${k} classes but ${classEmbeddings.length} class embeddings`, { classes: k, embeddings: classEmbeddings.length });
  if (new Set(classes.map((c) => c.concept)).size !== k) throw invalid('the classes repeat a concept', { concepts: classes.map((c) => c.concept) });
  const scale = opts.logitScale ?? CLIP_LOGIT_SCALE;
  if (!Number.isFinite(scale) || scale <= 0) throw invalid(`logitScale must be a finite number > 0, not ${scale}`, { logitScale: scale });
  const threshold = opts.threshold ?? 0.5;
  if (!(threshold >= 0 && threshold <= 1)) throw invalid(`threshold must be from 0 to 1, not ${threshold}`, { threshold });
  const weights = new Float32Array(k * d);
  classEmbeddings.forEach((e, c) => {
    if (e.length !== d) throw invalid(`the embedding of ${classes[c]!.concept} has ${e.length} dimensions; ${opts.embedding.model} has ${d}`, { concept: classes[c]!.concept, expected: d, got: e.length });
    const u = normalised(e, `the embedding of ${classes[c]!.concept}`);
    for (let j = 0; j < d; j++) weights[c * d + j] = scale * u[j]!;
  });
  return {
    id: opts.id,
    version: opts.version,
    kind: 'softmax',
    source: 'zero-shot',
    embedding: { ...opts.embedding },
    classes: classes.map((c) => ({ concept: c.concept, ...(c.label !== undefined && { label: c.label }) })),
    weights,
    bias: new Float32Array(k),
    temperature: 1,
    thresholds: Array.from({ length: k }, () => threshold),
    targetPrecision: 0,
    created: new Date().toISOString(),
  };
}
