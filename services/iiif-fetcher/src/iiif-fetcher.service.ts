import { setImmediate as nextTurn } from 'node:timers/promises';
import { LoupeError, SERVICE_APIS, defineHandler, taskKey, type HarvestOutput, type HarvestedTask, type ServiceDefinition } from '@loupe/contracts';
import { DEFAULT_HARVEST_LIMITS, harvest, type DocumentLoader, type HarvestLimits, type HarvestedManifest } from '@loupe/iiif';

export interface IiifFetcherDeps {
  readonly load: DocumentLoader;
  /**
   * The operator's limits (maxCanvases from LOUPE_MAX_CANVASES). A request may lower maxManifests,
   * never raise it; maxDepth it may set within the schema's bound.
   */
  readonly limits?: Partial<HarvestLimits>;
}

/** Tasks built between two turns of the event loop: a 100,000-canvas manifest is not one long loop. */
const TASKS_PER_TURN = 2000;

export function createIiifFetcherService(deps: IiifFetcherDeps): ServiceDefinition {
  const operator: HarvestLimits = { ...DEFAULT_HARVEST_LIMITS, ...deps.limits };

  const harvestHandler = defineHandler({
    ...SERVICE_APIS['iiif-fetcher'].harvest,
    // A source past maxCanvases fails the whole harvest: a job never queues part of it silently.
    async handler(input, ctx) {
      const out: HarvestOutput = { manifests: [], tasks: [], skipped: [], errors: [] };
      const limits: HarvestLimits = {
        maxDepth: input.maxDepth ?? operator.maxDepth,
        maxManifests: Math.min(input.maxManifests ?? operator.maxManifests, operator.maxManifests),
        maxCanvases: operator.maxCanvases,
      };
      // One task per canvas image: a manifest listed twice in a collection is harvested once.
      const seen = new Set<string>();
      for await (const event of harvest(input.source, deps.load, limits)) {
        if (ctx.signal.aborted) break;
        if (event.type === 'error') {
          const { document, code, message, canvas } = event.error;
          // The source itself is not one this process may read (a path, file:): the request is wrong, not the document.
          if (code === 'LOUPE_ERR_SOURCE_UNSUPPORTED' && document === input.source) throw new LoupeError(code, message);
          out.errors.push(canvas === undefined ? { document, code, message } : { document, code, message, canvas });
          continue;
        }
        const { manifest } = event;
        out.manifests.push({ id: manifest.id, label: manifest.label, document: event.document, sourceVersion: manifest.sourceVersion, canvases: manifest.canvases.length });
        let built = 0;
        for (const canvas of manifest.canvases) {
          if (canvas.images.length === 0) {
            out.skipped.push({ manifestId: manifest.id, canvasId: canvas.id, reason: 'no image is painted on this canvas' });
            continue;
          }
          for (const [imageIndex, image] of canvas.images.entries()) {
            const task = taskOf(manifest, canvas, imageIndex, image);
            const key = `${manifest.id} ${taskKey(task)}`;
            if (seen.has(key)) continue;
            seen.add(key);
            out.tasks.push(task);
          }
          built += 1;
          if (built % TASKS_PER_TURN === 0) await nextTurn();
        }
      }
      return out;
    },
  });

  return {
    name: 'iiif-fetcher',
    version: '0.1.0',
    description: 'Harvests IIIF manifests and collections into canvas tasks',
    handlers: [harvestHandler],
  };
}

type Canvas = HarvestedManifest['canvases'][number];

function taskOf(manifest: HarvestedManifest, canvas: Canvas, imageIndex: number, image: Canvas['images'][number]): HarvestedTask {
  const task: HarvestedTask = {
    manifestId: manifest.id,
    canvasId: canvas.id,
    canvasIndex: canvas.index,
    canvasLabel: canvas.label,
    canvasWidth: canvas.width,
    canvasHeight: canvas.height,
    imageIndex,
    image,
  };
  // Assigned, not spread into the literal: a spread there is a slow path in V8 that 100,000 tasks feel.
  if (manifest.rights) task.rights = manifest.rights;
  if (manifest.collections) task.collections = [...manifest.collections];
  return task;
}
