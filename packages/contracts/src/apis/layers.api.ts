import { Type, type TSchema } from '@sinclair/typebox';
import { Annotation, REVIEW_STATES } from '../annotation.js';
import { SUBJECTS } from '../subjects.js';
import type { ApiDeclaration } from './api-declaration.js';

const LayerProperties = {
  manifest: Type.String({ minLength: 1, pattern: '^[A-Za-z0-9_-]+$', description: "The manifest's id as base64url (as Content Search names it)" }),
  model: Type.String({ minLength: 1, description: "The generator's model id; '-' for imported ground truth" }),
  version: Type.String({ minLength: 1, description: "The model's version; '-' for imported ground truth" }),
  state: Type.Union(REVIEW_STATES.map((s) => Type.Literal(s))),
};

export const LayerParams = Type.Object(LayerProperties, { $id: 'LayerParams', additionalProperties: false });
export const LayerPageQuery = Type.Object({ ...LayerProperties, canvas: Type.String({ minLength: 1, description: 'Canvas URI' }) }, { $id: 'LayerPageQuery', additionalProperties: false });

const LanguageMap = Type.Record(Type.String(), Type.Array(Type.String()));
const PageRef = Type.Object({ id: Type.String(), type: Type.Literal('AnnotationPage') });
const CollectionRef = Type.Object({ id: Type.String(), type: Type.Literal('AnnotationCollection'), label: LanguageMap });
const Contexts = Type.Array(Type.String());

/** A layer as a IIIF AnnotationCollection: one page per canvas it has annotations on. */
export const AnnotationCollection = Type.Object(
  {
    '@context': Contexts,
    id: Type.String(),
    type: Type.Literal('AnnotationCollection'),
    label: LanguageMap,
    total: Type.Integer({ minimum: 1, description: 'Annotations in the layer' }),
    first: PageRef,
    last: PageRef,
  },
  { $id: 'AnnotationCollection' },
);

/** One canvas's annotations of a layer, part of its collection, linked to the canvases before and after. */
export const LayerPage = Type.Object(
  {
    '@context': Contexts,
    id: Type.String(),
    type: Type.Literal('AnnotationPage'),
    label: LanguageMap,
    partOf: Type.Array(CollectionRef),
    next: Type.Optional(PageRef),
    prev: Type.Optional(PageRef),
    items: Type.Array(Annotation),
  },
  { $id: 'LayerPage' },
);

export const LAYER_SUBJECTS = { layerGet: SUBJECTS.layerGet, layerPage: SUBJECTS.layerPage } as const;

/** A IIIF-facing read of a layer: public like the annotation pages themselves (LOUPE_IIIF_PUBLIC). */
function layerRoute<N extends string, S extends string, U extends string, I extends TSchema, O extends TSchema>(name: N, subject: S, url: U, summary: string, input: I, output: O) {
  return { name, summary, subject, mode: 'request', route: { method: 'GET', url }, input, output, errors: ['LOUPE_ERR_VALIDATION', 'LOUPE_ERR_STORE', 'LOUPE_ERR_NOT_FOUND'], role: 'reader', iiif: true } as const;
}

/** Annotation layers: what an enriched manifest's pages are `partOf`. */
export const LAYERS_API = {
  layer: layerRoute(
    'layer.get',
    LAYER_SUBJECTS.layerGet,
    '/v1/annotations/layers/:manifest/:model/:version/:state',
    "A layer (one model and version's annotations on a manifest, in one review state) as a IIIF AnnotationCollection",
    LayerParams,
    AnnotationCollection,
  ),
  layerPage: layerRoute(
    'layer.page',
    LAYER_SUBJECTS.layerPage,
    '/v1/annotations/layers/:manifest/:model/:version/:state/page',
    "One canvas's annotations of a layer as a IIIF AnnotationPage, partOf the layer's collection",
    LayerPageQuery,
    LayerPage,
  ),
} as const satisfies Record<string, ApiDeclaration>;
