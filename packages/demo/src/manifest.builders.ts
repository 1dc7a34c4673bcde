/** A label: plain text (English) or a IIIF language map. */
export type LabelSpec = string | Readonly<Record<string, readonly string[]>>;

/** The image painted on a canvas: through an Image API service, a plain URL, or both. */
export interface ImageSpec {
  /** Image API base URI (e.g. `server.serviceId('page1')`). */
  readonly serviceId?: string;
  /** Version of that service. Default 3. */
  readonly version?: 2 | 3;
  /** Compliance level of that service. Default 2. */
  readonly level?: 0 | 1 | 2;
  /** The image resource URL. Default: the service's full image (`full/max` on 3, `full/full` on 2). */
  readonly url?: string;
  /** Media type. Default image/jpeg. */
  readonly format?: string;
  /** Pixel size of the image. Default: the canvas size. */
  readonly width?: number;
  readonly height?: number;
}

export interface CanvasSpec {
  /** Default `<manifest base>/canvas/<n>` (1-based). */
  readonly id?: string;
  readonly label: LabelSpec;
  readonly width: number;
  readonly height: number;
  /** Absent: a canvas with nothing painted on it. */
  readonly image?: ImageSpec;
}

export interface ManifestSpec {
  readonly id: string;
  readonly label?: LabelSpec;
  readonly canvases: readonly CanvasSpec[];
}

export interface CollectionItemSpec {
  readonly id: string;
  readonly label?: LabelSpec;
  /** Default Manifest. */
  readonly type?: 'Manifest' | 'Collection';
}

export interface CollectionSpec {
  readonly id: string;
  readonly label?: LabelSpec;
  readonly items: readonly CollectionItemSpec[];
}

type Json = Record<string, unknown>;

const languageMap = (label: LabelSpec): Json => (typeof label === 'string' ? { en: [label] } : { ...label });

const plainLabel = (label: LabelSpec): string => {
  if (typeof label === 'string') return label;
  return (label.en ?? Object.values(label)[0] ?? []).join(' ');
};

/** `http://h/m/book.json` -> `http://h/m/book`: where the manifest's canvases and pages get their ids. */
const baseOf = (manifestId: string): string => manifestId.replace(/(\/manifest)?(\.json)?$/, '');

const canvasIdOf = (spec: ManifestSpec, canvas: CanvasSpec, index: number): string => canvas.id ?? `${baseOf(spec.id)}/canvas/${index + 1}`;

function imageUrl(image: ImageSpec): string {
  if (image.url) return image.url;
  if (!image.serviceId) throw new Error('An image needs a url or a serviceId');
  return `${image.serviceId}/full/${(image.version ?? 3) === 3 ? 'max' : 'full'}/0/default.jpg`;
}

/** The service block as a manifest of `manifestVersion` writes it for a service of the image's version. */
function serviceBlock(image: ImageSpec, manifestVersion: 2 | 3): Json | undefined {
  if (!image.serviceId) return undefined;
  const level = image.level ?? 2;
  if ((image.version ?? 3) === 3) {
    return manifestVersion === 3
      ? { id: image.serviceId, type: 'ImageService3', profile: `level${level}` }
      : { '@context': 'http://iiif.io/api/image/3/context.json', id: image.serviceId, type: 'ImageService3', profile: `level${level}` };
  }
  const profile = `http://iiif.io/api/image/2/level${level}.json`;
  return manifestVersion === 3
    ? { '@id': image.serviceId, '@type': 'ImageService2', profile }
    : { '@context': 'http://iiif.io/api/image/2/context.json', '@id': image.serviceId, profile };
}

/** A small valid Presentation 3 manifest: one painting annotation per canvas that has an image. */
export function manifestV3(spec: ManifestSpec): Json {
  return {
    '@context': 'http://iiif.io/api/presentation/3/context.json',
    id: spec.id,
    type: 'Manifest',
    label: languageMap(spec.label ?? 'Test manifest'),
    items: spec.canvases.map((canvas, index) => {
      const id = canvasIdOf(spec, canvas, index);
      const page: Json = { id: `${id}/page/1`, type: 'AnnotationPage', items: [] as Json[] };
      if (canvas.image) {
        const service = serviceBlock(canvas.image, 3);
        page.items = [
          {
            id: `${id}/page/1/image`,
            type: 'Annotation',
            motivation: 'painting',
            target: id,
            body: {
              id: imageUrl(canvas.image),
              type: 'Image',
              format: canvas.image.format ?? 'image/jpeg',
              width: canvas.image.width ?? canvas.width,
              height: canvas.image.height ?? canvas.height,
              ...(service ? { service: [service] } : {}),
            },
          },
        ];
      }
      return { id, type: 'Canvas', label: languageMap(canvas.label), width: canvas.width, height: canvas.height, items: [page] };
    }),
  };
}

/** The same manifest in Presentation 2.1: one sequence, `images` with `sc:painting`. */
export function manifestV2(spec: ManifestSpec): Json {
  const base = baseOf(spec.id);
  return {
    '@context': 'http://iiif.io/api/presentation/2/context.json',
    '@id': spec.id,
    '@type': 'sc:Manifest',
    label: plainLabel(spec.label ?? 'Test manifest'),
    sequences: [
      {
        '@id': `${base}/sequence/normal`,
        '@type': 'sc:Sequence',
        canvases: spec.canvases.map((canvas, index) => {
          const id = canvasIdOf(spec, canvas, index);
          const images: Json[] = [];
          if (canvas.image) {
            const service = serviceBlock(canvas.image, 2);
            images.push({
              '@id': `${id}/image/1`,
              '@type': 'oa:Annotation',
              motivation: 'sc:painting',
              on: id,
              resource: {
                '@id': imageUrl(canvas.image),
                '@type': 'dctypes:Image',
                format: canvas.image.format ?? 'image/jpeg',
                width: canvas.image.width ?? canvas.width,
                height: canvas.image.height ?? canvas.height,
                ...(service ? { service } : {}),
              },
            });
          }
          return { '@id': id, '@type': 'sc:Canvas', label: plainLabel(canvas.label), width: canvas.width, height: canvas.height, images };
        }),
      },
    ],
  };
}

/** A Presentation 3 collection listing manifests and sub-collections by reference. */
export function collectionV3(spec: CollectionSpec): Json {
  return {
    '@context': 'http://iiif.io/api/presentation/3/context.json',
    id: spec.id,
    type: 'Collection',
    label: languageMap(spec.label ?? 'Test collection'),
    items: spec.items.map((item) => ({ id: item.id, type: item.type ?? 'Manifest', label: languageMap(item.label ?? item.id) })),
  };
}

/** A Presentation 2.1 collection: `manifests` and `collections` by reference. */
export function collectionV2(spec: CollectionSpec): Json {
  const ref = (item: CollectionItemSpec, type: string): Json => ({ '@id': item.id, '@type': type, label: plainLabel(item.label ?? item.id) });
  const manifests = spec.items.filter((i) => (i.type ?? 'Manifest') === 'Manifest').map((i) => ref(i, 'sc:Manifest'));
  const collections = spec.items.filter((i) => i.type === 'Collection').map((i) => ref(i, 'sc:Collection'));
  return {
    '@context': 'http://iiif.io/api/presentation/2/context.json',
    '@id': spec.id,
    '@type': 'sc:Collection',
    label: plainLabel(spec.label ?? 'Test collection'),
    ...(collections.length > 0 ? { collections } : {}),
    ...(manifests.length > 0 ? { manifests } : {}),
  };
}
