import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { LoupeError } from '@loupe/contracts';
import type { VectorCollectionSpec } from '../port.js';

type SqliteDatabase = InstanceType<typeof Database>;

const FORMAT = 1;

/** A stored point as SQLite returns it: the payload as JSON, the vector as a float32 blob. */
export interface StoredPoint {
  readonly id: string;
  readonly payload: string;
  readonly v: Buffer;
}

function blob(v: Float32Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/** A copy of a stored blob as a Float32Array (the blob's own buffer need not be 4-aligned). */
export function vectorOf(bytes: Uint8Array, dims: number, into?: Float32Array): Float32Array {
  const v = into ?? new Float32Array(dims);
  new Uint8Array(v.buffer, v.byteOffset, v.byteLength).set(bytes);
  return v;
}

function statements(db: SqliteDatabase) {
  return {
    byId: db.prepare<[string], { label: number; payload: string }>('SELECT label, payload FROM points WHERE id = ?'),
    labelById: db.prepare<[string], { label: number }>('SELECT label FROM points WHERE id = ?'),
    hitByLabel: db.prepare<[number], { id: string; payload: string }>('SELECT id, payload FROM points WHERE label = ?'),
    insertPoint: db.prepare<[number, string, string, number]>('INSERT INTO points (label, id, payload, gen) VALUES (?, ?, ?, ?)'),
    updatePoint: db.prepare<[string, number, number]>('UPDATE points SET payload = ?, gen = ? WHERE label = ?'),
    putVector: db.prepare<[number, Buffer]>('INSERT OR REPLACE INTO vectors (label, v) VALUES (?, ?)'),
    deletePoint: db.prepare<[number]>('DELETE FROM points WHERE label = ?'),
    deleteVector: db.prepare<[number]>('DELETE FROM vectors WHERE label = ?'),
    setGeneration: db.prepare<[string]>("UPDATE meta SET value = ? WHERE key = 'generation'"),
    getFull: db.prepare<[string], { label: number; payload: string; v: Buffer }>('SELECT p.label, p.payload, v.v FROM points p JOIN vectors v ON v.label = p.label WHERE p.id = ?'),
    pageAfter: db.prepare<[number, number], StoredPoint & { label: number }>(
      'SELECT p.label, p.id, p.payload, v.v FROM points p JOIN vectors v ON v.label = p.label WHERE p.label > ? ORDER BY p.label LIMIT ?',
    ),
    pointByLabel: db.prepare<[number], StoredPoint>('SELECT p.id, p.payload, v.v FROM points p JOIN vectors v ON v.label = p.label WHERE p.label = ?'),
    changedSince: db.prepare<[number], { label: number }>('SELECT label FROM points WHERE gen > ?'),
  };
}

/**
 * points.sqlite, the truth of a collection: ids, payloads and raw float32 vectors by label (WAL,
 * fsync on commit), and the write generation. Every write is one transaction that bumps the
 * generation and stamps the rows it writes with it: `gen > g` is the log of what changed since
 * generation g, which is how a graph saved at g is caught up.
 */
export class PointTable {
  /** The generation of the last committed write. */
  generation: number;
  private readonly sql: ReturnType<typeof statements>;

  private constructor(private readonly db: SqliteDatabase) {
    this.sql = statements(db);
    this.generation = Number((db.prepare("SELECT value FROM meta WHERE key = 'generation'").get() as { value: string }).value);
  }

  /** Opens (creating when absent) points.sqlite in `folder`, checking it holds this collection. */
  static open(folder: string, spec: VectorCollectionSpec, synchronous: 'full' | 'normal'): PointTable {
    let db: SqliteDatabase | undefined;
    try {
      mkdirSync(folder, { recursive: true });
      db = new Database(join(folder, 'points.sqlite'));
      initSchema(db, spec, synchronous);
      return new PointTable(db);
    } catch (err) {
      db?.close();
      throw err;
    }
  }

  /**
   * Runs `write` in one immediate transaction at the next generation; the generation advances
   * (in the table, then here once committed) only when `write` returns changes.
   */
  stamp<T extends readonly unknown[]>(write: (gen: number) => T): T {
    const gen = this.generation + 1;
    const changes = this.db
      .transaction(() => {
        const out = write(gen);
        if (out.length > 0) this.sql.setGeneration.run(String(gen));
        return out;
      })
      .immediate();
    if (changes.length > 0) this.generation = gen;
    return changes;
  }

  byId(id: string): { label: number; payload: string } | undefined {
    return this.sql.byId.get(id);
  }

  labelOf(id: string): number | undefined {
    return this.sql.labelById.get(id)?.label;
  }

  /** The id and payload of a search hit. */
  hit(label: number): { id: string; payload: string } | undefined {
    return this.sql.hitByLabel.get(label);
  }

  withVector(id: string): { label: number; payload: string; v: Buffer } | undefined {
    return this.sql.getFull.get(id);
  }

  point(label: number): StoredPoint | undefined {
    return this.sql.pointByLabel.get(label);
  }

  /** Up to `limit` points with labels above `after`, in label order (keyset paging). */
  pageAfter(after: number, limit: number): (StoredPoint & { label: number })[] {
    return this.sql.pageAfter.all(after, limit);
  }

  /** The labels written (inserted or updated) after generation `gen`: the log a saved graph is caught up from. */
  *changedSince(gen: number): Generator<number> {
    for (const { label } of this.sql.changedSince.iterate(gen)) yield label;
  }

  /** Within stamp(): a new point under a label no point has. */
  insert(label: number, id: string, payload: string, vector: Float32Array, gen: number): void {
    this.sql.insertPoint.run(label, id, payload, gen);
    this.sql.putVector.run(label, blob(vector));
  }

  /** Within stamp(): a new payload, and a new vector unless it is undefined (unchanged). */
  update(label: number, payload: string, vector: Float32Array | undefined, gen: number): void {
    this.sql.updatePoint.run(payload, gen, label);
    if (vector) this.sql.putVector.run(label, blob(vector));
  }

  /** Within stamp(). */
  remove(label: number): void {
    this.sql.deletePoint.run(label);
    this.sql.deleteVector.run(label);
  }

  vectors(): IterableIterator<[number, Buffer]> {
    return this.db.prepare('SELECT label, v FROM vectors ORDER BY label').raw().iterate() as IterableIterator<[number, Buffer]>;
  }

  payloads(): IterableIterator<[number, string]> {
    return this.db.prepare('SELECT label, payload FROM points').raw().iterate() as IterableIterator<[number, string]>;
  }

  close(): void {
    this.db.close();
  }
}

function initSchema(db: SqliteDatabase, spec: VectorCollectionSpec, synchronous: 'full' | 'normal'): void {
  // 16 KiB pages hold seven 512-d vectors (or three 1280-d) with little slack; 4 KiB pages would
  // hold one 2 KiB vector each and waste half the file. Only effective on a new database.
  db.pragma('page_size = 16384');
  db.pragma('journal_mode = WAL');
  // FULL: a commit is on disk before upsert resolves (NORMAL may lose the last commits on power loss).
  db.pragma(`synchronous = ${synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
  db.pragma('busy_timeout = 5000');
  // A bulk load grows the WAL by a batch at a time; after each checkpoint it shrinks back to this.
  db.pragma('journal_size_limit = 67108864');
  db.exec(`
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS points (label INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, payload TEXT NOT NULL, gen INTEGER NOT NULL);
    CREATE INDEX IF NOT EXISTS points_gen ON points (gen);
    CREATE TABLE IF NOT EXISTS vectors (label INTEGER PRIMARY KEY, v BLOB NOT NULL);
  `);
  const meta = new Map((db.prepare('SELECT key, value FROM meta').all() as { key: string; value: string }[]).map((r) => [r.key, r.value]));
  if (meta.size === 0) {
    const put = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
    db.transaction(() => {
      put.run('format', String(FORMAT));
      put.run('modelId', spec.modelId);
      put.run('modelVersion', spec.modelVersion);
      put.run('dims', String(spec.dims));
      put.run('generation', '0');
    }).immediate();
    return;
  }
  if (Number(meta.get('format')) > FORMAT) throw new LoupeError('LOUPE_ERR_STORE', `The collection has format ${meta.get('format')}; this Loupe knows up to ${FORMAT}`);
  if (Number(meta.get('dims')) !== spec.dims) {
    throw new LoupeError('LOUPE_ERR_STORE', `The stored collection has ${meta.get('dims')} dimensions but the manifest says ${spec.dims}`, {
      details: { stored: Number(meta.get('dims')), manifest: spec.dims },
    });
  }
}
