import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, statSync, type Stats } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { LoupeError } from '@loupe/contracts';
import type { ModelFile } from '../cards/model-card.js';
import { pixelThread } from '../session.worker-pool.js';

/** What a file must be: its sha256 and, where the card knows it, its size. */
export interface ExpectedBytes {
  readonly sha256: string;
  readonly size?: number | undefined;
}

interface HashedFile {
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
  readonly sha256: string;
}

/**
 * Hashes already computed in this process, by path, valid while the file keeps its size, mtime
 * and inode: a second resolve of a 150 MB model costs one stat, not a second read.
 */
const hashed = new Map<string, HashedFile>();

function cached(path: string, st: Stats): string | undefined {
  const hit = hashed.get(path);
  return hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs && hit.ino === st.ino ? hit.sha256 : undefined;
}

function remember(path: string, st: Stats, sha256: string): void {
  hashed.set(path, { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, sha256 });
}

export async function sha256File(path: string): Promise<string> {
  const before = await stat(path);
  const known = cached(path, before);
  if (known) return known;
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  const sha256 = hash.digest('hex');
  remember(path, before, sha256);
  return sha256;
}

/** The hash this process already knows for the file as it is now, without reading it. */
export function knownSha256(path: string): string | undefined {
  try {
    return cached(path, statSync(path));
  } catch {
    return undefined;
  }
}

/**
 * Fails unless the file exists with the expected bytes: LOUPE_ERR_MODEL_NOT_INSTALLED when it is
 * absent, LOUPE_ERR_MODEL_CHECKSUM (naming the file and both hashes) when it differs.
 */
export async function verifyFile(path: string, expected: ExpectedBytes | string, label = basename(path)): Promise<void> {
  const want: ExpectedBytes = typeof expected === 'string' ? { sha256: expected } : expected;
  let st: Stats;
  try {
    st = await stat(path);
  } catch (cause) {
    throw new LoupeError('LOUPE_ERR_MODEL_NOT_INSTALLED', `Model file ${label} is missing: ${path}`, { cause, details: { path } });
  }
  const actual = await sha256File(path);
  if (actual !== want.sha256 || (want.size !== undefined && st.size !== want.size)) throw checksumError(label, path, want, actual, st.size);
}

export function checksumError(label: string, path: string, want: ExpectedBytes, actual: string, actualSize: number, extra = ''): LoupeError {
  const sizes = want.size !== undefined && want.size !== actualSize ? ` (${actualSize} bytes, expected ${want.size})` : '';
  return new LoupeError(
    'LOUPE_ERR_MODEL_CHECKSUM',
    `Model file ${label} has sha256 ${actual}, expected ${want.sha256}${sizes}${extra}: ${path}`,
    { details: { path, file: label, expectedSha256: want.sha256, actualSha256: actual, expectedSize: want.size, actualSize } },
  );
}

/**
 * The folder of an installed npm package, found the way Node would resolve it from this module,
 * but without loading any of its code (some model packages' exports list no package.json).
 */
export function packageDir(pkg: string): string {
  const paths = createRequire(import.meta.url).resolve.paths(pkg) ?? [];
  for (const base of paths) {
    const dir = join(base, pkg);
    if (existsSync(join(dir, 'package.json'))) return dir;
  }
  throw new LoupeError('LOUPE_ERR_MODEL_NOT_INSTALLED', `The model package ${pkg} is not installed (run pnpm install)`, {
    details: { package: pkg },
  });
}

interface ChunkEntry {
  hash: string;
  offsets: [number, number];
}

/** The chunks a resources.json lists for one key, in order, checked to tile the file without gaps. */
export async function readChunkList(pkgDir: string, file: ModelFile): Promise<{ dir: string; chunks: ChunkEntry[] }> {
  const chunks = file.chunks!;
  const manifestPath = join(pkgDir, chunks.manifest);
  let manifest: unknown;
  try {
    manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
  } catch (cause) {
    throw new LoupeError('LOUPE_ERR_MODEL_NOT_INSTALLED', `Chunk list ${manifestPath} cannot be read`, { cause, details: { path: manifestPath } });
  }
  const entry = (manifest as Record<string, { chunks?: unknown } | undefined>)[chunks.key];
  const list = entry?.chunks;
  if (!Array.isArray(list) || list.length === 0) {
    throw new LoupeError('LOUPE_ERR_MODEL_LOAD', `Chunk list ${manifestPath} has no chunks for ${chunks.key}`, { details: { path: manifestPath, key: chunks.key } });
  }
  let position = 0;
  for (const c of list as ChunkEntry[]) {
    const [start, end] = Array.isArray(c?.offsets) ? c.offsets : [NaN, NaN];
    if (typeof c?.hash !== 'string' || !/^[0-9a-f]{64}$/.test(c.hash) || start !== position || !(end! > start!)) {
      throw new LoupeError('LOUPE_ERR_MODEL_LOAD', `Chunk list ${manifestPath} for ${chunks.key} is malformed at byte ${position}`, {
        details: { path: manifestPath, key: chunks.key },
      });
    }
    position = end!;
  }
  return { dir: dirname(manifestPath), chunks: list as ChunkEntry[] };
}

/** Whether every chunk is present with its length: the cheap check `list` makes. */
export function chunksPresent(dir: string, chunks: readonly ChunkEntry[]): boolean {
  return chunks.every((c) => {
    try {
      return statSync(join(dir, c.hash)).size === c.offsets[1] - c.offsets[0];
    } catch {
      return false;
    }
  });
}

const making = new Map<string, Promise<void>>();

/**
 * Makes a derived file (joined, converted) at most once at a time per target, and not at all when
 * the target already has the card's bytes; a target with other bytes is made again (it is derived).
 */
function makeOnce(target: string, file: ModelFile, label: string, make: () => Promise<void>): Promise<void> {
  const running = making.get(target);
  if (running) return running;
  const job = (async () => {
    try {
      await verifyFile(target, file, label);
      return;
    } catch (err) {
      if ((err as LoupeError).code !== 'LOUPE_ERR_MODEL_NOT_INSTALLED' && (err as LoupeError).code !== 'LOUPE_ERR_MODEL_CHECKSUM') throw err;
    }
    await make();
  })().finally(() => making.delete(target));
  making.set(target, job);
  return job;
}

/**
 * Writes the file the chunks make to `target`, once: checks each chunk against the hash it is named
 * by, then the whole file against the card, and moves it into place only when both match. A target
 * already there with the right bytes is kept; one with the wrong bytes is rebuilt (it is derived).
 */
export function joinChunks(pkgDir: string, file: ModelFile, target: string, label: string): Promise<void> {
  return makeOnce(target, file, label, async () => {
    const { dir, chunks } = await readChunkList(pkgDir, file);
    await mkdir(dirname(target), { recursive: true });
    // A name of its own, so two processes joining at once never write into each other's file.
    const tmp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    const whole = createHash('sha256');
    let size = 0;
    const out = await open(tmp, 'w');
    try {
      for (const [i, c] of chunks.entries()) {
        const chunkPath = join(dir, c.hash);
        let bytes: Buffer;
        try {
          bytes = await readFile(chunkPath);
        } catch (cause) {
          throw new LoupeError('LOUPE_ERR_MODEL_NOT_INSTALLED', `Chunk ${i + 1} of ${chunks.length} of ${label} is missing: ${chunkPath}`, {
            cause,
            details: { path: chunkPath },
          });
        }
        const actual = createHash('sha256').update(bytes).digest('hex');
        if (actual !== c.hash || bytes.length !== c.offsets[1] - c.offsets[0]) {
          throw checksumError(`${label} chunk ${i + 1}/${chunks.length}`, chunkPath, { sha256: c.hash, size: c.offsets[1] - c.offsets[0] }, actual, bytes.length);
        }
        whole.update(bytes);
        size += bytes.length;
        await out.write(bytes);
      }
      await out.sync();
    } catch (err) {
      await out.close();
      await rm(tmp, { force: true });
      throw err;
    }
    await out.close();
    const actual = whole.digest('hex');
    if (actual !== file.sha256 || (file.size !== undefined && size !== file.size)) {
      await rm(tmp, { force: true });
      throw checksumError(label, target, file, actual, size, ` (joined from ${chunks.length} chunks)`);
    }
    await rename(tmp, target);
    remember(target, await stat(target), actual);
  });
}

/**
 * Writes the ONNX file a packaged TF.js model converts to (`files.<role>.convert` on its card), once:
 * a target already there with the card's bytes is kept. The converter is deterministic, so the card
 * pins the converted bytes; a mismatch means the converter or the package changed, and names both
 * hashes rather than loading a model nobody has checked.
 */
export function convertFromPackage(pkgDir: string, file: ModelFile, target: string, label: string): Promise<void> {
  return makeOnce(target, file, label, async () => {
    const convert = file.convert!;
    const source = join(pkgDir, convert.model);
    if (!existsSync(source)) {
      throw new LoupeError('LOUPE_ERR_MODEL_NOT_INSTALLED', `The TF.js model of ${label} is missing: ${source} (run pnpm install)`, { details: { path: source } });
    }
    // On the pixel thread: decoding and converting the weights held serve's main thread for 0.3 s a model.
    const onnx = await pixelThread().call<Uint8Array>({ op: 'convert', source, from: convert.from, ...(convert.outputs && { outputs: [...convert.outputs] }), ...(convert.inputShape && { inputShape: [...convert.inputShape] }) });
    const actual = createHash('sha256').update(onnx).digest('hex');
    if (actual !== file.sha256 || (file.size !== undefined && onnx.byteLength !== file.size)) {
      throw checksumError(label, target, file, actual, onnx.byteLength, ` (converted from ${convert.model} in ${basename(pkgDir)})`);
    }
    await mkdir(dirname(target), { recursive: true });
    const tmp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await writeFile(tmp, onnx);
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    remember(target, await stat(target), actual);
  });
}
