import { setImmediate as nextTurn } from 'node:timers/promises';
import { promisify } from 'node:util';
import { brotliCompress, constants as zlib } from 'node:zlib';
import {
  KEPT_JSON_BUDGET_BYTES,
  LoupeError,
  SERVICE_APIS,
  defineHandler,
  taskKey,
  type HarvestOutput,
  type HarvestedTask,
  type ServiceDefinition,
} from '@loupe/contracts';
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
      const kept = input.keepJson ? new KeptJson(deps.load) : undefined;
      // One task per canvas image: a manifest listed twice in a collection is harvested once.
      const seen = new Set<string>();
      for await (const event of harvest(input.source, kept?.load ?? deps.load, limits)) {
        if (ctx.signal.aborted) break;
        if (event.type === 'error') {
          const { document, code, message, canvas } = event.error;
          // The source itself is not one this process may read (a path, file:): the request is wrong, not the document.
          if (code === 'LOUPE_ERR_SOURCE_UNSUPPORTED' && document === input.source) throw new LoupeError(code, message);
          out.errors.push(canvas === undefined ? { document, code, message } : { document, code, message, canvas });
          kept?.forget(document);
          continue;
        }
        const { manifest } = event;
        const entry: HarvestOutput['manifests'][number] = {
          id: manifest.id,
          label: manifest.label,
          document: event.document,
          sourceVersion: manifest.sourceVersion,
          canvases: manifest.canvases.length,
        };
        out.manifests.push(entry);
        kept?.keep(entry, manifest);
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
      await kept?.settle();
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

const compress = promisify(brotliCompress);
/** Quality 6: within a few percent of the best ratio on IIIF JSON (about 20-35x) at some 30 ms a MiB; 11 takes seconds. */
const BROTLI_QUALITY = 6;

/**
 * Each manifest's JSON as read, compressed (in the thread pool, while the harvest goes on) for a
 * job to keep. A 3.0 manifest is its own v3 form; a 2.x one is taken from the loader, which is
 * the only place that still has its source (the harvested manifest gives only the upgrade). A 2.x
 * manifest embedded in its collection is not kept: the job reads it from the source when asked.
 */
class KeptJson {
  /** 2.x manifests loaded and not yet harvested, by the URL they were loaded from. */
  readonly #loadedV2 = new Map<string, unknown>();
  readonly #pending: { entry: HarvestOutput['manifests'][number]; packed: Promise<Buffer> }[] = [];
  /** Compressed so far: once past the budget, the rest is not compressed at all. */
  #packedBytes = 0;
  readonly load: DocumentLoader;

  constructor(load: DocumentLoader) {
    this.load = async (ref) => {
      const json = await load(ref);
      if (isV2Manifest(json)) this.#loadedV2.set(ref.trim(), json);
      return json;
    };
  }

  keep(entry: HarvestOutput['manifests'][number], manifest: HarvestedManifest): void {
    const json = manifest.sourceVersion === 3 ? manifest.v3 : this.#loadedV2.get(entry.document);
    this.forget(entry.document);
    if (json === undefined || this.#packedBytes > KEPT_JSON_BUDGET_BYTES) return;
    const text = Buffer.from(JSON.stringify(json));
    const packed = compress(text, { params: { [zlib.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY, [zlib.BROTLI_PARAM_SIZE_HINT]: text.length } });
    this.#pending.push({ entry, packed: packed.then((bytes) => {
        this.#packedBytes += bytes.length;
        return bytes;
      }),
    });
  }

  forget(document: string): void {
    this.#loadedV2.delete(document);
  }

  /** Sets `json` on the manifests kept: in document order, the first that fit the budget. */
  async settle(): Promise<void> {
    this.#loadedV2.clear();
    const packed = await Promise.all(this.#pending.map((p) => p.packed));
    let bytes = 0;
    for (const [i, { entry }] of this.#pending.entries()) {
      const size = packed[i]!.length;
      if (bytes + size > KEPT_JSON_BUDGET_BYTES) continue;
      bytes += size;
      entry.json = packed[i]!.toString('base64');
    }
  }
}

function isV2Manifest(json: unknown): boolean {
  if (typeof json !== 'object' || json === null) return false;
  const type = (json as Record<string, unknown>)['@type'];
  return type === 'sc:Manifest' || (Array.isArray(type) && type.includes('sc:Manifest'));
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
  // What the text stage reads the canvas in when the job names no language.
  if (canvas.languages) task.languages = [...canvas.languages];
  return task;
}
