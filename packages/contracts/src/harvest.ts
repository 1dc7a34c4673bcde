import { Type, type Static } from '@sinclair/typebox';
import { CanvasTask } from './task.js';

export const HarvestInput = Type.Object(
  {
    source: Type.String({ minLength: 1, maxLength: 4096, description: 'URL or file path of a IIIF manifest or collection (Presentation 2.1 or 3)' }),
    maxDepth: Type.Optional(Type.Integer({ minimum: 0, maximum: 16 })),
    maxManifests: Type.Optional(Type.Integer({ minimum: 1 })),
    keepJson: Type.Optional(
      Type.Boolean({ description: "Answer each manifest's JSON as read (`json`), so that a job keeps it and never reads the source again" }),
    ),
  },
  { $id: 'HarvestInput' },
);
export type HarvestInput = Static<typeof HarvestInput>;

/**
 * Most compressed bytes of manifest JSON one harvest answers with `keepJson` (at the ratios brotli
 * gets on IIIF, 20-40x, some 300 MiB of JSON; one document is at most 20 MiB before compression).
 * Manifests past it come without `json`: a job then reads them from the source again when asked.
 */
export const KEPT_JSON_BUDGET_BYTES = 16 * 1024 * 1024;

/** A task before a job owns it. */
export const HarvestedTask = Type.Omit(CanvasTask, ['jobId'], { $id: 'HarvestedTask' });
export type HarvestedTask = Static<typeof HarvestedTask>;

export const HarvestOutput = Type.Object(
  {
    manifests: Type.Array(
      Type.Object({
        id: Type.String(),
        label: Type.String(),
        document: Type.String(),
        sourceVersion: Type.Integer(),
        canvases: Type.Integer(),
        json: Type.Optional(
          Type.String({
            contentEncoding: 'base64',
            description:
              "With keepJson: the manifest's JSON as read, brotli-compressed. Absent for a 2.x manifest embedded in its collection, and past KEPT_JSON_BUDGET_BYTES",
          }),
        ),
      }),
    ),
    tasks: Type.Array(HarvestedTask),
    /** Canvases that have no image Loupe can process (a PDF, a missing page). */
    skipped: Type.Array(Type.Object({ manifestId: Type.String(), canvasId: Type.String(), reason: Type.String() })),
    /** Documents that could not be harvested, and canvases that could not be read (`canvas`: its id, when it has one). */
    errors: Type.Array(Type.Object({ document: Type.String(), code: Type.String(), message: Type.String(), canvas: Type.Optional(Type.String()) })),
  },
  { $id: 'HarvestOutput' },
);
export type HarvestOutput = Static<typeof HarvestOutput>;
