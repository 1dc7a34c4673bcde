import { LoupeError, type OcrPage } from '@loupe/contracts';
import type { OcrWriterOptions } from '@loupe/datasets';
import type { AnnotationStore, StoredOcrPage } from '@loupe/store';

/** Where a canvas's ALTO and hOCR are served: the enriched manifest's seeAlso and the list point here. */
export function ocrDocumentUrls(publicUrl: string, canvasId: string, modelId?: string): { alto: string; hocr: string } {
  const query = `canvas=${encodeURIComponent(canvasId)}${modelId !== undefined ? `&model=${encodeURIComponent(modelId)}` : ''}`;
  return { alto: `${publicUrl}/v1/ocr/alto?${query}`, hocr: `${publicUrl}/v1/ocr/hocr?${query}` };
}

/**
 * The page one canvas's ALTO or hOCR is written from: the pages `model` read (default: the model
 * that read the canvas last), every image of the canvas in one page. They are all in canvas
 * coordinates already, so merging is putting their blocks one after the other, image by image.
 * "Last" is by when the model read it (the result set's `generated`).
 */
export async function canvasOcrPage(
  store: AnnotationStore,
  canvasId: string,
  modelId: string | undefined,
  software: OcrWriterOptions['software'],
): Promise<{ page: OcrPage; options: OcrWriterOptions }> {
  const stored = await store.ocrPages({ canvasId });
  const model = modelId ?? newest(stored)?.key.modelId;
  const chosen = stored.filter((p) => p.key.modelId === model);
  if (chosen.length === 0) {
    const read = [...new Set(stored.map((p) => p.key.modelId))];
    throw new LoupeError(
      'LOUPE_ERR_NOT_FOUND',
      read.length === 0
        ? `No OCR page for the canvas ${canvasId}: no text pipeline has read it`
        : `No OCR page of the model ${modelId} for the canvas ${canvasId}; it was read by ${read.join(', ')}`,
      { details: { canvas: canvasId, ...(modelId !== undefined && { model: modelId }), models: read } },
    );
  }
  const canvas = await store.getCanvas(canvasId);
  const last = newest(chosen)!;
  return {
    page: merged(chosen),
    options: {
      canvasId,
      created: new Date(last.generated),
      ...(software && { software }),
      // The file name is an image whose pixels are the page's coordinates: only one painted image at the canvas's own size is.
      ...(chosen.every((p) => p.key.imageIndex === 0) &&
        canvas !== undefined &&
        canvas.image.id !== '' &&
        canvas.image.width === canvas.width &&
        canvas.image.height === canvas.height && { imageUri: canvas.image.id }),
    },
  };
}

function newest(pages: readonly StoredOcrPage[]): StoredOcrPage | undefined {
  return pages.reduce<StoredOcrPage | undefined>((best, p) => (best === undefined || Date.parse(p.generated) > Date.parse(best.generated) ? p : best), undefined);
}

/** One page from a canvas's images (ordered by image index, as the store lists them). */
function merged(pages: readonly StoredOcrPage[]): OcrPage {
  const [first, ...rest] = pages.map((p) => p.page);
  if (rest.length === 0) return first!;
  return {
    ...first!,
    width: Math.max(first!.width, ...rest.map((p) => p.width)),
    height: Math.max(first!.height, ...rest.map((p) => p.height)),
    languages: [...new Set([first!, ...rest].flatMap((p) => p.languages))],
    blocks: [first!, ...rest].flatMap((p) => p.blocks),
  };
}
