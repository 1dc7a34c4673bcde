import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from '../sqlite.database.js';

/** Query statements differ only by which filters are set: a handful of shapes, each prepared once. */
export class StatementCache {
  readonly #db: SqliteDatabase;
  readonly #statements = new Map<string, Statement<unknown[], unknown>>();

  constructor(db: SqliteDatabase) {
    this.#db = db;
  }

  prepared<Row>(sql: string): Statement<unknown[], Row> {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement as Statement<unknown[], Row>;
  }
}
