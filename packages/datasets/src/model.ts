/**
 * The neutral shape every dataset format reads into and writes from. A format module turns a
 * file into `LabelledImage[]` and back; the ground-truth service turns stored annotations into
 * them (and imported ones into annotations), so no format knows about the store.
 */

/** A rectangle in the pixels (or canvas units) of its image: 0-based, continuous, top-left plus extents. */
export interface Box {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

/** One thing said about an image: a concept and/or label, optionally on a box, or a text line. */
export interface GroundTruthLabel {
  /** Concept URI (SKOS concept, Wikidata entity...). */
  readonly concept?: string;
  /** Human-readable label (the concept's preferred label, or a category name). */
  readonly label?: string;
  readonly box?: Box;
  /** Transcribed text (OCR line or region). */
  readonly text?: string;
  /** A model's confidence; absent for ground truth. */
  readonly score?: number;
  /** Pascal VOC's difficult flag (kept on round trips, ignored by AP as VOC does). */
  readonly difficult?: boolean;
  /** The stored annotation this label came from, when it came from one. */
  readonly annotationId?: string;
}

export interface LabelledImage {
  /** Canvas id, or for sources without IIIF canvases the item URI (Europeana: the item's URI). */
  readonly id: string;
  readonly manifest?: string;
  /** A URL that returns the image (a IIIF Image API request or a plain URL). */
  readonly url?: string;
  /** A file name (COCO file_name, VOC filename). */
  readonly file?: string;
  /** The source's own identifier (Europeana record ID such as /2064105/Museu_...). */
  readonly externalId?: string;
  readonly width?: number;
  readonly height?: number;
  readonly labels: readonly GroundTruthLabel[];
}
