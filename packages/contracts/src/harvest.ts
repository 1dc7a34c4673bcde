import { Type, type Static } from '@sinclair/typebox';
import { CanvasTask } from './task.js';

export const HarvestInput = Type.Object(
  {
    source: Type.String({ minLength: 1, maxLength: 4096, description: 'URL or file path of a IIIF manifest or collection (Presentation 2.1 or 3)' }),
    maxDepth: Type.Optional(Type.Integer({ minimum: 0, maximum: 16 })),
    maxManifests: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { $id: 'HarvestInput' },
);
export type HarvestInput = Static<typeof HarvestInput>;

/** A task before a job owns it. */
export const HarvestedTask = Type.Omit(CanvasTask, ['jobId'], { $id: 'HarvestedTask' });
export type HarvestedTask = Static<typeof HarvestedTask>;

export const HarvestOutput = Type.Object(
  {
    manifests: Type.Array(
      Type.Object({ id: Type.String(), label: Type.String(), document: Type.String(), sourceVersion: Type.Integer(), canvases: Type.Integer() }),
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
