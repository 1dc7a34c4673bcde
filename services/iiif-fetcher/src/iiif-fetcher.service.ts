import { SERVICE_APIS, defineHandler, taskKey, type HarvestOutput, type ServiceDefinition } from '@loupe/contracts';
import { harvest, type DocumentLoader, type HarvestLimits } from '@loupe/iiif';

export interface IiifFetcherDeps {
  readonly load: DocumentLoader;
  readonly limits?: Partial<HarvestLimits>;
}

export function createIiifFetcherService(deps: IiifFetcherDeps): ServiceDefinition {
  const harvestHandler = defineHandler({
    ...SERVICE_APIS['iiif-fetcher'].harvest,
    async handler(input, ctx) {
      const out: HarvestOutput = { manifests: [], tasks: [], skipped: [], errors: [] };
      const limits = {
        ...deps.limits,
        ...(input.maxDepth !== undefined && { maxDepth: input.maxDepth }),
        ...(input.maxManifests !== undefined && { maxManifests: input.maxManifests }),
      };
      for await (const event of harvest(input.source, deps.load, limits)) {
        if (ctx.signal.aborted) break;
        if (event.type === 'error') {
          out.errors.push({ document: event.error.document, code: event.error.code, message: event.error.message });
          continue;
        }
        const { manifest } = event;
        out.manifests.push({
          id: manifest.id,
          label: manifest.label,
          document: event.document,
          sourceVersion: manifest.sourceVersion,
          canvases: manifest.canvases.length,
        });
        for (const canvas of manifest.canvases) {
          if (canvas.images.length === 0) {
            out.skipped.push({ manifestId: manifest.id, canvasId: canvas.id, reason: 'no image is painted on this canvas' });
            continue;
          }
          canvas.images.forEach((image, imageIndex) => {
            out.tasks.push({
              manifestId: manifest.id,
              canvasId: canvas.id,
              canvasIndex: canvas.index,
              canvasLabel: canvas.label,
              canvasWidth: canvas.width,
              canvasHeight: canvas.height,
              imageIndex,
              image,
              ...(manifest.rights && { rights: manifest.rights }),
              ...(manifest.collections && { collections: [...manifest.collections] }),
            });
          });
        }
      }
      // One task per canvas image: a manifest listed twice in a collection is harvested once.
      const seen = new Set<string>();
      out.tasks = out.tasks.filter((t) => {
        const k = `${t.manifestId} ${taskKey(t)}`;
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
      });
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
