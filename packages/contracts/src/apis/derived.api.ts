import { Type } from '@sinclair/typebox';
import { DerivedImage } from '../prepared-image.js';
import { SUBJECTS } from '../subjects.js';
import type { ApiDeclaration } from './api-declaration.js';

/** A derived image as bytes: sent as image/png over HTTP, as base64 over the bus. */
export const DerivedPng = Type.Unsafe<Uint8Array>({ type: 'string', format: 'binary', description: 'The derived image (PNG)' });

export const DERIVED_API = {
  derived: {
    name: 'derived.get',
    summary: 'An image Loupe derived (enhanced, upscaled) as a PNG; its provenance as JSON with a .json suffix or format=json',
    subject: SUBJECTS.derivedGet,
    mode: 'request',
    route: { method: 'GET', url: '/v1/derived/:id' },
    role: 'reader',
    input: Type.Object({
      // Ids only, never a path: the sha256 of the bytes, with .json for the provenance.
      id: Type.String({ pattern: '^[0-9a-f]{64}(\\.json)?$', description: 'The derived image id (64 hex digits), with .json for its provenance' }),
      format: Type.Optional(Type.Union([Type.Literal('png'), Type.Literal('json')])),
    }),
    output: Type.Union([DerivedPng, DerivedImage]),
    mediaType: 'image/png',
    errors: ['LOUPE_ERR_VALIDATION', 'LOUPE_ERR_NOT_FOUND'],
  },
} as const satisfies Record<string, ApiDeclaration>;
