// The part of Mirador 4's UMD bundle (window.Mirador) the test page uses. The package ships no
// types; these follow its sources (src/state, src/plugins/OSDReferences.js, OpenSeadragon 5).

interface IiifLabel {
  readonly [language: string]: readonly string[];
}

interface LayerRef {
  readonly id: string;
  readonly type?: string;
  readonly label?: IiifLabel;
}

interface PageAnnotation {
  readonly id: string;
  readonly partOf?: readonly LayerRef[];
  readonly [key: string]: unknown;
}

interface AnnotationPageJson {
  readonly id: string;
  readonly type: string;
  readonly partOf?: readonly LayerRef[];
  readonly items?: readonly PageAnnotation[];
  readonly [key: string]: unknown;
}

interface ManifestJson {
  readonly items?: readonly { readonly id: string; readonly annotations?: readonly AnnotationPageJson[] }[];
}

interface MiradorState {
  /** Annotation pages by target canvas, then by page id, as fetched or taken from the manifest. */
  readonly annotations: Readonly<Record<string, Readonly<Record<string, { readonly id: string; readonly json?: AnnotationPageJson }>>>>;
  readonly manifests: Readonly<Record<string, { readonly json?: ManifestJson }>>;
  readonly windows: Readonly<Record<string, { readonly manifestId: string; readonly canvasId?: string; readonly selectedAnnotationId?: string }>>;
}

interface MiradorStore {
  getState(): MiradorState;
  dispatch(action: unknown): unknown;
  subscribe(listener: () => void): () => void;
}

interface OsdPoint {
  x: number;
  y: number;
  times(factor: number): OsdPoint;
}

interface OsdRect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

interface OsdTiledImage {
  getBounds(current?: boolean): OsdRect;
  getFullyLoaded(): boolean;
}

interface OsdViewer {
  readonly canvas: HTMLElement;
  readonly drawer: { readonly canvas: HTMLElement };
  readonly viewport: {
    getCenter(current?: boolean): OsdPoint;
    viewportToViewerElementCoordinates(point: OsdPoint): OsdPoint;
  };
  readonly world: { getItemCount(): number; getItemAt(index: number): OsdTiledImage | undefined };
}

declare const Mirador: {
  viewer(config: object, plugins?: readonly unknown[]): { readonly store: MiradorStore };
  receiveAnnotation(targetId: string, annotationId: string, json: AnnotationPageJson): unknown;
  OSDReferences: { get(windowId: string): { readonly current?: OsdViewer } | undefined };
};
