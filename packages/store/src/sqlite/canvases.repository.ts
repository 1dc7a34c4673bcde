import { checkCanvas, checkCount } from '../annotation-checks.js';
import type { SqliteDatabase } from '../sqlite.database.js';
import type { AnnotationQuery, CanvasRecord } from '../store.js';
import { whereOf } from './annotation-filter.js';
import type { SqliteDatasetsRepository } from './datasets.repository.js';
import { StatementCache } from './statement-cache.js';

interface CanvasRow {
  canvas_id: string;
  manifest_id: string;
  label: string | null;
  canvas_index: number | null;
  width: number;
  height: number;
  image_json: string;
}

/** What is known of each canvas, and the canvases that annotations are on. */
export class SqliteCanvasesRepository {
  readonly #datasets: SqliteDatasetsRepository;
  readonly #queries: StatementCache;
  readonly #stmt;

  constructor(db: SqliteDatabase, datasets: SqliteDatasetsRepository) {
    this.#datasets = datasets;
    this.#queries = new StatementCache(db);
    this.#stmt = {
      putCanvas: db.prepare(
        `INSERT INTO canvases (canvas_id, manifest_id, label, canvas_index, width, height, image_json)
         VALUES (@canvasId, @manifestId, @label, @index, @width, @height, @image)
         ON CONFLICT (canvas_id) DO UPDATE SET manifest_id = excluded.manifest_id, label = excluded.label,
                canvas_index = excluded.canvas_index, width = excluded.width, height = excluded.height, image_json = excluded.image_json`,
      ),
      getCanvas: db.prepare<[string], CanvasRow>('SELECT canvas_id, manifest_id, label, canvas_index, width, height, image_json FROM canvases WHERE canvas_id = ?'),
    };
  }

  putCanvas(canvas: CanvasRecord): void {
    checkCanvas(canvas);
    this.#stmt.putCanvas.run({
      canvasId: canvas.canvasId,
      manifestId: canvas.manifestId,
      label: canvas.label ?? null,
      index: canvas.index ?? null,
      width: canvas.width,
      height: canvas.height,
      image: JSON.stringify(canvas.image),
    });
  }

  getCanvas(canvasId: string): CanvasRecord | undefined {
    const row = this.#stmt.getCanvas.get(canvasId);
    return row && toCanvas(row);
  }

  canvases(filter: AnnotationQuery): { canvas: CanvasRecord; annotations: number }[] {
    const { sql, params } = whereOf(filter, this.#datasets);
    const limit = checkCount('limit', filter.limit) ?? -1;
    const offset = checkCount('offset', filter.offset) ?? 0;
    const rows = this.#queries
      .prepared<CanvasRow & { annotated_manifest: string; n: number; recorded: string | null }>(
        `SELECT g.canvas_id, g.n, g.annotated_manifest, c.canvas_id AS recorded, c.manifest_id, c.label, c.canvas_index, c.width, c.height, c.image_json
         FROM (SELECT a.canvas_id, MIN(a.manifest_id) AS annotated_manifest, COUNT(*) AS n FROM annotations a ${sql}
               GROUP BY a.canvas_id ORDER BY a.canvas_id LIMIT ? OFFSET ?) g
         LEFT JOIN canvases c ON c.canvas_id = g.canvas_id
         ORDER BY g.canvas_id`,
      )
      .all(...params, limit, offset);
    return rows.map((row) => ({
      canvas:
        row.recorded === null
          ? { canvasId: row.canvas_id, manifestId: row.annotated_manifest, width: 0, height: 0, image: { id: '' } }
          : toCanvas(row),
      annotations: row.n,
    }));
  }
}

function toCanvas(row: CanvasRow): CanvasRecord {
  return {
    canvasId: row.canvas_id,
    manifestId: row.manifest_id,
    ...(row.label !== null && { label: row.label }),
    ...(row.canvas_index !== null && { index: row.canvas_index }),
    width: row.width,
    height: row.height,
    image: JSON.parse(row.image_json) as CanvasRecord['image'],
  };
}
