import { LoupeError } from '@loupe/contracts';
import { occlusionSaliency, scoreEach, type ImageEmbedder, type ImageScorer, type OcclusionOptions, type RawImage, type SaliencyMap } from '@loupe/inference';
import { predict, type LinearHead } from '@loupe/heads';

/**
 * The head's probability for one concept as a function of the image: what occlusion hides parts
 * of the image from. The embedder must be the one the head was trained on (its vectors are all a
 * head understands); masked images are embedded together so that the engine batches them.
 */
export function conceptScorer(embedder: ImageEmbedder, head: LinearHead, concept: string): ImageScorer {
  if (embedder.model.id !== head.embedding.model || embedder.model.version !== head.embedding.version) {
    throw new LoupeError(
      'LOUPE_ERR_MODEL_CARD_INVALID',
      `Head ${head.id} ${head.version} reads ${head.embedding.model} ${head.embedding.version} vectors; the embedder is ${embedder.model.id} ${embedder.model.version}`,
      { details: { head: head.id, wanted: head.embedding, got: embedder.model } },
    );
  }
  const index = head.classes.findIndex((c) => c.concept === concept);
  if (index < 0) {
    throw new LoupeError('LOUPE_ERR_NOT_FOUND', `Head ${head.id} ${head.version} has no class ${concept}`, {
      details: { head: head.id, concept, classes: head.classes.map((c) => c.concept) },
    });
  }
  return scoreEach(async (image, signal) => predict(head, await embedder.embed(image, signal ? { signal } : {}))[index]!);
}

/**
 * Why the head gave this concept: the parts of the image whose hiding lowers the concept's
 * probability most. Trained and zero-shot heads alike, since both are a head over an embedding.
 */
export function explainClassification(
  image: RawImage,
  what: { readonly embedder: ImageEmbedder; readonly head: LinearHead; readonly concept: string },
  opts: OcclusionOptions = {},
): Promise<SaliencyMap> {
  return occlusionSaliency(image, conceptScorer(what.embedder, what.head, what.concept), opts);
}
