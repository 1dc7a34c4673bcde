import { LoupeError } from '@loupe/contracts';
import { isDuplicateKey } from '../mongo.errors.js';

/*
 * What the repositories share: without transactions every write of many documents goes in
 * chunks and is made safe to repeat, so these helpers are about batches and retried writes.
 */

/** Ids per `$in`: far below the 16 MiB command limit even for long annotation URLs. */
const CHUNK = 1000;

export const nowIso = (): string => new Date().toISOString();

export function chunks<T>(list: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

export function notFound(id: unknown): LoupeError {
  return new LoupeError('LOUPE_ERR_NOT_FOUND', `No annotation with the id ${String(id)}`, { details: { id } });
}

/** Calls `write` again when it fails on a duplicate key: two upserts of one new _id raced and the loser now finds the document. */
export async function retryOnDuplicate<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    return write();
  }
}
