import { readdirSync, rmSync } from 'node:fs';
import { open as openFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { storeError } from './checks.js';
import { HnswGraph } from './hnsw-graph.js';

/**
 * hnsw-<gen>.bin: the graph as of write generation <gen>. Written to a temporary file, fsynced
 * and renamed into place, so a file under this name is always whole; older ones go once it is.
 */
const INDEX_FILE = /^hnsw-(\d+)\.bin$/;
const indexFileName = (generation: number) => `hnsw-${generation}.bin`;

/**
 * Loads the newest graph file of `folder` not newer than the points (a newer one can only come
 * from a database restored from backup: useless), trying older ones when it is unreadable.
 * Everything else, temporary files of a crashed save included, is removed.
 */
export async function loadNewestGraph(folder: string, dims: number, upTo: number): Promise<{ graph: HnswGraph; generation: number } | undefined> {
  const names = readdirSync(folder);
  const files = names
    .map((name) => ({ name, gen: INDEX_FILE.exec(name)?.[1] }))
    .filter((f): f is { name: string; gen: string } => f.gen !== undefined)
    .map((f) => ({ name: f.name, gen: Number(f.gen) }))
    .filter((f) => f.gen <= upTo)
    .sort((a, b) => b.gen - a.gen);
  let loaded: { graph: HnswGraph; generation: number } | undefined;
  for (const file of files) {
    try {
      loaded = { graph: await HnswGraph.read(join(folder, file.name), dims), generation: file.gen };
      break;
    } catch {
      // Unreadable: try an older one, or let the caller rebuild.
    }
  }
  const kept = loaded && indexFileName(loaded.generation);
  for (const name of names) {
    if ((name.startsWith('hnsw-') && name !== kept) || name.endsWith('.tmp')) rmSync(join(folder, name), { force: true });
  }
  return loaded;
}

/** Writes the graph as hnsw-<generation>.bin through a temporary file; drops older files. */
export async function saveGraph(graph: HnswGraph, folder: string, generation: number): Promise<void> {
  const file = join(folder, indexFileName(generation));
  const tmp = `${file}.tmp`;
  try {
    await graph.write(tmp);
    const fh = await openFile(tmp, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
    await syncDir(folder);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw storeError('save index', err, { file });
  }
  for (const name of readdirSync(folder)) {
    if (INDEX_FILE.test(name) && name !== indexFileName(generation)) await rm(join(folder, name), { force: true }).catch(() => undefined);
  }
}

async function syncDir(dir: string): Promise<void> {
  // Makes the rename durable. Directories cannot be opened for fsync everywhere (Windows): best effort.
  try {
    const fh = await openFile(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    /* best effort */
  }
}
