import type { ErrorCode, ImageRef, Rect } from '@loupe/contracts';

/** A canvas as Loupe needs it: its size, and every image painted on it. */
export interface HarvestedCanvas {
  readonly id: string;
  readonly index: number;
  /** The label in one language (English, else the first), or the canvas id's last segment. */
  readonly label: string;
  readonly width: number;
  readonly height: number;
  readonly images: readonly ImageRef[];
  /**
   * The languages of its text as ISO 639-3 codes, main one first: what the canvas says, else what
   * its manifest says; absent when neither names a language Loupe knows (text-language.ts).
   */
  readonly languages?: readonly string[];
}

export interface HarvestedManifest {
  readonly id: string;
  readonly label: string;
  /** Presentation API version of the source document. */
  readonly sourceVersion: 2 | 3;
  /**
   * The document as v3, for writing the enriched manifest back: a 3.0 document as given; a 2.x one
   * upgraded by @iiif/parser when first read (slow: about 150 µs a canvas), not while harvesting.
   */
  readonly v3: Record<string, unknown>;
  /** The same document, made in slices of the event loop (a server answering others meanwhile). */
  v3InSlices(): Promise<Record<string, unknown>>;
  readonly canvases: readonly HarvestedCanvas[];
  /** Canvases that could not be read (LOUPE_ERR_IIIF_MALFORMED) and are not in `canvases`. */
  readonly problems: readonly HarvestError[];
  /** The manifest's rights statement or licence URI (Presentation 3 `rights`, 2.x `license`). */
  readonly rights?: string;
  /** The ids of the collections the harvest walked to reach it, outermost first; absent for a manifest harvested directly. */
  readonly collections?: readonly string[];
}

/** One document (or one canvas of it) that could not be harvested, and why; the rest goes on. */
export interface HarvestError {
  /** URL or path of the document. */
  readonly document: string;
  readonly code: ErrorCode;
  readonly message: string;
  /** The canvas, when only that canvas of the document could not be read and it has an id. */
  readonly canvas?: string;
}

export interface HarvestLimits {
  /** Nesting of collections followed (a manifest given directly is depth 0). */
  readonly maxDepth: number;
  /** Manifests harvested at most, over the whole walk. */
  readonly maxManifests: number;
  /** Canvases harvested at most, over the whole walk: past it the harvest fails (LOUPE_ERR_IIIF_LIMIT). */
  readonly maxCanvases: number;
}

/** What a harvest reports, in document order: a manifest read, or a document that could not be. */
export type HarvestEvent =
  | { readonly type: 'manifest'; readonly manifest: HarvestedManifest; readonly document: string }
  | { readonly type: 'error'; readonly error: HarvestError };

/** Loads one document (URL or file) as parsed JSON, or throws a LoupeError naming it. */
export type DocumentLoader = (ref: string) => Promise<unknown>;

/** A parsed info.json, the same shape for Image API 1.1, 2 and 3. */
export interface ImageInfo {
  /** Base URI of the service (no trailing /info.json). */
  readonly id: string;
  readonly version: 1 | 2 | 3;
  readonly level: 0 | 1 | 2;
  readonly width: number;
  readonly height: number;
  readonly maxWidth?: number;
  readonly maxHeight?: number;
  readonly maxArea?: number;
  readonly sizes: readonly { width: number; height: number }[];
  readonly tiles: readonly { width: number; height: number; scaleFactors: readonly number[] }[];
  /** Formats, qualities and features the level and the extras/profile allow. */
  readonly formats: readonly string[];
  readonly qualities: readonly string[];
  readonly features: readonly string[];
}

/** What a model needs: the short side at least N px, or fit inside W x H; optionally only a region (image px). */
export type PlanTarget =
  | { readonly shortSide: number; readonly region?: Rect }
  | { readonly fit: { readonly width: number; readonly height: number }; readonly region?: Rect };

/** Maps result pixels to canvas coordinates: canvas = offset + result * scale (per axis). */
export interface CanvasTransform {
  readonly scaleX: number;
  readonly scaleY: number;
  readonly offsetX: number;
  readonly offsetY: number;
}

export interface PlannedTile {
  readonly url: string;
  /** Where the tile goes in the stitched result, in result pixels. */
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** The cheapest valid Image API request (or set of tiles) for a target. */
export interface ImageRequestPlan {
  readonly kind: 'single' | 'tiles';
  /** The request URL (kind 'single'). */
  readonly url?: string;
  /** Tiles to fetch and stitch (kind 'tiles'). */
  readonly tiles?: readonly PlannedTile[];
  /** Size of the image the request returns (or the stitched result), in pixels. */
  readonly width: number;
  readonly height: number;
  /** The region requested, in full-image pixels. */
  readonly region: Rect;
  /** Full-image pixels per result pixel (>= 1: never upscaled). */
  readonly scale: number;
  /** True when the result is still larger than the target and must be resized locally. */
  readonly resizeLocally: boolean;
  /** Why this form was chosen (listed size, tiles, canonical size, full/max). */
  readonly reason: string;
  /**
   * Present when the result covers more than the region asked for (level 0: tiles or a whole-image
   * size, cropped locally): the part to keep, in result pixels.
   */
  readonly crop?: Rect;
  /**
   * Present when the server cannot give the size the target wants (a small master, level 0 without
   * a size that large, limits): an offer to upscale, which the planner never applies itself.
   */
  readonly upscale?: UpscaleOffer;
}

/** An upscaling offer: the factor that would reach the target, and the sizes it is based on (along the side the target binds). */
export interface UpscaleOffer {
  /** The smallest of 2, 4 and 8 that reaches the target (8 when none does). */
  readonly suggested: 2 | 4 | 8;
  /** Pixels the best request gives. */
  readonly have: number;
  /** Pixels the target asks for. */
  readonly want: number;
}
