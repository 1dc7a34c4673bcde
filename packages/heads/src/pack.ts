/**
 * The heads that ship with Loupe (packages/heads/pack/<id>/<version>.json, like the offline
 * models: there on a fresh install, no training needed). They are looked up after the user's own
 * heads directory: a head the user trains under the same id replaces the shipped one entirely
 * (its version 1 is the user's, not the pack's), and the pack is never written to.
 */
import { fileURLToPath } from 'node:url';
import { listHeads, listVersions } from './artefact.js';

/** Beside src/ and dist/ alike. */
export const PACK_HEADS_DIR = fileURLToPath(new URL('../pack/', import.meta.url));

/** The directory that holds head `id`: `dir` when it has a version of it, else the pack when it has, else `dir`. */
export async function headHome(dir: string, id: string, pack = PACK_HEADS_DIR): Promise<string> {
  if ((await listVersions(dir, id)).length > 0) return dir;
  return (await listVersions(pack, id)).length > 0 ? pack : dir;
}

/** listHeads over `dir` and the pack: the pack's heads whose id `dir` does not hold, by id. */
export async function listHeadsWithPack(dir: string, pack = PACK_HEADS_DIR): Promise<{ id: string; versions: string[]; dir: string }[]> {
  const own = (await listHeads(dir)).map((h) => ({ ...h, dir }));
  const taken = new Set(own.map((h) => h.id));
  const shipped = (await listHeads(pack)).filter((h) => !taken.has(h.id)).map((h) => ({ ...h, dir: pack }));
  return [...own, ...shipped].sort((a, b) => (a.id < b.id ? -1 : 1));
}
